//! The `watchtower` process run for real against a local target: the target stops, an incident
//! opens; watchtower restarts, the same incident stays open; the target returns, the incident
//! resolves once. On SQLite always, and on PostgreSQL when `TEST_DATABASE_URL` is set.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a test tells whoever runs it what it skipped or measured"
)]

use std::path::Path;
use std::time::{Duration, Instant};
use watchtower_core::{MonitorState, TeamId};
use watchtower_store::{IncidentQuery, PageRequest, Store};
use watchtower_testkit::{TargetServer, TestDatabase, WatchtowerProcess};

const BINARY: &str = env!("CARGO_BIN_EXE_watchtower");

fn write_config(dir: &Path, target_url: &str) -> std::path::PathBuf {
    let path = dir.join("monitors.yaml");
    let text = format!(
        "monitors:\n  - key: target\n    name: Local target\n    kind: http\n    url: {target_url}\n    \
         interval: 1s\n    timeout: 800ms\n    retries: 1\n    retry_interval: 1s\n    keyword: all good\n"
    );
    std::fs::write(&path, text).expect("config written");
    path
}

/// A fresh PostgreSQL database when `TEST_DATABASE_URL` names a server; otherwise the test is
/// skipped with a note.
async fn postgres_database(test: &str) -> Option<TestDatabase> {
    let Ok(server) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL is not set: skipping the PostgreSQL {test}");
        return None;
    };
    Some(TestDatabase::postgres(&server).await.unwrap())
}

/// Starts `watchtower serve --config CONFIG` on `database` and waits until it is ready.
async fn serve(database: &TestDatabase, config: &Path, dir: &Path) -> WatchtowerProcess {
    let config = config.to_str().unwrap();
    WatchtowerProcess::serve(Path::new(BINARY), &database.url, &["--config", config], dir)
        .await
        .unwrap()
}

/// Polls the database until the only monitor is in `state`, or fails with the process log.
async fn wait_for_state(store: &dyn Store, state: MonitorState, process: &WatchtowerProcess) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let listing = store
            .list_monitors(
                TeamId::DEFAULT,
                &PageRequest {
                    after: None,
                    limit: 10,
                    ..PageRequest::default()
                },
            )
            .await
            .unwrap();
        if listing.first().is_some_and(|l| l.state == state) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "monitor never reached {state}; log:\n{}",
            process.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn outage_opens_and_resolves_one_incident(database: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let target = TargetServer::start(0).await.unwrap();
    let port = target.address.port();
    let config = write_config(dir.path(), &target.url());
    let store = watchtower_store::connect(&database.url).await.unwrap();

    let process = serve(&database, &config, dir.path()).await;
    store.migrate().await.unwrap();
    wait_for_state(store.as_ref(), MonitorState::Up, &process).await;
    let monitor = store
        .list_monitors(TeamId::DEFAULT, &PageRequest::default())
        .await
        .unwrap()[0]
        .monitor
        .id;

    // The target goes away: after a retry, DOWN is confirmed and one incident opens.
    target.stop().await;
    wait_for_state(store.as_ref(), MonitorState::Down, &process).await;
    let incident = store
        .open_incident(TeamId::DEFAULT, monitor)
        .await
        .unwrap()
        .expect("an open incident");
    assert!(
        incident.cause.contains("connect"),
        "cause: {}",
        incident.cause
    );

    // A clean restart while DOWN neither forgets nor re-opens the incident.
    let status = process.terminate().unwrap();
    assert!(status.success(), "serve exited with {status}");
    let process = serve(&database, &config, dir.path()).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let still_open = store
        .open_incident(TeamId::DEFAULT, monitor)
        .await
        .unwrap()
        .expect("still open");
    assert_eq!(still_open.id, incident.id);
    assert_eq!(
        store
            .incidents(TeamId::DEFAULT, &IncidentQuery::latest(Some(monitor), 10))
            .await
            .unwrap()
            .len(),
        1
    );

    // The target returns on the same port: the incident resolves, once.
    let target = TargetServer::start(port).await.unwrap();
    wait_for_state(store.as_ref(), MonitorState::Up, &process).await;
    let incidents = store
        .incidents(TeamId::DEFAULT, &IncidentQuery::latest(Some(monitor), 10))
        .await
        .unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert!(incidents[0].resolved_at.is_some());
    assert!(
        store
            .open_incident(TeamId::DEFAULT, monitor)
            .await
            .unwrap()
            .is_none()
    );

    // Every state change was written as an event, in order.
    let events: Vec<_> = store
        .state_events(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.from, e.to))
        .collect();
    assert_eq!(
        events,
        [
            (MonitorState::Pending, MonitorState::Up),
            (MonitorState::Up, MonitorState::Down),
            (MonitorState::Down, MonitorState::Up),
        ]
    );

    // `watchtower status` reads the same database while serve runs.
    let output = std::process::Command::new(BINARY)
        .args(["status", "--json", "--database", &database.url])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(rows[0]["state"], "UP");
    assert!(rows[0]["uptime_24h"].as_f64().unwrap() < 1.0);

    assert!(process.terminate().unwrap().success());
    target.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_on_sqlite() {
    outage_opens_and_resolves_one_incident(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_on_postgres() {
    let Some(database) = postgres_database("end-to-end test").await else {
        return;
    };
    outage_opens_and_resolves_one_incident(database).await;
}

/// Polls `/api/health` until `accept` holds for its JSON, or fails with the process log.
async fn wait_for_health(
    process: &WatchtowerProcess,
    what: &str,
    accept: impl Fn(u16, &serde_json::Value) -> bool,
) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = client
            .get(format!("{}/api/health", process.base_url))
            .send()
            .await
        {
            let status = response.status().as_u16();
            if let Ok(body) = response.json::<serde_json::Value>().await
                && accept(status, &body)
            {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "never saw {what}; log:\n{}",
            process.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// While PostgreSQL refuses connections, `/healthz` answers 503 and results wait in the buffer;
/// when it returns, every buffered result is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_survive_a_database_outage_on_postgres() {
    let Some(database) = postgres_database("outage test").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let target = TargetServer::start(0).await.unwrap();
    let config = write_config(dir.path(), &target.url());
    let process = serve(&database, &config, dir.path()).await;
    wait_for_health(&process, "a written result", |_, body| {
        body["writer"]["written_results"].as_u64() > Some(0)
    })
    .await;

    database.set_connections_allowed(false).await.unwrap();
    let outage_start = watchtower_core::Timestamp::now();
    let client = reqwest::Client::new();
    let healthz = format!("{}/healthz", process.base_url);
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get(&healthz).send().await.unwrap().status() != 503 {
        assert!(
            Instant::now() < deadline,
            "/healthz never answered 503; log:\n{}",
            process.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for_health(&process, "buffered results", |status, body| {
        status == 503 && body["writer"]["buffered_results"].as_u64() >= Some(3)
    })
    .await;
    let outage_end = watchtower_core::Timestamp::now();

    database.set_connections_allowed(true).await.unwrap();
    wait_for_health(&process, "the buffer drained", |status, body| {
        status == 200
            && body["writer"]["buffered_results"].as_u64() == Some(0)
            && body["writer"]["dropped_results"] == 0
    })
    .await;
    let store = watchtower_store::connect(&database.url).await.unwrap();
    let monitor = store
        .list_monitors(TeamId::DEFAULT, &PageRequest::default())
        .await
        .unwrap()[0]
        .monitor
        .id;
    let during = store
        .results(TeamId::DEFAULT, monitor, outage_start, outage_end, 1000)
        .await
        .unwrap();
    assert!(
        during.len() >= 3,
        "results taken during the outage were written afterwards: {during:?}"
    );
    assert!(process.terminate().unwrap().success());
    target.stop().await;
}

/// A database that turns read-only while serving: `/healthz` says so with 503 and results wait in
/// the buffer until it accepts writes again. Starting on a read-only database is a clear error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_on_postgres() {
    let Some(database) = postgres_database("read-only test").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let target = TargetServer::start(0).await.unwrap();
    let config = write_config(dir.path(), &target.url());
    let config_arg = config.to_str().unwrap();

    database.set_read_only(true).await.unwrap();
    let refused = std::process::Command::new(BINARY)
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database",
            &database.url,
            "--config",
            config_arg,
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("cannot migrate the database") && message.contains("read-only"),
        "{message}"
    );

    database.set_read_only(false).await.unwrap();
    let process = serve(&database, &config, dir.path()).await;
    wait_for_health(&process, "a written result", |_, body| {
        body["writer"]["written_results"].as_u64() > Some(0)
    })
    .await;
    database.set_read_only(true).await.unwrap();
    wait_for_health(&process, "writes refused", |status, body| {
        status == 503
            && body["writer"]["healthy"] == false
            && body["writer"]["buffered_results"].as_u64() >= Some(2)
    })
    .await;
    let healthz = reqwest::get(format!("{}/healthz", process.base_url))
        .await
        .unwrap();
    assert_eq!(healthz.status(), 503);
    assert!(healthz.text().await.unwrap().contains("refuses writes"));

    database.set_read_only(false).await.unwrap();
    wait_for_health(&process, "the buffer drained", |status, body| {
        status == 200 && body["writer"]["buffered_results"].as_u64() == Some(0)
    })
    .await;
    assert!(process.terminate().unwrap().success());
    target.stop().await;
}

/// `WATCHTOWER_ADMIN_EMAIL` / `WATCHTOWER_ADMIN_PASSWORD` create the first administrator on a
/// start with no users; they sign in and see the monitors `--config` applied.
#[tokio::test]
async fn the_first_administrator_comes_from_the_environment() {
    let database = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("monitors.yaml");
    std::fs::write(
        &config,
        "monitors:\n  - {key: beat, name: Nightly, kind: push, period: 1d, grace: 1h}\n",
    )
    .unwrap();
    let env = [
        ("WATCHTOWER_ADMIN_EMAIL", "root@example.com"),
        ("WATCHTOWER_ADMIN_PASSWORD", "a long enough passphrase"),
    ];
    let args = ["--config", config.to_str().unwrap()];
    let process = WatchtowerProcess::serve_with_env(
        Path::new(BINARY),
        &database.url,
        &args,
        &env,
        dir.path(),
    )
    .await
    .unwrap();
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = client
        .post(format!("{}/api/auth/login", process.base_url))
        .json(&serde_json::json!({"email": "root@example.com", "password": "a long enough passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200, "{}", process.log_text());
    let listed: serde_json::Value = client
        .get(format!("{}/api/monitors", process.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["monitors"][0]["name"], "Nightly");
    process.terminate().unwrap();

    // A second start with other values creates nobody: there are users already.
    let env = [
        ("WATCHTOWER_ADMIN_EMAIL", "other@example.com"),
        ("WATCHTOWER_ADMIN_PASSWORD", "another long passphrase"),
    ];
    let process = WatchtowerProcess::serve_with_env(
        Path::new(BINARY),
        &database.url,
        &args,
        &env,
        dir.path(),
    )
    .await
    .unwrap();
    process.terminate().unwrap();
    let store = watchtower_store::connect(&database.url).await.unwrap();
    assert_eq!(store.user_count().await.unwrap(), 1);
}

/// `serve --config` is the operator's file, applied with the instance's authority: its channel
/// and rule changes are audited in the Default team like the API's, naming the file. In
/// multi-tenant mode without `--plans`, the start-up log says new teams start on Free.
#[tokio::test]
async fn the_config_files_changes_are_audited_and_multi_tenant_teams_start_on_free() {
    let database = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("monitors.yaml");
    std::fs::write(
        &config,
        "monitors:\n  - {key: beat, name: Nightly, kind: push, period: 1d, grace: 1h}\n\
         channels:\n  - {name: ops, kind: webhook, url: 'https://hooks.example.test/ops'}\n\
         alert_rules:\n  - {name: beats, monitor: beat, events: [down], channels: [ops]}\n",
    )
    .unwrap();
    let args = ["--config", config.to_str().unwrap(), "--multi-tenant"];
    let process = WatchtowerProcess::serve(Path::new(BINARY), &database.url, &args, dir.path())
        .await
        .unwrap();
    let log = process.log_text();
    process.terminate().unwrap();
    assert!(log.contains("new teams start on the free plan"), "{log}");
    let store = watchtower_store::connect(&database.url).await.unwrap();
    let entries = store.audit_log(TeamId::DEFAULT, None, 50).await.unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["alert_rule.created", "channel.created", "monitors.applied"],
        "{entries:?}"
    );
    let label = format!("serve --config {}", config.display());
    assert!(
        entries.iter().all(|e| e.actor.label == label),
        "{entries:?}"
    );
}

/// A monitors file written by the export (`********` where each secret was) keeps the stored
/// secrets when `serve --config` applies it; where nothing is stored, serve exits 2 naming each
/// field.
#[tokio::test]
async fn a_redacted_file_keeps_the_stored_secrets_or_is_refused() {
    let database = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("monitors.yaml");
    let file = |bearer: &str| {
        format!(
            "monitors:\n  - key: api\n    name: API\n    kind: http\n    url: http://127.0.0.1:9/\n    \
             interval: 1h\n    auth: {{bearer: \"{bearer}\"}}\n"
        )
    };
    std::fs::write(&config, file("********")).unwrap();
    let refused = std::process::Command::new(BINARY)
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database",
            &database.url,
        ])
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let message = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{message}");
    assert!(
        message.contains("monitors[0].auth.bearer") && message.contains("no secret is stored"),
        "{message}"
    );

    std::fs::write(&config, file("bearer-s3cret")).unwrap();
    let process = serve(&database, &config, dir.path()).await;
    assert!(process.terminate().unwrap().success());
    std::fs::write(&config, file("********")).unwrap();
    let process = serve(&database, &config, dir.path()).await;
    assert!(process.terminate().unwrap().success());
    let store = watchtower_store::connect(&database.url).await.unwrap();
    let listed = store
        .list_monitors(
            TeamId::DEFAULT,
            &PageRequest {
                limit: 10,
                ..PageRequest::default()
            },
        )
        .await
        .unwrap();
    let watchtower_core::MonitorKind::Http(http) = &listed[0].monitor.spec.kind else {
        panic!("not http");
    };
    assert_eq!(
        http.auth,
        Some(watchtower_core::monitor::HttpAuth::Bearer(
            "bearer-s3cret".into()
        ))
    );
}

/// Rewrites a monitor's stored spec the way main wrote `$..status` (`$...status`), which the
/// store cannot decode.
async fn break_spec(database_url: &str, id: i64) {
    use sqlx::Connection;
    let rule = serde_json::json!({"path": "$...status", "op": "exists"}).to_string();
    if database_url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(database_url).await.unwrap();
        sqlx::query(
            "UPDATE monitors SET spec = json_set(spec, '$.json_path', json($1)) WHERE id = $2",
        )
        .bind(rule)
        .bind(id)
        .execute(&mut conn)
        .await
        .unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(database_url).await.unwrap();
        sqlx::query(
            "UPDATE monitors SET spec = jsonb_set(spec, '{json_path}', $1::jsonb) WHERE id = $2",
        )
        .bind(rule)
        .bind(id)
        .execute(&mut conn)
        .await
        .unwrap();
    }
}

/// A stored monitor that cannot be read used to stop `serve` at start-up ("cannot load
/// monitors: corrupt row"). Now the instance starts and checks the rest, `/api/health` names
/// the broken monitor, the list shows it with its error, and a PUT repairs it.
async fn a_row_that_cannot_be_read_does_not_stop_the_instance(database: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let store = watchtower_store::connect(&database.url).await.unwrap();
    store.migrate().await.unwrap();
    let spec = |name: &str| {
        watchtower_core::MonitorSpec::parse(
            &serde_json::json!({"name": name, "kind": "http", "url": "http://127.0.0.1:9/",
                                "interval": "1h", "json_path": {"path": "$..status"}}),
            "",
        )
        .unwrap()
    };
    let now = watchtower_core::Timestamp::now();
    store
        .create_monitor(TeamId::DEFAULT, &spec("good"), now)
        .await
        .unwrap();
    let bad = store
        .create_monitor(TeamId::DEFAULT, &spec("bad"), now)
        .await
        .unwrap()
        .id;
    break_spec(&database.url, bad.0).await;

    let env = [
        ("WATCHTOWER_ADMIN_EMAIL", "root@example.com"),
        ("WATCHTOWER_ADMIN_PASSWORD", "a long enough passphrase"),
    ];
    let process =
        WatchtowerProcess::serve_with_env(Path::new(BINARY), &database.url, &[], &env, dir.path())
            .await
            .unwrap();
    wait_for_health(
        &process,
        "the broken monitor in /api/health",
        |status, body| {
            status == 200
                && body["scheduler"]["monitors"] == 1
                && body["scheduler"]["broken_monitors"]
                    == serde_json::json!({"count": 1, "ids": [bad.0]})
        },
    )
    .await;
    assert!(
        process.log_text().contains("cannot be read"),
        "{}",
        process.log_text()
    );

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let me: serde_json::Value = client
        .post(format!("{}/api/auth/login", process.base_url))
        .json(&serde_json::json!({"email": "root@example.com", "password": "a long enough passphrase"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    let listed: serde_json::Value = client
        .get(format!("{}/api/monitors", process.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["monitors"][1]["broken"], true, "{listed}");
    let replaced = client
        .put(format!("{}/api/monitors/{}", process.base_url, bad.0))
        .header("x-csrf-token", &csrf)
        .json(
            &serde_json::json!({"name": "bad", "kind": "http", "url": "http://127.0.0.1:9/",
                                  "interval": "1h", "json_path": {"path": "$..status"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status(), 200, "{}", process.log_text());
    wait_for_health(
        &process,
        "the repaired monitor scheduled",
        |status, body| {
            status == 200
                && body["scheduler"]["monitors"] == 2
                && body["scheduler"]["broken_monitors"]["count"] == 0
        },
    )
    .await;
    assert!(process.terminate().unwrap().success());
}

#[tokio::test]
async fn a_row_that_cannot_be_read_does_not_stop_the_instance_on_sqlite() {
    a_row_that_cannot_be_read_does_not_stop_the_instance(TestDatabase::sqlite()).await;
}

#[tokio::test]
async fn a_row_that_cannot_be_read_does_not_stop_the_instance_on_postgres() {
    let Some(database) = postgres_database("broken-row test").await else {
        return;
    };
    a_row_that_cannot_be_read_does_not_stop_the_instance(database).await;
}

/// With `--log-format json`, a line a request causes inside a handler (here the failed login's
/// security event) carries the request's span: its id, method and route template. The request's
/// own line adds the status and the latency; push tokens, query strings and credentials sent with
/// a request never reach the log.
#[tokio::test]
async fn json_log_lines_carry_the_request_they_belong_to() {
    let database = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let env = [(
        "RUST_LOG",
        "info,watchtower_server::middleware::request_trace=debug",
    )];
    let process = WatchtowerProcess::serve_with_env(
        Path::new(BINARY),
        &database.url,
        &["--log-format", "json"],
        &env,
        dir.path(),
    )
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let login = client
        .post(format!("{}/api/auth/login", process.base_url))
        .header("x-request-id", "e2e-login-1")
        .json(&serde_json::json!({"email": "nobody@example.com", "password": "not this one"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 401, "{}", process.log_text());
    assert_eq!(login.headers()["x-request-id"], "e2e-login-1");
    let ping = client
        .get(format!(
            "{}/api/push/pushsecret0123456789?auth=querysecret",
            process.base_url
        ))
        .header("authorization", "Bearer wtk_headersecret")
        .header("cookie", "session=cookiesecret")
        .send()
        .await
        .unwrap();
    assert_eq!(ping.status(), 404, "{}", process.log_text());
    let ping_id = ping.headers()["x-request-id"].to_str().unwrap().to_owned();

    // The request's own line is written after its answer; wait for it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let lines = loop {
        let lines: Vec<serde_json::Value> = process
            .log_text()
            .lines()
            .map(|line| serde_json::from_str(line).expect("every log line is JSON"))
            .collect();
        let answered = |id: &str| {
            lines.iter().any(|line| {
                line["fields"]["message"] == "request answered"
                    && request_span(line)["request_id"] == id
            })
        };
        if answered("e2e-login-1") && answered(&ping_id) || Instant::now() > deadline {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let log = process.log_text();
    let of_login: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|line| request_span(line)["request_id"] == "e2e-login-1")
        .collect();
    let security_event = of_login
        .iter()
        .find(|line| line["fields"]["message"] == "security event")
        .unwrap_or_else(|| panic!("no security event carries the request id:\n{log}"));
    assert_eq!(security_event["fields"]["kind"], "login_failed");
    assert_eq!(request_span(security_event)["method"], "POST");
    assert_eq!(request_span(security_event)["route"], "/api/auth/login");
    let answered = of_login
        .iter()
        .find(|line| line["fields"]["message"] == "request answered")
        .unwrap_or_else(|| panic!("no line for the answered login:\n{log}"));
    assert_eq!(request_span(answered)["status"], 401);
    assert!(request_span(answered)["latency_ms"].is_u64(), "{answered}");

    let ping_line = lines
        .iter()
        .find(|line| request_span(line)["request_id"] == ping_id.as_str())
        .unwrap_or_else(|| panic!("no line for the push ping:\n{log}"));
    assert_eq!(request_span(ping_line)["route"], "/api/push/{token}");
    assert_eq!(request_span(ping_line)["status"], 404);
    for secret in [
        "pushsecret0123456789",
        "querysecret",
        "headersecret",
        "cookiesecret",
    ] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
    process.terminate().unwrap();
}

/// The `request` span among the spans a JSON log line was written in (`Null` when none).
fn request_span(line: &serde_json::Value) -> &serde_json::Value {
    line["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|span| span["name"] == "request"))
        .unwrap_or(&serde_json::Value::Null)
}
