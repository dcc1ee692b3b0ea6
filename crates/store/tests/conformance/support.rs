//! Fresh databases per test, and builders for specs, outcomes and batches.

use serde_json::json;
use sqlx::Connection;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use watchtower_core::{
    CheckOutcome, ErrorClass, MonitorId, MonitorRuntime, MonitorSpec, MonitorState, StateChange,
    TeamId, Timestamp,
};
use watchtower_store::{ChangeRecord, ResultBatch, ResultRecord, RuntimeRecord, Store};

/// A day boundary, so tests can reason about whole days, hours and minutes.
pub const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;
pub const TEAM: TeamId = TeamId::DEFAULT;

/// Runs `story` on a migrated SQLite store, then on PostgreSQL when `TEST_DATABASE_URL` is set.
pub async fn each_backend<F, Fut>(story: F)
where
    F: Fn(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    each_backend_with_url(|store, _| story(store)).await;
}

/// [`each_backend`] that also hands the story the database's URL, for stories that must change
/// rows behind the store's back (a row the store cannot read).
pub async fn each_backend_with_url<F, Fut>(story: F)
where
    F: Fn(Arc<dyn Store>, String) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let store = sqlite_store(&dir).await;
    let url = format!("sqlite://{}/data/watchtower.db", dir.path().display());
    story(store, url).await.expect("SQLite");
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let db = PgDatabase::create(&url).await;
            let store = watchtower_store::connect(&db.url)
                .await
                .expect("connect to test database");
            store.migrate().await.expect("migrate PostgreSQL");
            let outcome = story(store, db.url.clone()).await;
            db.drop().await;
            outcome.expect("PostgreSQL");
        }
        _ => eprintln!("note: TEST_DATABASE_URL is not set; PostgreSQL variant skipped"),
    }
}

/// A migrated SQLite store in `dir`.
pub async fn sqlite_store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    let url = format!("sqlite://{}/data/watchtower.db", dir.path().display());
    let store = watchtower_store::connect(&url).await.expect("open SQLite");
    store.migrate().await.expect("migrate SQLite");
    store
}

/// A uniquely named database on the test server, dropped (connections and all) by `drop`.
pub struct PgDatabase {
    server: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create(server: &str) -> Self {
        let name = format!("wt_{:016x}", rand::random::<u64>());
        let mut conn = sqlx::PgConnection::connect(server)
            .await
            .expect("connect to TEST_DATABASE_URL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let mut url = url::Url::parse(server).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        Self {
            server: server.to_owned(),
            url: url.to_string(),
            name,
        }
    }

    pub async fn drop(self) {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.server).await {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await;
        }
    }
}

/// An HTTP monitor spec, optionally keyed.
pub fn http_spec(name: &str, key: Option<&str>) -> MonitorSpec {
    let host = name.replace(' ', "-");
    let mut value =
        json!({"name": name, "kind": "http", "url": format!("https://{host}.example.com/")});
    if let Some(key) = key {
        value["key"] = json!(key);
    }
    MonitorSpec::parse(&value, "").expect("valid spec")
}

pub fn push_spec(name: &str, key: Option<&str>, token: Option<&str>) -> MonitorSpec {
    let mut value = json!({"name": name, "kind": "push", "period": "5m", "grace": "1m"});
    if let Some(key) = key {
        value["key"] = json!(key);
    }
    if let Some(token) = token {
        value["token"] = json!(token);
    }
    MonitorSpec::parse(&value, "").expect("valid spec")
}

pub fn up(at: i64, latency_ms: u64) -> CheckOutcome {
    let mut outcome = CheckOutcome::up(Timestamp(at), Duration::from_millis(latency_ms));
    outcome.http_status = Some(200);
    outcome
}

pub fn degraded(at: i64, latency_ms: u64) -> CheckOutcome {
    let mut outcome = up(at, latency_ms);
    outcome.degrade(ErrorClass::ResponseTime, "slow");
    outcome
}

pub fn down(at: i64) -> CheckOutcome {
    CheckOutcome::down(
        Timestamp(at),
        Duration::from_secs(10),
        ErrorClass::Connect,
        "connection refused",
    )
}

pub fn result(monitor: MonitorId, outcome: CheckOutcome) -> ResultRecord {
    ResultRecord {
        team_id: TEAM,
        monitor_id: monitor,
        outcome,
    }
}

/// A batch of results only.
pub fn results_batch(monitor: MonitorId, outcomes: Vec<CheckOutcome>) -> ResultBatch {
    ResultBatch {
        results: outcomes.into_iter().map(|o| result(monitor, o)).collect(),
        ..ResultBatch::default()
    }
}

/// Feeds outcomes through the state machine and returns the batch the scheduler would write.
pub fn observed_batch(
    monitor: MonitorId,
    runtime: &mut MonitorRuntime,
    outcomes: Vec<CheckOutcome>,
) -> ResultBatch {
    let mut batch = ResultBatch::default();
    for outcome in outcomes {
        if let Some(change) = runtime.observe(&outcome, Default::default()) {
            batch.changes.push(ChangeRecord {
                team_id: TEAM,
                monitor_id: monitor,
                change,
                outcome: Some(outcome.clone()),
            });
        }
        batch.results.push(result(monitor, outcome));
    }
    batch.runtimes.push(RuntimeRecord {
        monitor_id: monitor,
        runtime: runtime.clone(),
    });
    batch
}

/// A bare state change record (for pause-like changes without a result).
pub fn change(monitor: MonitorId, change: StateChange) -> ChangeRecord {
    ChangeRecord {
        team_id: TEAM,
        monitor_id: monitor,
        change,
        outcome: None,
    }
}

pub fn is_state(state: MonitorState) -> impl Fn(&watchtower_store::MonitorListing) -> bool {
    move |listing| listing.state == state
}
