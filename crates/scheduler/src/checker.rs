//! The seam between the scheduler and the probes: production runs the real `Prober`; scheduler
//! tests on paused time drive it with scripted outcomes.

use async_trait::async_trait;
use std::time::Duration;
use watchtower_core::{CheckOutcome, MonitorKind};

/// Runs one check.
#[async_trait]
pub trait Checker: Send + Sync + 'static {
    async fn check(&self, kind: &MonitorKind, timeout: Duration) -> CheckOutcome;
}

/// The production checker: real probes.
pub struct ProbeChecker(pub watchtower_checks::Prober);

#[async_trait]
impl Checker for ProbeChecker {
    async fn check(&self, kind: &MonitorKind, timeout: Duration) -> CheckOutcome {
        self.0.check(kind, timeout).await
    }
}
