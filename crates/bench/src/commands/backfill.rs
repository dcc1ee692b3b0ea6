//! `watchtower-bench backfill`: synthetic history written through the `Store` as time would pass
//! (a day of raw results, then `roll_up` and `prune` at that day's end with the default
//! retention), then the storage figures and the timing of the history queries.

use super::duration;
use crate::database::BenchDatabase;
use crate::machine::Machine;
use crate::report::{Figure, Report, percentile};
use serde::Serialize;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use watchtower_core::{CheckOutcome, ErrorClass, MonitorId, MonitorSpec, TeamId, Timestamp};
use watchtower_store::{PageRequest, ResultBatch, ResultRecord, Retention, Store};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
const MIB: f64 = 1024.0 * 1024.0;

#[derive(Debug, clap::Args)]
pub struct BackfillArgs {
    /// Monitors with history.
    #[arg(long, default_value_t = 1_000)]
    pub monitors: usize,
    /// Monitors in the team in all (the list query pages these); at least `--monitors`.
    #[arg(long, default_value_t = 10_000)]
    pub team_monitors: usize,
    /// Days of history, ending now.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Interval between results of one monitor.
    #[arg(long, default_value = "60s", value_parser = duration)]
    pub interval: Duration,
    /// Results per `record_batch` call.
    #[arg(long, default_value_t = 5_000)]
    pub batch: usize,
    /// Share of results that are DOWN (with an error class and message).
    #[arg(long, default_value_t = 0.001)]
    pub failure_rate: f64,
    /// Stop writing after this many results.
    #[arg(long, default_value_t = 50_000_000)]
    pub max_results: u64,
    /// Stop writing after this long (at a day boundary), and report how far it got.
    #[arg(long, default_value = "30m", value_parser = duration)]
    pub max_time: Duration,
    /// Uptime queries timed (90 days, one monitor each).
    #[arg(long, default_value_t = 200)]
    pub queries: usize,
    /// Times the monitor list page (50 monitors with 24 h uptime each) is timed.
    #[arg(long, default_value_t = 50)]
    pub list_runs: usize,
    /// `sqlite` or `postgres://USER@HOST/DB` (a fresh database is created and dropped).
    #[arg(long, default_value = "sqlite")]
    pub database: String,
    #[arg(long)]
    pub keep_database: bool,
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

impl BackfillArgs {
    fn plan(&self) -> HistoryPlan {
        HistoryPlan {
            days: self.days,
            interval: self.interval,
            batch: self.batch,
            failure_rate: self.failure_rate,
            max_results: self.max_results,
            max_time: self.max_time,
        }
    }
}

/// What synthetic history to write: `days` ending at a given instant, a result per monitor every
/// `interval`, bounded by `max_results` and `max_time`.
#[derive(Debug, Clone, Copy)]
pub(super) struct HistoryPlan {
    pub days: u32,
    pub interval: Duration,
    /// Results per `record_batch` call.
    pub batch: usize,
    /// Share of results that are DOWN.
    pub failure_rate: f64,
    pub max_results: u64,
    pub max_time: Duration,
}

#[derive(Debug, Default, Serialize)]
pub(super) struct WriteTally {
    pub results: u64,
    pub days_written: u32,
    pub write_s: f64,
    pub roll_up_s: f64,
    pub prune_s: f64,
    pub pruned_raw: u64,
    pub stopped_early: bool,
}

pub async fn run(args: BackfillArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.monitors >= 1 && args.team_monitors >= args.monitors && args.team_monitors <= 200_000,
        "--monitors must be at least 1 and at most --team-monitors (at most 200,000)"
    );
    anyhow::ensure!((1..=400).contains(&args.days), "--days takes 1 to 400");
    anyhow::ensure!(
        (1..=50_000).contains(&args.batch),
        "--batch takes 1 to 50,000"
    );
    let machine = Machine::describe();
    let database = BenchDatabase::create(Some(&args.database), args.work_dir.as_ref()).await?;
    let store = watchtower_store::connect(&database.url()).await?;
    store.migrate().await?;

    let created = Instant::now();
    let ids = create_monitors(store.as_ref(), args.team_monitors).await?;
    let create_s = created.elapsed().as_secs_f64();
    let history: Vec<MonitorId> = ids[..args.monitors].to_vec();

    let end = Timestamp::now().floor_to(Duration::from_secs(60));
    let tally = write_history(&args.plan(), store.clone(), &history, end).await?;

    let size = store.size_bytes().await? as f64;
    let mut tables = serde_json::Map::new();
    for table in [
        "results",
        "rollups_minute",
        "rollups_hour",
        "rollups_day",
        "monitors",
        "monitor_status",
    ] {
        let bytes = database.table_bytes(table).await.ok();
        let rows = database.count_rows(table).await.ok();
        tables.insert(table.into(), json!({ "bytes": bytes, "rows": rows }));
    }
    let table = |name: &str, key: &str| tables[name][key].as_f64();

    let query_end = Timestamp::now();
    let uptime_ms = time_uptime_queries(store.as_ref(), &history, query_end, args.queries).await?;
    let (list_seq_ms, list_par_ms) =
        time_list_page(store.as_ref(), query_end, args.list_runs).await?;

    let mut report = Report::new(machine);
    report.push(
        Figure::new("monitors with history / in team", args.monitors as f64, "")
            .note(format!("{} monitors in the team", args.team_monitors)),
    );
    report.push(Figure::new(
        "creating the team's monitors (apply_monitors)",
        create_s * 1000.0,
        "ms",
    ));
    report.push(
        Figure::new("days written", f64::from(tally.days_written), "").note(
            if tally.stopped_early {
                "stopped early at --max-time/--max-results"
            } else {
                "as asked"
            },
        ),
    );
    report.push(Figure::new("results written", tally.results as f64, ""));
    report.push(Figure::new(
        "write rate (record_batch)",
        tally.results as f64 / tally.write_s,
        "results/s",
    ));
    report.push(Figure::new(
        "write cost per result",
        tally.write_s * 1e6 / tally.results.max(1) as f64,
        "us",
    ));
    report.push(Figure::new("roll_up time (all days)", tally.roll_up_s, "s"));
    report.push(Figure::new("prune time (all days)", tally.prune_s, "s"));
    let raw_rows = table("results", "rows");
    let raw_bytes = table("results", "bytes");
    report.push(Figure::new("raw results kept (3-day window)", raw_rows, ""));
    report.push(
        Figure::new(
            "bytes per raw result (results table)",
            per(raw_bytes, raw_rows),
            "B",
        )
        .at_most(40.0, "<= 40 B"),
    );
    report.push(Figure::new(
        "minute rollup rows",
        table("rollups_minute", "rows"),
        "",
    ));
    report.push(Figure::new(
        "bytes per minute rollup row",
        per(
            table("rollups_minute", "bytes"),
            table("rollups_minute", "rows"),
        ),
        "B",
    ));
    report.push(Figure::new(
        "hour rollup rows",
        table("rollups_hour", "rows"),
        "",
    ));
    report.push(Figure::new(
        "bytes per hour rollup row",
        per(
            table("rollups_hour", "bytes"),
            table("rollups_hour", "rows"),
        ),
        "B",
    ));
    report.push(Figure::new(
        "day rollup rows",
        table("rollups_day", "rows"),
        "",
    ));
    report.push(Figure::new(
        "database size after backfill",
        size / MIB,
        "MiB",
    ));

    // 30 days of this run's monitors (1,000 at 60 s by default); see docs/PERFORMANCE.md.
    let projected = project_30_days(&args, tally.days_written, size, &tables);
    report.push(
        Figure::new(
            "projected size after 30 days",
            projected.map(|b| b / MIB),
            "MiB",
        )
        .at_most(1024.0, "< 1 GiB")
        .note("measured size + hour/day rollup rows of the days not written; needs >= 4 days"),
    );
    let per_result_s =
        (tally.write_s + tally.roll_up_s + tally.prune_s) / tally.results.max(1) as f64;
    let results_30_days = args.monitors as f64 * 30.0 * 86_400.0 / args.interval.as_secs_f64();
    report.push(
        Figure::new(
            "projected time to backfill 30 days (write + roll_up + prune)",
            per_result_s * results_30_days / 60.0,
            "min",
        )
        .note(format!(
            "{:.1} M results at this run's cost per result",
            results_30_days / 1e6
        )),
    );

    let mut uptime = uptime_ms;
    report.push(Figure::new(
        "uptime query, 90 days, one monitor: p50",
        percentile(&mut uptime, 0.5),
        "ms",
    ));
    report.push(
        Figure::new(
            "uptime query, 90 days, one monitor: p99",
            percentile(&mut uptime, 0.99),
            "ms",
        )
        .at_most(20.0, "< 20 ms"),
    );
    let (mut seq, mut par) = (list_seq_ms, list_par_ms);
    report.push(Figure::new(
        "list page (50) + 24 h uptime each, sequential: p50",
        percentile(&mut seq, 0.5),
        "ms",
    ));
    report.push(
        Figure::new(
            "list page (50) + 24 h uptime each, sequential: p99",
            percentile(&mut seq, 0.99),
            "ms",
        )
        .at_most(50.0, "< 50 ms")
        .note("store level; the HTTP list endpoint does not exist yet"),
    );
    report.push(Figure::new(
        "list page (50) + 24 h uptime each, concurrent: p50",
        percentile(&mut par, 0.5),
        "ms",
    ));
    report.push(
        Figure::new(
            "list page (50) + 24 h uptime each, concurrent: p99",
            percentile(&mut par, 0.99),
            "ms",
        )
        .at_most(50.0, "< 50 ms"),
    );
    report.detail("backend", database.backend());
    report.detail("tables", &tables);
    report.detail("writes", &tally);
    drop(store);
    let kept = database.drop_database(args.keep_database).await?;
    report.detail("kept_database", kept);
    report.finish(args.json.as_deref())
}

fn per(bytes: Option<f64>, rows: Option<f64>) -> Option<f64> {
    match (bytes, rows) {
        (Some(b), Some(r)) if r > 0.0 => Some(b / r),
        _ => None,
    }
}

/// The database after `--days` days of this run's monitors, extended to 30: once the raw and
/// minute windows (3 days) are full, only the hour and day layers keep growing, so the projection
/// is the measured size (free pages left by pruning included) plus their rows for the days not
/// written. `None` before the windows are full (fewer than 4 days written).
fn project_30_days(
    args: &BackfillArgs,
    days_written: u32,
    size: f64,
    tables: &serde_json::Map<String, serde_json::Value>,
) -> Option<f64> {
    if days_written < 4 {
        return None;
    }
    let bytes = |t: &str| tables[t]["bytes"].as_f64();
    let rows = |t: &str| tables[t]["rows"].as_f64();
    let per_hour = per(bytes("rollups_hour"), rows("rollups_hour"))?;
    let per_day = per(bytes("rollups_day"), rows("rollups_day")).unwrap_or(per_hour);
    let days_left = f64::from(30u32.saturating_sub(days_written));
    let monitors = args.monitors as f64;
    Some(size + days_left * monitors * (24.0 * per_hour + per_day))
}

/// Creates `count` HTTP monitors in one `apply_monitors` and returns their ids in ascending order.
async fn create_monitors(store: &dyn Store, count: usize) -> anyhow::Result<Vec<MonitorId>> {
    let mut specs = Vec::with_capacity(count);
    for i in 0..count {
        let value = json!({
            "key": format!("backfill-{i}"),
            "name": format!("backfill {i}"),
            "kind": "http",
            "url": format!("http://127.0.0.2:20000/m/{i}"),
            "interval": "60s",
            "timeout": "10s",
        });
        let spec = MonitorSpec::parse(&value, &format!("monitors[{i}]"))
            .map_err(|problems| anyhow::anyhow!("bad synthetic monitor: {problems:?}"))?;
        specs.push(spec);
    }
    store
        .apply_monitors(TeamId::DEFAULT, &specs, false, Timestamp::now())
        .await?;
    let mut ids: Vec<MonitorId> = store
        .load_scheduled()
        .await?
        .monitors
        .into_iter()
        .map(|s| s.monitor.id)
        .collect();
    ids.sort();
    anyhow::ensure!(
        ids.len() == count,
        "expected {count} monitors, found {}",
        ids.len()
    );
    Ok(ids)
}

/// A result every interval per monitor at a fixed phase, written day by day; after each day the
/// history chores run as if that day had just ended.
pub(super) async fn write_history(
    plan: &HistoryPlan,
    store: Arc<dyn Store>,
    monitors: &[MonitorId],
    end: Timestamp,
) -> anyhow::Result<WriteTally> {
    let interval = plan.interval.as_millis().max(1) as i64;
    let retention = Retention::default();
    let started = Instant::now();
    let mut tally = WriteTally::default();
    let mut batch = ResultBatch::default();
    for day in 0..plan.days {
        if started.elapsed() > plan.max_time || tally.results >= plan.max_results {
            tally.stopped_early = true;
            break;
        }
        let day_start = end.0 - i64::from(plan.days - day) * DAY_MS;
        let day_end = day_start + DAY_MS;
        let writing = Instant::now();
        let mut slot = day_start;
        while slot < day_end {
            for (n, &monitor) in monitors.iter().enumerate() {
                let checked_at = Timestamp(slot + phase(n, interval));
                batch.results.push(ResultRecord {
                    team_id: TeamId::DEFAULT,
                    monitor_id: monitor,
                    outcome: synthetic_outcome(checked_at, plan.failure_rate),
                });
                if batch.results.len() >= plan.batch {
                    store.record_batch(&batch).await?;
                    tally.results += batch.results.len() as u64;
                    batch.results.clear();
                }
            }
            slot += interval;
        }
        if !batch.results.is_empty() {
            store.record_batch(&batch).await?;
            tally.results += batch.results.len() as u64;
            batch.results.clear();
        }
        tally.write_s += writing.elapsed().as_secs_f64();
        let rolling = Instant::now();
        store.roll_up(Timestamp(day_end + 3 * MINUTE_MS)).await?;
        tally.roll_up_s += rolling.elapsed().as_secs_f64();
        let pruning = Instant::now();
        let pruned = store.prune(Timestamp(day_end), &retention).await?;
        tally.prune_s += pruning.elapsed().as_secs_f64();
        tally.pruned_raw += pruned.raw_results;
        tally.days_written += 1;
        eprintln!(
            "backfill: day {}/{} written ({} results so far, {:.0} s)",
            day + 1,
            plan.days,
            tally.results,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(tally)
}

/// The monitor's offset inside each interval.
fn phase(n: usize, interval: i64) -> i64 {
    ((n as i64).wrapping_mul(7919)).rem_euclid(interval)
}

fn synthetic_outcome(checked_at: Timestamp, failure_rate: f64) -> CheckOutcome {
    let latency = Duration::from_micros(20_000 + (rand::random::<u64>() % 280_000));
    if rand::random::<f64>() < failure_rate {
        let mut down = CheckOutcome::down(
            checked_at,
            latency,
            ErrorClass::StatusCode,
            "HTTP 503 Service Unavailable",
        );
        down.http_status = Some(503);
        down
    } else {
        let mut up = CheckOutcome::up(checked_at, latency);
        up.http_status = Some(200);
        up
    }
}

/// Times `queries` 90-day uptime queries, each for another monitor with history.
async fn time_uptime_queries(
    store: &dyn Store,
    monitors: &[MonitorId],
    now: Timestamp,
    queries: usize,
) -> anyhow::Result<Vec<f64>> {
    let from = now.minus(Duration::from_secs(90 * 86_400));
    let mut times = Vec::with_capacity(queries);
    for i in 0..queries.min(100_000) {
        let monitor = monitors[(i * 7) % monitors.len()];
        let asked = Instant::now();
        let summary = store.uptime(TeamId::DEFAULT, monitor, from, now).await?;
        times.push(asked.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(summary.checks > 0, "monitor {monitor} has no history");
    }
    Ok(times)
}

/// Times the first page (50) of the team's list with a 24 h uptime per listed monitor: once with
/// the uptimes one after another, once with them concurrent.
async fn time_list_page(
    store: &dyn Store,
    now: Timestamp,
    runs: usize,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let from = now.minus(Duration::from_secs(86_400));
    let page = PageRequest {
        after: None,
        limit: 50,
        ..PageRequest::default()
    };
    let (mut sequential, mut concurrent) = (Vec::new(), Vec::new());
    for _ in 0..runs.min(10_000) {
        let asked = Instant::now();
        let listed = store.list_monitors(TeamId::DEFAULT, &page).await?;
        for listing in &listed {
            store
                .uptime(TeamId::DEFAULT, listing.monitor.id, from, now)
                .await?;
        }
        sequential.push(asked.elapsed().as_secs_f64() * 1000.0);

        let asked = Instant::now();
        let listed = store.list_monitors(TeamId::DEFAULT, &page).await?;
        let uptimes = listed
            .iter()
            .map(|listing| store.uptime(TeamId::DEFAULT, listing.monitor.id, from, now));
        for result in futures::future::join_all(uptimes).await {
            result?;
        }
        concurrent.push(asked.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(
            listed.len() == 50,
            "the first page held {} monitors",
            listed.len()
        );
    }
    Ok((sequential, concurrent))
}
