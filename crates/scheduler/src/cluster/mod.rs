//! Several instances sharing the checks on one PostgreSQL (issue 15; `docs/SCALING.md`). The lease
//! task beats this instance's heartbeat every tick, applies `plan_leases` to the database's view,
//! hands the monitors of each shard it gains to the engine with their stored state, and takes back
//! those of each shard it loses. A second task applies the changes other instances publish for
//! monitors this one checks.

mod membership;
mod relay;

pub use membership::Membership;
pub(crate) use relay::RelayMessage;

use crate::SchedulerHandle;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use watchtower_core::cluster::{ClusterView, Epoch, ShardId, plan_leases};
use watchtower_store::{ClusterStore, Store, StoreError};

/// The lease task's phases: `Draining` once shutdown begins (keep renewing what is held so the
/// last results can be written, claim nothing), `Stopped` to release everything and leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    Draining,
    Stopped,
}

/// The running lease and relay tasks.
pub struct ClusterHandle {
    phase: watch::Sender<Phase>,
    leases: JoinHandle<()>,
    relay: JoinHandle<()>,
}

impl ClusterHandle {
    /// Shutdown began: claim no more shards, keep the held ones until [`ClusterHandle::stop`].
    pub fn drain(&self) {
        let _ = self.phase.send(Phase::Draining);
    }

    /// Releases every lease and leaves, so the others take the shards on their next tick. Call
    /// after the writer's final flush.
    pub async fn stop(self) {
        let _ = self.phase.send(Phase::Stopped);
        if let Err(error) = self.leases.await {
            tracing::error!(%error, "the lease task stopped abnormally");
        }
        self.relay.abort();
    }
}

/// Starts the cluster tasks for an engine started with `membership`.
pub struct Cluster;

impl Cluster {
    pub fn start(
        store: Arc<dyn Store>,
        cluster: Arc<dyn ClusterStore>,
        membership: Arc<Membership>,
        scheduler: SchedulerHandle,
    ) -> ClusterHandle {
        let (phase, phase_receiver) = watch::channel(Phase::Running);
        tracing::info!(instance = %membership.id(), "joining the cluster");
        let leases = tokio::spawn(
            LeaseTask {
                store: store.clone(),
                cluster: cluster.clone(),
                membership: membership.clone(),
                scheduler: scheduler.clone(),
                giving_up: Vec::new(),
                failing_since: None,
            }
            .run(phase_receiver),
        );
        let relay = tokio::spawn(apply_relayed(store, cluster, membership, scheduler));
        ClusterHandle {
            phase,
            leases,
            relay,
        }
    }
}

struct LeaseTask {
    store: Arc<dyn Store>,
    cluster: Arc<dyn ClusterStore>,
    membership: Arc<Membership>,
    scheduler: SchedulerHandle,
    /// Shards taken from the engine last tick, released this tick: a tick is time enough for the
    /// writer to write their last results under the lease.
    giving_up: Vec<(ShardId, Epoch)>,
    failing_since: Option<tokio::time::Instant>,
}

impl LeaseTask {
    async fn run(mut self, mut phase: watch::Receiver<Phase>) {
        let mut ticker = tokio::time::interval(self.membership.settings().tick);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                changed = phase.changed() => {
                    if changed.is_err() { break; }
                }
            }
            let current = *phase.borrow_and_update();
            if current == Phase::Stopped {
                break;
            }
            match self.tick(current == Phase::Draining).await {
                Ok(()) => {
                    if self.failing_since.take().is_some() {
                        tracing::info!("the lease task reaches the database again");
                    }
                }
                Err(error) => {
                    if self.failing_since.is_none() {
                        tracing::warn!(%error, "cannot renew the shard leases; checks of shards whose lease runs out stop");
                        self.failing_since = Some(tokio::time::Instant::now());
                    }
                }
            }
            // Beliefs end on this instance's clock even when the database cannot be reached.
            let ended = self.membership.expire_beliefs();
            if !ended.is_empty() {
                tracing::warn!(
                    shards = ended.len(),
                    "shard leases ran out before they could be renewed; their monitors are left to the other instances"
                );
                self.scheduler.drop_shards(ended, true).await;
            }
        }
        self.leave().await;
    }

    async fn tick(&mut self, draining: bool) -> Result<(), StoreError> {
        let settings = self.membership.settings().clone();
        let me = self.membership.id().clone();
        let view = self
            .cluster
            .beat_and_view(&me, env!("CARGO_PKG_VERSION"))
            .await?;
        self.drop_lost(&view).await;
        let mut plan = plan_leases(&me, &view, &settings, false);
        if draining {
            plan.acquire.clear();
            plan.release.clear();
        }

        // Last tick's extras go now; the plan still renews them until then.
        let giving_up = std::mem::take(&mut self.giving_up);
        if !giving_up.is_empty() {
            match self.cluster.release_shards(&me, &giving_up).await {
                Ok(released) => {
                    let shards: Vec<ShardId> = giving_up.iter().map(|(shard, _)| *shard).collect();
                    self.membership.forget(&shards);
                    tracing::info!(released = released.len(), "gave shards to other instances");
                }
                Err(error) => {
                    self.giving_up = giving_up;
                    return Err(error);
                }
            }
        }
        let released: BTreeSet<ShardId> = giving_up.iter().map(|(shard, _)| *shard).collect();
        plan.renew.retain(|(shard, _)| !released.contains(shard));
        // The view was read before that release: those shards are still counted as held.
        plan.release.retain(|(shard, _)| !released.contains(shard));

        let sent_at = self.membership.elapsed();
        let renewed = self
            .cluster
            .renew_shards(&me, &plan.renew, settings.lease)
            .await?;
        self.membership.record(sent_at, &renewed);
        let refused: Vec<ShardId> = plan
            .renew
            .iter()
            .map(|(shard, _)| *shard)
            .filter(|shard| !renewed.iter().any(|grant| grant.shard == *shard))
            .collect();
        if !refused.is_empty() {
            tracing::warn!(
                shards = refused.len(),
                "shard leases were taken while this instance could not renew them"
            );
            self.membership.forget(&refused);
            self.scheduler.drop_shards(refused, true).await;
        }

        if !plan.release.is_empty() {
            let shards: Vec<ShardId> = plan.release.iter().map(|(shard, _)| *shard).collect();
            self.membership.deactivate(&shards);
            self.scheduler.drop_shards(shards, false).await;
            self.giving_up = plan.release;
        }

        if !plan.acquire.is_empty() {
            let sent_at = self.membership.elapsed();
            let grants = self
                .cluster
                .acquire_shards(&me, &plan.acquire, settings.lease)
                .await?;
            self.membership.record(sent_at, &grants);
        }
        // Every lease held has its monitors in the engine: those just granted, and any whose
        // adoption failed or whose belief came back with a renewal that landed late.
        if !draining {
            let being_given_up = self.giving_up.iter().map(|(shard, _)| *shard).collect();
            let unadopted = self.membership.held_inactive(&being_given_up);
            if !unadopted.is_empty() {
                self.adopt(&unadopted).await?;
            }
        }
        Ok(())
    }

    /// Leases this instance believes it holds that the database's view says it does not (taken
    /// by another instance after a stall, or lost as a refused write found): their monitors
    /// leave the engine now rather than when the belief runs out.
    async fn drop_lost(&self, view: &ClusterView) {
        let me = self.membership.id();
        let lost: Vec<ShardId> = self
            .membership
            .tokens()
            .into_iter()
            .filter(|(shard, epoch)| {
                !view.leases.iter().any(|lease| {
                    lease.shard == *shard
                        && lease.epoch == *epoch
                        && lease.owner.as_ref() == Some(me)
                        && lease.expires_at > view.now
                })
            })
            .map(|(shard, _)| shard)
            .collect();
        if !lost.is_empty() {
            tracing::warn!(
                shards = lost.len(),
                "another instance holds shards this instance believed its own"
            );
            self.membership.forget(&lost);
            self.scheduler.drop_shards(lost, true).await;
        }
    }

    /// Hands the monitors of newly held shards to the engine with their stored state, so their
    /// state machines continue where the previous owner's last write left them. The shards are
    /// active before the monitors are read, so a change another instance publishes meanwhile
    /// reaches the engine too (which keeps the newer of the two, `Engine::take_in`).
    async fn adopt(&self, gained: &[ShardId]) -> Result<(), StoreError> {
        let gained_set: BTreeSet<ShardId> = gained.iter().copied().collect();
        self.membership.activate(gained);
        // Every monitor is read and filtered here: the shard is a hash computed in Rust, not a
        // column. Gains are rare (start, failover, a member joining or leaving).
        let load = match self.store.load_scheduled().await {
            Ok(load) => load,
            Err(error) => {
                // Adopted again on the next tick.
                self.membership.deactivate(gained);
                return Err(error);
            }
        };
        let monitors: Vec<_> = load
            .monitors
            .into_iter()
            .filter(|scheduled| {
                gained_set.contains(&self.membership.shard_of(scheduled.monitor.id))
            })
            .collect();
        tracing::info!(
            shards = gained.len(),
            monitors = monitors.len(),
            held = self.membership.active_count(),
            "took shards"
        );
        self.scheduler.adopt(monitors).await;
        Ok(())
    }

    async fn leave(self) {
        let me = self.membership.id().clone();
        let held = self.membership.tokens();
        if let Err(error) = self.cluster.release_shards(&me, &held).await {
            tracing::warn!(%error, "could not release the shard leases; the others take them when they run out");
        }
        if let Err(error) = self.cluster.leave_cluster(&me).await {
            tracing::warn!(%error, "could not leave the cluster");
        }
        tracing::info!(released = held.len(), "left the cluster");
    }
}

/// Applies what other instances publish, for the monitors this one checks. Listening restarts
/// after a lost connection; a change published meanwhile reaches the engine when the shard is next
/// adopted (the database holds it), and a lost ping is the next ping's to make up.
async fn apply_relayed(
    store: Arc<dyn Store>,
    cluster: Arc<dyn ClusterStore>,
    membership: Arc<Membership>,
    scheduler: SchedulerHandle,
) {
    loop {
        let mut messages = match cluster.subscribe().await {
            Ok(messages) => messages,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for other instances' changes; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        loop {
            let text = match messages.next().await {
                Ok(text) => text,
                Err(error) => {
                    tracing::warn!(%error, "listening for other instances' changes failed; reconnecting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            };
            let Some(message) = RelayMessage::parse(&text) else {
                tracing::debug!(message = %text, "ignored a cluster message");
                continue;
            };
            if !membership.checks(message.monitor()) {
                continue;
            }
            apply(store.as_ref(), &scheduler, message).await;
        }
    }
}

async fn apply(store: &dyn Store, scheduler: &SchedulerHandle, message: RelayMessage) {
    match message {
        RelayMessage::Changed { team, monitor } => match store.get_monitor(team, monitor).await {
            Ok(Some(monitor)) => scheduler.upsert_here(monitor).await,
            Ok(None) => scheduler.remove_here(monitor).await,
            Err(error) => {
                tracing::warn!(%error, %monitor, "cannot read a monitor another instance changed");
            }
        },
        RelayMessage::Removed { monitor } => scheduler.remove_here(monitor).await,
        RelayMessage::CheckNow { monitor } => scheduler.check_now_here(monitor).await,
        RelayMessage::Ping { monitor, kind, at } => {
            scheduler.ping_here(monitor, kind, at).await;
        }
    }
}
