//! What one instance should do with the shard leases, given the database's view of them: claim
//! its fair share of the free shards, renew what it holds, give up extras so that a newcomer gets
//! its share, and release everything when it stops. A pure function of the view; the database's
//! conditional statements (`table.rs` states their rules) make a stale plan harmless.

use super::{Epoch, InstanceId, SHARD_COUNT, ShardId, preference};
use crate::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The timing of the leases. Every instance of a cluster must use the same values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSettings {
    pub shard_count: u16,
    /// How long a grant or renewal holds, on the database's clock.
    pub lease: Duration,
    /// How often an instance reads the view, beats its heartbeat and acts on the plan.
    pub tick: Duration,
    /// A held lease is renewed once it has less than `lease - renew_after` left, so with the
    /// defaults each shard's row is written every 3 s, not every tick.
    pub renew_after: Duration,
    /// An instance whose heartbeat is older than this does not count when shares are computed
    /// (a few ticks: a dead instance stops holding back its share quickly).
    pub instance_timeout: Duration,
    /// A shard free for this long is claimed by any instance, even one at its fair share: a
    /// shard is never left waiting for an instance that is too slow or gone to take it.
    pub orphan_grace: Duration,
    /// How much sooner than the database an instance considers its lease over, on its own
    /// monotonic clock: covers clock rate drift (up to `margin / lease`, 6% with the defaults).
    pub belief_margin: Duration,
}

impl Default for LeaseSettings {
    fn default() -> Self {
        Self {
            shard_count: SHARD_COUNT,
            lease: Duration::from_secs(15),
            tick: Duration::from_secs(1),
            renew_after: Duration::from_secs(3),
            instance_timeout: Duration::from_secs(3),
            orphan_grace: Duration::from_secs(3),
            belief_margin: Duration::from_secs(1),
        }
    }
}

/// One row of the lease table as the database has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardLease {
    pub shard: ShardId,
    /// The last holder; it still holds the shard only while `expires_at` is after the view's now.
    pub owner: Option<InstanceId>,
    pub epoch: Epoch,
    /// When the lease ends (for a released shard: when it was released).
    pub expires_at: Timestamp,
}

impl ShardLease {
    fn held_by_someone_at(&self, now: Timestamp) -> bool {
        self.owner.is_some() && self.expires_at > now
    }
}

/// One instance's last heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceBeat {
    pub id: InstanceId,
    pub heartbeat_at: Timestamp,
}

/// The database's view, read in one statement: its clock, every lease row and the heartbeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterView {
    /// The database's clock when the view was read: the one truth about time.
    pub now: Timestamp,
    /// One row per shard; a shard without a row is free at epoch 0.
    pub leases: Vec<ShardLease>,
    pub instances: Vec<InstanceBeat>,
}

/// What one instance intends to claim, renew and give up in this tick.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeasePlan {
    /// Free shards to claim (granted only if still free when the statement runs).
    pub acquire: Vec<ShardId>,
    /// Held shards to extend, with the epoch held (refused if it changed or the lease ran out).
    pub renew: Vec<(ShardId, Epoch)>,
    /// Held shards to give up, with the epoch held.
    pub release: Vec<(ShardId, Epoch)>,
}

impl LeasePlan {
    pub fn is_empty(&self) -> bool {
        self.acquire.is_empty() && self.renew.is_empty() && self.release.is_empty()
    }
}

/// The plan of instance `me` for this tick. `stopping` (SIGTERM): release everything at once,
/// so the others take the shards on their next tick instead of after the lease runs out.
pub fn plan_leases(
    me: &InstanceId,
    view: &ClusterView,
    settings: &LeaseSettings,
    stopping: bool,
) -> LeasePlan {
    let now = view.now;
    let rows = rows_by_shard(view, settings.shard_count);
    let mut held: Vec<&ShardLease> = rows
        .values()
        .filter(|row| row.owner.as_ref() == Some(me) && row.expires_at > now)
        .collect();
    let mut plan = LeasePlan::default();
    if stopping {
        plan.release = held.iter().map(|row| (row.shard, row.epoch)).collect();
        return plan;
    }

    let live = live_instances(me, view, settings);
    let share = usize::from(settings.shard_count).div_ceil(live.len());
    let mut counts: BTreeMap<&InstanceId, usize> = live.iter().map(|id| (*id, 0)).collect();
    for row in rows.values().filter(|row| row.held_by_someone_at(now)) {
        if let Some(count) = row.owner.as_ref().and_then(|owner| counts.get_mut(owner)) {
            *count += 1;
        }
    }

    if held.len() > share {
        // Give up only what live instances below their share can take, the shards this instance
        // prefers least first; they claim them on their next tick.
        let room: usize = counts
            .iter()
            .filter(|(id, _)| **id != me)
            .map(|(_, count)| share.saturating_sub(*count))
            .sum();
        let give_up = (held.len() - share).min(room);
        held.sort_by_key(|row| preference(me, row.shard));
        plan.release = held
            .drain(..give_up)
            .map(|row| (row.shard, row.epoch))
            .collect();
    }

    let renew_below = settings.lease.saturating_sub(settings.renew_after);
    plan.renew = held
        .iter()
        .filter(|row| row.expires_at.since(now) <= renew_below)
        .map(|row| (row.shard, row.epoch))
        .collect();
    plan.renew.sort();

    let mut free: Vec<&ShardLease> = rows
        .values()
        .filter(|row| !row.held_by_someone_at(now))
        .collect();
    free.sort_by_key(|row| std::cmp::Reverse(preference(me, row.shard)));
    let wanted = share.saturating_sub(held.len());
    let mut acquire: BTreeSet<ShardId> = free.iter().take(wanted).map(|row| row.shard).collect();
    // Orphans: free long enough that whoever should have claimed them did not.
    acquire.extend(
        free.iter()
            .filter(|row| now.since(row.expires_at) >= settings.orphan_grace)
            .map(|row| row.shard),
    );
    plan.acquire = acquire.into_iter().collect();
    plan
}

/// Every shard's row, a missing row standing for a free shard at epoch 0.
fn rows_by_shard(view: &ClusterView, shard_count: u16) -> BTreeMap<ShardId, ShardLease> {
    let mut rows: BTreeMap<ShardId, ShardLease> = (0..shard_count)
        .map(|shard| {
            let shard = ShardId(shard);
            let free = ShardLease {
                shard,
                owner: None,
                epoch: Epoch(0),
                expires_at: Timestamp(i64::MIN / 2),
            };
            (shard, free)
        })
        .collect();
    for row in &view.leases {
        if row.shard.0 < shard_count {
            rows.insert(row.shard, row.clone());
        }
    }
    rows
}

/// The instances that count for shares: those with a recent heartbeat, and always `me`.
fn live_instances<'a>(
    me: &'a InstanceId,
    view: &'a ClusterView,
    settings: &LeaseSettings,
) -> BTreeSet<&'a InstanceId> {
    let mut live: BTreeSet<&InstanceId> = view
        .instances
        .iter()
        .filter(|beat| view.now.since(beat.heartbeat_at) <= settings.instance_timeout)
        .map(|beat| &beat.id)
        .collect();
    live.insert(me);
    live
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(shards: u16) -> LeaseSettings {
        LeaseSettings {
            shard_count: shards,
            ..LeaseSettings::default()
        }
    }

    fn id(name: &str) -> InstanceId {
        InstanceId::new(name)
    }

    fn beat(name: &str, at: i64) -> InstanceBeat {
        InstanceBeat {
            id: id(name),
            heartbeat_at: Timestamp(at),
        }
    }

    fn lease(shard: u16, owner: Option<&str>, epoch: i64, expires_at: i64) -> ShardLease {
        ShardLease {
            shard: ShardId(shard),
            owner: owner.map(id),
            epoch: Epoch(epoch),
            expires_at: Timestamp(expires_at),
        }
    }

    #[test]
    fn a_lone_instance_claims_every_shard() {
        let view = ClusterView {
            now: Timestamp(100_000),
            leases: vec![],
            instances: vec![beat("a", 100_000)],
        };
        let plan = plan_leases(&id("a"), &view, &settings(8), false);
        assert_eq!(plan.acquire, (0..8).map(ShardId).collect::<Vec<_>>());
        assert!(plan.renew.is_empty() && plan.release.is_empty());
    }

    #[test]
    fn a_held_lease_is_renewed_only_once_it_has_aged() {
        let now = 100_000;
        let view = ClusterView {
            now: Timestamp(now),
            leases: vec![
                lease(0, Some("a"), 3, now + 14_000),
                lease(1, Some("a"), 5, now + 11_000),
            ],
            instances: vec![beat("a", now)],
        };
        let plan = plan_leases(&id("a"), &view, &settings(2), false);
        assert_eq!(plan.renew, vec![(ShardId(1), Epoch(5))]);
        assert!(plan.acquire.is_empty());
    }

    #[test]
    fn an_instance_over_its_share_gives_the_newcomer_room_and_no_more() {
        let now = 100_000;
        let leases = (0..8)
            .map(|s| lease(s, Some("a"), 1, now + 10_000))
            .collect();
        let view = ClusterView {
            now: Timestamp(now),
            leases,
            instances: vec![beat("a", now), beat("b", now - 1_000)],
        };
        let plan = plan_leases(&id("a"), &view, &settings(8), false);
        assert_eq!(plan.release.len(), 4);
        assert_eq!(plan.renew.len(), 4, "the shards kept are renewed");

        // The newcomer claims exactly the released ones, its share.
        let mut leases = view.leases.clone();
        for (shard, _) in &plan.release {
            leases[usize::from(shard.0)] = lease(shard.0, None, 1, now);
        }
        let view = ClusterView { leases, ..view };
        let newcomer = plan_leases(&id("b"), &view, &settings(8), false);
        let mut released: Vec<ShardId> = plan.release.iter().map(|(s, _)| *s).collect();
        released.sort();
        assert_eq!(newcomer.acquire, released);
    }

    #[test]
    fn extras_are_kept_while_no_live_instance_could_take_them() {
        let now = 100_000;
        let leases = (0..8)
            .map(|s| lease(s, Some("a"), 1, now + 10_000))
            .collect();
        // b's heartbeat is older than the instance timeout: b is not live.
        let view = ClusterView {
            now: Timestamp(now),
            leases,
            instances: vec![beat("a", now), beat("b", now - 5_000)],
        };
        let plan = plan_leases(&id("a"), &view, &settings(8), false);
        assert!(plan.release.is_empty());
    }

    #[test]
    fn a_shard_left_free_past_the_grace_is_claimed_even_at_full_share() {
        let now = 100_000;
        let view = ClusterView {
            now: Timestamp(now),
            leases: vec![
                lease(0, Some("a"), 1, now + 10_000),
                lease(1, Some("b"), 1, now - 4_000),
                lease(2, Some("b"), 1, now - 1_000),
            ],
            instances: vec![beat("a", now), beat("b", now - 1_000), beat("c", now)],
        };
        // Share is 1 and a holds 1: it claims only shard 1, free for longer than the grace.
        let plan = plan_leases(&id("a"), &view, &settings(3), false);
        assert_eq!(plan.acquire, vec![ShardId(1)]);
    }

    #[test]
    fn stopping_releases_everything_held_and_claims_nothing() {
        let now = 100_000;
        let view = ClusterView {
            now: Timestamp(now),
            leases: vec![
                lease(0, Some("a"), 4, now + 10_000),
                lease(1, Some("a"), 2, now - 1),
            ],
            instances: vec![beat("a", now)],
        };
        let plan = plan_leases(&id("a"), &view, &settings(3), true);
        assert_eq!(plan.release, vec![(ShardId(0), Epoch(4))]);
        assert!(plan.acquire.is_empty() && plan.renew.is_empty());
    }
}
