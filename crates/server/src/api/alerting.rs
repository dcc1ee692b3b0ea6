//! Alerting through the API: channels (secrets never answered back), a test notification per
//! channel, alert rules, and the delivery log.

use crate::AppState;
use crate::api::{ApiJson, TeamHeader};
use crate::auth::TeamAccess;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};
use watchtower_alerting::{ChannelConfig, ChannelSettings};
use watchtower_core::alert_rule::RuleTerms;
use watchtower_core::{Action, Demand, FieldError, MonitorId, Timestamp};
use watchtower_store::{AlertRule, Channel, NewRule, NotificationRecord};

/// A channel as the API shows it: its settings with every secret replaced.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelView {
    pub id: i64,
    pub name: String,
    /// email, slack, discord, teams, telegram, pagerduty, ntfy, sms or webhook.
    pub kind: String,
    /// The kind's settings (with `kind`), every secret shown as `********`; `null` if the stored
    /// settings no longer parse.
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
    let config = ChannelSettings::parse(&Value::Object(settings), "")
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
        .map_err(|exceeded| ApiError::plan_limit(&exceeded))
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

async fn load_channel(state: &AppState, access: &TeamAccess, id: i64) -> Result<Channel, ApiError> {
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
    Path(id): Path<i64>,
) -> Result<Json<ChannelView>, ApiError> {
    access.require(Action::ViewAlerting)?;
    Ok(Json(ChannelView::new(
        &load_channel(&state, &access, id).await?,
    )))
}

/// Replaces a channel's name and settings (send the secrets again).
#[utoipa::path(put, path = "/api/channels/{id}", tag = "alerting",
    params(("id" = i64, Path, description = "Channel id"), TeamHeader),
    request_body(content = Object, description = "name, kind and the kind's settings"),
    responses((status = 200, body = ChannelView), (status = 402, description = "The plan does not include this kind")))]
pub async fn update_channel(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<ChannelView>, ApiError> {
    access.require(Action::ManageChannels)?;
    let existing = load_channel(&state, &access, id).await?;
    let (name, config) = parse_channel(&body)?;
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
    Path(id): Path<i64>,
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
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<TestQueued>), ApiError> {
    access.require(Action::ManageChannels)?;
    let notification = state
        .store
        .enqueue_test_notification(access.team.id, id, Timestamp::now())
        .await?;
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
    pub notification_id: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RuleBody {
    pub name: String,
    /// Only this monitor's events.
    pub monitor_id: Option<i64>,
    /// Only monitors with this tag.
    pub tag: Option<String>,
    /// Any of `down`, `up`, `degraded`, `certificate_expiring`.
    pub events: Vec<String>,
    /// Channels told at once; may be empty when an escalation policy is given.
    #[serde(default)]
    pub channel_ids: Vec<i64>,
    /// Remind while the incident stays open and unacknowledged, this often (at least 1m).
    pub remind_every: Option<String>,
    /// Escalate outages through this policy's steps (besides `channel_ids`).
    pub escalation_policy_id: Option<i64>,
    /// Only outages with one of these causes, e.g. `["keyword", "status_code"]` (every cause
    /// when absent).
    #[serde(default)]
    pub causes: Vec<String>,
    /// With `certificate_expiring`: alert when a certificate expires within this many days
    /// (1-365, default 14). One alert per certificate, however many monitors share it.
    pub certificate_days: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleList {
    pub rules: Vec<AlertRule>,
}

/// The team's alert rules.
#[utoipa::path(get, path = "/api/alert-rules", tag = "alerting", params(TeamHeader),
    responses((status = 200, body = RuleList)))]
pub async fn list_rules(
    State(state): State<AppState>,
    access: TeamAccess,
) -> Result<Json<RuleList>, ApiError> {
    access.require(Action::ViewAlerting)?;
    Ok(Json(RuleList {
        rules: state.store.rules(access.team.id).await?,
    }))
}

/// Creates a rule: which events of which monitors go to which channels.
#[utoipa::path(post, path = "/api/alert-rules", tag = "alerting", params(TeamHeader), request_body = RuleBody,
    responses((status = 201, body = AlertRule), (status = 402, description = "The plan's rule limit"), (status = 404, description = "A channel or monitor is not the team's")))]
pub async fn create_rule(
    State(state): State<AppState>,
    access: TeamAccess,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<(StatusCode, Json<AlertRule>), ApiError> {
    access.require(Action::ManageAlertRules)?;
    let mut problems = Vec::new();
    let name = crate::api::display_name(&body.name, &mut problems);
    let terms = RuleTerms::parse(
        &body.events,
        body.remind_every.as_deref(),
        &body.causes,
        body.certificate_days,
        "",
    );
    if let Err(terms_problems) = &terms {
        problems.extend(terms_problems.list.iter().cloned());
    }
    if body.channel_ids.is_empty() && body.escalation_policy_id.is_none() {
        problems.push(FieldError {
            field: "channel_ids".into(),
            problem: "needs at least one channel, or an escalation_policy_id".into(),
        });
    }
    if body.monitor_id.is_some() && body.tag.is_some() {
        problems.push(FieldError {
            field: "tag".into(),
            problem: "give a monitor_id or a tag, not both".into(),
        });
    }
    let terms = match terms {
        Ok(terms) if problems.is_empty() => terms,
        _ => return Err(ApiError::invalid(problems)),
    };
    let current = state.store.rules(access.team.id).await?.len();
    state
        .plans
        .check(access.team.plan, Demand::AlertRules((current + 1) as u32))
        .map_err(|exceeded| ApiError::plan_limit(&exceeded))?;
    let rule = state
        .store
        .create_rule(&NewRule {
            team_id: access.team.id,
            name: name.to_owned(),
            monitor_id: body.monitor_id.map(MonitorId),
            tag: body.tag.clone().filter(|t| !t.is_empty()),
            events: terms.events,
            channel_ids: body.channel_ids.clone(),
            remind_every: terms.remind_every,
            escalation_policy_id: body.escalation_policy_id,
            causes: terms.causes,
            certificate_days: terms.certificate_days,
            created_at: Timestamp::now(),
        })
        .await?;
    access
        .audit(
            &state,
            "alert_rule.created",
            format!("alert_rule:{}", rule.id),
            json!({"name": rule.name}),
        )
        .await;
    Ok((StatusCode::CREATED, Json(rule)))
}

/// Deletes a rule.
#[utoipa::path(delete, path = "/api/alert-rules/{id}", tag = "alerting",
    params(("id" = i64, Path, description = "Rule id"), TeamHeader),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_rule(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    access.require(Action::ManageAlertRules)?;
    state.store.delete_rule(access.team.id, id).await?;
    access
        .audit(
            &state,
            "alert_rule.deleted",
            format!("alert_rule:{id}"),
            json!({}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct LogQuery {
    /// Entries with an id below this (the `next_before` of the previous page).
    pub before: Option<i64>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    pub notifications: Vec<NotificationRecord>,
    pub next_before: Option<i64>,
}

/// The delivery log: every notification with its status, attempts, last response code and error.
#[utoipa::path(get, path = "/api/notifications", tag = "alerting", params(LogQuery, TeamHeader),
    responses((status = 200, body = NotificationPage)))]
pub async fn notifications(
    State(state): State<AppState>,
    access: TeamAccess,
    Query(query): Query<LogQuery>,
) -> Result<Json<NotificationPage>, ApiError> {
    access.require(Action::ViewAlerting)?;
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let notifications = state
        .store
        .notifications(access.team.id, query.before, limit)
        .await?;
    let next_before = (notifications.len() == limit as usize)
        .then(|| notifications.last().map(|n| n.id))
        .flatten();
    Ok(Json(NotificationPage {
        notifications,
        next_before,
    }))
}
