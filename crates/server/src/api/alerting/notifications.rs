//! The delivery log: every notification with its status, attempts, last response code and
//! error, newest first, a page at a time.

use crate::AppState;
use crate::api::TeamHeader;
use crate::auth::TeamAccess;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use watchtower_core::{Action, NotificationId};
use watchtower_store::NotificationRecord;

#[derive(Debug, Deserialize, IntoParams)]
pub struct LogQuery {
    /// Entries with an id below this (the `next_before` of the previous page).
    // An integer in the document, as every id in a path or query is.
    #[param(value_type = Option<i64>)]
    pub before: Option<NotificationId>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    pub notifications: Vec<NotificationRecord>,
    pub next_before: Option<NotificationId>,
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
