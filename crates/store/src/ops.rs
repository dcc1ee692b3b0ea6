//! The instance's own alerts and database care, shared by every instance on the database: ops
//! episodes (one open row per key is the claim; the alert and the recovery are queued in the
//! notification outbox in the same transaction), the operators' channel, and maintenance runs
//! claimed once per slot.

use crate::error::StoreError;
use async_trait::async_trait;
use serde_json::Value;
use watchtower_core::{ChannelId, Timestamp};

/// An ops episode that has not recovered yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOpsEpisode {
    pub key: String,
    pub opened_at: Timestamp,
}

/// The PostgreSQL server process this connection talks to, as PostgreSQL names it (a pid in its
/// own process namespace, which may not be ours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatabaseProcess {
    pub backend_pid: u32,
    pub server_started_at: Timestamp,
}

#[async_trait]
pub trait OpsStore: Send + Sync {
    /// PostgreSQL's backend process and server start; `None` on SQLite (no server).
    async fn database_process(&self) -> Result<Option<DatabaseProcess>, StoreError>;

    /// Makes `config` (a channel's stored settings, of `kind`) the operators' channel. It lives
    /// in a team of its own that has no members, so no team's routes can read, change or use it;
    /// only `serve --ops-channel` sets it. Instances sharing the database share one channel: the
    /// last one started with the flag sets it.
    async fn set_ops_channel(
        &self,
        kind: &str,
        config: &Value,
        now: Timestamp,
    ) -> Result<ChannelId, StoreError>;

    /// Every open episode, for an instance that starts while one is open.
    async fn open_ops_episodes(&self) -> Result<Vec<OpenOpsEpisode>, StoreError>;

    /// Opens an episode of `key` unless one is open. The call that opens it also queues
    /// `details` as an `ops_alert` notification to the operators' channel (when there is one),
    /// in the same transaction. True when this call opened it.
    async fn open_ops_episode(
        &self,
        key: &str,
        opened_at: Timestamp,
        by: &str,
        details: &Value,
    ) -> Result<bool, StoreError>;

    /// Ends the open episode of `key`, if any, and queues its `ops_resolved` notification in the
    /// same transaction. True when this call ended it.
    async fn resolve_ops_episode(
        &self,
        key: &str,
        at: Timestamp,
        by: &str,
        details: &Value,
    ) -> Result<bool, StoreError>;

    /// Claims the maintenance run of `slot` (a window's start, a large apply); true for the one
    /// caller that gets it.
    async fn claim_care_run(
        &self,
        slot: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Records how a claimed run ended (`ok` or the error).
    async fn finish_care_run(
        &self,
        slot: &str,
        outcome: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;
}
