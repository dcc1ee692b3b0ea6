//! The history chores: every minute, roll finished minutes, hours and days into rollups, and
//! prune what is past its retention: the instance's for everyone, then each plan's for the teams
//! on it.

use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use watchtower_core::Plan;
use watchtower_store::{Retention, Store};

use crate::clock::Clock;

/// Starts the chore loop; it stops when `stop` is cancelled.
pub fn start(
    store: Arc<dyn Store>,
    clock: Clock,
    retention: Retention,
    plan_retention: Vec<(Plan, Duration)>,
    every: Duration,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let now = clock.now();
            match store.roll_up(now).await {
                Ok(report) => tracing::debug!(?report, "rolled up history"),
                Err(error) => tracing::warn!(%error, "rolling up history failed; will retry"),
            }
            match store.prune(now, &retention).await {
                Ok(report) if report.raw_results + report.rollups > 0 => {
                    tracing::info!(?report, "pruned history");
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "pruning history failed; will retry"),
            }
            for (plan, keep) in &plan_retention {
                match store.prune_plan(now, *plan, *keep).await {
                    Ok(report) if report.raw_results + report.rollups > 0 => {
                        tracing::info!(
                            ?report,
                            plan = plan.as_str(),
                            "pruned history past the plan's retention"
                        );
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "pruning by plan failed; will retry"),
                }
            }
        }
    })
}
