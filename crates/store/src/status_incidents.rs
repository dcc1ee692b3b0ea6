//! Incident posts on status pages as stored: a post with the page it is on, its latest status
//! and components, and its timeline of updates. The team's reads and writes take the team and
//! the page; a visitor's read takes only a page (found by slug or domain first).

use crate::error::StoreError;
use async_trait::async_trait;
use serde::Serialize;
use watchtower_core::status_incident::AffectedComponent;
use watchtower_core::{
    Impact, NewStatusIncident, PostStatus, StatusIncidentId, StatusIncidentUpdate, StatusPageId,
    TeamId, Timestamp,
};

/// The most posts one read returns.
pub const MAX_POSTS: u32 = 200;

/// An incident post with its timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StatusIncident {
    pub id: StatusIncidentId,
    pub page_id: StatusPageId,
    pub title: String,
    pub impact: Impact,
    /// The latest update's status.
    pub status: PostStatus,
    /// The affected components and their state (all operational once resolved).
    pub components: Vec<AffectedComponent>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When an update said resolved; `null` while open.
    pub resolved_at: Option<Timestamp>,
    /// False for a draft: only the team sees it until it is published.
    pub published: bool,
    /// Written by the page itself when a monitor went DOWN (its `auto_incidents` setting); such a
    /// post resolves by itself when its monitors recover.
    pub automatic: bool,
    /// Oldest first; the first one came with the post.
    pub updates: Vec<StatusUpdate>,
}

impl StatusIncident {
    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }
}

/// One update of a post's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StatusUpdate {
    pub id: i64,
    pub status: PostStatus,
    pub message: String,
    pub created_at: Timestamp,
}

/// Which of a page's posts a read wants, newest first, at most [`MAX_POSTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagePosts {
    /// The open ones and those resolved at or after this time (the page's "now").
    Current { resolved_since: Timestamp },
    /// Those created in `[from, to)` (a month of history).
    CreatedBetween { from: Timestamp, to: Timestamp },
    /// The newest ones (the team's list, the feeds).
    Newest(u32),
}

/// Who a read is for: visitors never see drafts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostReaders {
    Visitors,
    /// The page's team: drafts too.
    Team,
}

/// The incident-post part of the store.
#[async_trait]
pub trait StatusIncidentStore: Send + Sync {
    /// Posts an incident with its first update on `page`; `NotFound` when the page is not
    /// `team`'s.
    async fn create_status_incident(
        &self,
        team: TeamId,
        page: StatusPageId,
        post: &NewStatusIncident,
        now: Timestamp,
    ) -> Result<StatusIncident, StoreError>;

    /// Adds an update: the post takes its status (and its components when given; all
    /// operational when resolved); `resolved_at` is set by a resolved update and cleared by any
    /// other. `NotFound` when the post is not on `team`'s `page`.
    async fn add_status_incident_update(
        &self,
        team: TeamId,
        page: StatusPageId,
        id: StatusIncidentId,
        update: &StatusIncidentUpdate,
        now: Timestamp,
    ) -> Result<StatusIncident, StoreError>;

    async fn get_status_incident(
        &self,
        team: TeamId,
        page: StatusPageId,
        id: StatusIncidentId,
    ) -> Result<Option<StatusIncident>, StoreError>;

    /// Deletes a post and its updates; `NotFound` when it is not on `team`'s `page`.
    async fn delete_status_incident(
        &self,
        team: TeamId,
        page: StatusPageId,
        id: StatusIncidentId,
    ) -> Result<(), StoreError>;

    /// Publishes a draft (a published post stays as it is); `NotFound` when the post is not on
    /// `team`'s `page`.
    async fn publish_status_incident(
        &self,
        team: TeamId,
        page: StatusPageId,
        id: StatusIncidentId,
        now: Timestamp,
    ) -> Result<StatusIncident, StoreError>;

    /// A page's posts, of whichever team (the caller found the page first), newest first.
    async fn page_status_incidents(
        &self,
        page: StatusPageId,
        which: PagePosts,
        readers: PostReaders,
    ) -> Result<Vec<StatusIncident>, StoreError>;
}
