//! Every route WatchTower serves, in one place: health, metrics and push pings here, the REST API
//! from `api::routes_and_document()` (which also builds the OpenAPI document), and the dashboard
//! from `web::routes()`.

use crate::middleware::{error_shape, rate_limit, request_trace, security_headers};
use crate::{AppState, api, health, metrics, push, web};
use axum::Router;
use axum::routing::get;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// The OpenAPI 3.1 document of the REST API, as served at `/api/openapi.json`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    api::routes_and_document().1
}

/// Builds the application with its middleware.
pub fn router(state: AppState) -> Router {
    let push_ping = get(push::ping).post(push::ping).head(push::ping);
    let push_fail = get(push::fail).post(push::fail).head(push::fail);
    let push_start = get(push::start).post(push::start).head(push::start);
    let (api_routes, document) = api::routes_and_document();
    let document = std::sync::Arc::new(document);
    let api_routes = api_routes
        .route(
            "/api/openapi.json",
            get(move || {
                let document = document.clone();
                async move { axum::Json(document.as_ref().clone()) }
            }),
        )
        // Unknown /api paths answer 404 in the error shape, with rate-limit headers too.
        .route("/api/{*rest}", axum::routing::any(crate::error::not_found))
        .layer(axum::middleware::from_fn_with_state(
            state.rate_limiter.clone(),
            rate_limit::middleware,
        ));
    let in_whop_frame = state.billing.frame.is_some();
    let app = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/api/health", get(health::report))
        .route("/metrics", get(metrics::render))
        .route("/api/push/{token}", push_ping)
        .route("/api/push/{token}/fail", push_fail)
        .route("/api/push/{token}/start", push_start)
        .merge(api_routes)
        // The dashboard's pages count against the same rate limits as the API; its static
        // files (immutable, cached by browsers) do not.
        .merge(
            web::routes(&state).layer(axum::middleware::from_fn_with_state(
                state.rate_limiter.clone(),
                rate_limit::middleware,
            )),
        )
        .route("/assets/{name}", get(web::assets::serve))
        // A status page's custom domain: `/` is a layer of the dashboard's `/` route, and its
        // `/summary.json`, `/badge.svg` and feeds match no route, so the fallback serves them.
        .fallback(web::status::custom_domain_or_not_found)
        .with_state(state);
    with_middleware(app, in_whop_frame)
}

/// The middleware every answer goes through, around `app`'s routes (also what a test's own
/// routes are wrapped in to see a panic answered as the application answers it).
pub fn with_middleware(app: Router, in_whop_frame: bool) -> Router {
    app.layer(RequestBodyLimitLayer::new(1 << 20))
        .layer(TimeoutLayer::with_status_code(
            http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(CatchPanicLayer::custom(crate::error::panic_response))
        .layer(axum::middleware::from_fn(error_shape::middleware))
        .layer(security_headers::layer(in_whop_frame))
        // Outermost, so every answer (rewritten errors and panics included) carries the request
        // id, and the span covers all the work below it.
        .layer(axum::middleware::from_fn(request_trace::middleware))
}
