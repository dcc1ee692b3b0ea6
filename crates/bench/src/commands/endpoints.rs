//! `watchtower-bench endpoints`: HTTP latency of the monitor list and history endpoints with
//! 10,000 monitors (issue 5: "the first page of a 10,000-monitor list with 24 h uptime under
//! 50 ms"). The first page's monitors get history through the store first, as `backfill` writes
//! it (rollup watermarks only move forward, so history cannot be added under a running
//! watchtower); then watchtower starts, every monitor is loaded with `PUT /api/monitors/yaml`
//! (those with history are unchanged by it), and each endpoint is timed one request after another
//! on a keep-alive connection while watchtower keeps checking every monitor.

use super::backfill::{HistoryPlan, WriteTally, write_history};
use super::{YamlLoad, api_launch, duration, load_yaml};
use crate::api_client::{self, ApiClient};
use crate::database::BenchDatabase;
use crate::farm::{Farm, FarmConfig, Latency, Target};
use crate::machine::Machine;
use crate::monitors_file::{self, CheckSettings};
use crate::report::{Figure, Report, percentile};
use crate::sampling;
use crate::target_process::{LaunchOptions, Watchtower, release_binary};
use anyhow::Context;
use serde::Serialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use watchtower_core::{MonitorId, MonitorSpec, TeamId, Timestamp};

const DAY_MS: i64 = 86_400_000;
/// Days kept at full resolution (raw results and minute rollups, the default retention).
const RAW_DAYS: u32 = 3;
/// Older days get a result every 10 minutes: the hour and day rollups (all that is left of them
/// after pruning) have the same rows as with one a minute, at a tenth of the writing.
const OLD_INTERVAL: Duration = Duration::from_secs(600);
/// Requests sent before each timed series and not counted (connection and caches warm).
const WARM_UP: usize = 5;
/// Times the whole-team YAML export is timed.
const EXPORTS: usize = 5;
/// After loading, before timing: the scheduler takes the new monitors in.
const SETTLE: Duration = Duration::from_secs(5);
/// Monitors on a dashboard page.
const PAGE: usize = 50;
const STOP_TIMEOUT: Duration = Duration::from_secs(120);
/// The whole run after start-up, at most.
const RUN_LIMIT: Duration = Duration::from_secs(1800);

#[derive(Debug, clap::Args)]
pub struct EndpointsArgs {
    /// Monitors in the team.
    #[arg(long, default_value_t = 10_000)]
    pub monitors: usize,
    /// Check interval of every monitor (they are checked while the endpoints are timed).
    #[arg(long, default_value = "60s", value_parser = duration)]
    pub interval: Duration,
    /// Monitors with history: the first ones by id, i.e. the list's first page.
    #[arg(long, default_value_t = 50)]
    pub history_monitors: usize,
    /// Days of history, ending now (the last 3 at a result a minute, older ones every 10 minutes).
    #[arg(long, default_value_t = 90)]
    pub history_days: u32,
    /// Requests per endpoint, one after another.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// Times the dashboard page (list + 24 h uptime of each of its 50 monitors) is loaded, in
    /// each of the three ways.
    #[arg(long, default_value_t = 200)]
    pub page_runs: usize,
    /// Run `ANALYZE` after loading, before timing: what PostgreSQL's autovacuum does within a
    /// minute of a bulk load (the run reports whether autovacuum is on).
    #[arg(long)]
    pub analyze: bool,
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
    #[arg(long, default_value_t = 20_000)]
    pub base_port: u16,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// The synthetic history written before watchtower starts.
#[derive(Debug, Serialize)]
struct History {
    monitors: usize,
    elapsed_s: f64,
    older: WriteTally,
    recent: WriteTally,
}

/// Latencies of one timed series, in milliseconds.
#[derive(Debug, Serialize)]
struct Series {
    name: &'static str,
    path_example: String,
    response_bytes: usize,
    ms: Vec<f64>,
}

#[derive(Debug, Serialize)]
struct EndpointRun {
    ready_after_ms: f64,
    /// PostgreSQL's autovacuum setting; off means nothing analyzes the freshly loaded tables.
    autovacuum: Option<String>,
    yaml: YamlLoad,
    export_ms: Vec<f64>,
    export_bytes: usize,
    series: Vec<Series>,
    page_sequential_ms: Vec<f64>,
    page_concurrent_ms: Vec<f64>,
    page_list_then_uptimes_ms: Vec<f64>,
    /// The page in one request: `GET /api/monitors?limit=50&uptime=24h`.
    page_one_request_ms: Vec<f64>,
    /// Watchtower's CPU while the endpoints were timed (it also checks every monitor).
    cpu_share: f64,
    timed_for_s: f64,
    /// Filled in once watchtower has stopped.
    shutdown_ms: f64,
}

pub async fn run(args: EndpointsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (PAGE * 2..=200_000).contains(&args.monitors),
        "--monitors takes {} to 200,000",
        PAGE * 2
    );
    anyhow::ensure!(
        (PAGE..=args.monitors.min(10_000)).contains(&args.history_monitors),
        "--history-monitors takes {PAGE} to 10,000 (at most --monitors)"
    );
    anyhow::ensure!(
        (1..=400).contains(&args.history_days),
        "--history-days takes 1 to 400"
    );
    anyhow::ensure!(
        (1..=100_000).contains(&args.requests) && (1..=10_000).contains(&args.page_runs),
        "--requests takes 1 to 100,000 and --page-runs 1 to 10,000"
    );
    anyhow::ensure!(
        args.interval >= Duration::from_secs(1) && args.interval <= Duration::from_secs(3600),
        "--interval takes 1s to 1h"
    );
    let machine = Machine::describe();
    let binary = release_binary(args.binary.as_deref())?;
    let database = BenchDatabase::create(Some(&args.database), args.work_dir.as_ref()).await?;
    let settings = CheckSettings {
        interval: args.interval,
        timeout: Duration::from_secs(5).min(args.interval),
        retries: 0,
    };
    let history_limit = Duration::from_secs(3600);
    let farm_config = FarmConfig {
        addresses: 32,
        ports_per_address: 4,
        base_port: args.base_port,
        https_fraction: 0.0,
        tcp_fraction: 0.0,
        latency: Latency::Fixed(Duration::ZERO),
        failure_rate: 0.0,
        outage: None,
        lifetime: history_limit + RUN_LIMIT + Duration::from_secs(600),
    };
    let farm = Farm::start(farm_config, args.monitors, Instant::now()).await?;
    let targets: Vec<Target> = (0..args.monitors).map(|i| farm.target(i)).collect();
    eprintln!(
        "bench: {} days of history for {} monitors on {}",
        args.history_days,
        args.history_monitors,
        database.backend()
    );
    let history = backfill(&args, &database.url(), &targets, settings, history_limit).await?;

    let password = api_client::admin_password();
    let launch = api_launch(binary, database.url(), "endpoints", &password)?;
    eprintln!(
        "bench: loading {} monitors through the API; logs in {}",
        args.monitors,
        launch.log_file.display()
    );
    let measured = measure(&args, &targets, settings, &database, &launch, &password).await;
    farm.stop();
    let backend = database.backend();
    let kept = database.drop_database(args.keep_database).await?;
    let run = measured?;

    let mut report = Report::new(machine);
    for figure in figures(&args, &history, &run) {
        report.push(figure);
    }
    report.detail("backend", backend);
    report.detail("history", &history);
    report.detail("run", &run);
    report.detail("kept_database", kept);
    report.finish(args.json.as_deref())
}

/// Creates the first `--history-monitors` monitors through the store, exactly as the YAML will
/// describe them, and writes their history as time would pass.
async fn backfill(
    args: &EndpointsArgs,
    url: &str,
    targets: &[Target],
    settings: CheckSettings,
    limit: Duration,
) -> anyhow::Result<History> {
    let store = watchtower_store::connect(url).await?;
    store.migrate().await?;
    let mut specs = Vec::with_capacity(args.history_monitors);
    for (index, &target) in targets.iter().enumerate().take(args.history_monitors) {
        let value = monitors_file::check_json(index, target, settings);
        let spec = MonitorSpec::parse(&value, &format!("monitors[{index}]"))
            .map_err(|problems| anyhow::anyhow!("bad bench monitor: {problems:?}"))?;
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

    let started = Instant::now();
    let end = Timestamp::now().floor_to(Duration::from_secs(60));
    let recent_days = args.history_days.min(RAW_DAYS);
    let plan = |days: u32, interval: Duration| HistoryPlan {
        days,
        interval,
        batch: 5_000,
        failure_rate: 0.001,
        max_results: 50_000_000,
        max_time: limit,
    };
    let older = plan(args.history_days - recent_days, OLD_INTERVAL);
    let older_end = Timestamp(end.0 - i64::from(recent_days) * DAY_MS);
    let older = write_history(&older, store.clone(), &ids, older_end).await?;
    let recent = plan(recent_days, Duration::from_secs(60));
    let recent = write_history(&recent, store.clone(), &ids, end).await?;
    anyhow::ensure!(
        !older.stopped_early && !recent.stopped_early,
        "the history took longer than {limit:?}"
    );
    Ok(History {
        monitors: ids.len(),
        elapsed_s: started.elapsed().as_secs_f64(),
        older,
        recent,
    })
}

/// Starts watchtower, drives the run, and stops it whatever happened.
async fn measure(
    args: &EndpointsArgs,
    targets: &[Target],
    settings: CheckSettings,
    database: &BenchDatabase,
    launch: &LaunchOptions,
    password: &str,
) -> anyhow::Result<EndpointRun> {
    let watchtower = Watchtower::start(launch).await?;
    let driven = tokio::time::timeout(
        RUN_LIMIT,
        drive(args, targets, settings, database, &watchtower, password),
    )
    .await
    .context("the run took longer than its bound");
    let stop = watchtower.stop(STOP_TIMEOUT).await?;
    let mut run = driven??;
    run.shutdown_ms = stop.shutdown_ms;
    Ok(run)
}

async fn drive(
    args: &EndpointsArgs,
    targets: &[Target],
    settings: CheckSettings,
    database: &BenchDatabase,
    watchtower: &Watchtower,
    password: &str,
) -> anyhow::Result<EndpointRun> {
    let mut client = ApiClient::sign_in(watchtower.address, password).await?;
    let yaml = load_yaml(&mut client, targets, 0..args.monitors, settings).await?;
    anyhow::ensure!(
        yaml.created + yaml.unchanged == args.monitors,
        "the YAML apply created {} and left {} unchanged, of {}",
        yaml.created,
        yaml.unchanged,
        args.monitors
    );
    let ids: Vec<i64> = client
        .list_all("")
        .await?
        .iter()
        .filter_map(|m| m["id"].as_i64())
        .collect();
    anyhow::ensure!(ids.len() == args.monitors, "{} monitors listed", ids.len());
    tokio::time::sleep(SETTLE).await;
    let autovacuum = database.autovacuum().await?;
    if args.analyze {
        database.analyze().await?;
    }

    let (export_ms, export_bytes) = {
        let series = time_series(&mut client, "export", EXPORTS, |_| {
            "/api/monitors/yaml".to_owned()
        })
        .await?;
        (series.ms, series.response_bytes)
    };
    let cpu_before = sampling::read(watchtower.pid).unwrap_or_default();
    let timing = Instant::now();
    let with_history = &ids[..args.history_monitors];
    let history = |i: usize| with_history[i % with_history.len()];
    let middle = ids[args.monitors / 2 - 1];
    let n = args.requests;
    let mut browser = client.browser().await?;
    let series = vec![
        time_series(&mut client, "authenticated floor (/api/auth/me)", n, |_| {
            "/api/auth/me".to_owned()
        })
        .await?,
        time_series(&mut client, "list, first page (50)", n, |_| {
            "/api/monitors?limit=50".to_owned()
        })
        .await?,
        time_series(&mut client, "list, middle page (50)", n, |_| {
            format!("/api/monitors?limit=50&after={middle}")
        })
        .await?,
        time_series(&mut client, "results, newest 100", n, |i| {
            format!("/api/monitors/{}/results?limit=100", history(i))
        })
        .await?,
        time_series(&mut client, "uptime, 24 h", n, |i| {
            format!("/api/monitors/{}/uptime?period=24h", history(i))
        })
        .await?,
        time_series(&mut client, "uptime, 90 days", n, |i| {
            format!("/api/monitors/{}/uptime?period=90d", history(i))
        })
        .await?,
        // The dashboard's pages as a browser asks for them (session cookie), rendered HTML.
        time_series(
            &mut browser,
            "dashboard: overview, first page (HTML)",
            n,
            |_| "/".to_owned(),
        )
        .await?,
        time_series(
            &mut browser,
            "dashboard: overview refresh (HTML fragment)",
            n,
            |_| "/monitors/live".to_owned(),
        )
        .await?,
        time_series(
            &mut browser,
            "dashboard: monitor page, 24 h chart + 90 days of bars",
            n,
            |i| format!("/monitors/{}", history(i)),
        )
        .await?,
        time_series(
            &mut browser,
            "dashboard: monitor page, 90-day chart",
            n,
            |i| format!("/monitors/{}?range=90d", history(i)),
        )
        .await?,
    ];
    let mut pool = Vec::with_capacity(PAGE + 1);
    for _ in 0..=PAGE {
        pool.push(client.another().await?);
    }
    let page_ids = &ids[..PAGE];
    let (mut sequential, mut concurrent, mut dependent) = (Vec::new(), Vec::new(), Vec::new());
    let mut one_request = Vec::new();
    for _ in 0..WARM_UP {
        page_all_at_once(&mut pool, page_ids).await?;
        page_with_uptime(&mut client).await?;
    }
    for _ in 0..args.page_runs {
        sequential.push(page_sequential(&mut client).await?);
        concurrent.push(page_all_at_once(&mut pool, page_ids).await?);
        dependent.push(page_list_then_uptimes(&mut pool).await?);
        one_request.push(page_with_uptime(&mut client).await?);
    }
    let timed_for = timing.elapsed().as_secs_f64();
    let cpu_after = sampling::read(watchtower.pid).unwrap_or_default();
    Ok(EndpointRun {
        ready_after_ms: watchtower.ready_after.as_secs_f64() * 1000.0,
        autovacuum,
        yaml,
        export_ms,
        export_bytes,
        series,
        page_sequential_ms: sequential,
        page_concurrent_ms: concurrent,
        page_list_then_uptimes_ms: dependent,
        page_one_request_ms: one_request,
        cpu_share: (cpu_after.cpu_ms - cpu_before.cpu_ms) / (timed_for * 1000.0),
        timed_for_s: timed_for,
        shutdown_ms: 0.0,
    })
}

/// `requests` GETs of `path_of(i)` one after another, after a few uncounted ones.
async fn time_series(
    client: &mut ApiClient,
    name: &'static str,
    requests: usize,
    path_of: impl Fn(usize) -> String,
) -> anyhow::Result<Series> {
    for i in 0..WARM_UP {
        client.timed_get(&path_of(i)).await?;
    }
    let mut ms = Vec::with_capacity(requests);
    let mut response_bytes = 0;
    for i in 0..requests {
        let (elapsed, bytes) = client.timed_get(&path_of(i)).await?;
        ms.push(elapsed);
        response_bytes = bytes;
    }
    Ok(Series {
        name,
        path_example: path_of(0),
        response_bytes,
        ms,
    })
}

fn uptime_path(id: i64) -> String {
    format!("/api/monitors/{id}/uptime?period=24h")
}

/// The ids of a list page's monitors.
fn ids_of(page: &serde_json::Value) -> Vec<i64> {
    page["monitors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["id"].as_i64())
        .collect()
}

/// The dashboard one request at a time: the first page, then each monitor's 24 h uptime.
async fn page_sequential(client: &mut ApiClient) -> anyhow::Result<f64> {
    let asked = Instant::now();
    let page = client.get("/api/monitors?limit=50").await?;
    for id in ids_of(&page) {
        client.get(&uptime_path(id)).await?;
    }
    Ok(asked.elapsed().as_secs_f64() * 1000.0)
}

/// The 51 requests at once, each on its own connection (the page's ids known beforehand).
async fn page_all_at_once(pool: &mut [ApiClient], ids: &[i64]) -> anyhow::Result<f64> {
    let (lister, others) = pool.split_first_mut().context("an empty pool")?;
    let asked = Instant::now();
    let uptimes = others
        .iter_mut()
        .zip(ids)
        .map(|(client, &id)| async move { client.get(&uptime_path(id)).await });
    let (page, uptimes) = tokio::join!(
        lister.get("/api/monitors?limit=50"),
        futures::future::join_all(uptimes)
    );
    let elapsed = asked.elapsed().as_secs_f64() * 1000.0;
    page?;
    for uptime in uptimes {
        uptime?;
    }
    Ok(elapsed)
}

/// The page in one request, the list carrying each monitor's 24 h uptime. Every monitor of the
/// first page has history, so each must come with checks (a wrong answer fails the run).
async fn page_with_uptime(client: &mut ApiClient) -> anyhow::Result<f64> {
    let asked = Instant::now();
    let page = client.get("/api/monitors?limit=50&uptime=24h").await?;
    let elapsed = asked.elapsed().as_secs_f64() * 1000.0;
    let monitors = page["monitors"].as_array().context("no monitors listed")?;
    anyhow::ensure!(monitors.len() == PAGE, "{} monitors listed", monitors.len());
    for monitor in monitors {
        anyhow::ensure!(
            monitor["uptime"]["checks"]
                .as_u64()
                .is_some_and(|checks| checks > 0),
            "monitor {} listed without its 24 h uptime: {}",
            monitor["id"],
            monitor["uptime"]
        );
    }
    Ok(elapsed)
}

/// The page as a dashboard must load it: the list, then its 50 uptimes at once.
async fn page_list_then_uptimes(pool: &mut [ApiClient]) -> anyhow::Result<f64> {
    let (lister, others) = pool.split_first_mut().context("an empty pool")?;
    let asked = Instant::now();
    let page = lister.get("/api/monitors?limit=50").await?;
    let uptimes = others
        .iter_mut()
        .zip(ids_of(&page))
        .map(|(client, id)| async move { client.get(&uptime_path(id)).await });
    for uptime in futures::future::join_all(uptimes).await {
        uptime?;
    }
    Ok(asked.elapsed().as_secs_f64() * 1000.0)
}

fn figures(args: &EndpointsArgs, history: &History, run: &EndpointRun) -> Vec<Figure> {
    let results = history.older.results + history.recent.results;
    let mut out = vec![
        Figure::new("monitors in the team", args.monitors as f64, "").note(format!(
            "checked every {:?} while timing; {}; PostgreSQL autovacuum: {}",
            args.interval,
            if args.analyze {
                "ANALYZE run after loading"
            } else {
                "no ANALYZE"
            },
            run.autovacuum.as_deref().unwrap_or("n/a")
        )),
        Figure::new(
            "load through PUT /api/monitors/yaml",
            run.yaml.elapsed_ms,
            "ms",
        )
        .note(format!(
            "{} created, {} unchanged (with history), {} request(s), {} KiB",
            run.yaml.created,
            run.yaml.unchanged,
            run.yaml.documents,
            run.yaml.bytes / 1024
        )),
        Figure::new(
            "  per 1,000 monitors",
            run.yaml.elapsed_ms * 1000.0 / args.monitors as f64,
            "ms",
        ),
        Figure::new("monitors with history", history.monitors as f64, "").note(format!(
            "{} days, {} results written in {:.0} s through the store",
            args.history_days, results, history.elapsed_s
        )),
        Figure::new(
            "GET /api/monitors/yaml (whole team): p50",
            percentile(&mut run.export_ms.clone(), 0.5),
            "ms",
        )
        .note(format!(
            "{EXPORTS} requests, {} KiB",
            run.export_bytes / 1024
        )),
    ];
    for series in &run.series {
        let mut ms = series.ms.clone();
        out.push(Figure::new(
            format!("{}: p50", series.name),
            percentile(&mut ms, 0.5),
            "ms",
        ));
        let p99 = Figure::new(
            format!("{}: p99", series.name),
            percentile(&mut ms, 0.99),
            "ms",
        );
        // Issue 12's targets for the dashboard's server-side rendering.
        let p99 = if series.name.starts_with("dashboard: overview") {
            p99.at_most(50.0, "< 50 ms")
        } else if series.name.starts_with("dashboard: monitor page") {
            p99.at_most(100.0, "< 100 ms")
        } else {
            p99
        };
        out.push(p99.note(format!(
            "{} requests, max {:.1} ms, {} bytes: {}",
            ms.len(),
            percentile(&mut ms, 1.0).unwrap_or(f64::NAN),
            series.response_bytes,
            series.path_example
        )));
    }
    let pages = [
        (
            "page + 24 h uptimes, 51 requests one by one",
            &run.page_sequential_ms,
        ),
        (
            "page + 24 h uptimes, 51 requests at once",
            &run.page_concurrent_ms,
        ),
        (
            "page + 24 h uptimes, list then 50 at once",
            &run.page_list_then_uptimes_ms,
        ),
        (
            "page with 24 h uptimes, one request (?uptime=24h)",
            &run.page_one_request_ms,
        ),
    ];
    for (name, samples) in pages {
        let mut ms = samples.clone();
        out.push(Figure::new(
            format!("{name}: p50"),
            percentile(&mut ms, 0.5),
            "ms",
        ));
        out.push(
            Figure::new(format!("{name}: p99"), percentile(&mut ms, 0.99), "ms")
                .at_most(50.0, "< 50 ms")
                .note(format!(
                    "{} runs, max {:.1} ms",
                    ms.len(),
                    percentile(&mut ms, 1.0).unwrap_or(f64::NAN)
                )),
        );
    }
    out.push(Figure::new(
        "watchtower CPU while timing",
        100.0 * run.cpu_share,
        "% of a core",
    ));
    out.push(Figure::new("spawn to serving", run.ready_after_ms, "ms"));
    out.push(Figure::new(
        "shutdown (SIGTERM to exit)",
        run.shutdown_ms,
        "ms",
    ));
    out
}
