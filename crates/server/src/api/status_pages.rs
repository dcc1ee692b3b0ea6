//! Status pages through the API: list, create, read, replace, delete a team's public pages with
//! their groups and components. Components name the team's monitors by id; an id that is not
//! one of the team's monitors is a field error, so another team's monitor can never be shown.
//! The count of pages and a custom domain are plan limits. A password page's password is hashed
//! like a user's (argon2id) and never returned. A change empties the public pages' cache
//! (`web::status::cache`), so visitors see it at once.

use crate::AppState;
use crate::api::{ApiJson, TeamHeader};
use crate::auth::TeamAccess;
use crate::auth::password::hash_password;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use watchtower_core::{
    Action, Demand, FieldError, PageSecret, PageVisibility, StatusPageId, StatusPageSpec, Timestamp,
};
use watchtower_store::StatusPage;

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusPageList {
    pub status_pages: Vec<StatusPage>,
}

/// Reads the body and checks it against the team: every bad field at once, then every monitor
/// id that is not one of the team's monitors (each with its path), then the plan.
async fn parse_for_team(
    state: &AppState,
    access: &TeamAccess,
    body: &Value,
) -> Result<StatusPageSpec, ApiError> {
    let spec = StatusPageSpec::parse(body, "").map_err(ApiError::invalid)?;
    let known = state
        .store
        .team_monitor_ids(access.team.id, &spec.monitor_ids())
        .await?;
    let mut problems = Vec::new();
    for (g, group) in spec.groups.iter().enumerate() {
        for (c, component) in group.components.iter().enumerate() {
            for (m, id) in component.monitors.iter().enumerate() {
                if !known.contains(id) {
                    problems.push(FieldError {
                        field: format!("groups[{g}].components[{c}].monitors[{m}]"),
                        problem: format!("the team has no monitor {id}"),
                    });
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    if spec.custom_domain.is_some() {
        state
            .plans
            .check(access.team.plan, Demand::CustomStatusDomain)
            .map_err(|exceeded| access.plan_limit(state, &exceeded))?;
    }
    Ok(spec)
}

/// Settles a password page's stored hash: a new password is hashed; none sent keeps the one
/// `stored` has (a replace); a password page with neither is a field error. Other pages keep
/// no hash.
async fn settle_password(
    spec: &mut StatusPageSpec,
    stored: Option<&StatusPage>,
) -> Result<(), ApiError> {
    if spec.visibility != PageVisibility::Password {
        spec.password_hash = None;
        return Ok(());
    }
    if let Some(password) = spec.password.take() {
        let hash = hash_password(password.expose().to_owned())
            .await
            .map_err(ApiError::internal)?;
        spec.password_hash = Some(PageSecret::new(hash));
        return Ok(());
    }
    spec.password_hash = stored.and_then(|page| page.spec.password_hash.clone());
    if spec.password_hash.is_none() {
        return Err(ApiError::invalid(vec![FieldError {
            field: "password".into(),
            problem: "is required when visibility is password".into(),
        }]));
    }
    Ok(())
}

/// The audit entry's details: what changed of who may read the page, never the password.
fn audit_details(page: &StatusPage, password_set: bool) -> Value {
    json!({
        "slug": page.spec.slug,
        "custom_domain": page.spec.custom_domain,
        "visibility": page.spec.visibility,
        "password_set": password_set,
    })
}

/// The team's status pages, oldest first.
#[utoipa::path(get, path = "/api/status-pages", tag = "status_pages", params(TeamHeader),
    responses((status = 200, body = StatusPageList)))]
pub async fn list_status_pages(
    State(state): State<AppState>,
    access: TeamAccess,
) -> Result<Json<StatusPageList>, ApiError> {
    access.require(Action::ViewStatusPages)?;
    let status_pages = state.store.list_status_pages(access.team.id).await?;
    Ok(Json(StatusPageList { status_pages }))
}

/// Creates a status page, at once at `/status/{slug}` for whoever its `visibility` admits.
#[utoipa::path(post, path = "/api/status-pages", tag = "status_pages", params(TeamHeader),
    request_body = StatusPageSpec,
    responses((status = 201, body = StatusPage),
        (status = 402, description = "The plan allows no more pages, or no custom domain"),
        (status = 409, description = "Another page has this slug or domain")))]
pub async fn create_status_page(
    State(state): State<AppState>,
    access: TeamAccess,
    // Read as JSON and parsed field by field, so every bad field is listed at once; the
    // document still describes the body's type.
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<StatusPage>), ApiError> {
    access.require(Action::ManageStatusPages)?;
    let mut spec = parse_for_team(&state, &access, &body).await?;
    let password_set = spec.password.is_some();
    let current = state.store.count_status_pages(access.team.id).await?;
    state
        .plans
        .check(
            access.team.plan,
            Demand::StatusPages(u32::try_from(current + 1).unwrap_or(u32::MAX)),
        )
        .map_err(|exceeded| access.plan_limit(&state, &exceeded))?;
    settle_password(&mut spec, None).await?;
    let page = state
        .store
        .create_status_page(access.team.id, &spec, Timestamp::now())
        .await?;
    state.status_pages.invalidate();
    access
        .audit(
            &state,
            "status_page.created",
            format!("status_page:{}", page.id),
            audit_details(&page, password_set),
        )
        .await;
    Ok((StatusCode::CREATED, Json(page)))
}

/// One status page with its groups and components.
#[utoipa::path(get, path = "/api/status-pages/{id}", tag = "status_pages",
    params(("id" = i64, Path, description = "Status page id"), TeamHeader),
    responses((status = 200, body = StatusPage)))]
pub async fn get_status_page(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<StatusPageId>,
) -> Result<Json<StatusPage>, ApiError> {
    access.require(Action::ViewStatusPages)?;
    let page = state
        .store
        .get_status_page(access.team.id, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(page))
}

/// Replaces a status page, groups and components included.
#[utoipa::path(put, path = "/api/status-pages/{id}", tag = "status_pages",
    params(("id" = i64, Path, description = "Status page id"), TeamHeader),
    request_body = StatusPageSpec,
    responses((status = 200, body = StatusPage),
        (status = 402, description = "The plan allows no custom domain"),
        (status = 409, description = "Another page has this slug or domain")))]
pub async fn update_status_page(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<StatusPageId>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<StatusPage>, ApiError> {
    access.require(Action::ManageStatusPages)?;
    // Another team's page is a 404 before anything about the body is said.
    let stored = state
        .store
        .get_status_page(access.team.id, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let mut spec = parse_for_team(&state, &access, &body).await?;
    let password_set = spec.password.is_some();
    settle_password(&mut spec, Some(&stored)).await?;
    let page = state
        .store
        .update_status_page(access.team.id, id, &spec, Timestamp::now())
        .await?;
    state.status_pages.invalidate();
    access
        .audit(
            &state,
            "status_page.updated",
            format!("status_page:{id}"),
            audit_details(&page, password_set),
        )
        .await;
    Ok(Json(page))
}

/// Deletes a status page; its address answers 404 at once.
#[utoipa::path(delete, path = "/api/status-pages/{id}", tag = "status_pages",
    params(("id" = i64, Path, description = "Status page id"), TeamHeader),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_status_page(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<StatusPageId>,
) -> Result<StatusCode, ApiError> {
    access.require(Action::ManageStatusPages)?;
    state.store.delete_status_page(access.team.id, id).await?;
    state.status_pages.invalidate();
    access
        .audit(
            &state,
            "status_page.deleted",
            format!("status_page:{id}"),
            json!({}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
