//! What a write carries to prove its instance still holds the shards it writes for (issue 15;
//! `docs/SCALING.md`). Only PostgreSQL shares work between instances: its statements are in
//! `postgres/leases.rs`, and SQLite, which one instance serves, refuses a fenced write.

use watchtower_core::cluster::{Epoch, InstanceId, ShardId};

/// The fencing tokens of one write: the instance, and the epoch it holds each shard with. The
/// write's transaction first checks and share-locks those lease rows, so it commits only while
/// the instance still holds every one, and a new grant of any of them waits for the commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteFence {
    pub instance: InstanceId,
    pub tokens: Vec<(ShardId, Epoch)>,
}

impl WriteFence {
    pub fn new(instance: InstanceId, mut tokens: Vec<(ShardId, Epoch)>) -> Self {
        tokens.sort();
        tokens.dedup();
        Self { instance, tokens }
    }
}
