//! Every route WatchTower serves, in one place.

use crate::middleware::security_headers;
use crate::{AppState, health, metrics, push};
use axum::Router;
use axum::routing::get;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// Builds the application with its middleware.
pub fn router(state: AppState) -> Router {
    let push_ping = get(push::ping).post(push::ping).head(push::ping);
    let push_fail = get(push::fail).post(push::fail).head(push::fail);
    let push_start = get(push::start).post(push::start).head(push::start);
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/api/health", get(health::report))
        .route("/metrics", get(metrics::render))
        .route("/api/push/{token}", push_ping)
        .route("/api/push/{token}/fail", push_fail)
        .route("/api/push/{token}/start", push_start)
        .fallback(crate::error::not_found)
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(1 << 20))
        .layer(TimeoutLayer::with_status_code(
            http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(CatchPanicLayer::custom(crate::error::panic_response))
        .layer(security_headers::layer())
}
