//! The HTTP face of WatchTower: the REST API (`api/`), the dashboard (`web/`), who may call it (`auth/`), health and
//! metrics endpoints, heartbeat pings, the middleware around them, and the instance's watch on
//! itself (`ops/`). Every route is listed in `router.rs` and `api/mod.rs`.

pub mod api;
pub mod auth;
pub mod backups;
pub mod error;
mod health;
pub mod instance_stats;
mod metrics;
pub mod middleware;
pub mod ops;
mod push;
mod router;
pub mod status_announcer;
pub mod status_pages_file;
mod system;
pub mod web;

pub use auth::AuthConfig;
pub use metrics::install_metrics_recorder;
pub use router::{openapi_document, router, with_middleware};

use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::Instant;
use watchtower_core::PlanTable;
use watchtower_scheduler::SchedulerHandle;
use watchtower_scheduler::writer::WriterStats;
use watchtower_store::Store;

/// What every handler can reach: one `Arc`, because axum clones the state for every extractor
/// and middleware of every request, and cloning a dozen `Arc`s from both cores at once cost a
/// third of a heartbeat ping's CPU (docs/PERFORMANCE.md, "Push CPU per ping").
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl AppState {
    pub fn new(shared: SharedState) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

/// The parts of the application state, built once by the application builder.
pub struct SharedState {
    pub store: Arc<dyn Store>,
    pub scheduler: SchedulerHandle,
    pub writer: Arc<WriterStats>,
    pub metrics: PrometheusHandle,
    pub started: Instant,
    /// The plan limits in force (the canonical table with the operator's overrides).
    pub plans: Arc<PlanTable>,
    pub auth: Arc<AuthConfig>,
    pub rate_limiter: Arc<middleware::rate_limit::RateLimiter>,
    /// The Whop-hosted setup: checks may reach only public addresses and plans come from billing.
    pub multi_tenant: bool,
    /// Whop billing: webhook secrets, plan mapping, checkout links, and the worker's bell.
    pub billing: api::billing::BillingState,
    /// `serve --backup-dir`: what the scheduled backups last did (none without a folder).
    pub backups: Option<Arc<backups::BackupStatus>>,
    /// Rendered public status pages, shared by every request (`web::status::cache`).
    pub status_pages: Arc<web::status::cache::StatusCache>,
    /// The alert dispatcher's bell: rung after writing an outbox row, so the row is claimed at
    /// once instead of at the dispatcher's next idle poll.
    pub alert_wake: Arc<tokio::sync::Notify>,
    /// The status page subscribers' delivery loop's bell: rung after queuing their messages.
    pub subscriber_wake: Arc<tokio::sync::Notify>,
    /// The maintenance announcer's bell (`status_announcer`): rung when a window is written.
    pub announcer_wake: Arc<tokio::sync::Notify>,
    /// The instance's request and error counts, by route too (`ops::with_counters` grows them).
    pub ops_counters: Arc<ops::OpsCounters>,
    /// The installation's figures from the database, reused for a few seconds.
    pub instance_figures: instance_stats::FiguresCache,
    /// Who this instance noted as active within the hour (`auth::caller`).
    pub activity: auth::ActivityNotes,
}
