//! What `serve`'s scheduled backups last did, shared between the backup task (which records)
//! and `/api/health` and `/metrics` (which show it). Paths and error texts stay in the log: the
//! health answer is public.

use serde::Serialize;
use std::sync::Mutex;
use std::time::Duration;
use watchtower_core::Timestamp;

/// The scheduled backups' latest outcome.
#[derive(Debug)]
pub struct BackupStatus {
    every: Duration,
    record: Mutex<Record>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Record {
    last_attempt: Option<Timestamp>,
    last_ok: Option<bool>,
    last_success: Option<Timestamp>,
    last_success_bytes: Option<u64>,
    kept: u64,
}

/// The `backups` part of `/api/health`.
#[derive(Debug, Serialize)]
pub(crate) struct BackupReport {
    every_seconds: u64,
    last_attempt_at: Option<Timestamp>,
    /// `ok`, `failed`, or `none` before the first attempt.
    last_result: &'static str,
    last_success_at: Option<Timestamp>,
    last_success_age_seconds: Option<u64>,
    last_success_bytes: Option<u64>,
    /// Scheduled backups in the folder after retention.
    kept: u64,
    /// No good backup within two periods.
    stale: bool,
}

impl BackupStatus {
    /// Backups every `every`.
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            record: Mutex::new(Record::default()),
        }
    }

    /// What the folder held at start: the newest backup there (by its name) and how many.
    pub fn found_at_start(&self, newest: Option<(Timestamp, u64)>, kept: u64) {
        let mut record = self.lock();
        record.last_success = newest.map(|(at, _)| at);
        record.last_success_bytes = newest.map(|(_, bytes)| bytes);
        record.kept = kept;
    }

    /// A backup taken at `at`, `bytes` long; `kept` files remain after retention.
    pub fn succeeded(&self, at: Timestamp, bytes: u64, kept: u64) {
        metrics::counter!("watchtower_backups_total", "result" => "ok").increment(1);
        let mut record = self.lock();
        *record = Record {
            last_attempt: Some(at),
            last_ok: Some(true),
            last_success: Some(at),
            last_success_bytes: Some(bytes),
            kept,
        };
    }

    /// A backup attempted at `at` failed (the cause is logged by the caller).
    pub fn failed(&self, at: Timestamp) {
        metrics::counter!("watchtower_backups_total", "result" => "failed").increment(1);
        let mut record = self.lock();
        record.last_attempt = Some(at);
        record.last_ok = Some(false);
    }

    /// The backup period.
    pub fn every(&self) -> Duration {
        self.every
    }

    /// The last good backup's time.
    pub fn last_success(&self) -> Option<Timestamp> {
        self.lock().last_success
    }

    pub(crate) fn report(&self, now: Timestamp) -> BackupReport {
        let record = *self.lock();
        let age = record.last_success.map(|at| now.since(at));
        BackupReport {
            every_seconds: self.every.as_secs(),
            last_attempt_at: record.last_attempt,
            last_result: match record.last_ok {
                Some(true) => "ok",
                Some(false) => "failed",
                None => "none",
            },
            last_success_at: record.last_success,
            last_success_age_seconds: age.map(|age| age.as_secs()),
            last_success_bytes: record.last_success_bytes,
            kept: record.kept,
            stale: age.is_none_or(|age| age > self.every * 2),
        }
    }

    /// Sets the backup gauges for a scrape.
    pub(crate) fn export_metrics(&self, now: Timestamp) {
        let record = *self.lock();
        if let Some(at) = record.last_success {
            metrics::gauge!("watchtower_backup_last_success_timestamp_seconds")
                .set(at.as_millis() as f64 / 1000.0);
            metrics::gauge!("watchtower_backup_last_success_age_seconds")
                .set(now.since(at).as_secs_f64());
        }
        if let Some(ok) = record.last_ok {
            metrics::gauge!("watchtower_backup_last_result").set(if ok { 1.0 } else { 0.0 });
        }
        metrics::gauge!("watchtower_backups_kept").set(record.kept as f64);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
