//! What this instance holds, shared by the lease task that changes it, the engine that checks only
//! the monitors of its active shards, and the writer that fences each batch with their epochs.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use watchtower_core::MonitorId;
use watchtower_core::cluster::{Grant, HeldLeases, InstanceId, LeaseSettings, ShardId};
use watchtower_store::WriteFence;

/// This process's place in the cluster.
#[derive(Debug)]
pub struct Membership {
    me: InstanceId,
    settings: LeaseSettings,
    /// The monotonic clock leases are believed on: time since this start.
    started: Instant,
    state: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    /// The leases and their epochs, believed until shortly before the database's lease ends.
    leases: HeldLeases,
    /// The shards whose monitors the engine has: adopted and not dropped. A shard being given up
    /// leaves this set first and its lease a tick later, so its last results are still written.
    active: BTreeSet<ShardId>,
}

impl Membership {
    /// A new member with a fresh id: a restarted process never mistakes its previous life's leases
    /// for its own.
    pub fn new(settings: LeaseSettings) -> Arc<Self> {
        let host = std::env::var("HOSTNAME").unwrap_or_default();
        let me = InstanceId::new(format!(
            "{host}{}{}-{:08x}",
            if host.is_empty() { "" } else { ":" },
            std::process::id(),
            rand::random::<u32>()
        ));
        Arc::new(Self {
            me,
            settings,
            started: Instant::now(),
            state: Mutex::new(Held::default()),
        })
    }

    pub fn id(&self) -> &InstanceId {
        &self.me
    }

    pub fn settings(&self) -> &LeaseSettings {
        &self.settings
    }

    /// Now on the monotonic clock leases are believed on.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn shard_of(&self, monitor: MonitorId) -> ShardId {
        ShardId::of_monitor(monitor, self.settings.shard_count)
    }

    /// Whether this instance checks `monitor` now: its shard is active and its lease believed.
    pub fn checks(&self, monitor: MonitorId) -> bool {
        let shard = self.shard_of(monitor);
        let now = self.elapsed();
        let state = self.lock();
        state.active.contains(&shard) && state.leases.epoch_of(shard, now).is_some()
    }

    /// The fence for a write of `monitors`' rows, and the shards among them no longer believed
    /// held (their rows must not be written).
    pub fn fence_for(
        &self,
        monitors: impl IntoIterator<Item = MonitorId>,
    ) -> (WriteFence, BTreeSet<ShardId>) {
        let shards: BTreeSet<ShardId> = monitors.into_iter().map(|m| self.shard_of(m)).collect();
        let now = self.elapsed();
        let state = self.lock();
        let mut tokens = Vec::with_capacity(shards.len());
        let mut lost = BTreeSet::new();
        for shard in shards {
            match state.leases.epoch_of(shard, now) {
                Some(epoch) => tokens.push((shard, epoch)),
                None => {
                    lost.insert(shard);
                }
            }
        }
        (WriteFence::new(self.me.clone(), tokens), lost)
    }

    pub(crate) fn record(&self, sent_at: Duration, grants: &[Grant]) {
        self.lock().leases.record(sent_at, grants, &self.settings);
    }

    /// Forgets leases lost or released; their shards stop being active too.
    pub(crate) fn forget(&self, shards: &[ShardId]) {
        self.lock().leases.forget(shards.iter().copied());
        self.deactivate(shards);
    }

    pub(crate) fn activate(&self, shards: &[ShardId]) {
        self.lock().active.extend(shards.iter().copied());
    }

    pub(crate) fn deactivate(&self, shards: &[ShardId]) {
        let mut state = self.lock();
        for shard in shards {
            state.active.remove(shard);
        }
    }

    /// The leases believed held now, with their epochs.
    pub(crate) fn tokens(&self) -> Vec<(ShardId, watchtower_core::cluster::Epoch)> {
        let now = self.elapsed();
        self.lock().leases.tokens(now)
    }

    /// Active shards whose lease is no longer believed (a renewal could not reach the database
    /// in time): they leave the active set and are returned, for the engine to drop.
    pub(crate) fn expire_beliefs(&self) -> Vec<ShardId> {
        let now = self.elapsed();
        let mut state = self.lock();
        let ended: Vec<ShardId> = state
            .active
            .iter()
            .copied()
            .filter(|shard| state.leases.epoch_of(*shard, now).is_none())
            .collect();
        for shard in &ended {
            state.active.remove(shard);
        }
        ended
    }

    /// Leases believed held whose monitors the engine does not have (an adoption that failed, a
    /// renewal that landed after the belief had ended), apart from `excluding`.
    pub(crate) fn held_inactive(&self, excluding: &BTreeSet<ShardId>) -> Vec<ShardId> {
        let now = self.elapsed();
        let state = self.lock();
        state
            .leases
            .tokens(now)
            .into_iter()
            .map(|(shard, _)| shard)
            .filter(|shard| !state.active.contains(shard) && !excluding.contains(shard))
            .collect()
    }

    pub(crate) fn active_count(&self) -> usize {
        self.lock().active.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
