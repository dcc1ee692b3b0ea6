//! The signed-in person's account: changing the password (through the API's handler: the same
//! policy, throttling and ending of other sessions), switching the team the dashboard shows, and
//! accepting an invitation.

use super::page::{Shell, TEAM_COOKIE, WebError, WebPage, render};
use crate::AppState;
use crate::api::ApiJson;
use crate::api::auth::{EventPage, PasswordChange, change_password, security_events};
use askama::Template;
use axum::extract::{Form, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use watchtower_core::{FieldError, TeamId};

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    shell: Shell,
    plan: String,
    problems: Vec<FieldError>,
    changed: bool,
    /// The instance's security events, for its administrators only (empty for everyone else).
    security_events: Vec<SecurityRow>,
    is_admin: bool,
}

/// One security event as the administrators' table shows it.
#[derive(Debug, Clone)]
pub struct SecurityRow {
    pub at: String,
    pub kind: String,
    pub who: String,
    pub ip: String,
    pub detail: String,
}

impl AccountPage {
    fn problem(&self, field: &str) -> String {
        self.problems
            .iter()
            .filter(|p| p.field == field)
            .map(|p| p.problem.clone())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

async fn account_page(
    state: &AppState,
    page: &WebPage,
    problems: Vec<FieldError>,
    changed: bool,
) -> Result<AccountPage, WebError> {
    let is_admin = page.access.caller.user().is_some_and(|user| user.is_admin);
    // The API's handler decides who may read them; only administrators ask.
    let security_events = if is_admin {
        let axum::Json(events) = security_events(
            State(state.clone()),
            page.access.caller.clone(),
            axum::extract::Query(EventPage {
                before: None,
                limit: Some(50),
            }),
        )
        .await?;
        events
            .events
            .into_iter()
            .map(|event| SecurityRow {
                at: super::format::time(event.at),
                kind: event.kind,
                who: event.email_key.unwrap_or_default(),
                ip: event.ip.unwrap_or_default(),
                detail: event.detail,
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(AccountPage {
        shell: page.shell("Account", "account"),
        plan: page.access.team.plan.to_string(),
        problems,
        changed,
        security_events,
        is_admin,
    })
}

/// `GET /account`.
pub async fn show(State(state): State<AppState>, page: WebPage) -> Result<Response, WebError> {
    Ok(render(
        &account_page(&state, &page, Vec::new(), false).await?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

/// `POST /account/password`.
pub async fn password(
    State(state): State<AppState>,
    page: WebPage,
    Form(form): Form<PasswordForm>,
) -> Result<Response, WebError> {
    let change = PasswordChange {
        current_password: form.current_password,
        new_password: form.new_password,
    };
    match change_password(
        State(state.clone()),
        page.access.caller.clone(),
        ApiJson(change),
    )
    .await
    {
        Ok(_) => Ok(render(
            &account_page(&state, &page, Vec::new(), true).await?,
        )),
        Err(error) if error.status == StatusCode::BAD_REQUEST => {
            let problems = if error.details.is_empty() {
                vec![FieldError {
                    field: "current_password".into(),
                    problem: error.message,
                }]
            } else {
                error.details
            };
            Ok((
                StatusCode::BAD_REQUEST,
                render(&account_page(&state, &page, problems, false).await?),
            )
                .into_response())
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct TeamForm {
    team: i64,
}

/// `POST /team`: shows another of the person's teams (membership is checked here and again on
/// every page; another team's id is a 404 like any other).
pub async fn switch_team(
    State(state): State<AppState>,
    page: WebPage,
    Form(form): Form<TeamForm>,
) -> Result<Response, WebError> {
    let crate::auth::Principal::User { user, .. } = &page.access.caller.principal else {
        return Err(WebError::SignIn(String::new()));
    };
    let team = TeamId(form.team);
    if state
        .store
        .role_of(team, user.id)
        .await
        .map_err(crate::error::ApiError::from)?
        .is_none()
    {
        return Err(WebError::not_found());
    }
    switch_to(&state, team)
}

#[derive(Template)]
#[template(path = "accept_invitation.html")]
struct AcceptPage {
    shell: Shell,
    token: String,
    problem: String,
}

#[derive(Debug, Deserialize)]
pub struct InvitationQuery {
    #[serde(default)]
    token: String,
}

/// `GET /invitations/accept?token=...`: asks before joining (a link preview that fetches the
/// URL changes nothing); signing in first is required, as the API requires.
pub async fn accept_form(
    page: WebPage,
    axum::extract::Query(query): axum::extract::Query<InvitationQuery>,
) -> Response {
    render(&AcceptPage {
        shell: page.shell("Join a team", "team"),
        token: query.token,
        problem: String::new(),
    })
}

/// `POST /invitations/accept`: joins through the API's handler, then shows the joined team.
pub async fn accept(
    State(state): State<AppState>,
    page: WebPage,
    Form(query): Form<InvitationQuery>,
) -> Result<Response, WebError> {
    let body = crate::api::teams::invitations::AcceptBody {
        token: query.token.clone(),
    };
    match crate::api::teams::invitations::accept_invitation(
        State(state.clone()),
        Ok(page.access.caller.clone()),
        ApiJson(body),
    )
    .await
    {
        Ok(axum::Json(joined)) => switch_to(&state, joined.team.id),
        Err(error)
            if error.status.is_client_error() && error.status != StatusCode::UNAUTHORIZED =>
        {
            let page = AcceptPage {
                shell: page.shell("Join a team", "team"),
                token: query.token,
                problem: match error.status {
                    StatusCode::NOT_FOUND => {
                        "This invitation is unknown, used, revoked or expired.".into()
                    }
                    _ => error.message,
                },
            };
            Ok((error.status, render(&page)).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

/// Answers a redirect to the overview that also remembers `team` as the one shown.
fn switch_to(state: &AppState, team: TeamId) -> Result<Response, WebError> {
    let secure = if state.auth.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{TEAM_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax{secure}",
        team.0
    );
    let mut response = Redirect::to("/").into_response();
    if let Ok(value) = cookie.parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}
