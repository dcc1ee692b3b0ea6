//! The embedded SQLite store: a WAL database file with one write connection (so writers queue in
//! the process instead of failing with "database is locked") and a small pool of readers.

mod accounts;
mod alerting;
mod history;
mod incidents;
mod monitors;
mod results;

use crate::error::StoreError;
use crate::model::*;
use crate::{Backend, Store};
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use watchtower_core::{
    Incident, IncidentId, Monitor, MonitorId, MonitorSpec, Plan, TeamId, Timestamp,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a connection waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const READERS: u32 = 4;

/// Opens a pool, retrying while the file is locked: two processes opening a new file at once
/// both switch it to WAL, which needs a lock the busy timeout does not wait for, so the loser
/// gets "database is locked" at once. Bounded to about five seconds.
async fn connect_retrying(
    pool: SqlitePoolOptions,
    options: SqliteConnectOptions,
) -> Result<SqlitePool, sqlx::Error> {
    let mut attempts = 0;
    loop {
        match pool.clone().connect_with(options.clone()).await {
            Err(error) if attempts < 50 && is_locked(&error) => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            opened => return opened,
        }
    }
}

/// Whether SQLite answered SQLITE_BUSY ("database is locked").
fn is_locked(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(sqlx::error::DatabaseError::code)
        .is_some_and(|code| code == "5")
}

/// The SQLite implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    path: PathBuf,
    /// Exactly one connection: every write in the process goes through it, in turn.
    write: SqlitePool,
    read: SqlitePool,
}

impl SqliteStore {
    /// Opens (and creates, with its directory, if missing) the database file at `path`.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let unavailable = |e: sqlx::Error| {
            StoreError::Unavailable(format!("cannot open SQLite at {}: {e}", path.display()))
        };
        let write = connect_retrying(
            SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(60)),
            options.clone(),
        )
        .await
        .map_err(unavailable)?;
        let read = connect_retrying(
            SqlitePoolOptions::new().max_connections(READERS),
            options.create_if_missing(false),
        )
        .await
        .map_err(unavailable)?;
        Ok(Self { path, write, read })
    }

    /// Bytes the pages of one table or index take, free space in its pages included (from
    /// SQLite's `dbstat`). For measuring how compact the schema is.
    pub async fn table_bytes(&self, name: &str) -> Result<u64, StoreError> {
        let bytes: Option<i64> =
            sqlx::query_scalar("SELECT SUM(pgsize) FROM dbstat WHERE name = ?")
                .bind(name)
                .fetch_one(&self.read)
                .await?;
        Ok(bytes.unwrap_or(0) as u64)
    }

    /// A write transaction that takes the file's write lock at once, so it never has to upgrade
    /// a read snapshot later (the upgrade is what fails with "database is locked").
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        match self.write.begin_with("BEGIN IMMEDIATE").await {
            // SQLite rolls a transaction back by itself on some errors (a full disk, an I/O
            // error); sqlx's own ROLLBACK then fails and it goes on counting the transaction as
            // open, so every later BEGIN on that connection is refused and no write would ever
            // succeed again. Replace the connection.
            Err(sqlx::Error::InvalidSavePointStatement) => {
                tracing::warn!(
                    "the SQLite write connection was left in a failed transaction; reopening it"
                );
                self.write.acquire().await?.close().await?;
                Ok(self.write.begin_with("BEGIN IMMEDIATE").await?)
            }
            begun => Ok(begun?),
        }
    }
}

/// `prefix` followed by `rows` groups of `columns` placeholders, then `suffix`.
pub(crate) fn multi_row_sql(prefix: &str, columns: usize, rows: usize, suffix: &str) -> String {
    let group = format!("({})", vec!["?"; columns].join(","));
    format!("{prefix} VALUES {} {suffix}", vec![group; rows].join(","))
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    #[tracing::instrument(name = "store.migrate", level = "debug", skip_all)]
    async fn migrate(&self) -> Result<(), StoreError> {
        // SQLite has no advisory lock: holding the write lock for the whole run makes a second
        // process wait, then find every migration applied.
        let mut tx = self.begin_write().await?;
        // `run_direct` is sqlx's documented way around "Acquire is not general enough" in a Send
        // future; it is `run` without the acquire.
        MIGRATOR.run_direct(None, &mut *tx, false).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(name = "store.ping", level = "debug", skip_all)]
    async fn ping(&self) -> Result<Duration, StoreError> {
        let started = Instant::now();
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(started.elapsed())
    }

    #[tracing::instrument(name = "store.create_monitor", level = "debug", skip_all)]
    async fn create_monitor(
        &self,
        team: TeamId,
        spec: &MonitorSpec,
        now: Timestamp,
    ) -> Result<Monitor, StoreError> {
        monitors::create(self, team, spec, now).await
    }

    #[tracing::instrument(name = "store.update_monitor", level = "debug", skip_all)]
    async fn update_monitor(
        &self,
        team: TeamId,
        id: MonitorId,
        spec: &MonitorSpec,
        now: Timestamp,
    ) -> Result<Monitor, StoreError> {
        monitors::update(self, team, id, spec, now).await
    }

    #[tracing::instrument(name = "store.delete_monitor", level = "debug", skip_all)]
    async fn delete_monitor(&self, team: TeamId, id: MonitorId) -> Result<(), StoreError> {
        monitors::delete(self, team, id).await
    }

    #[tracing::instrument(name = "store.count_monitors", level = "debug", skip_all)]
    async fn count_monitors(&self, team: TeamId) -> Result<u64, StoreError> {
        monitors::count_monitors(self, team).await
    }

    #[tracing::instrument(name = "store.get_monitor", level = "debug", skip_all)]
    async fn get_monitor(
        &self,
        team: TeamId,
        id: MonitorId,
    ) -> Result<Option<Monitor>, StoreError> {
        monitors::get(self, team, id).await
    }

    #[tracing::instrument(name = "store.list_monitor_entries", level = "debug", skip_all)]
    async fn list_monitor_entries(
        &self,
        team: TeamId,
        page: &PageRequest,
    ) -> Result<Vec<Result<MonitorListing, Box<BrokenMonitor>>>, StoreError> {
        monitors::list(self, team, page).await
    }

    #[tracing::instrument(name = "store.apply_monitors", level = "debug", skip_all)]
    async fn apply_monitors(
        &self,
        team: TeamId,
        specs: &[MonitorSpec],
        prune: bool,
        now: Timestamp,
    ) -> Result<ApplyReport, StoreError> {
        monitors::apply(self, team, specs, prune, now).await
    }

    #[tracing::instrument(name = "store.load_scheduled", level = "debug", skip_all)]
    async fn load_scheduled(&self) -> Result<ScheduledLoad, StoreError> {
        monitors::load_scheduled(self).await
    }

    #[tracing::instrument(name = "store.find_push_monitor", level = "debug", skip_all)]
    async fn find_push_monitor(
        &self,
        token: &str,
    ) -> Result<Option<(TeamId, MonitorId)>, StoreError> {
        monitors::find_push(self, token).await
    }

    #[tracing::instrument(name = "store.record_batch", level = "debug", skip_all)]
    async fn record_batch(&self, batch: &ResultBatch) -> Result<(), StoreError> {
        results::record_batch(self, batch).await
    }

    #[tracing::instrument(name = "store.results", level = "debug", skip_all)]
    async fn results(
        &self,
        team: TeamId,
        monitor: MonitorId,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<StoredResult>, StoreError> {
        results::results(self, team, monitor, from, to, limit).await
    }

    #[tracing::instrument(name = "store.open_incident", level = "debug", skip_all)]
    async fn open_incident(
        &self,
        team: TeamId,
        monitor: MonitorId,
    ) -> Result<Option<Incident>, StoreError> {
        results::open_incident(self, team, monitor).await
    }

    #[tracing::instrument(name = "store.incidents", level = "debug", skip_all)]
    async fn incidents(
        &self,
        team: TeamId,
        query: &IncidentQuery,
    ) -> Result<Vec<Incident>, StoreError> {
        incidents::list(self, team, query).await
    }

    #[tracing::instrument(name = "store.get_incident", level = "debug", skip_all)]
    async fn get_incident(
        &self,
        team: TeamId,
        id: IncidentId,
    ) -> Result<Option<Incident>, StoreError> {
        incidents::get(self, team, id).await
    }

    #[tracing::instrument(name = "store.acknowledge_incident", level = "debug", skip_all)]
    async fn acknowledge_incident(
        &self,
        team: TeamId,
        id: IncidentId,
        by: &str,
        at: Timestamp,
    ) -> Result<Incident, StoreError> {
        incidents::acknowledge(self, team, id, by, at).await
    }

    #[tracing::instrument(name = "store.add_incident_note", level = "debug", skip_all)]
    async fn add_incident_note(
        &self,
        team: TeamId,
        id: IncidentId,
        author: &str,
        body: &str,
        at: Timestamp,
    ) -> Result<IncidentNote, StoreError> {
        incidents::add_note(self, team, id, author, body, at).await
    }

    #[tracing::instrument(name = "store.incident_notes", level = "debug", skip_all)]
    async fn incident_notes(
        &self,
        team: TeamId,
        id: IncidentId,
    ) -> Result<Vec<IncidentNote>, StoreError> {
        incidents::notes(self, team, id).await
    }

    #[tracing::instrument(name = "store.state_events", level = "debug", skip_all)]
    async fn state_events(&self, after: i64, limit: u32) -> Result<Vec<StateEvent>, StoreError> {
        results::state_events(self, after, limit).await
    }

    #[tracing::instrument(name = "store.roll_up", level = "debug", skip_all)]
    async fn roll_up(&self, now: Timestamp) -> Result<RollupReport, StoreError> {
        history::roll_up(self, now).await
    }

    #[tracing::instrument(name = "store.prune", level = "debug", skip_all)]
    async fn prune(
        &self,
        now: Timestamp,
        retention: &Retention,
    ) -> Result<PruneReport, StoreError> {
        history::prune(self, now, retention).await
    }

    #[tracing::instrument(name = "store.prune_plan", level = "debug", skip_all)]
    async fn prune_plan(
        &self,
        now: Timestamp,
        plan: Plan,
        keep: Duration,
    ) -> Result<PruneReport, StoreError> {
        history::prune_plan(self, now, plan, keep).await
    }

    #[tracing::instrument(name = "store.uptime", level = "debug", skip_all)]
    async fn uptime(
        &self,
        team: TeamId,
        monitor: MonitorId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<UptimeSummary, StoreError> {
        history::uptime(self, team, monitor, from, to).await
    }

    #[tracing::instrument(name = "store.uptime_many", level = "debug", skip_all)]
    async fn uptime_many(
        &self,
        team: TeamId,
        monitors: &[MonitorId],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<std::collections::HashMap<MonitorId, UptimeSummary>, StoreError> {
        history::uptime_many(self, team, monitors, from, to).await
    }

    #[tracing::instrument(name = "store.size_bytes", level = "debug", skip_all)]
    async fn size_bytes(&self) -> Result<u64, StoreError> {
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&self.read)
            .await?;
        let page_size: i64 = sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(&self.read)
            .await?;
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        let wal_bytes = std::fs::metadata(&wal).map_or(0, |meta| meta.len());
        Ok((pages * page_size) as u64 + wal_bytes)
    }
}
