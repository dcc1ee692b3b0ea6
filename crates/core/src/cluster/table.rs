//! The lease table's rules, as the database applies them: each statement is a compare-and-set on
//! the rows, evaluated on the database's clock. `store/src/postgres/leases.rs` says the same in
//! SQL; this model is what the simulation runs and what the store's conformance test compares
//! PostgreSQL against.

use super::{ClusterView, Epoch, InstanceBeat, InstanceId, ShardId, ShardLease};
use crate::Timestamp;
use std::collections::BTreeMap;
use std::time::Duration;

/// A lease granted or renewed: the epoch to fence writes with, and when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub shard: ShardId,
    pub epoch: Epoch,
    pub expires_at: Timestamp,
}

/// Every shard's lease row and every instance's heartbeat.
#[derive(Debug, Clone)]
pub struct LeaseTable {
    rows: Vec<ShardLease>,
    beats: BTreeMap<InstanceId, Timestamp>,
}

impl LeaseTable {
    /// All shards free at epoch 0.
    pub fn new(shard_count: u16) -> Self {
        let rows = (0..shard_count)
            .map(|shard| ShardLease {
                shard: ShardId(shard),
                owner: None,
                epoch: Epoch(0),
                expires_at: Timestamp(0),
            })
            .collect();
        Self {
            rows,
            beats: BTreeMap::new(),
        }
    }

    /// The view an instance reads at `now`.
    pub fn view(&self, now: Timestamp) -> ClusterView {
        ClusterView {
            now,
            leases: self.rows.clone(),
            instances: self
                .beats
                .iter()
                .map(|(id, at)| InstanceBeat {
                    id: id.clone(),
                    heartbeat_at: *at,
                })
                .collect(),
        }
    }

    pub fn row(&self, shard: ShardId) -> Option<&ShardLease> {
        self.rows.get(usize::from(shard.0))
    }

    pub fn heartbeat(&mut self, me: &InstanceId, now: Timestamp) {
        self.beats.insert(me.clone(), now);
    }

    /// The instance is gone (stopped cleanly): it no longer counts for shares.
    pub fn deregister(&mut self, me: &InstanceId) {
        self.beats.remove(me);
    }

    /// Grants each shard that nobody holds at `now` (never held, released, or expired), bumping
    /// its epoch.
    pub fn acquire(
        &mut self,
        me: &InstanceId,
        shards: &[ShardId],
        now: Timestamp,
        lease: Duration,
    ) -> Vec<Grant> {
        let mut granted = Vec::new();
        for shard in shards {
            let Some(row) = self.rows.get_mut(usize::from(shard.0)) else {
                continue;
            };
            if row.owner.is_none() || row.expires_at <= now {
                row.owner = Some(me.clone());
                row.epoch = Epoch(row.epoch.0 + 1);
                row.expires_at = now.plus(lease);
                granted.push(grant(row));
            }
        }
        granted
    }

    /// Extends each lease `me` still holds at `now` with the same epoch; a lease that ran out is
    /// not renewed even if nobody took it (its holder must claim it again, with a new epoch).
    pub fn renew(
        &mut self,
        me: &InstanceId,
        held: &[(ShardId, Epoch)],
        now: Timestamp,
        lease: Duration,
    ) -> Vec<Grant> {
        let mut renewed = Vec::new();
        for (shard, epoch) in held {
            if let Some(row) = self.holding(me, *shard, *epoch, now) {
                row.expires_at = now.plus(lease);
                renewed.push(grant(row));
            }
        }
        renewed
    }

    /// Gives up each lease `me` holds with that epoch; the shard is free from `now`.
    pub fn release(
        &mut self,
        me: &InstanceId,
        held: &[(ShardId, Epoch)],
        now: Timestamp,
    ) -> Vec<ShardId> {
        let mut released = Vec::new();
        for (shard, epoch) in held {
            if let Some(row) = self.holding(me, *shard, *epoch, now) {
                row.owner = None;
                row.expires_at = now;
                released.push(*shard);
            }
        }
        released
    }

    /// The fence a write passes: `me` holds every shard it writes for, with that epoch, at
    /// `now`. Otherwise the shards it lost, and the whole write is refused.
    pub fn fence(
        &self,
        me: &InstanceId,
        tokens: &[(ShardId, Epoch)],
        now: Timestamp,
    ) -> Result<(), Vec<ShardId>> {
        let lost: Vec<ShardId> = tokens
            .iter()
            .filter(|(shard, epoch)| {
                !self.row(*shard).is_some_and(|row| {
                    row.owner.as_ref() == Some(me) && row.epoch == *epoch && row.expires_at > now
                })
            })
            .map(|(shard, _)| *shard)
            .collect();
        if lost.is_empty() { Ok(()) } else { Err(lost) }
    }

    fn holding(
        &mut self,
        me: &InstanceId,
        shard: ShardId,
        epoch: Epoch,
        now: Timestamp,
    ) -> Option<&mut ShardLease> {
        self.rows.get_mut(usize::from(shard.0)).filter(|row| {
            row.owner.as_ref() == Some(me) && row.epoch == epoch && row.expires_at > now
        })
    }
}

fn grant(row: &ShardLease) -> Grant {
    Grant {
        shard: row.shard,
        epoch: row.epoch,
        expires_at: row.expires_at,
    }
}
