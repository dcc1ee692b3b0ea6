//! Ops alerts with the real binary: `watchtower serve --ops-channel` pointing at a local Standard
//! Webhooks receiver, a real condition (more than 10 failed logins with wrong passwords against
//! `/api/auth/login`) with the window and evaluation interval shortened by flags, and exactly one
//! alert then one recovery at the receiver. Also: bad ops flags exit 2 listing every problem.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use watchtower_alerting::channels::WebhookSecret;
use watchtower_testkit::{TestDatabase, WatchtowerProcess};

const BINARY: &str = env!("CARGO_BIN_EXE_watchtower");
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One accepted delivery: its headers that matter and its JSON body.
#[derive(Debug, Clone)]
struct Delivery {
    id: String,
    signature_ok: bool,
    body: Value,
}

#[derive(Clone, Default)]
struct Receiver {
    deliveries: Arc<Mutex<Vec<Delivery>>>,
}

impl Receiver {
    fn all(&self) -> Vec<Delivery> {
        self.deliveries.lock().unwrap().clone()
    }
}

async fn hook(State(receiver): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let id = header("webhook-id");
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap_or_default();
    let expected = WebhookSecret::parse(SECRET)
        .unwrap()
        .sign(&id, timestamp, body.as_bytes());
    receiver.deliveries.lock().unwrap().push(Delivery {
        signature_ok: header("webhook-signature") == expected,
        id,
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
    });
    StatusCode::NO_CONTENT
}

async fn start_receiver() -> (Receiver, String) {
    let receiver = Receiver::default();
    let app = axum::Router::new()
        .route("/ops", axum::routing::post(hook))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/ops", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (receiver, url)
}

/// Polls (every 100 ms, for at most `within`) until the receiver holds `count` deliveries.
async fn wait_for(receiver: &Receiver, count: usize, within: Duration) -> Vec<Delivery> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline && receiver.all().len() < count {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    receiver.all()
}

#[tokio::test]
async fn failed_logins_alert_once_then_recover_once() {
    let database = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let (receiver, url) = start_receiver().await;
    let channel_file = dir.path().join("ops-channel.json");
    std::fs::write(
        &channel_file,
        json!({"kind": "webhook", "url": url, "secret": SECRET}).to_string(),
    )
    .unwrap();
    let args = [
        "--ops-channel",
        channel_file.to_str().unwrap(),
        "--ops-interval",
        "200ms",
        "--ops-threshold",
        "failed_logins=10/20s",
        "--ops-clear-after",
        "0s",
        "--ops-instance",
        "ops-test",
    ];
    let process = WatchtowerProcess::serve(Path::new(BINARY), &database.url, &args, dir.path())
        .await
        .unwrap();

    // 11 wrong passwords from one address: 10 are refused (login_failed), the 11th is throttled
    // (login_throttled); both count as failed logins.
    let client = reqwest::Client::new();
    for attempt in 0..11 {
        let status = client
            .post(format!("{}/api/auth/login", process.base_url))
            .json(&json!({"email": "nobody@example.com", "password": format!("guess {attempt}")}))
            .send()
            .await
            .unwrap()
            .status();
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
            "{status}"
        );
    }

    let deliveries = wait_for(&receiver, 1, Duration::from_secs(10)).await;
    assert_eq!(deliveries.len(), 1, "{}", process.log_text());
    let alert = &deliveries[0];
    assert!(
        alert.signature_ok,
        "the alert is signed with the channel's secret"
    );
    assert_eq!(alert.body["type"], "instance.ops_alert");
    assert_eq!(alert.body["data"]["ops_signal"], "failed_logins");
    let data = &alert.body["data"];
    assert_eq!(data["monitor_name"], "WatchTower ops-test: Failed logins");
    assert_eq!(data["target"], "ops-test");
    let cause = data["cause"].as_str().unwrap();
    assert!(
        cause.starts_with("Failed logins 11 (") && cause.ends_with("above 10 over 20s"),
        "{cause}"
    );
    assert!(
        alert
            .id
            .starts_with("watchtower-ops-ops-test-failed_logins-")
    );
    let metrics = client
        .get(format!("{}/metrics", process.base_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"watchtower_ops_alert_firing{signal="failed_logins"} 1"#)
            && metrics.contains(r#"watchtower_ops_signal{signal="memory"}"#),
        "{metrics}"
    );

    // The failures leave the 20 s window (long enough for 11 password checks on a loaded
    // machine): one recovery, and nothing more however many evaluations (every 200 ms) follow.
    let deliveries = wait_for(&receiver, 2, Duration::from_secs(40)).await;
    assert_eq!(deliveries.len(), 2, "{}", process.log_text());
    let recovery = &deliveries[1];
    assert!(recovery.signature_ok);
    assert_eq!(recovery.body["type"], "instance.ops_recovery");
    let cause = recovery.body["data"]["cause"].as_str().unwrap();
    let now: u32 = cause
        .strip_prefix("Failed logins back to ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("{cause}"));
    assert!(now <= 10, "{cause}");
    assert_eq!(
        recovery.body["data"]["down_since"], alert.body["data"]["since"],
        "the recovery names the episode it ends"
    );
    assert_ne!(recovery.id, alert.id);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(receiver.all().len(), 2, "no repeated alert or recovery");

    let log = process.log_text();
    assert!(log.contains("ops alert"), "{log}");
    assert!(log.contains("ops alert delivered"), "{log}");
    process.terminate().unwrap();
}

#[test]
fn bad_ops_flags_exit_2_listing_every_problem() {
    let output = Command::new(BINARY)
        .args([
            "serve",
            "--database",
            "sqlite://does-not-matter.db",
            "--ops-channel",
            r#"{"kind": "webhook", "url": "not a url", "secret": "short"}"#,
            "--ops-threshold",
            "cpu=5",
            "--ops-threshold",
            "memory=80",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "--ops-threshold: 'cpu' is not a signal",
        "--ops-threshold: memory: limit '80' must be a percentage",
        "--ops-channel: url:",
        "--ops-channel: secret:",
    ] {
        assert!(stderr.contains(expected), "{expected} in:\n{stderr}");
    }
}
