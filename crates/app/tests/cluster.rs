//! Several `watchtower serve --cluster` processes on one PostgreSQL (issue 15): they share the
//! monitors without checking any twice, pass API changes to the instance that checks the monitor,
//! take over the shards of an instance killed with SIGKILL, stopped with SIGTERM or paused with
//! SIGSTOP for longer than a lease, give a share to an instance that joins, and through all of it
//! open one incident per outage and send one notification per event. Runs when `TEST_DATABASE_URL` is set.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a test tells whoever runs it what it skipped or measured"
)]

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use watchtower_testkit::{TestDatabase, WatchtowerProcess};

const BINARY: &str = env!("CARGO_BIN_EXE_watchtower");
const EMAIL: &str = "root@example.com";
const PASSWORD: &str = "a long enough passphrase";
const MONITORS: usize = 40;
const INTERVAL: Duration = Duration::from_secs(2);

/// The checked targets: `/m/{n}` answers 200, or 503 while `down`, and records when each monitor
/// was checked.
#[derive(Clone)]
struct Farm {
    started: Instant,
    down: Arc<AtomicBool>,
    checks: Arc<Mutex<Vec<(String, Duration)>>>,
}

async fn target(State(farm): State<Farm>, UrlPath(name): UrlPath<String>) -> StatusCode {
    farm.checks
        .lock()
        .unwrap()
        .push((name, farm.started.elapsed()));
    if farm.down.load(Ordering::SeqCst) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

impl Farm {
    async fn start() -> (Self, String) {
        let farm = Farm {
            started: Instant::now(),
            down: Arc::default(),
            checks: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/m/{name}", axum::routing::get(target))
            .with_state(farm.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (farm, base)
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// When each monitor was checked, by name.
    fn times(&self) -> BTreeMap<String, Vec<Duration>> {
        let mut times: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
        for (name, at) in self.checks.lock().unwrap().iter() {
            times.entry(name.clone()).or_default().push(*at);
        }
        times
    }

    fn count(&self, name: &str) -> usize {
        let checks = self.checks.lock().unwrap();
        checks.iter().filter(|(checked, _)| checked == name).count()
    }

    /// Every pair of checks of one monitor closer than `apart`: two instances checking it.
    fn doubled_checks(&self, apart: Duration) -> Vec<(String, Duration, Duration)> {
        let mut doubled = Vec::new();
        for (name, times) in self.times() {
            for pair in times.windows(2) {
                if pair[1] - pair[0] < apart {
                    doubled.push((name.clone(), pair[0], pair[1]));
                }
            }
        }
        doubled
    }

    /// The longest wait between two checks of `name` around `at` (the first check after `at`
    /// minus the last one before it); `None` if it was not checked after `at`.
    fn gap_over(&self, name: &str, at: Duration) -> Option<Duration> {
        let times = self.times().remove(name).unwrap_or_default();
        let before = times.iter().rev().find(|t| **t <= at)?;
        let after = times.iter().find(|t| **t > at)?;
        Some(*after - *before)
    }
}

/// Records each notification: its type, monitor and `webhook-id`.
#[derive(Clone, Default)]
struct Hook {
    received: Arc<Mutex<Vec<(String, i64, String)>>>,
}

async fn hook(State(hook): State<Hook>, headers: HeaderMap, body: String) -> StatusCode {
    let body: Value = serde_json::from_str(&body).unwrap_or_default();
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    hook.received.lock().unwrap().push((
        body["type"].as_str().unwrap_or_default().to_owned(),
        body["data"]["monitor_id"].as_i64().unwrap_or_default(),
        id.to_owned(),
    ));
    StatusCode::NO_CONTENT
}

async fn start_hook() -> (Hook, String) {
    let hook_state = Hook::default();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(hook_state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (hook_state, url)
}

async fn serve(database: &TestDatabase, dir: &Path) -> WatchtowerProcess {
    let env = [
        ("WATCHTOWER_ADMIN_EMAIL", EMAIL),
        ("WATCHTOWER_ADMIN_PASSWORD", PASSWORD),
    ];
    WatchtowerProcess::serve_with_env(Path::new(BINARY), &database.url, &["--cluster"], &env, dir)
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

async fn delete_monitor(base: &str, monitor: &Value) -> StatusCode {
    let (client, csrf) = sign_in(base).await;
    let response = client
        .delete(format!("{base}/api/monitors/{}", monitor["id"]))
        .header("x-csrf-token", csrf)
        .send()
        .await
        .unwrap();
    StatusCode::from_u16(response.status().as_u16()).unwrap()
}

/// Shards held now, by instance.
async fn holders(pool: &sqlx::PgPool) -> BTreeMap<String, i64> {
    sqlx::query_as::<_, (String, i64)>(
        "SELECT owner, count(*) FROM shard_leases \
         WHERE owner IS NOT NULL AND expires_at > cluster_clock_ms() GROUP BY owner",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

/// Waits (bounded) until `instances` instances hold every shard, none fewer than `at_least`.
async fn wait_for_balance(pool: &sqlx::PgPool, instances: usize, at_least: i64) -> Duration {
    let started = Instant::now();
    let mut held = BTreeMap::new();
    while started.elapsed() < Duration::from_secs(30) {
        held = holders(pool).await;
        if held.len() == instances
            && held.values().sum::<i64>() == 256
            && held.values().all(|count| *count >= at_least)
        {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the shards never spread over {instances} instances: {held:?}");
}

async fn count_states(pool: &sqlx::PgPool, state: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM monitor_status WHERE state = $1")
        .bind(state)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn wait_for_state(pool: &sqlx::PgPool, state: &str, logs: &[&WatchtowerProcess]) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if count_states(pool, state).await == MONITORS as i64 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let logs: Vec<String> = logs.iter().map(|p| p.log_text()).collect();
    panic!(
        "not every monitor became {state}: {} did\n{}",
        count_states(pool, state).await,
        logs.join("\n-----\n")
    );
}

/// Each monitor had `outages` incidents, each resolved, and the hook got one `monitor.down` and
/// one `monitor.up` per monitor and outage, each notification once.
async fn assert_each_outage_told_once(pool: &sqlx::PgPool, hook: &Hook, outages: usize) {
    let incidents: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT monitor_id, count(*), count(resolved_at) FROM incidents GROUP BY monitor_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(incidents.len(), MONITORS, "{incidents:?}");
    for (monitor, opened, resolved) in &incidents {
        assert_eq!(
            (*opened, *resolved),
            (outages as i64, outages as i64),
            "monitor {monitor}"
        );
    }
    let started = Instant::now();
    while hook.received.lock().unwrap().len() < 2 * MONITORS * outages
        && started.elapsed() < Duration::from_secs(20)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A duplicate, if there were one, has time to arrive before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let received = hook.received.lock().unwrap().clone();
    let ids: HashSet<&String> = received.iter().map(|(_, _, id)| id).collect();
    assert_eq!(ids.len(), received.len(), "a notification came twice");
    for kind in ["monitor.down", "monitor.up"] {
        let mut per_monitor: BTreeMap<i64, usize> = BTreeMap::new();
        for (_, monitor, _) in received.iter().filter(|(k, _, _)| k == kind) {
            *per_monitor.entry(*monitor).or_default() += 1;
        }
        assert_eq!(per_monitor.len(), MONITORS, "{kind}: {per_monitor:?}");
        assert!(
            per_monitor.values().all(|count| *count == outages),
            "{kind}, {outages} outages: {per_monitor:?}"
        );
    }
}

fn signal(process: &WatchtowerProcess, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &process.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal}");
}

#[tokio::test]
async fn three_instances_share_the_monitors_and_survive_kill_and_stop() {
    let Ok(server) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL is not set: skipping the cluster test");
        return;
    };
    let database = TestDatabase::postgres(&server).await.unwrap();
    let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (farm, farm_base) = Farm::start().await;
    let (hook, hook_url) = start_hook().await;

    let a = serve(&database, dir.path()).await;
    let (client, csrf) = sign_in(&a.base_url).await;
    let channel = post(
        &client,
        &csrf,
        format!("{}/api/channels", a.base_url),
        json!({"name": "hook", "kind": "webhook", "url": hook_url}),
    )
    .await;
    post(
        &client,
        &csrf,
        format!("{}/api/alert-rules", a.base_url),
        json!({"name": "all", "events": ["down", "up"], "channel_ids": [channel["id"]]}),
    )
    .await;
    for n in 0..MONITORS {
        post(
            &client,
            &csrf,
            format!("{}/api/monitors", a.base_url),
            json!({"name": format!("m{n}"), "kind": "http", "url": format!("{farm_base}/m/{n}"),
                   "interval": "2s", "timeout": "1s"}),
        )
        .await;
    }
    let b = serve(&database, dir.path()).await;
    let c = serve(&database, dir.path()).await;
    let balanced_in = wait_for_balance(&pool, 3, 80).await;
    println!("three instances hold 80+ shards each {balanced_in:?} after the third started");

    // Steady: every monitor checked at its interval, none by two instances.
    let steady_from = farm.now();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let times = farm.times();
    for n in 0..MONITORS {
        let checks = times
            .get(&n.to_string())
            .map_or(0, |t| t.iter().filter(|at| **at > steady_from).count());
        assert!(checks >= 2, "m{n} was checked {checks} times in 6 s");
    }

    // An API change on any instance reaches the one that checks the monitor.
    let (c_client, c_csrf) = sign_in(&c.base_url).await;
    let late = post(
        &c_client,
        &c_csrf,
        format!("{}/api/monitors", c.base_url),
        json!({"name": "late", "kind": "http", "url": format!("{farm_base}/m/late"),
               "interval": "1h"}),
    )
    .await;
    let mut relayed = 0;
    for instance in [&a, &b, &c] {
        let (client, csrf) = sign_in(&instance.base_url).await;
        let before = farm.count("late");
        let asked = Instant::now();
        post(
            &client,
            &csrf,
            format!("{}/api/monitors/{}/check", instance.base_url, late["id"]),
            json!({}),
        )
        .await;
        while farm.count("late") == before && asked.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            farm.count("late") > before,
            "'check now' on {} did not reach the owner",
            instance.base_url
        );
        println!(
            "check now through {}: {:?}",
            instance.base_url,
            asked.elapsed()
        );
        relayed += 1;
    }
    assert_eq!(relayed, 3);
    // Deleted through another instance: gone from the one that checks it.
    let deleted = delete_monitor(&b.base_url, &late).await;
    assert!(deleted.is_success(), "{deleted}");

    // kill -9: the survivors take its shards once its leases run out.
    let killed_at = farm.now();
    c.kill().unwrap();
    let deadline = Instant::now() + Duration::from_secs(35);
    for n in 0..MONITORS {
        let name = n.to_string();
        while farm.gap_over(&name, killed_at).is_none() {
            assert!(
                Instant::now() < deadline,
                "m{n} not checked since the kill\n{}\n-----\n{}",
                a.log_text(),
                b.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Give every monitor of the killed instance time to be checked again before measuring.
    tokio::time::sleep(Duration::from_secs(20).saturating_sub(farm.now() - killed_at)).await;
    let longest_after_kill = (0..MONITORS)
        .filter_map(|n| farm.gap_over(&n.to_string(), killed_at))
        .max()
        .unwrap();
    println!(
        "kill -9: the longest wait between two checks of a monitor was {longest_after_kill:?}"
    );
    assert!(
        longest_after_kill < Duration::from_secs(30),
        "{longest_after_kill:?}"
    );
    wait_for_balance(&pool, 2, 120).await;

    // An outage of every monitor, while an instance stops and another joins.
    farm.down.store(true, Ordering::SeqCst);
    wait_for_state(&pool, "DOWN", &[&a, &b]).await;
    let stopped_at = farm.now();
    let status = b.terminate_within(Duration::from_secs(20)).unwrap();
    assert!(status.success(), "{status}");
    let stop_took = farm.now() - stopped_at;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let longest_after_stop = (0..MONITORS)
        .map(|n| {
            farm.gap_over(&n.to_string(), stopped_at)
                .unwrap_or_else(|| panic!("m{n} not checked after the SIGTERM"))
        })
        .max()
        .unwrap();
    println!(
        "SIGTERM (exit after {stop_took:?}): the longest wait between two checks of a monitor was {longest_after_stop:?}"
    );
    // Its interval, the handover (release, the next tick of the other, its 1 s catch-up), and
    // the exit's own time.
    assert!(
        longest_after_stop < INTERVAL + Duration::from_secs(3) + stop_took,
        "{longest_after_stop:?}\n{}",
        a.log_text()
    );
    let d = serve(&database, dir.path()).await;
    let joined_in = wait_for_balance(&pool, 2, 120).await;
    println!("a new instance took its share {joined_in:?} after it started");
    farm.down.store(false, Ordering::SeqCst);
    wait_for_state(&pool, "UP", &[&a, &d]).await;

    assert_each_outage_told_once(&pool, &hook, 1).await;

    // SIGSTOP for longer than a lease, during a second outage: the survivor takes the stopped
    // instance's shards and sees the outage end; the stopped one, resumed, must neither check
    // nor write for them (its beliefs ran out, its epochs are stale) and takes a share again.
    farm.down.store(true, Ordering::SeqCst);
    wait_for_state(&pool, "DOWN", &[&a, &d]).await;
    let paused_at = farm.now();
    signal(&d, "-STOP");
    tokio::time::sleep(Duration::from_secs(5)).await;
    farm.down.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(15)).await;
    signal(&d, "-CONT");
    let longest_over_pause = (0..MONITORS)
        .map(|n| {
            farm.gap_over(&n.to_string(), paused_at)
                .unwrap_or_else(|| panic!("m{n} not checked after the SIGSTOP"))
        })
        .max()
        .unwrap();
    println!(
        "SIGSTOP for 20 s: the longest wait between two checks of a monitor was {longest_over_pause:?}"
    );
    assert!(longest_over_pause < Duration::from_secs(30));
    wait_for_state(&pool, "UP", &[&a, &d]).await;
    let rejoined_in = wait_for_balance(&pool, 2, 120).await;
    println!("the resumed instance held a share again {rejoined_in:?} after SIGCONT");
    assert_each_outage_told_once(&pool, &hook, 2).await;

    // Never two instances checking one monitor.
    // ("late" was checked on demand three times in a row.)
    let doubled: Vec<_> = farm
        .doubled_checks(Duration::from_millis(500))
        .into_iter()
        .filter(|(name, _, _)| name != "late")
        .collect();
    assert!(
        doubled.is_empty(),
        "checked twice within 500 ms: {doubled:?}"
    );
    for instance in [a, d] {
        let status = instance.terminate_within(Duration::from_secs(20)).unwrap();
        assert!(status.success());
    }
    assert!(
        holders(&pool).await.is_empty(),
        "leases left after every instance stopped"
    );
}
