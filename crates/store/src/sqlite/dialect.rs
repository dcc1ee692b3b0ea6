//! What only SQLite says, for the shared statements in `sql` to use: JSON through `json_each`
//! and `json_extract`, and bulk writes as multi-row `VALUES` (SQLite has no arrays to bind).

use super::SqliteStore;
use crate::error::StoreError;
use crate::history::{self, BUCKET_COLUMNS, Bucket};
use crate::json::JsonText;
use crate::rows::{push_token, spec_json, write_error};
use sqlx::SqliteConnection;
use std::collections::HashMap;
use watchtower_core::{MonitorKey, MonitorRuntime, MonitorSpec, TeamId, Timestamp};

/// `prefix` followed by `rows` groups of `columns` placeholders, then `suffix`.
pub(super) fn multi_row_sql(prefix: &str, columns: usize, rows: usize, suffix: &str) -> String {
    let group = format!("({})", vec!["?"; columns].join(","));
    format!("{prefix} VALUES {} {suffix}", vec![group; rows].join(","))
}

// ---- monitors ----

/// Locks the rows a write transaction reads: nothing to add, `BEGIN IMMEDIATE` already holds the
/// file's write lock.
pub(super) const FOR_UPDATE: &str = "";

/// Whether monitor `m` carries the tag `$6`.
pub(super) const HAS_TAG: &str =
    "EXISTS (SELECT 1 FROM json_each(m.spec, '$.tags') t WHERE t.value = $6)";

/// Whether monitor `m`'s name, key, URL or host contains the lower-case `$7`. The URL is searched
/// without its user-info: a search that matched the password would let anyone who can list
/// monitors find it out a letter at a time. The url crate always writes the path's `/` right
/// after the host, so an `@` before it ends the user-info.
pub(super) const SEARCH_MATCHES: &str = "instr(lower(m.name), $7) > 0 \
     OR instr(lower(coalesce(m.key, '')), $7) > 0 \
     OR instr(lower(coalesce((SELECT CASE WHEN instr(rest, '@') BETWEEN 1 AND instr(rest, '/') \
          THEN scheme || substr(rest, instr(rest, '@') + 1) ELSE url END \
          FROM (SELECT url, substr(url, 1, instr(url, '://') + 2) AS scheme, \
                       substr(url, instr(url, '://') + 3) AS rest \
                FROM (SELECT json_extract(m.spec, '$.url') AS url))), \
          json_extract(m.spec, '$.host'), '')), $7) > 0";

/// Inserts many keyed monitors (specs already carrying any push token) with multi-row statements:
/// one round trip to SQLite's worker per chunk instead of two per monitor.
pub(super) async fn insert_monitors(
    conn: &mut SqliteConnection,
    team: TeamId,
    specs: &[MonitorSpec],
    now: Timestamp,
) -> Result<(), StoreError> {
    const CHUNK: usize = 200;
    for chunk in specs.chunks(CHUNK) {
        let sql = multi_row_sql(
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
                .bind(JsonText(spec_json(spec)))
                .bind(spec.paused)
                .bind(push_token(spec))
                .bind(now.0)
                .bind(now.0);
        }
        // RETURNING order is not guaranteed in SQLite: match rows back by key.
        let ids: HashMap<String, i64> = insert
            .fetch_all(&mut *conn)
            .await
            .map_err(write_error)?
            .into_iter()
            .map(|(id, key)| (key, id))
            .collect();
        let sql = multi_row_sql(
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

// ---- lists of ids ----

/// `IN` the ids bound at `$param` with [`id_list`].
pub(super) fn in_ids(param: usize) -> String {
    format!("IN (SELECT value FROM json_each(${param}))")
}

/// Ids as one parameter: a JSON array, which [`in_ids`] reads back with `json_each`.
pub(super) fn id_list(ids: &[i64]) -> String {
    serde_json::to_string(ids).expect("integers serialize")
}

// ---- alerting ----

/// Whether the last result `s.last_result` carries a certificate.
pub(super) const HAS_CERTIFICATE: &str = "json_extract(s.last_result, '$.certificate') IS NOT NULL";

// ---- status page subscribers ----

/// Whether subscriber `s` follows one of the components post `i` names.
pub(super) const SUBSCRIBER_FOLLOWS_POST: &str = "EXISTS (SELECT 1 FROM json_each(s.components) f, \
     json_each(i.components) c WHERE f.value = json_extract(c.value, '$.name'))";

/// Whether subscriber `s` follows one of the component names bound at `$param` (a JSON list).
pub(super) fn subscriber_follows_any(param: usize) -> String {
    format!(
        "EXISTS (SELECT 1 FROM json_each(s.components) f, json_each(${param}) c \
         WHERE f.value = c.value)"
    )
}

// ---- history ----

/// The earliest time at or after `$1` in `table`'s `time` column, over every monitor: one
/// index probe per monitor through the primary key.
pub(super) fn first_at_or_after(table: &str, time: &str) -> String {
    format!(
        "SELECT MIN((SELECT t.{time} FROM {table} t WHERE t.monitor_id = m.id \
         AND t.{time} >= $1 ORDER BY t.{time} LIMIT 1)) FROM monitors m"
    )
}

/// Inserts or replaces buckets in `table`, in multi-row statements in one write transaction.
pub(super) async fn upsert_buckets(
    store: &SqliteStore,
    table: &str,
    buckets: &[Bucket],
) -> Result<(), StoreError> {
    let prefix = format!("INSERT INTO {table} ({BUCKET_COLUMNS})");
    let mut tx = store.begin_write().await?;
    for chunk in buckets.chunks(500) {
        let sql = multi_row_sql(&prefix, 15, chunk.len(), history::BUCKET_UPSERT);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in chunk {
            query = query
                .bind(b.monitor_id)
                .bind(b.bucket_start)
                .bind(b.team_id)
                .bind(b.count)
                .bind(b.up_count)
                .bind(b.degraded_count)
                .bind(b.latency_min_us)
                .bind(b.latency_sum_us)
                .bind(b.latency_max_us)
                .bind(b.latency_p95_us)
                .bind(b.phase_count)
                .bind(b.dns_sum_us)
                .bind(b.connect_sum_us)
                .bind(b.tls_sum_us)
                .bind(b.first_byte_sum_us);
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

// ---- the batched write ----

pub(super) use super::results::{insert_results, upsert_status, write_changes};

/// A fenced write needs shard leases, which only PostgreSQL keeps: an SQLite file is served by
/// one instance (`serve` holds its lock file), so nothing here could be checked.
pub(super) async fn check_fence(
    _conn: &mut SqliteConnection,
    _fence: &crate::leases::WriteFence,
) -> Result<(), StoreError> {
    Err(StoreError::Unavailable(
        "shard leases need PostgreSQL; an SQLite database is served by one instance".to_owned(),
    ))
}

/// The team of each monitor of a batch, the ids bound with [`id_list`].
pub(super) const BATCH_MONITORS: &str =
    "SELECT id, team_id FROM monitors WHERE id IN (SELECT value FROM json_each($1))";
