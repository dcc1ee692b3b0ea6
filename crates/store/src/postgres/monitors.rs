//! Monitors in PostgreSQL: create, update, delete, list, apply a declared set, and the start-up load.

use super::PgStore;
use crate::apply::{self, Existing};
use crate::error::StoreError;
use crate::model::{ApplyReport, BrokenMonitor, MonitorListing, PageRequest, ScheduledLoad};
use crate::rows::{
    MonitorRow, MonitorStatusRow, clamp_limit, decode_spec, push_token, scheduled_load, spec_json,
    with_push_token, write_error,
};
use sqlx::PgConnection;
use watchtower_core::{
    Monitor, MonitorId, MonitorKey, MonitorRuntime, MonitorSpec, MonitorState, TeamId, Timestamp,
};

const MAX_PAGE: u32 = 500;

/// The `monitors` columns a `MonitorRow` reads, the spec as text.
const MONITOR_COLUMNS: &str = "id, team_id, key, name, kind, paused, push_token, spec::text AS spec, \
     created_at, updated_at";

const LISTING_COLUMNS: &str = "m.id, m.team_id, m.key, m.name, m.kind, m.paused, m.push_token, \
     m.spec::text AS spec, m.created_at, m.updated_at, \
     s.state, s.state_since, s.consecutive_failures, s.consecutive_successes, s.incident_open, \
     s.last_checked_at, s.last_result::text AS last_result";

pub(super) async fn create(
    store: &PgStore,
    team: TeamId,
    spec: &MonitorSpec,
    now: Timestamp,
) -> Result<Monitor, StoreError> {
    let mut tx = store.pool.begin().await?;
    let monitor = insert(&mut tx, team, with_push_token(spec), now).await?;
    tx.commit().await?;
    Ok(monitor)
}

/// Inserts a monitor (its spec already carrying any push token) and its first status row.
async fn insert(
    conn: &mut PgConnection,
    team: TeamId,
    spec: MonitorSpec,
    now: Timestamp,
) -> Result<Monitor, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO monitors (team_id, key, name, kind, spec, paused, push_token, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9) RETURNING id",
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
        "INSERT INTO monitor_status (monitor_id, team_id, state, state_since) \
         VALUES ($1, $2, $3, $4)",
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

/// Inserts many monitors (specs already carrying any push token) and their first status rows,
/// one statement per chunk: a round trip per monitor made 100,000 monitors take ~40 s.
async fn insert_many(
    conn: &mut PgConnection,
    team: TeamId,
    specs: &[MonitorSpec],
    now: Timestamp,
) -> Result<(), StoreError> {
    const CHUNK: usize = 2_000;
    for chunk in specs.chunks(CHUNK) {
        let keys: Vec<Option<&str>> = chunk
            .iter()
            .map(|s| s.key.as_ref().map(MonitorKey::as_str))
            .collect();
        let names: Vec<&str> = chunk.iter().map(|s| s.name.as_str()).collect();
        let kinds: Vec<&str> = chunk.iter().map(|s| s.kind.name()).collect();
        let specs_json: Vec<String> = chunk.iter().map(spec_json).collect();
        let paused: Vec<bool> = chunk.iter().map(|s| s.paused).collect();
        let tokens: Vec<Option<String>> = chunk
            .iter()
            .map(|s| push_token(s).map(str::to_owned))
            .collect();
        sqlx::query(
            "WITH created AS ( \
               INSERT INTO monitors (team_id, key, name, kind, spec, paused, push_token, created_at, updated_at) \
               SELECT $1, k, n, kd, s::jsonb, p, t, $2, $2 \
               FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::text[]) AS u(k, n, kd, s, p, t) \
               RETURNING id, paused) \
             INSERT INTO monitor_status (monitor_id, team_id, state, state_since) \
             SELECT id, $1, CASE WHEN paused THEN $9 ELSE $10 END, $2 FROM created",
        )
        .bind(team.0)
        .bind(now.0)
        .bind(&keys)
        .bind(&names)
        .bind(&kinds)
        .bind(&specs_json)
        .bind(&paused)
        .bind(&tokens)
        .bind(MonitorState::Paused.as_str())
        .bind(MonitorState::Pending.as_str())
        .execute(&mut *conn)
        .await
        .map_err(write_error)?;
    }
    Ok(())
}

/// Rewrites a monitor's spec and the columns derived from it.
async fn rewrite(
    conn: &mut PgConnection,
    id: MonitorId,
    spec: &MonitorSpec,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE monitors SET key = $1, name = $2, kind = $3, spec = $4::jsonb, paused = $5, \
         push_token = $6, updated_at = $7 WHERE id = $8",
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
    store: &PgStore,
    team: TeamId,
    id: MonitorId,
    spec: &MonitorSpec,
    now: Timestamp,
) -> Result<Monitor, StoreError> {
    let mut tx = store.pool.begin().await?;
    let current: Option<MonitorRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MONITOR_COLUMNS} FROM monitors WHERE id = $1 AND team_id = $2 FOR UPDATE"
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
async fn remove(conn: &mut PgConnection, id: MonitorId) -> Result<(), StoreError> {
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

pub(super) async fn delete(store: &PgStore, team: TeamId, id: MonitorId) -> Result<(), StoreError> {
    let mut tx = store.pool.begin().await?;
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
    store: &PgStore,
    team: TeamId,
    id: MonitorId,
) -> Result<Option<Monitor>, StoreError> {
    let row: Option<MonitorRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MONITOR_COLUMNS} FROM monitors WHERE id = $1 AND team_id = $2"
    )))
    .bind(id.0)
    .bind(team.0)
    .fetch_optional(&store.pool)
    .await?;
    row.map(MonitorRow::into_readable).transpose()
}

pub(super) async fn list(
    store: &PgStore,
    team: TeamId,
    page: &PageRequest,
) -> Result<Vec<Result<MonitorListing, Box<BrokenMonitor>>>, StoreError> {
    // Each condition is always present and switched off by a NULL parameter, so one prepared
    // statement serves every filter.
    // The URL is searched without its user-info: matching the password would let anyone who can
    // list monitors find it out a letter at a time.
    let sql = format!(
        "SELECT {LISTING_COLUMNS} FROM monitors m LEFT JOIN monitor_status s ON s.monitor_id = m.id \
         WHERE m.team_id = $1 AND m.id > $2 \
           AND ($4::text IS NULL OR s.state = $4) \
           AND ($5::text IS NULL OR m.kind = $5) \
           AND ($6::text IS NULL OR m.spec->'tags' ? $6) \
           AND ($7::text IS NULL OR strpos(lower(m.name), $7) > 0 OR strpos(lower(coalesce(m.key, '')), $7) > 0 \
                OR strpos(lower(coalesce(regexp_replace(m.spec->>'url', '^([a-z][a-z0-9+.-]*://)[^/@]*@', '\\1'), \
                                         m.spec->>'host', '')), $7) > 0) \
         ORDER BY m.id LIMIT $3"
    );
    let filter = &page.filter;
    let rows: Vec<MonitorStatusRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(team.0)
        .bind(page.after.map_or(0, |id| id.0))
        .bind(clamp_limit(page.limit, MAX_PAGE))
        .bind(filter.state.map(MonitorState::as_str))
        .bind(filter.kind.as_deref())
        .bind(filter.tag.as_deref())
        .bind(filter.search.as_deref().map(str::to_lowercase))
        .fetch_all(&store.pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(MonitorStatusRow::into_listing)
        .collect())
}

pub(super) async fn load_scheduled(store: &PgStore) -> Result<ScheduledLoad, StoreError> {
    let sql = format!(
        "SELECT {LISTING_COLUMNS} FROM monitors m LEFT JOIN monitor_status s ON s.monitor_id = m.id \
         ORDER BY m.id"
    );
    let rows: Vec<MonitorStatusRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(&store.pool)
        .await?;
    Ok(scheduled_load(rows))
}

pub(super) async fn find_push(
    store: &PgStore,
    token: &str,
) -> Result<Option<(TeamId, MonitorId)>, StoreError> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT team_id, id FROM monitors WHERE push_token = $1")
            .bind(token)
            .fetch_optional(&store.pool)
            .await?;
    Ok(row.map(|(team, id)| (TeamId(team), MonitorId(id))))
}

pub(super) async fn apply(
    store: &PgStore,
    team: TeamId,
    specs: &[MonitorSpec],
    prune: bool,
    now: Timestamp,
) -> Result<ApplyReport, StoreError> {
    let mut tx = store.pool.begin().await?;
    let rows: Vec<(i64, String, String, Option<String>)> = sqlx::query_as(
        "SELECT id, key, spec::text, push_token FROM monitors \
         WHERE team_id = $1 AND key IS NOT NULL FOR UPDATE",
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
    insert_many(&mut tx, team, &plan.create, now).await?;
    tx.commit().await?;
    Ok(plan.report)
}

pub(super) async fn count_monitors(store: &PgStore, team: TeamId) -> Result<u64, StoreError> {
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM monitors WHERE team_id = $1 AND NOT paused")
            .bind(team.0)
            .fetch_one(&store.pool)
            .await?;
    Ok(count as u64)
}
