//! Monitors: create, update, delete, list, apply a declared set, and the start-up load.

use super::{DbStore, dialect};
use crate::apply::{self, Existing};
use crate::error::StoreError;
use crate::json::JsonText;
use crate::model::{ApplyReport, BrokenMonitor, MonitorListing, PageRequest, ScheduledLoad};
use crate::rows::{
    MonitorRow, MonitorStatusRow, clamp_limit, decode_spec, push_token, scheduled_load, spec_json,
    with_push_token, write_error,
};
use watchtower_core::{
    Monitor, MonitorId, MonitorKey, MonitorRuntime, MonitorSpec, TeamId, Timestamp,
};

const MAX_PAGE: u32 = 500;

/// The `monitors` columns a `MonitorRow` reads, the spec as text.
const MONITOR_COLUMNS: &str = "id, team_id, key, name, kind, paused, push_token, \
     CAST(spec AS TEXT) AS spec, created_at, updated_at";

pub(super) const LISTING_COLUMNS: &str = "m.id, m.team_id, m.key, m.name, m.kind, m.paused, m.push_token, \
     CAST(m.spec AS TEXT) AS spec, m.created_at, m.updated_at, \
     s.state, s.state_since, s.consecutive_failures, s.consecutive_successes, s.incident_open, \
     s.last_checked_at, CAST(s.last_result AS TEXT) AS last_result";

pub(super) async fn create(
    store: &DbStore,
    team: TeamId,
    spec: &MonitorSpec,
    now: Timestamp,
) -> Result<Monitor, StoreError> {
    let mut tx = store.begin_write().await?;
    let monitor = insert(&mut tx, team, with_push_token(spec), now).await?;
    tx.commit().await?;
    Ok(monitor)
}

/// Inserts a monitor (its spec already carrying any push token) and its first status row.
async fn insert(
    conn: &mut super::DbConnection,
    team: TeamId,
    spec: MonitorSpec,
    now: Timestamp,
) -> Result<Monitor, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO monitors (team_id, key, name, kind, spec, paused, push_token, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(team.0)
    .bind(spec.key.as_ref().map(MonitorKey::as_str))
    .bind(&spec.name)
    .bind(spec.kind.name())
    .bind(JsonText(spec_json(&spec)))
    .bind(spec.paused)
    .bind(push_token(&spec))
    .bind(now.0)
    .bind(now.0)
    .fetch_one(&mut *conn)
    .await
    .map_err(write_error)?;
    let runtime = if spec.paused {
        MonitorRuntime::new_paused(now)
    } else {
        MonitorRuntime::new(now)
    };
    sqlx::query(
        "INSERT INTO monitor_status (monitor_id, team_id, state, state_since) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(team.0)
    .bind(runtime.state.as_str())
    .bind(runtime.since.0)
    .execute(&mut *conn)
    .await?;
    Ok(Monitor {
        id: MonitorId(id),
        team_id: team,
        spec,
        created_at: now,
        updated_at: now,
    })
}

/// Rewrites a monitor's spec and the columns derived from it.
async fn rewrite(
    conn: &mut super::DbConnection,
    id: MonitorId,
    spec: &MonitorSpec,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE monitors SET key = $1, name = $2, kind = $3, spec = $4, paused = $5, push_token = $6, \
         updated_at = $7 WHERE id = $8",
    )
    .bind(spec.key.as_ref().map(MonitorKey::as_str))
    .bind(&spec.name)
    .bind(spec.kind.name())
    .bind(JsonText(spec_json(spec)))
    .bind(spec.paused)
    .bind(push_token(spec))
    .bind(now.0)
    .bind(id.0)
    .execute(&mut *conn)
    .await
    .map_err(write_error)?;
    Ok(())
}

pub(super) async fn update(
    store: &DbStore,
    team: TeamId,
    id: MonitorId,
    spec: &MonitorSpec,
    now: Timestamp,
) -> Result<Monitor, StoreError> {
    let mut tx = store.begin_write().await?;
    let current: Option<MonitorRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MONITOR_COLUMNS} FROM monitors WHERE id = $1 AND team_id = $2{}",
        dialect::FOR_UPDATE
    )))
    .bind(id.0)
    .bind(team.0)
    .fetch_optional(&mut *tx)
    .await?;
    // A row whose stored spec cannot be decoded is replaced all the same: that is how it is
    // repaired. Its push token comes from its own column.
    let current = current.ok_or(StoreError::NotFound)?;
    let spec = apply::keep_push_token(spec, current.push_token.as_deref());
    rewrite(&mut tx, id, &spec, now).await?;
    tx.commit().await?;
    Ok(Monitor {
        id,
        team_id: team,
        spec,
        created_at: Timestamp(current.created_at),
        updated_at: now,
    })
}

/// Deletes a monitor's rows in the tables without a foreign key, then the monitor (its status,
/// incidents and events go with it by cascade).
async fn remove(conn: &mut super::DbConnection, id: MonitorId) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM results WHERE monitor_id = $1",
        "DELETE FROM rollups_minute WHERE monitor_id = $1",
        "DELETE FROM rollups_hour WHERE monitor_id = $1",
        "DELETE FROM rollups_day WHERE monitor_id = $1",
        "DELETE FROM monitors WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id.0).execute(&mut *conn).await?;
    }
    Ok(())
}

pub(super) async fn delete(store: &DbStore, team: TeamId, id: MonitorId) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM monitors WHERE id = $1 AND team_id = $2")
            .bind(id.0)
            .bind(team.0)
            .fetch_optional(&mut *tx)
            .await?;
    if found.is_none() {
        return Err(StoreError::NotFound);
    }
    remove(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn get(
    store: &DbStore,
    team: TeamId,
    id: MonitorId,
) -> Result<Option<Monitor>, StoreError> {
    let row: Option<MonitorRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MONITOR_COLUMNS} FROM monitors WHERE id = $1 AND team_id = $2"
    )))
    .bind(id.0)
    .bind(team.0)
    .fetch_optional(store.reader())
    .await?;
    row.map(MonitorRow::into_readable).transpose()
}

pub(super) async fn list(
    store: &DbStore,
    team: TeamId,
    page: &PageRequest,
) -> Result<Vec<Result<MonitorListing, Box<BrokenMonitor>>>, StoreError> {
    // Each condition is always present and switched off by a NULL parameter, so the statement
    // text (and its prepared-statement cache entry) is the same for every filter.
    let (has_tag, search_matches) = (dialect::HAS_TAG, dialect::SEARCH_MATCHES);
    let sql = format!(
        "SELECT {LISTING_COLUMNS} FROM monitors m LEFT JOIN monitor_status s ON s.monitor_id = m.id \
         WHERE m.team_id = $1 AND m.id > $2 \
           AND (CAST($4 AS TEXT) IS NULL OR s.state = $4) \
           AND (CAST($5 AS TEXT) IS NULL OR m.kind = $5) \
           AND (CAST($6 AS TEXT) IS NULL OR {has_tag}) \
           AND (CAST($7 AS TEXT) IS NULL OR {search_matches}) \
         ORDER BY m.id LIMIT $3"
    );
    let filter = &page.filter;
    let rows: Vec<MonitorStatusRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(team.0)
        .bind(page.after.map_or(0, |id| id.0))
        .bind(clamp_limit(page.limit, MAX_PAGE))
        .bind(filter.state.map(watchtower_core::MonitorState::as_str))
        .bind(filter.kind.as_deref())
        .bind(filter.tag.as_deref())
        .bind(filter.search.as_deref().map(str::to_lowercase))
        .fetch_all(store.reader())
        .await?;
    Ok(rows
        .into_iter()
        .map(MonitorStatusRow::into_listing)
        .collect())
}

pub(super) async fn load_scheduled(store: &DbStore) -> Result<ScheduledLoad, StoreError> {
    let sql = format!(
        "SELECT {LISTING_COLUMNS} FROM monitors m LEFT JOIN monitor_status s ON s.monitor_id = m.id \
         ORDER BY m.id"
    );
    let rows: Vec<MonitorStatusRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(store.reader())
        .await?;
    Ok(scheduled_load(rows))
}

pub(super) async fn find_push(
    store: &DbStore,
    token: &str,
) -> Result<Option<(TeamId, MonitorId)>, StoreError> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT team_id, id FROM monitors WHERE push_token = $1")
            .bind(token)
            .fetch_optional(store.reader())
            .await?;
    Ok(row.map(|(team, id)| (TeamId(team), MonitorId(id))))
}

pub(super) async fn apply(
    store: &DbStore,
    team: TeamId,
    specs: &[MonitorSpec],
    prune: bool,
    now: Timestamp,
) -> Result<ApplyReport, StoreError> {
    let mut tx = store.begin_write().await?;
    let rows: Vec<(i64, String, String, Option<String>)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, key, CAST(spec AS TEXT), push_token FROM monitors \
         WHERE team_id = $1 AND key IS NOT NULL{}",
            dialect::FOR_UPDATE
        )))
        .bind(team.0)
        .fetch_all(&mut *tx)
        .await?;
    let existing = rows
        .into_iter()
        .map(|(id, key, spec, push_token)| {
            Ok(Existing {
                id: MonitorId(id),
                key: MonitorKey::parse(&key).map_err(StoreError::Corrupt)?,
                spec: decode_spec(&spec).ok(),
                push_token,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let plan = apply::plan(existing, specs, prune)?;
    for id in &plan.delete {
        remove(&mut tx, *id).await?;
    }
    for (id, spec) in &plan.update {
        rewrite(&mut tx, *id, spec, now).await?;
    }
    dialect::insert_monitors(&mut tx, team, &plan.create, now).await?;
    tx.commit().await?;
    Ok(plan.report)
}

pub(super) async fn count_monitors(store: &DbStore, team: TeamId) -> Result<u64, StoreError> {
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM monitors WHERE team_id = $1 AND NOT paused")
            .bind(team.0)
            .fetch_one(store.reader())
            .await?;
    Ok(count as u64)
}
