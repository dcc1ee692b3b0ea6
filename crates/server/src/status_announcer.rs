//! Tells status page subscribers when maintenance begins: every half minute it looks at the
//! pages with confirmed subscribers, and for each maintenance window of a page's monitors that
//! opened within the last quarter hour queues one message per subscriber who follows one of its
//! components, at once when a window is written (`announcer_wake`)
//! (`StatusSubscriberStore::enqueue_maintenance`, keyed by window and opening, so
//! looking again, or another instance looking, queues nothing twice). An opening missed for
//! longer, while WatchTower was down, is not announced late. Once an hour it also deletes
//! unconfirmed sign-ups whose link expired and messages finished a month ago.

use crate::AppState;
use crate::web::status::posts::covered_components;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use watchtower_core::Timestamp;
use watchtower_store::{MaintenanceNotice, StoreError};

/// How often openings are looked for.
pub const EVERY: Duration = Duration::from_secs(30);
/// How late an opening may still be announced.
pub const LOOKBACK: Duration = Duration::from_secs(15 * 60);

/// How often unconfirmed sign-ups past their link's life, and messages finished more than
/// [`KEEP_FINISHED`] ago, are deleted.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// How long a delivered or failed message is kept (for the team to look into).
pub const KEEP_FINISHED: Duration = Duration::from_secs(30 * 86_400);
/// How long an unconfirmed sign-up is kept: its confirmation link's life.
pub const KEEP_UNCONFIRMED: Duration = Duration::from_secs(7 * 86_400);

/// Starts the loop; it stops when `stop` is cancelled.
pub fn start(state: AppState, stop: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_prune: Option<tokio::time::Instant> = None;
        loop {
            let now = Timestamp::now();
            if let Err(error) = announce(&state, now).await {
                tracing::warn!(%error, "cannot announce maintenance to status page subscribers; will retry");
            }
            if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                last_prune = Some(tokio::time::Instant::now());
                let pruned = state
                    .store
                    .prune_status_subscribers(now.minus(KEEP_UNCONFIRMED), now.minus(KEEP_FINISHED))
                    .await;
                if let Err(error) = pruned {
                    tracing::warn!(%error, "cannot prune status page subscribers; will retry");
                }
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(EVERY) => {}
                _ = state.announcer_wake.notified() => {}
            }
        }
    })
}

/// Queues the messages of the openings under way at `now`; returns how many were queued.
pub async fn announce(state: &AppState, now: Timestamp) -> Result<u64, StoreError> {
    let store = state.store.as_ref();
    let mut queued = 0;
    for (team, page) in store.pages_with_subscribers().await? {
        let Some(page) = store.get_status_page(team, page).await? else {
            continue;
        };
        let listings = store
            .monitor_listings(team, &page.spec.monitor_ids())
            .await?;
        if listings.is_empty() {
            continue;
        }
        let components: Vec<_> = page.spec.components().collect();
        for window in store.maintenance_windows(team).await? {
            let Some((starts_at, ends_at)) = window.spec.opening_at(now) else {
                continue;
            };
            if starts_at < now.minus(LOOKBACK) {
                continue;
            }
            let names = covered_components(&window, &listings, &components);
            if names.is_empty() {
                continue;
            }
            let notice = MaintenanceNotice {
                window_id: window.id,
                name: window.spec.name.clone(),
                starts_at,
                ends_at,
                components: names.into_iter().map(str::to_owned).collect(),
            };
            queued += store.enqueue_maintenance(page.id, &notice, now).await?;
        }
    }
    if queued > 0 {
        state.subscriber_wake.notify_one();
    }
    Ok(queued)
}
