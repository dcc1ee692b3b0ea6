//! History: rolling raw results into minute, hour and day buckets, pruning by retention, and
//! uptime over a period. The math lives in `crate::history`; this is the SQL around it.
//!
//! Time-range scans join from `monitors` so each monitor's rows are reached through the primary
//! key `(monitor_id, time)`; that spares the raw table a second index on time.

use super::{DbConnection, DbStore, dialect};
use crate::error::StoreError;
use crate::history::{
    self, BUCKET_COLUMNS, Bucket, Level, MONITOR_PAGE, PRUNE_CHUNK, RollupSql, Sample, Source,
    Watermarks,
};
use crate::model::{PruneReport, Retention, RollupReport, UptimeSummary};
use async_trait::async_trait;
use std::collections::HashMap;
use watchtower_core::{MonitorId, Plan, TeamId, Timestamp};

fn table(level: Level) -> &'static str {
    match level {
        Level::Minute => "rollups_minute",
        Level::Hour => "rollups_hour",
        Level::Day => "rollups_day",
    }
}

/// The table a level is computed from, and its time column.
fn source(level: Level) -> (&'static str, &'static str) {
    match level {
        Level::Minute => ("results", "checked_at"),
        Level::Hour => ("rollups_minute", "bucket_start"),
        Level::Day => ("rollups_hour", "bucket_start"),
    }
}

pub(super) async fn watermarks(conn: &mut DbConnection) -> Result<Watermarks, StoreError> {
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT level, done_until FROM rollup_progress")
        .fetch_all(&mut *conn)
        .await?;
    Ok(history::watermarks_from(rows))
}

pub(super) async fn roll_up(store: &DbStore, now: Timestamp) -> Result<RollupReport, StoreError> {
    history::roll_up(store, now.0).await
}

#[async_trait]
impl RollupSql for DbStore {
    async fn watermarks(&self) -> Result<Watermarks, StoreError> {
        watermarks(&mut *self.reader().acquire().await?).await
    }

    async fn first_unrolled(&self, level: Level, from: i64) -> Result<Option<i64>, StoreError> {
        let (from_table, time) = source(level);
        let sql = dialect::first_at_or_after(from_table, time);
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(from)
            .fetch_one(self.reader())
            .await?)
    }

    async fn monitor_page(&self, after: i64) -> Result<Vec<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM monitors WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(after)
                .bind(MONITOR_PAGE)
                .fetch_all(self.reader())
                .await?,
        )
    }

    async fn samples(
        &self,
        low: i64,
        high: i64,
        from: i64,
        to: i64,
    ) -> Result<Vec<Sample>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.monitor_id, r.team_id, r.checked_at, r.status, r.latency_us, r.dns_us, \
             r.connect_us, r.tls_us, r.first_byte_us \
             FROM monitors m JOIN results r ON r.monitor_id = m.id \
             WHERE m.id BETWEEN $1 AND $2 AND r.checked_at >= $3 AND r.checked_at < $4 \
             ORDER BY r.monitor_id, r.checked_at",
        )
        .bind(low)
        .bind(high)
        .bind(from)
        .bind(to)
        .fetch_all(self.reader())
        .await?)
    }

    async fn children(
        &self,
        level: Level,
        low: i64,
        high: i64,
        from: i64,
        to: i64,
    ) -> Result<Vec<Bucket>, StoreError> {
        let (from_table, time) = source(level);
        let sql = format!(
            "SELECT {} FROM monitors m JOIN {from_table} t ON t.monitor_id = m.id \
             WHERE m.id BETWEEN $1 AND $2 AND t.{time} >= $3 AND t.{time} < $4 \
             ORDER BY t.monitor_id, t.{time}",
            history::prefixed_bucket_columns("t")
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(low)
            .bind(high)
            .bind(from)
            .bind(to)
            .fetch_all(self.reader())
            .await?)
    }

    async fn upsert_buckets(&self, level: Level, buckets: &[Bucket]) -> Result<(), StoreError> {
        dialect::upsert_buckets(self, table(level), buckets).await
    }

    async fn advance(&self, level: Level, to: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE rollup_progress SET done_until = $1 WHERE level = $2 AND done_until < $1",
        )
        .bind(to)
        .bind(level.name())
        .execute(self.writer())
        .await?;
        Ok(())
    }
}

pub(super) async fn prune(
    store: &DbStore,
    now: Timestamp,
    retention: &Retention,
) -> Result<PruneReport, StoreError> {
    let marks = watermarks(&mut *store.reader().acquire().await?).await?;
    let age = |keep: std::time::Duration| now.0 - keep.as_millis() as i64;
    // Never delete what the next level up has not rolled yet.
    let targets = [
        (
            "results",
            "checked_at",
            age(retention.raw).min(marks.minute),
        ),
        (
            "rollups_minute",
            "bucket_start",
            age(retention.minute).min(marks.hour),
        ),
        (
            "rollups_hour",
            "bucket_start",
            age(retention.hour).min(marks.day),
        ),
        ("rollups_day", "bucket_start", age(retention.day)),
    ];
    let mut report = PruneReport::default();
    for (name, time, cutoff) in targets {
        let sql = format!(
            "DELETE FROM {name} WHERE (monitor_id, {time}) IN (SELECT t.monitor_id, t.{time} \
             FROM monitors m JOIN {name} t ON t.monitor_id = m.id WHERE t.{time} < $1 LIMIT $2)"
        );
        delete_in_chunks(store, name, &sql, cutoff, None, &mut report).await?;
    }
    Ok(report)
}

/// Runs a pruning `DELETE` on `table` until a chunk comes back short, counting what it deleted
/// in `report`: `$1` is the cutoff, `$2` the chunk size, and `$3` the plan when one is given.
async fn delete_in_chunks(
    store: &DbStore,
    table: &str,
    sql: &str,
    cutoff: i64,
    plan: Option<Plan>,
    report: &mut PruneReport,
) -> Result<(), StoreError> {
    loop {
        let mut delete = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .bind(cutoff)
            .bind(PRUNE_CHUNK);
        if let Some(plan) = plan {
            delete = delete.bind(plan.as_str());
        }
        let deleted = delete.execute(store.writer()).await?.rows_affected();
        if table == "results" {
            report.raw_results += deleted;
        } else {
            report.rollups += deleted;
        }
        if deleted < PRUNE_CHUNK as u64 {
            return Ok(());
        }
    }
}

pub(super) async fn uptime(
    store: &DbStore,
    team: TeamId,
    monitor: MonitorId,
    from: Timestamp,
    to: Timestamp,
) -> Result<UptimeSummary, StoreError> {
    // One snapshot: the watermarks and the rows they point at agree.
    let mut tx = store.begin_snapshot().await?;
    let marks = watermarks(&mut tx).await?;
    let pieces = history::plan_uptime(from.0, to.0, marks);
    let buckets = read_pieces(&mut tx, team, monitor, &pieces).await?;
    tx.commit().await?;
    Ok(history::summarize(&buckets, &[]))
}

/// Reads one monitor's buckets over `pieces` (each a source and its `[start, end)`), raw
/// results in the shape of buckets (`RAW_AS_BUCKET`), as `uptime_many` reads them.
pub(super) async fn read_pieces(
    conn: &mut DbConnection,
    team: TeamId,
    monitor: MonitorId,
    pieces: &[(Source, i64, i64)],
) -> Result<Vec<Bucket>, StoreError> {
    let mut buckets = Vec::new();
    for &(source, start, end) in pieces {
        if start >= end {
            continue;
        }
        let (columns, table, time) = piece(source);
        let sql = format!(
            "SELECT {columns} FROM {table} WHERE monitor_id = $1 AND team_id = $2 \
             AND {time} >= $3 AND {time} < $4"
        );
        let rows: Vec<Bucket> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(monitor.0)
            .bind(team.0)
            .bind(start)
            .bind(end)
            .fetch_all(&mut *conn)
            .await?;
        buckets.extend(rows);
    }
    Ok(buckets)
}

/// What one piece of an uptime period is read as: its columns (rollup buckets, or raw results
/// in their shape), its table and its time column.
fn piece(source: Source) -> (&'static str, &'static str, &'static str) {
    match source {
        Source::Rollup(level) => (BUCKET_COLUMNS, table(level), "bucket_start"),
        Source::Raw => (history::RAW_AS_BUCKET, "results", "checked_at"),
    }
}

/// `uptime` for several monitors: the same pieces as `plan_uptime` gives one monitor, read for
/// all of them in one statement (raw results in the shape of buckets), in one snapshot.
pub(super) async fn uptime_many(
    store: &DbStore,
    team: TeamId,
    monitors: &[MonitorId],
    from: Timestamp,
    to: Timestamp,
) -> Result<HashMap<MonitorId, UptimeSummary>, StoreError> {
    if monitors.is_empty() {
        return Ok(HashMap::new());
    }
    let mut tx = store.begin_snapshot().await?;
    let marks = watermarks(&mut tx).await?;
    let plan = history::plan_uptime(from.0, to.0, marks);
    let in_ids = dialect::in_ids(1);
    let mut parts = Vec::with_capacity(plan.len());
    for (index, (source, _, _)) in plan.iter().enumerate() {
        let (columns, table, time) = piece(*source);
        // $1 the ids, $2 the team, then each piece's bounds.
        let (start, end) = (3 + 2 * index, 4 + 2 * index);
        parts.push(format!(
            "SELECT {columns} FROM {table} WHERE monitor_id {in_ids} AND team_id = $2 \
             AND {time} >= ${start} AND {time} < ${end}"
        ));
    }
    let buckets: Vec<Bucket> = if parts.is_empty() {
        Vec::new()
    } else {
        let sql = parts.join(" UNION ALL ");
        let ids: Vec<i64> = monitors.iter().map(|id| id.0).collect();
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(dialect::id_list(&ids))
            .bind(team.0);
        for (_, start, end) in &plan {
            query = query.bind(*start).bind(*end);
        }
        query.fetch_all(&mut *tx).await?
    };
    tx.commit().await?;
    Ok(history::summarize_each(monitors, &buckets))
}

/// Deletes the history of teams on `plan` older than `keep`: the plan's retention, applied on top
/// of the instance's.
pub(super) async fn prune_plan(
    store: &DbStore,
    now: Timestamp,
    plan: Plan,
    keep: std::time::Duration,
) -> Result<PruneReport, StoreError> {
    let cutoff = now.0 - keep.as_millis() as i64;
    let mut report = PruneReport::default();
    for (name, time) in [
        ("results", "checked_at"),
        ("rollups_minute", "bucket_start"),
        ("rollups_hour", "bucket_start"),
        ("rollups_day", "bucket_start"),
    ] {
        let sql = format!(
            "DELETE FROM {name} WHERE (monitor_id, {time}) IN (SELECT t.monitor_id, t.{time} \
             FROM teams tm JOIN monitors m ON m.team_id = tm.id JOIN {name} t ON t.monitor_id = m.id \
             WHERE tm.plan = $3 AND t.{time} < $1 LIMIT $2)"
        );
        delete_in_chunks(store, name, &sql, cutoff, Some(plan), &mut report).await?;
    }
    Ok(report)
}
