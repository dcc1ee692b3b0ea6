//! Identifiers of the stored entities. Integer ids keep result rows small (see docs/ARCHITECTURE.md).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! integer_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

integer_id!(
    /// A team: every monitor, incident and result belongs to exactly one.
    TeamId
);
integer_id!(
    /// A monitor.
    MonitorId
);
integer_id!(
    /// An incident: one confirmed outage of one monitor.
    IncidentId
);

integer_id!(
    /// A person who signs in.
    UserId
);
integer_id!(
    /// A signed-in browser session.
    SessionId
);
integer_id!(
    /// A team's API key.
    ApiKeyId
);
integer_id!(
    /// An invitation to join a team.
    InvitationId
);

integer_id!(
    /// A notification channel (a Slack webhook, an email address, ...).
    ChannelId
);
integer_id!(
    /// An alert rule: which events of which monitors go to which channels.
    AlertRuleId
);
integer_id!(
    /// An escalation policy: channels notified in steps while an outage stays unacknowledged.
    EscalationPolicyId
);
integer_id!(
    /// A maintenance window.
    MaintenanceWindowId
);
integer_id!(
    /// One notification in the outbox: one event for one channel.
    NotificationId
);
integer_id!(
    /// A public status page.
    StatusPageId
);
integer_id!(
    /// An incident post on a status page (what the team tells visitors, unlike [`IncidentId`]).
    StatusIncidentId
);
integer_id!(
    /// A subscriber of a status page (an email address or a webhook).
    StatusSubscriberId
);

impl TeamId {
    /// The team that owns everything until accounts exist; created by the first migration.
    pub const DEFAULT: TeamId = TeamId(1);
}

/// The stable key of a monitor declared as code: lowercase letters, digits, `-`, `_` and `.`,
/// 1 to 100 characters, starting with a letter or digit.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(try_from = "String", into = "String")]
pub struct MonitorKey(String);

impl MonitorKey {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let valid_char =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c);
        if raw.is_empty() || raw.len() > 100 {
            return Err("must be 1 to 100 characters".into());
        }
        if !raw.chars().all(valid_char) || !raw.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(
                "may hold only lowercase letters, digits, '-', '_' and '.', and must start with a letter or digit"
                    .into(),
            );
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MonitorKey {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<MonitorKey> for String {
    fn from(key: MonitorKey) -> Self {
        key.0
    }
}

impl fmt::Display for MonitorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
