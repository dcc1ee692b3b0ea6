//! The installation's key figures (the operations guide's "Key Metrics to Monitor"): requests and
//! errors by route, database pool use and errors, memory, active users over a day and 30 days,
//! the monitors' check success rate, notifications by channel kind, and teams by plan. Gathered
//! for `GET /api/admin/stats` and set as gauges on each `/metrics` scrape.

use crate::AppState;
use crate::ops::memory_use;
use crate::ops::routes::RouteStats;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use utoipa::ToSchema;
use watchtower_core::{MonitorState, Plan, Timestamp};
use watchtower_store::{Backend, InstanceFigures, KindDeliveries, PoolUse, Store, StoreError};

const MONITOR_STATES: [MonitorState; 6] = [
    MonitorState::Pending,
    MonitorState::Up,
    MonitorState::Degraded,
    MonitorState::Down,
    MonitorState::Paused,
    MonitorState::Maintenance,
];

/// The installation at a glance, for its administrators.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstanceStats {
    pub version: &'static str,
    pub uptime_seconds: u64,
    pub people: PeopleStats,
    /// Teams by plan (`free`, `starter`, `professional`, `enterprise`, `unlimited`).
    pub teams_by_plan: BTreeMap<String, u64>,
    pub monitors: MonitorStats,
    /// Notifications created over the last 24 hours, by channel kind and outcome.
    pub notifications_last_day: Vec<KindDeliveries>,
    /// This instance's answers since it started.
    pub requests: RequestStats,
    pub database: DatabaseUse,
    pub memory: MemoryStats,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PeopleStats {
    pub users: u64,
    /// People with a request in the last 24 hours (counted to the hour).
    pub active_last_day: u64,
    /// People with a request in the last 30 days.
    pub active_last_30_days: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MonitorStats {
    pub total: u64,
    pub paused: u64,
    /// Monitors by state (`UP`, `DOWN`, `DEGRADED`, `PENDING`, `PAUSED`, `MAINTENANCE`).
    pub by_state: BTreeMap<String, u64>,
    pub open_incidents: u64,
    /// Checks this instance completed per second over the last minute.
    pub checks_per_second: f64,
    /// The share of those checks that found their target working; `null` when none completed.
    pub check_success_ratio: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestStats {
    pub total: u64,
    pub server_errors: u64,
    /// 5xx answers as a share of all answers.
    pub error_rate: f64,
    /// Busiest first.
    pub routes: Vec<RouteStats>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DatabaseUse {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// `reader` and `writer` on SQLite, `main` on PostgreSQL.
    pub pools: Vec<PoolUse>,
    /// Requests answered with a database failure, and failed ops queries, since start.
    pub errors: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemoryStats {
    /// The process's resident memory; `null` where `/proc` cannot be read.
    pub resident_bytes: Option<u64>,
    /// The smaller of the machine's memory and the cgroup's limit.
    pub limit_bytes: Option<u64>,
}

/// How long the database's part of the figures is reused: however often `/metrics` is scraped
/// (or hammered), the instance reads them at most once in this time.
const FIGURES_FRESH: Duration = Duration::from_secs(5);

/// The database's part of the figures, last read at an instant; one reader at a time.
#[derive(Debug, Default)]
pub struct FiguresCache(Mutex<Option<(Instant, InstanceFigures)>>);

impl FiguresCache {
    async fn get(&self, store: &dyn Store) -> Result<InstanceFigures, StoreError> {
        let mut kept = self.0.lock().await;
        if let Some((read_at, figures)) = kept.as_ref()
            && read_at.elapsed() < FIGURES_FRESH
        {
            return Ok(figures.clone());
        }
        let figures = store.instance_figures(Timestamp::now()).await?;
        *kept = Some((Instant::now(), figures.clone()));
        Ok(figures)
    }
}

/// Reads every figure: the database's through `FiguresCache` (at most 5 s old), the rest from
/// memory now.
pub(crate) async fn gather(state: &AppState) -> Result<InstanceStats, StoreError> {
    let figures = state.instance_figures.get(state.store.as_ref()).await?;
    let scheduler = state
        .scheduler
        .stats
        .snapshot(state.scheduler.clock().now());
    let counters = state.ops_counters.snapshot();
    let routes = state.ops_counters.routes.snapshot();
    let total: u64 = routes.iter().map(|route| route.requests).sum();
    let server_errors: u64 = routes.iter().map(|route| route.server_errors).sum();
    let memory = memory_use();
    Ok(InstanceStats {
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: state.started.elapsed().as_secs(),
        people: PeopleStats {
            users: figures.users,
            active_last_day: figures.active_users_day,
            active_last_30_days: figures.active_users_month,
        },
        // Every plan and state is listed, at 0 when none, so a gauge falls to 0 with its count.
        teams_by_plan: Plan::ALL
            .iter()
            .map(|plan| (plan.as_str().to_owned(), 0))
            .chain(figures.teams_by_plan)
            .collect(),
        monitors: MonitorStats {
            total: figures.monitors,
            paused: figures.monitors_paused,
            by_state: MONITOR_STATES
                .iter()
                .map(|state| (state.as_str().to_owned(), 0))
                .chain(figures.monitors_by_state)
                .collect(),
            open_incidents: figures.open_incidents,
            checks_per_second: scheduler.checks_per_second,
            check_success_ratio: scheduler.check_success_ratio,
        },
        notifications_last_day: figures.notifications_day,
        requests: RequestStats {
            total,
            server_errors,
            error_rate: if total == 0 {
                0.0
            } else {
                server_errors as f64 / total as f64
            },
            routes,
        },
        database: DatabaseUse {
            backend: match state.store.backend() {
                Backend::Sqlite => "sqlite",
                Backend::Postgres => "postgres",
            },
            pools: state.store.pool_use(),
            errors: counters.database_errors
                + state
                    .writer
                    .failed_writes
                    .load(std::sync::atomic::Ordering::Relaxed),
        },
        memory: MemoryStats {
            resident_bytes: memory.map(|use_| use_.rss_bytes),
            limit_bytes: memory.map(|use_| use_.limit_bytes),
        },
    })
}

/// Sets the figures that are not counted as they happen as gauges, for a `/metrics` scrape. The
/// per-route request counts and latencies, checks and notifications are counters and histograms
/// grown where they happen.
pub(crate) fn export_gauges(stats: &InstanceStats) {
    let people = &stats.people;
    metrics::gauge!("watchtower_users").set(people.users as f64);
    metrics::gauge!("watchtower_active_users", "window" => "1d").set(people.active_last_day as f64);
    metrics::gauge!("watchtower_active_users", "window" => "30d")
        .set(people.active_last_30_days as f64);
    for (plan, teams) in &stats.teams_by_plan {
        metrics::gauge!("watchtower_teams", "plan" => plan.clone()).set(*teams as f64);
    }
    for (state, monitors) in &stats.monitors.by_state {
        metrics::gauge!("watchtower_monitors", "state" => state.clone()).set(*monitors as f64);
    }
    metrics::gauge!("watchtower_monitors_paused").set(stats.monitors.paused as f64);
    // No check in the last minute: no ratio (NaN, Prometheus' "no value"), not the last one.
    metrics::gauge!("watchtower_check_success_ratio")
        .set(stats.monitors.check_success_ratio.unwrap_or(f64::NAN));
    for pool in &stats.database.pools {
        metrics::gauge!("watchtower_database_connections", "pool" => pool.pool, "state" => "open")
            .set(f64::from(pool.open));
        metrics::gauge!("watchtower_database_connections", "pool" => pool.pool, "state" => "idle")
            .set(f64::from(pool.idle));
        metrics::gauge!("watchtower_database_connections_max", "pool" => pool.pool)
            .set(f64::from(pool.max));
    }
    if let Some(resident) = stats.memory.resident_bytes {
        metrics::gauge!("watchtower_process_resident_memory_bytes").set(resident as f64);
    }
    if let Some(limit) = stats.memory.limit_bytes {
        metrics::gauge!("watchtower_memory_limit_bytes").set(limit as f64);
    }
}
