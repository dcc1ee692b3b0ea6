//! The instance watching itself: a middleware counts `/api` requests, their 5xx answers and their
//! durations, and responses failed by the database; a task samples those counters, the writer's
//! failed flushes, memory, the failed logins, the backups' age, the database's disk, the rate
//! limiter's fullest bucket and PostgreSQL's CPU every interval, lets
//! `watchtower_alerting::ops::Evaluator` decide, exports the values as gauges and records each
//! alert and recovery as an ops episode, whose outbox row the dispatcher delivers.

mod database_cpu;
mod disk;
mod memory;
pub mod routes;

pub use database_cpu::DatabaseCpu;
pub use disk::disk_use;
pub use memory::memory_use;

use crate::backups::BackupStatus;
use crate::middleware::rate_limit::RateLimiter;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use watchtower_alerting::ops::{
    BackupAge, Counters, Evaluator, OpsConfig, OpsEvent, OpsEventKind, OpsNotice, RateLimitUse,
    Sample, Signal, describe,
};
use watchtower_core::Timestamp;
use watchtower_scheduler::writer::WriterStats;
use watchtower_store::{Store, StoreError};

/// Counters the middleware and the API error path grow; one per instance.
#[derive(Debug, Default)]
pub struct OpsCounters {
    api_requests: AtomicU64,
    api_server_errors: AtomicU64,
    api_latency_micros: AtomicU64,
    database_errors: AtomicU64,
    /// Every answer by route, for `/metrics` and the administrators' stats.
    pub routes: routes::RouteFigures,
}

impl OpsCounters {
    pub fn snapshot(&self) -> Counters {
        Counters {
            api_requests: self.api_requests.load(Ordering::Relaxed),
            api_server_errors: self.api_server_errors.load(Ordering::Relaxed),
            api_latency_micros: self.api_latency_micros.load(Ordering::Relaxed),
            database_errors: self.database_errors.load(Ordering::Relaxed),
        }
    }

    /// One store error that surfaced outside a response (a query of the ops task itself).
    pub fn record_database_error(&self) {
        self.database_errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// Put on a response by `ApiError` when the error came from the store, so the middleware counts
/// it as a database error.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseFailure;

/// Wraps the whole application (outside every other layer, so timeouts and panics count too).
pub fn with_counters(router: Router, counters: Arc<OpsCounters>) -> Router {
    router.layer(axum::middleware::from_fn_with_state(counters, middleware))
}

async fn middleware(
    State(counters): State<Arc<OpsCounters>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let is_api = path == "/api" || path.starts_with("/api/");
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    if response.extensions().get::<DatabaseFailure>().is_some() {
        counters.record_database_error();
    }
    // The request trace put the matched route on the answer; none matched without it.
    let route = response.extensions().get::<MatchedPath>();
    counters
        .routes
        .record(route.map(MatchedPath::as_str), response.status(), elapsed);
    if is_api {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        counters.api_requests.fetch_add(1, Ordering::Relaxed);
        counters
            .api_latency_micros
            .fetch_add(micros, Ordering::Relaxed);
        if response.status().is_server_error() {
            counters.api_server_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
    response
}

/// What the ops task reads, and how it names this instance.
pub struct OpsMonitor {
    pub config: OpsConfig,
    pub store: Arc<dyn Store>,
    pub counters: Arc<OpsCounters>,
    /// The result writer's figures: its failed flushes are database errors too.
    pub writer: Arc<WriterStats>,
    /// How alerts name this instance, and the scope of its own episodes (`memory@web-1`).
    pub instance: String,
    /// When the instance started: the backup age counts from here until the first good one.
    pub started: Timestamp,
    /// The scheduled backups' status (`serve --backup-dir`).
    pub backups: Option<Arc<BackupStatus>>,
    /// The `/api` rate limiter, for its fullest bucket.
    pub rate_limiter: Option<Arc<RateLimiter>>,
    /// The SQLite database file, for its file system's fill.
    pub database_file: Option<PathBuf>,
    /// Rung after an alert or recovery is queued, so the dispatcher sends it at once.
    pub wake: Option<Arc<Notify>>,
}

/// Evaluates every `config.interval` until the task is aborted; the first evaluation is
/// immediate. Each alert and recovery is written to the database (the episode and its outbox
/// row in one transaction); one that cannot be written is kept and written at the next
/// evaluation, in order, so none is lost while the database is away.
pub fn start(monitor: OpsMonitor) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut evaluator = Evaluator::new(monitor.config.clone());
        let mut database_cpu = DatabaseCpu::default();
        let mut unwritten: VecDeque<OpsEvent> = VecDeque::new();
        let mut resumed = false;
        let mut ticker = tokio::time::interval(monitor.config.interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if !resumed {
                resumed = monitor.resume(&mut evaluator).await;
            }
            let sample = monitor.sample(Timestamp::now(), &mut database_cpu).await;
            let (readings, events) = evaluator.observe(&sample);
            for reading in &readings {
                let signal = reading.signal.name();
                if let Some(value) = reading.value {
                    metrics::gauge!("watchtower_ops_signal", "signal" => signal).set(value);
                }
                let firing = if evaluator.firing(reading.signal) {
                    1.0
                } else {
                    0.0
                };
                metrics::gauge!("watchtower_ops_alert_firing", "signal" => signal).set(firing);
            }
            unwritten.extend(events);
            monitor.write(&mut unwritten).await;
        }
    })
}

/// PostgreSQL's CPU from procfs (a walk of `/proc`), off the runtime's threads.
async fn read_database_cpu(
    reader: &mut DatabaseCpu,
    process: Option<watchtower_store::DatabaseProcess>,
) -> Option<f64> {
    let mut owned = std::mem::take(reader);
    let (owned, share) = tokio::task::spawn_blocking(move || {
        let share = owned.read(process);
        (owned, share)
    })
    .await
    .ok()?;
    *reader = owned;
    share
}

impl OpsMonitor {
    /// Takes up the episodes the database holds open for this instance (or for every instance,
    /// for shared signals), so a restart neither alerts again nor forgets to recover. False
    /// when the database did not answer (tried again at the next evaluation).
    async fn resume(&self, evaluator: &mut Evaluator) -> bool {
        let open = match self.store.open_ops_episodes().await {
            Ok(open) => open,
            Err(error) => {
                tracing::warn!(%error, "ops: cannot read the open episodes; will retry");
                self.counters.record_database_error();
                return false;
            }
        };
        for episode in open {
            let signal = Signal::ALL
                .into_iter()
                .find(|signal| signal.episode_key(&self.instance) == episode.key);
            if let Some(signal) = signal {
                tracing::info!(%signal, since = %episode.opened_at, "ops: an episode is still open; its alert is not sent again");
                evaluator.resume(signal, episode.opened_at);
            }
        }
        true
    }

    async fn sample(&self, at: Timestamp, database_cpu: &mut DatabaseCpu) -> Sample {
        let mut counters = self.counters.snapshot();
        counters.database_errors += self.writer.failed_writes.load(Ordering::Relaxed);
        let since = at.minus(self.config.failed_logins.window);
        let failed_logins = match failed_logins_since(self.store.as_ref(), since).await {
            Ok(count) => Some(count),
            Err(error) => {
                tracing::warn!(%error, "ops: cannot count failed logins");
                self.counters.record_database_error();
                None
            }
        };
        let backup = self.backups.as_ref().map(|status| {
            let every = status.every();
            match status.last_success() {
                Some(last) => BackupAge {
                    age: at.since(last),
                    never: false,
                    every,
                },
                None => BackupAge {
                    age: at.since(self.started),
                    never: true,
                    every,
                },
            }
        });
        let rate_limit = self.rate_limiter.as_ref().map(|limiter| {
            let (bucket, limit, share) = limiter.take_peak_use();
            RateLimitUse {
                share,
                bucket: bucket.to_owned(),
                limit,
            }
        });
        let process = match self.store.database_process().await {
            Ok(process) => process,
            Err(error) => {
                tracing::debug!(%error, "ops: cannot name PostgreSQL's process");
                None
            }
        };
        Sample {
            at,
            counters,
            memory: memory_use(),
            failed_logins,
            backup,
            disk: self.database_file.as_deref().and_then(disk_use),
            rate_limit,
            database_cpu: read_database_cpu(database_cpu, process).await,
        }
    }

    /// Writes the decided alerts and recoveries in order, stopping at the first the database
    /// refuses (kept for the next evaluation).
    async fn write(&self, unwritten: &mut VecDeque<OpsEvent>) {
        let mut queued = false;
        while let Some(event) = unwritten.front() {
            let message = describe(event);
            let key = event.signal.episode_key(&self.instance);
            let details = serde_json::to_value(OpsNotice {
                event: event.clone(),
                instance: self.instance.clone(),
            })
            .unwrap_or_default();
            let written = match event.kind {
                OpsEventKind::Alert => {
                    self.store
                        .open_ops_episode(&key, event.since, &self.instance, &details)
                        .await
                }
                OpsEventKind::Recovery => {
                    self.store
                        .resolve_ops_episode(&key, event.at, &self.instance, &details)
                        .await
                }
            };
            match (written, event.kind) {
                (Ok(true), OpsEventKind::Alert) => {
                    tracing::warn!(signal = %event.signal, %message, "ops alert");
                    queued = true;
                }
                (Ok(true), OpsEventKind::Recovery) => {
                    tracing::info!(signal = %event.signal, %message, "ops alert recovered");
                    queued = true;
                }
                (Ok(false), _) => {
                    tracing::info!(signal = %event.signal, kind = ?event.kind, %message, "ops: the episode was already opened or ended (by another instance, or before a restart)");
                }
                (Err(error), _) => {
                    tracing::warn!(%error, signal = %event.signal, %message, "ops: cannot record the alert; will retry");
                    self.counters.record_database_error();
                    break;
                }
            }
            unwritten.pop_front();
        }
        if queued && let Some(wake) = &self.wake {
            wake.notify_one();
        }
    }
}

/// Security events are read newest first: a first page of `FIRST_PAGE` (enough on a quiet day),
/// then pages of `PAGE`, `PAGES` pages at most.
const FIRST_PAGE: u32 = 100;
const PAGE: u32 = 1_000;
const PAGES: usize = 5;

/// `login_failed` and `login_throttled` events since `since`, on every instance of the database
/// (counted up to about 4,000 events back).
async fn failed_logins_since(store: &dyn Store, since: Timestamp) -> Result<u64, StoreError> {
    let mut count = 0;
    let mut before = None;
    let mut limit = FIRST_PAGE;
    for _ in 0..PAGES {
        let page = store.security_events(before, limit).await?;
        count += page
            .iter()
            .filter(|event| event.at >= since)
            .filter(|event| matches!(event.kind.as_str(), "login_failed" | "login_throttled"))
            .count() as u64;
        match page.last() {
            Some(oldest) if page.len() == limit as usize && oldest.at >= since => {
                before = Some(oldest.id);
                limit = PAGE;
            }
            _ => break,
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::routing::get;
    use tower::ServiceExt;

    #[tokio::test]
    async fn failed_logins_are_counted_across_pages_within_the_window() {
        let database = watchtower_testkit::TestDatabase::sqlite();
        let store = watchtower_store::connect(&database.url).await.unwrap();
        store.migrate().await.unwrap();
        let now = Timestamp::now();
        let event = |kind: &str, at: Timestamp| watchtower_store::SecurityEvent {
            kind: kind.into(),
            email_key: None,
            user_id: None,
            ip: Some("192.0.2.1".into()),
            detail: String::new(),
            at,
        };
        let old = now.minus(std::time::Duration::from_secs(600));
        for _ in 0..20 {
            store
                .record_security_event(&event("login_failed", old))
                .await
                .unwrap();
        }
        // More than the first page: the count must read on.
        for index in 0..150 {
            let kind = match index % 3 {
                0 => "login_failed",
                1 => "login_throttled",
                _ => "login_succeeded",
            };
            store
                .record_security_event(&event(kind, now))
                .await
                .unwrap();
        }
        let since = now.minus(std::time::Duration::from_secs(300));
        assert_eq!(
            failed_logins_since(store.as_ref(), since).await.unwrap(),
            100
        );
    }

    #[tokio::test]
    async fn the_middleware_counts_api_requests_5xx_and_store_failures() {
        let counters = Arc::new(OpsCounters::default());
        let app = with_counters(
            Router::new()
                .route("/api/ok", get(|| async { "ok" }))
                .route(
                    "/api/gone",
                    get(|| async { ApiError::from(StoreError::NotFound) }),
                )
                .route(
                    "/api/store-down",
                    get(|| async { ApiError::from(StoreError::Unavailable("refused".into())) }),
                )
                .route(
                    "/api/bug",
                    get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
                )
                .route(
                    "/healthz",
                    get(|| async { ApiError::from(StoreError::Unavailable("refused".into())) }),
                ),
            counters.clone(),
        );
        for path in [
            "/api/ok",
            "/api/gone",
            "/api/store-down",
            "/api/bug",
            "/healthz",
        ] {
            let request = Request::get(path).body(Body::empty()).unwrap();
            app.clone().oneshot(request).await.unwrap();
        }
        let counted = counters.snapshot();
        assert_eq!(counted.api_requests, 4, "/healthz is not an API request");
        assert_eq!(counted.api_server_errors, 2);
        assert_eq!(
            counted.database_errors, 2,
            "store failures count on every path; a missing row does not"
        );
    }
}
