//! What one instance believes it holds, on its own monotonic clock. It runs a shard's checks only
//! while the belief lasts, which ends `belief_margin` before the database's lease would, so a
//! drifting clock does not keep it working on a shard the database already gave away. Its writes
//! carry the epochs from here and the database's fence has the last word.

use super::{Epoch, Grant, LeaseSettings, ShardId};
use std::collections::BTreeMap;
use std::time::Duration;

/// The leases an instance believes it holds: each with its epoch and, on the instance's monotonic
/// clock (time since it started), until when.
#[derive(Debug, Clone, Default)]
pub struct HeldLeases {
    held: BTreeMap<ShardId, (Epoch, Duration)>,
}

impl HeldLeases {
    /// Records grants and renewals from a statement sent at `sent_at`. The database started the
    /// lease when the statement ran, after it was sent, so counting from `sent_at` errs early.
    pub fn record(&mut self, sent_at: Duration, grants: &[Grant], settings: &LeaseSettings) {
        let until = sent_at + settings.lease.saturating_sub(settings.belief_margin);
        for grant in grants {
            self.held.insert(grant.shard, (grant.epoch, until));
        }
    }

    /// Forgets shards released, or whose renewal the database refused.
    pub fn forget(&mut self, shards: impl IntoIterator<Item = ShardId>) {
        for shard in shards {
            self.held.remove(&shard);
        }
    }

    /// Forgets everything (the process stops, or the database cannot be reached to renew).
    pub fn clear(&mut self) {
        self.held.clear();
    }

    /// The epoch to write `shard`'s results with, if the lease is believed to last past `now`.
    pub fn epoch_of(&self, shard: ShardId, now: Duration) -> Option<Epoch> {
        self.held
            .get(&shard)
            .filter(|(_, until)| *until > now)
            .map(|(epoch, _)| *epoch)
    }

    /// The fencing tokens of every shard believed held at `now`.
    pub fn tokens(&self, now: Duration) -> Vec<(ShardId, Epoch)> {
        self.held
            .iter()
            .filter(|(_, (_, until))| *until > now)
            .map(|(shard, (epoch, _))| (*shard, *epoch))
            .collect()
    }
}
