//! Downgrades delete nothing: which monitors to pause, and why, so active ones fit the new plan.

use super::*;

use crate::ids::MonitorId;
use crate::monitor::{Monitor, MonitorKind};
use crate::time::Timestamp;
use serde::Serialize;

/// Whether a monitor of this kind needs the plan's SSL monitoring: the `tls` kind does.
pub fn needs_ssl_monitoring(kind: &MonitorKind) -> bool {
    matches!(kind, MonitorKind::Tls(_))
}

/// What a downgrade needs to know of one monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitorSummary {
    pub id: MonitorId,
    pub created_at: Timestamp,
    pub paused: bool,
    /// Whether it needs SSL monitoring (see [`needs_ssl_monitoring`]).
    pub needs_ssl_monitoring: bool,
}

impl MonitorSummary {
    /// The summary of a stored monitor.
    pub fn of(monitor: &Monitor) -> Self {
        Self {
            id: monitor.id,
            created_at: monitor.created_at,
            paused: monitor.spec.paused,
            needs_ssl_monitoring: needs_ssl_monitoring(&monitor.spec.kind),
        }
    }
}

/// Why a downgrade paused a monitor, to tell the team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    /// The plan does not include SSL monitoring.
    SslMonitoring,
    /// The team has more active monitors than the plan allows; the newest are paused.
    MonitorLimit,
}

/// The monitors to pause so a team fits `limits` (after a downgrade; nothing is deleted):
/// first the active ones the plan cannot run, then the newest active ones until the rest fit.
pub fn monitors_to_pause(
    monitors: &[MonitorSummary],
    limits: &PlanLimits,
) -> Vec<(MonitorId, PauseReason)> {
    let mut active: Vec<&MonitorSummary> = monitors.iter().filter(|m| !m.paused).collect();
    // Newest first; the id breaks ties between monitors created in the same millisecond.
    active.sort_by_key(|m| std::cmp::Reverse((m.created_at, m.id)));
    let mut pause = Vec::new();
    if !limits.ssl_monitoring {
        active.retain(|m| {
            if m.needs_ssl_monitoring {
                pause.push((m.id, PauseReason::SslMonitoring));
            }
            !m.needs_ssl_monitoring
        });
    }
    if let Some(max) = limits.max_monitors {
        let over = active.len().saturating_sub(max as usize);
        pause.extend(
            active[..over]
                .iter()
                .map(|m| (m.id, PauseReason::MonitorLimit)),
        );
    }
    pause
}
