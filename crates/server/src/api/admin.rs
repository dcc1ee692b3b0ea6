//! `GET /api/admin/stats`: the installation's key figures for its administrators (see
//! `crate::instance_stats`), the same that `/metrics` exports, with teams by plan.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::instance_stats::{InstanceStats, gather};
use axum::Json;
use axum::extract::State;

/// People, teams by plan, monitors and their check success rate, notifications by channel kind,
/// requests and errors by route, database pools and memory.
#[utoipa::path(get, path = "/api/admin/stats", tag = "admin",
    responses((status = 200, body = InstanceStats), (status = 403, description = "Not an instance administrator")))]
pub async fn stats(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<InstanceStats>, ApiError> {
    if !caller.user().is_some_and(|user| user.is_admin) {
        return Err(ApiError::forbidden(
            "the instance's figures are for its administrators",
        ));
    }
    Ok(Json(gather(&state).await?))
}
