//! A notification: one thing to tell one channel, independent of how the channel formats it.

use serde::{Deserialize, Serialize};
use watchtower_core::{IncidentId, MonitorId, MonitorState, TeamId, Timestamp};

/// What happened: core's alert event, the same for the outbox row and the message.
pub use watchtower_core::AlertEvent as NotificationEvent;

/// Everything a channel may say about an event. Serialized as-is into the generic webhook's
/// payload (`"version": 1`), so fields are only ever added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Unique per notification and stable across retries: receivers deduplicate on it
    /// (`webhook-id`, PagerDuty's event, the email's Message-ID).
    pub idempotency_key: String,
    pub event: NotificationEvent,
    pub team_id: TeamId,
    pub monitor_id: Option<MonitorId>,
    pub monitor_name: String,
    /// The URL or host checked, when there is one.
    pub target: Option<String>,
    pub state: MonitorState,
    pub previous_state: Option<MonitorState>,
    /// The failing result's message ("connection refused", "status 503"), empty on recovery.
    pub cause: String,
    /// When the monitor entered `state`.
    pub since: Timestamp,
    /// When the event happened.
    pub at: Timestamp,
    /// On recovery (`Up`): when the outage began, so the message can say how long it lasted
    /// (`since` is then the moment the monitor came back).
    #[serde(default)]
    pub down_since: Option<Timestamp>,
    /// On `CertificateExpiring`: when the certificate stops being valid.
    #[serde(default)]
    pub certificate_expires_at: Option<Timestamp>,
    /// On `CertificateExpiring`: the certificate and every monitor that sees it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<crate::certificates::CertificateNotice>,
    pub incident_id: Option<IncidentId>,
    /// Stable per incident (PagerDuty's dedup_key): the trigger and the resolve share it.
    pub incident_key: Option<String>,
    /// Links into WatchTower, when its public URL is configured.
    pub incident_url: Option<String>,
    /// A signed link that acknowledges the incident without signing in.
    pub acknowledge_url: Option<String>,
    /// On the instance's own alerts (`ops/`): the signal (`error_rate`, `backup_stale`, ...).
    /// The generic webhook then says `ops.<signal>` / `ops.<signal>.resolved`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops_signal: Option<String>,
    /// The channel's own title and summary, rendered from its templates (`templates.rs`).
    #[serde(skip)]
    pub custom_title: Option<String>,
    #[serde(skip)]
    pub custom_message: Option<String>,
}
