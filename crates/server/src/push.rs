//! Heartbeat pings: `/api/push/{token}` (success), `/fail` and `/start`, by GET, POST or HEAD,
//! without login. The token is looked up in the scheduler's memory, so a ping costs no query (in a
//! cluster, a token of another instance's shard costs one, and the ping is passed on to it).
//! Unknown tokens spend a small allowance per address (`RateLimiter::unknown_push_token`); past
//! it, every ping from that address is answered 429 alike, known tokens still recorded.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use watchtower_scheduler::PingKind;

async fn record(state: &AppState, token: &str, kind: PingKind, request: Request) -> Response {
    let limiter = &state.rate_limiter;
    let client = limiter.push_client(&request);
    drop(request);
    let target = match state.scheduler.push_target(token) {
        Some(target) => Some(target),
        // In a cluster this instance knows only its own shards' tokens; the one checking the
        // monitor gets the ping through the database.
        None if state.scheduler.is_clustered() => {
            match state.store.find_push_monitor(token).await {
                Ok(target) => target,
                Err(error) => return ApiError::from(error).into_response(),
            }
        }
        None => None,
    };
    let Some((_team, monitor)) = target else {
        return limiter
            .unknown_push_token(&client)
            .unwrap_or_else(|| ApiError::not_found().into_response());
    };
    if !state.scheduler.ping(monitor, kind).await {
        return ApiError::unavailable("scheduler stopped").into_response();
    }
    metrics::counter!("watchtower_push_pings_total").increment(1);
    match limiter.push_refusal(&client) {
        Some(refused) => refused,
        None => (StatusCode::OK, "OK\n").into_response(),
    }
}

pub(crate) async fn ping(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    record(&state, &token, PingKind::Success, request).await
}

pub(crate) async fn fail(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    record(&state, &token, PingKind::Fail, request).await
}

pub(crate) async fn start(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    record(&state, &token, PingKind::Start, request).await
}
