//! Durable delivery with the real binary: a notification is pending (its receiver answers 503)
//! when `watchtower` is killed with SIGKILL; after a restart it is delivered, and the receiver
//! sees it exactly once. On SQLite always, and on PostgreSQL when `TEST_DATABASE_URL` is set.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a test tells whoever runs it what it skipped or measured"
)]

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use watchtower_testkit::{TestDatabase, WatchtowerProcess};

const BINARY: &str = env!("CARGO_BIN_EXE_watchtower");
const EMAIL: &str = "root@example.com";
const PASSWORD: &str = "a long enough passphrase";

/// Records the `webhook-id` of each accepted delivery; answers 503 while `down`.
#[derive(Clone, Default)]
struct Receiver {
    ids: Arc<Mutex<Vec<String>>>,
    down: Arc<Mutex<bool>>,
}

async fn hook(State(receiver): State<Receiver>, headers: HeaderMap) -> StatusCode {
    if *receiver.down.lock().unwrap() {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    receiver.ids.lock().unwrap().push(id.to_owned());
    StatusCode::NO_CONTENT
}

async fn start_receiver() -> (Receiver, String) {
    let receiver = Receiver {
        down: Arc::new(Mutex::new(true)),
        ..Receiver::default()
    };
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (receiver, url)
}

async fn serve(database: &TestDatabase, dir: &Path) -> WatchtowerProcess {
    let env = [
        ("WATCHTOWER_ADMIN_EMAIL", EMAIL),
        ("WATCHTOWER_ADMIN_PASSWORD", PASSWORD),
    ];
    WatchtowerProcess::serve_with_env(Path::new(BINARY), &database.url, &[], &env, dir)
        .await
        .unwrap()
}

/// A signed-in client and its CSRF token.
async fn sign_in(base: &str) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let me: Value = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (client, me["csrf_token"].as_str().unwrap().to_owned())
}

async fn post(client: &reqwest::Client, csrf: &str, url: String, body: Value) -> Value {
    let response = client
        .post(url)
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap_or(Value::Null)
}

async fn a_pending_notification_survives_sigkill(database: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let (receiver, hook_url) = start_receiver().await;
    let process = serve(&database, dir.path()).await;
    let base = process.base_url.clone();
    let (client, csrf) = sign_in(&base).await;
    let channel = post(
        &client,
        &csrf,
        format!("{base}/api/channels"),
        json!({"name": "hook", "kind": "webhook", "url": hook_url}),
    )
    .await;
    post(
        &client,
        &csrf,
        format!("{base}/api/alert-rules"),
        json!({"name": "down", "events": ["down"], "channel_ids": [channel["id"]]}),
    )
    .await;
    let monitor = post(
        &client,
        &csrf,
        format!("{base}/api/monitors"),
        json!({"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 9, "interval": "1h"}),
    )
    .await;
    // Its first check would come within the hour; run it now.
    post(
        &client,
        &csrf,
        format!("{base}/api/monitors/{}/check", monitor["id"]),
        json!({}),
    )
    .await;

    // Wait (bounded) until the first attempt has failed against the 503.
    let mut attempted = false;
    for _ in 0..300 {
        let log: Value = client
            .get(format!("{base}/api/notifications"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if log["notifications"][0]["last_status_code"] == 503 {
            attempted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        attempted,
        "no failed attempt recorded:\n{}",
        process.log_text()
    );
    process.kill().unwrap();
    *receiver.down.lock().unwrap() = false;

    let process = serve(&database, dir.path()).await;
    for _ in 0..600 {
        if !receiver.ids.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let a duplicate, if there were one, arrive before counting (bounded).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ids = receiver.ids.lock().unwrap().clone();
    assert_eq!(
        ids.len(),
        1,
        "delivered once after the restart: {ids:?}\n{}",
        process.log_text()
    );
    assert!(ids[0].starts_with("watchtower-notification-"));
    process.terminate().unwrap();
}

#[tokio::test]
async fn a_pending_notification_survives_sigkill_on_sqlite() {
    a_pending_notification_survives_sigkill(TestDatabase::sqlite()).await;
}

#[tokio::test]
async fn a_pending_notification_survives_sigkill_on_postgres() {
    let Ok(server) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL is not set: skipping the PostgreSQL variant");
        return;
    };
    a_pending_notification_survives_sigkill(TestDatabase::postgres(&server).await.unwrap()).await;
}
