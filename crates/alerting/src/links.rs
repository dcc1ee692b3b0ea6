//! Signed links inside notifications: whoever receives an alert can acknowledge the incident from
//! the message itself, without signing in. The token is an HMAC-SHA256 of the team and incident
//! under the instance's secret, so it works for that incident only and cannot be forged. A status
//! page subscriber's confirmation and unsubscribe links are signed the same way, over the
//! subscriber and its address (the confirmation's with an expiry), and checked in constant time.

use hmac::{KeyInit, Mac};
use watchtower_core::{IncidentId, StatusSubscriberId, TeamId, Timestamp};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

fn mac(secret: &str, team: TeamId, incident: IncidentId) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("acknowledge:{team}:{incident}").as_bytes());
    mac
}

/// The token of an incident's acknowledge link.
pub fn acknowledge_token(secret: &str, team: TeamId, incident: IncidentId) -> String {
    hex::encode(mac(secret, team, incident).finalize().into_bytes())
}

/// Whether `token` is the incident's, compared in constant time.
pub fn verify_acknowledge_token(
    secret: &str,
    team: TeamId,
    incident: IncidentId,
    token: &str,
) -> bool {
    let Ok(bytes) = hex::decode(token) else {
        return false;
    };
    mac(secret, team, incident).verify_slice(&bytes).is_ok()
}

/// The path of the acknowledge link (append it to the public URL).
pub fn acknowledge_path(secret: &str, team: TeamId, incident: IncidentId) -> String {
    format!(
        "/api/teams/{team}/incidents/{incident}/acknowledge-link?token={}",
        acknowledge_token(secret, team, incident)
    )
}

/// How long a subscription's confirmation link works.
pub const CONFIRMATION_LIFETIME_MS: i64 = 7 * 24 * 3600 * 1000;

/// What a subscriber's link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriberLink {
    /// Confirms the sign-up; carries its expiry (`{expires}.{mac}`).
    Confirm,
    /// Ends the subscription; never expires, so an old email's link still works.
    Unsubscribe,
}

fn subscriber_mac(
    secret: &str,
    link: SubscriberLink,
    subscriber: StatusSubscriberId,
    address: &str,
    expires: i64,
) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    let purpose = match link {
        SubscriberLink::Confirm => "status-subscriber-confirm",
        SubscriberLink::Unsubscribe => "status-subscriber-unsubscribe",
    };
    mac.update(format!("{purpose}:{subscriber}:{expires}:").as_bytes());
    mac.update(address.as_bytes());
    mac
}

/// The token of a subscriber's link; a confirmation's works until `issued` plus
/// [`CONFIRMATION_LIFETIME_MS`].
pub fn subscriber_token(
    secret: &str,
    link: SubscriberLink,
    subscriber: StatusSubscriberId,
    address: &str,
    issued: Timestamp,
) -> String {
    match link {
        SubscriberLink::Confirm => {
            let expires = issued.0 + CONFIRMATION_LIFETIME_MS;
            let mac = subscriber_mac(secret, link, subscriber, address, expires);
            format!("{expires}.{}", hex::encode(mac.finalize().into_bytes()))
        }
        SubscriberLink::Unsubscribe => {
            let mac = subscriber_mac(secret, link, subscriber, address, 0);
            hex::encode(mac.finalize().into_bytes())
        }
    }
}

/// Whether `token` is a valid `link` of this subscriber and address at `now`, compared in
/// constant time.
pub fn verify_subscriber_token(
    secret: &str,
    link: SubscriberLink,
    subscriber: StatusSubscriberId,
    address: &str,
    token: &str,
    now: Timestamp,
) -> bool {
    let (expires, mac) = match link {
        SubscriberLink::Confirm => match token.split_once('.') {
            // Only the form `subscriber_token` writes: one token per link.
            Some((text, mac)) => match text.parse::<i64>() {
                Ok(expires) if now.0 <= expires && expires.to_string() == text => (expires, mac),
                _ => return false,
            },
            None => return false,
        },
        SubscriberLink::Unsubscribe => (0, token),
    };
    if mac.bytes().any(|byte| byte.is_ascii_uppercase()) {
        return false;
    }
    let Ok(bytes) = hex::decode(mac) else {
        return false;
    };
    subscriber_mac(secret, link, subscriber, address, expires)
        .verify_slice(&bytes)
        .is_ok()
}

/// The path of a subscriber's link on page `slug` (append it to the public URL).
pub fn subscriber_path(
    slug: &str,
    link: SubscriberLink,
    subscriber: StatusSubscriberId,
    token: &str,
) -> String {
    let action = match link {
        SubscriberLink::Confirm => "confirm",
        SubscriberLink::Unsubscribe => "unsubscribe",
    };
    format!("/status/{slug}/{action}?subscriber={subscriber}&token={token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscriber_link_works_for_its_subscriber_address_and_purpose_only() {
        let (id, now) = (StatusSubscriberId(4), Timestamp(1_000));
        let confirm = subscriber_token("s", SubscriberLink::Confirm, id, "a@x.io", now);
        let check = |link, id, address: &str, token: &str, at| {
            verify_subscriber_token("s", link, id, address, token, Timestamp(at))
        };
        assert!(check(
            SubscriberLink::Confirm,
            id,
            "a@x.io",
            &confirm,
            2_000
        ));
        assert!(!check(
            SubscriberLink::Confirm,
            id,
            "a@x.io",
            &confirm,
            1_000 + CONFIRMATION_LIFETIME_MS + 1
        ));
        assert!(!check(
            SubscriberLink::Confirm,
            id,
            "b@x.io",
            &confirm,
            2_000
        ));
        assert!(!check(
            SubscriberLink::Confirm,
            StatusSubscriberId(5),
            "a@x.io",
            &confirm,
            2_000
        ));
        assert!(!check(
            SubscriberLink::Unsubscribe,
            id,
            "a@x.io",
            &confirm,
            2_000
        ));
        // A later expiry written into the token breaks its MAC.
        let (_, mac) = confirm.split_once('.').unwrap();
        let stretched = format!("{}.{mac}", i64::MAX);
        assert!(!check(
            SubscriberLink::Confirm,
            id,
            "a@x.io",
            &stretched,
            2_000
        ));
        // Only the written form: not the same MAC in capitals, nor the expiry spelled otherwise.
        let (expiry, mac) = confirm.split_once('.').unwrap();
        for variant in [
            format!("{expiry}.{}", mac.to_uppercase()),
            format!("+{expiry}.{mac}"),
            format!("0{expiry}.{mac}"),
        ] {
            assert!(
                !check(SubscriberLink::Confirm, id, "a@x.io", &variant, 2_000),
                "{variant}"
            );
        }
        let leave = subscriber_token("s", SubscriberLink::Unsubscribe, id, "a@x.io", now);
        assert!(check(
            SubscriberLink::Unsubscribe,
            id,
            "a@x.io",
            &leave,
            i64::MAX
        ));
        assert!(!check(SubscriberLink::Confirm, id, "a@x.io", &leave, 2_000));
        assert!(!verify_subscriber_token(
            "t",
            SubscriberLink::Unsubscribe,
            id,
            "a@x.io",
            &leave,
            now
        ));
    }

    #[test]
    fn a_token_acknowledges_its_incident_only() {
        let token = acknowledge_token("secret", TeamId(1), IncidentId(7));
        assert!(verify_acknowledge_token(
            "secret",
            TeamId(1),
            IncidentId(7),
            &token
        ));
        assert!(!verify_acknowledge_token(
            "secret",
            TeamId(1),
            IncidentId(8),
            &token
        ));
        assert!(!verify_acknowledge_token(
            "secret",
            TeamId(2),
            IncidentId(7),
            &token
        ));
        assert!(!verify_acknowledge_token(
            "other",
            TeamId(1),
            IncidentId(7),
            &token
        ));
        assert!(!verify_acknowledge_token(
            "secret",
            TeamId(1),
            IncidentId(7),
            "zz"
        ));
    }
}
