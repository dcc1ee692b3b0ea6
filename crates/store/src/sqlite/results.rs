//! The batched write in SQLite: raw results and status rows as multi-row `VALUES`, and each
//! state change with its incident, event and outbox rows.

use super::dialect::multi_row_sql;
use super::sql::status_auto::{self, IncidentTurn};
use crate::batch::{RAW_CHUNK, STATUS_CHUNK, StatusUpdate};
use crate::error::StoreError;
use crate::model::ChangeRecord;
use crate::outbox::{self, Announcement};
use crate::rows::RawColumns;
use sqlx::{Sqlite, SqliteConnection};

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
             http_status, error_class, message, dns_us, connect_us, tls_us, first_byte_us)",
            12,
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
                .bind(row.message.as_deref())
                .bind(row.phases.dns_us)
                .bind(row.phases.connect_us)
                .bind(row.phases.tls_us)
                .bind(row.phases.first_byte_us);
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

/// The batch's state changes, one after another, in the batch's order, then the outbox rows of
/// the new events (`outbox.rs`), all in the batch's transaction.
pub(super) async fn write_changes(
    conn: &mut SqliteConnection,
    changes: &[(i64, &ChangeRecord)],
) -> Result<(), StoreError> {
    let mut announced = Vec::new();
    let mut turns = Vec::new();
    for (team, change) in changes {
        let (announcement, turn) = write_change(conn, *team, change).await?;
        announced.extend(announcement);
        turns.extend(turn);
    }
    outbox::enqueue::<Sqlite>(conn, &announced).await?;
    status_auto::follow(conn, &turns).await
}

/// One state change: the incident it opens or resolves (both idempotent), then its event row;
/// returns, for a new event, its announcement for the outbox and its incident's turn for the
/// status pages.
async fn write_change(
    conn: &mut SqliteConnection,
    team: i64,
    record: &ChangeRecord,
) -> Result<(Option<Announcement>, Option<IncidentTurn>), StoreError> {
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
    // A replayed batch inserts no event, so it queues no notification and posts nothing.
    let Some(event_id) = event_id else {
        return Ok((None, None));
    };
    let turn = incident_id
        .filter(|_| change.opens_incident || change.resolves_incident)
        .map(|incident| IncidentTurn {
            team,
            monitor,
            incident,
            opened: change.opens_incident,
            at: change.at.0,
        });
    Ok((Announcement::of(event_id, team, record, incident_id), turn))
}
