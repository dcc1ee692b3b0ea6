//! A team's members: the list, a change of role, and removal (or leaving).

use super::{access, denied, owners};
use crate::AppState;
use crate::api::ApiJson;
use crate::auth::Caller;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use watchtower_core::access::{check_leave, check_removal, check_role_change};
use watchtower_core::{Action, Role, Timestamp, UserId};
use watchtower_store::Member;

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    pub members: Vec<Member>,
}

/// The team's members and their roles.
#[utoipa::path(get, path = "/api/teams/{team}/members", tag = "teams",
    params(("team" = i64, Path, description = "Team id")),
    responses((status = 200, body = MemberList)))]
pub async fn members(
    State(state): State<AppState>,
    caller: Caller,
    Path(team): Path<i64>,
) -> Result<Json<MemberList>, ApiError> {
    let access = access(&state, caller, team).await?;
    access.require(Action::ViewTeam)?;
    let members = state.store.members(access.team.id).await?;
    Ok(Json(MemberList { members }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RoleBody {
    /// owner, admin, member or viewer.
    pub role: String,
}

/// Changes a member's role (only an owner makes or changes owners; the last owner stays).
#[utoipa::path(patch, path = "/api/teams/{team}/members/{user}", tag = "teams",
    params(("team" = i64, Path, description = "Team id"), ("user" = i64, Path, description = "User id")),
    request_body = RoleBody,
    responses((status = 204, description = "Changed"), (status = 409, description = "Would leave no owner")))]
pub async fn change_role(
    State(state): State<AppState>,
    caller: Caller,
    Path((team, user)): Path<(i64, i64)>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<StatusCode, ApiError> {
    let access = access(&state, caller, team).await?;
    access.require(Action::ChangeRole)?;
    let role = Role::parse(&body.role).map_err(|p| ApiError::invalid_field("role", p))?;
    let members = state.store.members(access.team.id).await?;
    let target = members
        .iter()
        .find(|m| m.user_id == UserId(user))
        .ok_or_else(ApiError::not_found)?;
    check_role_change(access.role, target.role, role, owners(&members)).map_err(denied)?;
    state
        .store
        .set_member_role(access.team.id, target.user_id, role)
        .await?;
    access
        .audit(
            &state,
            "member.role_changed",
            format!("user:{user}"),
            json!({"email": target.email, "from": target.role, "to": role}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a member; anyone may remove themselves (leave), except the last owner.
#[utoipa::path(delete, path = "/api/teams/{team}/members/{user}", tag = "teams",
    params(("team" = i64, Path, description = "Team id"), ("user" = i64, Path, description = "User id")),
    responses((status = 204, description = "Removed"), (status = 409, description = "Would leave no owner")))]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((team, user)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    let access = access(&state, caller, team).await?;
    let members = state.store.members(access.team.id).await?;
    let target = members
        .iter()
        .find(|m| m.user_id == UserId(user))
        .ok_or_else(ApiError::not_found)?;
    let leaving = access
        .caller
        .user()
        .is_some_and(|me| me.id == target.user_id);
    if leaving {
        check_leave(target.role, owners(&members)).map_err(denied)?;
    } else {
        access.require(Action::RemoveMember)?;
        check_removal(access.role, target.role, owners(&members)).map_err(denied)?;
    }
    state
        .store
        .remove_member(access.team.id, target.user_id, Timestamp::now())
        .await?;
    access
        .audit(
            &state,
            "member.removed",
            format!("user:{user}"),
            json!({"email": target.email, "left": leaving}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
