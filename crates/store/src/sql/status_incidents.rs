//! Incident posts: a post row and its first update written in one transaction, an update
//! changing the post in the same transaction, and any number of posts read back with their
//! timelines in two queries. Every update queues its subscribers' messages in its transaction.

use super::{DbConnection, DbStore, dialect};
use crate::error::StoreError;
use crate::status_incidents::*;
use async_trait::async_trait;
use std::collections::HashMap;
use watchtower_core::status_incident::AffectedComponent;
use watchtower_core::{
    ComponentState, Impact, NewStatusIncident, PostStatus, StatusIncidentId, StatusIncidentUpdate,
    StatusPageId, TeamId, Timestamp,
};

const POST_COLUMNS: &str = "id, page_id, title, impact, status, components, created_at, \
     updated_at, resolved_at, published, automatic";

#[derive(Debug, sqlx::FromRow)]
struct PostRow {
    id: i64,
    page_id: i64,
    title: String,
    impact: String,
    status: String,
    components: String,
    created_at: i64,
    updated_at: i64,
    resolved_at: Option<i64>,
    published: bool,
    automatic: bool,
}

fn corrupt(what: &str, id: i64, problem: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("status incident {id}: {what}: {problem}"))
}

impl PostRow {
    fn into_post(self, updates: Vec<StatusUpdate>) -> Result<StatusIncident, StoreError> {
        Ok(StatusIncident {
            id: StatusIncidentId(self.id),
            page_id: StatusPageId(self.page_id),
            impact: Impact::parse(&self.impact).map_err(|e| corrupt("impact", self.id, e))?,
            status: PostStatus::parse(&self.status).map_err(|e| corrupt("status", self.id, e))?,
            components: serde_json::from_str(&self.components)
                .map_err(|e| corrupt("components", self.id, e))?,
            title: self.title,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
            resolved_at: self.resolved_at.map(Timestamp),
            published: self.published,
            automatic: self.automatic,
            updates,
        })
    }
}

pub(super) fn components_json(components: &[AffectedComponent]) -> String {
    serde_json::to_string(components).expect("names and states serialize")
}

/// Reads the updates of `rows`' posts and builds the posts, in the rows' order.
async fn with_updates(
    conn: &mut DbConnection,
    rows: Vec<PostRow>,
) -> Result<Vec<StatusIncident>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let updates: Vec<(i64, i64, String, String, i64)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, incident_id, status, message, created_at FROM status_incident_updates \
             WHERE incident_id {} ORDER BY incident_id, id",
            dialect::in_ids(1)
        )))
        .bind(dialect::id_list(&ids))
        .fetch_all(&mut *conn)
        .await?;
    let mut updates_of: HashMap<i64, Vec<StatusUpdate>> = HashMap::new();
    for (id, incident, status, message, created_at) in updates {
        updates_of.entry(incident).or_default().push(StatusUpdate {
            id,
            status: PostStatus::parse(&status).map_err(|e| corrupt("update", incident, e))?,
            message,
            created_at: Timestamp(created_at),
        });
    }
    rows.into_iter()
        .map(|row| {
            let updates = updates_of.remove(&row.id).unwrap_or_default();
            row.into_post(updates)
        })
        .collect()
}

pub(super) async fn read_post(
    conn: &mut DbConnection,
    team: TeamId,
    page: StatusPageId,
    id: StatusIncidentId,
) -> Result<Option<StatusIncident>, StoreError> {
    let row: Option<PostRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {POST_COLUMNS} FROM status_incidents WHERE id = $1 AND page_id = $2 \
         AND team_id = $3"
    )))
    .bind(id.0)
    .bind(page.0)
    .bind(team.0)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        None => Ok(None),
        Some(row) => Ok(with_updates(conn, vec![row]).await?.pop()),
    }
}

pub(super) async fn insert_update(
    conn: &mut DbConnection,
    incident: i64,
    status: PostStatus,
    message: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let update: i64 = sqlx::query_scalar(
        "INSERT INTO status_incident_updates (incident_id, status, message, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(incident)
    .bind(status.as_str())
    .bind(message)
    .bind(now.0)
    .fetch_one(&mut *conn)
    .await?;
    // The subscribers hear of it in the same transaction: never lost, never doubled.
    super::status_subscribers::enqueue_update(
        conn,
        incident,
        update,
        super::status_subscribers::UpdateNews::Written,
        now,
    )
    .await
}

/// What a resolved post says of its components: each operational again.
pub(super) fn resolved(components: &[AffectedComponent]) -> Vec<AffectedComponent> {
    components
        .iter()
        .map(|component| AffectedComponent {
            name: component.name.clone(),
            state: ComponentState::Operational,
        })
        .collect()
}

#[async_trait]
impl StatusIncidentStore for DbStore {
    #[tracing::instrument(name = "store.create_status_incident", level = "debug", skip_all)]
    async fn create_status_incident(
        &self,
        team: TeamId,
        page: StatusPageId,
        post: &NewStatusIncident,
        now: Timestamp,
    ) -> Result<StatusIncident, StoreError> {
        let is_resolved = post.status == PostStatus::Resolved;
        let components = if is_resolved {
            resolved(&post.components)
        } else {
            post.components.clone()
        };
        let mut tx = self.begin_write().await?;
        // Selected by page and team, so a post cannot land on another team's page.
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO status_incidents (team_id, page_id, title, impact, status, components, \
             created_at, updated_at, resolved_at) \
             SELECT team_id, id, $1, $2, $3, $4, $5, $5, $6 FROM status_pages \
             WHERE id = $7 AND team_id = $8 RETURNING id",
        )
        .bind(&post.title)
        .bind(post.impact.as_str())
        .bind(post.status.as_str())
        .bind(components_json(&components))
        .bind(now.0)
        .bind(is_resolved.then_some(now.0))
        .bind(page.0)
        .bind(team.0)
        .fetch_optional(&mut *tx)
        .await?;
        let id = id.ok_or(StoreError::NotFound)?;
        insert_update(&mut tx, id, post.status, &post.message, now).await?;
        let post = read_post(&mut tx, team, page, StatusIncidentId(id))
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(post)
    }

    #[tracing::instrument(name = "store.add_status_incident_update", level = "debug", skip_all)]
    async fn add_status_incident_update(
        &self,
        team: TeamId,
        page: StatusPageId,
        id: StatusIncidentId,
        update: &StatusIncidentUpdate,
        now: Timestamp,
    ) -> Result<StatusIncident, StoreError> {
        let mut tx = self.begin_write().await?;
        let current = read_post(&mut tx, team, page, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let is_resolved = update.status == PostStatus::Resolved;
        let given = update.components.as_deref().unwrap_or(&current.components);
        let components = if is_resolved {
            resolved(given)
        } else {
            given.to_vec()
        };
        let resolved_at = match (is_resolved, current.resolved_at) {
            (true, Some(at)) => Some(at.0),
            (true, None) => Some(now.0),
            (false, _) => None,
        };
        sqlx::query(
            "UPDATE status_incidents SET status = $1, components = $2, updated_at = $3, \
             resolved_at = $4 WHERE id = $5 AND team_id = $6",
        )
        .bind(update.status.as_str())
        .bind(components_json(&components))
        .bind(now.0)
        .bind(resolved_at)
        .bind(id.0)
        .bind(team.0)
        .execute(&mut *tx)
        .await?;
        insert_update(&mut tx, id.0, update.status, &update.message, now).await?;
        let post = read_post(&mut tx, team, page, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(post)
    }

    #[tracing::instrument(name = "store.get_status_incident", level = "debug", skip_all)]
    async fn get_status_incident(
        &self,
        team: TeamId,
        page: StatusPageId,
        id: StatusIncidentId,
    ) -> Result<Option<StatusIncident>, StoreError> {
        let mut tx = self.begin_snapshot().await?;
        let post = read_post(&mut tx, team, page, id).await?;
        tx.commit().await?;
        Ok(post)
    }

    #[tracing::instrument(name = "store.delete_status_incident", level = "debug", skip_all)]
    async fn delete_status_incident(
        &self,
        team: TeamId,
        page: StatusPageId,
        id: StatusIncidentId,
    ) -> Result<(), StoreError> {
        let deleted = sqlx::query(
            "DELETE FROM status_incidents WHERE id = $1 AND page_id = $2 AND team_id = $3",
        )
        .bind(id.0)
        .bind(page.0)
        .bind(team.0)
        .execute(self.writer())
        .await?;
        if deleted.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    #[tracing::instrument(name = "store.publish_status_incident", level = "debug", skip_all)]
    async fn publish_status_incident(
        &self,
        team: TeamId,
        page: StatusPageId,
        id: StatusIncidentId,
        now: Timestamp,
    ) -> Result<StatusIncident, StoreError> {
        let mut tx = self.begin_write().await?;
        let published = sqlx::query(
            "UPDATE status_incidents SET published = TRUE, updated_at = $1 \
             WHERE id = $2 AND page_id = $3 AND team_id = $4 AND NOT published",
        )
        .bind(now.0)
        .bind(id.0)
        .bind(page.0)
        .bind(team.0)
        .execute(&mut *tx)
        .await?;
        if published.rows_affected() == 1 {
            // Subscribers were told nothing of the draft: they hear of the post now.
            super::status_subscribers::enqueue_latest_update(&mut tx, id.0, now).await?;
        }
        let post = read_post(&mut tx, team, page, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(post)
    }

    #[tracing::instrument(name = "store.page_status_incidents", level = "debug", skip_all)]
    async fn page_status_incidents(
        &self,
        page: StatusPageId,
        which: PagePosts,
        readers: PostReaders,
    ) -> Result<Vec<StatusIncident>, StoreError> {
        let (filter, bounds, limit): (&str, Vec<i64>, u32) = match which {
            PagePosts::Current { resolved_since } => (
                "(resolved_at IS NULL OR resolved_at >= $2)",
                vec![resolved_since.0],
                MAX_POSTS,
            ),
            PagePosts::CreatedBetween { from, to } => (
                "created_at >= $2 AND created_at < $3",
                vec![from.0, to.0],
                MAX_POSTS,
            ),
            PagePosts::Newest(count) => ("TRUE", Vec::new(), count.min(MAX_POSTS)),
        };
        let drafts = match readers {
            PostReaders::Visitors => "published",
            PostReaders::Team => "TRUE",
        };
        let limit_at = bounds.len() + 2;
        let sql = format!(
            "SELECT {POST_COLUMNS} FROM status_incidents WHERE page_id = $1 AND {filter} \
             AND {drafts} ORDER BY created_at DESC, id DESC LIMIT ${limit_at}"
        );
        let mut query = sqlx::query_as::<_, PostRow>(sqlx::AssertSqlSafe(sql)).bind(page.0);
        for bound in bounds {
            query = query.bind(bound);
        }
        let mut tx = self.begin_snapshot().await?;
        let rows = query.bind(i64::from(limit)).fetch_all(&mut *tx).await?;
        let posts = with_updates(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(posts)
    }
}
