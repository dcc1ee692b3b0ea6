//! Status pages: a page row, its groups, components and component monitors, written together in
//! one transaction (an edit replaces the groups), read back in three queries for any number of
//! pages; and the monitor reads a public page needs.

use super::{DbConnection, DbStore, dialect};
use crate::error::StoreError;
use crate::model::MonitorListing;
use crate::rows::{MonitorStatusRow, write_error};
use crate::status_pages::*;
use async_trait::async_trait;
use std::collections::HashMap;
use watchtower_core::status_page::{
    AutoIncidents, ComponentGroup, ComponentSpec, PageSecret, PageVisibility,
};
use watchtower_core::{
    ChannelId, MonitorId, StatusPageId, StatusPageSpec, StatusSlug, TeamId, Timestamp,
};

const PAGE_COLUMNS: &str = "id, team_id, slug, title, description, custom_domain, logo_url, \
     accent_color, footer_text, time_zone, history_days, show_response_times, hide_from_search, \
     visibility, password_hash, auto_incidents, subscriber_channel_id, created_at, updated_at";

/// The most pages one read returns (a plan allows far fewer, except unlimited ones).
const MAX_PAGES: i64 = 1_000;

#[derive(Debug, sqlx::FromRow)]
struct PageRow {
    id: i64,
    team_id: i64,
    slug: String,
    title: String,
    description: String,
    custom_domain: Option<String>,
    logo_url: Option<String>,
    accent_color: Option<String>,
    footer_text: String,
    time_zone: String,
    history_days: i64,
    show_response_times: bool,
    hide_from_search: bool,
    visibility: String,
    password_hash: Option<String>,
    auto_incidents: String,
    subscriber_channel_id: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl PageRow {
    fn into_page(self, groups: Vec<ComponentGroup>) -> Result<StatusPage, StoreError> {
        Ok(StatusPage {
            id: StatusPageId(self.id),
            team_id: TeamId(self.team_id),
            spec: StatusPageSpec {
                slug: StatusSlug::parse(&self.slug).map_err(StoreError::Corrupt)?,
                title: self.title,
                description: self.description,
                custom_domain: self.custom_domain,
                logo_url: self.logo_url,
                accent_color: self.accent_color,
                footer_text: self.footer_text,
                time_zone: self.time_zone,
                history_days: u16::try_from(self.history_days).map_err(|_| {
                    StoreError::Corrupt(format!("history_days {}", self.history_days))
                })?,
                show_response_times: self.show_response_times,
                hide_from_search: self.hide_from_search,
                visibility: parse_visibility(&self.visibility)?,
                password: None,
                password_hash: self.password_hash.map(PageSecret::new),
                auto_incidents: AutoIncidents::parse(&self.auto_incidents).ok_or_else(|| {
                    StoreError::Corrupt(format!("auto_incidents {}", self.auto_incidents))
                })?,
                groups,
            },
            subscriber_channel_id: self.subscriber_channel_id.map(ChannelId),
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
        })
    }
}

fn parse_visibility(raw: &str) -> Result<PageVisibility, StoreError> {
    [
        PageVisibility::Public,
        PageVisibility::Password,
        PageVisibility::Members,
    ]
    .into_iter()
    .find(|visibility| visibility.as_str() == raw)
    .ok_or_else(|| StoreError::Corrupt(format!("status page visibility {raw}")))
}

/// The hash stored with `spec`: its own on a password page, none on any other.
fn stored_hash(spec: &StatusPageSpec) -> Option<&str> {
    match spec.visibility {
        PageVisibility::Password => spec.password_hash.as_ref().map(PageSecret::expose),
        PageVisibility::Public | PageVisibility::Members => None,
    }
}

/// Reads the groups of `rows`' pages and builds the pages, in the rows' order.
async fn with_groups(
    conn: &mut DbConnection,
    rows: Vec<PageRow>,
) -> Result<Vec<StatusPage>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let in_ids = dialect::in_ids(1);
    let groups: Vec<(i64, i64, Option<String>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, page_id, name FROM status_page_groups WHERE page_id {in_ids} \
         ORDER BY page_id, position"
    )))
    .bind(dialect::id_list(&ids))
    .fetch_all(&mut *conn)
    .await?;
    let components: Vec<(i64, i64, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT c.id, c.group_id, c.name, c.description FROM status_page_components c \
             JOIN status_page_groups g ON g.id = c.group_id WHERE g.page_id {in_ids} \
             ORDER BY c.group_id, c.position"
    )))
    .bind(dialect::id_list(&ids))
    .fetch_all(&mut *conn)
    .await?;
    let monitors: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT cm.component_id, cm.monitor_id FROM status_page_component_monitors cm \
         JOIN status_page_components c ON c.id = cm.component_id \
         JOIN status_page_groups g ON g.id = c.group_id WHERE g.page_id {in_ids} \
         ORDER BY cm.component_id, cm.position"
    )))
    .bind(dialect::id_list(&ids))
    .fetch_all(&mut *conn)
    .await?;
    let mut monitors_of: HashMap<i64, Vec<MonitorId>> = HashMap::new();
    for (component, monitor) in monitors {
        monitors_of
            .entry(component)
            .or_default()
            .push(MonitorId(monitor));
    }
    let mut components_of: HashMap<i64, Vec<ComponentSpec>> = HashMap::new();
    for (id, group, name, description) in components {
        components_of.entry(group).or_default().push(ComponentSpec {
            name,
            description,
            monitors: monitors_of.remove(&id).unwrap_or_default(),
        });
    }
    let mut groups_of: HashMap<i64, Vec<ComponentGroup>> = HashMap::new();
    for (id, page, name) in groups {
        groups_of.entry(page).or_default().push(ComponentGroup {
            name,
            components: components_of.remove(&id).unwrap_or_default(),
        });
    }
    rows.into_iter()
        .map(|row| {
            let groups = groups_of.remove(&row.id).unwrap_or_default();
            row.into_page(groups)
        })
        .collect()
}

/// Writes a page's groups, components and component monitors. Every monitor must be `team`'s:
/// the insert selects it by id and team, and a missing row is `NotFound`.
async fn insert_groups(
    conn: &mut DbConnection,
    team: TeamId,
    page: i64,
    spec: &StatusPageSpec,
) -> Result<(), StoreError> {
    for (group_position, group) in spec.groups.iter().enumerate() {
        let group_id: i64 = sqlx::query_scalar(
            "INSERT INTO status_page_groups (page_id, position, name) VALUES ($1, $2, $3) \
             RETURNING id",
        )
        .bind(page)
        .bind(group_position as i64)
        .bind(group.name.as_deref())
        .fetch_one(&mut *conn)
        .await?;
        for (position, component) in group.components.iter().enumerate() {
            let component_id: i64 = sqlx::query_scalar(
                "INSERT INTO status_page_components (group_id, position, name, description) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(group_id)
            .bind(position as i64)
            .bind(&component.name)
            .bind(&component.description)
            .fetch_one(&mut *conn)
            .await?;
            for (monitor_position, monitor) in component.monitors.iter().enumerate() {
                let inserted = sqlx::query(
                    "INSERT INTO status_page_component_monitors (component_id, position, monitor_id) \
                     SELECT $1, $2, id FROM monitors WHERE id = $3 AND team_id = $4 \
                     ON CONFLICT DO NOTHING",
                )
                .bind(component_id)
                .bind(monitor_position as i64)
                .bind(monitor.0)
                .bind(team.0)
                .execute(&mut *conn)
                .await?;
                if inserted.rows_affected() != 1 {
                    return Err(StoreError::NotFound);
                }
            }
        }
    }
    Ok(())
}

async fn read_page(
    conn: &mut DbConnection,
    team: TeamId,
    id: i64,
) -> Result<Option<StatusPage>, StoreError> {
    let row: Option<PageRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PAGE_COLUMNS} FROM status_pages WHERE id = $1 AND team_id = $2"
    )))
    .bind(id)
    .bind(team.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(with_groups(conn, vec![row]).await?.pop())
}

#[async_trait]
impl StatusPageStore for DbStore {
    #[tracing::instrument(name = "store.create_status_page", level = "debug", skip_all)]
    async fn create_status_page(
        &self,
        team: TeamId,
        spec: &StatusPageSpec,
        now: Timestamp,
    ) -> Result<StatusPage, StoreError> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO status_pages (team_id, slug, title, description, custom_domain, \
             logo_url, accent_color, footer_text, time_zone, history_days, show_response_times, \
             hide_from_search, visibility, password_hash, auto_incidents, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) \
             RETURNING id",
        )
        .bind(team.0)
        .bind(spec.slug.as_str())
        .bind(&spec.title)
        .bind(&spec.description)
        .bind(spec.custom_domain.as_deref())
        .bind(spec.logo_url.as_deref())
        .bind(spec.accent_color.as_deref())
        .bind(&spec.footer_text)
        .bind(&spec.time_zone)
        .bind(i64::from(spec.history_days))
        .bind(spec.show_response_times)
        .bind(spec.hide_from_search)
        .bind(spec.visibility.as_str())
        .bind(stored_hash(spec))
        .bind(spec.auto_incidents.as_str())
        .bind(now.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(write_error)?;
        insert_groups(&mut tx, team, id, spec).await?;
        let page = read_page(&mut tx, team, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(page)
    }

    #[tracing::instrument(name = "store.update_status_page", level = "debug", skip_all)]
    async fn update_status_page(
        &self,
        team: TeamId,
        id: StatusPageId,
        spec: &StatusPageSpec,
        now: Timestamp,
    ) -> Result<StatusPage, StoreError> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE status_pages SET slug = $1, title = $2, description = $3, custom_domain = $4, \
             logo_url = $5, accent_color = $6, footer_text = $7, time_zone = $8, \
             history_days = $9, show_response_times = $10, hide_from_search = $11, \
             visibility = $12, password_hash = $13, auto_incidents = $14, updated_at = $15 \
             WHERE id = $16 AND team_id = $17",
        )
        .bind(spec.slug.as_str())
        .bind(&spec.title)
        .bind(&spec.description)
        .bind(spec.custom_domain.as_deref())
        .bind(spec.logo_url.as_deref())
        .bind(spec.accent_color.as_deref())
        .bind(&spec.footer_text)
        .bind(&spec.time_zone)
        .bind(i64::from(spec.history_days))
        .bind(spec.show_response_times)
        .bind(spec.hide_from_search)
        .bind(spec.visibility.as_str())
        .bind(stored_hash(spec))
        .bind(spec.auto_incidents.as_str())
        .bind(now.0)
        .bind(id.0)
        .bind(team.0)
        .execute(&mut *tx)
        .await
        .map_err(write_error)?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        // The groups' rows cascade to their components and component monitors.
        sqlx::query("DELETE FROM status_page_groups WHERE page_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        insert_groups(&mut tx, team, id.0, spec).await?;
        let page = read_page(&mut tx, team, id.0)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(page)
    }

    #[tracing::instrument(name = "store.delete_status_page", level = "debug", skip_all)]
    async fn delete_status_page(&self, team: TeamId, id: StatusPageId) -> Result<(), StoreError> {
        let deleted = sqlx::query("DELETE FROM status_pages WHERE id = $1 AND team_id = $2")
            .bind(id.0)
            .bind(team.0)
            .execute(self.writer())
            .await?;
        if deleted.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    #[tracing::instrument(name = "store.get_status_page", level = "debug", skip_all)]
    async fn get_status_page(
        &self,
        team: TeamId,
        id: StatusPageId,
    ) -> Result<Option<StatusPage>, StoreError> {
        let mut tx = self.begin_snapshot().await?;
        let page = read_page(&mut tx, team, id.0).await?;
        tx.commit().await?;
        Ok(page)
    }

    #[tracing::instrument(name = "store.list_status_pages", level = "debug", skip_all)]
    async fn list_status_pages(&self, team: TeamId) -> Result<Vec<StatusPage>, StoreError> {
        let mut tx = self.begin_snapshot().await?;
        let rows: Vec<PageRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {PAGE_COLUMNS} FROM status_pages WHERE team_id = $1 ORDER BY id LIMIT $2"
        )))
        .bind(team.0)
        .bind(MAX_PAGES)
        .fetch_all(&mut *tx)
        .await?;
        let pages = with_groups(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(pages)
    }

    #[tracing::instrument(name = "store.count_status_pages", level = "debug", skip_all)]
    async fn count_status_pages(&self, team: TeamId) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM status_pages WHERE team_id = $1")
            .bind(team.0)
            .fetch_one(self.reader())
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    #[tracing::instrument(name = "store.public_status_page", level = "debug", skip_all)]
    async fn public_status_page(
        &self,
        key: PublicPageKey<'_>,
    ) -> Result<Option<StatusPage>, StoreError> {
        let (column, value) = match key {
            PublicPageKey::Slug(slug) => ("slug", slug),
            PublicPageKey::Domain(domain) => ("custom_domain", domain),
        };
        let mut tx = self.begin_snapshot().await?;
        let row: Option<PageRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {PAGE_COLUMNS} FROM status_pages WHERE {column} = $1"
        )))
        .bind(value)
        .fetch_optional(&mut *tx)
        .await?;
        let page = match row {
            None => None,
            Some(row) => with_groups(&mut tx, vec![row]).await?.pop(),
        };
        tx.commit().await?;
        Ok(page)
    }

    #[tracing::instrument(name = "store.team_monitor_ids", level = "debug", skip_all)]
    async fn team_monitor_ids(
        &self,
        team: TeamId,
        ids: &[MonitorId],
    ) -> Result<Vec<MonitorId>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
        let found: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM monitors WHERE id {} AND team_id = $2 ORDER BY id",
            dialect::in_ids(1)
        )))
        .bind(dialect::id_list(&ids))
        .bind(team.0)
        .fetch_all(self.reader())
        .await?;
        Ok(found.into_iter().map(MonitorId).collect())
    }

    #[tracing::instrument(name = "store.monitor_listings", level = "debug", skip_all)]
    async fn monitor_listings(
        &self,
        team: TeamId,
        ids: &[MonitorId],
    ) -> Result<Vec<MonitorListing>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
        let sql = format!(
            "SELECT {} FROM monitors m LEFT JOIN monitor_status s ON s.monitor_id = m.id \
             WHERE m.id {} AND m.team_id = $2 ORDER BY m.id",
            super::monitors::LISTING_COLUMNS,
            dialect::in_ids(1)
        );
        let rows: Vec<MonitorStatusRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(dialect::id_list(&ids))
            .bind(team.0)
            .fetch_all(self.reader())
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                row.into_listing()
                    .map_err(|broken| {
                        tracing::warn!(monitor = %broken.id, error = %broken.error, "a status page skips a monitor that cannot be read");
                    })
                    .ok()
            })
            .collect())
    }

    #[tracing::instrument(name = "store.incident_openings", level = "debug", skip_all)]
    async fn incident_openings(
        &self,
        team: TeamId,
        ids: &[MonitorId],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<IncidentOpening>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
        let rows: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT monitor_id, opened_at FROM incidents WHERE monitor_id {} AND team_id = $2 \
             AND opened_at >= $3 AND opened_at < $4 ORDER BY opened_at LIMIT 10000",
            dialect::in_ids(1)
        )))
        .bind(dialect::id_list(&ids))
        .bind(team.0)
        .bind(from.0)
        .bind(to.0)
        .fetch_all(self.reader())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(monitor, opened)| IncidentOpening {
                monitor_id: MonitorId(monitor),
                opened_at: Timestamp(opened),
            })
            .collect())
    }
}
