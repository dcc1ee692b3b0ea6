//! The batched write in PostgreSQL: raw results and status rows as one statement over arrays
//! (UNNEST) per chunk, and state changes set-wise with their incidents, events and outbox rows.

use super::sql::status_auto::{self, IncidentTurn};
use crate::batch::StatusUpdate;
use crate::error::StoreError;
use crate::model::ChangeRecord;
use crate::outbox::{self, Announcement};
use crate::rows::RawColumns;
use sqlx::{PgConnection, Postgres};
use std::collections::{HashMap, HashSet};

/// Rows per UNNEST insert: arrays keep it one statement with eight parameters.
const ARRAY_CHUNK: usize = 5_000;

const STATUS_INSERT: &str = "INSERT INTO monitor_status (monitor_id, team_id, state, state_since, \
     consecutive_failures, consecutive_successes, incident_open, last_checked_at, last_result) \
     SELECT u.monitor_id, u.team_id, u.state, u.state_since, u.failures, u.successes, u.open, \
     u.checked_at, u.result::jsonb FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::int8[], \
     $5::int8[], $6::int8[], $7::bool[], $8::int8[], $9::text[]) \
     AS u(monitor_id, team_id, state, state_since, failures, successes, open, checked_at, result)";

/// Inserts raw results, one statement over arrays per chunk; a replayed one is ignored.
pub(super) async fn insert_results(
    conn: &mut PgConnection,
    raw: &[RawColumns],
) -> Result<(), StoreError> {
    for chunk in raw.chunks(ARRAY_CHUNK) {
        sqlx::query(
            "INSERT INTO results (monitor_id, checked_at, team_id, status, latency_us, \
             http_status, error_class, message, dns_us, connect_us, tls_us, first_byte_us) \
             SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::int2[], $5::int4[], \
             $6::int2[], $7::int2[], $8::text[], $9::int4[], $10::int4[], $11::int4[], \
             $12::int4[]) ON CONFLICT DO NOTHING",
        )
        .bind(chunk.iter().map(|r| r.monitor_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.checked_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.team_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.status).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.latency_us).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.http_status).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.error_class).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.message.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.phases.dns_us).collect::<Vec<_>>())
        .bind(
            chunk
                .iter()
                .map(|r| r.phases.connect_us)
                .collect::<Vec<_>>(),
        )
        .bind(chunk.iter().map(|r| r.phases.tls_us).collect::<Vec<_>>())
        .bind(
            chunk
                .iter()
                .map(|r| r.phases.first_byte_us)
                .collect::<Vec<_>>(),
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Inserts or updates status rows, one statement over arrays per chunk; `on_conflict` says what
/// an existing row takes from the new one.
pub(super) async fn upsert_status(
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
pub(super) async fn write_changes(
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
    outbox::enqueue::<Postgres>(conn, &announced).await?;
    // A replayed batch inserts no event, so it posts nothing on the status pages either.
    let turns: Vec<IncidentTurn> = run
        .iter()
        .filter(|(_, record)| inserted.contains_key(&record.monitor_id.0))
        .filter_map(|(team, record)| {
            Some(IncidentTurn {
                team: *team,
                monitor: record.monitor_id.0,
                incident: incident_of(record)?,
                opened: record.change.opens_incident,
                at: record.change.at.0,
            })
        })
        .collect();
    status_auto::follow(conn, &turns).await
}
