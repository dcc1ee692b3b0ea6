//! Ops alerts: the instance watches itself (API error rate and response time, database errors,
//! memory, failed logins, the age of its last good backup, the database's disk, its rate limits,
//! PostgreSQL's CPU) and tells the operators' channel when a signal crosses the operations
//! guide's threshold for its window, once per episode, and again when it clears.
//!
//! The decisions are pure (`evaluate.rs`: samples in, alerts out, every instant given);
//! `message.rs` words an alert as a `Notification` so every channel formats it as it formats
//! monitor alerts. An alert goes through the notification outbox like a monitor's: the server's
//! ops task opens the episode in the database (`OpsStore::open_ops_episode`, which queues the
//! message in the same transaction) and the dispatcher delivers it with its retries.

mod evaluate;
mod message;

pub use evaluate::{Evaluator, OpsEvent, OpsEventKind, Reading};
pub use message::{OpsNotice, describe, notification};

use std::fmt;
use std::time::Duration;
use watchtower_core::{HumanDuration, Timestamp};

/// What the instance watches about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    /// The share of `/api` requests answered 5xx over the window.
    ApiErrorRate,
    /// The average duration of `/api` requests over the window.
    ApiResponseTime,
    /// Store errors (failed result writes, API requests failed by the database) within the window.
    DatabaseErrors,
    /// The process's resident memory against the machine's or the cgroup's limit, held for the
    /// whole window.
    Memory,
    /// Failed and throttled logins within the window, counted from `security_events` (every
    /// instance on the database together).
    FailedLogins,
    /// The age of this instance's last good scheduled backup, in backup periods (`serve
    /// --backup-dir` only).
    BackupStale,
    /// The share of the SQLite database's file system in use (statvfs). PostgreSQL's volume is
    /// not readable from a client, so it is not judged there.
    DiskNearlyFull,
    /// The fullest `/api` rate-limit bucket seen since the last evaluation, as a share of its
    /// allowance.
    RateLimitNear,
    /// PostgreSQL's share of the machine's CPU, held for the whole window; readable only when
    /// the server runs on this machine (see the server's `ops/database_cpu.rs`).
    DatabaseCpuHigh,
}

impl Signal {
    pub const ALL: [Signal; 9] = [
        Signal::ApiErrorRate,
        Signal::ApiResponseTime,
        Signal::DatabaseErrors,
        Signal::Memory,
        Signal::FailedLogins,
        Signal::BackupStale,
        Signal::DiskNearlyFull,
        Signal::RateLimitNear,
        Signal::DatabaseCpuHigh,
    ];

    /// The name in flags (`--ops-threshold error_rate=5%/5m`), metrics labels and logs.
    pub fn name(self) -> &'static str {
        match self {
            Signal::ApiErrorRate => "error_rate",
            Signal::ApiResponseTime => "response_time",
            Signal::DatabaseErrors => "database_errors",
            Signal::Memory => "memory",
            Signal::FailedLogins => "failed_logins",
            Signal::BackupStale => "backup_stale",
            Signal::DiskNearlyFull => "disk_nearly_full",
            Signal::RateLimitNear => "rate_limit_near",
            Signal::DatabaseCpuHigh => "database_cpu_high",
        }
    }

    /// Whether the condition belongs to the database every instance shares (failed logins,
    /// PostgreSQL's CPU) rather than to one instance (its memory, its requests, its backups).
    /// A shared signal has one episode for all instances; the others one per instance.
    pub fn shared(self) -> bool {
        matches!(self, Signal::FailedLogins | Signal::DatabaseCpuHigh)
    }

    /// The episode's key in the database: the signal, or `signal@instance`.
    pub fn episode_key(self, instance: &str) -> String {
        if self.shared() {
            self.name().to_owned()
        } else {
            format!("{}@{instance}", self.name())
        }
    }

    /// The words in messages.
    pub fn label(self) -> &'static str {
        match self {
            Signal::ApiErrorRate => "API error rate",
            Signal::ApiResponseTime => "API response time",
            Signal::DatabaseErrors => "Database errors",
            Signal::Memory => "Memory use",
            Signal::FailedLogins => "Failed logins",
            Signal::BackupStale => "Last good backup",
            Signal::DiskNearlyFull => "Database disk",
            Signal::RateLimitNear => "API rate limits",
            Signal::DatabaseCpuHigh => "PostgreSQL CPU",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|signal| signal.name() == name)
    }

    /// A limit as written: `5%`, `2s`, `10`, `2 backup periods`.
    pub fn format_limit(self, limit: f64) -> String {
        match self.unit() {
            Unit::Share => format!("{}%", round(limit * 100.0)),
            Unit::Seconds => format!("{} s", round(limit)),
            Unit::Count => round(limit),
            Unit::Periods => format!("{} backup periods", round(limit)),
        }
    }

    fn unit(self) -> Unit {
        match self {
            Signal::ApiErrorRate
            | Signal::Memory
            | Signal::DiskNearlyFull
            | Signal::RateLimitNear
            | Signal::DatabaseCpuHigh => Unit::Share,
            Signal::ApiResponseTime => Unit::Seconds,
            Signal::DatabaseErrors | Signal::FailedLogins => Unit::Count,
            Signal::BackupStale => Unit::Periods,
        }
    }

    /// Whether the condition must hold for the whole window (a level) rather than be measured
    /// over it (an aggregate).
    pub(crate) fn holds_for_window(self) -> bool {
        matches!(self, Signal::Memory | Signal::DatabaseCpuHigh)
    }
}

/// How a signal's values and limits are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// A fraction, written as a percentage.
    Share,
    Seconds,
    Count,
    /// Backup periods (a fraction of them is allowed: `2.5`).
    Periods,
}

impl serde::Serialize for Signal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Signal {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Signal::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("'{name}' is not an ops signal")))
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Up to three decimals, without trailing zeros: `5`, `2.5`, `0.125`.
fn round(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// An alert fires when the value is above `limit` over `window` (or, for memory, stays above it
/// for the whole `window`). Ratios are fractions (0.05 for 5%), response times seconds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Threshold {
    pub limit: f64,
    pub window: Duration,
}

impl Threshold {
    const fn new(limit: f64, window_secs: u64) -> Self {
        Self {
            limit,
            window: Duration::from_secs(window_secs),
        }
    }
}

/// How often the signals are evaluated, their thresholds, and what keeps one bad minute from
/// paging anyone twice.
#[derive(Debug, Clone, PartialEq)]
pub struct OpsConfig {
    pub interval: Duration,
    pub error_rate: Threshold,
    pub response_time: Threshold,
    pub database_errors: Threshold,
    pub memory: Threshold,
    pub failed_logins: Threshold,
    /// The limit in backup periods (the window is unused: the age is a level).
    pub backup_stale: Threshold,
    pub disk_nearly_full: Threshold,
    pub rate_limit_near: Threshold,
    pub database_cpu_high: Threshold,
    /// Below this many `/api` requests in the window, error rate and response time are not
    /// judged (1 failure of 2 requests pages no one).
    pub min_requests: u64,
    /// A firing signal recovers only after its condition has been clear this long, so a value
    /// hovering at the threshold makes one episode, not one per evaluation.
    pub clear_after: Duration,
}

impl Default for OpsConfig {
    /// The operations guide's thresholds, evaluated every 15 s.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(15),
            error_rate: Threshold::new(0.05, 300),
            response_time: Threshold::new(2.0, 300),
            database_errors: Threshold::new(10.0, 60),
            memory: Threshold::new(0.80, 600),
            failed_logins: Threshold::new(10.0, 300),
            // The operations guide's scaling thresholds: storage over 80% of capacity, API
            // requests over 80% of their rate limits, the database over 70% CPU for 30
            // minutes; and issue 16's backup rule, no good backup within two periods.
            backup_stale: Threshold::new(2.0, 0),
            disk_nearly_full: Threshold::new(0.80, 0),
            rate_limit_near: Threshold::new(0.80, 0),
            database_cpu_high: Threshold::new(0.70, 1800),
            min_requests: 20,
            clear_after: Duration::from_secs(60),
        }
    }
}

impl OpsConfig {
    pub fn threshold(&self, signal: Signal) -> Threshold {
        match signal {
            Signal::ApiErrorRate => self.error_rate,
            Signal::ApiResponseTime => self.response_time,
            Signal::DatabaseErrors => self.database_errors,
            Signal::Memory => self.memory,
            Signal::FailedLogins => self.failed_logins,
            Signal::BackupStale => self.backup_stale,
            Signal::DiskNearlyFull => self.disk_nearly_full,
            Signal::RateLimitNear => self.rate_limit_near,
            Signal::DatabaseCpuHigh => self.database_cpu_high,
        }
    }

    fn threshold_mut(&mut self, signal: Signal) -> &mut Threshold {
        match signal {
            Signal::ApiErrorRate => &mut self.error_rate,
            Signal::ApiResponseTime => &mut self.response_time,
            Signal::DatabaseErrors => &mut self.database_errors,
            Signal::Memory => &mut self.memory,
            Signal::FailedLogins => &mut self.failed_logins,
            Signal::BackupStale => &mut self.backup_stale,
            Signal::DiskNearlyFull => &mut self.disk_nearly_full,
            Signal::RateLimitNear => &mut self.rate_limit_near,
            Signal::DatabaseCpuHigh => &mut self.database_cpu_high,
        }
    }

    /// The longest window: how much counter history the evaluator keeps.
    pub fn longest_window(&self) -> Duration {
        Signal::ALL
            .into_iter()
            .map(|signal| self.threshold(signal).window)
            .max()
            .unwrap_or_default()
    }

    /// Applies `NAME=LIMIT/WINDOW` (`error_rate=5%/5m`, `response_time=2s/5m`,
    /// `database_errors=10/1m`, `memory=80%/10m`, `failed_logins=10/5m`, `backup_stale=2`,
    /// `disk_nearly_full=80%`, `rate_limit_near=80%`, `database_cpu_high=70%/30m`); `/WINDOW`
    /// may be left out to keep the window.
    pub fn apply_override(&mut self, text: &str) -> Result<(), String> {
        let (name, rest) = text.split_once('=').ok_or_else(|| {
            format!("'{text}' is not NAME=LIMIT/WINDOW (for example failed_logins=10/5m)")
        })?;
        let signal = Signal::from_name(name.trim()).ok_or_else(|| {
            format!(
                "'{}' is not a signal; use {}",
                name.trim(),
                Signal::ALL.map(Signal::name).join(", ")
            )
        })?;
        let (limit_text, window_text) = match rest.split_once('/') {
            Some((limit, window)) => (limit.trim(), Some(window.trim())),
            None => (rest.trim(), None),
        };
        let limit = parse_limit(signal, limit_text)
            .map_err(|problem| format!("{name}: limit {problem}"))?;
        let window = match window_text {
            Some(window) => {
                let window = HumanDuration::parse(window)
                    .map_err(|problem| format!("{name}: window {problem}"))?
                    .get();
                if window.is_zero() {
                    return Err(format!("{name}: window must be longer than 0s"));
                }
                Some(window)
            }
            None => None,
        };
        let threshold = self.threshold_mut(signal);
        threshold.limit = limit;
        if let Some(window) = window {
            threshold.window = window;
        }
        Ok(())
    }
}

fn parse_limit(signal: Signal, text: &str) -> Result<f64, String> {
    let bad = || format!("'{text}' is not a number");
    let value = match signal.unit() {
        Unit::Share => {
            let number = text
                .strip_suffix('%')
                .ok_or_else(|| format!("'{text}' must be a percentage such as 5% or 80%"))?;
            let percent: f64 = number.trim().parse().map_err(|_| bad())?;
            if !(0.0..100.0).contains(&percent) {
                return Err(format!("'{text}' must be at least 0% and below 100%"));
            }
            percent / 100.0
        }
        Unit::Seconds => HumanDuration::parse(text)?.get().as_secs_f64(),
        Unit::Count => {
            let count: u64 = text.parse().map_err(|_| bad())?;
            count as f64
        }
        Unit::Periods => {
            let periods: f64 = text.parse().map_err(|_| bad())?;
            if periods.is_nan() || periods < 1.0 {
                return Err(format!("'{text}' must be at least 1 (backup period)"));
            }
            periods
        }
    };
    if value.is_finite() {
        Ok(value)
    } else {
        Err(bad())
    }
}

/// Counters that only grow while the process lives, read at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub api_requests: u64,
    /// `/api` requests answered 5xx.
    pub api_server_errors: u64,
    /// The summed duration of `/api` requests, in microseconds.
    pub api_latency_micros: u64,
    pub database_errors: u64,
}

/// The process's resident memory and the limit it counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUse {
    pub rss_bytes: u64,
    pub limit_bytes: u64,
}

/// What the server measured at one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub at: Timestamp,
    pub counters: Counters,
    /// `None` where it cannot be read (not Linux).
    pub memory: Option<MemoryUse>,
    /// Failed logins within the failed-logins window; `None` when the database did not answer.
    pub failed_logins: Option<u64>,
    /// Scheduled backups' age; `None` without `--backup-dir`.
    pub backup: Option<BackupAge>,
    /// The database's file system; `None` where it cannot be read (PostgreSQL).
    pub disk: Option<DiskUse>,
    /// The fullest rate-limit bucket since the last evaluation; `None` without a limiter.
    pub rate_limit: Option<RateLimitUse>,
    /// PostgreSQL's share of the machine's CPU since the last evaluation; `None` where it
    /// cannot be read.
    pub database_cpu: Option<f64>,
}

/// How old the last good scheduled backup is, against the backup period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupAge {
    /// Since the last good backup, or since the instance started when there was none.
    pub age: Duration,
    /// No good backup at all yet.
    pub never: bool,
    pub every: Duration,
}

/// A file system's use, in bytes available to the database (statvfs: `blocks - bavail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskUse {
    pub used_bytes: u64,
    pub total_bytes: u64,
}

/// The most a caller's rate-limit bucket was spent since the last evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitUse {
    /// Spent share of the bucket's allowance (0..=1).
    pub share: f64,
    /// Which kind of bucket: `key`, `session`, `ip`.
    pub bucket: String,
    pub limit: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_change_limits_and_windows() {
        let mut config = OpsConfig::default();
        config.apply_override("failed_logins=3/2s").unwrap();
        config.apply_override("error_rate=10%").unwrap();
        config.apply_override("response_time=500ms/1m").unwrap();
        config.apply_override("memory=90%/30m").unwrap();
        assert_eq!(config.failed_logins, Threshold::new(3.0, 2));
        assert_eq!(config.error_rate, Threshold::new(0.10, 300));
        assert_eq!(config.response_time, Threshold::new(0.5, 60));
        assert_eq!(config.memory, Threshold::new(0.90, 1800));
        assert_eq!(config.longest_window(), Duration::from_secs(1800));
    }

    #[test]
    fn bad_overrides_say_what_is_wrong() {
        let mut config = OpsConfig::default();
        for (text, expected) in [
            ("failed_logins", "NAME=LIMIT/WINDOW"),
            ("cpu=5", "not a signal"),
            ("error_rate=5", "percentage"),
            ("memory=120%", "below 100%"),
            ("failed_logins=ten", "not a number"),
            ("database_errors=10/0s", "longer than 0s"),
            ("database_errors=10/soon", "window"),
        ] {
            let problem = config.apply_override(text).unwrap_err();
            assert!(problem.contains(expected), "{text}: {problem}");
        }
        assert_eq!(config, OpsConfig::default());
    }

    #[test]
    fn limits_are_written_as_people_write_them() {
        assert_eq!(Signal::ApiErrorRate.format_limit(0.05), "5%");
        assert_eq!(Signal::Memory.format_limit(0.825), "82.5%");
        assert_eq!(Signal::ApiResponseTime.format_limit(2.0), "2 s");
        assert_eq!(Signal::FailedLogins.format_limit(10.0), "10");
    }
}
