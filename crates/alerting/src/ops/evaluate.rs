//! The decisions, as pure functions of samples: each signal's value over its sliding window, and
//! its episode (clear, pending, firing), so an episode makes one alert and one recovery however
//! many evaluations it spans. Every instant comes from the sample; nothing here reads a clock.

use super::{Counters, OpsConfig, Sample, Signal, Threshold};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;
use watchtower_core::Timestamp;

/// One signal's value at one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub signal: Signal,
    /// In the threshold's unit (a fraction, seconds, a count); `None` when there is nothing to
    /// measure (no requests in the window, memory not readable, the database did not answer).
    pub value: Option<f64>,
    /// Whether the condition holds now; `None` when unknown, which changes no episode.
    pub breached: Option<bool>,
    /// The measurement in words: `3 of 40 /api requests answered 5xx`.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpsEventKind {
    /// The condition has held for its window: the episode begins.
    Alert,
    /// The condition has been clear for `clear_after`: the episode ends.
    Recovery,
}

/// An alert or a recovery to tell the operators.
#[derive(Debug, Clone, PartialEq)]
pub struct OpsEvent {
    pub kind: OpsEventKind,
    pub signal: Signal,
    pub value: Option<f64>,
    pub detail: String,
    pub threshold: Threshold,
    /// When the condition was first seen in this episode.
    pub since: Timestamp,
    /// The evaluation that decided it.
    pub at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Episode {
    Clear,
    /// Breached, but not yet for the whole hold (memory).
    Pending {
        since: Timestamp,
    },
    Firing {
        since: Timestamp,
        clear_since: Option<Timestamp>,
    },
}

/// Keeps the counter history and each signal's episode between evaluations.
#[derive(Debug)]
pub struct Evaluator {
    config: OpsConfig,
    history: VecDeque<(Timestamp, Counters)>,
    episodes: BTreeMap<Signal, Episode>,
}

impl Evaluator {
    pub fn new(config: OpsConfig) -> Self {
        Self {
            config,
            history: VecDeque::new(),
            episodes: BTreeMap::new(),
        }
    }

    pub fn config(&self) -> &OpsConfig {
        &self.config
    }

    /// Whether an alert for `signal` is out and not yet recovered.
    pub fn firing(&self, signal: Signal) -> bool {
        matches!(self.episodes.get(&signal), Some(Episode::Firing { .. }))
    }

    /// Takes one sample (samples come in time order) and returns every signal's reading and the
    /// alerts and recoveries it decides.
    pub fn observe(&mut self, sample: &Sample) -> (Vec<Reading>, Vec<OpsEvent>) {
        self.history.push_back((sample.at, sample.counters));
        self.forget_before(sample.at.minus(self.config.longest_window()));
        let readings: Vec<Reading> = Signal::ALL
            .into_iter()
            .map(|signal| self.read(signal, sample))
            .collect();
        let events = readings
            .iter()
            .filter_map(|reading| self.step(reading, sample.at))
            .collect();
        (readings, events)
    }

    /// Drops history no window needs, keeping the newest entry at or before `cutoff` as the
    /// baseline of the longest window.
    fn forget_before(&mut self, cutoff: Timestamp) {
        while self.history.len() >= 2 && self.history[1].0 <= cutoff {
            self.history.pop_front();
        }
    }

    /// What the counters gained over the window ending at the newest sample: against the newest
    /// sample at or before the window's start, or the oldest one while the process is younger
    /// than the window.
    fn gained(&self, window: Duration) -> Counters {
        let Some(&(now, latest)) = self.history.back() else {
            return Counters::default();
        };
        let cutoff = now.minus(window);
        let baseline = self
            .history
            .iter()
            .rev()
            .find(|(at, _)| *at <= cutoff)
            .or_else(|| self.history.front())
            .map(|(_, counters)| *counters)
            .unwrap_or_default();
        Counters {
            api_requests: latest.api_requests.saturating_sub(baseline.api_requests),
            api_server_errors: latest
                .api_server_errors
                .saturating_sub(baseline.api_server_errors),
            api_latency_micros: latest
                .api_latency_micros
                .saturating_sub(baseline.api_latency_micros),
            database_errors: latest
                .database_errors
                .saturating_sub(baseline.database_errors),
        }
    }

    fn read(&self, signal: Signal, sample: &Sample) -> Reading {
        let threshold = self.config.threshold(signal);
        let above = |value: f64| value > threshold.limit;
        let (value, breached, detail) = match signal {
            Signal::ApiErrorRate => {
                let gained = self.gained(threshold.window);
                let requests = gained.api_requests;
                let errors = gained.api_server_errors;
                let rate = (requests > 0).then(|| errors as f64 / requests as f64);
                let judged = requests >= self.config.min_requests;
                (
                    rate,
                    Some(judged && rate.is_some_and(above)),
                    format!("{errors} of {requests} /api requests answered 5xx"),
                )
            }
            Signal::ApiResponseTime => {
                let gained = self.gained(threshold.window);
                let requests = gained.api_requests;
                let average = (requests > 0)
                    .then(|| gained.api_latency_micros as f64 / requests as f64 / 1_000_000.0);
                let judged = requests >= self.config.min_requests;
                (
                    average,
                    Some(judged && average.is_some_and(above)),
                    format!("the average of {requests} /api requests"),
                )
            }
            Signal::DatabaseErrors => {
                let errors = self.gained(threshold.window).database_errors as f64;
                (
                    Some(errors),
                    Some(above(errors)),
                    "failed result writes and API requests the database failed".to_owned(),
                )
            }
            Signal::Memory => match sample.memory {
                Some(memory) if memory.limit_bytes > 0 => {
                    let ratio = memory.rss_bytes as f64 / memory.limit_bytes as f64;
                    (
                        Some(ratio),
                        Some(above(ratio)),
                        format!(
                            "resident {} of a {} limit",
                            bytes(memory.rss_bytes),
                            bytes(memory.limit_bytes)
                        ),
                    )
                }
                _ => (None, None, "memory is not readable here".to_owned()),
            },
            Signal::FailedLogins => match sample.failed_logins {
                Some(count) => (
                    Some(count as f64),
                    Some(above(count as f64)),
                    "failed or throttled logins on every instance sharing the database".to_owned(),
                ),
                None => (None, None, "the database did not answer".to_owned()),
            },
        };
        Reading {
            signal,
            value,
            breached,
            detail,
        }
    }

    /// Moves one signal's episode on; returns the alert or recovery this evaluation decides.
    fn step(&mut self, reading: &Reading, now: Timestamp) -> Option<OpsEvent> {
        let breached = reading.breached?;
        let signal = reading.signal;
        let threshold = self.config.threshold(signal);
        // Memory must stay high for its whole window; the others are already window aggregates.
        let hold = match signal {
            Signal::Memory => threshold.window,
            _ => Duration::ZERO,
        };
        let episode = self
            .episodes
            .get(&signal)
            .copied()
            .unwrap_or(Episode::Clear);
        let event = |kind, since| OpsEvent {
            kind,
            signal,
            value: reading.value,
            detail: reading.detail.clone(),
            threshold,
            since,
            at: now,
        };
        let (next, decided) = match (episode, breached) {
            (Episode::Clear, false) => (Episode::Clear, None),
            (Episode::Clear, true) if hold.is_zero() => (
                Episode::Firing {
                    since: now,
                    clear_since: None,
                },
                Some(event(OpsEventKind::Alert, now)),
            ),
            (Episode::Clear, true) => (Episode::Pending { since: now }, None),
            (Episode::Pending { .. }, false) => (Episode::Clear, None),
            (Episode::Pending { since }, true) if now.since(since) >= hold => (
                Episode::Firing {
                    since,
                    clear_since: None,
                },
                Some(event(OpsEventKind::Alert, since)),
            ),
            (pending @ Episode::Pending { .. }, true) => (pending, None),
            (Episode::Firing { since, .. }, true) => (
                Episode::Firing {
                    since,
                    clear_since: None,
                },
                None,
            ),
            (Episode::Firing { since, clear_since }, false) => {
                let clear_since = clear_since.unwrap_or(now);
                if now.since(clear_since) >= self.config.clear_after {
                    (Episode::Clear, Some(event(OpsEventKind::Recovery, since)))
                } else {
                    (
                        Episode::Firing {
                            since,
                            clear_since: Some(clear_since),
                        },
                        None,
                    )
                }
            }
        };
        self.episodes.insert(signal, next);
        decided
    }
}

/// `512 MiB`, `1.5 GiB`.
fn bytes(count: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let mib = count as f64 / MIB;
    if mib >= 1024.0 {
        format!("{:.1} GiB", mib / 1024.0)
    } else {
        format!("{mib:.0} MiB")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::MemoryUse;

    const START: Timestamp = Timestamp(1_700_000_000_000);
    const STEP: Duration = Duration::from_secs(15);

    /// Drives an evaluator through time, one 15 s evaluation per `tick`, with counters the test
    /// grows between ticks.
    struct Drive {
        evaluator: Evaluator,
        at: Timestamp,
        counters: Counters,
        memory: Option<MemoryUse>,
        failed_logins: Option<u64>,
        events: Vec<OpsEvent>,
    }

    impl Drive {
        fn new(config: OpsConfig) -> Self {
            let mut drive = Self {
                evaluator: Evaluator::new(config),
                at: START,
                counters: Counters::default(),
                memory: None,
                failed_logins: Some(0),
                events: Vec::new(),
            };
            drive.observe();
            drive
        }

        fn observe(&mut self) -> Vec<Reading> {
            let (readings, events) = self.evaluator.observe(&Sample {
                at: self.at,
                counters: self.counters,
                memory: self.memory,
                failed_logins: self.failed_logins,
            });
            self.events.extend(events);
            readings
        }

        /// Adds requests (and their errors and total latency) since the last tick, then ticks.
        fn requests(&mut self, count: u64, errors: u64, each: Duration) {
            self.counters.api_requests += count;
            self.counters.api_server_errors += errors;
            self.counters.api_latency_micros += count * each.as_micros() as u64;
            self.tick(1);
        }

        fn tick(&mut self, times: u32) {
            for _ in 0..times {
                self.at = self.at.plus(STEP);
                self.observe();
            }
        }

        fn kinds(&self, signal: Signal) -> Vec<OpsEventKind> {
            self.events
                .iter()
                .filter(|event| event.signal == signal)
                .map(|event| event.kind)
                .collect()
        }
    }

    use OpsEventKind::{Alert, Recovery};

    #[test]
    fn an_error_burst_alerts_once_and_recovers_once_after_it_leaves_the_window() {
        let mut drive = Drive::new(OpsConfig::default());
        drive.requests(100, 0, Duration::from_millis(20));
        drive.requests(100, 30, Duration::from_millis(20));
        assert_eq!(drive.kinds(Signal::ApiErrorRate), [Alert]);
        let alert = drive.events[0].clone();
        assert_eq!(alert.value, Some(0.15));
        assert_eq!(alert.detail, "30 of 200 /api requests answered 5xx");
        assert_eq!(alert.since, START.plus(STEP * 2));
        // Light healthy traffic for four minutes: the burst is still within the 5 minutes.
        for _ in 0..16 {
            drive.requests(5, 0, Duration::from_millis(20));
        }
        assert_eq!(drive.kinds(Signal::ApiErrorRate), [Alert]);
        assert!(drive.evaluator.firing(Signal::ApiErrorRate));
        // The burst leaves the window; the recovery waits for `clear_after` (1 minute).
        for _ in 0..10 {
            drive.requests(5, 0, Duration::from_millis(20));
        }
        assert_eq!(drive.kinds(Signal::ApiErrorRate), [Alert, Recovery]);
        let recovery = drive.events.last().unwrap();
        assert_eq!(recovery.since, alert.since);
        assert_eq!(recovery.value, Some(0.0));
        assert!(recovery.at.since(alert.at) >= Duration::from_secs(6 * 60));
    }

    #[test]
    fn too_few_requests_page_no_one() {
        let mut drive = Drive::new(OpsConfig::default());
        drive.requests(2, 1, Duration::from_secs(30));
        drive.tick(40);
        assert!(drive.events.is_empty(), "{:?}", drive.events);
    }

    #[test]
    fn slow_responses_alert_on_the_window_average() {
        let mut drive = Drive::new(OpsConfig::default());
        drive.requests(30, 0, Duration::from_millis(1500));
        assert!(drive.events.is_empty());
        drive.requests(30, 0, Duration::from_millis(3000));
        assert_eq!(drive.kinds(Signal::ApiResponseTime), [Alert]);
        assert_eq!(drive.events[0].value, Some(2.25));
    }

    #[test]
    fn database_errors_count_within_a_sliding_minute() {
        let mut drive = Drive::new(OpsConfig::default());
        // 3 errors every 15 s is 12 a minute once four ticks are in the window.
        for _ in 0..3 {
            drive.counters.database_errors += 3;
            drive.tick(1);
        }
        assert!(
            drive.events.is_empty(),
            "9 in the minute is not more than 10"
        );
        drive.counters.database_errors += 3;
        drive.tick(1);
        assert_eq!(drive.kinds(Signal::DatabaseErrors), [Alert]);
        assert_eq!(drive.events[0].value, Some(12.0));
        // 3 a minute from now on: under the limit, recovered after the minute plus clear_after.
        for _ in 0..12 {
            drive.counters.database_errors += 1;
            drive.tick(1);
        }
        assert_eq!(drive.kinds(Signal::DatabaseErrors), [Alert, Recovery]);
    }

    #[test]
    fn memory_alerts_only_when_high_for_the_whole_window() {
        let mut drive = Drive::new(OpsConfig::default());
        let high = Some(MemoryUse {
            rss_bytes: 850,
            limit_bytes: 1000,
        });
        let low = Some(MemoryUse {
            rss_bytes: 500,
            limit_bytes: 1000,
        });
        drive.memory = high;
        drive.tick(40); // high from the first of these ticks to the last: 9 m 45 s
        drive.memory = low;
        drive.tick(1); // one dip starts the 10 minutes again
        drive.memory = high;
        drive.tick(40);
        assert!(drive.events.is_empty(), "{:?}", drive.events);
        drive.tick(1); // 10 minutes high since the dip
        assert_eq!(drive.kinds(Signal::Memory), [Alert]);
        let alert = &drive.events[0];
        assert_eq!(alert.at.since(alert.since), Duration::from_secs(600));
        assert_eq!(alert.value, Some(0.85));
        drive.tick(100);
        assert_eq!(drive.kinds(Signal::Memory), [Alert]);
        drive.memory = low;
        drive.tick(4); // clear for 45 s
        assert_eq!(drive.kinds(Signal::Memory), [Alert]);
        drive.tick(1); // clear for the minute `clear_after` asks
        assert_eq!(drive.kinds(Signal::Memory), [Alert, Recovery]);
    }

    #[test]
    fn more_than_ten_failed_logins_alert() {
        let mut drive = Drive::new(OpsConfig::default());
        drive.failed_logins = Some(10);
        drive.tick(3);
        assert!(drive.events.is_empty());
        drive.failed_logins = Some(11);
        drive.tick(3);
        assert_eq!(drive.kinds(Signal::FailedLogins), [Alert]);
    }

    #[test]
    fn a_value_hovering_at_the_threshold_is_one_episode() {
        let mut drive = Drive::new(OpsConfig::default());
        for count in [11, 9, 11, 9, 12, 10, 11] {
            drive.failed_logins = Some(count);
            drive.tick(1);
        }
        assert_eq!(drive.kinds(Signal::FailedLogins), [Alert]);
        drive.failed_logins = Some(0);
        drive.tick(4);
        assert_eq!(drive.kinds(Signal::FailedLogins), [Alert]);
        drive.tick(1);
        assert_eq!(drive.kinds(Signal::FailedLogins), [Alert, Recovery]);
    }

    #[test]
    fn an_unknown_reading_neither_alerts_nor_recovers() {
        let mut drive = Drive::new(OpsConfig::default());
        drive.failed_logins = Some(20);
        drive.tick(1);
        drive.failed_logins = None;
        drive.tick(20);
        assert_eq!(drive.kinds(Signal::FailedLogins), [Alert]);
        assert!(drive.evaluator.firing(Signal::FailedLogins));
    }

    #[test]
    fn history_is_bounded_by_the_longest_window() {
        let mut drive = Drive::new(OpsConfig::default());
        drive.tick(1000);
        // 10 minutes of 15 s ticks, plus the baseline.
        assert_eq!(drive.evaluator.history.len(), 41);
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(bytes(512 * 1024 * 1024), "512 MiB");
        assert_eq!(bytes(3 * 512 * 1024 * 1024), "1.5 GiB");
    }
}
