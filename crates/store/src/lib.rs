//! Storage: the `Store` trait every other crate writes and reads through, with an embedded SQLite
//! implementation (the default) and a PostgreSQL one, migrations per backend, and the history
//! rollups and retention that keep the result tables small.

mod account_rows;
pub mod accounts;
pub mod alerting;
mod alerting_rows;
mod apply;
mod batch;
pub mod billing;
pub mod care;
pub mod error;
mod history;
pub mod instance;
mod json;
pub mod leases;
pub mod model;
pub mod ops;
mod outbox;
pub mod postgres;
mod rows;
pub mod sqlite;
pub mod status_incidents;
pub mod status_pages;
pub mod status_subscribers;

pub use accounts::*;
pub use alerting::*;
pub use billing::*;
pub use care::{ContentCounts, ContentSummary, DatabaseStats, MaintenanceReport, MaintenanceStep};
pub use error::{Conflict, StoreError};
pub use instance::{InstanceFigures, InstanceStore, KindDeliveries, PoolUse};
pub use leases::{ClusterMessages, ClusterStore, WriteFence};
pub use model::*;
pub use ops::{DatabaseProcess, OpenOpsEpisode, OpsStore};
pub use postgres::{ExportedSnapshot, PgStore, ScratchDatabase};
pub use sqlite::SqliteStore;
pub use status_incidents::{
    PagePosts, PostReaders, StatusIncident, StatusIncidentStore, StatusUpdate,
};
pub use status_pages::{IncidentOpening, PublicPageKey, StatusPage, StatusPageStore};
pub use status_subscribers::{
    DeliveryNews, DueStatusDelivery, MaintenanceNotice, PageSubscriptions, PostNews, SignUpOutcome,
    StatusDeliveryOutcome, StatusSubscriber, StatusSubscriberStore,
};

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use watchtower_core::{
    Incident, IncidentId, Monitor, MonitorId, MonitorSpec, Plan, TeamId, Timestamp,
};

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Everything WatchTower persists. Handlers, the scheduler and the CLI reach SQL only through this.
/// Every read and write of a team's data takes the `TeamId`, so another team's rows are invisible.
#[async_trait]
pub trait Store:
    AccountStore
    + AlertStore
    + BillingStore
    + StatusPageStore
    + StatusIncidentStore
    + StatusSubscriberStore
    + OpsStore
    + InstanceStore
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> Backend;

    /// The SQLite database's file; `None` for PostgreSQL, whose files are on the server.
    fn database_file(&self) -> Option<std::path::PathBuf>;

    /// Applies pending migrations. Safe to call on every start and from several processes.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// A round trip to the database; returns how long it took.
    async fn ping(&self) -> Result<Duration, StoreError>;

    // ---- monitors ----

    /// Creates a monitor. A push monitor without a token gets a random one.
    async fn create_monitor(
        &self,
        team: TeamId,
        spec: &MonitorSpec,
        now: Timestamp,
    ) -> Result<Monitor, StoreError>;

    /// Replaces a monitor's spec, a broken one's too. `NotFound` when it does not exist in `team`.
    async fn update_monitor(
        &self,
        team: TeamId,
        id: MonitorId,
        spec: &MonitorSpec,
        now: Timestamp,
    ) -> Result<Monitor, StoreError>;

    /// Deletes a monitor with its results, rollups, incidents and events.
    async fn delete_monitor(&self, team: TeamId, id: MonitorId) -> Result<(), StoreError>;

    /// How many active (unpaused) monitors a team has: the plan's monitor limit counts these,
    /// so a downgrade can pause monitors instead of deleting them.
    async fn count_monitors(&self, team: TeamId) -> Result<u64, StoreError>;

    /// A monitor of `team`; `Err(StoreError::BrokenMonitor)` when its stored spec cannot be
    /// decoded.
    async fn get_monitor(&self, team: TeamId, id: MonitorId)
    -> Result<Option<Monitor>, StoreError>;

    /// One page of a team's monitors ordered by id, with their current status; never loads
    /// history. A monitor whose stored spec cannot be decoded is in the page as `Err`, so a list
    /// can show it and page past it.
    async fn list_monitor_entries(
        &self,
        team: TeamId,
        page: &PageRequest,
    ) -> Result<Vec<Result<MonitorListing, Box<BrokenMonitor>>>, StoreError>;

    /// [`Store::list_monitor_entries`] without the broken monitors (each is logged): for callers
    /// that only act on monitors they can read. A page may then hold fewer than `limit`.
    async fn list_monitors(
        &self,
        team: TeamId,
        page: &PageRequest,
    ) -> Result<Vec<MonitorListing>, StoreError> {
        let entries = self.list_monitor_entries(team, page).await?;
        Ok(entries
            .into_iter()
            .filter_map(|entry| {
                entry
                    .map_err(|broken| {
                        tracing::warn!(monitor = %broken.id, error = %broken.error, "skipping a monitor that cannot be read");
                    })
                    .ok()
            })
            .collect())
    }

    /// Applies a declared set of keyed monitors to a team in one transaction: creates new keys,
    /// updates changed ones, and deletes keyed monitors missing from the set when `prune` is true
    /// (otherwise keeps them). Monitors without a key are never touched.
    async fn apply_monitors(
        &self,
        team: TeamId,
        specs: &[MonitorSpec],
        prune: bool,
        now: Timestamp,
    ) -> Result<ApplyReport, StoreError>;

    /// Every monitor of every team with its saved runtime, for the scheduler to start from, and
    /// apart the monitors whose stored spec cannot be decoded.
    async fn load_scheduled(&self) -> Result<ScheduledLoad, StoreError>;

    /// The monitor a push token belongs to.
    async fn find_push_monitor(
        &self,
        token: &str,
    ) -> Result<Option<(TeamId, MonitorId)>, StoreError>;

    // ---- results, state and incidents ----

    /// Writes a batch in one transaction: raw results, each monitor's latest runtime and result,
    /// and every state change with the incident it opens or resolves and its event row.
    /// Opening is idempotent (at most one open incident per monitor, enforced by the schema) and so
    /// is resolving, so a batch written twice after a crash changes nothing.
    async fn record_batch(&self, batch: &ResultBatch) -> Result<(), StoreError>;

    /// Raw results of one monitor in `[from, to)`, newest first, at most `limit`.
    async fn results(
        &self,
        team: TeamId,
        monitor: MonitorId,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<StoredResult>, StoreError>;

    async fn open_incident(
        &self,
        team: TeamId,
        monitor: MonitorId,
    ) -> Result<Option<Incident>, StoreError>;

    /// A team's incidents that match `query`, newest first.
    async fn incidents(
        &self,
        team: TeamId,
        query: &IncidentQuery,
    ) -> Result<Vec<Incident>, StoreError>;

    async fn get_incident(
        &self,
        team: TeamId,
        id: IncidentId,
    ) -> Result<Option<Incident>, StoreError>;

    /// Marks an incident acknowledged by `by`. The first acknowledgement is kept: acknowledging
    /// again changes nothing and returns the incident as it is.
    async fn acknowledge_incident(
        &self,
        team: TeamId,
        id: IncidentId,
        by: &str,
        at: Timestamp,
    ) -> Result<Incident, StoreError>;

    async fn add_incident_note(
        &self,
        team: TeamId,
        id: IncidentId,
        author: &str,
        body: &str,
        at: Timestamp,
    ) -> Result<IncidentNote, StoreError>;

    /// An incident's notes, oldest first.
    async fn incident_notes(
        &self,
        team: TeamId,
        id: IncidentId,
    ) -> Result<Vec<IncidentNote>, StoreError>;

    /// State-change events with an id greater than `after`, oldest first (alerting reads these).
    async fn state_events(&self, after: i64, limit: u32) -> Result<Vec<StateEvent>, StoreError>;

    // ---- history ----

    /// Rolls raw results of finished minutes into minute buckets, finished hours into hour buckets
    /// and finished days into day buckets. Idempotent; call it every minute.
    async fn roll_up(&self, now: Timestamp) -> Result<RollupReport, StoreError>;

    /// Deletes raw results and rollups older than their retention.
    async fn prune(&self, now: Timestamp, retention: &Retention)
    -> Result<PruneReport, StoreError>;

    /// Deletes the results and rollups of every team on `plan` older than `keep` (the plan's
    /// retention; the instance's own retention still applies to everyone).
    async fn prune_plan(
        &self,
        now: Timestamp,
        plan: Plan,
        keep: Duration,
    ) -> Result<PruneReport, StoreError>;

    /// Uptime and latency of one monitor over `[from, to)`, from day, hour and minute rollups plus
    /// the raw results not yet rolled up.
    async fn uptime(
        &self,
        team: TeamId,
        monitor: MonitorId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<UptimeSummary, StoreError>;

    /// Uptime and latency of each of `monitors` over the same `[from, to)`, as [`Store::uptime`]
    /// answers for one: a dashboard page in one snapshot and one query per backend instead of a
    /// query per layer per monitor. Every id gets an entry; a monitor without history, or not in
    /// `team`, gets an empty summary.
    async fn uptime_many(
        &self,
        team: TeamId,
        monitors: &[MonitorId],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<HashMap<MonitorId, UptimeSummary>, StoreError> {
        let mut out = HashMap::with_capacity(monitors.len());
        for &monitor in monitors {
            out.insert(monitor, self.uptime(team, monitor, from, to).await?);
        }
        Ok(out)
    }

    // ---- what the dashboard shows ----

    /// How many of the team's monitors are in each state (one grouped count, no listing).
    async fn state_counts(&self, team: TeamId) -> Result<StateCounts, StoreError>;

    /// The newest `per_monitor` raw results (at most 100) of each of `monitors`, newest first;
    /// monitors of another team get none. Reads through the primary key, `per_monitor` rows per
    /// monitor, whatever the check interval.
    async fn recent_checks(
        &self,
        team: TeamId,
        monitors: &[MonitorId],
        per_monitor: u32,
    ) -> Result<HashMap<MonitorId, Vec<RecentCheck>>, StoreError>;

    /// Uptime and latency of one monitor over `[from, to)` in steps of `step`, oldest first,
    /// from the rollups (finished steps) and the finer levels and raw results after them.
    async fn series(
        &self,
        team: TeamId,
        monitor: MonitorId,
        step: SeriesStep,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<SeriesPoint>, StoreError>;

    /// The state changes that belong to an incident, oldest first (at most 500).
    async fn incident_events(
        &self,
        team: TeamId,
        incident: IncidentId,
    ) -> Result<Vec<StateEvent>, StoreError>;

    /// The notifications sent (or being sent) about an incident, oldest first (at most 500).
    async fn incident_notifications(
        &self,
        team: TeamId,
        incident: IncidentId,
    ) -> Result<Vec<NotificationRecord>, StoreError>;

    /// Bytes the database takes on disk (SQLite: file pages; PostgreSQL: `pg_database_size`).
    async fn size_bytes(&self) -> Result<u64, StoreError>;

    // ---- database care (backups, `watchtower db`) ----

    /// The highest migration applied and the counts of teams, users, monitors, incidents and
    /// raw results, read in one snapshot.
    async fn content_summary(&self) -> Result<ContentSummary, StoreError>;

    /// The tables in the database (in PostgreSQL's current schema), whether WatchTower's or not:
    /// an empty list is what a restore may write into without `--force`.
    async fn table_names(&self) -> Result<Vec<String>, StoreError>;

    /// Sizes per table and index, rows, bytes per result, and the backend's own figures.
    async fn database_stats(&self) -> Result<DatabaseStats, StoreError>;

    /// ANALYZE, VACUUM (incremental or, when worth it or `full_vacuum`, full) and the backend's
    /// optimizations; see `sqlite/care.rs` and `postgres/care.rs`.
    async fn maintain(&self, full_vacuum: bool) -> Result<MaintenanceReport, StoreError>;
}

/// The file an `sqlite://` URL names (without its query), or `None` for another scheme.
pub fn sqlite_file(url: &str) -> Option<&str> {
    let path = url.strip_prefix("sqlite://")?;
    Some(path.split('?').next().unwrap_or_default())
}

/// Opens the store a URL names: `sqlite://PATH` (the file and its directory are created if
/// missing) or `postgres://...` / `postgresql://...`. Does not migrate; call [`Store::migrate`].
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(path) = sqlite_file(url) {
        if path.is_empty() {
            return Err(StoreError::InvalidUrl(
                "sqlite:// needs a file path, e.g. sqlite://data/watchtower.db".into(),
            ));
        }
        return Ok(Arc::new(SqliteStore::open(path).await?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(PgStore::connect(url).await?));
    }
    // Only the scheme is echoed: the rest may hold a password.
    let scheme = url.split_once("://").map_or(url, |(scheme, _)| scheme);
    Err(StoreError::InvalidUrl(format!(
        "unsupported scheme '{scheme}'; use sqlite://PATH or postgres://USER@HOST/DB"
    )))
}
