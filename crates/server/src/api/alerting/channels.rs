//! Notification channels: list, create, read, replace, delete (secrets never answered back),
//! and a test notification through one.

use crate::AppState;
use crate::api::{ApiJson, TeamHeader};
use crate::auth::TeamAccess;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use watchtower_alerting::{ChannelConfig, ChannelSettings};
use watchtower_core::{Action, ChannelId, Demand, FieldError, NotificationId, Timestamp};
use watchtower_store::Channel;

/// A channel as the API shows it: its settings with every secret replaced.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelView {
    pub id: ChannelId,
    pub name: String,
    /// email, slack, discord, teams, telegram, pagerduty, ntfy, sms or webhook.
    pub kind: String,
    /// The kind's settings (with `kind`), every secret shown as `********`; `null` if the stored
    /// settings no longer parse.
    // An object without properties in the document: each kind's settings are a type of
    // `watchtower_alerting`, which does not describe itself to utoipa (`kind` says which).
    #[schema(value_type = Option<Object>)]
    pub settings: Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl ChannelView {
    fn new(channel: &Channel) -> Self {
        let settings = ChannelSettings::from_stored(&channel.config)
            .map(|config| config.redacted())
            .unwrap_or(Value::Null);
        Self {
            id: channel.id,
            name: channel.name.clone(),
            kind: channel.kind.clone(),
            settings,
            created_at: channel.created_at,
            updated_at: channel.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelList {
    pub channels: Vec<ChannelView>,
}

/// Splits `{name, ...settings}` and parses the settings, listing every problem.
fn parse_channel(body: &Value) -> Result<(String, ChannelSettings), ApiError> {
    parse_channel_with(body, |settings| ChannelSettings::parse(settings, ""))
}

/// [`parse_channel`] with the settings read by `parse` (a new channel's, or an update's that
/// keeps the stored secrets sent back redacted).
fn parse_channel_with(
    body: &Value,
    parse: impl FnOnce(&Value) -> Result<ChannelSettings, Vec<FieldError>>,
) -> Result<(String, ChannelSettings), ApiError> {
    let Value::Object(map) = body else {
        return Err(ApiError::invalid_field("body", "must be a JSON object"));
    };
    let mut settings: Map<String, Value> = map.clone();
    let name = settings.remove("name");
    let mut problems = Vec::new();
    let name = match name.as_ref().and_then(Value::as_str).map(str::trim) {
        Some(name) if !name.is_empty() && name.chars().count() <= 100 => Some(name.to_owned()),
        _ => {
            problems.push(FieldError {
                field: "name".into(),
                problem: "is required: 1 to 100 characters".into(),
            });
            None
        }
    };
    let config = parse(&Value::Object(settings))
        .map_err(|more| problems.extend(more))
        .ok();
    match (name, config) {
        (Some(name), Some(config)) if problems.is_empty() => Ok((name, config)),
        _ => Err(ApiError::invalid(problems)),
    }
}

fn check_kind(
    state: &AppState,
    access: &TeamAccess,
    config: &ChannelConfig,
) -> Result<(), ApiError> {
    state
        .plans
        .check(access.team.plan, Demand::ChannelKind(config.kind()))
        .map_err(|exceeded| access.plan_limit(state, &exceeded))
}

/// The team's notification channels (secrets hidden).
#[utoipa::path(get, path = "/api/channels", tag = "alerting", params(TeamHeader),
    responses((status = 200, body = ChannelList)))]
pub async fn list_channels(
    State(state): State<AppState>,
    access: TeamAccess,
) -> Result<Json<ChannelList>, ApiError> {
    access.require(Action::ViewAlerting)?;
    let channels = state.store.channels(access.team.id).await?;
    Ok(Json(ChannelList {
        channels: channels.iter().map(ChannelView::new).collect(),
    }))
}

/// Creates a channel: `{"name", "kind": "email"|"slack"|"discord"|"teams"|"telegram"|"pagerduty"|"ntfy"|"sms"|"webhook", ...its settings}`.
#[utoipa::path(post, path = "/api/channels", tag = "alerting", params(TeamHeader),
    request_body(content = Object, description = "name, kind and the kind's settings"),
    responses((status = 201, body = ChannelView), (status = 402, description = "The plan does not include this kind")))]
pub async fn create_channel(
    State(state): State<AppState>,
    access: TeamAccess,
    // Read as JSON, not a typed body: the parser lists every bad field at once (serde would stop
    // at the first), so the document describes this body in words (`content = Object`).
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<ChannelView>), ApiError> {
    access.require(Action::ManageChannels)?;
    let (name, config) = parse_channel(&body)?;
    check_kind(&state, &access, &config.config)?;
    let channel = state
        .store
        .create_channel(
            access.team.id,
            &name,
            config.config.kind().as_str(),
            &config.to_value(),
            Timestamp::now(),
        )
        .await?;
    access
        .audit(
            &state,
            "channel.created",
            format!("channel:{}", channel.id),
            json!({"name": name, "kind": channel.kind}),
        )
        .await;
    Ok((StatusCode::CREATED, Json(ChannelView::new(&channel))))
}

async fn load_channel(
    state: &AppState,
    access: &TeamAccess,
    id: ChannelId,
) -> Result<Channel, ApiError> {
    state
        .store
        .get_channel(access.team.id, id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// One channel (secrets hidden).
#[utoipa::path(get, path = "/api/channels/{id}", tag = "alerting",
    params(("id" = i64, Path, description = "Channel id"), TeamHeader),
    responses((status = 200, body = ChannelView)))]
pub async fn get_channel(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<ChannelId>,
) -> Result<Json<ChannelView>, ApiError> {
    access.require(Action::ViewAlerting)?;
    Ok(Json(ChannelView::new(
        &load_channel(&state, &access, id).await?,
    )))
}

/// Replaces a channel's name and settings. A secret sent back as answers show it (`********`,
/// or a URL cut to its origin) keeps the stored one while the channel's host stays the same.
#[utoipa::path(put, path = "/api/channels/{id}", tag = "alerting",
    params(("id" = i64, Path, description = "Channel id"), TeamHeader),
    request_body(content = Object, description = "name, kind and the kind's settings"),
    responses((status = 200, body = ChannelView), (status = 402, description = "The plan does not include this kind")))]
pub async fn update_channel(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<ChannelId>,
    // Read as JSON, not a typed body: the parser lists every bad field at once (serde would stop
    // at the first), so the document describes this body in words (`content = Object`).
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<ChannelView>, ApiError> {
    access.require(Action::ManageChannels)?;
    let existing = load_channel(&state, &access, id).await?;
    let (name, config) = match ChannelSettings::from_stored(&existing.config) {
        Ok(stored) => parse_channel_with(&body, |settings| {
            ChannelSettings::parse_update(settings, &stored)
        })?,
        // Stored settings that no longer read have nothing to keep: send every secret again.
        Err(_) => parse_channel(&body)?,
    };
    if config.config.kind().as_str() != existing.kind {
        return Err(ApiError::invalid_field(
            "kind",
            "a channel's kind cannot change; create another channel",
        ));
    }
    check_kind(&state, &access, &config.config)?;
    let channel = state
        .store
        .update_channel(
            access.team.id,
            id,
            &name,
            &config.to_value(),
            Timestamp::now(),
        )
        .await?;
    access
        .audit(
            &state,
            "channel.updated",
            format!("channel:{id}"),
            json!({"name": name}),
        )
        .await;
    Ok(Json(ChannelView::new(&channel)))
}

/// Deletes a channel and its undelivered notifications.
#[utoipa::path(delete, path = "/api/channels/{id}", tag = "alerting",
    params(("id" = i64, Path, description = "Channel id"), TeamHeader),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_channel(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<ChannelId>,
) -> Result<StatusCode, ApiError> {
    access.require(Action::ManageChannels)?;
    state.store.delete_channel(access.team.id, id).await?;
    access
        .audit(
            &state,
            "channel.deleted",
            format!("channel:{id}"),
            json!({}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Queues a test notification to the channel; its delivery shows in `/api/notifications`.
#[utoipa::path(post, path = "/api/channels/{id}/test", tag = "alerting",
    params(("id" = i64, Path, description = "Channel id"), TeamHeader),
    responses((status = 202, body = TestQueued)))]
pub async fn test_channel(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<ChannelId>,
) -> Result<(StatusCode, Json<TestQueued>), ApiError> {
    access.require(Action::ManageChannels)?;
    let notification = state
        .store
        .enqueue_test_notification(access.team.id, id, Timestamp::now())
        .await?;
    state.alert_wake.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(TestQueued {
            notification_id: notification,
        }),
    ))
}

/// The queued test notification: its delivery shows in `/api/notifications` under this id.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestQueued {
    pub notification_id: NotificationId,
}
