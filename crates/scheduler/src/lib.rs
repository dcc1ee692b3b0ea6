//! When checks run: every monitor at its interval, spread over the interval, with bounded
//! concurrency and a per-host limit; retries and success thresholds through the domain state
//! machine; heartbeat deadlines; the batching writer that makes every result durable; and, on PostgreSQL,
//! the shard leases that let several instances share the monitors (`cluster/`).

pub mod checker;
pub mod clock;
pub mod cluster;
mod engine;
pub mod housekeeping;
mod slots;
pub mod stats;
pub mod writer;

pub use checker::{Checker, ProbeChecker};
pub use clock::Clock;
pub use cluster::{Cluster, ClusterHandle, Membership};
pub use engine::{PingKind, Scheduler, SchedulerHandle};
pub use stats::{SchedulerStats, Stats};
pub use writer::{ResultWriter, WriteItem, WriterConfig, WriterHandle};

use std::time::Duration;

/// Limits of the scheduler.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// Checks running at once across all monitors.
    pub max_concurrent_checks: usize,
    /// Checks running at once against one host.
    pub max_checks_per_host: usize,
    /// Added to a monitor's own timeout before its check task is abandoned (a probe bug must not
    /// leave a monitor stuck).
    pub hard_deadline_margin: Duration,
    /// How long a shutdown waits for running checks before dropping them.
    pub shutdown_grace: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            max_concurrent_checks: 4096,
            max_checks_per_host: 64,
            hard_deadline_margin: Duration::from_secs(2),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}
