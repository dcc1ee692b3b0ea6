//! Scheduled database care inside `serve`: the maintenance of `watchtower db maintain` (ANALYZE,
//! VACUUM or incremental vacuum, optimize; `Store::maintain`) in a weekly window, by default the
//! operations guide's Sunday 02:00–04:00 UTC, and after a large monitors-file apply. Every run
//! is claimed in the database first (`database_care_runs`, keyed by its slot: the window's
//! opening, or the apply), so several instances on one PostgreSQL run it once per window.
//!
//! [`run_window_if_open`] and [`run_after_apply`] take the instant from their caller, so tests
//! walk through weeks on a test clock; `start` is the task that calls them on the builder's
//! clock.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use watchtower_core::maintenance::{MaintenanceSpec, WindowSchedule};
use watchtower_core::{HumanDuration, Timestamp};
use watchtower_scheduler::Clock;
use watchtower_store::{Store, StoreError};

/// A monitors-file apply that creates, changes or deletes at least this many monitors is
/// "large": enough new rows that the planner's statistics are stale (issue 5 measured the
/// 10,000-monitor list plan going from 54 ms to 3.3 ms after ANALYZE).
pub const LARGE_APPLY: usize = 1_000;

/// When `serve` runs database care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareSettings {
    /// The weekly window as a UTC cron pattern and its length; `None` turns the window off.
    pub window: Option<CareWindow>,
    /// Run after a monitors-file apply that changed at least this many monitors; `None` never.
    pub after_apply: Option<usize>,
}

/// A recurring window: opens at each `cron` occurrence (UTC) and stays open `length`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareWindow {
    pub cron: String,
    pub length: Duration,
}

impl Default for CareSettings {
    /// The operations guide's weekly window, Sunday 2–4 AM UTC, and [`LARGE_APPLY`].
    fn default() -> Self {
        Self {
            window: Some(CareWindow {
                cron: "0 2 * * SUN".into(),
                length: Duration::from_secs(2 * 3600),
            }),
            after_apply: Some(LARGE_APPLY),
        }
    }
}

impl CareWindow {
    /// Checks a cron pattern and a length (`--db-maintenance-window`, `--db-maintenance-length`).
    pub fn parse(cron: &str, length: Duration) -> Result<Self, String> {
        if let Err(error) = cron.parse::<croner::Cron>() {
            return Err(format!("'{cron}' is not a cron pattern: {error}"));
        }
        if length.is_zero() {
            return Err("the window's length must be longer than 0s".into());
        }
        Ok(Self {
            cron: cron.to_owned(),
            length,
        })
    }

    /// The same recurring window the maintenance windows of teams use, in UTC.
    fn spec(&self) -> MaintenanceSpec {
        MaintenanceSpec {
            name: "database care".into(),
            monitors: Vec::new(),
            tag: None,
            schedule: WindowSchedule::Recurring {
                cron: self.cron.clone(),
                duration: HumanDuration(self.length),
                timezone: "UTC".into(),
            },
        }
    }

    /// The opening of the window open at `now`, if one is.
    pub fn open_at(&self, now: Timestamp) -> Option<Timestamp> {
        let closes = self.spec().open_until(now)?;
        Some(closes.minus(self.length))
    }

    /// The next opening after `now`.
    pub fn next_opening(&self, now: Timestamp) -> Option<Timestamp> {
        self.spec()
            .next_openings(now, 1)
            .first()
            .map(|(opens, _)| *opens)
    }
}

/// What one call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CareRun {
    /// This instance claimed the slot and ran the maintenance (`ok` or the error).
    Ran { slot: String, outcome: String },
    /// Another instance (or this one, earlier) has the slot.
    AlreadyClaimed { slot: String },
    /// No window is open.
    NotDue,
}

/// Runs the maintenance if the window is open at `now` and nobody ran it in this window yet.
pub async fn run_window_if_open(
    store: &dyn Store,
    window: &CareWindow,
    instance: &str,
    now: Timestamp,
) -> Result<CareRun, StoreError> {
    let Some(opened) = window.open_at(now) else {
        return Ok(CareRun::NotDue);
    };
    let slot = format!("window:{}", opened.to_jiff());
    run_slot(store, slot, instance, now).await
}

/// Runs the maintenance after an apply that changed `changed` monitors, when that is at least
/// `threshold`. The slot names the apply's instant and instance: one run per apply.
pub async fn run_after_apply(
    store: &dyn Store,
    changed: usize,
    threshold: usize,
    instance: &str,
    now: Timestamp,
) -> Result<CareRun, StoreError> {
    if changed < threshold {
        return Ok(CareRun::NotDue);
    }
    let slot = format!("apply:{instance}:{}", now.to_jiff());
    run_slot(store, slot, instance, now).await
}

async fn run_slot(
    store: &dyn Store,
    slot: String,
    instance: &str,
    now: Timestamp,
) -> Result<CareRun, StoreError> {
    if !store.claim_care_run(&slot, instance, now).await? {
        return Ok(CareRun::AlreadyClaimed { slot });
    }
    tracing::info!(%slot, "database care: running ANALYZE and VACUUM");
    let started = std::time::Instant::now();
    let outcome = match store.maintain(false).await {
        Ok(report) => {
            tracing::info!(%slot, steps = report.steps.len(), seconds = started.elapsed().as_secs_f64(), "database care done");
            "ok".to_owned()
        }
        Err(error) => {
            tracing::error!(%slot, %error, "database care failed");
            format!("failed: {error}")
        }
    };
    let finished = now.plus(started.elapsed());
    store.finish_care_run(&slot, &outcome, finished).await?;
    Ok(CareRun::Ran { slot, outcome })
}

/// Tells the care task about a monitors-file apply (at start or on SIGHUP).
#[derive(Debug, Clone)]
pub struct CareTrigger(mpsc::UnboundedSender<usize>);

impl CareTrigger {
    /// `changed`: monitors the apply created, changed or deleted.
    pub fn applied(&self, changed: usize) {
        let _ = self.0.send(changed);
    }
}

/// A claim the database could not answer is tried again this long after (within the window).
/// A claimed run that fails is recorded as failed and not run again in that slot: the next
/// window (or large apply) runs it.
const RETRY_AFTER: Duration = Duration::from_secs(300);

/// Starts the care task: at each window's opening (or at start, inside one) and after each
/// large apply it runs the maintenance once per slot; it stops when `stop` is cancelled.
pub(crate) fn start(
    store: Arc<dyn Store>,
    settings: CareSettings,
    instance: String,
    clock: Clock,
    stop: CancellationToken,
) -> (CareTrigger, JoinHandle<()>) {
    let (sender, mut applies) = mpsc::unbounded_channel::<usize>();
    let task = tokio::spawn(async move {
        loop {
            let now = clock.now();
            let mut wait = Duration::from_secs(24 * 3600);
            if let Some(window) = &settings.window {
                match run_window_if_open(store.as_ref(), window, &instance, now).await {
                    Ok(_) => {
                        if let Some(next) = window.next_opening(clock.now()) {
                            wait = next.since(clock.now()).min(wait);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "database care: cannot claim the window; will retry");
                        wait = RETRY_AFTER;
                    }
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(wait.max(Duration::from_millis(1))) => {}
                Some(changed) = applies.recv() => {
                    let Some(threshold) = settings.after_apply else { continue };
                    if let Err(error) =
                        run_after_apply(store.as_ref(), changed, threshold, &instance, clock.now()).await
                    {
                        tracing::warn!(%error, "database care after an apply failed");
                    }
                }
            }
        }
    });
    (CareTrigger(sender), task)
}
