//! What only PostgreSQL says, for the shared statements in `sql` to use: `jsonb` operators, row
//! locks, and bulk writes as one statement over array parameters (UNNEST).

use super::PgStore;
use crate::error::StoreError;
use crate::history::{self, BUCKET_COLUMNS, Bucket};
use crate::rows::{push_token, spec_json, write_error};
use sqlx::PgConnection;
use watchtower_core::{MonitorKey, MonitorSpec, MonitorState, TeamId, Timestamp};

// ---- monitors ----

/// Locks the rows a write transaction reads until it commits.
pub(super) const FOR_UPDATE: &str = " FOR UPDATE";

/// Whether monitor `m` carries the tag `$6`.
pub(super) const HAS_TAG: &str = "m.spec->'tags' ? $6";

/// Whether monitor `m`'s name, key, URL or host contains the lower-case `$7`. The URL is searched
/// without its user-info: matching the password would let anyone who can list monitors find it
/// out a letter at a time.
pub(super) const SEARCH_MATCHES: &str = "strpos(lower(m.name), $7) > 0 \
     OR strpos(lower(coalesce(m.key, '')), $7) > 0 \
     OR strpos(lower(coalesce(regexp_replace(m.spec->>'url', '^([a-z][a-z0-9+.-]*://)[^/@]*@', '\\1'), \
                              m.spec->>'host', '')), $7) > 0";

/// Inserts many monitors (specs already carrying any push token) and their first status rows,
/// one statement per chunk: a round trip per monitor made 100,000 monitors take ~40 s.
pub(super) async fn insert_monitors(
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

// ---- lists of ids ----

/// Equal to one of the ids bound at `$param` with [`id_list`].
pub(super) fn in_ids(param: usize) -> String {
    format!("= ANY(${param})")
}

/// Ids as one parameter: an array.
pub(super) fn id_list(ids: &[i64]) -> &[i64] {
    ids
}

// ---- status page subscribers ----

/// Whether subscriber `s` follows one of the components post `i` names (both JSON text).
pub(super) const SUBSCRIBER_FOLLOWS_POST: &str = "EXISTS (SELECT 1 \
     FROM json_array_elements_text(s.components::json) AS f(name), \
     json_array_elements(i.components::json) AS c(value) WHERE f.name = c.value ->> 'name')";

/// Whether subscriber `s` follows one of the component names bound at `$param` (a JSON list).
pub(super) fn subscriber_follows_any(param: usize) -> String {
    format!(
        "EXISTS (SELECT 1 FROM json_array_elements_text(s.components::json) AS f(name), \
         json_array_elements_text(CAST(${param} AS TEXT)::json) AS c(name) WHERE f.name = c.name)"
    )
}

// ---- alerting ----

/// Whether the last result `s.last_result` carries a certificate (JSON `null` is none).
pub(super) const HAS_CERTIFICATE: &str = "s.last_result -> 'certificate' IS NOT NULL \
     AND s.last_result -> 'certificate' <> 'null'::jsonb";

// ---- history ----

/// The earliest time at or after `$1` in `table`'s `time` column, over every monitor: one
/// index probe per monitor through the primary key.
pub(super) fn first_at_or_after(table: &str, time: &str) -> String {
    format!(
        "SELECT MIN(first.at) FROM monitors m CROSS JOIN LATERAL (SELECT t.{time} AS at \
         FROM {table} t WHERE t.monitor_id = m.id AND t.{time} >= $1 \
         ORDER BY t.{time} LIMIT 1) first"
    )
}

/// Inserts or replaces buckets in `table`, in one statement over one array per column.
pub(super) async fn upsert_buckets(
    store: &PgStore,
    table: &str,
    buckets: &[Bucket],
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO {table} ({BUCKET_COLUMNS}) SELECT * FROM UNNEST($1::int8[], $2::int8[], \
         $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::int8[], $9::int8[], \
         $10::int8[], $11::int8[], $12::int8[], $13::int8[], $14::int8[], $15::int8[]) {}",
        history::BUCKET_UPSERT
    );
    let column = |get: fn(&Bucket) -> i64| buckets.iter().map(get).collect::<Vec<i64>>();
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(column(|b| b.monitor_id))
        .bind(column(|b| b.bucket_start))
        .bind(column(|b| b.team_id))
        .bind(column(|b| b.count))
        .bind(column(|b| b.up_count))
        .bind(column(|b| b.degraded_count))
        .bind(column(|b| b.latency_min_us))
        .bind(column(|b| b.latency_sum_us))
        .bind(column(|b| b.latency_max_us))
        .bind(column(|b| b.latency_p95_us))
        .bind(column(|b| b.phase_count))
        .bind(column(|b| b.dns_sum_us))
        .bind(column(|b| b.connect_sum_us))
        .bind(column(|b| b.tls_sum_us))
        .bind(column(|b| b.first_byte_sum_us))
        .execute(&store.pool)
        .await?;
    Ok(())
}

// ---- the batched write ----

pub(super) use super::leases::check_fence;
pub(super) use super::results::{insert_results, upsert_status, write_changes};

/// The team of each monitor of a batch, the ids bound with [`id_list`]. KEY SHARE keeps the
/// monitors from being deleted under the batch without blocking edits.
pub(super) const BATCH_MONITORS: &str =
    "SELECT id, team_id FROM monitors WHERE id = ANY($1) ORDER BY id FOR KEY SHARE";
