//! `watchtower-bench push`: N push monitors, C keep-alive HTTP/1.1 clients pinging their tokens for
//! a bounded time, then a check that every accepted ping became a stored result or was coalesced
//! into one (pings of a monitor with the same outcome within a second are recorded once).

use super::{Snapshot, duration};
use crate::database::BenchDatabase;
use crate::http_client::{LoopTally, get_loop};
use crate::machine::Machine;
use crate::monitors_file;
use crate::prometheus::counter_sum;
use crate::report::{Figure, Report, percentile};
use crate::sampling;
use crate::target_process::{self, LaunchOptions, Watchtower, release_binary};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Requests one client sends at most, whatever the duration.
const MAX_REQUESTS_PER_CLIENT: u64 = 5_000_000;
/// Pings recorded once with an earlier one of the same monitor (watchtower's counter).
const COALESCED: &str = "watchtower_push_pings_coalesced_total";
/// Every n-th request's latency is kept.
const LATENCY_SAMPLE_EVERY: u64 = 16;

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// Push monitors (distinct tokens).
    #[arg(long, default_value_t = 10_000)]
    pub tokens: usize,
    /// Concurrent keep-alive clients; each pings its own share of the tokens in turn.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// How long the clients ping.
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub duration: Duration,
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
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub async fn run(args: PushArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=1_000_000).contains(&args.tokens) && (1..=4096).contains(&args.clients),
        "--tokens takes 1 to 1,000,000 and --clients 1 to 4,096"
    );
    anyhow::ensure!(
        args.duration <= Duration::from_secs(600),
        "--duration is at most 10m"
    );
    let machine = Machine::describe();
    let binary = release_binary(args.binary.as_deref())?;
    let database = BenchDatabase::create(Some(&args.database), args.work_dir.as_ref()).await?;
    let scratch = tempfile::Builder::new()
        .prefix("wt-bench-push-")
        .tempdir()?;
    let work_dir = database
        .work_dir()
        .unwrap_or_else(|| scratch.path().to_owned());
    let config = work_dir.join("push.yaml");
    monitors_file::write_push(&config, args.tokens, Duration::from_secs(6 * 3600))?;
    let launch = LaunchOptions {
        binary,
        database_url: database.url(),
        config: Some(config),
        extra_args: Vec::new(),
        env: Vec::new(),
        log_file: target_process::log_path("push")?,
        ready_timeout: Duration::from_secs(300),
    };
    let watchtower = Watchtower::start(&launch).await?;
    let start = Snapshot::take(watchtower.address).await?;
    let cpu_start = sampling::read(watchtower.pid).unwrap_or_default();
    let bench_start = sampling::read_self();

    let began = Instant::now();
    let deadline = tokio::time::Instant::now() + args.duration;
    let mut clients = Vec::new();
    for client in 0..args.clients {
        let address = watchtower.address;
        // This client's tokens: `client`, `client + clients`, … in turn.
        let own: Vec<String> = (client..args.tokens)
            .step_by(args.clients)
            .map(|i| format!("/api/push/{}", monitors_file::push_token(i)))
            .collect();
        if own.is_empty() {
            continue;
        }
        clients.push(tokio::spawn(async move {
            get_loop(
                address,
                deadline,
                MAX_REQUESTS_PER_CLIENT,
                LATENCY_SAMPLE_EVERY,
                &[],
                |sent| own[sent as usize % own.len()].clone(),
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

    // Let the writer catch up (bounded), then read its counters.
    let written_before = start.number("/writer/written_results").unwrap_or(0.0);
    let coalesced_before = counter_sum(&start.metrics_text, COALESCED, &[]);
    let mut end = Snapshot::take(watchtower.address).await?;
    let coalesced_by =
        |end: &Snapshot| counter_sum(&end.metrics_text, COALESCED, &[]) - coalesced_before;
    for _ in 0..100 {
        let written = end.number("/writer/written_results").unwrap_or(0.0) - written_before;
        if written + coalesced_by(&end) >= tally.ok as f64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        end = Snapshot::take(watchtower.address).await?;
    }
    let peak_rss = sampling::peak_rss(watchtower.pid).unwrap_or(0) as f64;
    let stop = watchtower.stop(Duration::from_secs(120)).await?;
    let stored = database.count_results().await.ok();
    let backend = database.backend();
    let kept = database.drop_database(args.keep_database).await?;

    let mut report = Report::new(machine);
    let accepted = tally.ok as f64;
    report.push(Figure::new("push monitors", args.tokens as f64, ""));
    report.push(Figure::new("clients (keep-alive)", args.clients as f64, ""));
    report.push(Figure::new("pings accepted (200)", accepted, ""));
    report.push(
        Figure::new("pings accepted per second", accepted / elapsed, "/s")
            .at_least(20_000.0, ">= 20,000/s"),
    );
    report.push(Figure::new(
        "pings refused (non-200)",
        tally.other as f64,
        "",
    ));
    report.push(Figure::new("client errors", tally.errors as f64, ""));
    report.push(Figure::new(
        "ping latency p50 (client)",
        percentile(&mut tally.latencies_ms, 0.5),
        "ms",
    ));
    report.push(Figure::new(
        "ping latency p99 (client)",
        percentile(&mut tally.latencies_ms, 0.99),
        "ms",
    ));
    let written = end
        .number("/writer/written_results")
        .map(|w| w - written_before);
    report.push(Figure::new(
        "results written (writer, before stop)",
        written,
        "",
    ));
    report.push(Figure::new(
        "results dropped (writer)",
        end.number("/writer/dropped_results"),
        "",
    ));
    let coalesced = coalesced_by(&end);
    report.push(Figure::new(
        "pings coalesced (same monitor and outcome within 1 s)",
        coalesced,
        "",
    ));
    let stored_f = stored.map(|n| n as f64);
    report.push(Figure::new(
        "results stored (rows after stop)",
        stored_f,
        "",
    ));
    report.push(
        Figure::new(
            "accepted pings neither stored nor coalesced",
            stored_f.map(|s| (accepted - coalesced - s).max(0.0)),
            "",
        )
        .at_most(0.0, "0 (every ping recorded)"),
    );
    report.push(Figure::new(
        "watchtower CPU per ping",
        (accepted > 0.0).then(|| (cpu_end.cpu_ms - cpu_start.cpu_ms) / accepted),
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
    report.push(Figure::new(
        "watchtower peak RSS",
        peak_rss / (1024.0 * 1024.0),
        "MiB",
    ));
    report.push(Figure::new(
        "shutdown (SIGTERM to exit)",
        stop.shutdown_ms,
        "ms",
    ));
    report.detail("backend", backend);
    report.detail("elapsed_s", elapsed);
    report.detail("health_end", &end.health);
    report.detail("stop", &stop);
    report.detail("kept_database", kept);
    report.finish(args.json.as_deref())
}
