//! One tracing span per request, the parent of everything the request causes: a request id
//! (the caller's `X-Request-Id` when it is sane, otherwise a new one) echoed on every answer,
//! the method and the matched route template, then the status and the latency.
//!
//! The route is axum's `MatchedPath` (`/api/push/{token}`), never the raw path, and no header or
//! query string is recorded, so push tokens, `Authorization` and cookies stay out of the logs.
//! A 5xx is logged at WARN; every other answer at DEBUG, so a busy instance stays quiet at the
//! default `info` (`RUST_LOG=info,watchtower_server::middleware::request_trace=debug` shows all).
//! Heartbeat pings (`/api/push/...`) get their span at DEBUG: they arrive by the tens of
//! thousands a second and the span cost a fifth of a ping's CPU (docs/PERFORMANCE.md); their id
//! is still made and echoed.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderName, HeaderValue};
use std::time::Instant;
use tracing::Instrument;
use tracing::field::Empty;

/// The header a request id is accepted from and echoed in.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest accepted request id: enough for a UUID or a trace id, too short to smuggle a payload.
const MAX_REQUEST_ID_LEN: usize = 64;

/// The route field of a request no route matched (the raw path could hold a secret).
pub const UNMATCHED_ROUTE: &str = "(unmatched)";

/// The request span's fields, written once for the two levels it is made at (a span's level is
/// part of its static call site, so it cannot be a runtime argument).
macro_rules! request_span {
    ($make:ident, $request_id:expr, $method:expr, $route:expr) => {
        tracing::$make!(
            "request",
            request_id = %$request_id,
            method = %$method,
            route = %$route,
            status = Empty,
            latency_ms = Empty,
        )
    };
}

pub async fn middleware(request: Request, next: Next) -> Response {
    // The id and the route are kept as the request holds them (a header value, an `Arc`'d
    // template), so a request allocates nothing here but a made id (docs/PERFORMANCE.md,
    // "Push CPU per ping").
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .filter(|value| value.to_str().is_ok_and(is_sane_request_id))
        .cloned()
        .unwrap_or_else(new_request_id);
    let route = request.extensions().get::<MatchedPath>().cloned();
    let route_text = route.as_ref().map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
    // Sane or made, the id is plain ASCII.
    let request_id_text = request_id.to_str().unwrap_or_default();
    // INFO, not DEBUG: a disabled span would take the request id off the handlers' INFO lines.
    // Heartbeat pings are the exception: they come by the tens of thousands a second, their
    // handler logs nothing at INFO, and the span's bookkeeping was a fifth of a ping's CPU.
    let method = request.method();
    let span = if route_text.starts_with("/api/push/") {
        request_span!(debug_span, request_id_text, method, route_text)
    } else {
        request_span!(info_span, request_id_text, method, route_text)
    };
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    // Signed: the trace exporter sends other integer types as text.
    span.record("status", i64::from(status.as_u16()));
    span.record(
        "latency_ms",
        i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
    );
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::warn!("request answered with a server error");
        } else {
            tracing::debug!("request answered");
        }
    });
    response.headers_mut().insert(REQUEST_ID, request_id);
    // For the per-route figures, counted outside the router where no route is known
    // (`crate::ops::routes`).
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

/// 1 to 64 characters of `A-Z a-z 0-9 . _ -`: safe to log and to echo in a header as it is.
pub fn is_sane_request_id(id: &str) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'))
}

/// 128 random bits as 32 hex digits.
fn new_request_id() -> HeaderValue {
    let mut digits = [0_u8; 32];
    // Neither can fail: 16 bytes are exactly 32 hex digits, and hex digits are header-safe.
    if hex::encode_to_slice(rand::random::<[u8; 16]>(), &mut digits).is_err() {
        unreachable!("16 bytes are 32 hex digits");
    }
    HeaderValue::from_bytes(&digits).unwrap_or_else(|_| unreachable!("hex digits are header-safe"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_request_ids_are_short_and_plain() {
        assert!(is_sane_request_id("a"));
        assert!(is_sane_request_id("3f2c.trace_id-42"));
        assert!(is_sane_request_id(&"x".repeat(64)));
        assert!(!is_sane_request_id(""));
        assert!(!is_sane_request_id(&"x".repeat(65)));
        assert!(!is_sane_request_id("has space"));
        assert!(!is_sane_request_id("line\nbreak"));
        assert!(!is_sane_request_id("quote\"d"));
        assert!(!is_sane_request_id("é"));
    }

    #[test]
    fn made_request_ids_are_sane_and_differ() {
        let first = new_request_id();
        let text = first.to_str().unwrap();
        assert!(is_sane_request_id(text), "{text}");
        assert_eq!(text.len(), 32);
        assert_ne!(first, new_request_id());
    }
}
