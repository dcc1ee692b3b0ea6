//! Ops alerts with the real binary: `watchtower serve --ops-channel` pointing at a local Standard
//! Webhooks receiver, real conditions with the windows and evaluation interval shortened by
//! flags, and exactly one alert then one recovery of each at the receiver, through the
//! notification outbox: more than 10 failed logins with wrong passwords against
//! `/api/auth/login` (with a restart while the episode is open, and with two instances on one
//! PostgreSQL database), scheduled backups that fail for two periods, an `/api` rate limit 90%
//! spent, and the SQLite database's file system (a small tmpfs) filled past 80%. Also: bad ops
//! flags exit 2 listing every problem.

#![allow(clippy::print_stderr, reason = "a test says what it skipped")]

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

    /// The deliveries of one signal (`ops.NAME` and `ops.NAME.resolved`), in order.
    fn of(&self, signal: &str) -> Vec<Delivery> {
        let alert = format!("ops.{signal}");
        let resolved = format!("ops.{signal}.resolved");
        self.all()
            .into_iter()
            .filter(|d| d.body["type"] == alert.as_str() || d.body["type"] == resolved.as_str())
            .collect()
    }
}

/// Polls (every 100 ms, for at most `within`) until `count` deliveries of `signal` arrived.
async fn wait_for_signal(
    receiver: &Receiver,
    signal: &str,
    count: usize,
    within: Duration,
) -> Vec<Delivery> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline && receiver.of(signal).len() < count {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    receiver.of(signal)
}

/// The first delivery of `signal`, which must be its alert and nothing else yet (the log of
/// `process` explains a wait that ended without it).
async fn the_alert(
    receiver: &Receiver,
    signal: &str,
    within: Duration,
    process: &WatchtowerProcess,
) -> Delivery {
    let deliveries = wait_for_signal(receiver, signal, 1, within).await;
    assert_eq!(
        types(&deliveries),
        [format!("ops.{signal}")],
        "{}",
        process.log_text()
    );
    deliveries[0].clone()
}

impl Delivery {
    /// What the message says caused it.
    fn cause(&self) -> String {
        self.body["data"]["cause"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

fn types(deliveries: &[Delivery]) -> Vec<String> {
    deliveries
        .iter()
        .map(|d| d.body["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The operators' channel (the signed local receiver) as a file for `--ops-channel`.
fn channel_file(dir: &Path, url: &str) -> String {
    let file = dir.join("ops-channel.json");
    std::fs::write(
        &file,
        json!({"kind": "webhook", "url": url, "secret": SECRET}).to_string(),
    )
    .unwrap();
    file.to_str().unwrap().to_owned()
}

/// 11 wrong passwords from one address: 10 are refused (login_failed), the 11th is throttled
/// (login_throttled); both count as failed logins.
async fn eleven_bad_logins(base_url: &str) {
    let client = reqwest::Client::new();
    for attempt in 0..11 {
        let status = client
            .post(format!("{base_url}/api/auth/login"))
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

#[tokio::test]
async fn failed_logins_alert_once_then_recover_once_across_a_restart() {
    let database = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let (receiver, url) = start_receiver().await;
    let channel = channel_file(dir.path(), &url);
    let args = [
        "--ops-channel",
        &channel,
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
    let client = reqwest::Client::new();
    eleven_bad_logins(&process.base_url).await;

    let deliveries = wait_for_signal(&receiver, "failed_logins", 1, Duration::from_secs(10)).await;
    assert_eq!(deliveries.len(), 1, "{}", process.log_text());
    let alert = &deliveries[0];
    assert!(
        alert.signature_ok,
        "the alert is signed with the channel's secret"
    );
    assert_eq!(alert.body["type"], "ops.failed_logins");
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

    assert!(process.log_text().contains("ops alert"));

    // A restart while the episode is open (the failures are still within the 20 s window):
    // the new process takes the open episode up from the database and sends nothing new.
    process.terminate().unwrap();
    let process = WatchtowerProcess::serve(Path::new(BINARY), &database.url, &args, dir.path())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await; // ten evaluations
    let log = process.log_text();
    assert!(log.contains("an episode is still open"), "{log}");
    assert_eq!(receiver.of("failed_logins").len(), 1, "{log}");

    // The failures leave the 20 s window (long enough for 11 password checks on a loaded
    // machine): one recovery, and nothing more however many evaluations (every 200 ms) follow.
    let deliveries = wait_for_signal(&receiver, "failed_logins", 2, Duration::from_secs(40)).await;
    assert_eq!(deliveries.len(), 2, "{}", process.log_text());
    let recovery = &deliveries[1];
    assert!(recovery.signature_ok);
    assert_eq!(recovery.body["type"], "ops.failed_logins.resolved");
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
    assert_eq!(
        receiver.of("failed_logins").len(),
        2,
        "no repeated alert or recovery"
    );
    assert!(process.log_text().contains("ops alert recovered"));
    process.terminate().unwrap();
}

#[tokio::test]
async fn two_instances_on_one_postgres_send_each_message_once() {
    let Ok(server) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("note: TEST_DATABASE_URL is not set; PostgreSQL variant skipped");
        return;
    };
    let database = TestDatabase::postgres(&server).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (receiver, url) = start_receiver().await;
    let channel = channel_file(dir.path(), &url);
    let args = |instance: &'static str| {
        [
            "--ops-channel".to_owned(),
            channel.clone(),
            "--ops-interval".into(),
            "200ms".into(),
            "--ops-threshold".into(),
            "failed_logins=10/20s".into(),
            "--ops-clear-after".into(),
            "0s".into(),
            "--ops-instance".into(),
            instance.into(),
        ]
    };
    let (first_args, second_args) = (args("first"), args("second"));
    let first_args: Vec<&str> = first_args.iter().map(String::as_str).collect();
    let second_args: Vec<&str> = second_args.iter().map(String::as_str).collect();
    let first = WatchtowerProcess::serve(Path::new(BINARY), &database.url, &first_args, dir.path())
        .await
        .unwrap();
    let second =
        WatchtowerProcess::serve(Path::new(BINARY), &database.url, &second_args, dir.path())
            .await
            .unwrap();
    // Both instances count the failed logins every instance records: both see the episode.
    eleven_bad_logins(&first.base_url).await;
    let deliveries = wait_for_signal(&receiver, "failed_logins", 2, Duration::from_secs(45)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let deliveries_after = receiver.of("failed_logins");
    assert_eq!(
        types(&deliveries_after),
        ["ops.failed_logins", "ops.failed_logins.resolved"],
        "first:\n{}\nsecond:\n{}",
        first.log_text(),
        second.log_text()
    );
    assert_eq!(deliveries.len(), 2);
    let both = format!("{}{}", first.log_text(), second.log_text());
    assert!(
        both.contains("already opened or ended"),
        "the other instance found the episode claimed:\n{both}"
    );
    first.terminate().unwrap();
    second.terminate().unwrap();
}

#[tokio::test]
async fn backups_failing_for_two_periods_alert_and_a_good_one_recovers() {
    let database = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let (receiver, url) = start_receiver().await;
    let channel = channel_file(dir.path(), &url);
    // The backup folder's path is taken by a file: every backup fails until it is a folder.
    let backups = dir.path().join("backups");
    std::fs::write(&backups, "not a folder").unwrap();
    let args = [
        "--ops-channel",
        &channel,
        "--ops-interval",
        "200ms",
        "--ops-clear-after",
        "0s",
        "--backup-dir",
        backups.to_str().unwrap(),
        "--backup-every",
        "1s",
    ];
    let process = WatchtowerProcess::serve(Path::new(BINARY), &database.url, &args, dir.path())
        .await
        .unwrap();
    let alert = the_alert(&receiver, "backup_stale", Duration::from_secs(20), &process).await;
    let cause = alert.cause();
    assert!(
        cause.contains("no good backup in the") && cause.ends_with("above 2 backup periods"),
        "{cause}"
    );
    assert!(alert.signature_ok);

    std::fs::remove_file(&backups).unwrap();
    std::fs::create_dir(&backups).unwrap();
    let deliveries = wait_for_signal(&receiver, "backup_stale", 2, Duration::from_secs(20)).await;
    assert_eq!(
        types(&deliveries),
        ["ops.backup_stale", "ops.backup_stale.resolved"],
        "{}",
        process.log_text()
    );
    process.terminate().unwrap();
}

#[tokio::test]
async fn an_api_rate_limit_ninety_percent_spent_alerts_and_recovers() {
    let database = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let (receiver, url) = start_receiver().await;
    let channel = channel_file(dir.path(), &url);
    let args = [
        "--ops-channel",
        &channel,
        "--ops-interval",
        "500ms",
        "--ops-clear-after",
        "0s",
        "--rate-limit-per-ip",
        "10",
    ];
    let process = WatchtowerProcess::serve(Path::new(BINARY), &database.url, &args, dir.path())
        .await
        .unwrap();
    let client = reqwest::Client::new();
    // `/api/health` is not limited (monitoring must always reach it); the API's routes are.
    for _ in 0..9 {
        client
            .get(format!("{}/api/auth/me", process.base_url))
            .send()
            .await
            .unwrap();
    }
    let alert = the_alert(
        &receiver,
        "rate_limit_near",
        Duration::from_secs(10),
        &process,
    )
    .await;
    let cause = alert.cause();
    assert!(
        cause.starts_with("API rate limits 90% (the fullest ip bucket of 10 requests"),
        "{cause}"
    );
    // No more requests: the next evaluation sees an idle limiter.
    let deliveries =
        wait_for_signal(&receiver, "rate_limit_near", 2, Duration::from_secs(10)).await;
    assert_eq!(
        types(&deliveries),
        ["ops.rate_limit_near", "ops.rate_limit_near.resolved"]
    );
    process.terminate().unwrap();
}

#[tokio::test]
async fn the_database_disk_filled_past_eighty_percent_alerts_and_recovers() {
    let mounted = match Mounted::tmpfs("8m") {
        Ok(mounted) => mounted,
        Err(reason) if std::env::var_os("WATCHTOWER_REQUIRE_FAULT_TESTS").is_some() => {
            panic!("WATCHTOWER_REQUIRE_FAULT_TESTS is set but the mount failed: {reason}")
        }
        Err(reason) => {
            eprintln!("SKIPPED: cannot mount a tmpfs here ({reason}); run as root to test it");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let (receiver, url) = start_receiver().await;
    let channel = channel_file(dir.path(), &url);
    let database_url = format!("sqlite://{}/watchtower.db", mounted.path().display());
    let args = [
        "--ops-channel",
        &channel,
        "--ops-interval",
        "200ms",
        "--ops-clear-after",
        "0s",
    ];
    let process = WatchtowerProcess::serve(Path::new(BINARY), &database_url, &args, dir.path())
        .await
        .unwrap();
    // 7 MiB of the 8: past 80% with the database's own pages.
    let filler = mounted.path().join("filler");
    std::fs::write(&filler, vec![0u8; 7 << 20]).unwrap();
    let alert = the_alert(
        &receiver,
        "disk_nearly_full",
        Duration::from_secs(10),
        &process,
    )
    .await;
    let cause = alert.cause();
    assert!(
        cause.contains("MiB on the database's file system"),
        "{cause}"
    );
    assert!(cause.ends_with("the alert is above 80%"), "{cause}");
    std::fs::remove_file(&filler).unwrap();
    let deliveries =
        wait_for_signal(&receiver, "disk_nearly_full", 2, Duration::from_secs(10)).await;
    assert_eq!(
        types(&deliveries),
        ["ops.disk_nearly_full", "ops.disk_nearly_full.resolved"]
    );
    process.terminate().unwrap();
    drop(mounted);
}

/// A tmpfs mounted for one test, unmounted on drop (mounting needs root).
struct Mounted {
    dir: tempfile::TempDir,
}

impl Mounted {
    fn tmpfs(size: &str) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| e.to_string())?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).trim().to_owned());
        }
        Ok(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
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
