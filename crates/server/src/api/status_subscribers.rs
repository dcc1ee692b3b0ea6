//! A status page's subscribers through the API: the list (with the page's subscriber email
//! channel), the channel itself, adding a subscriber (a webhook, counted at once, or an email
//! address, which gets the same confirmation email as a visitor's sign-up) and removing one.
//! Subscribers' addresses are the team's customers' data: only admins and owners see them.
//! Plan limits count the confirmed subscribers of the team's pages (checked again when a link
//! confirms one).

use crate::AppState;
use crate::api::status_incidents::team_page;
use crate::api::{ApiJson, TeamHeader};
use crate::auth::TeamAccess;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use watchtower_core::status_subscriber::parse_new_subscriber;
use watchtower_core::{
    Action, ChannelId, Demand, FieldError, NewSubscriber, StatusPageId, StatusSubscriberId,
    SubscriberKind, TeamId, Timestamp,
};
use watchtower_store::{PageSubscriptions, SignUpOutcome, StatusPage, StatusSubscriber};

/// The page's subscriber email channel.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct SubscriberChannel {
    /// One of the team's email channels, whose SMTP server and sender address subscriber emails
    /// use; `null` stops email sign-ups (and leaves pending emails waiting for a channel).
    pub email_channel_id: Option<ChannelId>,
}

/// A subscriber to add.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(
    dead_code,
    reason = "documents the body, which is parsed field by field"
)]
pub struct NewSubscriberBody {
    /// `email` or `webhook`.
    kind: SubscriberKind,
    /// For `email`: the address, sent a confirmation email; it counts once confirmed.
    email: Option<String>,
    /// For `webhook`: the http(s) URL each update is POSTed to as JSON.
    url: Option<String>,
    /// Component names followed; left out: all of them.
    components: Option<Vec<String>>,
}

/// Every followed component the page does not have, with its path.
pub fn unknown_components(page: &StatusPage, new: &NewSubscriber) -> Vec<FieldError> {
    new.components
        .iter()
        .flatten()
        .enumerate()
        .filter(|(_, name)| !page.spec.components().any(|c| &c.name == *name))
        .map(|(index, name)| {
            FieldError::new(
                format!("components[{index}]"),
                format!("the page has no component named '{name}'"),
            )
        })
        .collect()
}

/// Why a page cannot take email sign-ups now, if it cannot.
pub fn email_closed(state: &AppState, page: &StatusPage) -> Option<&'static str> {
    if page.subscriber_channel_id.is_none() {
        Some("the page has no subscriber email channel (PUT its subscriber-channel)")
    } else if state.status_pages.public_url().is_none() {
        Some("WatchTower has no public URL (serve --public-url) for the confirmation link")
    } else {
        None
    }
}

/// Whether the team's plan allows one more subscriber.
pub async fn plan_allows_one_more(
    state: &AppState,
    team: TeamId,
    plan: watchtower_core::Plan,
) -> Result<Result<(), watchtower_core::PlanLimitExceeded>, ApiError> {
    let current = state.store.count_team_subscribers(team).await?;
    let demand = Demand::StatusSubscribers(u32::try_from(current + 1).unwrap_or(u32::MAX));
    Ok(state.plans.check(plan, demand))
}

/// A page's subscriber email channel and its subscribers, newest first.
#[utoipa::path(get, path = "/api/status-pages/{id}/subscribers", tag = "status_pages",
    params(("id" = i64, Path, description = "Status page id"), TeamHeader),
    responses((status = 200, body = PageSubscriptions)))]
pub async fn list_subscribers(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<StatusPageId>,
) -> Result<Json<PageSubscriptions>, ApiError> {
    access.require(Action::ManageStatusPages)?;
    Ok(Json(
        state.store.page_subscriptions(access.team.id, id).await?,
    ))
}

/// Sets the email channel subscriber emails go out through (one of the team's email channels);
/// with one, and a public URL, the page shows its sign-up form.
#[utoipa::path(put, path = "/api/status-pages/{id}/subscriber-channel", tag = "status_pages",
    params(("id" = i64, Path, description = "Status page id"), TeamHeader),
    request_body = SubscriberChannel,
    responses((status = 200, body = SubscriberChannel)))]
pub async fn set_subscriber_channel(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<StatusPageId>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<SubscriberChannel>, ApiError> {
    access.require(Action::ManageStatusPages)?;
    let page = team_page(&state, &access, id).await?;
    let channel = match body.get("email_channel_id") {
        Some(Value::Null) => None,
        Some(value) => match value.as_i64() {
            Some(channel) => Some(ChannelId(channel)),
            None => {
                return Err(ApiError::invalid_field(
                    "email_channel_id",
                    "must be a channel id or null",
                ));
            }
        },
        None => return Err(ApiError::invalid_field("email_channel_id", "is required")),
    };
    if let Some(extra) = body
        .as_object()
        .and_then(|object| object.keys().find(|key| *key != "email_channel_id"))
    {
        return Err(ApiError::invalid_field(
            extra,
            "is not a field of this body",
        ));
    }
    match state
        .store
        .set_subscriber_channel(access.team.id, page.id, channel)
        .await
    {
        Err(watchtower_store::StoreError::NotFound) => {
            return Err(ApiError::invalid_field(
                "email_channel_id",
                "must be one of the team's email channels",
            ));
        }
        result => result?,
    }
    state.status_pages.invalidate();
    access
        .audit(
            &state,
            "status_page.subscriber_channel",
            format!("status_page:{}", page.id),
            json!({"email_channel_id": channel}),
        )
        .await;
    Ok(Json(SubscriberChannel {
        email_channel_id: channel,
    }))
}

/// Adds a subscriber. A webhook counts at once. An email address is sent the confirmation email
/// a visitor's sign-up gets and counts once its link is followed (within the sign-up throttle:
/// 429 with `Retry-After`).
#[utoipa::path(post, path = "/api/status-pages/{id}/subscribers", tag = "status_pages",
    params(("id" = i64, Path, description = "Status page id"), TeamHeader),
    request_body = NewSubscriberBody,
    responses((status = 201, body = StatusSubscriber),
        (status = 402, description = "The plan allows no more subscribers"),
        (status = 409, description = "Already subscribed"),
        (status = 429, description = "A confirmation went to this address moments ago")))]
pub async fn add_subscriber(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<StatusPageId>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<StatusSubscriber>), ApiError> {
    access.require(Action::ManageStatusPages)?;
    let page = team_page(&state, &access, id).await?;
    let new = parse_new_subscriber(&body).map_err(ApiError::invalid)?;
    let mut problems = unknown_components(&page, &new);
    if new.kind == SubscriberKind::Email
        && let Some(closed) = email_closed(&state, &page)
    {
        problems.push(FieldError::new("email", closed));
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    plan_allows_one_more(&state, access.team.id, access.team.plan)
        .await?
        .map_err(|exceeded| access.plan_limit(&state, &exceeded))?;
    let subscriber = match state
        .store
        .subscribe(access.team.id, page.id, &new, Timestamp::now())
        .await?
    {
        SignUpOutcome::Queued(subscriber) => subscriber,
        SignUpOutcome::AlreadyConfirmed(_) => {
            return Err(ApiError::conflict("this address is subscribed already"));
        }
        SignUpOutcome::Throttled { retry_after } => {
            return Err(ApiError::too_many_requests(
                retry_after,
                "a confirmation email went to this address moments ago",
            ));
        }
    };
    state.subscriber_wake.notify_one();
    access
        .audit(
            &state,
            "status_subscriber.added",
            format!("status_subscriber:{}", subscriber.id),
            json!({"page": page.id, "kind": subscriber.kind}),
        )
        .await;
    Ok((StatusCode::CREATED, Json(subscriber)))
}

/// Removes a subscriber, with the messages still waiting for it.
#[utoipa::path(delete, path = "/api/status-pages/{id}/subscribers/{subscriber}",
    tag = "status_pages",
    params(("id" = i64, Path, description = "Status page id"),
        ("subscriber" = i64, Path, description = "Subscriber id"), TeamHeader),
    responses((status = 204, description = "Removed")))]
pub async fn remove_subscriber(
    State(state): State<AppState>,
    access: TeamAccess,
    Path((id, subscriber)): Path<(StatusPageId, StatusSubscriberId)>,
) -> Result<StatusCode, ApiError> {
    access.require(Action::ManageStatusPages)?;
    state
        .store
        .remove_subscriber(access.team.id, id, subscriber)
        .await?;
    access
        .audit(
            &state,
            "status_subscriber.removed",
            format!("status_subscriber:{subscriber}"),
            json!({"page": id}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
