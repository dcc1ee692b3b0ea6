//! Signing in and out: `/api/auth/login`, `/logout`, `/me`, `/password`, and the instance's
//! security events for its administrators.

use crate::AppState;
use crate::api::ApiJson;
use crate::auth::tokens::{TokenKind, csrf_token, new_token, token_hash};
use crate::auth::{Caller, ClientIp, Principal, password, throttle};
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use watchtower_core::{ApiKeyId, ApiKeyScope, Email, FieldError, PasswordPolicy, Timestamp};
use watchtower_store::{NewSession, SecurityEventRecord, User};

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Who is signed in (or which key is calling), their teams, and the CSRF token to send back as
/// `X-CSRF-Token` on unsafe requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The signed-in person (`null` for an API key).
    pub user: Option<User>,
    /// The calling key (`null` for a person).
    pub api_key: Option<KeyIdentity>,
    pub teams: Vec<TeamRole>,
    pub csrf_token: Option<String>,
    pub session_expires_at: Option<i64>,
}

/// An API key as it names itself: never the key.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyIdentity {
    pub id: ApiKeyId,
    pub name: String,
    pub scope: ApiKeyScope,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
}

/// A team with the caller's role in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamRole {
    pub id: watchtower_core::TeamId,
    pub name: String,
    pub plan: watchtower_core::Plan,
    pub role: watchtower_core::Role,
}

impl TeamRole {
    pub fn new(team: &watchtower_store::Team, role: watchtower_core::Role) -> Self {
        Self {
            id: team.id,
            name: team.name.clone(),
            plan: team.plan,
            role,
        }
    }
}

async fn me_of(state: &AppState, caller: &Caller) -> Result<Me, ApiError> {
    Ok(match &caller.principal {
        Principal::User {
            user,
            session,
            csrf_token,
        } => {
            let teams = state.store.teams_of(user.id).await?;
            Me {
                user: Some(user.clone()),
                api_key: None,
                teams: teams
                    .iter()
                    .map(|m| TeamRole::new(&m.team, m.role))
                    .collect(),
                csrf_token: Some(csrf_token.clone()),
                session_expires_at: session.as_ref().map(|session| session.expires_at.0),
            }
        }
        Principal::Key(key) => {
            let team = state.store.get_team(key.team_id).await?;
            Me {
                user: None,
                api_key: Some(KeyIdentity {
                    id: key.id,
                    name: key.name.clone(),
                    scope: key.scope,
                    prefix: key.prefix.clone(),
                }),
                teams: team
                    .iter()
                    .map(|t| TeamRole::new(t, watchtower_core::Role::Admin))
                    .collect(),
                csrf_token: None,
                session_expires_at: None,
            }
        }
    })
}

/// Signs in with email and password; sets the session cookie.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = Me),
        (status = 401, description = "Wrong email or password"),
        (status = 429, description = "Too many failed logins for the account or the address, or too many requests"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let now = Timestamp::now();
    let email_key = Email::parse(&request.email).ok().map(|e| e.lookup_key());
    throttle::check(&state, email_key.as_deref(), ip, now).await?;
    let credentials = match &email_key {
        Some(key) => state.store.credentials(key).await?,
        None => None,
    };
    let hash = credentials.as_ref().map(|c| c.password_hash.clone());
    if !password::verify_password(request.password, hash).await {
        throttle::record(
            &state,
            "login_failed",
            email_key.as_deref(),
            credentials.as_ref().map(|c| c.user.id),
            ip,
            "wrong email or password".into(),
            now,
        )
        .await;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong email or password",
        ));
    }
    let user = credentials
        .expect("a verified password has credentials")
        .user;
    let token = new_token(TokenKind::Session);
    let session = state
        .store
        .create_session(&NewSession {
            user_id: user.id,
            token_hash: token_hash(&token),
            created_at: now,
            expires_at: now.plus(state.auth.session_ttl),
            ip: ip.map(|ip| ip.to_string()),
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().take(200).collect()),
        })
        .await?;
    throttle::record(
        &state,
        "login_succeeded",
        email_key.as_deref(),
        Some(user.id),
        ip,
        String::new(),
        now,
    )
    .await;
    let caller = Caller {
        principal: Principal::User {
            user,
            session: Some(session),
            csrf_token: csrf_token(&token),
        },
        ip,
    };
    let me = me_of(&state, &caller).await?;
    let cookie = session_cookie(&state, &token, state.auth.session_ttl.as_secs());
    Ok((AppendHeaders([(header::SET_COOKIE, cookie)]), Json(me)))
}

fn session_cookie(state: &AppState, token: &str, max_age: u64) -> String {
    let secure = if state.auth.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        state.auth.cookie_name()
    )
}

/// Ends the current session and clears its cookie.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out"), (status = 403, description = "Missing CSRF token, or an API key (which has no session)")))]
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    let Principal::User { session, .. } = &caller.principal else {
        return Err(ApiError::forbidden(
            "an API key has no session to end; revoke the key instead",
        ));
    };
    let Some(session) = session else {
        return Err(ApiError::forbidden(
            "signed in by the Whop frame: there is no session to end",
        ));
    };
    state.store.delete_session(session.id).await?;
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(header::SET_COOKIE, session_cookie(&state, "", 0))]),
    ))
}

/// The signed-in person (or calling key), their teams and the CSRF token.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth",
    responses((status = 200, body = Me)))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, ApiError> {
    Ok(Json(me_of(&state, &caller).await?))
}

/// Changes the password; every other session of the user ends.
#[utoipa::path(post, path = "/api/auth/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204, description = "Changed"), (status = 400, description = "Wrong current password or a weak new one"), (status = 403, description = "Missing CSRF token, or an API key"),
        (status = 429, description = "Too many wrong passwords for the account or the address")))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(change): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let Principal::User { user, session, .. } = &caller.principal else {
        return Err(ApiError::forbidden(
            "only a signed-in person changes a password",
        ));
    };
    let email = Email::parse(&user.email).ok();
    let email_key = email.as_ref().map(Email::lookup_key);
    let now = Timestamp::now();
    // A stolen session guessing the password it does not know is throttled like a login.
    throttle::check(&state, email_key.as_deref(), caller.ip, now).await?;
    let mut problems: Vec<FieldError> = PasswordPolicy::DEFAULT
        .check(&change.new_password, email.as_ref())
        .into_iter()
        .map(|problem| FieldError {
            field: "new_password".into(),
            problem,
        })
        .collect();
    let credentials = state
        .store
        .credentials(email_key.as_deref().unwrap_or_default())
        .await?;
    let hash = credentials.map(|c| c.password_hash);
    if !password::verify_password(change.current_password, hash).await {
        throttle::record(
            &state,
            "password_change_failed",
            email_key.as_deref(),
            Some(user.id),
            caller.ip,
            "wrong current password".into(),
            now,
        )
        .await;
        problems.insert(
            0,
            FieldError {
                field: "current_password".into(),
                problem: "is not the current password".into(),
            },
        );
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let hash = password::hash_password(change.new_password)
        .await
        .map_err(ApiError::internal)?;
    state
        .store
        .set_password(user.id, &hash, session.as_ref().map(|session| session.id))
        .await?;
    throttle::record(
        &state,
        "password_changed",
        None,
        Some(user.id),
        caller.ip,
        "other sessions ended".into(),
        now,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct EventPage {
    /// Events with an id below this (the `next_before` of the previous page).
    pub before: Option<i64>,
    /// At most this many (default 100, at most 500).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecurityEvents {
    pub events: Vec<SecurityEventRecord>,
    pub next_before: Option<i64>,
}

/// Failed and throttled logins, password changes: for the instance's administrators.
#[utoipa::path(get, path = "/api/security-events", tag = "auth", params(EventPage),
    responses((status = 200, body = SecurityEvents), (status = 403, description = "Not an instance administrator")))]
pub async fn security_events(
    State(state): State<AppState>,
    caller: Caller,
    Query(page): Query<EventPage>,
) -> Result<Json<SecurityEvents>, ApiError> {
    if !caller.user().is_some_and(|user| user.is_admin) {
        return Err(ApiError::forbidden(
            "security events are for the instance's administrators",
        ));
    }
    let limit = page.limit.unwrap_or(100).clamp(1, 500);
    let events = state.store.security_events(page.before, limit).await?;
    let next_before = (events.len() == limit as usize)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    Ok(Json(SecurityEvents {
        events,
        next_before,
    }))
}
