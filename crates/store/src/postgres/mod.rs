//! The PostgreSQL store: a pool of connections, each `apply_monitors` and `record_batch` one
//! transaction, array parameters (UNNEST) for the bulk writes.

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
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::time::{Duration, Instant};
use watchtower_core::{
    Incident, IncidentId, Monitor, MonitorId, MonitorSpec, Plan, TeamId, Timestamp,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

const CONNECTIONS: u32 = 10;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The PostgreSQL implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database a `postgres://` URL names, failing fast with the cause when the
    /// server cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::InvalidUrl(format!("PostgreSQL URL: {e}")))?;
        let (host, port) = (options.get_host().to_owned(), options.get_port());
        // One direct attempt first: the pool retries until its timeout and reports only that,
        // while a single connection says why (refused, unknown database, bad password).
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .unwrap_or(Err(sqlx::Error::PoolTimedOut))
            .map_err(|e| unreachable(&host, port, e))?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| unreachable(&host, port, e))?;
        Ok(Self { pool })
    }
}

fn unreachable(host: &str, port: u16, error: sqlx::Error) -> StoreError {
    let cause = match &error {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".to_owned()
        }
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::PoolTimedOut => "timed out".to_owned(),
        sqlx::Error::Database(db) => {
            return StoreError::Unavailable(format!(
                "PostgreSQL at {host}:{port} refused the connection: {}",
                db.message()
            ));
        }
        other => other.to_string(),
    };
    StoreError::Unavailable(format!("cannot reach PostgreSQL at {host}:{port}: {cause}"))
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    #[tracing::instrument(name = "store.migrate", level = "debug", skip_all)]
    async fn migrate(&self) -> Result<(), StoreError> {
        // The migrator takes an advisory lock, so processes starting together apply in turn.
        // `run_direct` is `run` without the acquire, which trips "Acquire is not general enough"
        // in a Send future.
        let mut conn = self.pool.acquire().await?;
        MIGRATOR.run_direct(None, &mut *conn, false).await?;
        Ok(())
    }

    #[tracing::instrument(name = "store.ping", level = "debug", skip_all)]
    async fn ping(&self) -> Result<Duration, StoreError> {
        let started = Instant::now();
        sqlx::query("SELECT 1").execute(&self.pool).await?;
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
        let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(&self.pool)
            .await?;
        Ok(bytes as u64)
    }
}
