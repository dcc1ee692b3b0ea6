//! Public status pages as stored: a team's pages with their groups, components and the monitors
//! each component stands for, found by id within the team or, for visitors, by slug or custom
//! domain; and the reads a public page needs of its monitors (states, incident openings).

use crate::error::StoreError;
use crate::model::MonitorListing;
use async_trait::async_trait;
use serde::Serialize;
use watchtower_core::{ChannelId, MonitorId, StatusPageId, StatusPageSpec, TeamId, Timestamp};

/// A stored status page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StatusPage {
    pub id: StatusPageId,
    pub team_id: TeamId,
    #[serde(flatten)]
    pub spec: StatusPageSpec,
    /// The email channel of subscriber emails (`PageSubscriptions` shows it to the team); the
    /// page offers email sign-up when it has one.
    #[serde(skip)]
    pub subscriber_channel_id: Option<ChannelId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// How a visitor names a page: its slug (`/status/{slug}`) or its custom domain (Host header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicPageKey<'a> {
    Slug(&'a str),
    Domain(&'a str),
}

/// One incident as a status page counts it: which monitor, and when it opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentOpening {
    pub monitor_id: MonitorId,
    pub opened_at: Timestamp,
}

/// The status-page part of the store.
#[async_trait]
pub trait StatusPageStore: Send + Sync {
    /// Creates a page with its groups and components in one transaction. A slug or domain
    /// another page has is a `Conflict` on that field; a monitor not of `team` is `NotFound`
    /// (nothing is written).
    async fn create_status_page(
        &self,
        team: TeamId,
        spec: &StatusPageSpec,
        now: Timestamp,
    ) -> Result<StatusPage, StoreError>;

    /// Replaces a page (groups and components included) in one transaction; `NotFound` when it
    /// is not `team`'s, or when a monitor is not.
    async fn update_status_page(
        &self,
        team: TeamId,
        id: StatusPageId,
        spec: &StatusPageSpec,
        now: Timestamp,
    ) -> Result<StatusPage, StoreError>;

    /// Deletes a page; `NotFound` when it is not `team`'s.
    async fn delete_status_page(&self, team: TeamId, id: StatusPageId) -> Result<(), StoreError>;

    async fn get_status_page(
        &self,
        team: TeamId,
        id: StatusPageId,
    ) -> Result<Option<StatusPage>, StoreError>;

    /// A team's pages, oldest first.
    async fn list_status_pages(&self, team: TeamId) -> Result<Vec<StatusPage>, StoreError>;

    async fn count_status_pages(&self, team: TeamId) -> Result<u64, StoreError>;

    /// The page a visitor asks for, of whichever team.
    async fn public_status_page(
        &self,
        key: PublicPageKey<'_>,
    ) -> Result<Option<StatusPage>, StoreError>;

    /// Which of `ids` are monitors of `team`.
    async fn team_monitor_ids(
        &self,
        team: TeamId,
        ids: &[MonitorId],
    ) -> Result<Vec<MonitorId>, StoreError>;

    /// `team`'s monitors among `ids` with their current status (broken ones left out), one query.
    async fn monitor_listings(
        &self,
        team: TeamId,
        ids: &[MonitorId],
    ) -> Result<Vec<MonitorListing>, StoreError>;

    /// Incidents of `team`'s monitors among `ids` opened in `[from, to)`, oldest first (at most
    /// 10,000).
    async fn incident_openings(
        &self,
        team: TeamId,
        ids: &[MonitorId],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<IncidentOpening>, StoreError>;
}
