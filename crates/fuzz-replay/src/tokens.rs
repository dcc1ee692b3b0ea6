//! Every signature and token verifier: the webhook signing secret (parse, round-trip, sign), the
//! acknowledge-link token, the CSRF token comparison, and the rate limiter's reading of bearer
//! tokens, session cookies and `X-Forwarded-For`. A verifier accepts exactly the real token.
//! The input is lines: a webhook secret, a token, an `Authorization` value, a `Cookie` value and
//! an `X-Forwarded-For` value.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;
use watchtower_alerting::channels::WebhookSecret;
use watchtower_alerting::links::{acknowledge_token, verify_acknowledge_token};
use watchtower_core::{IncidentId, TeamId};
use watchtower_server::auth::tokens::{constant_time_eq, csrf_token, token_hash};
use watchtower_server::middleware::rate_limit::{self, RateLimitConfig, RateLimiter};

const ACK_SECRET: &str = "instance secret for the fuzz target";

pub fn run(data: &[u8]) {
    let Some(text) = crate::text(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let mut next = || lines.next().unwrap_or_default();
    let (secret, token, authorization, cookie, forwarded) =
        (next(), next(), next(), next(), next());

    webhook_secret(secret, token.as_bytes());
    acknowledge(token, data.len() as i64);
    csrf(secret, token);
    rate_limit(authorization, cookie, forwarded);
}

fn webhook_secret(text: &str, body: &[u8]) {
    let Ok(secret) = WebhookSecret::parse(text) else {
        return;
    };
    let written = secret.to_text();
    let reread = WebhookSecret::parse(&written).expect("to_text reads back");
    assert!(reread == secret, "to_text -> parse changed the key");
    let signature = secret.sign("msg_1", 1_700_000_000, body);
    assert!(signature.starts_with("v1,"), "{signature}");
    assert_eq!(signature, reread.sign("msg_1", 1_700_000_000, body));
}

fn acknowledge(token: &str, id: i64) {
    let (team, incident) = (TeamId(1), IncidentId(id));
    let real = acknowledge_token(ACK_SECRET, team, incident);
    assert!(verify_acknowledge_token(ACK_SECRET, team, incident, &real));
    let accepted = verify_acknowledge_token(ACK_SECRET, team, incident, token);
    // Hex is case-insensitive, so the same bytes in capitals are the same token.
    let same_bytes = hex::decode(token).ok() == hex::decode(&real).ok();
    assert_eq!(
        accepted, same_bytes,
        "acknowledge token {token:?} vs {real}"
    );
    assert!(
        !verify_acknowledge_token(ACK_SECRET, TeamId(2), incident, token),
        "a token verified for another team"
    );
}

fn csrf(session: &str, sent: &str) {
    let expected = csrf_token(session);
    assert_eq!(expected.len(), 64);
    assert_ne!(
        expected,
        token_hash(session),
        "the CSRF token is not the stored hash"
    );
    assert_eq!(
        constant_time_eq(sent.as_bytes(), expected.as_bytes()),
        sent == expected
    );
}

/// Whatever the credential headers hold, the limiter answers (the handler's 200 or its own 429)
/// and never fails.
fn rate_limit(authorization: &str, cookie: &str, forwarded: &str) {
    let mut request = Request::get("/api/ok");
    for (name, value) in [
        ("authorization", authorization),
        ("cookie", cookie),
        ("x-forwarded-for", forwarded),
    ] {
        if let Ok(value) = axum::http::HeaderValue::from_str(value) {
            request = request.header(name, value);
        }
    }
    let mut request = request.body(Body::empty()).expect("a valid request");
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 1], 40_000))));
    // A fresh limiter per input: replays are deterministic and memory does not grow with the run.
    let limiter = Arc::new(RateLimiter::new(RateLimitConfig {
        trust_forwarded_for: true,
        ..RateLimitConfig::default()
    }));
    let router = Router::new()
        .route("/api/ok", get(|| async { "ok" }))
        .layer(axum::middleware::from_fn_with_state(
            limiter,
            rate_limit::middleware,
        ));
    let status = RUNTIME.with(|runtime| {
        runtime.block_on(async { router.oneshot(request).await.map(|r| r.status()) })
    });
    let status = status.expect("the router is infallible");
    assert!(
        status == StatusCode::OK || status == StatusCode::TOO_MANY_REQUESTS,
        "{status}"
    );
}

thread_local! {
    /// One runtime per thread: building one per input would dominate the run.
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
}
