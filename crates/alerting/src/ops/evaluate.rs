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

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpsEventKind {
    /// The condition has held for its window: the episode begins.
    Alert,
    /// The condition has been clear for `clear_after`: the episode ends.
    Recovery,
}

/// An alert or a recovery to tell the operators.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

    /// Takes up an episode the database holds open (opened by this instance before a restart,
    /// or by another instance for a shared signal): `signal` is firing since `since`, so it
    /// alerts no more and recovers once clear.
    pub fn resume(&mut self, signal: Signal, since: Timestamp) {
        self.episodes.insert(
            signal,
            Episode::Firing {
                since,
                clear_since: None,
            },
        );
    }

    /// Whether an alert for `signal` is out and not yet recovered.
    pub fn firing(&self, signal: Signal) -> bool {
        matches!(self.episodes.get(&signal), Some(Episode::Firing { .. }))
    }

    /// Takes one sample (samples come in time order) and returns every signal's reading and the
    /// alerts and recoveries it decides.
    pub fn observe(&mut self, sample: &Sample) -> (Vec<Reading>, Vec<OpsEvent>) {
        self.history.push_back((sample.at, sample.counters));
        // The counters' windows only; the level signals' holds live in their episodes.
        let longest = [
            Signal::ApiErrorRate,
            Signal::ApiResponseTime,
            Signal::DatabaseErrors,
            Signal::FailedLogins,
            Signal::Memory,
        ]
        .into_iter()
        .map(|signal| self.config.threshold(signal).window)
        .max()
        .unwrap_or_default();
        self.forget_before(sample.at.minus(longest));
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
            Signal::BackupStale => match sample.backup {
                Some(backup) if !backup.every.is_zero() => {
                    let periods = backup.age.as_secs_f64() / backup.every.as_secs_f64();
                    let age =
                        watchtower_core::HumanDuration(Duration::from_secs(backup.age.as_secs()));
                    let every = watchtower_core::HumanDuration(backup.every);
                    let detail = if backup.never {
                        format!("no good backup in the {age} since start, one due every {every}")
                    } else {
                        format!("the last good backup is {age} old, one due every {every}")
                    };
                    (Some(periods), Some(above(periods)), detail)
                }
                _ => (None, None, "no scheduled backups (--backup-dir)".to_owned()),
            },
            Signal::DiskNearlyFull => match sample.disk {
                Some(disk) if disk.total_bytes > 0 => {
                    let share = disk.used_bytes as f64 / disk.total_bytes as f64;
                    (
                        Some(share),
                        Some(above(share)),
                        format!(
                            "{} used of {} on the database's file system",
                            bytes(disk.used_bytes),
                            bytes(disk.total_bytes)
                        ),
                    )
                }
                _ => (
                    None,
                    None,
                    "the database's volume is not readable here (PostgreSQL)".to_owned(),
                ),
            },
            Signal::RateLimitNear => match &sample.rate_limit {
                Some(use_) => (
                    Some(use_.share),
                    Some(above(use_.share)),
                    format!(
                        "the fullest {} bucket of {} requests a window",
                        use_.bucket, use_.limit
                    ),
                ),
                None => (None, None, "no rate limits".to_owned()),
            },
            Signal::DatabaseCpuHigh => match sample.database_cpu {
                Some(share) => (
                    Some(share),
                    Some(above(share)),
                    "PostgreSQL's processes, as a share of this machine's CPUs".to_owned(),
                ),
                None => (
                    None,
                    None,
                    "PostgreSQL's CPU is not readable here (not on this machine)".to_owned(),
                ),
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
        // Levels (memory, database CPU) must stay high for their whole window; the others are
        // already window aggregates or judged as they are.
        let hold = if signal.holds_for_window() {
            threshold.window
        } else {
            Duration::ZERO
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
    use crate::ops::{BackupAge, DiskUse, MemoryUse, RateLimitUse};

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
        backup: Option<BackupAge>,
        disk: Option<DiskUse>,
        rate_limit: Option<RateLimitUse>,
        database_cpu: Option<f64>,
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
                backup: None,
                disk: None,
                rate_limit: None,
                database_cpu: None,
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
                backup: self.backup,
                disk: self.disk,
                rate_limit: self.rate_limit.clone(),
                database_cpu: self.database_cpu,
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
    fn a_backup_older_than_two_periods_alerts_and_a_fresh_one_recovers() {
        let hour = Duration::from_secs(3600);
        let mut drive = Drive::new(OpsConfig::default());
        drive.backup = Some(BackupAge {
            age: hour * 2,
            never: false,
            every: hour,
        });
        drive.tick(1);
        assert!(drive.events.is_empty(), "two periods is not more than two");
        drive.backup = Some(BackupAge {
            age: hour * 2 + Duration::from_secs(15),
            never: false,
            every: hour,
        });
        drive.tick(1);
        assert_eq!(drive.kinds(Signal::BackupStale), [Alert]);
        assert_eq!(
            drive.events[0].detail,
            "the last good backup is 2h15s old, one due every 1h"
        );
        drive.tick(20);
        drive.backup = Some(BackupAge {
            age: Duration::from_secs(5),
            never: false,
            every: hour,
        });
        drive.tick(4);
        assert_eq!(drive.kinds(Signal::BackupStale), [Alert]);
        drive.tick(1);
        assert_eq!(drive.kinds(Signal::BackupStale), [Alert, Recovery]);
    }

    #[test]
    fn the_disk_and_the_rate_limits_alert_above_eighty_percent() {
        let mut drive = Drive::new(OpsConfig::default());
        drive.disk = Some(DiskUse {
            used_bytes: 80,
            total_bytes: 100,
        });
        drive.rate_limit = Some(RateLimitUse {
            share: 0.8,
            bucket: "key".into(),
            limit: 600,
        });
        drive.tick(2);
        assert!(drive.events.is_empty(), "{:?}", drive.events);
        drive.disk = Some(DiskUse {
            used_bytes: 81,
            total_bytes: 100,
        });
        drive.rate_limit = Some(RateLimitUse {
            share: 0.9,
            bucket: "key".into(),
            limit: 600,
        });
        drive.tick(1);
        assert_eq!(drive.kinds(Signal::DiskNearlyFull), [Alert]);
        assert_eq!(drive.kinds(Signal::RateLimitNear), [Alert]);
        drive.disk = Some(DiskUse {
            used_bytes: 10,
            total_bytes: 100,
        });
        drive.rate_limit = Some(RateLimitUse {
            share: 0.1,
            bucket: "key".into(),
            limit: 600,
        });
        drive.tick(5);
        assert_eq!(drive.kinds(Signal::DiskNearlyFull), [Alert, Recovery]);
        assert_eq!(drive.kinds(Signal::RateLimitNear), [Alert, Recovery]);
    }

    #[test]
    fn database_cpu_alerts_only_after_thirty_minutes_above_seventy_percent() {
        let mut drive = Drive::new(OpsConfig::default());
        drive.database_cpu = Some(0.75);
        // The first high tick starts the count: 120 ticks of 15 s end 29 m 45 s after it.
        drive.tick(120);
        assert!(drive.events.is_empty(), "{:?}", drive.events);
        drive.tick(1);
        assert_eq!(drive.kinds(Signal::DatabaseCpuHigh), [Alert]);
        assert_eq!(
            drive.events[0].at.since(drive.events[0].since),
            Duration::from_secs(1800)
        );
        drive.database_cpu = None;
        drive.tick(10);
        assert_eq!(
            drive.kinds(Signal::DatabaseCpuHigh),
            [Alert],
            "not readable changes nothing"
        );
        drive.database_cpu = Some(0.2);
        drive.tick(5);
        assert_eq!(drive.kinds(Signal::DatabaseCpuHigh), [Alert, Recovery]);
    }

    #[test]
    fn a_resumed_episode_does_not_alert_again_and_recovers_once() {
        let mut drive = Drive::new(OpsConfig::default());
        drive.evaluator.resume(Signal::FailedLogins, START);
        drive.failed_logins = Some(50);
        drive.tick(10);
        assert!(drive.events.is_empty(), "{:?}", drive.events);
        drive.failed_logins = Some(0);
        drive.tick(5);
        assert_eq!(drive.kinds(Signal::FailedLogins), [Recovery]);
        assert_eq!(drive.events[0].since, START);
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(bytes(512 * 1024 * 1024), "512 MiB");
        assert_eq!(bytes(3 * 512 * 1024 * 1024), "1.5 GiB");
    }
}
