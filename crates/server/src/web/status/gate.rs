//! Who may read a private status page, checked on every request before a cached answer is
//! served (the page, its JSON, badge, feeds and history alike). A password page admits a
//! visitor holding its access cookie: `{expiry}.{HMAC-SHA256}` of the page, the expiry and the
//! stored password hash under the instance's secret, so it works for that page only, ends when
//! the password changes, and is compared in constant time. A members page admits a dashboard
//! session of one of the team's members.

use super::cache::Rendered;
use crate::AppState;
use crate::auth::tokens::token_hash;
use crate::auth::{SESSION_COOKIE_PLAIN, SESSION_COOKIE_SECURE};
use crate::error::ApiError;
use axum::http::HeaderMap;
use axum_extra::extract::CookieJar;
use hmac::{KeyInit, Mac};
use watchtower_core::status_page::PageVisibility;
use watchtower_core::{PageSecret, StatusPageId, TeamId, Timestamp};
use watchtower_store::StatusPage;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The access cookie's name; its `Path` scopes it to one page (`/status/{slug}`, or `/` of a
/// custom domain, whose cookies are the domain's own).
pub const ACCESS_COOKIE: &str = "watchtower_status_access";
/// How long an entered password lasts, in seconds (the token carries its end in milliseconds).
pub const ACCESS_SECONDS: i64 = 7 * 86_400;

/// The rule a rendered page carries.
#[derive(Debug, Clone, Default)]
pub enum Gate {
    #[default]
    Open,
    Password {
        page: StatusPageId,
        hash: PageSecret,
    },
    Members {
        team: TeamId,
    },
}

impl Gate {
    pub fn of(page: &StatusPage) -> Self {
        match (page.spec.visibility, &page.spec.password_hash) {
            (PageVisibility::Public, _) => Gate::Open,
            (PageVisibility::Password, Some(hash)) => Gate::Password {
                page: page.id,
                hash: hash.clone(),
            },
            // A password page without a stored password (never written by the API) admits
            // nobody rather than everybody.
            (PageVisibility::Password, None) => Gate::Password {
                page: page.id,
                hash: PageSecret::new(String::new()),
            },
            (PageVisibility::Members, _) => Gate::Members { team: page.team_id },
        }
    }

    pub fn is_private(&self) -> bool {
        !matches!(self, Gate::Open)
    }
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A password page without a valid access cookie.
    Password,
    /// A members page without a session.
    SignIn,
    /// A session of someone not in the team: answered as if there were no page.
    NotMember,
}

fn mac(secret: &str, page: StatusPageId, hash: &PageSecret, expires: i64) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("status-access:{page}:{expires}:").as_bytes());
    mac.update(hash.expose().as_bytes());
    mac
}

/// The access cookie's value for `page`, good until `expires`.
pub fn access_token(secret: &str, page: StatusPageId, hash: &PageSecret, expires: i64) -> String {
    let tag = mac(secret, page, hash, expires).finalize().into_bytes();
    format!("{expires}.{}", hex::encode(tag))
}

/// Whether `token` admits to `page` at `now` (constant-time comparison of the tag).
pub fn token_admits(
    secret: &str,
    page: StatusPageId,
    hash: &PageSecret,
    token: &str,
    now: Timestamp,
) -> bool {
    let Some((expires, tag)) = token.split_once('.') else {
        return false;
    };
    let (Ok(expires), Ok(tag)) = (expires.parse::<i64>(), hex::decode(tag)) else {
        return false;
    };
    if hash.expose().is_empty() || expires <= now.0 {
        return false;
    }
    mac(secret, page, hash, expires).verify_slice(&tag).is_ok()
}

/// The `Set-Cookie` value that admits the visitor to the page served under `path`.
pub fn access_cookie(state: &AppState, token: &str, path: &str) -> String {
    let secure = if state.auth.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{ACCESS_COOKIE}={token}; Path={path}; HttpOnly; SameSite=Lax; \
         Max-Age={ACCESS_SECONDS}{secure}"
    )
}

/// Whether the request whose headers are `headers` may read `page`.
pub async fn admit(state: &AppState, headers: &HeaderMap, page: &Rendered) -> Result<(), Refusal> {
    let jar = CookieJar::from_headers(headers);
    match &page.gate {
        Gate::Open => Ok(()),
        Gate::Password { page, hash } => {
            let secret = state.status_pages.secret(state.store.as_ref()).await;
            let admitted = secret.is_ok_and(|secret| {
                jar.iter()
                    .filter(|cookie| cookie.name() == ACCESS_COOKIE)
                    .any(|cookie| {
                        token_admits(&secret, *page, hash, cookie.value(), Timestamp::now())
                    })
            });
            if admitted {
                Ok(())
            } else {
                Err(Refusal::Password)
            }
        }
        Gate::Members { team } => {
            let Some(token) = jar
                .get(SESSION_COOKIE_SECURE)
                .or_else(|| jar.get(SESSION_COOKIE_PLAIN))
                .map(|cookie| cookie.value().to_owned())
            else {
                return Err(Refusal::SignIn);
            };
            match is_member(state, &token, *team).await {
                Ok(Some(true)) => Ok(()),
                Ok(Some(false)) => Err(Refusal::NotMember),
                Ok(None) => Err(Refusal::SignIn),
                Err(error) => {
                    tracing::warn!(code = error.code, "cannot check a status page member");
                    Err(Refusal::SignIn)
                }
            }
        }
    }
}

/// `None` when the session is unknown or over; otherwise whether its user is in `team`.
async fn is_member(state: &AppState, token: &str, team: TeamId) -> Result<Option<bool>, ApiError> {
    let Some(session) = state
        .store
        .find_session(&token_hash(token), Timestamp::now())
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(
        state.store.role_of(team, session.user_id).await?.is_some(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_admits_to_its_page_until_it_expires_or_the_password_changes() {
        let hash = PageSecret::new("$argon2id$v=19$one".into());
        let page = StatusPageId(7);
        let now = Timestamp(1_000);
        let token = access_token("secret", page, &hash, 2_000);
        assert!(token_admits("secret", page, &hash, &token, now));
        assert!(!token_admits(
            "secret",
            page,
            &hash,
            &token,
            Timestamp(2_000)
        ));
        assert!(!token_admits("secret", StatusPageId(8), &hash, &token, now));
        let changed = PageSecret::new("$argon2id$v=19$two".into());
        assert!(!token_admits("secret", page, &changed, &token, now));
        assert!(!token_admits("other", page, &hash, &token, now));
        let stretched = token.replacen("2000", "9000", 1);
        assert!(!token_admits("secret", page, &hash, &stretched, now));
        for junk in ["", ".", "2000.", "x.y", "2000.zz"] {
            assert!(!token_admits("secret", page, &hash, junk, now), "{junk}");
        }
        let empty = PageSecret::new(String::new());
        let token = access_token("secret", page, &empty, 2_000);
        assert!(!token_admits("secret", page, &empty, &token, now));
    }
}
