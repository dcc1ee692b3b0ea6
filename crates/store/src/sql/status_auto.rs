//! Incident posts a status page writes by itself (its `auto_incidents` setting), in the batch's
//! own transaction: a monitor incident that opens is posted on every such page whose components
//! show the monitor (or joins the page's open automatic post), and a post resolves when the last
//! monitor incident it stands for does. Only the batch's newly written events are followed, so a
//! replayed batch posts and resolves nothing twice; a post the team resolved by hand is left alone.

use super::status_incidents::{components_json, insert_update, resolved};
use super::{DbConnection, dialect};
use crate::error::StoreError;
use std::collections::{BTreeMap, BTreeSet};
use watchtower_core::status_incident::{AffectedComponent, template_subject};
use watchtower_core::{AutoIncidents, ComponentState, Impact, PostStatus};

/// A monitor incident that opened or resolved in the batch (its event row was new).
#[derive(Debug, Clone, Copy)]
pub(crate) struct IncidentTurn {
    pub team: i64,
    pub monitor: i64,
    pub incident: i64,
    pub opened: bool,
    pub at: i64,
}

/// Follows the batch's incident turns on the pages that post by themselves.
pub(crate) async fn follow(
    conn: &mut DbConnection,
    turns: &[IncidentTurn],
) -> Result<(), StoreError> {
    let opened: Vec<&IncidentTurn> = turns.iter().filter(|turn| turn.opened).collect();
    if !opened.is_empty() {
        post_openings(conn, &opened).await?;
    }
    for turn in turns.iter().filter(|turn| !turn.opened) {
        resolve_links(conn, turn).await?;
    }
    Ok(())
}

/// A component of an automatic page that shows an opened monitor.
#[derive(Debug, sqlx::FromRow)]
struct ShownRow {
    monitor_id: i64,
    page_id: i64,
    team_id: i64,
    auto_incidents: String,
    name: String,
    monitors: i64,
    down: i64,
}

/// What one page posts for the batch.
#[derive(Debug, Default)]
struct PagePost {
    team: i64,
    published: bool,
    at: i64,
    components: Vec<AffectedComponent>,
    /// (monitor incident, component name)
    links: Vec<(i64, String)>,
}

async fn post_openings(
    conn: &mut DbConnection,
    opened: &[&IncidentTurn],
) -> Result<(), StoreError> {
    let monitors: Vec<i64> = opened.iter().map(|turn| turn.monitor).collect();
    // The component's state counts its monitors DOWN now: the batch's status rows are written.
    let shown: Vec<ShownRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT cm.monitor_id, p.id AS page_id, p.team_id, p.auto_incidents, c.name, \
         (SELECT COUNT(*) FROM status_page_component_monitors x \
          WHERE x.component_id = c.id) AS monitors, \
         (SELECT COUNT(*) FROM status_page_component_monitors x \
          JOIN monitor_status s ON s.monitor_id = x.monitor_id \
          WHERE x.component_id = c.id AND s.state = 'DOWN') AS down \
         FROM status_page_component_monitors cm \
         JOIN status_page_components c ON c.id = cm.component_id \
         JOIN status_page_groups g ON g.id = c.group_id \
         JOIN status_pages p ON p.id = g.page_id \
         WHERE cm.monitor_id {} AND p.auto_incidents <> 'off' \
         ORDER BY p.id, g.position, c.position",
        dialect::in_ids(1)
    )))
    .bind(dialect::id_list(&monitors))
    .fetch_all(&mut *conn)
    .await?;
    if shown.is_empty() {
        return Ok(());
    }
    let mut pages: BTreeMap<i64, PagePost> = BTreeMap::new();
    for row in shown {
        // A component shows only its own team's monitors; checked again all the same.
        let Some(turn) = opened
            .iter()
            .find(|turn| turn.monitor == row.monitor_id && turn.team == row.team_id)
        else {
            continue;
        };
        let post = pages.entry(row.page_id).or_default();
        post.team = row.team_id;
        post.published =
            AutoIncidents::parse(&row.auto_incidents) == Some(AutoIncidents::Published);
        post.at = post.at.max(turn.at);
        let state = if row.down >= row.monitors {
            ComponentState::MajorOutage
        } else {
            ComponentState::PartialOutage
        };
        match post.components.iter_mut().find(|c| c.name == row.name) {
            Some(known) => known.state = state,
            None => post.components.push(AffectedComponent {
                name: row.name.clone(),
                state,
            }),
        }
        post.links.push((turn.incident, row.name));
    }
    for (page, post) in pages {
        post_on_page(conn, page, post).await?;
    }
    Ok(())
}

fn impact_of(components: &[AffectedComponent]) -> Impact {
    if components
        .iter()
        .any(|c| c.state == ComponentState::MajorOutage)
    {
        Impact::Sev1
    } else {
        Impact::Sev2
    }
}

/// Joins the page's open automatic post, or writes a new one, and links the monitor incidents.
async fn post_on_page(
    conn: &mut DbConnection,
    page: i64,
    post: PagePost,
) -> Result<(), StoreError> {
    let open: Option<(i64, String, String)> = sqlx::query_as(
        "SELECT id, impact, CAST(components AS TEXT) FROM status_incidents \
         WHERE page_id = $1 AND automatic AND resolved_at IS NULL ORDER BY id DESC LIMIT 1",
    )
    .bind(page)
    .fetch_optional(&mut *conn)
    .await?;
    let post_id = match open {
        Some((id, impact, components)) => {
            join_open_post(conn, id, &impact, &components, &post).await?;
            id
        }
        None => {
            let subject = template_subject(&post.components);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO status_incidents (team_id, page_id, title, impact, status, \
                 components, created_at, updated_at, published, automatic) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, TRUE) RETURNING id",
            )
            .bind(post.team)
            .bind(page)
            .bind(format!("{subject} outage"))
            .bind(impact_of(&post.components).as_str())
            .bind(PostStatus::Investigating.as_str())
            .bind(components_json(&post.components))
            .bind(post.at)
            .bind(post.published)
            .fetch_one(&mut *conn)
            .await?;
            let message = PostStatus::Investigating.template(&subject);
            insert_update(
                conn,
                id,
                PostStatus::Investigating,
                &message,
                watchtower_core::Timestamp(post.at),
            )
            .await?;
            id
        }
    };
    for (incident, component) in &post.links {
        sqlx::query(
            "INSERT INTO status_auto_links (post_id, incident_id, component) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(post_id)
        .bind(incident)
        .bind(component)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A further outage while the page's automatic post is open: the post takes the components'
/// new states, a worse impact, and for components it did not name yet an update saying so.
async fn join_open_post(
    conn: &mut DbConnection,
    id: i64,
    impact: &str,
    components: &str,
    post: &PagePost,
) -> Result<(), StoreError> {
    let corrupt = |problem: String| StoreError::Corrupt(format!("status incident {id}: {problem}"));
    let mut current: Vec<AffectedComponent> =
        serde_json::from_str(components).map_err(|e| corrupt(e.to_string()))?;
    let impact = Impact::parse(impact).map_err(corrupt)?;
    let mut added = Vec::new();
    for component in &post.components {
        match current.iter_mut().find(|c| c.name == component.name) {
            Some(known) => known.state = component.state,
            None => {
                current.push(component.clone());
                added.push(component.clone());
            }
        }
    }
    let impact = impact.min(impact_of(&current));
    let at = watchtower_core::Timestamp(post.at);
    // A component new to the post sets it back to investigating; a state change alone does not.
    sqlx::query(
        "UPDATE status_incidents SET components = $1, impact = $2, \
         status = CASE WHEN $3 THEN $4 ELSE status END, updated_at = $5 WHERE id = $6",
    )
    .bind(components_json(&current))
    .bind(impact.as_str())
    .bind(!added.is_empty())
    .bind(PostStatus::Investigating.as_str())
    .bind(at.0)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if added.is_empty() {
        return Ok(());
    }
    let message = PostStatus::Investigating.template(&template_subject(&added));
    insert_update(conn, id, PostStatus::Investigating, &message, at).await
}

/// A monitor incident resolved: its links end; a post with none left open resolves, and a
/// component with none left open is operational again.
async fn resolve_links(conn: &mut DbConnection, turn: &IncidentTurn) -> Result<(), StoreError> {
    let ended: Vec<(i64, String)> = sqlx::query_as(
        "UPDATE status_auto_links SET resolved_at = $1 \
         WHERE incident_id = $2 AND resolved_at IS NULL RETURNING post_id, component",
    )
    .bind(turn.at)
    .bind(turn.incident)
    .fetch_all(&mut *conn)
    .await?;
    let posts: BTreeSet<i64> = ended.iter().map(|(post, _)| *post).collect();
    for post in posts {
        let row: Option<(String, Option<i64>)> = sqlx::query_as(
            "SELECT CAST(components AS TEXT), resolved_at FROM status_incidents WHERE id = $1",
        )
        .bind(post)
        .fetch_optional(&mut *conn)
        .await?;
        // Gone, or resolved by the team already.
        let Some((components, None)) = row else {
            continue;
        };
        let mut components: Vec<AffectedComponent> = serde_json::from_str(&components)
            .map_err(|e| StoreError::Corrupt(format!("status incident {post}: {e}")))?;
        let still_down: BTreeSet<String> = sqlx::query_scalar::<_, String>(
            "SELECT component FROM status_auto_links WHERE post_id = $1 AND resolved_at IS NULL",
        )
        .bind(post)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
        if still_down.is_empty() {
            sqlx::query(
                "UPDATE status_incidents SET status = $1, components = $2, updated_at = $3, \
                 resolved_at = $3 WHERE id = $4",
            )
            .bind(PostStatus::Resolved.as_str())
            .bind(components_json(&resolved(&components)))
            .bind(turn.at)
            .bind(post)
            .execute(&mut *conn)
            .await?;
            let message = PostStatus::Resolved.template(&template_subject(&components));
            insert_update(
                conn,
                post,
                PostStatus::Resolved,
                &message,
                watchtower_core::Timestamp(turn.at),
            )
            .await?;
            continue;
        }
        let recovered: BTreeSet<&str> = ended
            .iter()
            .filter(|(of, name)| *of == post && !still_down.contains(name))
            .map(|(_, name)| name.as_str())
            .collect();
        for component in &mut components {
            if recovered.contains(component.name.as_str()) {
                component.state = ComponentState::Operational;
            }
        }
        sqlx::query("UPDATE status_incidents SET components = $1, updated_at = $2 WHERE id = $3")
            .bind(components_json(&components))
            .bind(turn.at)
            .bind(post)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
