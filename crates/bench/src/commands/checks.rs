//! `watchtower-bench checks`: a farm of targets, N monitors loaded through the monitors file, a
//! release `watchtower serve` on a fresh database, a timed run with CPU and memory sampled every
//! second, a timed SIGTERM, a restart on the same database, and the figures of issue 5.

use super::checks_figures::{Measurements, RestartMeasurements, figures};
use super::{Snapshot, duration};
use crate::database::BenchDatabase;
use crate::farm::{Farm, FarmConfig, Latency, Outage};
use crate::machine::Machine;
use crate::monitors_file::{self, CheckSettings};
use crate::report::Report;
use crate::sampling::{self, Sampler};
use crate::target_process::{self, LaunchOptions, Watchtower, release_binary};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The longest run the bench accepts.
const MAX_DURATION: Duration = Duration::from_secs(3600);
/// How long watchtower may take to start serving.
const READY_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a SIGTERM may take before the process is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, clap::Args)]
pub struct ChecksArgs {
    /// Monitors to load (one farm target each).
    #[arg(long, default_value_t = 10_000)]
    pub monitors: usize,
    /// Check interval of every monitor.
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub interval: Duration,
    /// Check timeout of every monitor.
    #[arg(long, default_value = "5s", value_parser = duration)]
    pub timeout: Duration,
    /// Retries before DOWN (extra checks on failures).
    #[arg(long, default_value_t = 0)]
    pub retries: u32,
    /// Measured time, from the moment every monitor is loaded.
    #[arg(long, default_value = "60s", value_parser = duration)]
    pub duration: Duration,
    /// `sqlite` (a fresh file in a temporary directory) or `postgres://USER@HOST/DB` (a fresh
    /// database `wt_bench_<random>` is created on that server and dropped afterwards).
    #[arg(long, default_value = "sqlite")]
    pub database: String,
    /// Keep the database (and the SQLite directory) after the run.
    #[arg(long)]
    pub keep_database: bool,
    /// The watchtower binary [default: target/release/watchtower].
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// Where the SQLite directory is created [default: the system temporary directory].
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Skip the restart measurement.
    #[arg(long)]
    pub no_restart: bool,
    /// Loopback addresses of the farm (127.0.0.2 onwards).
    #[arg(long, default_value_t = 32)]
    pub addresses: u16,
    /// Ports per address and per kind of target.
    #[arg(long, default_value_t = 4)]
    pub ports: u16,
    /// First port of the farm.
    #[arg(long, default_value_t = 20_000)]
    pub base_port: u16,
    /// Share of monitors checking HTTPS targets (self-signed, `verify_tls: false`).
    #[arg(long, default_value_t = 0.0)]
    pub https_fraction: f64,
    /// Share of monitors checking raw TCP targets.
    #[arg(long, default_value_t = 0.0)]
    pub tcp_fraction: f64,
    /// Response time of targets: `fixed:MS`, `uniform:MIN-MAX` or `exp:MEAN`.
    #[arg(long, default_value = "fixed:0")]
    pub latency: Latency,
    /// Share of answers that are 503 at random.
    #[arg(long, default_value_t = 0.0)]
    pub failure_rate: f64,
    /// Share of targets taken down by a scripted outage (503s).
    #[arg(long, default_value_t = 0.0)]
    pub outage_fraction: f64,
    /// When the outage starts, after every monitor is loaded.
    #[arg(long, default_value = "20s", value_parser = duration)]
    pub outage_start: Duration,
    #[arg(long, default_value = "20s", value_parser = duration)]
    pub outage_length: Duration,
    /// Passed to `watchtower serve --max-concurrent-checks`.
    #[arg(long)]
    pub max_concurrent_checks: Option<usize>,
    /// Passed to `watchtower serve --max-checks-per-host`.
    #[arg(long)]
    pub max_checks_per_host: Option<usize>,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub async fn run(args: ChecksArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=1_000_000).contains(&args.monitors),
        "--monitors takes 1 to 1,000,000"
    );
    anyhow::ensure!(
        args.duration <= MAX_DURATION && args.interval <= MAX_DURATION,
        "--duration and --interval are at most an hour"
    );
    let machine = Machine::describe();
    let origin = Instant::now();
    let binary = release_binary(args.binary.as_deref())?;
    let database = BenchDatabase::create(Some(&args.database), args.work_dir.as_ref()).await?;
    let scratch = tempfile::Builder::new().prefix("wt-bench-run-").tempdir()?;
    let work_dir = database
        .work_dir()
        .unwrap_or_else(|| scratch.path().to_owned());

    // The farm outlives every phase below, each of which is bounded.
    let lifetime = READY_TIMEOUT * 2 + args.duration + args.interval * 3 + STOP_TIMEOUT * 2;
    let farm = Farm::start(farm_config(&args, lifetime), args.monitors, origin).await?;
    let targets: Vec<_> = (0..args.monitors).map(|i| farm.target(i)).collect();
    let config = work_dir.join("monitors.yaml");
    let settings = CheckSettings {
        interval: args.interval,
        // Watchtower refuses a timeout longer than the interval.
        timeout: args.timeout.min(args.interval),
        retries: args.retries,
    };
    monitors_file::write_checks(&config, &targets, settings)?;
    let launch = LaunchOptions {
        binary,
        database_url: database.url(),
        config: Some(config.clone()),
        extra_args: extra_args(&args),
        env: Vec::new(),
        log_file: target_process::log_path("checks")?,
        ready_timeout: READY_TIMEOUT,
    };
    let layout = farm.summary(0);
    let endpoints = layout.http_endpoints + layout.https_endpoints + layout.tcp_endpoints;
    eprintln!(
        "bench: {} monitors every {:?} on {} ({} farm endpoints); logs in {}",
        args.monitors,
        args.interval,
        database.backend(),
        endpoints,
        launch.log_file.display()
    );

    let measured = measure_run(&args, &farm, &launch).await;
    let restart = match (&measured, args.no_restart) {
        (Ok(_), false) => Some(measure_restart(&args, &farm, &launch).await),
        _ => None,
    };
    let measured = measured?;
    let farm_summary = farm.summary(args.monitors);
    farm.stop();

    let stored_results = database.count_results().await.ok();
    let results_bytes = database.table_bytes("results").await.ok();
    let database_bytes = database_size(&database.url()).await.ok();
    let backend = database.backend();
    let kept = database.drop_database(args.keep_database).await?;

    let mut report = Report::new(machine);
    let restart = restart.transpose()?;
    for figure in figures(
        &args,
        &measured,
        restart.as_ref(),
        stored_results,
        results_bytes,
        database_bytes,
    ) {
        report.push(figure);
    }
    report.detail("backend", backend);
    report.detail("farm", &farm_summary);
    report.detail("run", &measured);
    report.detail("restart", &restart);
    report.detail("stored_results", stored_results);
    report.detail("results_table_bytes", results_bytes);
    report.detail("database_bytes", database_bytes);
    report.detail("kept_database", kept);
    report.finish(args.json.as_deref())
}

fn farm_config(args: &ChecksArgs, lifetime: Duration) -> FarmConfig {
    FarmConfig {
        addresses: args.addresses,
        ports_per_address: args.ports,
        base_port: args.base_port,
        https_fraction: args.https_fraction,
        tcp_fraction: args.tcp_fraction,
        latency: args.latency,
        failure_rate: args.failure_rate,
        outage: (args.outage_fraction > 0.0).then_some(Outage {
            fraction: args.outage_fraction,
            start: args.outage_start,
            length: args.outage_length,
        }),
        lifetime,
    }
}

fn extra_args(args: &ChecksArgs) -> Vec<String> {
    let mut extra = Vec::new();
    if let Some(n) = args.max_concurrent_checks {
        extra.extend(["--max-concurrent-checks".to_owned(), n.to_string()]);
    }
    if let Some(n) = args.max_checks_per_host {
        extra.extend(["--max-checks-per-host".to_owned(), n.to_string()]);
    }
    extra
}

/// Start, run for the duration, snapshot, stop: everything measured on the first process.
async fn measure_run(
    args: &ChecksArgs,
    farm: &Farm,
    launch: &LaunchOptions,
) -> anyhow::Result<Measurements> {
    let spawn_ms = farm.now_ms();
    let bench_cpu_before_start = sampling::read_self().cpu_ms;
    let watchtower = Watchtower::start(launch).await?;
    let ready_at = Instant::now();
    let sampler = Sampler::start(
        watchtower.pid,
        ready_at,
        args.duration.as_secs() as usize + 30,
    );
    farm.set_outage_origin();
    let cpu_at_ready = sampling::read(watchtower.pid).unwrap_or_default();
    let bench_at_ready = sampling::read_self();
    let seen_at_ready = farm.checks_seen();
    let postgres_at_ready = sampling::cpu_of_processes_named("postgres");
    let start = Snapshot::take(watchtower.address).await?;
    let scheduled_after = wait_until_scheduled(&watchtower, args.monitors).await;

    // The measured window; first checks of every monitor are noted as they arrive.
    let mut all_first_hits_ms = None;
    let mut per_second = Vec::new();
    let mut last_seen = seen_at_ready;
    let window = args.duration;
    while ready_at.elapsed() < window {
        let left = window.saturating_sub(ready_at.elapsed());
        tokio::time::sleep(left.min(Duration::from_secs(1))).await;
        let seen = farm.checks_seen();
        per_second.push(seen - last_seen);
        last_seen = seen;
        if all_first_hits_ms.is_none() {
            all_first_hits_ms = farm.all_first_hits_ms(args.monitors);
        }
    }
    let measured_for = ready_at.elapsed();
    let cpu_at_end = sampling::read(watchtower.pid).unwrap_or_default();
    let bench_at_end = sampling::read_self();
    let seen_at_end = farm.checks_seen();
    let postgres_at_end = sampling::cpu_of_processes_named("postgres");
    let end = Snapshot::take(watchtower.address).await?;
    let peak_rss_kernel = sampling::peak_rss(watchtower.pid);
    let samples = sampler.finish().await;
    let stop = watchtower_stop(watchtower).await?;
    if all_first_hits_ms.is_none() {
        all_first_hits_ms = farm.all_first_hits_ms(args.monitors);
    }
    Ok(Measurements {
        measured_for_s: measured_for.as_secs_f64(),
        ready_after_ms: stop.0.ready_after.as_secs_f64() * 1000.0,
        logged_startup_ms: stop.0.logged_startup_ms,
        scheduled_after_ms: scheduled_after.map(|d| d.as_secs_f64() * 1000.0),
        all_first_checks_after_ms: all_first_hits_ms.map(|ms| ms.saturating_sub(spawn_ms) as f64),
        cpu_startup_ms: cpu_at_ready.cpu_ms,
        cpu_window_ms: cpu_at_end.cpu_ms - cpu_at_ready.cpu_ms,
        bench_cpu_setup_ms: bench_cpu_before_start,
        bench_cpu_window_ms: bench_at_end.cpu_ms - bench_at_ready.cpu_ms,
        postgres_cpu_window_ms: postgres_at_end - postgres_at_ready,
        farm_checks_in_window: seen_at_end - seen_at_ready,
        checks_per_second: per_second,
        start,
        end,
        peak_rss_kernel,
        samples,
        stop: stop.1,
    })
}

/// Stops the process, keeping what the figures need from it.
async fn watchtower_stop(
    watchtower: Watchtower,
) -> anyhow::Result<(StartFacts, target_process::StopReport)> {
    let facts = StartFacts {
        ready_after: watchtower.ready_after,
        logged_startup_ms: watchtower.logged_startup_ms,
    };
    let report = watchtower.stop(STOP_TIMEOUT).await?;
    Ok((facts, report))
}

struct StartFacts {
    ready_after: Duration,
    logged_startup_ms: Option<u64>,
}

/// Polls `/api/health` until the scheduler holds every monitor; the time since spawn.
async fn wait_until_scheduled(watchtower: &Watchtower, monitors: usize) -> Option<Duration> {
    for _ in 0..600 {
        if let Ok(health) = crate::http_client::get_json(watchtower.address, "/api/health").await
            && health["scheduler"]["monitors"].as_u64() >= Some(monitors as u64)
        {
            return Some(watchtower.spawned_at.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Starts watchtower again on the same database and times until every monitor was checked anew.
async fn measure_restart(
    args: &ChecksArgs,
    farm: &Farm,
    launch: &LaunchOptions,
) -> anyhow::Result<RestartMeasurements> {
    let tracked = farm.tracked(args.monitors).count();
    let spawn_ms = farm.now_ms();
    let spawned = Instant::now();
    let watchtower = Watchtower::start(launch).await?;
    let ready_after = watchtower.ready_after;
    let limit = args.interval * 2 + Duration::from_secs(60);
    let mut all_checked_after = None;
    let mut checked = 0;
    while spawned.elapsed() < ready_after + limit {
        checked = farm.monitors_hit_since(args.monitors, spawn_ms);
        if checked >= tracked {
            all_checked_after = Some(spawned.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stop = watchtower.stop(STOP_TIMEOUT).await?;
    Ok(RestartMeasurements {
        ready_after_ms: ready_after.as_secs_f64() * 1000.0,
        all_checked_after_ms: all_checked_after.map(|d| d.as_secs_f64() * 1000.0),
        monitors_checked: checked,
        monitors_tracked: tracked,
        shutdown_ms: stop.shutdown_ms,
    })
}

/// The database's size on disk as the store measures it.
async fn database_size(url: &str) -> anyhow::Result<u64> {
    let store = watchtower_store::connect(url).await?;
    Ok(store.size_bytes().await?)
}
