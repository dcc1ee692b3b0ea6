//! Live scheduler figures for `/api/health`: checks per second and schedule lag percentiles over
//! the last minute, kept in one bucket per second, and the monitors that could not be loaded.

use serde::Serialize;
use std::collections::{BTreeSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;
use watchtower_core::{MonitorId, Timestamp};

const WINDOW_SECONDS: i64 = 60;
/// Lag samples kept per second; beyond it samples are thinned (every other one kept).
const MAX_SAMPLES_PER_SECOND: usize = 4096;

#[derive(Debug, Default)]
struct SecondBucket {
    second: i64,
    completed: u64,
    /// Of `completed`, the checks that found the target working (up or degraded).
    succeeded: u64,
    lag_ms: Vec<u32>,
    seen: u64,
}

/// Counters shared between the scheduler and the health endpoint.
#[derive(Debug, Default)]
pub struct Stats {
    window: Mutex<VecDeque<SecondBucket>>,
    monitors: AtomicU64,
    checks_started: AtomicU64,
    checks_completed: AtomicU64,
    checks_skipped: AtomicU64,
    open_incidents: AtomicI64,
    /// Monitors whose stored spec could not be read at start-up, until replaced or deleted.
    broken: Mutex<BTreeSet<MonitorId>>,
}

/// Monitors that are stored but not scheduled because their spec cannot be read.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct BrokenMonitorStats {
    pub count: usize,
    pub ids: Vec<MonitorId>,
}

/// A snapshot of the scheduler's figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SchedulerStats {
    pub monitors: u64,
    pub checks_started: u64,
    pub checks_completed: u64,
    /// Slots skipped because the previous check of the same monitor was still running.
    pub checks_skipped: u64,
    pub open_incidents: i64,
    pub checks_per_second: f64,
    /// The share of the last minute's checks that found their target working (the operations
    /// guide's "monitor success rate"); none when no check completed.
    pub check_success_ratio: Option<f64>,
    pub lag_p50_ms: Option<u32>,
    pub lag_p99_ms: Option<u32>,
    pub lag_max_ms: Option<u32>,
    pub broken_monitors: BrokenMonitorStats,
}

impl Stats {
    pub(crate) fn set_monitors(&self, count: usize) {
        self.monitors.store(count as u64, Ordering::Relaxed);
    }

    /// Records the monitors that could not be loaded (the scheduler never sees them).
    pub fn set_broken_monitors(&self, ids: impl IntoIterator<Item = MonitorId>) {
        *self
            .broken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = ids.into_iter().collect();
    }

    /// A monitor was replaced with a readable spec, or deleted.
    pub(crate) fn forget_broken(&self, id: MonitorId) {
        self.broken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id);
    }

    pub(crate) fn record_start(&self, at: Timestamp, lag: Duration) {
        self.checks_started.fetch_add(1, Ordering::Relaxed);
        let lag_ms = lag.as_millis().min(u32::MAX as u128) as u32;
        metrics::histogram!("watchtower_scheduler_lag_seconds").record(lag.as_secs_f64());
        self.with_bucket(at, |bucket| {
            bucket.seen += 1;
            if bucket.lag_ms.len() < MAX_SAMPLES_PER_SECOND || bucket.seen % 2 == 0 {
                if bucket.lag_ms.len() >= MAX_SAMPLES_PER_SECOND {
                    let slot = (bucket.seen as usize / 2) % MAX_SAMPLES_PER_SECOND;
                    bucket.lag_ms[slot] = lag_ms;
                } else {
                    bucket.lag_ms.push(lag_ms);
                }
            }
        });
    }

    pub(crate) fn record_completion(&self, at: Timestamp, succeeded: bool) {
        self.checks_completed.fetch_add(1, Ordering::Relaxed);
        self.with_bucket(at, |bucket| {
            bucket.completed += 1;
            bucket.succeeded += u64::from(succeeded);
        });
    }

    pub(crate) fn adjust_open_incidents(&self, delta: i64) {
        self.open_incidents.fetch_add(delta, Ordering::Relaxed);
    }

    pub(crate) fn record_skip(&self) {
        self.checks_skipped.fetch_add(1, Ordering::Relaxed);
    }

    fn with_bucket(&self, at: Timestamp, update: impl FnOnce(&mut SecondBucket)) {
        let second = at.0.div_euclid(1000);
        let mut window = self
            .window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if window.back().is_none_or(|last| last.second < second) {
            window.push_back(SecondBucket {
                second,
                ..SecondBucket::default()
            });
        }
        while window
            .front()
            .is_some_and(|first| first.second <= second - WINDOW_SECONDS)
        {
            window.pop_front();
        }
        // Out-of-order seconds (a completion from just before a tick) go to the bucket they name.
        if let Some(bucket) = window
            .iter_mut()
            .rev()
            .find(|bucket| bucket.second <= second)
        {
            update(bucket);
        }
    }

    /// Figures over the minute before `now`.
    pub fn snapshot(&self, now: Timestamp) -> SchedulerStats {
        let now_second = now.0.div_euclid(1000);
        let window = self
            .window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let recent = window
            .iter()
            .filter(|b| b.second > now_second - WINDOW_SECONDS && b.second <= now_second);
        let mut lags: Vec<u32> = Vec::new();
        let mut completed = 0;
        let mut succeeded = 0;
        let mut first_second = now_second;
        for bucket in recent {
            completed += bucket.completed;
            succeeded += bucket.succeeded;
            lags.extend_from_slice(&bucket.lag_ms);
            first_second = first_second.min(bucket.second);
        }
        lags.sort_unstable();
        let percentile = |p: f64| -> Option<u32> {
            (!lags.is_empty()).then(|| lags[((lags.len() - 1) as f64 * p).round() as usize])
        };
        let span = (now_second - first_second + 1).clamp(1, WINDOW_SECONDS) as f64;
        SchedulerStats {
            monitors: self.monitors.load(Ordering::Relaxed),
            checks_started: self.checks_started.load(Ordering::Relaxed),
            checks_completed: self.checks_completed.load(Ordering::Relaxed),
            checks_skipped: self.checks_skipped.load(Ordering::Relaxed),
            open_incidents: self.open_incidents.load(Ordering::Relaxed),
            checks_per_second: completed as f64 / span,
            check_success_ratio: (completed > 0).then(|| succeeded as f64 / completed as f64),
            lag_p50_ms: percentile(0.50),
            lag_p99_ms: percentile(0.99),
            lag_max_ms: lags.last().copied(),
            broken_monitors: {
                let broken = self
                    .broken
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                BrokenMonitorStats {
                    count: broken.len(),
                    ids: broken.iter().copied().collect(),
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_cover_only_the_last_minute() {
        let stats = Stats::default();
        stats.record_start(Timestamp(0), Duration::from_millis(900));
        for i in 0..100 {
            let at = Timestamp(120_000 + i * 100);
            stats.record_start(at, Duration::from_millis(i as u64));
            stats.record_completion(at, i % 4 != 0);
        }
        let snapshot = stats.snapshot(Timestamp(130_000));
        assert_eq!(snapshot.lag_max_ms, Some(99));
        assert_eq!(snapshot.lag_p50_ms, Some(50));
        assert_eq!(snapshot.checks_started, 101);
        assert!(
            (snapshot.checks_per_second - 100.0 / 11.0).abs() < 0.01,
            "{snapshot:?}"
        );
        // Every fourth check failed.
        let ratio = snapshot.check_success_ratio.expect("checks completed");
        assert!((ratio - 0.75).abs() < 1e-9, "{ratio}");
        // A minute later nothing completed within the window: no ratio rather than 0 or 1.
        assert_eq!(stats.snapshot(Timestamp(300_000)).check_success_ratio, None);
    }
}
