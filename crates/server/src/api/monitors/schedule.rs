//! When a monitor is checked: pause, resume, and a check now.

use super::{MonitorView, check_active_count, load, plan_error, save};
use crate::AppState;
use crate::api::TeamHeader;
use crate::auth::TeamAccess;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use watchtower_core::Action;

/// Stops checking a monitor; its history is kept.
#[utoipa::path(post, path = "/api/monitors/{id}/pause", tag = "monitors",
    params(("id" = i64, Path, description = "Monitor id"), TeamHeader),
    responses((status = 200, body = MonitorView)))]
pub async fn pause(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<i64>,
) -> Result<Json<MonitorView>, ApiError> {
    access.require(Action::PauseMonitor)?;
    let existing = load(&state, &access, id).await?;
    let mut spec = existing.spec.clone();
    spec.paused = true;
    save(&state, &access, existing.id, spec, "monitor.paused").await
}

/// Starts checking a paused monitor again (counts against the plan's monitor limit).
#[utoipa::path(post, path = "/api/monitors/{id}/resume", tag = "monitors",
    params(("id" = i64, Path, description = "Monitor id"), TeamHeader),
    responses((status = 200, body = MonitorView), (status = 402, description = "Over the plan's monitor limit")))]
pub async fn resume(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<i64>,
) -> Result<Json<MonitorView>, ApiError> {
    access.require(Action::PauseMonitor)?;
    let existing = load(&state, &access, id).await?;
    let mut spec = existing.spec.clone();
    if spec.paused {
        state
            .plans
            .check_monitor(access.team.plan, &spec)
            .map_err(plan_error(&state, &access))?;
        check_active_count(&state, &access, 1).await?;
    }
    spec.paused = false;
    save(&state, &access, existing.id, spec, "monitor.resumed").await
}

/// Runs the monitor's check now instead of waiting for its next slot.
#[utoipa::path(post, path = "/api/monitors/{id}/check", tag = "monitors",
    params(("id" = i64, Path, description = "Monitor id"), TeamHeader),
    responses((status = 202, description = "The check is queued")))]
pub async fn check_now(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    access.require(Action::CheckNow)?;
    let monitor = load(&state, &access, id).await?;
    state.scheduler.check_now(monitor.id).await;
    Ok(StatusCode::ACCEPTED)
}
