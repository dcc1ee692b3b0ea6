//! A channel template that would run for minutes (saved before templates were bounded) neither
//! holds up its test notification nor keeps the real binary from stopping on SIGTERM.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use watchtower_core::{TeamId, Timestamp};
use watchtower_testkit::{TestDatabase, WatchtowerProcess};

const BINARY: &str = env!("CARGO_BIN_EXE_watchtower");
const EMAIL: &str = "root@example.com";
const PASSWORD: &str = "a long enough passphrase";

async fn hook(State(bodies): State<Arc<Mutex<Vec<String>>>>, body: Bytes) -> StatusCode {
    bodies
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&body).into_owned());
    StatusCode::NO_CONTENT
}

#[tokio::test]
async fn a_runaway_template_neither_stalls_its_delivery_nor_blocks_sigterm() {
    let database = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let bodies: Arc<Mutex<Vec<String>>> = Arc::default();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(bodies.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let env = [
        ("WATCHTOWER_ADMIN_EMAIL", EMAIL),
        ("WATCHTOWER_ADMIN_PASSWORD", PASSWORD),
    ];
    let process =
        WatchtowerProcess::serve_with_env(Path::new(BINARY), &database.url, &[], &env, dir.path())
            .await
            .unwrap();
    let base = process.base_url.clone();
    // The row as an older version would have saved it (the API now refuses the template).
    let store = watchtower_store::connect(&database.url).await.unwrap();
    let channel = store
        .create_channel(
            TeamId::DEFAULT,
            "legacy",
            "webhook",
            &json!({"kind": "webhook", "url": hook_url,
                    "message_template": "{% for x in range(100000) * 100000000000 %}{% endfor %}"}),
            Timestamp::now(),
        )
        .await
        .unwrap();

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
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    let test = client
        .post(format!("{base}/api/channels/{}/test", channel.id))
        .header("x-csrf-token", &csrf)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(test.status(), StatusCode::ACCEPTED);

    for _ in 0..400 {
        if !bodies.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered = bodies.lock().unwrap().clone();
    assert_eq!(
        delivered.len(),
        1,
        "the test notification went out in the default wording:\n{}",
        process.log_text()
    );
    let status = process
        .terminate_within(Duration::from_secs(20))
        .expect("stops on SIGTERM");
    assert!(status.success(), "{status}");
}
