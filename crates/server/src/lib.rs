//! The HTTP face of WatchTower: health and metrics endpoints, heartbeat pings, and (as they land)
//! the REST API and dashboard. Every route is listed in `router.rs`.

pub mod error;
mod health;
mod metrics;
pub mod middleware;
mod push;
mod router;
mod system;

pub use metrics::install_metrics_recorder;
pub use router::router;

use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::Instant;
use watchtower_scheduler::SchedulerHandle;
use watchtower_scheduler::writer::WriterStats;
use watchtower_store::Store;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub scheduler: SchedulerHandle,
    pub writer: Arc<WriterStats>,
    pub metrics: PrometheusHandle,
    pub started: Instant,
}
