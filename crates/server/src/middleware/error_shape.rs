//! Keeps the one error shape for API errors made outside handlers: tower-http's body limit (413),
//! a method the route lacks (405), the timeout (408), extractor rejections that answer plain text.
//! Any `/api/` error whose body is not JSON is rewritten into `{"error": {...}}`. Other paths keep
//! their bodies: `/healthz` answers plain text for load balancers and scripts.

use crate::error::ApiError;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn middleware(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !is_api {
        return response;
    }
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "the body is larger than the server accepts",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this resource does not support the method",
        ),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "the body's content type is not accepted here",
        ),
        StatusCode::NOT_FOUND => ("not_found", "no such resource"),
        status if status.is_server_error() => ("internal", "internal error"),
        _ => ("bad_request", "the request could not be read"),
    };
    let (mut parts, _) = response.into_parts();
    let mut rewritten = ApiError::new(status, code, message).into_response();
    // Keep headers such as Allow, Retry-After and the rate-limit ones; the body is new.
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    for (name, value) in &parts.headers {
        rewritten.headers_mut().entry(name).or_insert(value.clone());
    }
    rewritten
}
