//! Monitors in SQLite: create, update, delete, list, apply a declared set, and the start-up load.

use super::SqliteStore;
use crate::apply::{self, Existing};
use crate::error::StoreError;
use crate::model::{ApplyReport, BrokenMonitor, MonitorListing, PageRequest, ScheduledLoad};
use crate::rows::{
    MonitorRow, MonitorStatusRow, clamp_limit, decode_spec, push_token, scheduled_load, spec_json,
    with_push_token, write_error,
};
use sqlx::SqliteConnection;
use watchtower_core::{
    Monitor, MonitorId, MonitorKey, MonitorRuntime, MonitorSpec, TeamId, Timestamp,
};

const MAX_PAGE: u32 = 500;

/// The `monitors` columns a `MonitorRow` reads.
const MONITOR_COLUMNS: &str =
    "id, team_id, key, name, kind, paused, push_token, spec, created_at, updated_at";

const LISTING_COLUMNS: &str = "m.id, m.team_id, m.key, m.name, m.kind, m.paused, m.push_token, \
     m.spec, m.created_at, m.updated_at, \
     s.state, s.state_since, s.consecutive_failures, s.consecutive_successes, s.incident_open, \
     s.last_checked_at, s.last_result";

pub(super) async fn create(
    store: &SqliteStore,
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
    conn: &mut SqliteConnection,
    team: TeamId,
    spec: MonitorSpec,
    now: Timestamp,
) -> Result<Monitor, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO monitors (team_id, key, name, kind, spec, paused, push_token, created_at, \
         updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(team.0)
    .bind(spec.key.as_ref().map(MonitorKey::as_str))
    .bind(&spec.name)
    .bind(spec.kind.name())
    .bind(spec_json(&spec))
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
        "INSERT INTO monitor_status (monitor_id, team_id, state, state_since) VALUES (?, ?, ?, ?)",
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

/// Inserts many keyed monitors (specs already carrying any push token) with multi-row statements:
/// one round trip to SQLite's worker per chunk instead of two per monitor.
async fn insert_keyed(
    conn: &mut SqliteConnection,
    team: TeamId,
    specs: Vec<MonitorSpec>,
    now: Timestamp,
) -> Result<(), StoreError> {
    const CHUNK: usize = 200;
    for chunk in specs.chunks(CHUNK) {
        let sql = super::multi_row_sql(
            "INSERT INTO monitors (team_id, key, name, kind, spec, paused, push_token, created_at, updated_at)",
            9,
            chunk.len(),
            "RETURNING id, key",
        );
        let mut insert = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql));
        for spec in chunk {
            insert = insert
                .bind(team.0)
                .bind(spec.key.as_ref().map(MonitorKey::as_str))
                .bind(&spec.name)
                .bind(spec.kind.name())
                .bind(spec_json(spec))
                .bind(spec.paused)
                .bind(push_token(spec))
                .bind(now.0)
                .bind(now.0);
        }
        // RETURNING order is not guaranteed in SQLite: match rows back by key.
        let ids: std::collections::HashMap<String, i64> = insert
            .fetch_all(&mut *conn)
            .await
            .map_err(write_error)?
            .into_iter()
            .map(|(id, key)| (key, id))
            .collect();
        let sql = super::multi_row_sql(
            "INSERT INTO monitor_status (monitor_id, team_id, state, state_since)",
            4,
            chunk.len(),
            "",
        );
        let mut status = sqlx::query(sqlx::AssertSqlSafe(sql));
        for spec in chunk {
            let key = spec
                .key
                .as_ref()
                .map(MonitorKey::as_str)
                .unwrap_or_default();
            let id = ids
                .get(key)
                .copied()
                .ok_or_else(|| StoreError::Corrupt(format!("no id returned for key {key}")))?;
            let runtime = if spec.paused {
                MonitorRuntime::new_paused(now)
            } else {
                MonitorRuntime::new(now)
            };
            status = status
                .bind(id)
                .bind(team.0)
                .bind(runtime.state.as_str())
                .bind(runtime.since.0);
        }
        status.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Rewrites a monitor's spec and the columns derived from it.
async fn rewrite(
    conn: &mut SqliteConnection,
    id: MonitorId,
    spec: &MonitorSpec,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE monitors SET key = ?, name = ?, kind = ?, spec = ?, paused = ?, push_token = ?, \
         updated_at = ? WHERE id = ?",
    )
    .bind(spec.key.as_ref().map(MonitorKey::as_str))
    .bind(&spec.name)
    .bind(spec.kind.name())
    .bind(spec_json(spec))
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
    store: &SqliteStore,
    team: TeamId,
    id: MonitorId,
    spec: &MonitorSpec,
    now: Timestamp,
) -> Result<Monitor, StoreError> {
    let mut tx = store.begin_write().await?;
    let current: Option<MonitorRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MONITOR_COLUMNS} FROM monitors WHERE id = ? AND team_id = ?"
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
async fn remove(conn: &mut SqliteConnection, id: MonitorId) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM results WHERE monitor_id = ?",
        "DELETE FROM rollups_minute WHERE monitor_id = ?",
        "DELETE FROM rollups_hour WHERE monitor_id = ?",
        "DELETE FROM rollups_day WHERE monitor_id = ?",
        "DELETE FROM monitors WHERE id = ?",
    ] {
        sqlx::query(sql).bind(id.0).execute(&mut *conn).await?;
    }
    Ok(())
}

pub(super) async fn delete(
    store: &SqliteStore,
    team: TeamId,
    id: MonitorId,
) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM monitors WHERE id = ? AND team_id = ?")
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
    store: &SqliteStore,
    team: TeamId,
    id: MonitorId,
) -> Result<Option<Monitor>, StoreError> {
    let row: Option<MonitorRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MONITOR_COLUMNS} FROM monitors WHERE id = ? AND team_id = ?"
    )))
    .bind(id.0)
    .bind(team.0)
    .fetch_optional(&store.read)
    .await?;
    row.map(MonitorRow::into_readable).transpose()
}

/// The monitor's URL without its user-info, for search: a search that matched the password
/// would let anyone who can list monitors find it out a letter at a time. The url crate always
/// writes the path's `/` right after the host, so an `@` before it ends the user-info.
const URL_WITHOUT_USERINFO: &str = "SELECT CASE WHEN instr(rest, '@') BETWEEN 1 AND instr(rest, '/') \
     THEN scheme || substr(rest, instr(rest, '@') + 1) ELSE url END \
     FROM (SELECT url, substr(url, 1, instr(url, '://') + 2) AS scheme, \
                  substr(url, instr(url, '://') + 3) AS rest \
           FROM (SELECT json_extract(m.spec, '$.url') AS url))";

pub(super) async fn list(
    store: &SqliteStore,
    team: TeamId,
    page: &PageRequest,
) -> Result<Vec<Result<MonitorListing, Box<BrokenMonitor>>>, StoreError> {
    // Each condition is always present and switched off by a NULL parameter, so the statement
    // text (and SQLite's prepared-statement cache entry) is the same for every filter.
    let sql = format!(
        "SELECT {LISTING_COLUMNS} FROM monitors m LEFT JOIN monitor_status s ON s.monitor_id = m.id \
         WHERE m.team_id = ?1 AND m.id > ?2 \
           AND (?4 IS NULL OR s.state = ?4) \
           AND (?5 IS NULL OR m.kind = ?5) \
           AND (?6 IS NULL OR EXISTS (SELECT 1 FROM json_each(m.spec, '$.tags') t WHERE t.value = ?6)) \
           AND (?7 IS NULL OR instr(lower(m.name), ?7) > 0 OR instr(lower(coalesce(m.key, '')), ?7) > 0 \
                OR instr(lower(coalesce(({URL_WITHOUT_USERINFO}), json_extract(m.spec, '$.host'), '')), ?7) > 0) \
         ORDER BY m.id LIMIT ?3"
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
        .fetch_all(&store.read)
        .await?;
    Ok(rows
        .into_iter()
        .map(MonitorStatusRow::into_listing)
        .collect())
}

pub(super) async fn load_scheduled(store: &SqliteStore) -> Result<ScheduledLoad, StoreError> {
    let sql = format!(
        "SELECT {LISTING_COLUMNS} FROM monitors m LEFT JOIN monitor_status s ON s.monitor_id = m.id \
         ORDER BY m.id"
    );
    let rows: Vec<MonitorStatusRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(&store.read)
        .await?;
    Ok(scheduled_load(rows))
}

pub(super) async fn find_push(
    store: &SqliteStore,
    token: &str,
) -> Result<Option<(TeamId, MonitorId)>, StoreError> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT team_id, id FROM monitors WHERE push_token = ?")
            .bind(token)
            .fetch_optional(&store.read)
            .await?;
    Ok(row.map(|(team, id)| (TeamId(team), MonitorId(id))))
}

pub(super) async fn apply(
    store: &SqliteStore,
    team: TeamId,
    specs: &[MonitorSpec],
    prune: bool,
    now: Timestamp,
) -> Result<ApplyReport, StoreError> {
    let mut tx = store.begin_write().await?;
    let rows: Vec<(i64, String, String, Option<String>)> = sqlx::query_as(
        "SELECT id, key, spec, push_token FROM monitors WHERE team_id = ? AND key IS NOT NULL",
    )
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
    insert_keyed(&mut tx, team, plan.create, now).await?;
    tx.commit().await?;
    Ok(plan.report)
}

pub(super) async fn count_monitors(store: &SqliteStore, team: TeamId) -> Result<u64, StoreError> {
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM monitors WHERE team_id = ? AND paused = 0")
            .bind(team.0)
            .fetch_one(&store.read)
            .await?;
    Ok(count as u64)
}
