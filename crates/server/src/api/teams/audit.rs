//! The team's audit log: who did what when, newest first, a page at a time.

use super::access;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use watchtower_core::Action;

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Entries with an id below this (the `next_before` of the previous page).
    pub before: Option<i64>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<watchtower_store::AuditRecord>,
    pub next_before: Option<i64>,
}

/// Who did what when in the team, newest first.
#[utoipa::path(get, path = "/api/teams/{team}/audit-log", tag = "teams",
    params(("team" = i64, Path, description = "Team id"), AuditQuery),
    responses((status = 200, body = AuditPage)))]
pub async fn audit_log(
    State(state): State<AppState>,
    caller: Caller,
    Path(team): Path<i64>,
    Query(query): Query<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let access = access(&state, caller, team).await?;
    access.require(Action::ViewAuditLog)?;
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let entries = state
        .store
        .audit_log(access.team.id, query.before, limit)
        .await?;
    let next_before = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(Json(AuditPage {
        entries,
        next_before,
    }))
}
