//! Invitations: the pending ones, a new one (its link token shown once), withdrawal, and
//! acceptance by the invited person, signed in.

use super::{access, denied};
use crate::AppState;
use crate::api::ApiJson;
use crate::auth::Caller;
use crate::auth::tokens::{TokenKind, new_token, token_hash};
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use watchtower_core::access::check_invitation;
use watchtower_core::{Action, Demand, Email, InvitationId, Role, Timestamp, UserId};
use watchtower_store::{Invitation, NewInvitation, Team};

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
        .map_err(|exceeded| access.plan_limit(&state, &exceeded))?;
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
        .map_err(|exceeded| ApiError {
            checkout_url: exceeded
                .upgrade_to
                .and_then(|plan| state.billing.config.checkout_url(plan, team.id)),
            ..ApiError::plan_limit(&exceeded)
        })?;
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
