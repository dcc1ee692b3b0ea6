//! Results, status and state events: the batched write's outline and its reads. How the rows of a
//! batch are written in bulk is each backend's own (`results` beside its `dialect`).

use super::incidents::INCIDENT_COLUMNS;
use super::{DbStore, dialect};
use crate::batch;
use crate::error::StoreError;
use crate::leases::WriteFence;
use crate::model::{ResultBatch, StateEvent, StoredResult};
use crate::rows::{EventRow, IncidentRow, ResultRow, clamp_limit};
use std::collections::HashMap;
use watchtower_core::{Incident, MonitorId, TeamId, Timestamp};

const MAX_RESULTS: u32 = 10_000;
const MAX_LIST: u32 = 1_000;

/// The latest result wins; an older one (a late or replayed batch) leaves it in place.
const NEWER_RESULT: &str = "last_checked_at = CASE WHEN excluded.last_checked_at >= \
     COALESCE(monitor_status.last_checked_at, excluded.last_checked_at) \
     THEN excluded.last_checked_at ELSE monitor_status.last_checked_at END, \
     last_result = CASE WHEN excluded.last_checked_at >= \
     COALESCE(monitor_status.last_checked_at, excluded.last_checked_at) \
     THEN excluded.last_result ELSE monitor_status.last_result END";

/// One transaction: the raw results, the status rows (the whole runtime where the batch carries
/// it, else only the latest result), then the state changes with their incidents, events and
/// outbox rows. Behind a `fence`, the transaction first checks that the writing instance still
/// holds the batch's shards (`postgres/leases.rs`).
pub(super) async fn record_batch_behind(
    store: &DbStore,
    batch: &ResultBatch,
    fence: Option<&WriteFence>,
) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let ids = batch::monitor_ids(batch);
    let mut tx = store.begin_write().await?;
    if let Some(fence) = fence {
        dialect::check_fence(&mut tx, fence).await?;
    }
    let teams: HashMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(dialect::BATCH_MONITORS)
        .bind(dialect::id_list(&ids))
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
    let prepared = batch::prepare(batch, &teams);

    dialect::insert_results(&mut tx, &prepared.raw).await?;
    let full = format!(
        "ON CONFLICT (monitor_id) DO UPDATE SET state = excluded.state, \
         state_since = excluded.state_since, consecutive_failures = excluded.consecutive_failures, \
         consecutive_successes = excluded.consecutive_successes, \
         incident_open = excluded.incident_open, {NEWER_RESULT}"
    );
    dialect::upsert_status(&mut tx, &prepared.with_runtime, &full).await?;
    let results_only = format!("ON CONFLICT (monitor_id) DO UPDATE SET {NEWER_RESULT}");
    dialect::upsert_status(&mut tx, &prepared.results_only, &results_only).await?;

    dialect::write_changes(&mut tx, &prepared.changes).await?;
    tx.commit().await?;
    Ok(())
}

impl DbStore {
    /// [`Store::record_batch`](crate::Store::record_batch) behind a fence: the batch commits
    /// only if its instance still holds every shard in `fence`; otherwise nothing of it is
    /// written and the answer is [`StoreError::Fenced`] with the shards lost. SQLite, served by
    /// one instance, has no leases and refuses.
    pub async fn record_fenced_batch(
        &self,
        fence: &WriteFence,
        batch: &ResultBatch,
    ) -> Result<(), StoreError> {
        record_batch_behind(self, batch, Some(fence)).await
    }
}

pub(super) async fn results(
    store: &DbStore,
    team: TeamId,
    monitor: MonitorId,
    from: Timestamp,
    to: Timestamp,
    limit: u32,
) -> Result<Vec<StoredResult>, StoreError> {
    let rows: Vec<ResultRow> = sqlx::query_as(
        "SELECT monitor_id, checked_at, status, latency_us, http_status, error_class, message \
         FROM results WHERE monitor_id = $1 AND checked_at >= $2 AND checked_at < $3 \
         AND team_id = $4 ORDER BY checked_at DESC LIMIT $5",
    )
    .bind(monitor.0)
    .bind(from.0)
    .bind(to.0)
    .bind(team.0)
    .bind(clamp_limit(limit, MAX_RESULTS))
    .fetch_all(store.reader())
    .await?;
    Ok(rows.into_iter().map(StoredResult::from).collect())
}

pub(super) async fn open_incident(
    store: &DbStore,
    team: TeamId,
    monitor: MonitorId,
) -> Result<Option<Incident>, StoreError> {
    let sql = format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents \
         WHERE monitor_id = $1 AND team_id = $2 AND resolved_at IS NULL"
    );
    let row: Option<IncidentRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(monitor.0)
        .bind(team.0)
        .fetch_optional(store.reader())
        .await?;
    row.map(IncidentRow::into_incident).transpose()
}

pub(super) async fn state_events(
    store: &DbStore,
    after: i64,
    limit: u32,
) -> Result<Vec<StateEvent>, StoreError> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT id, team_id, monitor_id, from_state, to_state, at, incident_id, cause \
         FROM state_events WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(clamp_limit(limit, MAX_LIST))
    .fetch_all(store.reader())
    .await?;
    rows.into_iter().map(EventRow::into_event).collect()
}
