//! What an instance administrator and `/metrics` see of the whole installation: people active
//! lately, teams by plan, monitors, open incidents, the last day's notifications by channel kind,
//! and the connection pools' use.

use crate::error::StoreError;
use async_trait::async_trait;
use std::time::Duration;
use watchtower_core::{Timestamp, UserId};

/// A person counts as active for an hour after a request: `touch_user` is skipped while the
/// stored time is younger, so activity costs at most one write per person per hour.
pub const ACTIVITY_RESOLUTION: Duration = Duration::from_secs(3600);

/// One connection pool: connections open, idle among them, and the most it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct PoolUse {
    /// `reader` and `writer` on SQLite; `main` on PostgreSQL, where both share one pool.
    pub pool: &'static str,
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// Notifications of one channel kind created since a time, by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct KindDeliveries {
    /// The channel kind (`email`, `slack`, `webhook`, ...).
    pub kind: String,
    pub delivered: u64,
    pub failed: u64,
    /// Waiting for a first attempt or a retry.
    pub pending: u64,
    /// Not sent on purpose: maintenance, a dependency down.
    pub suppressed: u64,
}

/// The installation's figures at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceFigures {
    pub users: u64,
    /// People with a request in the last day and the last 30 days (to the hour).
    pub active_users_day: u64,
    pub active_users_month: u64,
    /// Teams people use (the operators' own channel team left out), by plan.
    pub teams_by_plan: Vec<(String, u64)>,
    pub monitors: u64,
    pub monitors_paused: u64,
    /// Monitors by their current state (`up`, `down`, `pending`, ...).
    pub monitors_by_state: Vec<(String, u64)>,
    pub open_incidents: u64,
    /// Notifications created in the last day, by channel kind.
    pub notifications_day: Vec<KindDeliveries>,
}

#[async_trait]
pub trait InstanceStore: Send + Sync {
    /// Notes that a person made a request at `now`, unless already noted within the hour.
    async fn touch_user(&self, user: UserId, now: Timestamp) -> Result<(), StoreError>;

    /// The installation's figures as of `now`.
    async fn instance_figures(&self, now: Timestamp) -> Result<InstanceFigures, StoreError>;

    /// The connection pools' use right now (no query).
    fn pool_use(&self) -> Vec<PoolUse>;
}
