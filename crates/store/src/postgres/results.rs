//! Results, status, incidents and state events in PostgreSQL: the batched write and its reads.

use super::PgStore;
use crate::alerting_rows::event_of;
use crate::batch::{self, StatusUpdate};
use crate::error::StoreError;
use crate::model::{ChangeRecord, ResultBatch, StateEvent, StoredResult};
use crate::rows::{EventRow, IncidentRow, ResultRow, clamp_limit};
use sqlx::PgConnection;
use std::collections::HashMap;
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

    for (team, change) in &prepared.changes {
        write_change(&mut tx, *team, change).await?;
    }
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

/// One state change: the incident it opens or resolves (both idempotent), then its event row.
async fn write_change(
    conn: &mut PgConnection,
    team: i64,
    record: &ChangeRecord,
) -> Result<(), StoreError> {
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
             first_failure) VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT DO NOTHING",
        )
        .bind(team)
        .bind(monitor)
        .bind(change.at.0)
        .bind(&change.cause)
        .bind(change.error_class.map(|class| class.as_str()))
        .bind(first_failure)
        .execute(&mut *conn)
        .await?;
        incident_id = sqlx::query_scalar(
            "SELECT id FROM incidents WHERE monitor_id = $1 AND resolved_at IS NULL",
        )
        .bind(monitor)
        .fetch_optional(&mut *conn)
        .await?;
    }
    if change.resolves_incident {
        incident_id = sqlx::query_scalar(
            "UPDATE incidents SET resolved_at = $1 WHERE monitor_id = $2 AND resolved_at IS NULL \
             AND opened_at <= $1 RETURNING id",
        )
        .bind(change.at.0)
        .bind(monitor)
        .fetch_optional(&mut *conn)
        .await?;
    }
    let event_id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO state_events (team_id, monitor_id, from_state, to_state, at, incident_id, \
         cause) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id",
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
    if let (Some(event_id), Some(event)) = (event_id, event_of(change)) {
        enqueue_notifications(conn, team, record, event_id, incident_id, event).await?;
    }
    Ok(())
}

/// The outbox rows of one state event: one per channel of every rule that matches the event and
/// the monitor (team-wide, this monitor, or one of its tags), in the event's transaction.
async fn enqueue_notifications(
    conn: &mut PgConnection,
    team: i64,
    record: &ChangeRecord,
    event_id: i64,
    incident_id: Option<i64>,
    event: &str,
) -> Result<(), StoreError> {
    let monitor = record.monitor_id.0;
    let cause = record.change.error_class.map(|class| class.as_str());
    let at = record.change.at;
    sqlx::query(
        "INSERT INTO notifications (team_id, channel_id, state_event_id, monitor_id, \
         incident_id, event, status, attempts, next_attempt_at, created_at, remind_every_ms) \
         SELECT r.team_id, ch.id, $1, $2, $3, $4, 'pending', 0, $5, $5, MIN(r.remind_every_ms) \
         FROM alert_rules r JOIN monitors m ON m.id = $2 \
         CROSS JOIN LATERAL jsonb_array_elements_text(r.channel_ids) AS c(value) \
         JOIN channels ch ON ch.id = c.value::bigint AND ch.team_id = r.team_id \
         WHERE r.team_id = $6 AND r.events ? $4 \
           AND (r.monitor_id IS NULL OR r.monitor_id = $2) \
           AND (r.tag IS NULL OR m.spec->'tags' ? r.tag) \
           AND (r.causes IS NULL \
                OR ($4 = 'down' AND r.causes ? $7) \
                OR ($4 = 'up' AND EXISTS (SELECT 1 FROM notifications d WHERE d.incident_id = $3 \
                    AND d.channel_id = ch.id AND d.event = 'down'))) \
         GROUP BY r.team_id, ch.id \
         ON CONFLICT DO NOTHING",
    )
    .bind(event_id)
    .bind(monitor)
    .bind(incident_id)
    .bind(event)
    .bind(at.0)
    .bind(team)
    .bind(cause)
    .execute(&mut *conn)
    .await?;
    if event == "down" {
        // Every step of every matching rule's escalation policy, due at its offset.
        sqlx::query(
            "INSERT INTO notifications (team_id, channel_id, state_event_id, monitor_id, \
             incident_id, event, status, attempts, next_attempt_at, created_at, remind_every_ms, \
             escalation_step) \
             SELECT r.team_id, ch.id, $1, $2, $3, 'down', 'pending', 0, \
               $4 + (st.value->>'offset_ms')::bigint, $4, \
               MIN(r.remind_every_ms), st.ordinality - 1 \
             FROM alert_rules r JOIN monitors m ON m.id = $2 \
             JOIN escalation_policies p ON p.id = r.escalation_policy_id \
             CROSS JOIN LATERAL jsonb_array_elements(p.steps) WITH ORDINALITY AS st(value, ordinality) \
             CROSS JOIN LATERAL jsonb_array_elements_text(st.value->'channel_ids') AS c(value) \
             JOIN channels ch ON ch.id = c.value::bigint AND ch.team_id = r.team_id \
             WHERE r.team_id = $5 AND r.events ? 'down' \
               AND (r.monitor_id IS NULL OR r.monitor_id = $2) \
               AND (r.tag IS NULL OR m.spec->'tags' ? r.tag) \
               AND (r.causes IS NULL OR r.causes ? $6) \
             GROUP BY r.team_id, ch.id, st.ordinality, st.value \
             ON CONFLICT DO NOTHING",
        )
        .bind(event_id)
        .bind(monitor)
        .bind(incident_id)
        .bind(at.0)
        .bind(team)
        .bind(cause)
        .execute(&mut *conn)
        .await?;
    }
    if event == "up" && incident_id.is_some() {
        // Whoever an escalation reached hears that it is over.
        sqlx::query(
            "INSERT INTO notifications (team_id, channel_id, state_event_id, monitor_id, \
             incident_id, event, status, attempts, next_attempt_at, created_at) \
             SELECT DISTINCT d.team_id, d.channel_id, $1, $2, $3, 'up', 'pending', 0, $4, $4 \
             FROM notifications d WHERE d.incident_id = $3 AND d.event = 'down' \
               AND d.escalation_step IS NOT NULL AND d.status = 'delivered' \
             ON CONFLICT DO NOTHING",
        )
        .bind(event_id)
        .bind(monitor)
        .bind(incident_id)
        .bind(at.0)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
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
