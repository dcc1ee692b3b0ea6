//! Failed-login throttling, counted from the security events the store already keeps, so every
//! instance sharing a database sees the same count.

use crate::AppState;
use crate::error::ApiError;
use std::net::IpAddr;
use watchtower_core::{Timestamp, UserId};
use watchtower_store::SecurityEvent;

/// 429 when the account or the address has reached the allowed failures within the window.
pub async fn check(
    state: &AppState,
    email_key: Option<&str>,
    ip: Option<IpAddr>,
    now: Timestamp,
) -> Result<(), ApiError> {
    let config = &state.auth;
    let ip_text = ip.map(|ip| ip.to_string());
    let since = now.minus(config.failure_window);
    let failed = state
        .store
        .failed_logins_since(email_key, ip_text.as_deref(), since)
        .await?;
    let limit = config.max_failed_logins;
    if failed.by_account < limit && failed.by_ip < limit {
        return Ok(());
    }
    let which = if failed.by_account >= limit {
        "this account"
    } else {
        "this address"
    };
    record(
        state,
        "login_throttled",
        email_key,
        None,
        ip,
        format!("{which} had {limit} failed logins within the window"),
        now,
    )
    .await;
    Err(ApiError::too_many_requests(
        config.failure_window.as_secs(),
        format!("too many failed logins for {which}; try again later"),
    ))
}

/// Records a security event; a failure to record is logged, never answered.
pub async fn record(
    state: &AppState,
    kind: &str,
    email_key: Option<&str>,
    user_id: Option<UserId>,
    ip: Option<IpAddr>,
    detail: String,
    at: Timestamp,
) {
    let event = SecurityEvent {
        kind: kind.to_owned(),
        email_key: email_key.map(str::to_owned),
        user_id,
        ip: ip.map(|ip| ip.to_string()),
        detail,
        at,
    };
    if let Err(error) = state.store.record_security_event(&event).await {
        tracing::error!(%error, kind, "cannot record security event");
    }
    tracing::info!(kind, user = ?user_id, ip = ?ip, "security event");
}
