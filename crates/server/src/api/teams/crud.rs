//! The teams themselves: the caller's teams, create, read (with limits and usage), rename and
//! delete.

use super::access;
use crate::AppState;
use crate::api::ApiJson;
use crate::api::auth::TeamRole;
use crate::api::monitors::all_monitor_entries;
use crate::auth::Caller;
use crate::auth::TeamAccess;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use watchtower_core::{Action, PlanLimits, Role, TeamName, Timestamp};
use watchtower_store::Team;

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamList {
    pub teams: Vec<TeamRole>,
}

/// The teams the caller belongs to (an API key: its own team).
#[utoipa::path(get, path = "/api/teams", tag = "teams",
    responses((status = 200, body = TeamList), (status = 402, description = "An API key whose team's plan has no API access")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TeamList>, ApiError> {
    let teams = match caller.user() {
        Some(user) => state
            .store
            .teams_of(user.id)
            .await?
            .iter()
            .map(|m| TeamRole::new(&m.team, m.role))
            .collect(),
        None => {
            let access = TeamAccess::resolve(&state, caller, None).await?;
            vec![TeamRole::new(&access.team, access.role)]
        }
    };
    Ok(Json(TeamList { teams }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TeamBody {
    pub name: String,
}

/// Creates a team with the caller as its owner, on the instance's default plan.
#[utoipa::path(post, path = "/api/teams", tag = "teams", request_body = TeamBody,
    responses((status = 201, body = Team), (status = 403, description = "API keys cannot create teams")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<TeamBody>,
) -> Result<(StatusCode, Json<Team>), ApiError> {
    let Some(user) = caller.user() else {
        return Err(ApiError::forbidden("only a signed-in person creates teams"));
    };
    let name = TeamName::parse(&body.name).map_err(|p| ApiError::invalid_field("name", p))?;
    let team = state
        .store
        .create_team(
            name.as_str(),
            state.plans.default_plan(),
            user.id,
            Timestamp::now(),
        )
        .await?;
    let access = TeamAccess::resolve(&state, caller, Some(team.id)).await?;
    access
        .audit(
            &state,
            "team.created",
            format!("team:{}", team.id),
            json!({"name": team.name}),
        )
        .await;
    Ok((StatusCode::CREATED, Json(team)))
}

/// The team, its plan's limits and its usage.
#[utoipa::path(get, path = "/api/teams/{team}", tag = "teams",
    params(("team" = i64, Path, description = "Team id")),
    responses((status = 200, body = TeamDetail)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(team): Path<i64>,
) -> Result<Json<TeamDetail>, ApiError> {
    let access = access(&state, caller, team).await?;
    access.require(Action::ViewTeam)?;
    let members = state.store.members(access.team.id).await?;
    let active_monitors = state.store.count_monitors(access.team.id).await?;
    Ok(Json(TeamDetail {
        limits: access.limits(&state).clone(),
        your_role: access.role,
        usage: Usage {
            active_monitors,
            members: members.len(),
        },
        team: access.team,
    }))
}

/// A team, the caller's role in it, its plan's limits and what it uses of them.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamDetail {
    pub team: Team,
    pub your_role: Role,
    pub limits: PlanLimits,
    pub usage: Usage,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    pub active_monitors: u64,
    pub members: usize,
}

/// Renames the team.
#[utoipa::path(patch, path = "/api/teams/{team}", tag = "teams",
    params(("team" = i64, Path, description = "Team id")), request_body = TeamBody,
    responses((status = 200, body = Team)))]
pub async fn rename(
    State(state): State<AppState>,
    caller: Caller,
    Path(team): Path<i64>,
    ApiJson(body): ApiJson<TeamBody>,
) -> Result<Json<Team>, ApiError> {
    let access = access(&state, caller, team).await?;
    access.require(Action::UpdateTeam)?;
    let name = TeamName::parse(&body.name).map_err(|p| ApiError::invalid_field("name", p))?;
    let team = state
        .store
        .rename_team(access.team.id, name.as_str())
        .await?;
    access
        .audit(
            &state,
            "team.renamed",
            format!("team:{}", team.id),
            json!({"from": access.team.name, "to": team.name}),
        )
        .await;
    Ok(Json(team))
}

/// Deletes the team and everything it owns (owner only, signed in).
#[utoipa::path(delete, path = "/api/teams/{team}", tag = "teams",
    params(("team" = i64, Path, description = "Team id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(team): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let access = access(&state, caller, team).await?;
    access.require(Action::DeleteTeam)?;
    let (monitors, broken) = all_monitor_entries(&state, &access).await?;
    state.store.delete_team(access.team.id).await?;
    let ids = monitors
        .iter()
        .map(|m| m.id)
        .chain(broken.iter().map(|b| b.id));
    for id in ids {
        state.scheduler.remove(id).await;
    }
    tracing::info!(team = %access.team.id, by = %access.caller.actor().label, "team deleted");
    Ok(StatusCode::NO_CONTENT)
}
