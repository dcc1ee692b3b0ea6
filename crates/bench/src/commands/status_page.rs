//! `watchtower-bench status-page`: a crowd of visitors on one public status page while every
//! monitor is being checked. `watchtower serve --config` loads N HTTP monitors against the local
//! farm and a page of C components over the first C of them (the monitors file's
//! `status_pages`); K keep-alive clients then fetch `/status/{slug}` for a bounded time. Reports
//! requests per second, latency percentiles, watchtower's CPU per request and whether the checks
//! kept their schedule meanwhile.
//!
//! Every request comes from 127.0.0.1, so the per-address limit on anonymous requests (120 a
//! minute, which a real crowd of many addresses never meets) is lifted with `serve`'s flags.

use super::{Snapshot, duration};
use crate::api_client;
use crate::database::BenchDatabase;
use crate::farm::{Farm, FarmConfig, Latency, Target};
use crate::http_client::{Connection, LoopTally, get_loop};
use crate::machine::Machine;
use crate::monitors_file::{self, CheckSettings};
use crate::report::{Figure, Report, percentile};
use crate::sampling;
use crate::target_process::{self, LaunchOptions, Watchtower, release_binary};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Requests one client sends at most, whatever the duration.
const MAX_REQUESTS_PER_CLIENT: u64 = 5_000_000;
/// Every n-th request's latency is kept.
const LATENCY_SAMPLE_EVERY: u64 = 8;
/// The page's slug.
const SLUG: &str = "crowd";

#[derive(Debug, clap::Args)]
pub struct StatusPageArgs {
    /// HTTP monitors being checked (one per farm target).
    #[arg(long, default_value_t = 10_000)]
    pub monitors: usize,
    /// Their check interval.
    #[arg(long, default_value = "60s", value_parser = duration)]
    pub interval: Duration,
    /// Components on the page, each over one monitor.
    #[arg(long, default_value_t = 100)]
    pub components: usize,
    /// Concurrent keep-alive visitors.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// How long the visitors fetch the page.
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub duration: Duration,
    /// Wait this long after start before the crowd arrives, so the first checks have run.
    #[arg(long, default_value = "15s", value_parser = duration)]
    pub settle: Duration,
    /// `sqlite` or `postgres://USER@HOST/DB` (a fresh database is created and dropped).
    #[arg(long, default_value = "sqlite")]
    pub database: String,
    #[arg(long)]
    pub keep_database: bool,
    /// The watchtower binary [default: target/release/watchtower].
    #[arg(long)]
    pub binary: Option<PathBuf>,
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// First port of the farm (32 loopback addresses × 4 ports).
    #[arg(long, default_value_t = 21_000)]
    pub base_port: u16,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub async fn run(args: StatusPageArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=200_000).contains(&args.monitors)
            && (1..=200).contains(&args.components)
            && args.components <= args.monitors,
        "--monitors takes 1 to 200,000 and --components 1 to 200 (at most --monitors)"
    );
    anyhow::ensure!(
        (1..=4096).contains(&args.clients)
            && args.duration <= Duration::from_secs(600)
            && args.settle <= Duration::from_secs(600),
        "--clients takes 1 to 4,096, --duration and --settle at most 10m"
    );
    anyhow::ensure!(
        args.interval >= Duration::from_secs(1) && args.interval <= Duration::from_secs(3600),
        "--interval takes 1s to 1h"
    );
    let machine = Machine::describe();
    let binary = release_binary(args.binary.as_deref())?;
    let database = BenchDatabase::create(Some(&args.database), args.work_dir.as_ref()).await?;
    let farm_config = FarmConfig {
        addresses: 32,
        ports_per_address: 4,
        base_port: args.base_port,
        https_fraction: 0.0,
        tcp_fraction: 0.0,
        latency: Latency::Fixed(Duration::ZERO),
        failure_rate: 0.0,
        outage: None,
        lifetime: args.settle + args.duration + Duration::from_secs(900),
    };
    let farm = Farm::start(farm_config, args.monitors, Instant::now()).await?;
    let targets: Vec<Target> = (0..args.monitors).map(|i| farm.target(i)).collect();
    let scratch = tempfile::Builder::new()
        .prefix("wt-bench-status-")
        .tempdir()?;
    let work_dir = database
        .work_dir()
        .unwrap_or_else(|| scratch.path().to_owned());
    let config = work_dir.join("status-page.yaml");
    let settings = CheckSettings {
        interval: args.interval,
        timeout: Duration::from_secs(5).min(args.interval),
        retries: 0,
    };
    monitors_file::write_checks(&config, &targets, settings)?;
    let mut page = format!(
        "status_pages:\n  - slug: {SLUG}\n    title: Crowd status\n    \
         show_response_times: true\n    components:\n"
    );
    for index in 0..args.components {
        writeln!(
            page,
            "      - {{name: Service {index}, monitors: [bench-{index}]}}"
        )?;
    }
    std::fs::OpenOptions::new()
        .append(true)
        .open(&config)
        .and_then(|mut file| std::io::Write::write_all(&mut file, page.as_bytes()))?;

    let launch = LaunchOptions {
        binary,
        database_url: database.url(),
        config: Some(config),
        extra_args: api_client::unthrottled_args(),
        env: Vec::new(),
        log_file: target_process::log_path("status-page")?,
        ready_timeout: Duration::from_secs(300),
    };
    let watchtower = Watchtower::start(&launch).await?;
    tokio::time::sleep(args.settle).await;
    let path = format!("/status/{SLUG}");
    let (status, first) = Connection::open(watchtower.address)
        .await?
        .get(&path)
        .await?;
    anyhow::ensure!(status == 200, "GET {path} answered {status}");
    anyhow::ensure!(
        String::from_utf8_lossy(&first).contains(&format!("Service {}", args.components - 1)),
        "the page does not show its last component"
    );
    let start = Snapshot::take(watchtower.address).await?;
    let cpu_start = sampling::read(watchtower.pid).unwrap_or_default();
    let bench_start = sampling::read_self();

    let began = Instant::now();
    let deadline = tokio::time::Instant::now() + args.duration;
    let mut clients = Vec::new();
    for _ in 0..args.clients {
        let (address, path) = (watchtower.address, path.clone());
        clients.push(tokio::spawn(async move {
            // As a browser asks: the page compressed.
            let headers = [("accept-encoding", "gzip, deflate, br")];
            get_loop(
                address,
                deadline,
                MAX_REQUESTS_PER_CLIENT,
                LATENCY_SAMPLE_EVERY,
                &headers,
                |_| path.clone(),
            )
            .await
        }));
    }
    let mut tally = LoopTally::default();
    for client in clients {
        tally.add(client.await?);
    }
    let elapsed = began.elapsed().as_secs_f64();
    let cpu_end = sampling::read(watchtower.pid).unwrap_or_default();
    let bench_end = sampling::read_self();
    let end = Snapshot::take(watchtower.address).await?;
    let peak_rss = sampling::peak_rss(watchtower.pid).unwrap_or(0) as f64;
    let stop = watchtower.stop(Duration::from_secs(120)).await?;
    farm.stop();
    let backend = database.backend();
    let kept = database.drop_database(args.keep_database).await?;

    let ok = tally.ok as f64;
    let checks = end
        .number("/scheduler/checks_completed")
        .zip(start.number("/scheduler/checks_completed"))
        .map(|(end, start)| end - start);
    let mut report = Report::new(machine);
    report.push(Figure::new(
        "monitors being checked",
        args.monitors as f64,
        "",
    ));
    report.push(Figure::new(
        "components on the page",
        args.components as f64,
        "",
    ));
    report.push(Figure::new(
        "visitors (keep-alive clients)",
        args.clients as f64,
        "",
    ));
    report.push(Figure::new("page bytes", first.len() as f64, "B"));
    report.push(Figure::new(
        "page bytes sent (gzip, as browsers ask)",
        (tally.ok > 0).then(|| tally.bytes as f64 / ok),
        "B",
    ));
    report.push(Figure::new("pages served (200)", ok, ""));
    report
        .push(Figure::new("pages per second", ok / elapsed, "/s").at_least(5_000.0, ">= 5,000/s"));
    report.push(Figure::new("other answers", tally.other as f64, ""));
    report.push(Figure::new("client errors", tally.errors as f64, ""));
    report.push(Figure::new(
        "latency p50 (client)",
        percentile(&mut tally.latencies_ms, 0.5),
        "ms",
    ));
    report.push(
        Figure::new(
            "latency p99 (client)",
            percentile(&mut tally.latencies_ms, 0.99),
            "ms",
        )
        .at_most(50.0, "< 50 ms"),
    );
    report.push(Figure::new(
        "watchtower CPU per page",
        (ok > 0.0).then(|| (cpu_end.cpu_ms - cpu_start.cpu_ms) / ok),
        "ms",
    ));
    report.push(Figure::new(
        "watchtower CPU use",
        100.0 * (cpu_end.cpu_ms - cpu_start.cpu_ms) / (elapsed * 1000.0),
        "% of a core",
    ));
    report.push(Figure::new(
        "client CPU use (bench process)",
        100.0 * (bench_end.cpu_ms - bench_start.cpu_ms) / (elapsed * 1000.0),
        "% of a core",
    ));
    report.push(Figure::new("checks completed meanwhile", checks, ""));
    report.push(Figure::new(
        "checks due meanwhile",
        args.monitors as f64 * elapsed / args.interval.as_secs_f64(),
        "",
    ));
    report.push(Figure::new(
        "schedule lag p99 (last minute)",
        end.number("/scheduler/lag_p99_ms"),
        "ms",
    ));
    report.push(Figure::new(
        "watchtower peak RSS",
        peak_rss / (1024.0 * 1024.0),
        "MiB",
    ));
    report.detail("backend", backend);
    report.detail("elapsed_s", elapsed);
    report.detail("bytes_served", tally.bytes);
    report.detail("health_end", &end.health);
    report.detail("stop", &stop);
    report.detail("kept_database", kept);
    report.finish(args.json.as_deref())
}
