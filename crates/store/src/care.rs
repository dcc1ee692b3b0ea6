//! Database care: what a backup's manifest counts, the sizes `watchtower db stats` prints and
//! the steps `watchtower db maintain` runs. The SQL is per backend (`sqlite/care.rs`,
//! `postgres/care.rs`); these are the shapes both answer with.

use serde::Serialize;
use std::time::Duration;

/// How many of the main objects a database holds: what a backup's manifest records and a
/// verification compares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ContentCounts {
    pub teams: u64,
    pub users: u64,
    pub monitors: u64,
    pub incidents: u64,
    /// Raw check results (rollups are not counted).
    pub results: u64,
}

/// The migration a database is at, with its counts, read in one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentSummary {
    /// The highest migration applied (0 for a database without WatchTower's schema).
    pub schema_version: i64,
    pub counts: ContentCounts,
}

/// The counts in one statement, for both backends: a consistent set inside any transaction.
pub(crate) const COUNTS_SQL: &str = "SELECT \
     (SELECT COUNT(*) FROM teams), \
     (SELECT COUNT(*) FROM users), \
     (SELECT COUNT(*) FROM monitors), \
     (SELECT COUNT(*) FROM incidents), \
     (SELECT COUNT(*) FROM results)";

/// The highest successful migration.
pub(crate) const SCHEMA_VERSION_SQL: &str =
    "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success";

pub(crate) fn counts_from(row: (i64, i64, i64, i64, i64)) -> ContentCounts {
    let (teams, users, monitors, incidents, results) = row;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    ContentCounts {
        teams: count(teams),
        users: count(users),
        monitors: count(monitors),
        incidents: count(incidents),
        results: count(results),
    }
}

/// What `watchtower db stats` reports.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseStats {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// The whole database on disk (SQLite: pages plus the WAL; PostgreSQL: `pg_database_size`).
    pub total_bytes: u64,
    /// Every table and index, largest first.
    pub objects: Vec<ObjectSize>,
    /// Rows in `results`.
    pub results: u64,
    /// Bytes of `results` and its indexes per row (`None` without results).
    pub bytes_per_result: Option<f64>,
    /// SQLite: the write-ahead log's size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wal_bytes: Option<u64>,
    /// SQLite: pages on the free list (reclaimed by VACUUM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free_bytes: Option<u64>,
    /// PostgreSQL: sessions on this database by state, and the server's limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<ConnectionStats>,
    /// PostgreSQL: statements running for over five minutes (the operations guide's check).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long_running: Option<Vec<LongQuery>>,
}

/// One table or index.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectSize {
    pub name: String,
    /// `table` or `index`.
    pub kind: &'static str,
    /// The table an index belongs to (a table names itself).
    pub table: String,
    pub bytes: u64,
    /// Rows, for tables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// PostgreSQL sessions.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionStats {
    /// `(state, sessions)` on this database (`active`, `idle`, `idle in transaction`, ...).
    pub by_state: Vec<(String, u64)>,
    pub total: u64,
    /// The server's `max_connections`.
    pub max: u64,
}

/// A statement running for long.
#[derive(Debug, Clone, Serialize)]
pub struct LongQuery {
    pub pid: i64,
    pub state: String,
    pub running_seconds: f64,
    /// The first 200 characters of the statement.
    pub query: String,
}

/// One step `watchtower db maintain` ran or left out.
#[derive(Debug, Clone, Serialize)]
pub struct MaintenanceStep {
    /// The statement, e.g. `ANALYZE` or `PRAGMA optimize`.
    pub statement: String,
    /// How long it took; `None` when skipped.
    #[serde(serialize_with = "seconds")]
    pub took: Option<Duration>,
    /// Why it was skipped, or what it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What maintenance did.
#[derive(Debug, Clone, Serialize)]
pub struct MaintenanceReport {
    pub steps: Vec<MaintenanceStep>,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

fn seconds<S: serde::Serializer>(
    took: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match took {
        Some(took) => serializer.serialize_some(&took.as_secs_f64()),
        None => serializer.serialize_none(),
    }
}

/// The object list sorted largest first, with the bytes per result computed from `results` and
/// its indexes.
pub(crate) fn finish_objects(mut objects: Vec<ObjectSize>) -> (Vec<ObjectSize>, u64, Option<f64>) {
    objects.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
    let results = objects
        .iter()
        .find(|object| object.kind == "table" && object.name == "results")
        .and_then(|object| object.rows)
        .unwrap_or(0);
    let results_bytes: u64 = objects
        .iter()
        .filter(|object| object.table == "results")
        .map(|object| object.bytes)
        .sum();
    let per_result = (results > 0).then(|| results_bytes as f64 / results as f64);
    (objects, results, per_result)
}
