//! The rollup math both backends share: grouping raw results into minute buckets and buckets into
//! coarser ones, the percentile rules, when a bucket is finished, and how an uptime query is split
//! between day, hour and minute rollups and raw results without counting anything twice.
//!
//! Latency figures cover successful checks only (up or degraded): a failure's "latency" is mostly
//! its timeout and would drown the real response times.

use crate::error::StoreError;
use crate::model::{PhaseAverages, RollupReport, UptimeSummary};
use async_trait::async_trait;

pub(crate) const MINUTE: i64 = 60_000;
pub(crate) const HOUR: i64 = 60 * MINUTE;
pub(crate) const DAY: i64 = 24 * HOUR;
/// A minute is rolled up only this long after it ends, so late results still land in it.
pub(crate) const LATE_GRACE: i64 = 2 * MINUTE;
/// Monitors per roll-up query: bounds memory together with the window below.
pub(crate) const MONITOR_PAGE: i64 = 500;
/// Rows deleted per statement when pruning.
pub(crate) const PRUNE_CHUNK: i64 = 5_000;

/// The columns of every rollup table, in the order [`Bucket`] binds them.
pub(crate) const BUCKET_COLUMNS: &str = "monitor_id, bucket_start, team_id, count, up_count, \
     degraded_count, latency_min_us, latency_sum_us, latency_max_us, latency_p95_us, phase_count, \
     dns_sum_us, connect_sum_us, tls_sum_us, first_byte_sum_us";

/// The upsert clause of a rollup insert (same syntax in SQLite and PostgreSQL).
pub(crate) const BUCKET_UPSERT: &str = "ON CONFLICT (monitor_id, bucket_start) DO UPDATE SET \
     team_id = excluded.team_id, count = excluded.count, up_count = excluded.up_count, \
     degraded_count = excluded.degraded_count, latency_min_us = excluded.latency_min_us, \
     latency_sum_us = excluded.latency_sum_us, latency_max_us = excluded.latency_max_us, \
     latency_p95_us = excluded.latency_p95_us, phase_count = excluded.phase_count, \
     dns_sum_us = excluded.dns_sum_us, connect_sum_us = excluded.connect_sum_us, \
     tls_sum_us = excluded.tls_sum_us, first_byte_sum_us = excluded.first_byte_sum_us";

/// [`BUCKET_COLUMNS`] qualified with a table alias.
pub(crate) fn prefixed_bucket_columns(alias: &str) -> String {
    BUCKET_COLUMNS
        .split(", ")
        .map(|column| format!("{alias}.{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads `rollup_progress` rows into watermarks.
pub(crate) fn watermarks_from(rows: Vec<(String, i64)>) -> Watermarks {
    let mut marks = Watermarks::default();
    for (level, done) in rows {
        match level.as_str() {
            "minute" => marks.minute = done,
            "hour" => marks.hour = done,
            "day" => marks.day = done,
            _ => {}
        }
    }
    marks
}

/// A rollup level: its table, bucket width and how far back one pass reads at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Minute,
    Hour,
    Day,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Minute, Level::Hour, Level::Day];

    pub fn width(self) -> i64 {
        match self {
            Level::Minute => MINUTE,
            Level::Hour => HOUR,
            Level::Day => DAY,
        }
    }

    /// The span of buckets rolled in one transaction (per page of monitors).
    pub fn window(self) -> i64 {
        match self {
            Level::Minute => 30 * MINUTE,
            Level::Hour => 12 * HOUR,
            Level::Day => 7 * DAY,
        }
    }

    /// The key of this level's row in `rollup_progress`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Minute => "minute",
            Level::Hour => "hour",
            Level::Day => "day",
        }
    }

    /// The end of the last bucket that may be rolled now: minutes after the late grace, hours and
    /// days once every child bucket in them is rolled.
    pub fn ready_until(self, now: i64, child_watermark: i64) -> i64 {
        match self {
            Level::Minute => floor(now - LATE_GRACE, MINUTE),
            Level::Hour | Level::Day => floor(child_watermark, self.width()),
        }
    }
}

pub(crate) fn floor(at: i64, width: i64) -> i64 {
    at.div_euclid(width) * width
}

pub(crate) fn ceil(at: i64, width: i64) -> i64 {
    floor(at + width - 1, width)
}

/// The statements a backend provides for the roll-up; [`roll_up`] drives them the same way on both.
#[async_trait]
pub(crate) trait RollupSql: Send + Sync {
    async fn watermarks(&self) -> Result<Watermarks, StoreError>;
    /// The time of the earliest row at or after `from` in the table `level` is computed from.
    async fn first_unrolled(&self, level: Level, from: i64) -> Result<Option<i64>, StoreError>;
    /// Up to [`MONITOR_PAGE`] monitor ids greater than `after`, ascending.
    async fn monitor_page(&self, after: i64) -> Result<Vec<i64>, StoreError>;
    /// Raw results of monitors `low..=high` in `[from, to)`, sorted by monitor then time.
    async fn samples(
        &self,
        low: i64,
        high: i64,
        from: i64,
        to: i64,
    ) -> Result<Vec<Sample>, StoreError>;
    /// Buckets of the level below `level` for monitors `low..=high` in `[from, to)`, sorted.
    async fn children(
        &self,
        level: Level,
        low: i64,
        high: i64,
        from: i64,
        to: i64,
    ) -> Result<Vec<Bucket>, StoreError>;
    /// Inserts or replaces buckets of `level` in one transaction.
    async fn upsert_buckets(&self, level: Level, buckets: &[Bucket]) -> Result<(), StoreError>;
    /// Moves the level's watermark forward to `to` (never back).
    async fn advance(&self, level: Level, to: i64) -> Result<(), StoreError>;
}

/// Rolls every finished bucket of every level, oldest first, in windows of [`Level::window`] and
/// pages of [`MONITOR_PAGE`] monitors, so a long backlog never sits in memory at once. Each
/// window's upserts are idempotent and the watermark moves only after them, so a crash or a
/// concurrent run repeats work rather than losing it. Stretches without data are skipped.
pub(crate) async fn roll_up(sql: &impl RollupSql, now: i64) -> Result<RollupReport, StoreError> {
    let mut report = RollupReport::default();
    for level in Level::ALL {
        let marks = sql.watermarks().await?;
        let child_mark = match level {
            Level::Minute => 0,
            Level::Hour => marks.minute,
            Level::Day => marks.hour,
        };
        let end = level.ready_until(now, child_mark);
        let done = marks.of(level);
        if end <= done {
            continue;
        }
        let mut from = next_start(sql, level, done, end).await?;
        let mut written = 0u64;
        while from < end {
            let to = (from + level.window()).min(end);
            let count = roll_window(sql, level, from, to).await?;
            sql.advance(level, to).await?;
            written += count;
            from = if count == 0 {
                next_start(sql, level, to, end).await?
            } else {
                to
            };
        }
        sql.advance(level, end).await?;
        match level {
            Level::Minute => report.minute_buckets = written,
            Level::Hour => report.hour_buckets = written,
            Level::Day => report.day_buckets = written,
        }
    }
    Ok(report)
}

/// The next bucket with data at or after `from`, or `end` when there is none before it.
async fn next_start(
    sql: &impl RollupSql,
    level: Level,
    from: i64,
    end: i64,
) -> Result<i64, StoreError> {
    Ok(match sql.first_unrolled(level, from).await? {
        Some(first) => from.max(floor(first, level.width())).min(end),
        None => end,
    })
}

async fn roll_window(
    sql: &impl RollupSql,
    level: Level,
    from: i64,
    to: i64,
) -> Result<u64, StoreError> {
    let mut after = 0;
    let mut written = 0;
    loop {
        let ids = sql.monitor_page(after).await?;
        let (Some(&low), Some(&high)) = (ids.first(), ids.last()) else {
            return Ok(written);
        };
        after = high;
        let buckets = match level {
            Level::Minute => minute_buckets(&sql.samples(low, high, from, to).await?),
            _ => coarser_buckets(&sql.children(level, low, high, from, to).await?, level),
        };
        if !buckets.is_empty() {
            sql.upsert_buckets(level, &buckets).await?;
        }
        written += buckets.len() as u64;
    }
}

/// One raw result as the roll-up reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Sample {
    pub monitor_id: i64,
    pub team_id: i64,
    pub checked_at: i64,
    pub status: i16,
    pub latency_us: i32,
    pub dns_us: Option<i32>,
    pub connect_us: Option<i32>,
    pub tls_us: Option<i32>,
    pub first_byte_us: Option<i32>,
}

impl Sample {
    /// Whether the result carries HTTP phase times (only successful HTTP results do).
    fn has_phases(&self) -> bool {
        self.dns_us.is_some()
            || self.connect_us.is_some()
            || self.tls_us.is_some()
            || self.first_byte_us.is_some()
    }
}

/// One rollup bucket of one monitor.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct Bucket {
    pub monitor_id: i64,
    pub bucket_start: i64,
    pub team_id: i64,
    pub count: i64,
    pub up_count: i64,
    pub degraded_count: i64,
    /// 0 when the bucket has no successful check (then it carries no latency weight).
    pub latency_min_us: i64,
    pub latency_sum_us: i64,
    pub latency_max_us: i64,
    pub latency_p95_us: i64,
    /// Results with HTTP phase times, and the sums of each phase over them (a phase that did not
    /// happen adds 0, so an average over `phase_count` is what the phase cost on average).
    pub phase_count: i64,
    pub dns_sum_us: i64,
    pub connect_sum_us: i64,
    pub tls_sum_us: i64,
    pub first_byte_sum_us: i64,
}

impl Bucket {
    fn successes(&self) -> i64 {
        self.up_count + self.degraded_count
    }
}

/// Running totals over results and buckets.
#[derive(Debug, Default)]
struct Totals {
    count: i64,
    up: i64,
    degraded: i64,
    min: Option<i64>,
    max: Option<i64>,
    sum: i64,
    /// (p95 of a child, its number of successful checks)
    p95s: Vec<(i64, i64)>,
    phases: PhaseSums,
}

/// Sums of HTTP phase times over `count` results.
#[derive(Debug, Default, Clone, Copy)]
struct PhaseSums {
    count: i64,
    dns: i64,
    connect: i64,
    tls: i64,
    first_byte: i64,
}

impl PhaseSums {
    fn add(&mut self, other: PhaseSums) {
        self.count += other.count;
        self.dns += other.dns;
        self.connect += other.connect;
        self.tls += other.tls;
        self.first_byte += other.first_byte;
    }

    fn of_sample(sample: &Sample) -> Self {
        if !sample.has_phases() {
            return Self::default();
        }
        let us = |phase: Option<i32>| i64::from(phase.unwrap_or(0));
        Self {
            count: 1,
            dns: us(sample.dns_us),
            connect: us(sample.connect_us),
            tls: us(sample.tls_us),
            first_byte: us(sample.first_byte_us),
        }
    }

    fn of_bucket(bucket: &Bucket) -> Self {
        Self {
            count: bucket.phase_count,
            dns: bucket.dns_sum_us,
            connect: bucket.connect_sum_us,
            tls: bucket.tls_sum_us,
            first_byte: bucket.first_byte_sum_us,
        }
    }

    fn averages(self) -> Option<PhaseAverages> {
        // One division, so a whole average comes out exact (600 µs over 3 is 0.2 ms).
        let per_ms = self.count as f64 * 1000.0;
        let ms = |sum: i64| sum as f64 / per_ms;
        (self.count > 0).then(|| PhaseAverages {
            dns_ms: ms(self.dns),
            connect_ms: ms(self.connect),
            tls_ms: ms(self.tls),
            first_byte_ms: ms(self.first_byte),
        })
    }
}

impl Totals {
    fn add_sample(&mut self, sample: &Sample) {
        self.count += 1;
        match sample.status {
            1 => self.up += 1,
            2 => self.degraded += 1,
            _ => return,
        }
        let latency = i64::from(sample.latency_us);
        self.add_latency(latency, latency, latency, latency, 1);
        self.phases.add(PhaseSums::of_sample(sample));
    }

    fn add_bucket(&mut self, bucket: &Bucket) {
        self.count += bucket.count;
        self.up += bucket.up_count;
        self.degraded += bucket.degraded_count;
        self.phases.add(PhaseSums::of_bucket(bucket));
        if bucket.successes() > 0 {
            self.add_latency(
                bucket.latency_min_us,
                bucket.latency_sum_us,
                bucket.latency_max_us,
                bucket.latency_p95_us,
                bucket.successes(),
            );
        }
    }

    fn add_latency(&mut self, min: i64, sum: i64, max: i64, p95: i64, weight: i64) {
        self.min = Some(self.min.map_or(min, |m| m.min(min)));
        self.max = Some(self.max.map_or(max, |m| m.max(max)));
        self.sum += sum;
        self.p95s.push((p95, weight));
    }

    /// Nearest-rank 95th percentile. From single results (weight 1) it is exact; from buckets it
    /// is the count-weighted 95th percentile of the bucket p95s, an approximation that is usually
    /// a little high for mixed buckets but never outside the observed range.
    fn p95(&mut self) -> Option<i64> {
        let total: i64 = self.p95s.iter().map(|(_, weight)| weight).sum();
        if total == 0 {
            return None;
        }
        self.p95s.sort_unstable();
        let rank = (total * 95 + 99) / 100;
        let mut seen = 0;
        for (value, weight) in &self.p95s {
            seen += weight;
            if seen >= rank {
                return Some(*value);
            }
        }
        self.p95s.last().map(|(value, _)| *value)
    }

    fn into_bucket(mut self, monitor_id: i64, team_id: i64, bucket_start: i64) -> Bucket {
        let p95 = self.p95().unwrap_or(0);
        Bucket {
            monitor_id,
            bucket_start,
            team_id,
            count: self.count,
            up_count: self.up,
            degraded_count: self.degraded,
            latency_min_us: self.min.unwrap_or(0),
            latency_sum_us: self.sum,
            latency_max_us: self.max.unwrap_or(0),
            latency_p95_us: p95,
            phase_count: self.phases.count,
            dns_sum_us: self.phases.dns,
            connect_sum_us: self.phases.connect,
            tls_sum_us: self.phases.tls,
            first_byte_sum_us: self.phases.first_byte,
        }
    }

    fn into_summary(mut self) -> UptimeSummary {
        let successes = self.up + self.degraded;
        let ms = |us: i64| us as f64 / 1000.0;
        let p95 = self.p95();
        UptimeSummary {
            checks: self.count as u64,
            up: self.up as u64,
            degraded: self.degraded as u64,
            uptime: (self.count > 0).then(|| successes as f64 / self.count as f64),
            latency_avg_ms: (successes > 0).then(|| ms(self.sum) / successes as f64),
            latency_min_ms: self.min.map(ms),
            latency_max_ms: self.max.map(ms),
            latency_p95_ms: p95.map(ms),
            phases: self.phases.averages(),
        }
    }
}

/// Groups samples, sorted by monitor then time, into minute buckets.
pub(crate) fn minute_buckets(samples: &[Sample]) -> Vec<Bucket> {
    group(
        samples,
        |s| (s.monitor_id, s.team_id, floor(s.checked_at, MINUTE)),
        Totals::add_sample,
    )
}

/// Groups buckets, sorted by monitor then start, into buckets of `level`.
pub(crate) fn coarser_buckets(children: &[Bucket], level: Level) -> Vec<Bucket> {
    group(
        children,
        |b| {
            (
                b.monitor_id,
                b.team_id,
                floor(b.bucket_start, level.width()),
            )
        },
        Totals::add_bucket,
    )
}

fn group<T>(
    items: &[T],
    key: impl Fn(&T) -> (i64, i64, i64),
    add: impl Fn(&mut Totals, &T),
) -> Vec<Bucket> {
    let mut out = Vec::new();
    let mut current: Option<((i64, i64, i64), Totals)> = None;
    for item in items {
        let item_key = key(item);
        match &mut current {
            Some((open, totals)) if open.0 == item_key.0 && open.2 == item_key.2 => {
                add(totals, item);
            }
            _ => {
                if let Some(((monitor, team, start), totals)) = current.take() {
                    out.push(totals.into_bucket(monitor, team, start));
                }
                let mut totals = Totals::default();
                add(&mut totals, item);
                current = Some((item_key, totals));
            }
        }
    }
    if let Some(((monitor, team, start), totals)) = current {
        out.push(totals.into_bucket(monitor, team, start));
    }
    out
}

/// Summarises buckets of any level together with raw samples.
pub(crate) fn summarize(buckets: &[Bucket], samples: &[Sample]) -> UptimeSummary {
    let mut totals = Totals::default();
    for bucket in buckets {
        totals.add_bucket(bucket);
    }
    for sample in samples {
        totals.add_sample(sample);
    }
    totals.into_summary()
}

/// Summarises the rows of several monitors read together (`uptime_many`): every id in
/// `monitors` gets a summary, an empty one when it has no rows.
pub(crate) fn summarize_each(
    monitors: &[watchtower_core::MonitorId],
    buckets: &[Bucket],
) -> std::collections::HashMap<watchtower_core::MonitorId, UptimeSummary> {
    let mut totals: std::collections::HashMap<i64, Totals> = monitors
        .iter()
        .map(|id| (id.0, Totals::default()))
        .collect();
    for bucket in buckets {
        if let Some(total) = totals.get_mut(&bucket.monitor_id) {
            total.add_bucket(bucket);
        }
    }
    totals
        .into_iter()
        .map(|(id, total)| (watchtower_core::MonitorId(id), total.into_summary()))
        .collect()
}

/// Summarises `buckets` (of any level, or raw results as buckets) into consecutive buckets of
/// `width` milliseconds, oldest first; a width with no rows is left out.
pub(crate) fn summarize_by_width(buckets: &[Bucket], width: i64) -> Vec<(i64, UptimeSummary)> {
    let mut totals: std::collections::BTreeMap<i64, Totals> = std::collections::BTreeMap::new();
    for bucket in buckets {
        totals
            .entry(floor(bucket.bucket_start, width))
            .or_default()
            .add_bucket(bucket);
    }
    totals
        .into_iter()
        .map(|(start, total)| (start, total.into_summary()))
        .collect()
}

/// Raw results in the shape of rollup buckets (`BUCKET_COLUMNS`), one bucket per result, so one
/// query can read rollups and raw results together. Such a bucket adds to a summary exactly
/// what the result itself would: a check, up or degraded or neither, and for a success its
/// latency with weight 1 (a failure's latency carries no weight, as in `Totals::add_sample`).
/// Every column is a BIGINT in both backends, as in the rollup tables.
/// Named as the rollup columns, since a union takes its column names from its first part.
pub(crate) const RAW_AS_BUCKET: &str = "monitor_id, checked_at AS bucket_start, team_id, \
     CAST(1 AS BIGINT) AS count, \
     CAST(CASE WHEN status = 1 THEN 1 ELSE 0 END AS BIGINT) AS up_count, \
     CAST(CASE WHEN status = 2 THEN 1 ELSE 0 END AS BIGINT) AS degraded_count, \
     CAST(latency_us AS BIGINT) AS latency_min_us, CAST(latency_us AS BIGINT) AS latency_sum_us, \
     CAST(latency_us AS BIGINT) AS latency_max_us, CAST(latency_us AS BIGINT) AS latency_p95_us, \
     CAST(CASE WHEN COALESCE(dns_us, connect_us, tls_us, first_byte_us) IS NULL THEN 0 ELSE 1 END \
     AS BIGINT) AS phase_count, CAST(COALESCE(dns_us, 0) AS BIGINT) AS dns_sum_us, \
     CAST(COALESCE(connect_us, 0) AS BIGINT) AS connect_sum_us, \
     CAST(COALESCE(tls_us, 0) AS BIGINT) AS tls_sum_us, \
     CAST(COALESCE(first_byte_us, 0) AS BIGINT) AS first_byte_sum_us";

/// Where one piece of an uptime period is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Rollup(Level),
    Raw,
}

/// How far each level is rolled up: every bucket that starts before its watermark is final.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Watermarks {
    pub minute: i64,
    pub hour: i64,
    pub day: i64,
}

impl Watermarks {
    pub fn of(&self, level: Level) -> i64 {
        match level {
            Level::Minute => self.minute,
            Level::Hour => self.hour,
            Level::Day => self.day,
        }
    }
}

/// Splits `[from, to)` into disjoint pieces: whole rolled-up days, then whole rolled-up hours
/// around them, then whole rolled-up minutes, and raw results for the rest (partial minutes at
/// the edges and everything after the minute watermark). Each instant lands in exactly one piece.
pub(crate) fn plan_uptime(from: i64, to: i64, marks: Watermarks) -> Vec<(Source, i64, i64)> {
    let mut out = Vec::new();
    cover(
        from,
        to,
        &[Level::Day, Level::Hour, Level::Minute],
        marks,
        &mut out,
    );
    out
}

fn cover(
    from: i64,
    to: i64,
    levels: &[Level],
    marks: Watermarks,
    out: &mut Vec<(Source, i64, i64)>,
) {
    if from >= to {
        return;
    }
    let Some((&level, finer)) = levels.split_first() else {
        out.push((Source::Raw, from, to));
        return;
    };
    let width = level.width();
    let start = ceil(from, width);
    let end = floor(to, width).min(floor(marks.of(level), width));
    if start < end {
        cover(from, start, finer, marks, out);
        out.push((Source::Rollup(level), start, end));
        cover(end, to, finer, marks, out);
    } else {
        cover(from, to, finer, marks, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(monitor_id: i64, checked_at: i64, status: i16, latency_us: i32) -> Sample {
        Sample {
            monitor_id,
            team_id: 1,
            checked_at,
            status,
            latency_us,
            dns_us: None,
            connect_us: None,
            tls_us: None,
            first_byte_us: None,
        }
    }

    fn http_sample(checked_at: i64, status: i16, phases: [Option<i32>; 4]) -> Sample {
        Sample {
            dns_us: phases[0],
            connect_us: phases[1],
            tls_us: phases[2],
            first_byte_us: phases[3],
            ..sample(1, checked_at, status, 5_000)
        }
    }

    #[test]
    fn phase_times_average_over_the_results_that_have_them_at_every_level() {
        // Two HTTPS results, one plain HTTP result (no TLS phase), one TCP result without phases.
        let samples = [
            http_sample(0, 1, [Some(100), Some(200), Some(300), Some(1_000)]),
            http_sample(10_000, 2, [Some(300), Some(400), Some(500), Some(3_000)]),
            http_sample(MINUTE, 1, [Some(200), Some(600), None, Some(2_000)]),
            sample(1, MINUTE + 10_000, 1, 900),
        ];
        let minutes = minute_buckets(&samples);
        assert_eq!(minutes.len(), 2);
        assert_eq!(
            (
                minutes[0].phase_count,
                minutes[0].dns_sum_us,
                minutes[0].tls_sum_us
            ),
            (2, 400, 800)
        );
        assert_eq!((minutes[1].phase_count, minutes[1].tls_sum_us), (1, 0));

        let hour = coarser_buckets(&minutes, Level::Hour);
        let day = coarser_buckets(&hour, Level::Day);
        let phases = summarize(&day, &[]).phases.expect("phases over the day");
        let close = |got: f64, want: f64| (got - want).abs() < 1e-9;
        assert!(close(phases.dns_ms, 0.2), "{phases:?}");
        assert!(close(phases.connect_ms, 0.4), "{phases:?}");
        assert!(close(phases.tls_ms, 800.0 / 3.0 / 1000.0), "{phases:?}");
        assert!(close(phases.first_byte_ms, 2.0), "{phases:?}");
        // The same from the raw results directly.
        assert_eq!(summarize(&[], &samples).phases, Some(phases));
        // A kind without phases has none, not zeros.
        assert_eq!(summarize(&[], &samples[3..]).phases, None);
    }

    #[test]
    fn minute_buckets_count_and_take_the_exact_p95_of_successes() {
        let mut samples: Vec<Sample> = (0..20)
            .map(|i| sample(1, i * 1000, 1, (i as i32 + 1) * 100))
            .collect();
        samples.push(sample(1, 59_000, 0, 10_000_000));
        samples.push(sample(1, 60_000, 2, 50));
        samples.push(sample(2, 0, 1, 7));
        let buckets = minute_buckets(&samples);
        assert_eq!(buckets.len(), 3);
        let first = &buckets[0];
        assert_eq!(
            (first.count, first.up_count, first.degraded_count),
            (21, 20, 0)
        );
        assert_eq!((first.latency_min_us, first.latency_max_us), (100, 2000));
        assert_eq!(first.latency_p95_us, 1900);
        assert_eq!(first.latency_sum_us, (1..=20).sum::<i64>() * 100);
        assert_eq!(
            (buckets[1].bucket_start, buckets[1].degraded_count),
            (60_000, 1)
        );
        assert_eq!(buckets[2].monitor_id, 2);
    }

    #[test]
    fn coarser_buckets_weight_child_p95s_by_successes() {
        let child = |start, successes, p95| Bucket {
            monitor_id: 1,
            bucket_start: start,
            team_id: 1,
            count: successes,
            up_count: successes,
            latency_min_us: 1,
            latency_sum_us: successes * p95,
            latency_max_us: p95,
            latency_p95_us: p95,
            ..Bucket::default()
        };
        let hour = coarser_buckets(
            &[
                child(0, 90, 10),
                child(MINUTE, 10, 1000),
                child(2 * MINUTE, 0, 0),
            ],
            Level::Hour,
        );
        assert_eq!(hour.len(), 1);
        assert_eq!((hour[0].count, hour[0].latency_p95_us), (100, 1000));
        assert_eq!(hour[0].latency_max_us, 1000);
    }

    #[test]
    fn an_uptime_period_is_split_without_overlap_or_gaps() {
        let marks = Watermarks {
            minute: 3 * DAY + 5 * HOUR + 30 * MINUTE,
            hour: 3 * DAY + 5 * HOUR,
            day: 3 * DAY,
        };
        let from = 10 * HOUR + 5 * MINUTE + 30_000;
        let to = 4 * DAY;
        let plan = plan_uptime(from, to, marks);
        let mut at = from;
        for (_, start, end) in &plan {
            assert_eq!(*start, at, "{plan:?}");
            assert!(end > start);
            at = *end;
        }
        assert_eq!(at, to);
        use Source::*;
        let sources: Vec<Source> = plan.iter().map(|p| p.0).collect();
        assert_eq!(
            sources,
            vec![
                Raw,
                Rollup(Level::Minute),
                Rollup(Level::Hour),
                Rollup(Level::Day),
                Rollup(Level::Hour),
                Rollup(Level::Minute),
                Raw
            ]
        );
        assert_eq!(plan.last().unwrap().1, marks.minute);
    }

    #[test]
    fn a_raw_result_read_as_a_bucket_adds_what_the_result_adds() {
        let samples = [
            sample(1, 0, 1, 120),
            sample(1, 1000, 2, 900),
            sample(1, 2000, 0, 10_000_000),
            sample(1, 3000, 1, 80),
        ];
        // What RAW_AS_BUCKET selects for each result.
        let as_buckets: Vec<Bucket> = samples
            .iter()
            .map(|s| Bucket {
                monitor_id: s.monitor_id,
                bucket_start: s.checked_at,
                team_id: s.team_id,
                count: 1,
                up_count: i64::from(s.status == 1),
                degraded_count: i64::from(s.status == 2),
                latency_min_us: i64::from(s.latency_us),
                latency_sum_us: i64::from(s.latency_us),
                latency_max_us: i64::from(s.latency_us),
                latency_p95_us: i64::from(s.latency_us),
                ..Bucket::default()
            })
            .collect();
        let hour = Bucket {
            monitor_id: 1,
            bucket_start: HOUR,
            team_id: 1,
            count: 60,
            up_count: 59,
            latency_min_us: 10,
            latency_sum_us: 59 * 100,
            latency_max_us: 400,
            latency_p95_us: 300,
            ..Bucket::default()
        };
        let mut mixed = as_buckets.clone();
        mixed.push(hour.clone());
        let each = summarize_each(
            &[watchtower_core::MonitorId(1), watchtower_core::MonitorId(2)],
            &mixed,
        );
        assert_eq!(
            each[&watchtower_core::MonitorId(1)],
            summarize(&[hour], &samples)
        );
        assert_eq!(
            each[&watchtower_core::MonitorId(2)],
            UptimeSummary::default()
        );
    }

    #[test]
    fn nothing_rolled_up_reads_everything_raw() {
        assert_eq!(
            plan_uptime(5, 10 * DAY, Watermarks::default()),
            vec![(Source::Raw, 5, 10 * DAY)]
        );
    }
}
