//! Teams and who is in them: teams, members and roles, invitations, API keys, plans and the
//! audit log. Everything here lives under `/api/teams/{team}`; another team answers 404.

use crate::AppState;
use crate::api::ApiJson;
use crate::api::auth::TeamRole;
use crate::api::monitors::{all_monitor_entries, all_monitors};
use crate::auth::tokens::{TokenKind, new_token, token_hash};
use crate::auth::{Caller, TeamAccess};
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use watchtower_core::access::{check_invitation, check_leave, check_removal, check_role_change};
use watchtower_core::plan::{MonitorSummary, PauseReason, monitors_to_pause};
use watchtower_core::{
    Action, ApiKeyId, ApiKeyScope, Demand, Email, HumanDuration, InvitationId, MembershipDenied,
    MonitorId, Plan, PlanLimits, Role, TeamId, TeamName, Timestamp, UserId,
};
use watchtower_store::{ApiKey, Invitation, Member, NewApiKey, NewInvitation, Team};

fn denied(reason: MembershipDenied) -> ApiError {
    match reason {
        MembershipDenied::LastOwner => ApiError::conflict(reason.to_string()),
        _ => ApiError::forbidden(reason.to_string()),
    }
}

async fn access(state: &AppState, caller: Caller, team: i64) -> Result<TeamAccess, ApiError> {
    TeamAccess::resolve(state, caller, Some(TeamId(team))).await
}

fn owners(members: &[Member]) -> u32 {
    members.iter().filter(|m| m.role == Role::Owner).count() as u32
}

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

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationList {
    pub invitations: Vec<Invitation>,
}

/// Pending invitations.
#[utoipa::path(get, path = "/api/teams/{team}/invitations", tag = "teams",
    params(("team" = i64, Path, description = "Team id")),
    responses((status = 200, body = InvitationList)))]
pub async fn invitations(
    State(state): State<AppState>,
    caller: Caller,
    Path(team): Path<i64>,
) -> Result<Json<InvitationList>, ApiError> {
    let access = access(&state, caller, team).await?;
    access.require(Action::InviteMember)?;
    let pending = state
        .store
        .invitations(access.team.id, Timestamp::now())
        .await?;
    Ok(Json(InvitationList {
        invitations: pending,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InviteBody {
    pub email: String,
    /// admin, member or viewer (owner: only an owner may invite one).
    pub role: String,
}

/// Invites someone by email; the answer holds the single-use link token, shown once.
#[utoipa::path(post, path = "/api/teams/{team}/invitations", tag = "teams",
    params(("team" = i64, Path, description = "Team id")), request_body = InviteBody,
    responses((status = 201, body = InvitationCreated), (status = 402, description = "The plan's member limit")))]
pub async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    Path(team): Path<i64>,
    ApiJson(body): ApiJson<InviteBody>,
) -> Result<(StatusCode, Json<InvitationCreated>), ApiError> {
    let access = access(&state, caller, team).await?;
    access.require(Action::InviteMember)?;
    let mut problems = Vec::new();
    let email = Email::parse(&body.email)
        .map_err(|p| {
            problems.push(watchtower_core::FieldError {
                field: "email".into(),
                problem: p,
            });
        })
        .ok();
    let role = Role::parse(&body.role)
        .map_err(|p| {
            problems.push(watchtower_core::FieldError {
                field: "role".into(),
                problem: p,
            });
        })
        .ok();
    let (Some(email), Some(role)) = (email, role) else {
        return Err(ApiError::invalid(problems));
    };
    check_invitation(access.role, role).map_err(denied)?;
    let now = Timestamp::now();
    // Pending invitations count: each may become a member.
    let members = state.store.members(access.team.id).await?.len();
    let pending = state.store.invitations(access.team.id, now).await?.len();
    state
        .plans
        .check(
            access.team.plan,
            Demand::Members((members + pending + 1) as u32),
        )
        .map_err(|exceeded| ApiError::plan_limit(&exceeded))?;
    let inviter = access
        .caller
        .user()
        .map(|u| u.id)
        .ok_or_else(|| ApiError::forbidden("only a signed-in person invites"))?;
    let token = new_token(TokenKind::Invitation);
    let invitation = state
        .store
        .create_invitation(&NewInvitation {
            team_id: access.team.id,
            email: email.as_str().to_owned(),
            role,
            token_hash: token_hash(&token),
            invited_by: inviter,
            created_at: now,
            expires_at: now.plus(state.auth.invitation_ttl),
        })
        .await?;
    access
        .audit(
            &state,
            "member.invited",
            format!("invitation:{}", invitation.id),
            json!({"email": invitation.email, "role": role}),
        )
        .await;
    Ok((
        StatusCode::CREATED,
        Json(InvitationCreated {
            invitation,
            token,
            accept_path: "/api/invitations/accept",
        }),
    ))
}

/// A new invitation with its single-use token, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationCreated {
    pub invitation: Invitation,
    pub token: String,
    /// Where the token is sent (`POST`).
    pub accept_path: &'static str,
}

/// Withdraws a pending invitation.
#[utoipa::path(delete, path = "/api/teams/{team}/invitations/{id}", tag = "teams",
    params(("team" = i64, Path, description = "Team id"), ("id" = i64, Path, description = "Invitation id")),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    caller: Caller,
    Path((team, id)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    let access = access(&state, caller, team).await?;
    access.require(Action::InviteMember)?;
    state
        .store
        .revoke_invitation(access.team.id, InvitationId(id))
        .await?;
    access
        .audit(
            &state,
            "invitation.revoked",
            format!("invitation:{id}"),
            json!({}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AcceptBody {
    pub token: String,
}

/// Joins the team an invitation names, as the signed-in person, who must be the invited address.
/// An invitation never creates an account: whoever holds the link (the inviter included) could
/// otherwise set the password of an address they do not own. Someone without an account gets one
/// from an instance administrator (`watchtower user create`), signs in, then accepts. A link
/// works once.
#[utoipa::path(post, path = "/api/invitations/accept", tag = "teams", security(("session" = [])), request_body = AcceptBody,
    responses((status = 200, body = Joined), (status = 401, description = "Not signed in"), (status = 402, description = "The plan's member limit"),
        (status = 403, description = "Signed in as someone other than the invited address, or an API key"),
        (status = 404, description = "Unknown, used, revoked or expired"), (status = 409, description = "Already a member")))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    ApiJson(body): ApiJson<AcceptBody>,
) -> Result<Json<Joined>, ApiError> {
    let now = Timestamp::now();
    let hash = token_hash(body.token.trim());
    let user = match &caller {
        Ok(caller) => caller
            .user()
            .cloned()
            .ok_or_else(|| ApiError::forbidden("an API key cannot accept an invitation"))?,
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "sign in as the invited address to accept; an address without an account gets \
                 one from an instance administrator first",
            ));
        }
    };
    let invitation = state
        .store
        .find_invitation(&hash, now)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let invited = Email::parse(&invitation.email).map(|e| e.lookup_key()).ok();
    // The link was sent to one address: whoever holds it must have signed in as that person.
    if Email::parse(&user.email).map(|e| e.lookup_key()).ok() != invited {
        return Err(ApiError::forbidden(
            "this invitation is for another email address; sign in as the invited person",
        ));
    }
    let team = state
        .store
        .get_team(invitation.team_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let members = state.store.members(team.id).await?.len();
    state
        .plans
        .check(team.plan, Demand::Members((members + 1) as u32))
        .map_err(|exceeded| ApiError::plan_limit(&exceeded))?;
    let accepted = state.store.accept_invitation(&hash, user.id, now).await?;
    let actor = watchtower_store::Actor {
        user_id: Some(user.id),
        api_key_id: None,
        label: user.email.clone(),
    };
    let entry = watchtower_store::AuditEntry {
        team_id: team.id,
        actor,
        action: "member.added".into(),
        target: format!("user:{}", user.id),
        details: json!({"email": user.email, "role": accepted.role}),
        at: now,
    };
    if let Err(error) = state.store.record_audit(&entry).await {
        tracing::error!(%error, "cannot record audit entry");
    }
    Ok(Json(Joined {
        team,
        role: accepted.role,
        user: UserRef {
            id: user.id,
            email: user.email,
        },
    }))
}

/// The team joined, with the role and who joined.
#[derive(Debug, Serialize, ToSchema)]
pub struct Joined {
    pub team: Team,
    pub role: Role,
    pub user: UserRef,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserRef {
    pub id: UserId,
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    pub api_keys: Vec<ApiKey>,
}

/// The team's API keys with their last use (never the keys themselves).
#[utoipa::path(get, path = "/api/teams/{team}/api-keys", tag = "teams",
    params(("team" = i64, Path, description = "Team id")),
    responses((status = 200, body = ApiKeyList)))]
pub async fn api_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(team): Path<i64>,
) -> Result<Json<ApiKeyList>, ApiError> {
    let access = access(&state, caller, team).await?;
    access.require(Action::ViewApiKeys)?;
    let api_keys = state.store.api_keys(access.team.id).await?;
    Ok(Json(ApiKeyList { api_keys }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewKeyBody {
    pub name: String,
    /// read_only or read_write.
    pub scope: String,
}

/// Creates an API key. The key is in this answer only; WatchTower keeps just its hash.
#[utoipa::path(post, path = "/api/teams/{team}/api-keys", tag = "teams",
    params(("team" = i64, Path, description = "Team id")), request_body = NewKeyBody,
    responses((status = 201, body = ApiKeyCreated), (status = 402, description = "The plan has no API access")))]
pub async fn create_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(team): Path<i64>,
    ApiJson(body): ApiJson<NewKeyBody>,
) -> Result<(StatusCode, Json<ApiKeyCreated>), ApiError> {
    let access = access(&state, caller, team).await?;
    access.require(Action::CreateApiKey)?;
    let mut problems = Vec::new();
    let name = crate::api::display_name(&body.name, &mut problems);
    let scope = ApiKeyScope::parse(&body.scope)
        .map_err(|p| {
            problems.push(watchtower_core::FieldError {
                field: "scope".into(),
                problem: p,
            });
        })
        .ok();
    let Some(scope) = scope.filter(|_| problems.is_empty()) else {
        return Err(ApiError::invalid(problems));
    };
    state
        .plans
        .check(access.team.plan, Demand::ApiAccess)
        .map_err(|exceeded| ApiError::plan_limit(&exceeded))?;
    let token = new_token(TokenKind::ApiKey);
    let key = state
        .store
        .create_api_key(&NewApiKey {
            team_id: access.team.id,
            name: name.to_owned(),
            scope,
            prefix: token.chars().take(12).collect(),
            key_hash: token_hash(&token),
            created_by: access.caller.user().map(|u| u.id),
            created_at: Timestamp::now(),
        })
        .await?;
    access
        .audit(
            &state,
            "api_key.created",
            format!("api_key:{}", key.id),
            json!({"name": key.name, "scope": key.scope}),
        )
        .await;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyCreated {
            api_key: key,
            key: token,
        }),
    ))
}

/// A new API key: `key` is in this answer only.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreated {
    pub api_key: ApiKey,
    /// The key to send as `Authorization: Bearer <key>`.
    pub key: String,
}

/// Revokes an API key at once.
#[utoipa::path(delete, path = "/api/teams/{team}/api-keys/{id}", tag = "teams",
    params(("team" = i64, Path, description = "Team id"), ("id" = i64, Path, description = "Key id")),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path((team, id)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    let access = access(&state, caller, team).await?;
    access.require(Action::RevokeApiKey)?;
    let key = state
        .store
        .revoke_api_key(access.team.id, ApiKeyId(id), Timestamp::now())
        .await?;
    access
        .audit(
            &state,
            "api_key.revoked",
            format!("api_key:{id}"),
            json!({"name": key.name}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// The plans and their limits as this instance enforces them.
#[utoipa::path(get, path = "/api/plans", tag = "teams", security(()),
    responses((status = 200, body = PlanList)))]
pub async fn plans(State(state): State<AppState>) -> Json<PlanList> {
    let plans = Plan::ALL
        .into_iter()
        .map(|plan| PlanInfo {
            plan,
            name: plan.display_name(),
            limits: state.plans.limits(plan).clone(),
        })
        .collect();
    Json(PlanList {
        plans,
        default_plan: state.plans.default_plan(),
    })
}

/// Every plan with its limits, and the plan new teams get.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanList {
    pub plans: Vec<PlanInfo>,
    pub default_plan: Plan,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanInfo {
    pub plan: Plan,
    pub name: &'static str,
    pub limits: PlanLimits,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PlanBody {
    /// free, starter, professional, enterprise or unlimited.
    pub plan: String,
}

/// Changes the team's plan. A downgrade deletes nothing: monitors over the new limits are
/// paused, newest first, and the answer (and the audit log) says which and why. With billing
/// (multi-tenant mode) only the instance's administrators set plans; Whop drives them.
#[utoipa::path(put, path = "/api/teams/{team}/plan", tag = "teams",
    params(("team" = i64, Path, description = "Team id")), request_body = PlanBody,
    responses((status = 200, body = PlanChanged)))]
pub async fn change_plan(
    State(state): State<AppState>,
    caller: Caller,
    Path(team): Path<i64>,
    ApiJson(body): ApiJson<PlanBody>,
) -> Result<Json<PlanChanged>, ApiError> {
    let access = access(&state, caller, team).await?;
    access.require(Action::ManageBilling)?;
    let instance_admin = access.caller.user().is_some_and(|u| u.is_admin);
    if state.multi_tenant && !instance_admin {
        return Err(ApiError::forbidden(
            "plans are bought through Whop; an instance administrator can change them",
        ));
    }
    let plan = Plan::parse(&body.plan).map_err(|p| ApiError::invalid_field("plan", p))?;
    let team = state.store.set_team_plan(access.team.id, plan).await?;
    let (paused, slowed) = fit_monitors_to_plan(&state, &access, plan).await?;
    access
        .audit(
            &state,
            "plan.changed",
            format!("team:{}", team.id),
            json!({"from": access.team.plan, "to": plan, "paused": paused, "slowed": slowed}),
        )
        .await;
    Ok(Json(PlanChanged {
        team,
        paused_monitors: paused,
        slowed_monitors: slowed,
    }))
}

/// The team on its new plan, and what was changed so its monitors fit the plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanChanged {
    pub team: Team,
    pub paused_monitors: Vec<PausedMonitor>,
    pub slowed_monitors: Vec<SlowedMonitor>,
}

/// A monitor the new plan no longer allows to run, paused (nothing is deleted).
#[derive(Debug, Serialize, ToSchema)]
pub struct PausedMonitor {
    pub id: MonitorId,
    pub name: String,
    pub reason: PauseReason,
}

/// A monitor whose interval was raised to the new plan's minimum.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlowedMonitor {
    pub id: MonitorId,
    pub name: String,
    pub from: HumanDuration,
    pub to: HumanDuration,
}

/// Makes the team's monitors fit `plan` without deleting anything: pauses what the plan no
/// longer allows (`[{id, name, reason}]`) and raises intervals shorter than the plan's minimum
/// to it (`[{id, name, from, to}]`), so the plan's check rate holds from this moment.
async fn fit_monitors_to_plan(
    state: &AppState,
    access: &TeamAccess,
    plan: Plan,
) -> Result<(Vec<PausedMonitor>, Vec<SlowedMonitor>), ApiError> {
    let monitors = all_monitors(state, access).await?;
    let summaries: Vec<MonitorSummary> = monitors.iter().map(MonitorSummary::of).collect();
    let mut paused = Vec::new();
    for (id, reason) in monitors_to_pause(&summaries, state.plans.limits(plan)) {
        let Some(monitor) = monitors.iter().find(|m| m.id == id) else {
            continue;
        };
        let mut spec = monitor.spec.clone();
        spec.paused = true;
        let updated = state
            .store
            .update_monitor(access.team.id, id, &spec, Timestamp::now())
            .await?;
        state.scheduler.upsert(updated).await;
        access
            .audit(
                state,
                "monitor.paused",
                format!("monitor:{id}"),
                json!({"name": spec.name, "reason": reason}),
            )
            .await;
        paused.push(PausedMonitor {
            id,
            name: spec.name,
            reason,
        });
    }
    let min_interval = state.plans.limits(plan).min_interval;
    let mut slowed = Vec::new();
    for monitor in &monitors {
        let probed = !matches!(monitor.spec.kind, watchtower_core::MonitorKind::Push(_));
        let now_paused = paused.iter().any(|p| p.id == monitor.id);
        if !probed || now_paused || monitor.spec.interval.get() >= min_interval.get() {
            continue;
        }
        let mut spec = monitor.spec.clone();
        spec.interval = min_interval;
        let updated = state
            .store
            .update_monitor(access.team.id, monitor.id, &spec, Timestamp::now())
            .await?;
        state.scheduler.upsert(updated).await;
        let change = SlowedMonitor {
            id: monitor.id,
            name: spec.name,
            from: monitor.spec.interval,
            to: min_interval,
        };
        access
            .audit(
                state,
                "monitor.interval_raised",
                format!("monitor:{}", monitor.id),
                json!(change),
            )
            .await;
        slowed.push(change);
    }
    Ok((paused, slowed))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Entries with an id below this (the `next_before` of the previous page).
    pub before: Option<i64>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<watchtower_store::AuditRecord>,
    pub next_before: Option<i64>,
}

/// Who did what when in the team, newest first.
#[utoipa::path(get, path = "/api/teams/{team}/audit-log", tag = "teams",
    params(("team" = i64, Path, description = "Team id"), AuditQuery),
    responses((status = 200, body = AuditPage)))]
pub async fn audit_log(
    State(state): State<AppState>,
    caller: Caller,
    Path(team): Path<i64>,
    Query(query): Query<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let access = access(&state, caller, team).await?;
    access.require(Action::ViewAuditLog)?;
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let entries = state
        .store
        .audit_log(access.team.id, query.before, limit)
        .await?;
    let next_before = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(Json(AuditPage {
        entries,
        next_before,
    }))
}
