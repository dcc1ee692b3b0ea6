//! Results, status, incidents and state events in SQLite: the batched write and its reads.

use super::{SqliteStore, multi_row_sql};
use crate::batch::{self, RAW_CHUNK, STATUS_CHUNK, StatusUpdate};
use crate::error::StoreError;
use crate::model::{ChangeRecord, ResultBatch, StateEvent, StoredResult};
use crate::outbox::{self, Announcement};
use crate::rows::{EventRow, IncidentRow, ResultRow, clamp_limit};
use sqlx::{Sqlite, SqliteConnection};
use std::collections::HashMap;
use watchtower_core::{Incident, MonitorId, TeamId, Timestamp};

const MAX_RESULTS: u32 = 10_000;
const MAX_LIST: u32 = 1_000;

const STATUS_COLUMNS: &str = "INSERT INTO monitor_status (monitor_id, team_id, state, state_since, \
     consecutive_failures, consecutive_successes, incident_open, last_checked_at, last_result)";

/// The latest result wins; an older one (a late or replayed batch) leaves it in place.
const NEWER_RESULT: &str = "last_checked_at = CASE WHEN excluded.last_checked_at >= \
     COALESCE(monitor_status.last_checked_at, excluded.last_checked_at) \
     THEN excluded.last_checked_at ELSE monitor_status.last_checked_at END, \
     last_result = CASE WHEN excluded.last_checked_at >= \
     COALESCE(monitor_status.last_checked_at, excluded.last_checked_at) \
     THEN excluded.last_result ELSE monitor_status.last_result END";

pub(super) const INCIDENT_COLUMNS: &str = "id, team_id, monitor_id, opened_at, resolved_at, cause, error_class, first_failure, \
     acknowledged_at, acknowledged_by";

pub(super) async fn record_batch(
    store: &SqliteStore,
    batch: &ResultBatch,
) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let ids = serde_json::to_string(&batch::monitor_ids(batch)).expect("ids serialize");
    let mut tx = store.begin_write().await?;
    let teams: HashMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(
        "SELECT id, team_id FROM monitors WHERE id IN (SELECT value FROM json_each(?))",
    )
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let prepared = batch::prepare(batch, &teams);

    for chunk in prepared.raw.chunks(RAW_CHUNK) {
        let sql = multi_row_sql(
            "INSERT OR IGNORE INTO results (monitor_id, checked_at, team_id, status, latency_us, \
             http_status, error_class, message)",
            8,
            chunk.len(),
            "",
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            query = query
                .bind(row.monitor_id)
                .bind(row.checked_at)
                .bind(row.team_id)
                .bind(row.status)
                .bind(row.latency_us)
                .bind(row.http_status)
                .bind(row.error_class)
                .bind(row.message.as_deref());
        }
        query.execute(&mut *tx).await?;
    }
    let full = format!(
        "ON CONFLICT (monitor_id) DO UPDATE SET state = excluded.state, \
         state_since = excluded.state_since, consecutive_failures = excluded.consecutive_failures, \
         consecutive_successes = excluded.consecutive_successes, \
         incident_open = excluded.incident_open, {NEWER_RESULT}"
    );
    upsert_status(&mut tx, &prepared.with_runtime, &full).await?;
    let results_only = format!("ON CONFLICT (monitor_id) DO UPDATE SET {NEWER_RESULT}");
    upsert_status(&mut tx, &prepared.results_only, &results_only).await?;

    let mut announced = Vec::new();
    for (team, change) in &prepared.changes {
        announced.extend(write_change(&mut tx, *team, change).await?);
    }
    outbox::enqueue::<Sqlite>(&mut tx, &announced).await?;
    tx.commit().await?;
    Ok(())
}

async fn upsert_status(
    conn: &mut SqliteConnection,
    updates: &[StatusUpdate],
    on_conflict: &str,
) -> Result<(), StoreError> {
    for chunk in updates.chunks(STATUS_CHUNK) {
        let sql = multi_row_sql(STATUS_COLUMNS, 9, chunk.len(), on_conflict);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for update in chunk {
            let runtime = update.runtime_or_pending();
            query = query
                .bind(update.monitor_id)
                .bind(update.team_id)
                .bind(runtime.state.as_str())
                .bind(runtime.since.0)
                .bind(i64::from(runtime.consecutive_failures))
                .bind(i64::from(runtime.consecutive_successes))
                .bind(runtime.incident_open)
                .bind(update.last_checked_at)
                .bind(update.last_result.as_deref());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// One state change: the incident it opens or resolves (both idempotent), then its event row;
/// returns the announcement of a new event for the outbox.
async fn write_change(
    conn: &mut SqliteConnection,
    team: i64,
    record: &ChangeRecord,
) -> Result<Option<Announcement>, StoreError> {
    let change = &record.change;
    let monitor = record.monitor_id.0;
    let mut incident_id: Option<i64> = None;
    if change.opens_incident {
        let first_failure = record
            .outcome
            .as_ref()
            .map(|outcome| serde_json::to_string(outcome).expect("an outcome serializes"));
        // Conflicts with the open incident or with this very opening written before: no-op.
        sqlx::query(
            "INSERT INTO incidents (team_id, monitor_id, opened_at, cause, error_class, \
             first_failure) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(team)
        .bind(monitor)
        .bind(change.at.0)
        .bind(&change.cause)
        .bind(change.error_class.map(watchtower_core::ErrorClass::as_str))
        .bind(first_failure)
        .execute(&mut *conn)
        .await?;
        incident_id = sqlx::query_scalar(
            "SELECT id FROM incidents WHERE monitor_id = ? AND resolved_at IS NULL",
        )
        .bind(monitor)
        .fetch_optional(&mut *conn)
        .await?;
    }
    if change.resolves_incident {
        incident_id = sqlx::query_scalar(
            "UPDATE incidents SET resolved_at = ? WHERE monitor_id = ? AND resolved_at IS NULL \
             AND opened_at <= ? RETURNING id",
        )
        .bind(change.at.0)
        .bind(monitor)
        .bind(change.at.0)
        .fetch_optional(&mut *conn)
        .await?;
    }
    let event_id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO state_events (team_id, monitor_id, from_state, to_state, at, incident_id, \
         cause) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(team)
    .bind(monitor)
    .bind(change.from.as_str())
    .bind(change.to.as_str())
    .bind(change.at.0)
    .bind(incident_id)
    .bind(&change.cause)
    .fetch_optional(&mut *conn)
    .await?;
    // A replayed batch inserts no event, so it queues no notification either.
    Ok(event_id.and_then(|event_id| Announcement::of(event_id, team, record, incident_id)))
}

pub(super) async fn results(
    store: &SqliteStore,
    team: TeamId,
    monitor: MonitorId,
    from: Timestamp,
    to: Timestamp,
    limit: u32,
) -> Result<Vec<StoredResult>, StoreError> {
    let rows: Vec<ResultRow> = sqlx::query_as(
        "SELECT monitor_id, checked_at, status, latency_us, http_status, error_class, message \
         FROM results WHERE monitor_id = ? AND checked_at >= ? AND checked_at < ? AND team_id = ? \
         ORDER BY checked_at DESC LIMIT ?",
    )
    .bind(monitor.0)
    .bind(from.0)
    .bind(to.0)
    .bind(team.0)
    .bind(clamp_limit(limit, MAX_RESULTS))
    .fetch_all(&store.read)
    .await?;
    Ok(rows.into_iter().map(StoredResult::from).collect())
}

pub(super) async fn open_incident(
    store: &SqliteStore,
    team: TeamId,
    monitor: MonitorId,
) -> Result<Option<Incident>, StoreError> {
    let sql = format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents \
         WHERE monitor_id = ? AND team_id = ? AND resolved_at IS NULL"
    );
    let row: Option<IncidentRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(monitor.0)
        .bind(team.0)
        .fetch_optional(&store.read)
        .await?;
    row.map(IncidentRow::into_incident).transpose()
}

pub(super) async fn state_events(
    store: &SqliteStore,
    after: i64,
    limit: u32,
) -> Result<Vec<StateEvent>, StoreError> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT id, team_id, monitor_id, from_state, to_state, at, incident_id, cause \
         FROM state_events WHERE id > ? ORDER BY id LIMIT ?",
    )
    .bind(after)
    .bind(clamp_limit(limit, MAX_LIST))
    .fetch_all(&store.read)
    .await?;
    rows.into_iter().map(EventRow::into_event).collect()
}
