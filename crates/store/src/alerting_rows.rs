//! Alerting rows as both backends read them (JSON columns read as text), and their conversion.

use crate::alerting::{
    AlertRule, Channel, DueChange, DueIncident, DueMonitor, DueNotification, MonitorTarget,
    NotificationRecord,
};
use crate::error::StoreError;
use serde_json::Value;
use watchtower_core::{
    AlertEvent, AlertRuleId, ChannelId, DeliveryStatus, EscalationPolicyId, IncidentId,
    MaintenanceWindowId, MonitorId, MonitorState, NotificationId, TeamId, Timestamp,
};

// JSON columns are read back as text (PostgreSQL stores them as jsonb), as the rows expect.
pub(crate) const CHANNEL_COLUMNS: &str =
    "id, team_id, name, kind, CAST(config AS TEXT) AS config, created_at, updated_at";
pub(crate) const RULE_COLUMNS: &str = "id, team_id, name, monitor_id, tag, \
     CAST(events AS TEXT) AS events, CAST(channel_ids AS TEXT) AS channel_ids, remind_every_ms, \
     escalation_policy_id, CAST(causes AS TEXT) AS causes, certificate_days, created_at";
pub(crate) const NOTIFICATION_COLUMNS: &str = "id, team_id, channel_id, monitor_id, incident_id, \
     event, status, attempts, created_at, next_attempt_at, delivered_at, last_status_code, last_error";

fn json(text: &str, what: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ChannelRow {
    pub id: i64,
    pub team_id: i64,
    pub name: String,
    pub kind: String,
    pub config: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ChannelRow {
    pub fn into_channel(self) -> Result<Channel, StoreError> {
        Ok(Channel {
            id: ChannelId(self.id),
            team_id: TeamId(self.team_id),
            name: self.name,
            kind: self.kind,
            config: json(&self.config, "channel config")?,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RuleRow {
    pub id: i64,
    pub team_id: i64,
    pub name: String,
    pub monitor_id: Option<i64>,
    pub tag: Option<String>,
    pub events: String,
    pub channel_ids: String,
    pub remind_every_ms: Option<i64>,
    pub escalation_policy_id: Option<i64>,
    pub causes: Option<String>,
    pub certificate_days: Option<i64>,
    pub created_at: i64,
}

impl RuleRow {
    pub fn into_rule(self) -> Result<AlertRule, StoreError> {
        let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("alert rule: {e}"));
        Ok(AlertRule {
            id: AlertRuleId(self.id),
            team_id: TeamId(self.team_id),
            name: self.name,
            monitor_id: self.monitor_id.map(MonitorId),
            tag: self.tag,
            events: serde_json::from_str(&self.events).map_err(corrupt)?,
            channel_ids: serde_json::from_str(&self.channel_ids).map_err(corrupt)?,
            remind_every_ms: self.remind_every_ms,
            escalation_policy_id: self.escalation_policy_id.map(EscalationPolicyId),
            causes: match self.causes {
                Some(text) => serde_json::from_str(&text).map_err(corrupt)?,
                None => Vec::new(),
            },
            certificate_days: self.certificate_days.map(|days| days.clamp(0, 3650) as u32),
            created_at: Timestamp(self.created_at),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct NotificationRow {
    pub id: i64,
    pub team_id: i64,
    pub channel_id: i64,
    pub monitor_id: Option<i64>,
    pub incident_id: Option<i64>,
    pub event: String,
    pub status: String,
    pub attempts: i64,
    pub created_at: i64,
    pub next_attempt_at: i64,
    pub delivered_at: Option<i64>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
}

impl TryFrom<NotificationRow> for NotificationRecord {
    type Error = StoreError;

    fn try_from(row: NotificationRow) -> Result<Self, StoreError> {
        let status = delivery_status(&row.status)?;
        Ok(Self {
            id: NotificationId(row.id),
            team_id: TeamId(row.team_id),
            channel_id: ChannelId(row.channel_id),
            monitor_id: row.monitor_id.map(MonitorId),
            incident_id: row.incident_id.map(IncidentId),
            event: AlertEvent::parse(&row.event)
                .ok_or_else(|| StoreError::Corrupt(format!("notification event {}", row.event)))?,
            status,
            attempts: row.attempts as u32,
            created_at: Timestamp(row.created_at),
            next_attempt_at: (status == DeliveryStatus::Pending)
                .then_some(Timestamp(row.next_attempt_at)),
            delivered_at: row.delivered_at.map(Timestamp),
            last_status_code: row.last_status_code.map(|code| code as u16),
            last_error: row.last_error,
        })
    }
}

fn delivery_status(text: &str) -> Result<DeliveryStatus, StoreError> {
    DeliveryStatus::parse(text)
        .ok_or_else(|| StoreError::Corrupt(format!("notification status {text}")))
}

/// A claimed notification joined with its channel, state event and monitor.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DueRow {
    pub id: i64,
    pub team_id: i64,
    pub channel_id: i64,
    pub config: String,
    pub event: String,
    pub attempts: i64,
    pub created_at: i64,
    pub monitor_id: Option<i64>,
    pub monitor_name: Option<String>,
    pub spec: Option<String>,
    pub incident_id: Option<i64>,
    pub incident_opened_at: Option<i64>,
    pub incident_resolved_at: Option<i64>,
    pub incident_acknowledged_at: Option<i64>,
    pub down_status: Option<String>,
    pub remind_every_ms: Option<i64>,
    pub escalation_step: Option<i64>,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub at: Option<i64>,
    pub cause: Option<String>,
    pub details: Option<String>,
}

/// The join every backend claims with; `{ids}` is the claimed ids' placeholder list or array.
pub(crate) const DUE_SELECT: &str = "SELECT n.id, n.team_id, n.channel_id, CAST(c.config AS TEXT) AS config, \
     n.event, n.attempts - 1 AS attempts, n.created_at, n.monitor_id, m.name AS monitor_name, \
     CAST(m.spec AS TEXT) AS spec, n.incident_id, i.opened_at AS incident_opened_at, \
     i.resolved_at AS incident_resolved_at, i.acknowledged_at AS incident_acknowledged_at, \
     (SELECT d.status FROM notifications d WHERE d.incident_id = n.incident_id \
      AND d.channel_id = n.channel_id AND d.event = 'down' ORDER BY d.id LIMIT 1) AS down_status, \
     n.remind_every_ms, n.escalation_step, e.from_state, e.to_state, \
     e.at, e.cause, CAST(n.details AS TEXT) AS details \
     FROM notifications n JOIN channels c ON c.id = n.channel_id \
     LEFT JOIN state_events e ON e.id = n.state_event_id \
     LEFT JOIN incidents i ON i.id = n.incident_id \
     LEFT JOIN monitors m ON m.id = n.monitor_id";

/// The part of a stored spec a due notification reads; the rest may be anything (a spec that
/// no longer decodes still names its monitor in a message).
#[derive(Debug, Default, serde::Deserialize)]
struct DueSpec {
    url: Option<String>,
    host: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    depends_on: Vec<watchtower_core::monitor::DependencyRef>,
}

impl DueRow {
    pub fn into_due(self) -> Result<DueNotification, StoreError> {
        let state = |text: String| {
            MonitorState::parse(&text).ok_or_else(|| StoreError::Corrupt(format!("state {text}")))
        };
        let monitor = match (self.monitor_name, self.spec) {
            (Some(name), Some(spec)) => {
                let spec = serde_json::from_str::<DueSpec>(&spec).unwrap_or_default();
                let target = match (spec.url, spec.host) {
                    (Some(url), _) => Some(MonitorTarget::Url(url)),
                    (None, Some(host)) => Some(MonitorTarget::Host(host)),
                    (None, None) => None,
                };
                Some(DueMonitor {
                    name,
                    target,
                    tags: spec.tags,
                    depends_on: spec.depends_on,
                })
            }
            _ => None,
        };
        let incident = match (self.incident_id, self.incident_opened_at) {
            (Some(id), Some(opened_at)) => Some(DueIncident {
                id: IncidentId(id),
                opened_at: Timestamp(opened_at),
                resolved_at: self.incident_resolved_at.map(Timestamp),
                acknowledged_at: self.incident_acknowledged_at.map(Timestamp),
                down_status: self.down_status.as_deref().and_then(DeliveryStatus::parse),
            }),
            _ => None,
        };
        let change = match (self.from_state, self.to_state, self.at) {
            (Some(from), Some(to), Some(at)) => Some(DueChange {
                from: state(from)?,
                to: state(to)?,
                at: Timestamp(at),
                cause: self.cause.unwrap_or_default(),
            }),
            _ => None,
        };
        Ok(DueNotification {
            id: NotificationId(self.id),
            team_id: TeamId(self.team_id),
            channel_id: ChannelId(self.channel_id),
            channel_config: json(&self.config, "channel config")?,
            // An event this version does not know is delivered as a test would be, rather than
            // blocking every claim it is part of.
            event: AlertEvent::parse(&self.event).unwrap_or(AlertEvent::Test),
            attempts: self.attempts.max(0) as u32,
            created_at: Timestamp(self.created_at),
            monitor_id: self.monitor_id.map(MonitorId),
            monitor,
            incident,
            change,
            remind_every_ms: self.remind_every_ms,
            escalation_step: self
                .escalation_step
                .map(|step| step.clamp(0, i64::from(u32::MAX)) as u32),
            details: self
                .details
                .as_deref()
                .map(|d| json(d, "notification details"))
                .transpose()?,
        })
    }
}

/// A monitor with the certificate its latest result holds, as both backends select it.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CertificateRow {
    pub id: i64,
    pub name: String,
    pub spec: String,
    pub last_result: String,
}

impl CertificateRow {
    /// `None` when the latest result holds no certificate after all.
    pub fn into_certificate(
        self,
    ) -> Result<Option<crate::alerting::MonitorCertificate>, StoreError> {
        let result = json(&self.last_result, "last result")?;
        let Some(certificate) = result.get("certificate").filter(|c| !c.is_null()) else {
            return Ok(None);
        };
        let certificate = serde_json::from_value(certificate.clone())
            .map_err(|e| StoreError::Corrupt(format!("certificate: {e}")))?;
        let tags = json(&self.spec, "monitor spec")?
            .get("tags")
            .and_then(|tags| serde_json::from_value(tags.clone()).ok())
            .unwrap_or_default();
        Ok(Some(crate::alerting::MonitorCertificate {
            monitor_id: MonitorId(self.id),
            monitor_name: self.name,
            tags,
            certificate,
        }))
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct WindowRow {
    pub id: i64,
    pub team_id: i64,
    pub spec: String,
    pub created_at: i64,
}

impl WindowRow {
    pub fn into_window(self) -> Result<crate::alerting::MaintenanceWindow, StoreError> {
        Ok(crate::alerting::MaintenanceWindow {
            id: MaintenanceWindowId(self.id),
            team_id: TeamId(self.team_id),
            spec: serde_json::from_str(&self.spec)
                .map_err(|e| StoreError::Corrupt(format!("maintenance window: {e}")))?,
            created_at: Timestamp(self.created_at),
        })
    }
}

/// How a finished attempt updates its row: status, next attempt, delivered at, status code,
/// error, and how many attempts to take back (a deferral is not an attempt).
pub(crate) fn attempt_columns(
    outcome: &crate::alerting::AttemptOutcome,
    at: Timestamp,
) -> (
    &'static str,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    i64,
) {
    use crate::alerting::AttemptOutcome::*;
    match outcome {
        Delivered { status_code } => (
            DeliveryStatus::Delivered.as_str(),
            at.0,
            Some(at.0),
            status_code.map(i64::from),
            None,
            0,
        ),
        Retry {
            next_attempt_at,
            status_code,
            error,
        } => (
            DeliveryStatus::Pending.as_str(),
            next_attempt_at.0,
            None,
            status_code.map(i64::from),
            Some(error.clone()),
            0,
        ),
        Failed { status_code, error } => (
            DeliveryStatus::Failed.as_str(),
            at.0,
            None,
            status_code.map(i64::from),
            Some(error.clone()),
            0,
        ),
        Deferred { until, reason } => (
            DeliveryStatus::Pending.as_str(),
            until.0,
            None,
            None,
            Some(reason.clone()),
            1,
        ),
        Suppressed { reason } => (
            DeliveryStatus::Suppressed.as_str(),
            at.0,
            None,
            None,
            Some(reason.clone()),
            1,
        ),
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct PolicyRow {
    pub id: i64,
    pub team_id: i64,
    pub name: String,
    pub steps: String,
    pub created_at: i64,
}

impl PolicyRow {
    pub fn into_policy(self) -> Result<crate::alerting::EscalationPolicy, StoreError> {
        Ok(crate::alerting::EscalationPolicy {
            id: EscalationPolicyId(self.id),
            team_id: TeamId(self.team_id),
            name: self.name,
            steps: serde_json::from_str(&self.steps)
                .map_err(|e| StoreError::Corrupt(format!("escalation policy: {e}")))?,
            created_at: Timestamp(self.created_at),
        })
    }
}
