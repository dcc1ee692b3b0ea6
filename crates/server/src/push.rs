//! Heartbeat pings: `/api/push/{token}` (success), `/fail` and `/start`, by GET, POST or HEAD,
//! without login. The token is looked up in the scheduler's memory, so a ping costs no query.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use watchtower_scheduler::PingKind;

async fn record(
    state: &AppState,
    token: &str,
    kind: PingKind,
) -> Result<(StatusCode, &'static str), ApiError> {
    let Some((_team, monitor)) = state.scheduler.push_target(token) else {
        return Err(ApiError::not_found());
    };
    if state.scheduler.ping(monitor, kind).await {
        metrics::counter!("watchtower_push_pings_total").increment(1);
        Ok((StatusCode::OK, "OK\n"))
    } else {
        Err(ApiError::unavailable("scheduler stopped"))
    }
}

pub(crate) async fn ping(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<(StatusCode, &'static str), ApiError> {
    record(&state, &token, PingKind::Success).await
}

pub(crate) async fn fail(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<(StatusCode, &'static str), ApiError> {
    record(&state, &token, PingKind::Fail).await
}

pub(crate) async fn start(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<(StatusCode, &'static str), ApiError> {
    record(&state, &token, PingKind::Start).await
}
