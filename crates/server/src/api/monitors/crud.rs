//! One monitor: create, read, replace and delete.

use super::{
    BrokenView, MonitorEntry, MonitorView, Secrets, check_active_count, load_entry, parse_spec,
    plan_error, save,
};
use crate::AppState;
use crate::api::{ApiJson, TeamHeader};
use crate::auth::TeamAccess;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use watchtower_core::{Action, MonitorId, Timestamp};
use watchtower_store::PageRequest;

/// Creates a monitor from the same fields a monitors file uses.
#[utoipa::path(post, path = "/api/monitors", tag = "monitors", params(TeamHeader),
    request_body(content = Object, description = "A monitor: name, kind and the kind's fields, as in a monitors file"),
    responses((status = 201, description = "Created", body = MonitorView), (status = 400, description = "Every bad field"),
        (status = 402, description = "Over the plan's limits"), (status = 409, description = "The key is taken")))]
pub async fn create(
    State(state): State<AppState>,
    access: TeamAccess,
    // Read as JSON, not a typed body: the parser lists every bad field at once (serde would stop
    // at the first), so the document describes this body in words (`content = Object`).
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<MonitorView>), ApiError> {
    access.require(Action::CreateMonitor)?;
    let mut spec = parse_spec(&body)?;
    spec.restore_secrets(None, "").map_err(ApiError::invalid)?;
    state
        .plans
        .check_monitor(access.team.plan, &spec)
        .map_err(plan_error(&state, &access))?;
    check_active_count(&state, &access, u64::from(!spec.paused)).await?;
    let monitor = state
        .store
        .create_monitor(access.team.id, &spec, Timestamp::now())
        .await?;
    state.scheduler.upsert(monitor.clone()).await;
    access
        .audit(
            &state,
            "monitor.created",
            format!("monitor:{}", monitor.id),
            json!({"name": monitor.spec.name, "kind": monitor.spec.kind.name()}),
        )
        .await;
    Ok((
        StatusCode::CREATED,
        Json(MonitorView::new(
            &monitor,
            None,
            &[],
            Secrets::for_caller(&access),
        )),
    ))
}

/// One monitor with its current status.
#[utoipa::path(get, path = "/api/monitors/{id}", tag = "monitors",
    params(("id" = i64, Path, description = "Monitor id"), TeamHeader),
    responses((status = 200, body = MonitorEntry)))]
pub async fn get(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<i64>,
) -> Result<Json<MonitorEntry>, ApiError> {
    access.require(Action::ViewMonitors)?;
    let monitor = match load_entry(&state, &access, id).await? {
        Ok(monitor) => monitor,
        Err(broken) => return Ok(Json(MonitorEntry::Broken(BrokenView::new(&broken)))),
    };
    // The status comes from the list query for this one id, so it matches what lists show.
    let page = PageRequest {
        after: Some(MonitorId(id - 1)),
        limit: 1,
        ..PageRequest::default()
    };
    let listing = state
        .store
        .list_monitors(access.team.id, &page)
        .await?
        .into_iter()
        .find(|l| l.monitor.id == monitor.id);
    let windows = state.store.maintenance_windows(access.team.id).await?;
    Ok(Json(MonitorEntry::Readable(Box::new(MonitorView::new(
        &monitor,
        listing.as_ref(),
        &windows,
        Secrets::for_caller(&access),
    )))))
}

/// Replaces a monitor's settings.
#[utoipa::path(put, path = "/api/monitors/{id}", tag = "monitors",
    params(("id" = i64, Path, description = "Monitor id"), TeamHeader),
    request_body(content = Object, description = "The whole monitor, as for create"),
    responses((status = 200, body = MonitorView), (status = 402, description = "Over the plan's limits"), (status = 409, description = "The key is taken")))]
pub async fn update(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<i64>,
    // Read as JSON, not a typed body: the parser lists every bad field at once (serde would stop
    // at the first), so the document describes this body in words (`content = Object`).
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<MonitorView>, ApiError> {
    access.require(Action::UpdateMonitor)?;
    let mut spec = parse_spec(&body)?;
    let (existing_id, was_paused) = match load_entry(&state, &access, id).await? {
        Ok(existing) => {
            // A secret sent back redacted (as every answer shows it) keeps the stored one.
            spec.restore_secrets(Some(&existing.spec), "")
                .map_err(ApiError::invalid)?;
            (existing.id, existing.spec.paused)
        }
        // A broken monitor is replaced like any other: that is how it is repaired. Its stored
        // secrets cannot be read, so the new spec must carry its own.
        Err(broken) => {
            spec.restore_secrets(None, "").map_err(ApiError::invalid)?;
            (broken.id, broken.paused)
        }
    };
    state
        .plans
        .check_monitor(access.team.plan, &spec)
        .map_err(plan_error(&state, &access))?;
    check_active_count(&state, &access, u64::from(was_paused && !spec.paused)).await?;
    save(&state, &access, existing_id, spec, "monitor.updated").await
}

/// Deletes a monitor with its history.
#[utoipa::path(delete, path = "/api/monitors/{id}", tag = "monitors",
    params(("id" = i64, Path, description = "Monitor id"), TeamHeader),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    access.require(Action::DeleteMonitor)?;
    let (id, name) = match load_entry(&state, &access, id).await? {
        Ok(monitor) => (monitor.id, monitor.spec.name),
        Err(broken) => (broken.id, broken.name),
    };
    state.store.delete_monitor(access.team.id, id).await?;
    state.scheduler.remove(id).await;
    access
        .audit(
            &state,
            "monitor.deleted",
            format!("monitor:{id}"),
            json!({"name": name}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
