//! The team page: the plan with usage against each limit (and an upgrade prompt from 80 %),
//! members and their roles, invitations (the link shown once), API keys (the key shown once),
//! and the audit log. Every read and change goes through the API's team handlers, with the
//! caller's own session, so the permission matrix decides what each role sees and may do.

use super::format;
use super::page::{Shell, WebError, WebPage, render};
use crate::AppState;
use crate::api::ApiJson;
use crate::api::teams::api_keys::{self, NewKeyBody};
use crate::api::teams::audit::{self, AuditQuery};
use crate::api::teams::crud;
use crate::api::teams::invitations::{self, InviteBody};
use crate::api::teams::members::{self, RoleBody};
use crate::error::ApiError;
use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use watchtower_core::Action;

/// One limit of the plan with what the team uses of it.
#[derive(Debug, Clone)]
pub struct LimitRow {
    pub name: &'static str,
    pub used: String,
    pub allowed: String,
    /// Set from 80 % of the limit.
    pub near: bool,
}

#[derive(Debug, Clone)]
pub struct MemberRow {
    pub user_id: i64,
    pub email: String,
    pub role: String,
    /// Each role and whether it is this member's.
    pub role_choices: Vec<(&'static str, bool)>,
    pub joined: String,
    /// The signed-in person's own row: it offers leaving instead of removal.
    pub is_me: bool,
}

#[derive(Debug, Clone)]
pub struct KeyRow {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub prefix: String,
    pub last_used: String,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
}

/// What a change just made that must be shown once (a new key, an invitation token).
#[derive(Debug, Clone, Default)]
pub struct ShownOnce {
    pub label: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    shell: Shell,
    plan: String,
    limits: Vec<LimitRow>,
    upgrade: bool,
    /// The next plan up, and its Whop checkout link naming this team (empty when not sold).
    next_plan: String,
    checkout_url: String,
    members: Vec<MemberRow>,
    invitations: Vec<(i64, String, String, String)>,
    keys: Vec<KeyRow>,
    audit: Vec<AuditRow>,
    can_invite: bool,
    can_change_roles: bool,
    can_remove: bool,
    can_view_keys: bool,
    can_create_keys: bool,
    can_view_audit: bool,
    shown_once: ShownOnce,
    problem: String,
}

fn limit_row(name: &'static str, used: u64, allowed: Option<u32>) -> LimitRow {
    LimitRow {
        name,
        used: used.to_string(),
        allowed: allowed.map_or("unlimited".into(), |a| a.to_string()),
        near: allowed.is_some_and(|a| a > 0 && used * 10 >= u64::from(a) * 8),
    }
}

async fn team_page(
    state: &AppState,
    page: &WebPage,
    shown_once: ShownOnce,
    problem: String,
) -> Result<TeamPage, WebError> {
    let team = page.access.team.id.0;
    let caller = page.access.caller.clone();
    let Json(detail) = crud::get(State(state.clone()), caller.clone(), Path(team)).await?;
    let Json(member_list) =
        members::members(State(state.clone()), caller.clone(), Path(team)).await?;
    let can_invite = page.can(Action::InviteMember);
    let invitations = if can_invite {
        invitations::invitations(State(state.clone()), caller.clone(), Path(team))
            .await?
            .0
            .invitations
            .into_iter()
            .filter(|i| i.accepted_at.is_none())
            .map(|i| {
                (
                    i.id.0,
                    i.email,
                    i.role.to_string(),
                    format::time(i.expires_at),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let can_view_keys = page.can(Action::ViewApiKeys);
    let keys = if can_view_keys {
        api_keys::api_keys(State(state.clone()), caller.clone(), Path(team))
            .await?
            .0
            .api_keys
            .into_iter()
            .map(|k| KeyRow {
                id: k.id.0,
                name: k.name,
                scope: serde_json::to_value(k.scope)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                prefix: k.prefix,
                last_used: k.last_used_at.map_or("never".into(), format::time),
                revoked: k.revoked_at.is_some(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let can_view_audit = page.can(Action::ViewAuditLog);
    let audit = if can_view_audit {
        audit::audit_log(
            State(state.clone()),
            caller,
            Path(team),
            Query(AuditQuery {
                before: None,
                limit: Some(50),
            }),
        )
        .await?
        .0
        .entries
        .into_iter()
        .map(|e| AuditRow {
            at: format::time(e.at),
            actor: e.actor.label,
            action: e.action,
            target: e.target,
        })
        .collect()
    } else {
        Vec::new()
    };
    let limits = vec![
        limit_row(
            "Active monitors",
            detail.usage.active_monitors,
            detail.limits.max_monitors,
        ),
        limit_row(
            "Members",
            detail.usage.members as u64,
            detail.limits.max_members,
        ),
    ];
    let next_plan = watchtower_core::Plan::LADDER
        .iter()
        .skip_while(|plan| **plan != detail.team.plan)
        .nth(1)
        .copied();
    let checkout_url = next_plan
        .and_then(|plan| state.billing.config.checkout_url(plan, detail.team.id))
        .unwrap_or_default();
    Ok(TeamPage {
        shell: page.shell("Team", "team"),
        next_plan: next_plan.map(|plan| plan.to_string()).unwrap_or_default(),
        checkout_url,
        plan: detail.team.plan.to_string(),
        upgrade: limits.iter().any(|l| l.near),
        limits,
        members: member_list
            .members
            .into_iter()
            .map(|m| MemberRow {
                is_me: page
                    .access
                    .caller
                    .user()
                    .is_some_and(|me| me.id == m.user_id),
                user_id: m.user_id.0,
                email: m.email,
                role_choices: ["owner", "admin", "member", "viewer"]
                    .into_iter()
                    .map(|r| (r, r == m.role.to_string()))
                    .collect(),
                role: m.role.to_string(),
                joined: format::time(m.joined_at),
            })
            .collect(),
        invitations,
        keys,
        audit,
        can_invite,
        can_change_roles: page.can(Action::ChangeRole),
        can_remove: page.can(Action::RemoveMember),
        can_view_keys,
        can_create_keys: page.can(Action::CreateApiKey),
        can_view_audit,
        shown_once,
        problem,
    })
}

/// `GET /team`.
pub async fn show(State(state): State<AppState>, page: WebPage) -> Result<Response, WebError> {
    Ok(render(
        &team_page(&state, &page, ShownOnce::default(), String::new()).await?,
    ))
}

/// A change refused with a reason the page can show (bad input, a plan limit, a conflict).
async fn refused(state: &AppState, page: &WebPage, error: ApiError) -> Result<Response, WebError> {
    let status = error.status;
    if status.is_server_error() || status == StatusCode::NOT_FOUND {
        return Err(error.into());
    }
    let mut problem = error.message;
    for detail in &error.details {
        problem.push_str(&format!(" {}: {}.", detail.field, detail.problem));
    }
    let page = team_page(state, page, ShownOnce::default(), problem).await?;
    Ok((status, render(&page)).into_response())
}

/// Answers a change whose result is a secret: the team page showing it once, or the refusal.
async fn shown_once_or_refused(
    state: &AppState,
    page: &WebPage,
    label: &'static str,
    created: Result<String, ApiError>,
) -> Result<Response, WebError> {
    match created {
        Ok(value) => {
            let shown = ShownOnce { label, value };
            Ok(render(&team_page(state, page, shown, String::new()).await?))
        }
        Err(error) => refused(state, page, error).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

/// `POST /team/invitations`: the invitation's token is shown once, on the page this answers.
pub async fn invite(
    State(state): State<AppState>,
    page: WebPage,
    Form(form): Form<InviteForm>,
) -> Result<Response, WebError> {
    let team = page.access.team.id.0;
    let body = InviteBody {
        email: form.email,
        role: form.role,
    };
    let created = invitations::invite(
        State(state.clone()),
        page.access.caller.clone(),
        Path(team),
        ApiJson(body),
    )
    .await
    .map(|(_, Json(created))| created.token);
    shown_once_or_refused(
        &state,
        &page,
        "Invitation token (send it to the person; shown once)",
        created,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
}

/// `POST /team/api-keys`: the key is shown once, on the page this answers.
pub async fn create_key(
    State(state): State<AppState>,
    page: WebPage,
    Form(form): Form<KeyForm>,
) -> Result<Response, WebError> {
    let team = page.access.team.id.0;
    let body = NewKeyBody {
        name: form.name,
        scope: form.scope,
    };
    let created = api_keys::create_api_key(
        State(state.clone()),
        page.access.caller.clone(),
        Path(team),
        ApiJson(body),
    )
    .await
    .map(|(_, Json(created))| created.key);
    shown_once_or_refused(
        &state,
        &page,
        "New API key (copy it now; it is not shown again)",
        created,
    )
    .await
}

/// `POST /team/api-keys/{id}/revoke`.
pub async fn revoke_key(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let team = page.access.team.id.0;
    match api_keys::revoke_api_key(
        State(state.clone()),
        page.access.caller.clone(),
        Path((team, id)),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to("/team#api-keys").into_response()),
        Err(error) => refused(&state, &page, error).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// `POST /team/members/{user}/role`.
pub async fn change_role(
    State(state): State<AppState>,
    page: WebPage,
    Path(user): Path<i64>,
    Form(form): Form<RoleForm>,
) -> Result<Response, WebError> {
    let team = page.access.team.id.0;
    match members::change_role(
        State(state.clone()),
        page.access.caller.clone(),
        Path((team, user)),
        ApiJson(RoleBody { role: form.role }),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to("/team#members").into_response()),
        Err(error) => refused(&state, &page, error).await,
    }
}

/// `POST /team/members/{user}/remove`: removes a member, or, on the person's own row, leaves
/// the team (then the first of their other teams is shown).
pub async fn remove_member(
    State(state): State<AppState>,
    page: WebPage,
    Path(user): Path<i64>,
) -> Result<Response, WebError> {
    let team = page.access.team.id.0;
    let leaving = page.access.caller.user().is_some_and(|me| me.id.0 == user);
    match members::remove_member(
        State(state.clone()),
        page.access.caller.clone(),
        Path((team, user)),
    )
    .await
    {
        Ok(_) if leaving => Ok(Redirect::to("/").into_response()),
        Ok(_) => Ok(Redirect::to("/team#members").into_response()),
        Err(error) => refused(&state, &page, error).await,
    }
}

/// `POST /team/invitations/{id}/revoke`: the invitation's token stops working.
pub async fn revoke_invitation(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let team = page.access.team.id.0;
    match invitations::revoke_invitation(
        State(state.clone()),
        page.access.caller.clone(),
        Path((team, id)),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to("/team#members").into_response()),
        Err(error) => refused(&state, &page, error).await,
    }
}
