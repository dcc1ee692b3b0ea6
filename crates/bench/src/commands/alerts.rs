//! `watchtower-bench alerts`: issue 5's "confirmed DOWN to the local webhook receiver, 1,000
//! monitors failing at once". A webhook channel and a `down` rule point at the farm's `/webhook`;
//! N HTTP monitors are loaded through the API (most in `PUT /api/monitors/yaml`, some one request
//! each with `POST /api/monitors`, both timed); once every monitor is UP, every target answers 503
//! from the same instant, and each monitor's webhook is timed against its state change's `at` and
//! against the outage's start. Every monitor must alert exactly once. The bench also polls the
//! outbox table, so each latency splits into the writer's share (state change to outbox row
//! committed) and the dispatcher's (row to webhook).

use super::{api_launch, duration, load_yaml};
use crate::api_client::{self, ApiClient};
use crate::database::{BenchDatabase, OutboxReader};
use crate::farm::{Farm, FarmConfig, Latency, Outage, Target, WebhookReceipt};
use crate::http_client;
use crate::machine::Machine;
use crate::monitors_file::{self, CheckSettings};
use crate::prometheus::counter_sum;
use crate::report::{Figure, Report, percentile};
use crate::target_process::{LaunchOptions, Watchtower, release_binary};
use anyhow::Context;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use watchtower_core::Timestamp;

const MAX_MONITORS: usize = 20_000;
/// Webhooks arriving this long after the last expected one are still counted (as duplicates).
const LINGER: Duration = Duration::from_secs(3);
/// Connections sending the check-now requests at once.
const CHECK_NOW_CLIENTS: usize = 8;
/// How long a SIGTERM may take before the process is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// Start-up, sign-in and loading, at most (the farm outlives them).
const SETUP_LIMIT: Duration = Duration::from_secs(900);
const DELIVERY_SECONDS: &str = "watchtower_notification_delivery_seconds";
/// How often the outbox is read for newly committed rows.
const OUTBOX_POLL: Duration = Duration::from_millis(20);

/// An outbox row first seen committed: its monitor and the wall clock (epoch ms) of the read.
type OutboxSighting = (Option<i64>, i64);

#[derive(Debug, clap::Args)]
pub struct AlertsArgs {
    /// Monitors, all failing at once.
    #[arg(long, default_value_t = 1_000)]
    pub monitors: usize,
    /// How many of them are created one request each with `POST /api/monitors`; the others go
    /// in `PUT /api/monitors/yaml` (under 1 MiB per body).
    #[arg(long, default_value_t = 100)]
    pub api_monitors: usize,
    /// Check interval of every monitor.
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub interval: Duration,
    /// Check timeout of every monitor.
    #[arg(long, default_value = "5s", value_parser = duration)]
    pub timeout: Duration,
    /// Retries before DOWN.
    #[arg(long, default_value_t = 0)]
    pub retries: u32,
    /// Once the outage starts, ask every monitor to check now (`POST /api/monitors/{id}/check`),
    /// so all DOWNs are confirmed within moments instead of over one interval (their phases).
    #[arg(long)]
    pub check_now: bool,
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
    /// First port of the farm (8 loopback addresses × 2 ports; the webhook is on the first).
    #[arg(long, default_value_t = 20_000)]
    pub base_port: u16,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

impl AlertsArgs {
    fn settings(&self) -> CheckSettings {
        CheckSettings {
            interval: self.interval,
            // Watchtower refuses a timeout longer than the interval.
            timeout: self.timeout.min(self.interval),
            retries: self.retries,
        }
    }

    /// From the outage's start until every DOWN must have been confirmed and delivered: each
    /// failing check comes at most an interval after the previous one, plus its timeout, plus
    /// 30 s for the writer, the dispatcher and the delivery.
    fn alert_window(&self) -> Duration {
        self.interval * (self.retries + 1) + self.timeout + Duration::from_secs(30)
    }

    /// How long the first check of every monitor may take to come.
    fn up_limit(&self) -> Duration {
        self.interval * 3 + Duration::from_secs(60)
    }
}

/// What one run measured.
#[derive(Debug, Default, Serialize)]
struct AlertRun {
    ready_after_ms: f64,
    yaml: super::YamlLoad,
    posted_monitors: usize,
    post_ms: f64,
    /// From the end of loading until the API listed every monitor UP.
    all_up_ms: f64,
    /// Wall clock of the outage's start (epoch milliseconds).
    outage_start_ms: i64,
    check_now_ms: Option<f64>,
    /// From the outage's start until the last expected webhook arrived.
    all_received_ms: Option<f64>,
    receipts: Vec<WebhookReceipt>,
    /// When each outbox row was first seen committed, at most `OUTBOX_POLL` (plus a query) late.
    outbox_seen: Vec<OutboxSighting>,
    monitor_ids: Vec<i64>,
    /// Delivery log entries by status.
    delivery_log: BTreeMap<String, usize>,
    deliveries: f64,
    delivery_seconds: f64,
    /// Filled in once watchtower has stopped.
    shutdown_ms: f64,
}

pub async fn run(args: AlertsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=MAX_MONITORS).contains(&args.monitors) && args.api_monitors <= args.monitors,
        "--monitors takes 1 to {MAX_MONITORS} and --api-monitors at most --monitors"
    );
    anyhow::ensure!(
        args.interval <= Duration::from_secs(600) && args.retries <= 10,
        "--interval is at most 10m and --retries at most 10"
    );
    let machine = Machine::describe();
    let binary = release_binary(args.binary.as_deref())?;
    let database = BenchDatabase::create(Some(&args.database), args.work_dir.as_ref()).await?;
    let lifetime = SETUP_LIMIT + args.up_limit() + args.alert_window() + Duration::from_secs(120);
    let farm = Farm::start(farm_config(&args, lifetime), args.monitors, Instant::now()).await?;
    let password = api_client::admin_password();
    let launch = api_launch(binary, database.url(), "alerts", &password)?;
    eprintln!(
        "bench: {} monitors every {:?} on {}, all failing at once; logs in {}",
        args.monitors,
        args.interval,
        database.backend(),
        launch.log_file.display()
    );
    let measured = measure(&args, &farm, &database, &launch, &password).await;
    farm.stop();
    let backend = database.backend();
    let kept = database.drop_database(args.keep_database).await?;
    let run = measured?;

    let mut report = Report::new(machine);
    for figure in figures(&args, &run) {
        report.push(figure);
    }
    report.detail("backend", backend);
    report.detail("run", &run);
    report.detail("kept_database", kept);
    report.finish(args.json.as_deref())
}

/// Every target is in the outage, which starts when the bench says and outlasts the run.
fn farm_config(args: &AlertsArgs, lifetime: Duration) -> FarmConfig {
    FarmConfig {
        addresses: 8,
        ports_per_address: 2,
        base_port: args.base_port,
        https_fraction: 0.0,
        tcp_fraction: 0.0,
        latency: Latency::Fixed(Duration::ZERO),
        failure_rate: 0.0,
        outage: Some(Outage {
            fraction: 1.0,
            start: Duration::ZERO,
            length: lifetime,
        }),
        lifetime,
    }
}

/// Starts watchtower, drives the run, and stops it whatever happened.
async fn measure(
    args: &AlertsArgs,
    farm: &Farm,
    database: &BenchDatabase,
    launch: &LaunchOptions,
    password: &str,
) -> anyhow::Result<AlertRun> {
    let watchtower = Watchtower::start(launch).await?;
    let driven = tokio::time::timeout(
        SETUP_LIMIT + args.up_limit() + args.alert_window() + LINGER,
        drive(args, farm, database, &watchtower, password),
    )
    .await
    .context("the run took longer than its bound");
    let stop = watchtower.stop(STOP_TIMEOUT).await?;
    let mut run = driven??;
    run.shutdown_ms = stop.shutdown_ms;
    Ok(run)
}

async fn drive(
    args: &AlertsArgs,
    farm: &Farm,
    database: &BenchDatabase,
    watchtower: &Watchtower,
    password: &str,
) -> anyhow::Result<AlertRun> {
    let mut client = ApiClient::sign_in(watchtower.address, password).await?;
    let webhook = format!("http://{}/webhook", farm.target(0).endpoint);
    let channel = client
        .post(
            "/api/channels",
            &json!({"name": "bench", "kind": "webhook", "url": webhook}),
        )
        .await?;
    let channel_id = channel["id"].as_i64().context("the channel has no id")?;
    client
        .post(
            "/api/alert-rules",
            &json!({"name": "down", "events": ["down"], "channel_ids": [channel_id]}),
        )
        .await?;

    let targets: Vec<Target> = (0..args.monitors).map(|i| farm.target(i)).collect();
    let settings = args.settings();
    let bulk = args.monitors - args.api_monitors;
    let yaml = load_yaml(&mut client, &targets, 0..bulk, settings).await?;
    let posting = Instant::now();
    for (index, &target) in targets.iter().enumerate().skip(bulk) {
        let body = monitors_file::check_json(index, target, settings);
        client.post("/api/monitors", &body).await?;
    }
    let post_ms = posting.elapsed().as_secs_f64() * 1000.0;
    eprintln!(
        "bench: loaded {bulk} monitors with YAML in {:.0} ms and {} with POST in {post_ms:.0} ms; \
         waiting until every one is UP",
        yaml.elapsed_ms, args.api_monitors
    );

    let loaded = Instant::now();
    let monitor_ids = wait_all_up(&mut client, args.monitors, args.up_limit()).await?;
    let all_up_ms = loaded.elapsed().as_secs_f64() * 1000.0;
    let metrics_before = metrics_text(watchtower).await?;
    let (stop_watching, stop) = oneshot::channel();
    let watcher = watch_outbox(database.outbox_reader().await?, stop);

    farm.set_outage_origin();
    let outage_start_ms = Timestamp::now().0;
    let outage_started = Instant::now();
    eprintln!("bench: every target fails from now on; awaiting the webhooks");
    let check_now_ms = if args.check_now {
        Some(check_all_now(&client, &monitor_ids).await?)
    } else {
        None
    };
    let expected: HashSet<i64> = monitor_ids.iter().copied().collect();
    let mut all_received_ms = None;
    while outage_started.elapsed() < args.alert_window() {
        let alerted: HashSet<i64> = farm
            .webhooks()
            .iter()
            .filter(|r| is_down(r))
            .filter_map(|r| r.monitor_id)
            .filter(|id| expected.contains(id))
            .collect();
        if alerted.len() == expected.len() {
            all_received_ms = Some(outage_started.elapsed().as_secs_f64() * 1000.0);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(LINGER).await;
    let receipts = farm.webhooks();
    let _ = stop_watching.send(());
    let outbox_seen = watcher.await??;
    let metrics_after = metrics_text(watchtower).await?;
    let delta = |name: &str| {
        counter_sum(&metrics_after, name, &[]) - counter_sum(&metrics_before, name, &[])
    };
    Ok(AlertRun {
        ready_after_ms: watchtower.ready_after.as_secs_f64() * 1000.0,
        yaml,
        posted_monitors: args.api_monitors,
        post_ms,
        all_up_ms,
        outage_start_ms,
        check_now_ms,
        all_received_ms,
        receipts,
        outbox_seen,
        monitor_ids,
        delivery_log: delivery_log(&mut client, args.monitors).await?,
        deliveries: delta(&format!("{DELIVERY_SECONDS}_count")),
        delivery_seconds: delta(&format!("{DELIVERY_SECONDS}_sum")),
        shutdown_ms: 0.0,
    })
}

/// Reads the outbox every `OUTBOX_POLL` until `stop`, noting when each row was first seen (the
/// moment the read began: the row was committed by then).
fn watch_outbox(
    mut reader: OutboxReader,
    mut stop: oneshot::Receiver<()>,
) -> JoinHandle<anyhow::Result<Vec<OutboxSighting>>> {
    tokio::spawn(async move {
        let mut seen = Vec::new();
        let mut last = 0;
        let mut tick = tokio::time::interval(OUTBOX_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stop => return Ok(seen),
                _ = tick.tick() => {}
            }
            let asked = Timestamp::now().0;
            for (id, monitor) in reader.rows_after(last).await? {
                last = last.max(id);
                seen.push((monitor, asked));
            }
        }
    })
}

fn is_down(receipt: &WebhookReceipt) -> bool {
    receipt.kind.as_deref() == Some("monitor.down")
}

async fn metrics_text(watchtower: &Watchtower) -> anyhow::Result<String> {
    let (_, text) =
        http_client::get(watchtower.address, "/metrics", Duration::from_secs(30)).await?;
    Ok(text)
}

/// Polls the list (state `UP`) until it holds every monitor; returns every monitor's id. (The
/// API documents the filter in lower case but accepts only upper case at 5d1c313.)
async fn wait_all_up(
    client: &mut ApiClient,
    monitors: usize,
    limit: Duration,
) -> anyhow::Result<Vec<i64>> {
    let started = Instant::now();
    loop {
        let up = client.list_all("state=UP").await?.len();
        if up == monitors {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < limit,
            "only {up} of {monitors} monitors were UP after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let listed = client.list_all("").await?;
    let ids: Vec<i64> = listed.iter().filter_map(|m| m["id"].as_i64()).collect();
    anyhow::ensure!(
        ids.len() == monitors,
        "the team lists {} monitors, not {monitors}",
        ids.len()
    );
    Ok(ids)
}

/// Asks for a check of every monitor now, over a few connections at once; milliseconds taken.
async fn check_all_now(client: &ApiClient, ids: &[i64]) -> anyhow::Result<f64> {
    let started = Instant::now();
    let share = ids.len().div_ceil(CHECK_NOW_CLIENTS);
    let mut tasks = Vec::new();
    for chunk in ids.chunks(share.max(1)) {
        let mut own = client.another().await?;
        let chunk = chunk.to_vec();
        tasks.push(tokio::spawn(async move {
            for id in chunk {
                own.post(
                    &format!("/api/monitors/{id}/check"),
                    &serde_json::Value::Null,
                )
                .await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}

/// The delivery log's entries by status (pending, delivered, failed, ...).
async fn delivery_log(
    client: &mut ApiClient,
    monitors: usize,
) -> anyhow::Result<BTreeMap<String, usize>> {
    let mut statuses = BTreeMap::new();
    let mut before = None;
    for _ in 0..monitors / 500 + 10 {
        let path = match before {
            Some(id) => format!("/api/notifications?limit=500&before={id}"),
            None => "/api/notifications?limit=500".to_owned(),
        };
        let page = client.get(&path).await?;
        for entry in page["notifications"].as_array().into_iter().flatten() {
            let status = entry["status"].as_str().unwrap_or("unknown").to_owned();
            *statuses.entry(status).or_default() += 1;
        }
        before = page["next_before"].as_i64();
        if before.is_none() {
            break;
        }
    }
    Ok(statuses)
}

/// Per monitor: how many DOWN webhooks arrived, and the first one's timings.
#[derive(Debug, Default)]
struct Tally {
    per_monitor: HashMap<i64, u32>,
    redelivered: usize,
    unknown: usize,
    other: usize,
    /// Receipt − `data.at` (the confirmed state change), per monitor's first webhook.
    after_change_ms: Vec<f64>,
    /// Receipt − the outage's start.
    after_outage_ms: Vec<f64>,
    /// `data.at` − the outage's start: how long until the monitor's failing check (its phase).
    change_after_outage_ms: Vec<f64>,
    /// Outbox row seen − `data.at`: the writer's share.
    change_to_outbox_ms: Vec<f64>,
    /// Receipt − outbox row seen: the dispatcher's share (poll, claim, delivery).
    outbox_to_receipt_ms: Vec<f64>,
}

fn tally(run: &AlertRun) -> Tally {
    let expected: HashSet<i64> = run.monitor_ids.iter().copied().collect();
    let mut outbox: HashMap<i64, i64> = HashMap::new();
    for &(monitor, seen) in &run.outbox_seen {
        if let Some(monitor) = monitor {
            outbox.entry(monitor).or_insert(seen);
        }
    }
    let mut keys = HashSet::new();
    let mut tally = Tally::default();
    for receipt in &run.receipts {
        let Some(id) = receipt.monitor_id.filter(|_| is_down(receipt)) else {
            tally.other += 1;
            continue;
        };
        if !expected.contains(&id) {
            tally.unknown += 1;
            continue;
        }
        if let Some(key) = &receipt.idempotency_key
            && !keys.insert(key.clone())
        {
            tally.redelivered += 1;
        }
        let seen = tally.per_monitor.entry(id).or_default();
        *seen += 1;
        if *seen > 1 {
            continue;
        }
        tally
            .after_outage_ms
            .push((receipt.wall_ms - run.outage_start_ms) as f64);
        if let Some(at) = receipt.event_at_ms {
            tally.after_change_ms.push((receipt.wall_ms - at) as f64);
            tally
                .change_after_outage_ms
                .push((at - run.outage_start_ms) as f64);
            if let Some(&seen) = outbox.get(&id) {
                tally.change_to_outbox_ms.push((seen - at) as f64);
                tally
                    .outbox_to_receipt_ms
                    .push((receipt.wall_ms - seen) as f64);
            }
        }
    }
    tally
}

fn figures(args: &AlertsArgs, run: &AlertRun) -> Vec<Figure> {
    let mut tally = tally(run);
    let n = args.monitors as f64;
    let alerted = tally.per_monitor.len() as f64;
    let duplicates: u32 = tally.per_monitor.values().map(|&c| c - 1).sum();
    let posted = run.posted_monitors as f64;
    let mut out = vec![
        Figure::new("monitors failing at once", n, "").note(format!(
            "every {:?}, retries {}, {}",
            args.interval,
            args.retries,
            if args.check_now {
                "all checked at once (check now)"
            } else {
                "checked at their own phase"
            }
        )),
        Figure::new("spawn to serving", run.ready_after_ms, "ms"),
        Figure::new(
            "load through PUT /api/monitors/yaml",
            run.yaml.elapsed_ms,
            "ms",
        )
        .note(format!(
            "{} monitors in {} request(s), {} KiB",
            run.yaml.monitors,
            run.yaml.documents,
            run.yaml.bytes / 1024
        )),
        Figure::new(
            "  per 1,000 monitors (YAML)",
            (run.yaml.monitors > 0)
                .then(|| run.yaml.elapsed_ms * 1000.0 / run.yaml.monitors as f64),
            "ms",
        ),
        Figure::new("load through POST /api/monitors", run.post_ms, "ms").note(format!(
            "{} monitors, one request each",
            run.posted_monitors
        )),
        Figure::new(
            "  per 1,000 monitors (POST)",
            (posted > 0.0).then(|| run.post_ms * 1000.0 / posted),
            "ms",
        ),
        Figure::new("loaded to every monitor UP", run.all_up_ms, "ms"),
    ];
    if let Some(ms) = run.check_now_ms {
        out.push(Figure::new(
            "check-now requests for every monitor",
            ms,
            "ms",
        ));
    }
    out.extend([
        Figure::new("monitors alerted (DOWN webhook)", alerted, "").at_least(n, "every one"),
        Figure::new("monitors missing an alert", n - alerted, "").at_most(0.0, "0"),
        Figure::new("duplicate DOWN webhooks", f64::from(duplicates), "")
            .at_most(0.0, "0")
            .note(format!(
                "{} with an idempotency key seen before",
                tally.redelivered
            )),
        Figure::new(
            "other webhooks (not monitor.down of these monitors)",
            (tally.other + tally.unknown) as f64,
            "",
        ),
        Figure::new("outage start to last webhook", run.all_received_ms, "ms"),
        Figure::new(
            "confirmed DOWN to webhook: p50",
            percentile(&mut tally.after_change_ms, 0.5),
            "ms",
        )
        .note("receipt - data.at (the failing check's start), wall clock"),
        Figure::new(
            "confirmed DOWN to webhook: p99",
            percentile(&mut tally.after_change_ms, 0.99),
            "ms",
        )
        .at_most(1000.0, "< 1 s"),
        Figure::new(
            "confirmed DOWN to webhook: max",
            percentile(&mut tally.after_change_ms, 1.0),
            "ms",
        ),
        Figure::new(
            "  of which state change to outbox row (writer): p50",
            percentile(&mut tally.change_to_outbox_ms, 0.5),
            "ms",
        )
        .note("row seen committed by a 20 ms poll of the outbox table"),
        Figure::new(
            "  of which state change to outbox row (writer): p99",
            percentile(&mut tally.change_to_outbox_ms, 0.99),
            "ms",
        ),
        Figure::new(
            "  of which outbox row to webhook (dispatcher): p50",
            percentile(&mut tally.outbox_to_receipt_ms, 0.5),
            "ms",
        ),
        Figure::new(
            "  of which outbox row to webhook (dispatcher): p99",
            percentile(&mut tally.outbox_to_receipt_ms, 0.99),
            "ms",
        ),
        Figure::new(
            "outage start to confirmed DOWN: p50",
            percentile(&mut tally.change_after_outage_ms, 0.5),
            "ms",
        )
        .note("data.at - outage start: waiting for the monitor's next check"),
        Figure::new(
            "outage start to confirmed DOWN: max",
            percentile(&mut tally.change_after_outage_ms, 1.0),
            "ms",
        ),
        Figure::new(
            "outage start to webhook: p50",
            percentile(&mut tally.after_outage_ms, 0.5),
            "ms",
        ),
        Figure::new(
            "outage start to webhook: p99",
            percentile(&mut tally.after_outage_ms, 0.99),
            "ms",
        ),
        Figure::new(
            "outage start to webhook: max",
            percentile(&mut tally.after_outage_ms, 1.0),
            "ms",
        ),
        Figure::new(
            "webhook delivery (dispatcher's POST), mean",
            (run.deliveries > 0.0).then(|| run.delivery_seconds * 1000.0 / run.deliveries),
            "ms",
        )
        .note(format!("{} deliveries", run.deliveries)),
        Figure::new(
            "delivery log: delivered",
            run.delivery_log.get("delivered").map(|&c| c as f64),
            "",
        )
        .note(format!("all statuses: {:?}", run.delivery_log)),
        Figure::new("shutdown (SIGTERM to exit)", run.shutdown_ms, "ms"),
    ]);
    out
}
