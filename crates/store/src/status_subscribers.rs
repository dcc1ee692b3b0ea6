//! Subscribers of status pages and their outbox, as stored. A sign-up and its confirmation email
//! are written in one transaction; a post's update and the messages to every subscriber who
//! follows one of its components are written in one transaction (`sql/status_incidents.rs`). The
//! delivery loop claims due messages with a lease, like the alert dispatcher, so a crash sends a
//! pending message again after restart under the same key, and never drops it.

use crate::error::StoreError;
use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use watchtower_core::status_incident::AffectedComponent;
use watchtower_core::{
    ChannelId, Impact, MaintenanceWindowId, NewSubscriber, PostStatus, StatusIncidentId,
    StatusPageId, StatusSubscriberId, SubscriberKind, TeamId, Timestamp,
};

/// A subscriber as the team sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StatusSubscriber {
    pub id: StatusSubscriberId,
    pub page_id: StatusPageId,
    pub kind: SubscriberKind,
    /// The email address or the webhook URL.
    pub address: String,
    /// The component names followed; `null` follows them all.
    pub components: Option<Vec<String>>,
    pub created_at: Timestamp,
    /// When the email subscriber followed the confirmation link (a webhook's is its creation);
    /// `null` until then, and nothing is sent but the confirmation.
    pub confirmed_at: Option<Timestamp>,
}

/// A page's subscription settings and its subscribers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PageSubscriptions {
    /// The email channel whose SMTP server sends subscriber emails; `null`: the page offers no
    /// email sign-up.
    pub email_channel_id: Option<ChannelId>,
    /// Newest first.
    pub subscribers: Vec<StatusSubscriber>,
}

/// What a sign-up did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignUpOutcome {
    /// Stored (or already there, unconfirmed) and a confirmation email queued; for a subscriber
    /// that needs none (a webhook), stored and confirmed.
    Queued(StatusSubscriber),
    /// The address is subscribed and confirmed already: nothing is sent.
    AlreadyConfirmed(StatusSubscriber),
    /// A confirmation went to this address too recently: seconds until another may.
    Throttled { retry_after: u64 },
}

/// What a message is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryNews {
    /// The double opt-in email of a sign-up.
    Confirmation,
    /// An update of an incident post.
    Update(PostNews),
    /// A maintenance window of the page's monitors opened.
    Maintenance(MaintenanceNotice),
}

/// A maintenance window's opening as subscribers are told of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MaintenanceNotice {
    pub window_id: MaintenanceWindowId,
    pub name: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// The page's components whose monitors the window covers.
    pub components: Vec<String>,
}

/// The post and the update a message tells of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostNews {
    pub post_id: StatusIncidentId,
    pub title: String,
    pub impact: Impact,
    pub components: Vec<AffectedComponent>,
    pub update_id: i64,
    pub status: PostStatus,
    pub message: String,
    pub at: Timestamp,
    /// Whether this is the post's first update (the incident's creation).
    pub first: bool,
}

/// A claimed message with everything needed to send it.
#[derive(Debug, Clone)]
pub struct DueStatusDelivery {
    pub id: i64,
    /// Attempts so far, this one included.
    pub attempts: u32,
    pub created_at: Timestamp,
    pub subscriber: StatusSubscriber,
    pub page_slug: String,
    pub page_title: String,
    /// The page's subscriber email channel's full settings (secrets included), when it has one.
    pub email_channel: Option<Value>,
    pub news: DeliveryNews,
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusDeliveryOutcome {
    Delivered,
    /// Try again at this time.
    Retry {
        at: Timestamp,
        error: String,
    },
    /// Never to be sent (a permanent refusal, or retried for too long).
    Failed {
        error: String,
    },
}

/// The subscriber part of the store.
#[async_trait]
pub trait StatusSubscriberStore: Send + Sync {
    /// A page's settings and subscribers; `NotFound` when the page is not `team`'s.
    async fn page_subscriptions(
        &self,
        team: TeamId,
        page: StatusPageId,
    ) -> Result<PageSubscriptions, StoreError>;

    /// Sets the email channel of a page's subscriber emails; `NotFound` when the page is not
    /// `team`'s, or the channel is not one of `team`'s email channels.
    async fn set_subscriber_channel(
        &self,
        team: TeamId,
        page: StatusPageId,
        channel: Option<ChannelId>,
    ) -> Result<(), StoreError>;

    /// The confirmed subscribers of every page of `team` (what the plan counts).
    async fn count_team_subscribers(&self, team: TeamId) -> Result<u64, StoreError>;

    /// Adds a subscriber to `page` (a page of `team`, else `NotFound`). An email subscriber is
    /// stored unconfirmed with a confirmation email queued, within the sign-up throttle; signing
    /// up again while unconfirmed updates its components and queues another. A webhook is
    /// confirmed at once; a second one with the same URL is a `Conflict`.
    async fn subscribe(
        &self,
        team: TeamId,
        page: StatusPageId,
        new: &NewSubscriber,
        now: Timestamp,
    ) -> Result<SignUpOutcome, StoreError>;

    /// Subscriber `id` of `page`, for a visitor's signed link (checked against its address).
    async fn page_subscriber(
        &self,
        page: StatusPageId,
        id: StatusSubscriberId,
    ) -> Result<Option<StatusSubscriber>, StoreError>;

    /// Confirms subscriber `id` of `page` if its address is `address`; `None` when there is no
    /// such subscriber (unsubscribed since, or another page's).
    async fn confirm_subscriber(
        &self,
        page: StatusPageId,
        id: StatusSubscriberId,
        address: &str,
        now: Timestamp,
    ) -> Result<Option<StatusSubscriber>, StoreError>;

    /// Deletes subscriber `id` of `page` if its address is `address`, with its pending
    /// messages; whether there was one.
    async fn unsubscribe(
        &self,
        page: StatusPageId,
        id: StatusSubscriberId,
        address: &str,
    ) -> Result<bool, StoreError>;

    /// Deletes a subscriber of `team`'s `page`; `NotFound` otherwise.
    async fn remove_subscriber(
        &self,
        team: TeamId,
        page: StatusPageId,
        id: StatusSubscriberId,
    ) -> Result<(), StoreError>;

    /// The pages with at least one confirmed subscriber: `(team, page)`.
    async fn pages_with_subscribers(&self) -> Result<Vec<(TeamId, StatusPageId)>, StoreError>;

    /// Queues the message of a maintenance window's opening to every confirmed subscriber of
    /// `page` who follows one of its components; once per window and opening, however often it
    /// is called.
    async fn enqueue_maintenance(
        &self,
        page: StatusPageId,
        notice: &MaintenanceNotice,
        now: Timestamp,
    ) -> Result<u64, StoreError>;

    /// Deletes the unconfirmed subscribers whose last confirmation went before
    /// `unconfirmed_before` (their links have expired), and the delivered or failed messages
    /// finished before `finished_before`; how many rows went.
    async fn prune_status_subscribers(
        &self,
        unconfirmed_before: Timestamp,
        finished_before: Timestamp,
    ) -> Result<u64, StoreError>;

    /// When the next pending message falls due, if any.
    async fn next_status_delivery_due(&self) -> Result<Option<Timestamp>, StoreError>;

    /// Claims up to `limit` messages due at `now`, hiding them until `lease_until`.
    async fn claim_status_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<DueStatusDelivery>, StoreError>;

    /// Records how an attempt ended.
    async fn finish_status_delivery(
        &self,
        id: i64,
        outcome: &StatusDeliveryOutcome,
        at: Timestamp,
    ) -> Result<(), StoreError>;
}
