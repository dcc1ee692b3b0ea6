//! Incident posts on a status page through the API: list, post (with its first update), read,
//! add an update, delete; and the operations guide's severity levels and message templates a
//! form prefills from. A post names the page's components by name; a name the page does not
//! have is a field error. Every change empties the public pages' cache, so visitors see it at
//! once, and is written to the audit log.

use crate::AppState;
use crate::api::{ApiJson, TeamHeader};
use crate::auth::TeamAccess;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use watchtower_core::status_incident::AffectedComponent;
use watchtower_core::{
    Action, FieldError, Impact, NewStatusIncident, PostStatus, StatusIncidentId,
    StatusIncidentUpdate, StatusPageId, Timestamp,
};
use watchtower_store::{PagePosts, PostReaders, StatusIncident, StatusPage};

/// How many posts the team's list shows.
const LIST_LIMIT: u32 = 100;

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusIncidentList {
    /// Newest first, at most 100.
    pub incidents: Vec<StatusIncident>,
}

/// A severity level as the operations guide defines it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImpactLevel {
    pub impact: Impact,
    /// `SEV1`.
    pub label: &'static str,
    pub meaning: &'static str,
}

/// The message an update of this status starts from.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageTemplate {
    pub status: PostStatus,
    /// `{components}` stands for the affected components' names ("Website and API").
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentTemplates {
    pub impacts: Vec<ImpactLevel>,
    pub templates: Vec<MessageTemplate>,
}

/// The levels and templates, the same for every team.
pub fn templates() -> IncidentTemplates {
    IncidentTemplates {
        impacts: Impact::ALL
            .into_iter()
            .map(|impact| ImpactLevel {
                impact,
                label: impact.label(),
                meaning: impact.meaning(),
            })
            .collect(),
        templates: PostStatus::ALL
            .into_iter()
            .map(|status| MessageTemplate {
                status,
                message: status.template("{components}"),
            })
            .collect(),
    }
}

/// The severity levels and the operations guide's message templates, for a form to prefill.
#[utoipa::path(get, path = "/api/status-incident-templates", tag = "status_pages",
    params(TeamHeader), responses((status = 200, body = IncidentTemplates)))]
pub async fn incident_templates(access: TeamAccess) -> Result<Json<IncidentTemplates>, ApiError> {
    access.require(Action::ViewStatusPages)?;
    Ok(Json(templates()))
}

/// The team's page, or the 404 another team's page gets.
pub(crate) async fn team_page(
    state: &AppState,
    access: &TeamAccess,
    id: StatusPageId,
) -> Result<StatusPage, ApiError> {
    state
        .store
        .get_status_page(access.team.id, id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Every named component the page does not have, with its path.
fn unknown_components(page: &StatusPage, components: &[AffectedComponent]) -> Vec<FieldError> {
    components
        .iter()
        .enumerate()
        .filter(|(_, affected)| !page.spec.components().any(|c| c.name == affected.name))
        .map(|(index, affected)| FieldError {
            field: format!("components[{index}].name"),
            problem: format!("the page has no component named '{}'", affected.name),
        })
        .collect()
}

/// A page's incident posts, newest first.
#[utoipa::path(get, path = "/api/status-pages/{id}/incidents", tag = "status_pages",
    params(("id" = i64, Path, description = "Status page id"), TeamHeader),
    responses((status = 200, body = StatusIncidentList)))]
pub async fn list_incidents(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<StatusPageId>,
) -> Result<Json<StatusIncidentList>, ApiError> {
    access.require(Action::ViewStatusPages)?;
    let page = team_page(&state, &access, id).await?;
    let incidents = state
        .store
        .page_status_incidents(page.id, PagePosts::Newest(LIST_LIMIT), PostReaders::Team)
        .await?;
    Ok(Json(StatusIncidentList { incidents }))
}

/// Posts an incident on a page with its first update (its text, when not given, is the
/// status's template naming the affected components).
#[utoipa::path(post, path = "/api/status-pages/{id}/incidents", tag = "status_pages",
    params(("id" = i64, Path, description = "Status page id"), TeamHeader),
    request_body = NewStatusIncident,
    responses((status = 201, body = StatusIncident)))]
pub async fn create_incident(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<StatusPageId>,
    // Read as JSON and parsed field by field, so every bad field is listed at once.
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<StatusIncident>), ApiError> {
    access.require(Action::PostStatusIncidents)?;
    let page = team_page(&state, &access, id).await?;
    let post = NewStatusIncident::parse(&body, "").map_err(ApiError::invalid)?;
    let unknown = unknown_components(&page, &post.components);
    if !unknown.is_empty() {
        return Err(ApiError::invalid(unknown));
    }
    let incident = state
        .store
        .create_status_incident(access.team.id, page.id, &post, Timestamp::now())
        .await?;
    state.status_pages.invalidate();
    state.subscriber_wake.notify_one();
    access
        .audit(
            &state,
            "status_incident.created",
            format!("status_incident:{}", incident.id),
            json!({"page": page.id, "impact": incident.impact, "status": incident.status}),
        )
        .await;
    Ok((StatusCode::CREATED, Json(incident)))
}

/// One incident post with its timeline.
#[utoipa::path(get, path = "/api/status-pages/{id}/incidents/{incident}", tag = "status_pages",
    params(("id" = i64, Path, description = "Status page id"),
        ("incident" = i64, Path, description = "Incident post id"), TeamHeader),
    responses((status = 200, body = StatusIncident)))]
pub async fn get_incident(
    State(state): State<AppState>,
    access: TeamAccess,
    Path((id, incident)): Path<(StatusPageId, StatusIncidentId)>,
) -> Result<Json<StatusIncident>, ApiError> {
    access.require(Action::ViewStatusPages)?;
    state
        .store
        .get_status_incident(access.team.id, id, incident)
        .await?
        .map(Json)
        .ok_or_else(ApiError::not_found)
}

/// Adds an update to a post's timeline: its status (a resolved one resolves the post, any
/// other reopens it), its text (the status's template when not given) and optionally the
/// components' states from now on.
#[utoipa::path(post, path = "/api/status-pages/{id}/incidents/{incident}/updates",
    tag = "status_pages",
    params(("id" = i64, Path, description = "Status page id"),
        ("incident" = i64, Path, description = "Incident post id"), TeamHeader),
    request_body = StatusIncidentUpdate,
    responses((status = 201, body = StatusIncident)))]
pub async fn add_update(
    State(state): State<AppState>,
    access: TeamAccess,
    Path((id, incident)): Path<(StatusPageId, StatusIncidentId)>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<StatusIncident>), ApiError> {
    access.require(Action::PostStatusIncidents)?;
    let page = team_page(&state, &access, id).await?;
    let current = state
        .store
        .get_status_incident(access.team.id, page.id, incident)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let update =
        StatusIncidentUpdate::parse(&body, "", &current.components).map_err(ApiError::invalid)?;
    let unknown = unknown_components(&page, update.components.as_deref().unwrap_or_default());
    if !unknown.is_empty() {
        return Err(ApiError::invalid(unknown));
    }
    let updated = state
        .store
        .add_status_incident_update(access.team.id, page.id, incident, &update, Timestamp::now())
        .await?;
    state.status_pages.invalidate();
    state.subscriber_wake.notify_one();
    access
        .audit(
            &state,
            "status_incident.updated",
            format!("status_incident:{incident}"),
            json!({"page": page.id, "status": update.status}),
        )
        .await;
    Ok((StatusCode::CREATED, Json(updated)))
}

/// Deletes a post and its timeline from the page.
#[utoipa::path(delete, path = "/api/status-pages/{id}/incidents/{incident}", tag = "status_pages",
    params(("id" = i64, Path, description = "Status page id"),
        ("incident" = i64, Path, description = "Incident post id"), TeamHeader),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_incident(
    State(state): State<AppState>,
    access: TeamAccess,
    Path((id, incident)): Path<(StatusPageId, StatusIncidentId)>,
) -> Result<StatusCode, ApiError> {
    access.require(Action::ManageStatusPages)?;
    state
        .store
        .delete_status_incident(access.team.id, id, incident)
        .await?;
    state.status_pages.invalidate();
    access
        .audit(
            &state,
            "status_incident.deleted",
            format!("status_incident:{incident}"),
            json!({"page": id}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Publishes a draft (a post the page wrote by itself for the team to review): visitors, feeds
/// and history see it from now on. Publishing a published post changes nothing.
#[utoipa::path(post, path = "/api/status-pages/{id}/incidents/{incident}/publish",
    tag = "status_pages",
    params(("id" = i64, Path, description = "Status page id"),
        ("incident" = i64, Path, description = "Incident post id"), TeamHeader),
    responses((status = 200, body = StatusIncident)))]
pub async fn publish_incident(
    State(state): State<AppState>,
    access: TeamAccess,
    Path((id, incident)): Path<(StatusPageId, StatusIncidentId)>,
) -> Result<Json<StatusIncident>, ApiError> {
    access.require(Action::PostStatusIncidents)?;
    let was_published = state
        .store
        .get_status_incident(access.team.id, id, incident)
        .await?
        .ok_or_else(ApiError::not_found)?
        .published;
    let post = state
        .store
        .publish_status_incident(access.team.id, id, incident, Timestamp::now())
        .await?;
    if !was_published {
        state.status_pages.invalidate();
        state.subscriber_wake.notify_one();
        access
            .audit(
                &state,
                "status_incident.published",
                format!("status_incident:{incident}"),
                json!({"page": id}),
            )
            .await;
    }
    Ok(Json(post))
}
