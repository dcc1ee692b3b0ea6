//! Who is calling and what they may do: sessions (cookie + CSRF token), API keys (bearer),
//! password hashing, login throttling, and the team access every team-scoped handler starts from.

mod caller;
pub mod password;
mod team;
pub mod throttle;
pub mod tokens;

pub use caller::{ActivityNotes, Caller, ClientIp, Principal, client_ip};
pub use team::{TEAM_HEADER, TeamAccess};

use std::time::Duration;

/// The session cookie's name over HTTPS: the `__Host-` prefix makes browsers insist on Secure,
/// Path=/ and no Domain, so no subdomain can set or shadow it.
pub const SESSION_COOKIE_SECURE: &str = "__Host-watchtower_session";
/// Over plain HTTP (local installs) browsers refuse `__Host-` cookies, so the name drops it.
pub const SESSION_COOKIE_PLAIN: &str = "watchtower_session";
/// The header a cookie-authenticated unsafe request must carry (the value `/api/auth/login` and
/// `/api/auth/me` return as `csrf_token`).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How sign-in behaves.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Served over HTTPS (directly or behind a proxy): cookies get Secure and the `__Host-` name.
    pub secure_cookies: bool,
    pub session_ttl: Duration,
    pub invitation_ttl: Duration,
    /// Failed logins allowed per account and per IP within `failure_window` before 429.
    pub max_failed_logins: u32,
    pub failure_window: Duration,
    /// Take the client address from `X-Forwarded-For` (behind a trusted proxy only).
    pub trust_forwarded_for: bool,
    /// The SHA-256 of the token `/metrics` asks for (`serve --metrics-token`); open without one.
    pub metrics_token_hash: Option<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            session_ttl: Duration::from_secs(14 * 86_400),
            invitation_ttl: Duration::from_secs(7 * 86_400),
            max_failed_logins: 10,
            failure_window: Duration::from_secs(5 * 60),
            trust_forwarded_for: false,
            metrics_token_hash: None,
        }
    }
}

impl AuthConfig {
    pub fn cookie_name(&self) -> &'static str {
        if self.secure_cookies {
            SESSION_COOKIE_SECURE
        } else {
            SESSION_COOKIE_PLAIN
        }
    }
}

/// The rate limiter's [`CredentialCheck`](crate::middleware::rate_limit::CredentialCheck) on the
/// store: a key or session counts as one only when the store knows it (a failure to look up
/// counts as not known, so the request stays anonymous).
pub struct StoreCredentialCheck {
    store: std::sync::Arc<dyn watchtower_store::Store>,
}

impl StoreCredentialCheck {
    pub fn new(store: std::sync::Arc<dyn watchtower_store::Store>) -> Self {
        Self { store }
    }
}

#[async_trait::async_trait]
impl crate::middleware::rate_limit::CredentialCheck for StoreCredentialCheck {
    async fn is_api_key(&self, key_hash: &str) -> bool {
        matches!(self.store.find_api_key(key_hash).await, Ok(Some(_)))
    }

    async fn is_session(&self, token_hash: &str) -> bool {
        let now = watchtower_core::Timestamp::now();
        matches!(self.store.find_session(token_hash, now).await, Ok(Some(_)))
    }
}
