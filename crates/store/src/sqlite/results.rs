//! The batched write in SQLite: raw results and status rows as multi-row `VALUES`, and each
//! state change with its incident, event and outbox rows.

use super::dialect::multi_row_sql;
use crate::alerting_rows::event_of;
use crate::batch::{RAW_CHUNK, STATUS_CHUNK, StatusUpdate};
use crate::error::StoreError;
use crate::model::ChangeRecord;
use crate::rows::RawColumns;
use sqlx::SqliteConnection;

const STATUS_COLUMNS: &str = "INSERT INTO monitor_status (monitor_id, team_id, state, state_since, \
     consecutive_failures, consecutive_successes, incident_open, last_checked_at, last_result)";

/// Inserts raw results, a multi-row statement per chunk; a replayed one is ignored.
pub(super) async fn insert_results(
    conn: &mut SqliteConnection,
    raw: &[RawColumns],
) -> Result<(), StoreError> {
    for chunk in raw.chunks(RAW_CHUNK) {
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
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Inserts or updates status rows, a multi-row statement per chunk; `on_conflict` says what an
/// existing row takes from the new one.
pub(super) async fn upsert_status(
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

/// The batch's state changes, one after another, in the batch's order.
pub(super) async fn write_changes(
    conn: &mut SqliteConnection,
    changes: &[(i64, &ChangeRecord)],
) -> Result<(), StoreError> {
    for (team, change) in changes {
        write_change(conn, *team, change).await?;
    }
    Ok(())
}

/// One state change: the incident it opens or resolves (both idempotent), then its event row.
async fn write_change(
    conn: &mut SqliteConnection,
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
    if let (Some(event_id), Some(event)) = (event_id, event_of(change)) {
        enqueue_notifications(conn, team, record, event_id, incident_id, event).await?;
    }
    Ok(())
}

/// The outbox rows of one state event: one per channel of every rule that matches the event and
/// the monitor (team-wide, this monitor, or one of its tags), in the event's transaction.
async fn enqueue_notifications(
    conn: &mut SqliteConnection,
    team: i64,
    record: &ChangeRecord,
    event_id: i64,
    incident_id: Option<i64>,
    event: &str,
) -> Result<(), StoreError> {
    let monitor = record.monitor_id.0;
    let cause = record
        .change
        .error_class
        .map(watchtower_core::ErrorClass::as_str);
    let at = record.change.at;
    sqlx::query(
        "INSERT OR IGNORE INTO notifications (team_id, channel_id, state_event_id, monitor_id, \
         incident_id, event, status, attempts, next_attempt_at, created_at, remind_every_ms) \
         SELECT r.team_id, ch.id, ?1, ?2, ?3, ?4, 'pending', 0, ?5, ?5, MIN(r.remind_every_ms) \
         FROM alert_rules r JOIN monitors m ON m.id = ?2, json_each(r.channel_ids) c \
         JOIN channels ch ON ch.id = c.value AND ch.team_id = r.team_id \
         WHERE r.team_id = ?6 \
           AND EXISTS (SELECT 1 FROM json_each(r.events) e WHERE e.value = ?4) \
           AND (r.monitor_id IS NULL OR r.monitor_id = ?2) \
           AND (r.tag IS NULL OR EXISTS (SELECT 1 FROM json_each(m.spec, '$.tags') t WHERE t.value = r.tag)) \
           AND (r.causes IS NULL \
                OR (?4 = 'down' AND EXISTS (SELECT 1 FROM json_each(r.causes) k WHERE k.value = ?7)) \
                OR (?4 = 'up' AND EXISTS (SELECT 1 FROM notifications d WHERE d.incident_id = ?3 \
                    AND d.channel_id = ch.id AND d.event = 'down'))) \
         GROUP BY r.team_id, ch.id",
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
            "INSERT OR IGNORE INTO notifications (team_id, channel_id, state_event_id, monitor_id, \
             incident_id, event, status, attempts, next_attempt_at, created_at, remind_every_ms, \
             escalation_step) \
             SELECT r.team_id, ch.id, ?1, ?2, ?3, 'down', 'pending', 0, \
               ?4 + CAST(json_extract(st.value, '$.offset_ms') AS INTEGER), ?4, \
               MIN(r.remind_every_ms), CAST(st.key AS INTEGER) \
             FROM alert_rules r JOIN monitors m ON m.id = ?2 \
             JOIN escalation_policies p ON p.id = r.escalation_policy_id, \
               json_each(p.steps) st, json_each(json_extract(st.value, '$.channel_ids')) c \
             JOIN channels ch ON ch.id = c.value AND ch.team_id = r.team_id \
             WHERE r.team_id = ?5 \
               AND EXISTS (SELECT 1 FROM json_each(r.events) e WHERE e.value = 'down') \
               AND (r.monitor_id IS NULL OR r.monitor_id = ?2) \
               AND (r.tag IS NULL OR EXISTS (SELECT 1 FROM json_each(m.spec, '$.tags') t WHERE t.value = r.tag)) \
               AND (r.causes IS NULL OR EXISTS (SELECT 1 FROM json_each(r.causes) k WHERE k.value = ?6)) \
             GROUP BY r.team_id, ch.id, st.key",
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
            "INSERT OR IGNORE INTO notifications (team_id, channel_id, state_event_id, monitor_id, \
             incident_id, event, status, attempts, next_attempt_at, created_at) \
             SELECT DISTINCT d.team_id, d.channel_id, ?1, ?2, ?3, 'up', 'pending', 0, ?4, ?4 \
             FROM notifications d WHERE d.incident_id = ?3 AND d.event = 'down' \
               AND d.escalation_step IS NOT NULL AND d.status = 'delivered'",
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
