//! Incidents as people work them: list, read, acknowledge and annotate.

use super::DbStore;
use crate::error::StoreError;
use crate::model::{IncidentNote, IncidentQuery};
use crate::rows::{IncidentRow, clamp_limit};
use watchtower_core::{Incident, IncidentId, TeamId, Timestamp};

const MAX_LIST: u32 = 500;

/// The `incidents` columns an `IncidentRow` reads, the first failure as text.
pub(super) const INCIDENT_COLUMNS: &str = "id, team_id, monitor_id, opened_at, resolved_at, cause, \
     error_class, CAST(first_failure AS TEXT) AS first_failure, acknowledged_at, acknowledged_by";

pub(super) async fn list(
    store: &DbStore,
    team: TeamId,
    query: &IncidentQuery,
) -> Result<Vec<Incident>, StoreError> {
    let sql = format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents \
         WHERE team_id = $1 AND id < $2 \
           AND (CAST($3 AS BIGINT) IS NULL OR monitor_id = $3) \
           AND (NOT $4 OR resolved_at IS NULL) \
         ORDER BY id DESC LIMIT $5"
    );
    let rows: Vec<IncidentRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(team.0)
        .bind(query.before.map_or(i64::MAX, |id| id.0))
        .bind(query.monitor.map(|id| id.0))
        .bind(query.open_only)
        .bind(clamp_limit(query.limit, MAX_LIST))
        .fetch_all(store.reader())
        .await?;
    rows.into_iter().map(IncidentRow::into_incident).collect()
}

pub(super) async fn get(
    store: &DbStore,
    team: TeamId,
    id: IncidentId,
) -> Result<Option<Incident>, StoreError> {
    let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1 AND team_id = $2");
    let row: Option<IncidentRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id.0)
        .bind(team.0)
        .fetch_optional(store.reader())
        .await?;
    row.map(IncidentRow::into_incident).transpose()
}

pub(super) async fn acknowledge(
    store: &DbStore,
    team: TeamId,
    id: IncidentId,
    by: &str,
    at: Timestamp,
) -> Result<Incident, StoreError> {
    let mut tx = store.begin_write().await?;
    sqlx::query(
        "UPDATE incidents SET acknowledged_at = $1, acknowledged_by = $2 \
         WHERE id = $3 AND team_id = $4 AND acknowledged_at IS NULL",
    )
    .bind(at.0)
    .bind(by)
    .bind(id.0)
    .bind(team.0)
    .execute(&mut *tx)
    .await?;
    let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1 AND team_id = $2");
    let row: Option<IncidentRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id.0)
        .bind(team.0)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    row.ok_or(StoreError::NotFound)?.into_incident()
}

pub(super) async fn add_note(
    store: &DbStore,
    team: TeamId,
    id: IncidentId,
    author: &str,
    body: &str,
    at: Timestamp,
) -> Result<IncidentNote, StoreError> {
    let mut tx = store.begin_write().await?;
    let note_id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO incident_notes (incident_id, team_id, author, body, at) \
         SELECT id, team_id, $1, $2, $3 FROM incidents WHERE id = $4 AND team_id = $5 RETURNING id",
    )
    .bind(author)
    .bind(body)
    .bind(at.0)
    .bind(id.0)
    .bind(team.0)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(IncidentNote {
        id: note_id.ok_or(StoreError::NotFound)?,
        incident_id: id,
        author: author.to_owned(),
        body: body.to_owned(),
        at,
    })
}

pub(super) async fn notes(
    store: &DbStore,
    team: TeamId,
    id: IncidentId,
) -> Result<Vec<IncidentNote>, StoreError> {
    let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT id, author, body, at FROM incident_notes \
         WHERE incident_id = $1 AND team_id = $2 ORDER BY id",
    )
    .bind(id.0)
    .bind(team.0)
    .fetch_all(store.reader())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(note, author, body, at)| IncidentNote {
            id: note,
            incident_id: id,
            author,
            body,
            at: Timestamp(at),
        })
        .collect())
}
