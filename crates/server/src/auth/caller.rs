//! The `Caller` extractor: the Whop frame's user token, the API key or the signed-in session
//! behind a request, with CSRF checked for cookie-authenticated requests that change something.

use super::tokens::{constant_time_eq, csrf_token, token_hash};
use super::{CSRF_HEADER, SESSION_COOKIE_PLAIN, SESSION_COOKIE_SECURE};
use crate::AppState;
use crate::error::ApiError;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum_extra::extract::CookieJar;
use std::net::{IpAddr, SocketAddr};
use watchtower_billing::frame::FRAME_TOKEN_HEADER;
use watchtower_billing::{FrameTokenError, FrameVerifier, ProcessError, WhopPerson, customer_of};
use watchtower_core::{Plan, Timestamp, UserId};
use watchtower_store::instance::ACTIVITY_RESOLUTION;
use watchtower_store::{Actor, ApiKey, Session, User};

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A person signed in with a session cookie, or through the Whop frame's user token (no
    /// session then: the token comes with every request).
    User {
        user: User,
        session: Option<Session>,
        /// The CSRF token of this session, for `/api/auth/me` to hand back.
        csrf_token: String,
    },
    /// A team's API key.
    Key(ApiKey),
}

#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub ip: Option<IpAddr>,
}

impl Caller {
    pub fn user(&self) -> Option<&User> {
        match &self.principal {
            Principal::User { user, .. } => Some(user),
            Principal::Key(_) => None,
        }
    }

    /// How the audit log names this caller.
    pub fn actor(&self) -> Actor {
        match &self.principal {
            Principal::User { user, .. } => Actor {
                user_id: Some(user.id),
                api_key_id: None,
                label: user.email.clone(),
            },
            Principal::Key(key) => Actor {
                user_id: None,
                api_key_id: Some(key.id),
                label: format!("key:{}", key.name),
            },
        }
    }
}

/// The client's address: the socket peer, or the right-most `X-Forwarded-For` entry (the one
/// the proxy in front appended) when the operator says such a proxy sets it. Entries left of it
/// are whatever the client wrote, so they never name the client.
pub fn client_ip(parts: &Parts, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for
        && let Some(ip) = crate::middleware::rate_limit::rightmost_forwarded(&parts.headers)
    {
        return Some(ip);
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// GET, HEAD and OPTIONS change nothing, so they need no CSRF token.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let ip = client_ip(parts, state.auth.trust_forwarded_for);
        let now = Timestamp::now();
        let frame_token = state
            .billing
            .frame
            .as_ref()
            .and_then(|verifier| Some((verifier, parts.headers.get(FRAME_TOKEN_HEADER)?)));
        let caller = if let Some((verifier, token)) = frame_token {
            // Refused before the token is looked at: a forged request costs no verification.
            if !is_safe(&parts.method) && !same_origin(&parts.headers) {
                return Err(csrf_refused());
            }
            let user = frame_user(state, verifier, token, now).await?;
            Caller {
                // No session and so no CSRF token: the frame's own pages are same-origin.
                principal: Principal::User {
                    user,
                    session: None,
                    csrf_token: String::new(),
                },
                ip,
            }
        } else if let Some(token) = bearer_token(&parts.headers) {
            let key = state
                .store
                .find_api_key(&token_hash(token))
                .await?
                .ok_or_else(ApiError::unauthenticated)?;
            // Touching on every request would make each read a write; once a minute is plenty
            // for "last used".
            if key
                .last_used_at
                .is_none_or(|used| now.since(used).as_secs() >= 60)
            {
                state.store.touch_api_key(key.id, now).await?;
            }
            Caller {
                principal: Principal::Key(key),
                ip,
            }
        } else {
            let jar = CookieJar::from_headers(&parts.headers);
            let token = jar
                .get(SESSION_COOKIE_SECURE)
                .or_else(|| jar.get(SESSION_COOKIE_PLAIN))
                .map(|cookie| cookie.value().to_owned())
                .ok_or_else(ApiError::unauthenticated)?;
            let session = state
                .store
                .find_session(&token_hash(&token), now)
                .await?
                .ok_or_else(ApiError::unauthenticated)?;
            let csrf = csrf_token(&token);
            if !is_safe(&parts.method) {
                check_csrf(&parts.headers, &csrf)?;
            }
            let user = state
                .store
                .get_user(session.user_id)
                .await?
                .ok_or_else(ApiError::unauthenticated)?;
            Caller {
                principal: Principal::User {
                    user,
                    session: Some(session),
                    csrf_token: csrf,
                },
                ip,
            }
        };
        if let Principal::User { user, .. } = &caller.principal {
            note_activity(state, user, now).await;
        }
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// Keeps a person's last activity to the hour, for the active-user counts: skipped when the
/// stored time is younger, and written off the request (SQLite's one writer may be busy with a
/// long maintenance run), at most once an hour per person from this instance. A failed write
/// costs the count, never the request.
async fn note_activity(state: &AppState, user: &User, now: Timestamp) {
    if user
        .last_seen_at
        .is_some_and(|seen| now.since(seen) < ACTIVITY_RESOLUTION)
        || !state.activity.claim(user.id)
    {
        return;
    }
    let store = state.store.clone();
    let user = user.id;
    tokio::spawn(async move {
        if let Err(error) = store.touch_user(user, now).await {
            tracing::warn!(%error, "cannot note the person's activity");
        }
    });
}

/// The people this instance noted as active within the hour, so a person's requests start one
/// write an hour however slow the database is to take it. Bounded: past `MAX_NOTED` people the
/// notes older than the hour are dropped, and if all are younger, all are.
#[derive(Debug, Default)]
pub struct ActivityNotes(std::sync::Mutex<std::collections::HashMap<UserId, std::time::Instant>>);

const MAX_NOTED: usize = 100_000;

impl ActivityNotes {
    /// True when `user` was not noted within the hour (and is noted now).
    pub fn claim(&self, user: UserId) -> bool {
        let now = std::time::Instant::now();
        let mut noted = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if noted
            .get(&user)
            .is_some_and(|at| now.duration_since(*at) < ACTIVITY_RESOLUTION)
        {
            return false;
        }
        if noted.len() >= MAX_NOTED {
            noted.retain(|_, at| now.duration_since(*at) < ACTIVITY_RESOLUTION);
            if noted.len() >= MAX_NOTED {
                noted.clear();
            }
        }
        noted.insert(user, now);
        true
    }
}

/// The person a Whop frame token names, made with their team on first sight. A token that does
/// not verify is a 401 (and a warning in the log: a stream of them is an attack); keys that
/// cannot be fetched are a 503, not the caller's fault.
async fn frame_user(
    state: &AppState,
    verifier: &FrameVerifier,
    token: &HeaderValue,
    now: Timestamp,
) -> Result<User, ApiError> {
    let token = token.to_str().map_err(|_| ApiError::unauthenticated())?;
    let frame_user = verifier.verify(token).await.map_err(|error| {
        tracing::warn!(%error, "a Whop frame token was refused");
        match error {
            FrameTokenError::KeysUnavailable(_) => ApiError::new(
                http::StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Whop's signing keys cannot be fetched; try again shortly",
            ),
            _ => ApiError::unauthenticated(),
        }
    })?;
    let person = WhopPerson {
        user_id: &frame_user.whop_user_id,
        email: None,
        name: None,
        username: None,
    };
    let customer = customer_of(&*state.store, now, &person)
        .await
        .map_err(|error| match error {
            ProcessError::Store(error) => ApiError::from(error),
            other => ApiError::internal(other.to_string()),
        })?;
    Ok(customer.user)
}

/// Whether the browser says the request comes from the page's own origin.
fn same_origin(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site == "same-origin")
}

fn csrf_refused() -> ApiError {
    ApiError::new(
        http::StatusCode::FORBIDDEN,
        "csrf",
        "a signed-in request that changes something must send the X-CSRF-Token header from /api/auth/me",
    )
}

/// A cookie-authenticated unsafe request must prove it comes from WatchTower's own pages: a
/// cross-site `Sec-Fetch-Site` is refused outright, and the session's CSRF token must be sent.
fn check_csrf(headers: &HeaderMap, expected: &str) -> Result<(), ApiError> {
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site == "cross-site");
    let sent = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if cross_site || !constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        return Err(csrf_refused());
    }
    Ok(())
}

/// The plan a key's team must have for the key to work at all.
pub(crate) fn api_access_denied(state: &AppState, plan: Plan) -> Option<ApiError> {
    state
        .plans
        .check(plan, watchtower_core::Demand::ApiAccess)
        .err()
        .map(|exceeded| ApiError::plan_limit(&exceeded))
}

/// The client's address as an extractor (see [`client_ip`]).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_ip(parts, state.auth.trust_forwarded_for)))
    }
}
