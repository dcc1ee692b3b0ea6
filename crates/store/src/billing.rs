//! Whop billing as stored: webhook deliveries as received and their processing state, the Whop
//! users WatchTower knows (which user and team each is), and each membership as the newest
//! events applied left it. What the events mean is `watchtower-billing`'s; this is their memory.

use crate::accounts::AuditRecord;
use crate::error::StoreError;
use async_trait::async_trait;
use serde::Serialize;
use watchtower_core::{Plan, TeamId, Timestamp, UserId};

/// Where a recorded delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Recorded, not yet processed (or waiting for a retry).
    Pending,
    /// Processed: it changed what it describes.
    Processed,
    /// Processed and deliberately left without effect: an unknown type, an event older than
    /// what is known, a product no plan is mapped to.
    Ignored,
    /// Processing failed on every attempt; it stays for an administrator to look at.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Processed => "processed",
            DeliveryState::Ignored => "ignored",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Result<Self, StoreError> {
        [
            DeliveryState::Pending,
            DeliveryState::Processed,
            DeliveryState::Ignored,
            DeliveryState::Failed,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
        .ok_or_else(|| StoreError::Corrupt(format!("delivery state '{text}'")))
    }
}

/// A verified delivery to record.
#[derive(Debug, Clone)]
pub struct NewWhopDelivery {
    /// The `webhook-id` (Standard Webhooks) or, for the legacy scheme which has none, a digest
    /// of the body: a redelivery has the same key.
    pub delivery_id: String,
    /// `v1` (Standard Webhooks) or `v5` (legacy `x-whop-signature`).
    pub scheme: String,
    pub event_type: String,
    /// The raw body, exactly as verified.
    pub body: String,
    pub occurred_at: Timestamp,
    pub received_at: Timestamp,
}

/// A recorded delivery, as the worker and the administrators' view read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WhopDelivery {
    pub id: i64,
    pub delivery_id: String,
    pub scheme: String,
    pub event_type: String,
    // The body is for the worker; the administrators' view leaves it out.
    #[serde(skip)]
    pub body: String,
    pub occurred_at: Timestamp,
    pub received_at: Timestamp,
    pub state: DeliveryState,
    /// Processing attempts so far.
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
    /// What processing did, in words.
    pub outcome: Option<String>,
    /// The team processing touched.
    pub team_id: Option<TeamId>,
    pub processed_at: Option<Timestamp>,
}

/// A Whop user known to WatchTower: the user and the team made (or found) on first sight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhopCustomer {
    pub whop_user_id: String,
    pub user_id: UserId,
    pub team_id: TeamId,
    pub created_at: Timestamp,
}

/// A Whop membership as the newest events applied left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WhopMembership {
    /// Whop's id, `mem_...`.
    pub membership_id: String,
    /// `None` while only a deactivation of a membership nobody knew has been seen.
    pub team_id: Option<TeamId>,
    pub whop_user_id: String,
    /// The WatchTower plan it grants while active.
    pub plan: Plan,
    pub active: bool,
    /// Whop's status word (`active`, `canceled`, ...), as last seen.
    pub status: String,
    /// When the current period ends (renews or expires).
    pub renewal_at: Option<Timestamp>,
    /// The time of the newest membership event applied.
    pub state_at: Timestamp,
    /// The time of the newest payment event applied.
    pub payment_at: Option<Timestamp>,
    /// After a failed payment: when the membership lapses unless a payment succeeds.
    pub grace_deadline: Option<Timestamp>,
    /// The grace period passed without a payment: the membership grants nothing until one.
    pub lapsed: bool,
    pub updated_at: Timestamp,
}

/// Whop billing's memory.
#[async_trait]
pub trait BillingStore: Send + Sync {
    /// Records a verified delivery as pending, due at once. `false` when its `delivery_id` was
    /// recorded before: a redelivery, left as it is.
    async fn record_whop_delivery(&self, new: &NewWhopDelivery) -> Result<bool, StoreError>;
    /// Pending deliveries due by `now`, the oldest event first, at most `limit`.
    async fn due_whop_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<WhopDelivery>, StoreError>;
    /// Marks a delivery processed or ignored, with what it did and the team it touched.
    async fn finish_whop_delivery(
        &self,
        id: i64,
        state: DeliveryState,
        outcome: &str,
        team: Option<TeamId>,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// Counts a failed attempt: pending again at `retry_at`, or `failed` when `retry_at` is
    /// `None` (attempts exhausted).
    async fn retry_whop_delivery(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<(), StoreError>;
    /// Deliveries with an id below `before`, newest first (the administrators' view).
    async fn whop_deliveries(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<WhopDelivery>, StoreError>;

    async fn whop_customer(&self, whop_user_id: &str) -> Result<Option<WhopCustomer>, StoreError>;
    /// Records who a Whop user is; a user already linked keeps the first link.
    async fn link_whop_customer(&self, customer: &WhopCustomer) -> Result<(), StoreError>;

    async fn whop_membership(
        &self,
        membership_id: &str,
    ) -> Result<Option<WhopMembership>, StoreError>;
    /// Inserts or replaces a membership.
    async fn save_whop_membership(&self, membership: &WhopMembership) -> Result<(), StoreError>;
    /// A team's memberships, the newest state first.
    async fn team_whop_memberships(&self, team: TeamId) -> Result<Vec<WhopMembership>, StoreError>;
    /// Active, unlapsed memberships whose grace deadline is at or before `now`.
    async fn lapsing_whop_memberships(
        &self,
        now: Timestamp,
    ) -> Result<Vec<WhopMembership>, StoreError>;
    /// A team's billing history: its `plan.changed` and `billing.*` audit entries, newest first.
    async fn billing_history(
        &self,
        team: TeamId,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError>;
}
