//! `serve --otlp-endpoint`: request spans reach a local OTLP/HTTP receiver as JSON traces, with
//! the route template, method, status and request id, and without the secrets a request carries
//! (a push token in the path, a password in the body, a session cookie).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use watchtower_testkit::{TestDatabase, WatchtowerProcess};

const BINARY: &str = env!("CARGO_BIN_EXE_watchtower");
const PUSH_TOKEN: &str = "planted-push-token-4f1d";
const PASSWORD: &str = "planted-password-9c2e";
const COOKIE: &str = "planted-cookie-77aa";

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A collector that keeps every body posted to `/v1/traces`; its base URL.
async fn start_collector() -> (Received, String) {
    async fn traces(
        State(received): State<Received>,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        received.lock().unwrap().push((headers, body));
        StatusCode::OK
    }
    let received = Received::default();
    let app = axum::Router::new()
        .route("/v1/traces", axum::routing::post(traces))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (received, base)
}

/// The `{key: value}` of an OTLP attribute list (string and integer values).
fn attributes(list: &Value) -> serde_json::Map<String, Value> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|attribute| {
            let value = &attribute["value"];
            let value = value
                .get("stringValue")
                .or_else(|| value.get("intValue"))
                .cloned()
                .unwrap_or_else(|| value.clone());
            (attribute["key"].as_str().unwrap().to_owned(), value)
        })
        .collect()
}

#[tokio::test]
async fn request_spans_reach_the_collector_without_secrets() {
    let (received, collector) = start_collector().await;
    let database = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    // Heartbeat pings get their span at DEBUG (they come by the thousands); asked for here, so
    // the span of a ping is exported too and its token can be looked for.
    let process = WatchtowerProcess::serve_with_env(
        Path::new(BINARY),
        &database.url,
        &["--otlp-endpoint", &collector],
        &[(
            "RUST_LOG",
            "info,watchtower_server::middleware::request_trace=debug",
        )],
        dir.path(),
    )
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let health = client
        .get(format!("{}/api/health", process.base_url))
        .header("x-request-id", "trace-me-1")
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let login = client
        .post(format!("{}/api/auth/login", process.base_url))
        .header("cookie", format!("watchtower_session={COOKIE}"))
        .json(&json!({"email": "nobody@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 401);
    let push = client
        .get(format!("{}/api/push/{PUSH_TOKEN}", process.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), 404);
    // SIGTERM: the last spans are flushed before the process ends (a blocking wait, off the
    // runtime the collector answers on).
    let log = process.log_text();
    let status =
        tokio::task::spawn_blocking(move || process.terminate_within(Duration::from_secs(20)))
            .await
            .unwrap()
            .unwrap();
    assert!(status.success(), "{status}\n{log}");

    let bodies = received.lock().unwrap().clone();
    assert!(!bodies.is_empty(), "nothing reached the collector\n{log}");
    let mut spans = Vec::new();
    for (headers, body) in &bodies {
        assert_eq!(headers["content-type"], "application/json");
        let text = String::from_utf8_lossy(body);
        for secret in [PUSH_TOKEN, PASSWORD, COOKIE] {
            assert!(!text.contains(secret), "{secret} was exported: {text}");
        }
        let export: Value = serde_json::from_slice(body).unwrap();
        for resource in export["resourceSpans"].as_array().unwrap() {
            let service = attributes(&resource["resource"]["attributes"]);
            assert_eq!(service["service.name"], "watchtower");
            assert!(
                service["service.version"]
                    .as_str()
                    .unwrap()
                    .starts_with(env!("CARGO_PKG_VERSION")),
                "{service:?}"
            );
            for scope in resource["scopeSpans"].as_array().unwrap() {
                spans.extend(scope["spans"].as_array().unwrap().iter().cloned());
            }
        }
    }
    let request = |route: &str| {
        spans
            .iter()
            .filter(|span| span["name"] == "request")
            .map(|span| (span, attributes(&span["attributes"])))
            .find(|(_, fields)| fields.get("route").and_then(Value::as_str) == Some(route))
            .unwrap_or_else(|| panic!("no request span for {route} among {spans:#?}"))
    };
    let (span, health) = request("/api/health");
    assert_eq!(health["request_id"], "trace-me-1");
    assert_eq!(health["method"], "GET");
    // OTLP's JSON writes 64-bit integers as strings.
    assert_eq!(health["status"], "200");
    assert!(health.contains_key("latency_ms"), "{health:?}");
    assert_eq!(span["traceId"].as_str().unwrap().len(), 32);
    let (_, login) = request("/api/auth/login");
    assert_eq!(login["status"], "401");
    let (_, push) = request("/api/push/{token}");
    assert_eq!(push["status"], "404");
}
