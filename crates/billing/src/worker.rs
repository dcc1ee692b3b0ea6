//! The billing worker: processes the recorded deliveries that are due, oldest event first, retries
//! a failed one with backoff (it stays `pending` until then, `failed` after the last attempt),
//! and lapses memberships whose grace period passed. `run_once` is one pass on the processor's
//! clock, so tests drive it without waiting.

use crate::process::Processor;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use watchtower_store::StoreError;

/// The worker's timing.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// How often due deliveries and grace deadlines are looked for.
    pub poll_interval: Duration,
    /// Attempts before a delivery is marked `failed`.
    pub max_attempts: u32,
    /// The wait after the first failed attempt, doubled after each next one (at most an hour).
    pub first_backoff: Duration,
    /// Rung by the webhook route after recording, so processing starts at once.
    pub wake: Arc<Notify>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(5),
            max_attempts: 10,
            first_backoff: Duration::from_secs(10),
            wake: Arc::new(Notify::new()),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    pub finished: usize,
    pub retried: usize,
    pub lapsed: usize,
}

/// One pass: every due delivery, then the grace sweep.
pub async fn run_once(
    processor: &Processor,
    config: &WorkerConfig,
) -> Result<PassReport, StoreError> {
    let mut report = PassReport::default();
    let now = processor.clock.now();
    let due = processor.store.due_whop_deliveries(now, 100).await?;
    for delivery in due {
        match processor.process(&delivery).await {
            Ok(outcome) => {
                processor
                    .store
                    .finish_whop_delivery(
                        delivery.id,
                        outcome.state,
                        &outcome.note,
                        outcome.team,
                        processor.clock.now(),
                    )
                    .await?;
                tracing::info!(delivery = %delivery.delivery_id, event = %delivery.event_type, state = outcome.state.as_str(), outcome = %outcome.note, "Whop delivery processed");
                report.finished += 1;
            }
            Err(error) => {
                let attempt = u32::try_from(delivery.attempts + 1).unwrap_or(u32::MAX);
                let retry_at = (attempt < config.max_attempts).then(|| {
                    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
                    let wait = config
                        .first_backoff
                        .saturating_mul(factor)
                        .min(Duration::from_secs(3600));
                    processor.clock.now().plus(wait)
                });
                tracing::warn!(delivery = %delivery.delivery_id, attempt, %error, gives_up = retry_at.is_none(), "processing a Whop delivery failed");
                processor
                    .store
                    .retry_whop_delivery(delivery.id, &error.to_string(), retry_at)
                    .await?;
                report.retried += 1;
            }
        }
    }
    match processor.lapse_due().await {
        Ok(lapsed) => report.lapsed = lapsed,
        Err(error) => tracing::warn!(%error, "the Whop grace sweep failed; it runs again"),
    }
    Ok(report)
}

/// Runs passes until `stop`: every `poll_interval`, and at once when `wake` rings.
pub fn start(
    processor: Arc<Processor>,
    config: WorkerConfig,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(error) = run_once(&processor, &config).await {
                tracing::warn!(%error, "the Whop billing worker could not read its queue");
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = config.wake.notified() => {}
                () = tokio::time::sleep(config.poll_interval) => {}
            }
        }
    })
}
