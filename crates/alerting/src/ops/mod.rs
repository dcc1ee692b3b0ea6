//! Ops alerts: the instance watches itself (API error rate and response time, database errors,
//! memory, failed logins) and tells the operators' channel when a signal crosses the operations
//! guide's threshold for its window, once per episode, and again when it clears.
//!
//! The decisions are pure (`evaluate.rs`: samples in, alerts out, every instant given);
//! `message.rs` words an alert as a `Notification` so every channel formats it as it formats
//! monitor alerts; `notifier.rs` delivers with retries. The server measures the samples.

mod evaluate;
mod message;
mod notifier;

pub use evaluate::{Evaluator, OpsEvent, OpsEventKind, Reading};
pub use message::{describe, notification};
pub use notifier::{OpsNotifier, RetryPolicy};

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
}

impl Signal {
    pub const ALL: [Signal; 5] = [
        Signal::ApiErrorRate,
        Signal::ApiResponseTime,
        Signal::DatabaseErrors,
        Signal::Memory,
        Signal::FailedLogins,
    ];

    /// The name in flags (`--ops-threshold error_rate=5%/5m`), metrics labels and logs.
    pub fn name(self) -> &'static str {
        match self {
            Signal::ApiErrorRate => "error_rate",
            Signal::ApiResponseTime => "response_time",
            Signal::DatabaseErrors => "database_errors",
            Signal::Memory => "memory",
            Signal::FailedLogins => "failed_logins",
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
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|signal| signal.name() == name)
    }

    /// A limit as written: `5%`, `2s`, `10`.
    pub fn format_limit(self, limit: f64) -> String {
        match self {
            Signal::ApiErrorRate | Signal::Memory => format!("{}%", round(limit * 100.0)),
            Signal::ApiResponseTime => format!("{} s", round(limit)),
            Signal::DatabaseErrors | Signal::FailedLogins => round(limit),
        }
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
#[derive(Debug, Clone, Copy, PartialEq)]
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
        }
    }

    fn threshold_mut(&mut self, signal: Signal) -> &mut Threshold {
        match signal {
            Signal::ApiErrorRate => &mut self.error_rate,
            Signal::ApiResponseTime => &mut self.response_time,
            Signal::DatabaseErrors => &mut self.database_errors,
            Signal::Memory => &mut self.memory,
            Signal::FailedLogins => &mut self.failed_logins,
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
    /// `database_errors=10/1m`, `memory=80%/10m`, `failed_logins=10/5m`); `/WINDOW` may be left
    /// out to keep the window.
    pub fn apply_override(&mut self, text: &str) -> Result<(), String> {
        let (name, rest) = text.split_once('=').ok_or_else(|| {
            format!("'{text}' is not NAME=LIMIT/WINDOW (for example failed_logins=10/5m)")
        })?;
        let signal = Signal::from_name(name.trim()).ok_or_else(|| {
            format!(
                "'{}' is not a signal; use error_rate, response_time, database_errors, memory \
                 or failed_logins",
                name.trim()
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
    let value = match signal {
        Signal::ApiErrorRate | Signal::Memory => {
            let number = text
                .strip_suffix('%')
                .ok_or_else(|| format!("'{text}' must be a percentage such as 5% or 80%"))?;
            let percent: f64 = number.trim().parse().map_err(|_| bad())?;
            if !(0.0..100.0).contains(&percent) {
                return Err(format!("'{text}' must be at least 0% and below 100%"));
            }
            percent / 100.0
        }
        Signal::ApiResponseTime => HumanDuration::parse(text)?.get().as_secs_f64(),
        Signal::DatabaseErrors | Signal::FailedLogins => {
            let count: u64 = text.parse().map_err(|_| bad())?;
            count as f64
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
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub at: Timestamp,
    pub counters: Counters,
    /// `None` where it cannot be read (not Linux).
    pub memory: Option<MemoryUse>,
    /// Failed logins within the failed-logins window; `None` when the database did not answer.
    pub failed_logins: Option<u64>,
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
