//! Signed links inside notifications: whoever receives an alert can acknowledge the incident from
//! the message itself, without signing in. The token is an HMAC-SHA256 of the team and incident
//! under the instance's secret, so it works for that incident only and cannot be forged.

use hmac::{KeyInit, Mac};
use watchtower_core::{IncidentId, TeamId};

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

#[cfg(test)]
mod tests {
    use super::*;

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
