//! The batching writer: results, runtimes and state changes arrive one by one and are written in
//! one transaction per batch, at least every `flush_interval`, so a result taken by the scheduler is
//! durable within a second. A state change is written at once (with its runtime) instead of waiting
//! for the interval, and a committed change rings `wake` so the alert dispatcher claims its
//! notifications without waiting for its poll. While the database is away items wait in a bounded
//! buffer and are written, in order, when it returns. In a cluster every batch is fenced: written
//! only while this instance still holds the shards of its monitors, and rows of a shard it lost are
//! dropped, since the new owner re-derives the state from what was written before.

use crate::cluster::Membership;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use watchtower_core::MonitorId;
use watchtower_core::cluster::ShardId;
use watchtower_store::{
    ChangeRecord, ClusterStore, ResultBatch, ResultRecord, RuntimeRecord, Store, StoreError,
};

/// One thing to persist.
#[derive(Debug, Clone)]
pub enum WriteItem {
    Result(ResultRecord),
    Change(ChangeRecord),
    Runtime(RuntimeRecord),
    /// In a cluster: these shards were lost (taken by another instance, or their lease ran out):
    /// what is buffered for their monitors was made under the old lease and is never written,
    /// even if this instance takes the shard again later with a new epoch.
    ShardsLost(Vec<ShardId>),
}

#[derive(Debug, Clone)]
pub struct WriterConfig {
    pub flush_interval: Duration,
    /// Results per transaction at most.
    pub max_batch: usize,
    /// Results held while the database is unavailable; the oldest are dropped beyond it (state
    /// changes never are).
    pub max_buffered_results: usize,
    /// How long the final flush at shutdown keeps retrying an unavailable database.
    pub shutdown_retry_for: Duration,
    /// Rung (`notify_one`) after each committed batch that wrote state changes: the alert
    /// dispatcher waits on the same `Notify`, so it claims new notifications at once.
    pub wake: Option<Arc<Notify>>,
    /// In a cluster: batches are written behind this instance's leases.
    pub fence: Option<WriterFence>,
}

/// What a clustered writer fences its batches with.
#[derive(Clone)]
pub struct WriterFence {
    pub membership: Arc<Membership>,
    pub cluster: Arc<dyn ClusterStore>,
}

impl std::fmt::Debug for WriterFence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterFence")
            .field("instance", self.membership.id())
            .finish()
    }
}

impl WriterFence {
    /// Writes what of `batch` this instance may still write: rows of shards no longer believed
    /// held are dropped first, and a shard the database says was lost is dropped and the rest
    /// tried again. Returns the batch as finally tried (for a retry after another failure).
    async fn write(
        &self,
        mut batch: ResultBatch,
        stats: &WriterStats,
    ) -> (ResultBatch, Result<(), StoreError>) {
        loop {
            let (fence, lost) = self.membership.fence_for(batch.monitors());
            if !lost.is_empty() {
                self.drop_lost(&mut batch, &lost, stats);
            }
            if batch.is_empty() {
                return (batch, Ok(()));
            }
            match self.cluster.record_fenced_batch(&fence, &batch).await {
                Err(StoreError::Fenced(lost)) => {
                    // The lease task sees the new owner in its next view and drops the shards.
                    tracing::warn!(
                        shards = lost.len(),
                        "the database refused a write for shards another instance took"
                    );
                    let lost = lost.into_iter().collect();
                    self.drop_lost(&mut batch, &lost, stats);
                }
                outcome => return (batch, outcome),
            }
        }
    }

    fn drop_lost(
        &self,
        batch: &mut ResultBatch,
        lost: &std::collections::BTreeSet<watchtower_core::cluster::ShardId>,
        stats: &WriterStats,
    ) {
        let before = batch.results.len();
        let changes = batch.changes.len();
        batch.retain_monitors(|monitor| !lost.contains(&self.membership.shard_of(monitor)));
        let dropped = before - batch.results.len();
        stats
            .fenced_results
            .fetch_add(dropped as u64, Ordering::Relaxed);
        metrics::counter!("watchtower_fenced_results_total").increment(dropped as u64);
        tracing::info!(
            results = dropped,
            changes = changes - batch.changes.len(),
            shards = lost.len(),
            "dropped rows of shards this instance no longer holds"
        );
    }
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            flush_interval: Duration::from_millis(250),
            max_batch: 5_000,
            max_buffered_results: 500_000,
            shutdown_retry_for: Duration::from_secs(10),
            wake: None,
            fence: None,
        }
    }
}

/// Figures about the writer, shared with the health endpoint.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub healthy: AtomicBool,
    pub buffered_results: AtomicU64,
    pub written_results: AtomicU64,
    pub dropped_results: AtomicU64,
    pub failed_writes: AtomicU64,
    /// Committed batches that held state changes: a reader that shows states (a public status
    /// page's cache) compares it with the value it rendered at.
    pub state_change_batches: AtomicU64,
    /// Results not written because their shard moved to another instance first.
    pub fenced_results: AtomicU64,
}

/// The running writer.
pub struct WriterHandle {
    join: JoinHandle<()>,
    pub stats: Arc<WriterStats>,
}

impl WriterHandle {
    /// Waits until every item sent before all senders were dropped is written (or given up on).
    pub async fn finish(self) {
        if let Err(error) = self.join.await {
            tracing::error!(%error, "result writer stopped abnormally");
        }
    }
}

/// Starts result writers.
pub struct ResultWriter;

impl ResultWriter {
    /// Starts the writer; it runs until every sender of the returned channel is dropped.
    pub fn start(
        store: Arc<dyn Store>,
        config: WriterConfig,
    ) -> (mpsc::Sender<WriteItem>, WriterHandle) {
        let (sender, receiver) = mpsc::channel(65_536);
        let stats = Arc::new(WriterStats {
            healthy: AtomicBool::new(true),
            ..WriterStats::default()
        });
        let join = tokio::spawn(run(store, config, receiver, stats.clone()));
        (sender, WriterHandle { join, stats })
    }
}

/// Items collected since the last write, with runtimes reduced to the latest per monitor.
#[derive(Default)]
struct Pending {
    results: Vec<ResultRecord>,
    changes: Vec<ChangeRecord>,
    runtimes: HashMap<MonitorId, RuntimeRecord>,
    /// Monitors with a pending change whose runtime (sent right after it) has not arrived yet.
    awaiting_runtime: HashSet<MonitorId>,
}

impl Pending {
    fn add(&mut self, item: WriteItem) {
        match item {
            WriteItem::Result(result) => self.results.push(result),
            WriteItem::Change(change) => {
                self.awaiting_runtime.insert(change.monitor_id);
                self.changes.push(change);
            }
            WriteItem::Runtime(runtime) => {
                self.awaiting_runtime.remove(&runtime.monitor_id);
                self.runtimes.insert(runtime.monitor_id, runtime);
            }
            // Handled by the loop, which knows the shards (`forget_lost`).
            WriteItem::ShardsLost(_) => {}
        }
    }

    /// Drops every buffered row of the monitors `lost` says; returns how many results.
    fn forget(&mut self, lost: impl Fn(MonitorId) -> bool) -> usize {
        let before = self.results.len();
        self.results.retain(|result| !lost(result.monitor_id));
        self.changes.retain(|change| !lost(change.monitor_id));
        self.runtimes.retain(|monitor, _| !lost(*monitor));
        self.awaiting_runtime.retain(|monitor| !lost(*monitor));
        before - self.results.len()
    }

    fn is_empty(&self) -> bool {
        self.results.is_empty() && self.changes.is_empty() && self.runtimes.is_empty()
    }

    /// Holds state changes that can be written now: each with the runtime the scheduler sends
    /// right after it, so the change and the monitor's new state share a transaction.
    fn has_complete_changes(&self) -> bool {
        !self.changes.is_empty() && self.awaiting_runtime.is_empty()
    }

    /// Puts a failed batch back in front of what arrived since, keeping the order of changes.
    fn requeue(&mut self, failed: ResultBatch) {
        let newer_results = std::mem::replace(&mut self.results, failed.results);
        self.results.extend(newer_results);
        let newer_changes = std::mem::replace(&mut self.changes, failed.changes);
        self.changes.extend(newer_changes);
        for runtime in failed.runtimes {
            self.runtimes.entry(runtime.monitor_id).or_insert(runtime);
        }
    }

    /// Takes up to `max` results (and every change and runtime) as one batch.
    fn take_batch(&mut self, max: usize) -> ResultBatch {
        let results = if self.results.len() > max {
            let rest = self.results.split_off(max);
            std::mem::replace(&mut self.results, rest)
        } else {
            std::mem::take(&mut self.results)
        };
        // Every change goes into this batch: none is waiting any more.
        self.awaiting_runtime.clear();
        ResultBatch {
            results,
            changes: std::mem::take(&mut self.changes),
            runtimes: std::mem::take(&mut self.runtimes).into_values().collect(),
        }
    }

    /// Drops the oldest results beyond `max`; returns how many.
    fn enforce_bound(&mut self, max: usize) -> usize {
        let excess = self.results.len().saturating_sub(max);
        self.results.drain(..excess);
        excess
    }
}

type WriteTask = JoinHandle<(ResultBatch, Result<(), StoreError>)>;

async fn run(
    store: Arc<dyn Store>,
    config: WriterConfig,
    mut receiver: mpsc::Receiver<WriteItem>,
    stats: Arc<WriterStats>,
) {
    let mut pending = Pending::default();
    let mut in_flight: Option<WriteTask> = None;
    let mut open = true;
    let mut consecutive_failures = 0u32;
    let mut retry_at = Instant::now();
    let mut last_flush = Instant::now();
    let mut closed_at: Option<Instant> = None;
    // Shards lost while a batch was being written: a failed batch comes back without their rows.
    let mut lost_during_write: std::collections::BTreeSet<ShardId> = Default::default();
    let mut ticker = tokio::time::interval(config.flush_interval / 2);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);

    loop {
        tokio::select! {
            biased;
            finished = async { in_flight.as_mut().expect("guarded").await }, if in_flight.is_some() => {
                in_flight = None;
                let lost_meanwhile = std::mem::take(&mut lost_during_write);
                let (mut batch, outcome) = finished.unwrap_or_else(|error| {
                    (ResultBatch::default(), Err(StoreError::Unavailable(format!("write task failed: {error}"))))
                });
                match outcome {
                    Ok(()) => {
                        consecutive_failures = 0;
                        stats.healthy.store(true, Ordering::Relaxed);
                        stats.written_results.fetch_add(batch.results.len() as u64, Ordering::Relaxed);
                        if !batch.changes.is_empty() {
                            stats.state_change_batches.fetch_add(1, Ordering::Release);
                            if let Some(wake) = &config.wake {
                                wake.notify_one();
                            }
                        }
                    }
                    Err(error) => {
                        consecutive_failures += 1;
                        stats.healthy.store(false, Ordering::Relaxed);
                        stats.failed_writes.fetch_add(1, Ordering::Relaxed);
                        let backoff = Duration::from_millis(100 * 2u64.pow(consecutive_failures.min(6)));
                        tracing::warn!(%error, results = batch.results.len(), retry_in_ms = backoff.as_millis() as u64,
                            "writing results failed; keeping them to retry");
                        retry_at = Instant::now() + backoff;
                        if let Some(fence) = &config.fence {
                            batch.retain_monitors(|monitor| !lost_meanwhile.contains(&fence.membership.shard_of(monitor)));
                        }
                        pending.requeue(batch);
                    }
                }
            }
            item = receiver.recv(), if open => match item {
                Some(WriteItem::ShardsLost(shards)) => {
                    if let Some(fence) = &config.fence {
                        let membership = &fence.membership;
                        let dropped = pending.forget(|monitor| shards.contains(&membership.shard_of(monitor)));
                        stats.fenced_results.fetch_add(dropped as u64, Ordering::Relaxed);
                        if in_flight.is_some() {
                            lost_during_write.extend(shards);
                        }
                    }
                }
                Some(item) => pending.add(item),
                None => {
                    open = false;
                    closed_at = Some(Instant::now());
                }
            },
            _ = ticker.tick() => {}
        }

        let dropped = pending.enforce_bound(config.max_buffered_results);
        if dropped > 0 {
            stats
                .dropped_results
                .fetch_add(dropped as u64, Ordering::Relaxed);
            tracing::error!(
                dropped,
                "result buffer full while the database is unavailable; oldest results dropped"
            );
        }
        stats
            .buffered_results
            .store(pending.results.len() as u64, Ordering::Relaxed);

        let now = Instant::now();
        let due = pending.results.len() >= config.max_batch
            || pending.has_complete_changes()
            || now.duration_since(last_flush) >= config.flush_interval
            || !open;
        if in_flight.is_none() && !pending.is_empty() && due && now >= retry_at {
            let batch = pending.take_batch(config.max_batch);
            let (store, fence, stats) = (store.clone(), config.fence.clone(), stats.clone());
            last_flush = now;
            in_flight = Some(tokio::spawn(async move {
                match fence {
                    Some(fence) => fence.write(batch, &stats).await,
                    None => {
                        let outcome = store.record_batch(&batch).await;
                        (batch, outcome)
                    }
                }
            }));
        }

        if !open && in_flight.is_none() {
            let gave_up = closed_at.is_some_and(|at| at.elapsed() > config.shutdown_retry_for);
            if pending.is_empty() || gave_up {
                if gave_up {
                    tracing::error!(
                        results = pending.results.len(),
                        changes = pending.changes.len(),
                        "database still unavailable at shutdown; these were not written"
                    );
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watchtower_core::{MonitorRuntime, StateChange, TeamId, Timestamp};

    fn change(monitor: i64) -> WriteItem {
        WriteItem::Change(ChangeRecord {
            team_id: TeamId::DEFAULT,
            monitor_id: MonitorId(monitor),
            change: StateChange {
                from: watchtower_core::MonitorState::Up,
                to: watchtower_core::MonitorState::Down,
                at: Timestamp(1),
                opens_incident: true,
                resolves_incident: false,
                cause: "refused".into(),
                error_class: None,
            },
            outcome: None,
        })
    }

    fn runtime(monitor: i64) -> WriteItem {
        WriteItem::Runtime(RuntimeRecord {
            monitor_id: MonitorId(monitor),
            runtime: MonitorRuntime::new(Timestamp(1)),
        })
    }

    #[test]
    fn changes_are_complete_once_each_has_its_runtime() {
        let mut pending = Pending::default();
        assert!(!pending.has_complete_changes());
        pending.add(runtime(1));
        assert!(
            !pending.has_complete_changes(),
            "a runtime alone is no change"
        );
        pending.add(change(1));
        pending.add(change(2));
        assert!(!pending.has_complete_changes());
        pending.add(runtime(2));
        assert!(
            !pending.has_complete_changes(),
            "monitor 1's runtime came before"
        );
        pending.add(runtime(1));
        assert!(pending.has_complete_changes());
        let batch = pending.take_batch(10);
        assert_eq!((batch.changes.len(), batch.runtimes.len()), (2, 2));
        assert!(!pending.has_complete_changes());
        // A batch taken on the interval before a runtime came leaves nothing waiting.
        pending.add(change(3));
        let batch = pending.take_batch(10);
        assert_eq!(batch.changes.len(), 1);
        pending.add(change(4));
        pending.add(runtime(4));
        assert!(pending.has_complete_changes());
    }
}
