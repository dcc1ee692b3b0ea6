//! The store's SQL, written once for both backends, and the `Store`, `AccountStore`,
//! `AlertStore` and `BillingStore` implementations. This folder is compiled twice, as
//! `sqlite::sql` and `postgres::sql` (each backend's `mod.rs` includes it), so there is no generic
//! code over databases: in each copy `DbStore` and `DbConnection` are that backend's store and connection,
//! `DbStore::reader`, `writer`, `begin_write` and `begin_snapshot` say which connection a
//! statement runs on, and `dialect` holds what only that backend can say (JSON operators, row
//! locks, bulk writes). Placeholders are `$N`, which both drivers take; JSON columns are written
//! with `JsonText` and read back with `CAST(... AS TEXT)`.

mod accounts;
mod alerting;
mod billing;
pub(crate) mod care;
mod dashboard;
mod history;
mod incidents;
mod instance;
mod monitors;
mod ops;
mod results;
pub(crate) mod status_auto;
mod status_incidents;
mod status_pages;
mod status_subscribers;

use super::{BACKEND, DbConnection, DbStore, dialect};
use crate::error::StoreError;
use crate::model::*;
use crate::{Backend, Store};
use async_trait::async_trait;
use std::time::{Duration, Instant};
use watchtower_core::{
    Incident, IncidentId, Monitor, MonitorId, MonitorSpec, Plan, TeamId, Timestamp,
};

#[async_trait]
impl Store for DbStore {
    fn backend(&self) -> Backend {
        BACKEND
    }

    fn database_file(&self) -> Option<std::path::PathBuf> {
        self.database_file_path()
    }

    #[tracing::instrument(name = "store.migrate", level = "debug", skip_all)]
    async fn migrate(&self) -> Result<(), StoreError> {
        self.run_migrations().await
    }

    #[tracing::instrument(name = "store.ping", level = "debug", skip_all)]
    async fn ping(&self) -> Result<Duration, StoreError> {
        let started = Instant::now();
        sqlx::query("SELECT 1").execute(self.reader()).await?;
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
        results::record_batch_behind(self, batch, None).await
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

    #[tracing::instrument(name = "store.state_counts", level = "debug", skip_all)]
    async fn state_counts(&self, team: TeamId) -> Result<StateCounts, StoreError> {
        dashboard::state_counts(self, team).await
    }

    #[tracing::instrument(name = "store.recent_checks", level = "debug", skip_all)]
    async fn recent_checks(
        &self,
        team: TeamId,
        monitors: &[MonitorId],
        per_monitor: u32,
    ) -> Result<std::collections::HashMap<MonitorId, Vec<RecentCheck>>, StoreError> {
        dashboard::recent_checks(self, team, monitors, per_monitor).await
    }

    #[tracing::instrument(name = "store.series", level = "debug", skip_all)]
    async fn series(
        &self,
        team: TeamId,
        monitor: MonitorId,
        step: SeriesStep,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<SeriesPoint>, StoreError> {
        dashboard::series(self, team, monitor, step, from, to).await
    }

    #[tracing::instrument(name = "store.incident_events", level = "debug", skip_all)]
    async fn incident_events(
        &self,
        team: TeamId,
        incident: IncidentId,
    ) -> Result<Vec<StateEvent>, StoreError> {
        dashboard::incident_events(self, team, incident).await
    }

    #[tracing::instrument(name = "store.incident_notifications", level = "debug", skip_all)]
    async fn incident_notifications(
        &self,
        team: TeamId,
        incident: IncidentId,
    ) -> Result<Vec<crate::alerting::NotificationRecord>, StoreError> {
        dashboard::incident_notifications(self, team, incident).await
    }

    #[tracing::instrument(name = "store.size_bytes", level = "debug", skip_all)]
    async fn size_bytes(&self) -> Result<u64, StoreError> {
        self.database_bytes().await
    }

    #[tracing::instrument(name = "store.content_summary", level = "debug", skip_all)]
    async fn content_summary(&self) -> Result<crate::care::ContentSummary, StoreError> {
        self.care_summary().await
    }

    #[tracing::instrument(name = "store.table_names", level = "debug", skip_all)]
    async fn table_names(&self) -> Result<Vec<String>, StoreError> {
        self.care_table_names().await
    }

    #[tracing::instrument(name = "store.database_stats", level = "debug", skip_all)]
    async fn database_stats(&self) -> Result<crate::care::DatabaseStats, StoreError> {
        self.care_stats().await
    }

    #[tracing::instrument(name = "store.maintain", level = "debug", skip_all)]
    async fn maintain(
        &self,
        full_vacuum: bool,
    ) -> Result<crate::care::MaintenanceReport, StoreError> {
        self.care_maintain(full_vacuum).await
    }
}
