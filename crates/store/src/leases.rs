//! Sharing the checks between instances (issue 15; `docs/SCALING.md`): what a write carries to
//! prove its instance still holds the shards it writes for, and the [`ClusterStore`] the lease
//! task works through. Only PostgreSQL shares work between instances: its statements are in
//! `postgres/leases.rs`, and SQLite, which one instance serves, has no `ClusterStore`.

use crate::error::StoreError;
use crate::model::ResultBatch;
use async_trait::async_trait;
use std::time::Duration;
use watchtower_core::cluster::{ClusterView, Epoch, Grant, InstanceId, ShardId};

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

/// The database as the coordinator of several instances: the shard leases on its clock, fenced
/// batch writes, and a channel that carries a change made on one instance to the one that checks
/// the monitor. Each method is one round trip.
#[async_trait]
pub trait ClusterStore: Send + Sync + 'static {
    /// Beats `me`'s heartbeat (registering it at first) and reads every lease and heartbeat with
    /// the database's clock.
    async fn beat_and_view(
        &self,
        me: &InstanceId,
        version: &str,
    ) -> Result<ClusterView, StoreError>;

    /// Claims the shards nobody holds now; returns the grants.
    async fn acquire_shards(
        &self,
        me: &InstanceId,
        shards: &[ShardId],
        lease: Duration,
    ) -> Result<Vec<Grant>, StoreError>;

    /// Extends the leases still held with those epochs; one left out of the answer is lost.
    async fn renew_shards(
        &self,
        me: &InstanceId,
        held: &[(ShardId, Epoch)],
        lease: Duration,
    ) -> Result<Vec<Grant>, StoreError>;

    /// Gives up leases; another instance may claim them at once.
    async fn release_shards(
        &self,
        me: &InstanceId,
        held: &[(ShardId, Epoch)],
    ) -> Result<Vec<ShardId>, StoreError>;

    /// `me` stops counting when the others compute their shares.
    async fn leave_cluster(&self, me: &InstanceId) -> Result<(), StoreError>;

    /// [`Store::record_batch`](crate::Store::record_batch) behind a fence: nothing is written
    /// unless `fence.instance` still holds every shard with its epoch
    /// ([`StoreError::Fenced`] names the shards lost).
    async fn record_fenced_batch(
        &self,
        fence: &WriteFence,
        batch: &ResultBatch,
    ) -> Result<(), StoreError>;

    /// Sends a message to every instance listening (the sender's own listener included).
    async fn publish(&self, message: &str) -> Result<(), StoreError>;

    /// Starts listening for published messages.
    async fn subscribe(&self) -> Result<Box<dyn ClusterMessages>, StoreError>;
}

/// Messages published by any instance, in the order the database delivered them.
#[async_trait]
pub trait ClusterMessages: Send {
    /// The next message. After an error (the connection was lost) the next call reconnects;
    /// messages published meanwhile are missed.
    async fn next(&mut self) -> Result<String, StoreError>;
}
