//! The rows a store reads and writes, in domain terms.

use serde::Serialize;
use std::time::Duration;
use watchtower_core::{
    CheckOutcome, CheckStatus, ErrorClass, IncidentId, Monitor, MonitorId, MonitorKey,
    MonitorRuntime, MonitorState, StateChange, TeamId, Timestamp,
};

/// Cursor pagination: items with an id greater than `after`, at most `limit` (capped at 500),
/// that pass `filter`.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub after: Option<MonitorId>,
    pub limit: u32,
    pub filter: MonitorFilter,
}

/// Which monitors a list shows; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorFilter {
    pub state: Option<MonitorState>,
    /// `MonitorKind::name()`: `http`, `tcp`, `ping`, `dns`, `tls` or `push`.
    pub kind: Option<String>,
    /// One of the monitor's tags, exactly.
    pub tag: Option<String>,
    /// Case-insensitive substring of the name, the key or the target (URL or host).
    pub search: Option<String>,
}

/// One monitor in a list: its spec and current status, no history.
#[derive(Debug, Clone)]
pub struct MonitorListing {
    pub monitor: Monitor,
    pub state: MonitorState,
    pub state_since: Timestamp,
    pub last_checked_at: Option<Timestamp>,
    /// The latest result in full (phases, certificate, error), when there is one.
    pub last_result: Option<CheckOutcome>,
}

/// A stored monitor whose spec cannot be decoded (written by an older version with a bug, or
/// edited by hand). It is never scheduled; lists show it with its error, and it can still be
/// replaced (`update_monitor`) or deleted. The columns kept beside the spec say what it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenMonitor {
    pub id: MonitorId,
    pub team_id: TeamId,
    pub key: Option<String>,
    pub name: String,
    pub kind: String,
    pub paused: bool,
    /// Why the row cannot be read.
    pub error: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Every stored monitor at start-up: the ones to schedule, and the ones that cannot be read.
#[derive(Debug, Clone, Default)]
pub struct ScheduledLoad {
    pub monitors: Vec<ScheduledMonitor>,
    pub broken: Vec<BrokenMonitor>,
}

/// What `apply_monitors` did, by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApplyReport {
    pub created: Vec<MonitorKey>,
    pub updated: Vec<MonitorKey>,
    pub unchanged: Vec<MonitorKey>,
    pub deleted: Vec<MonitorKey>,
    /// Keyed monitors missing from the file, kept because prune was off.
    pub kept: Vec<MonitorKey>,
}

/// A monitor as the scheduler needs it at start-up.
#[derive(Debug, Clone)]
pub struct ScheduledMonitor {
    pub monitor: Monitor,
    pub runtime: MonitorRuntime,
    pub last_checked_at: Option<Timestamp>,
}

/// One result to store.
#[derive(Debug, Clone)]
pub struct ResultRecord {
    pub team_id: TeamId,
    pub monitor_id: MonitorId,
    pub outcome: CheckOutcome,
}

/// One confirmed state change to store, with the result that caused it.
#[derive(Debug, Clone)]
pub struct ChangeRecord {
    pub team_id: TeamId,
    pub monitor_id: MonitorId,
    pub change: StateChange,
    /// The result that confirmed the change; stored as the incident's first failure when it opens one.
    pub outcome: Option<CheckOutcome>,
}

/// A monitor's runtime after the batch, saved so a restart continues where it stopped.
#[derive(Debug, Clone)]
pub struct RuntimeRecord {
    pub monitor_id: MonitorId,
    pub runtime: MonitorRuntime,
}

/// What the scheduler hands the store in one write.
#[derive(Debug, Clone, Default)]
pub struct ResultBatch {
    pub results: Vec<ResultRecord>,
    /// In the order they happened.
    pub changes: Vec<ChangeRecord>,
    pub runtimes: Vec<RuntimeRecord>,
}

impl ResultBatch {
    pub fn is_empty(&self) -> bool {
        self.results.is_empty() && self.changes.is_empty() && self.runtimes.is_empty()
    }

    /// Every monitor a row of the batch is about (with repeats).
    pub fn monitors(&self) -> impl Iterator<Item = MonitorId> + '_ {
        self.results
            .iter()
            .map(|r| r.monitor_id)
            .chain(self.changes.iter().map(|c| c.monitor_id))
            .chain(self.runtimes.iter().map(|r| r.monitor_id))
    }

    /// Keeps only the rows of the monitors `keep` accepts (a shard this instance lost).
    pub fn retain_monitors(&mut self, keep: impl Fn(MonitorId) -> bool) {
        self.results.retain(|result| keep(result.monitor_id));
        self.changes.retain(|change| keep(change.monitor_id));
        self.runtimes.retain(|runtime| keep(runtime.monitor_id));
    }
}

/// A raw result as stored: the compact row, without phases (those are kept for the latest result).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoredResult {
    pub monitor_id: MonitorId,
    pub checked_at: Timestamp,
    pub status: CheckStatus,
    #[schema(value_type = SerdeDuration)]
    pub latency: Duration,
    pub http_status: Option<u16>,
    pub error_class: Option<ErrorClass>,
    pub message: Option<String>,
}

/// How serde writes a `std::time::Duration` (a raw result's `latency`): whole seconds and the
/// nanoseconds beyond them. Only describes that JSON in the OpenAPI document.
#[derive(utoipa::ToSchema)]
pub struct SerdeDuration {
    pub secs: u64,
    pub nanos: u32,
}

/// A stored state change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateEvent {
    pub id: i64,
    pub team_id: TeamId,
    pub monitor_id: MonitorId,
    pub from: MonitorState,
    pub to: MonitorState,
    pub at: Timestamp,
    pub incident_id: Option<IncidentId>,
    pub cause: String,
}

/// Which incidents a list shows: newest first, ids below `before`, at most `limit`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IncidentQuery {
    pub monitor: Option<MonitorId>,
    /// Only incidents still open.
    pub open_only: bool,
    pub before: Option<IncidentId>,
    pub limit: u32,
}

impl IncidentQuery {
    /// The latest `limit` incidents, of one monitor when given.
    pub fn latest(monitor: Option<MonitorId>, limit: u32) -> Self {
        Self {
            monitor,
            limit,
            ..Self::default()
        }
    }
}

/// A note someone added to an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IncidentNote {
    pub id: i64,
    pub incident_id: IncidentId,
    pub author: String,
    pub body: String,
    pub at: Timestamp,
}

/// How long each layer of history is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub raw: Duration,
    pub minute: Duration,
    pub hour: Duration,
    pub day: Duration,
}

impl Default for Retention {
    /// Raw results 3 days, minute rollups 3 days, hour rollups 100 days, day rollups 400 days.
    fn default() -> Self {
        const DAY: u64 = 86_400;
        Self {
            raw: Duration::from_secs(3 * DAY),
            minute: Duration::from_secs(3 * DAY),
            hour: Duration::from_secs(100 * DAY),
            day: Duration::from_secs(400 * DAY),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RollupReport {
    pub minute_buckets: u64,
    pub hour_buckets: u64,
    pub day_buckets: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    pub raw_results: u64,
    pub rollups: u64,
}

/// Uptime and latency over a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UptimeSummary {
    pub checks: u64,
    pub up: u64,
    pub degraded: u64,
    /// (up + degraded) / checks, or `None` without checks.
    pub uptime: Option<f64>,
    pub latency_avg_ms: Option<f64>,
    pub latency_min_ms: Option<f64>,
    pub latency_max_ms: Option<f64>,
    /// Exact within a minute bucket; above that, the count-weighted 95th percentile of the bucket
    /// p95s (see docs/ARCHITECTURE.md).
    pub latency_p95_ms: Option<f64>,
    /// Average HTTP phase times of the successful checks that have them; `None` for other kinds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phases: Option<PhaseAverages>,
}

/// Average time of each HTTP phase, in milliseconds. A phase that did not happen (no DNS for an IP
/// literal, no TLS for plain HTTP) averages 0; the rest of the response time is the download.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PhaseAverages {
    pub dns_ms: f64,
    pub connect_ms: f64,
    pub tls_ms: f64,
    pub first_byte_ms: f64,
}

/// How many of a team's monitors are in each state (states with none are left out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateCounts {
    pub by_state: Vec<(MonitorState, u64)>,
}

impl StateCounts {
    pub fn of(&self, state: MonitorState) -> u64 {
        self.by_state
            .iter()
            .find(|(s, _)| *s == state)
            .map_or(0, |(_, n)| *n)
    }

    pub fn total(&self) -> u64 {
        self.by_state.iter().map(|(_, n)| n).sum()
    }
}

/// One recent check of a monitor, as a status strip shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecentCheck {
    pub checked_at: Timestamp,
    pub status: CheckStatus,
    pub latency: Duration,
}

/// The width of one point of a history series, each read from the rollup level of that width
/// (plus the finer levels and raw results not yet rolled into it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesStep {
    Minute,
    Hour,
    Day,
}

/// One point of a series: the uptime and latency of one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesPoint {
    pub start: Timestamp,
    pub summary: UptimeSummary,
}
