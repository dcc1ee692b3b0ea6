//! Results, status, incidents and state events in PostgreSQL: the batched write and its reads.

use super::PgStore;
use crate::batch::{self, StatusUpdate};
use crate::error::StoreError;
use crate::model::{ChangeRecord, ResultBatch, StateEvent, StoredResult};
use crate::outbox::{self, Announcement};
use crate::rows::{EventRow, IncidentRow, ResultRow, clamp_limit};
use sqlx::{PgConnection, Postgres};
use std::collections::{HashMap, HashSet};
use watchtower_core::{Incident, MonitorId, TeamId, Timestamp};

const MAX_RESULTS: u32 = 10_000;
const MAX_LIST: u32 = 1_000;
/// Rows per UNNEST insert: arrays keep it one statement with eight parameters.
const ARRAY_CHUNK: usize = 5_000;

const STATUS_INSERT: &str = "INSERT INTO monitor_status (monitor_id, team_id, state, state_since, \
     consecutive_failures, consecutive_successes, incident_open, last_checked_at, last_result) \
     SELECT u.monitor_id, u.team_id, u.state, u.state_since, u.failures, u.successes, u.open, \
     u.checked_at, u.result::jsonb FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::int8[], \
     $5::int8[], $6::int8[], $7::bool[], $8::int8[], $9::text[]) \
     AS u(monitor_id, team_id, state, state_since, failures, successes, open, checked_at, result)";

/// The latest result wins; an older one (a late or replayed batch) leaves it in place.
const NEWER_RESULT: &str = "last_checked_at = CASE WHEN excluded.last_checked_at >= \
     COALESCE(monitor_status.last_checked_at, excluded.last_checked_at) \
     THEN excluded.last_checked_at ELSE monitor_status.last_checked_at END, \
     last_result = CASE WHEN excluded.last_checked_at >= \
     COALESCE(monitor_status.last_checked_at, excluded.last_checked_at) \
     THEN excluded.last_result ELSE monitor_status.last_result END";

pub(super) const INCIDENT_COLUMNS: &str = "id, team_id, monitor_id, opened_at, resolved_at, cause, \
     error_class, first_failure::text AS first_failure, acknowledged_at, acknowledged_by";

pub(super) async fn record_batch(store: &PgStore, batch: &ResultBatch) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut tx = store.pool.begin().await?;
    // KEY SHARE keeps the monitors from being deleted under the batch without blocking edits.
    let teams: HashMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(
        "SELECT id, team_id FROM monitors WHERE id = ANY($1) ORDER BY id FOR KEY SHARE",
    )
    .bind(batch::monitor_ids(batch))
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let prepared = batch::prepare(batch, &teams);

    for chunk in prepared.raw.chunks(ARRAY_CHUNK) {
        sqlx::query(
            "INSERT INTO results (monitor_id, checked_at, team_id, status, latency_us, \
             http_status, error_class, message) SELECT * FROM UNNEST($1::int8[], $2::int8[], \
             $3::int8[], $4::int2[], $5::int4[], $6::int2[], $7::int2[], $8::text[]) \
             ON CONFLICT DO NOTHING",
        )
        .bind(chunk.iter().map(|r| r.monitor_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.checked_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.team_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.status).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.latency_us).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.http_status).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.error_class).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.message.clone()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
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

    write_changes(&mut tx, &prepared.changes).await?;
    tx.commit().await?;
    Ok(())
}

async fn upsert_status(
    conn: &mut PgConnection,
    updates: &[StatusUpdate],
    on_conflict: &str,
) -> Result<(), StoreError> {
    for chunk in updates.chunks(ARRAY_CHUNK) {
        let runtimes: Vec<_> = chunk.iter().map(StatusUpdate::runtime_or_pending).collect();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{STATUS_INSERT} {on_conflict}"
        )))
        .bind(chunk.iter().map(|u| u.monitor_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|u| u.team_id).collect::<Vec<_>>())
        .bind(
            runtimes
                .iter()
                .map(|r| r.state.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(runtimes.iter().map(|r| r.since.0).collect::<Vec<_>>())
        .bind(
            runtimes
                .iter()
                .map(|r| i64::from(r.consecutive_failures))
                .collect::<Vec<_>>(),
        )
        .bind(
            runtimes
                .iter()
                .map(|r| i64::from(r.consecutive_successes))
                .collect::<Vec<_>>(),
        )
        .bind(runtimes.iter().map(|r| r.incident_open).collect::<Vec<_>>())
        .bind(chunk.iter().map(|u| u.last_checked_at).collect::<Vec<_>>())
        .bind(
            chunk
                .iter()
                .map(|u| u.last_result.clone())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Writes a batch's state changes set-wise, in the batch's order: the changes are cut into runs
/// in which no monitor repeats (usually the whole batch is one run), and each run costs a few
/// statements however many changes it holds, instead of several statements per change.
async fn write_changes(
    conn: &mut PgConnection,
    changes: &[(i64, &ChangeRecord)],
) -> Result<(), StoreError> {
    let mut start = 0;
    while start < changes.len() {
        let mut seen = HashSet::new();
        let end = start
            + changes[start..]
                .iter()
                .take_while(|(_, record)| seen.insert(record.monitor_id.0))
                .count();
        write_run(conn, &changes[start..end]).await?;
        start = end;
    }
    Ok(())
}

/// One run of changes, each of a different monitor: the incidents they open (idempotent), the
/// incidents they resolve, their event rows (idempotent), then the outbox rows of the new events
/// (`outbox.rs`).
/// Each step is one statement; rows are inserted in the run's order so ids follow the changes.
async fn write_run(
    conn: &mut PgConnection,
    run: &[(i64, &ChangeRecord)],
) -> Result<(), StoreError> {
    // The incident each change's event points at, by monitor (a monitor appears once in a run).
    let mut incidents: HashMap<i64, i64> = HashMap::new();

    let opening: Vec<&(i64, &ChangeRecord)> = run
        .iter()
        .filter(|(_, r)| r.change.opens_incident)
        .collect();
    if !opening.is_empty() {
        // A conflict (the monitor's open incident, or this very opening written before) inserts
        // nothing; the event then points at whichever incident is open, as before the batch.
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "WITH new AS (INSERT INTO incidents (team_id, monitor_id, opened_at, cause, \
             error_class, first_failure) \
             SELECT u.team_id, u.monitor_id, u.opened_at, u.cause, u.error_class, \
             u.first_failure::jsonb FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::text[], \
             $5::text[], $6::text[]) WITH ORDINALITY \
             AS u(team_id, monitor_id, opened_at, cause, error_class, first_failure, ord) \
             ORDER BY u.ord ON CONFLICT DO NOTHING RETURNING monitor_id, id) \
             SELECT monitor_id, id FROM new UNION ALL \
             SELECT i.monitor_id, i.id FROM incidents i WHERE i.monitor_id = ANY($2) \
             AND i.resolved_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM new WHERE new.monitor_id = i.monitor_id)",
        )
        .bind(opening.iter().map(|(team, _)| *team).collect::<Vec<_>>())
        .bind(
            opening
                .iter()
                .map(|(_, r)| r.monitor_id.0)
                .collect::<Vec<_>>(),
        )
        .bind(
            opening
                .iter()
                .map(|(_, r)| r.change.at.0)
                .collect::<Vec<_>>(),
        )
        .bind(
            opening
                .iter()
                .map(|(_, r)| r.change.cause.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            opening
                .iter()
                .map(|(_, r)| {
                    r.change
                        .error_class
                        .map(watchtower_core::ErrorClass::as_str)
                })
                .collect::<Vec<_>>(),
        )
        .bind(
            opening
                .iter()
                .map(|(_, r)| {
                    r.outcome.as_ref().map(|outcome| {
                        serde_json::to_string(outcome).expect("an outcome serializes")
                    })
                })
                .collect::<Vec<_>>(),
        )
        .fetch_all(&mut *conn)
        .await?;
        incidents.extend(rows);
    }

    let resolving: Vec<&(i64, &ChangeRecord)> = run
        .iter()
        .filter(|(_, r)| r.change.resolves_incident)
        .collect();
    if !resolving.is_empty() {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "UPDATE incidents i SET resolved_at = u.at \
             FROM UNNEST($1::int8[], $2::int8[]) AS u(monitor_id, at) \
             WHERE i.monitor_id = u.monitor_id AND i.resolved_at IS NULL AND i.opened_at <= u.at \
             RETURNING i.monitor_id, i.id",
        )
        .bind(
            resolving
                .iter()
                .map(|(_, r)| r.monitor_id.0)
                .collect::<Vec<_>>(),
        )
        .bind(
            resolving
                .iter()
                .map(|(_, r)| r.change.at.0)
                .collect::<Vec<_>>(),
        )
        .fetch_all(&mut *conn)
        .await?;
        // A resolving change points at the incident it resolved, or at none.
        for (_, record) in &resolving {
            incidents.remove(&record.monitor_id.0);
        }
        incidents.extend(rows);
    }

    let incident_of = |record: &ChangeRecord| -> Option<i64> {
        let change = &record.change;
        (change.opens_incident || change.resolves_incident)
            .then(|| incidents.get(&record.monitor_id.0).copied())
            .flatten()
    };
    // A replayed batch inserts no event, so it queues no notification either.
    let inserted: HashMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(
        "INSERT INTO state_events (team_id, monitor_id, from_state, to_state, at, incident_id, \
         cause) SELECT u.team_id, u.monitor_id, u.from_state, u.to_state, u.at, u.incident_id, \
         u.cause FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::text[], $5::int8[], \
         $6::int8[], $7::text[]) WITH ORDINALITY \
         AS u(team_id, monitor_id, from_state, to_state, at, incident_id, cause, ord) \
         ORDER BY u.ord ON CONFLICT DO NOTHING RETURNING monitor_id, id",
    )
    .bind(run.iter().map(|(team, _)| *team).collect::<Vec<_>>())
    .bind(run.iter().map(|(_, r)| r.monitor_id.0).collect::<Vec<_>>())
    .bind(
        run.iter()
            .map(|(_, r)| r.change.from.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        run.iter()
            .map(|(_, r)| r.change.to.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(run.iter().map(|(_, r)| r.change.at.0).collect::<Vec<_>>())
    .bind(run.iter().map(|(_, r)| incident_of(r)).collect::<Vec<_>>())
    .bind(
        run.iter()
            .map(|(_, r)| r.change.cause.as_str())
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();

    let announced: Vec<Announcement> = run
        .iter()
        .filter_map(|(team, record)| {
            let event_id = *inserted.get(&record.monitor_id.0)?;
            Announcement::of(event_id, *team, record, incident_of(record))
        })
        .collect();
    outbox::enqueue::<Postgres>(conn, &announced).await
}

pub(super) async fn results(
    store: &PgStore,
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
    .fetch_all(&store.pool)
    .await?;
    Ok(rows.into_iter().map(StoredResult::from).collect())
}

pub(super) async fn open_incident(
    store: &PgStore,
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
        .fetch_optional(&store.pool)
        .await?;
    row.map(IncidentRow::into_incident).transpose()
}

pub(super) async fn state_events(
    store: &PgStore,
    after: i64,
    limit: u32,
) -> Result<Vec<StateEvent>, StoreError> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT id, team_id, monitor_id, from_state, to_state, at, incident_id, cause \
         FROM state_events WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(clamp_limit(limit, MAX_LIST))
    .fetch_all(&store.pool)
    .await?;
    rows.into_iter().map(EventRow::into_event).collect()
}
