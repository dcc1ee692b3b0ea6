//! Maintenance windows through the API: list, create (one-off or recurring), replace, delete. While a
//! window covering a monitor is open, its alerts wait (see `alerting::dispatcher`) and the
//! monitor's status reads `maintenance`.

use crate::AppState;
use crate::api::{ApiJson, TeamHeader};
use crate::auth::TeamAccess;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use watchtower_core::maintenance::MaintenanceSpec;
use watchtower_core::{Action, MaintenanceWindowId, Monitor, Timestamp};
use watchtower_store::MaintenanceWindow;

/// The open window covering a monitor: which, and when it closes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenWindow {
    pub window_id: MaintenanceWindowId,
    /// The window's name.
    pub window: String,
    pub until: Timestamp,
}

/// The open window covering `monitor` at `now`, if any: its name and when it closes.
pub fn open_window(
    windows: &[MaintenanceWindow],
    monitor: &Monitor,
    now: Timestamp,
) -> Option<OpenWindow> {
    windows.iter().find_map(|window| {
        if !window.spec.applies_to(monitor.id, &monitor.spec.tags) {
            return None;
        }
        let until = window.spec.open_until(now)?;
        Some(OpenWindow {
            window_id: window.id,
            window: window.spec.name.clone(),
            until,
        })
    })
}

/// A maintenance window, with when it closes if it is open now.
#[derive(Debug, Serialize, ToSchema)]
pub struct WindowView {
    #[serde(flatten)]
    pub window: MaintenanceWindow,
    pub open_until: Option<Timestamp>,
}

impl WindowView {
    fn new(window: MaintenanceWindow, now: Timestamp) -> Self {
        let open_until = window.spec.open_until(now);
        Self { window, open_until }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WindowList {
    pub windows: Vec<WindowView>,
}

/// The team's maintenance windows, each with `open_until` when open now.
#[utoipa::path(get, path = "/api/maintenance", tag = "alerting", params(TeamHeader),
    responses((status = 200, body = WindowList)))]
pub async fn list(
    State(state): State<AppState>,
    access: TeamAccess,
) -> Result<Json<WindowList>, ApiError> {
    access.require(Action::ViewMaintenance)?;
    let now = Timestamp::now();
    let windows = state.store.maintenance_windows(access.team.id).await?;
    Ok(Json(WindowList {
        windows: windows
            .into_iter()
            .map(|w| WindowView::new(w, now))
            .collect(),
    }))
}

/// The window `body` describes, every problem listed at once; a monitor that is not the team's
/// is a 404.
async fn spec_of(
    state: &AppState,
    access: &TeamAccess,
    body: &Value,
) -> Result<MaintenanceSpec, ApiError> {
    let spec = MaintenanceSpec::parse(body, "").map_err(ApiError::invalid)?;
    for monitor in &spec.monitors {
        state
            .store
            .get_monitor(access.team.id, *monitor)
            .await?
            .ok_or_else(ApiError::not_found)?;
    }
    Ok(spec)
}

/// Creates a window: `{"name", "monitors": [ids] | "tag", "starts_at", "ends_at"}` or
/// `{"name", ..., "cron": "0 2 * * SUN", "duration": "2h", "timezone": "UTC"}`.
#[utoipa::path(post, path = "/api/maintenance", tag = "alerting", params(TeamHeader),
    request_body(content = Object, description = "name, scope (monitors or tag; none: the whole team), and starts_at + ends_at or cron + duration + timezone"),
    responses((status = 201, body = WindowView), (status = 404, description = "A monitor is not the team's")))]
pub async fn create(
    State(state): State<AppState>,
    access: TeamAccess,
    // Read as JSON, not a typed body: the parser lists every bad field at once (serde would stop
    // at the first), so the document describes this body in words (`content = Object`).
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<WindowView>), ApiError> {
    access.require(Action::ManageMaintenance)?;
    let spec = spec_of(&state, &access, &body).await?;
    let now = Timestamp::now();
    let window = state
        .store
        .create_maintenance(access.team.id, &spec, now)
        .await?;
    // A window open now is news for status page subscribers.
    state.announcer_wake.notify_one();
    access
        .audit(
            &state,
            "maintenance.created",
            format!("maintenance:{}", window.id),
            json!({"name": spec.name}),
        )
        .await;
    Ok((StatusCode::CREATED, Json(WindowView::new(window, now))))
}

/// Replaces a window with the body (the same fields as creating one). Alerts it was holding are
/// decided again at the next dispatch, against the window as it now is.
#[utoipa::path(put, path = "/api/maintenance/{id}", tag = "alerting",
    params(("id" = i64, Path, description = "Window id"), TeamHeader),
    request_body(content = Object, description = "name, scope (monitors or tag; none: the whole team), and starts_at + ends_at or cron + duration + timezone"),
    responses((status = 200, body = WindowView), (status = 404, description = "The window or a monitor is not the team's")))]
pub async fn update(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<MaintenanceWindowId>,
    // Read as JSON for the same reason as `create`.
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<WindowView>, ApiError> {
    access.require(Action::ManageMaintenance)?;
    let spec = spec_of(&state, &access, &body).await?;
    let now = Timestamp::now();
    let window = state
        .store
        .update_maintenance(access.team.id, id, &spec, now)
        .await?;
    // Alerts the window held are due again: the dispatcher decides them against the new window.
    state.alert_wake.notify_one();
    state.announcer_wake.notify_one();
    access
        .audit(
            &state,
            "maintenance.updated",
            format!("maintenance:{id}"),
            json!({"name": spec.name}),
        )
        .await;
    Ok(Json(WindowView::new(window, now)))
}

/// Deletes a window; alerts it was holding go out at the next dispatch.
#[utoipa::path(delete, path = "/api/maintenance/{id}", tag = "alerting",
    params(("id" = i64, Path, description = "Window id"), TeamHeader),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<MaintenanceWindowId>,
) -> Result<StatusCode, ApiError> {
    access.require(Action::ManageMaintenance)?;
    state
        .store
        .delete_maintenance(access.team.id, id, Timestamp::now())
        .await?;
    // Alerts the window held are due now; the dispatcher may be in its idle sleep.
    state.alert_wake.notify_one();
    access
        .audit(
            &state,
            "maintenance.deleted",
            format!("maintenance:{id}"),
            json!({}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
