//! Alerting's tables: channels (settings with their secrets, stored as given), rules, and the
//! notification outbox. Outbox rows for state changes are written by `record_batch` in the change's
//! own transaction; the dispatcher claims due rows with a lease, so a crash mid-delivery leaves
//! the row to be claimed again (at least once; receivers deduplicate on the notification id).

use crate::error::StoreError;
use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use watchtower_core::maintenance::MaintenanceSpec;
use watchtower_core::monitor::DependencyRef;
use watchtower_core::{
    AlertEvent, AlertRuleId, CertificateInfo, ChannelId, DeliveryStatus, EscalationPolicyId,
    IncidentId, MaintenanceWindowId, MonitorId, MonitorState, NotificationId, TeamId, Timestamp,
};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Channel {
    pub id: ChannelId,
    pub team_id: TeamId,
    pub name: String,
    pub kind: String,
    /// Secrets included: never answer this to a client as it is.
    #[serde(skip)]
    pub config: Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewRule {
    pub team_id: TeamId,
    pub name: String,
    /// Only this monitor's events.
    pub monitor_id: Option<MonitorId>,
    /// Only events of monitors with this tag.
    pub tag: Option<String>,
    /// `down`, `up`, `degraded`.
    pub events: Vec<String>,
    pub channel_ids: Vec<ChannelId>,
    /// Remind the channels this often while the incident stays open and unacknowledged.
    pub remind_every: Option<std::time::Duration>,
    /// Escalate outages through this policy's steps (besides `channel_ids`).
    pub escalation_policy_id: Option<EscalationPolicyId>,
    /// Only outages with one of these causes (`ErrorClass` names such as `keyword`,
    /// `status_code`); empty for every cause.
    pub causes: Vec<String>,
    /// With the `certificate_expiring` event: alert when a certificate expires within this
    /// many days.
    pub certificate_days: Option<u32>,
    pub created_at: Timestamp,
}

/// One step of an escalation policy: its channels, notified `offset_ms` after the outage is
/// confirmed unless it has been acknowledged or resolved by then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct EscalationStep {
    pub offset_ms: u64,
    pub channel_ids: Vec<ChannelId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EscalationPolicy {
    pub id: EscalationPolicyId,
    pub team_id: TeamId,
    pub name: String,
    pub steps: Vec<EscalationStep>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AlertRule {
    pub id: AlertRuleId,
    pub team_id: TeamId,
    pub name: String,
    pub monitor_id: Option<MonitorId>,
    pub tag: Option<String>,
    pub events: Vec<String>,
    pub channel_ids: Vec<ChannelId>,
    /// Milliseconds between reminders, when the rule asks for them.
    pub remind_every_ms: Option<i64>,
    pub escalation_policy_id: Option<EscalationPolicyId>,
    // Kept as the stored names (a newer version's name reads back as it was written); the
    // document lists the names the API accepts.
    #[schema(value_type = Vec<watchtower_core::ErrorClass>)]
    pub causes: Vec<String>,
    pub certificate_days: Option<u32>,
    pub created_at: Timestamp,
}

/// The certificate a monitor's latest check saw, with what rules select monitors by.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorCertificate {
    pub monitor_id: MonitorId,
    pub monitor_name: String,
    pub tags: Vec<String>,
    pub certificate: CertificateInfo,
}

/// A notification that is not about a state change (an expiring certificate): queued at most
/// once per channel and `dedup_key`.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyedNotification {
    pub team_id: TeamId,
    pub channel_id: ChannelId,
    pub monitor_id: Option<MonitorId>,
    pub event: AlertEvent,
    pub dedup_key: String,
    /// What the message needs beyond the monitor (the certificate, the monitors sharing it).
    pub details: Value,
    pub due: Timestamp,
}

/// A dependency as the dispatcher judges a dependent's alert by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyState {
    pub id: MonitorId,
    pub name: String,
    pub state: MonitorState,
    pub last_checked_at: Option<Timestamp>,
}

/// A notification the dispatcher has claimed, with what it needs to build the message.
#[derive(Debug, Clone, PartialEq)]
pub struct DueNotification {
    pub id: NotificationId,
    pub team_id: TeamId,
    pub channel_id: ChannelId,
    pub channel_config: Value,
    pub event: AlertEvent,
    /// Attempts before this one.
    pub attempts: u32,
    pub created_at: Timestamp,
    /// The monitor it is about, if any (it may have been deleted since).
    pub monitor_id: Option<MonitorId>,
    /// That monitor as it is now; `None` without a monitor or once it was deleted.
    pub monitor: Option<DueMonitor>,
    /// The incident it is about, if any.
    pub incident: Option<DueIncident>,
    /// The state change it announces (a DOWN, an UP, a DEGRADED; not a reminder or a test).
    pub change: Option<DueChange>,
    /// The shortest reminder interval of the rules that queued it.
    pub remind_every_ms: Option<i64>,
    /// Its step, when an escalation policy queued it (0 is the first).
    pub escalation_step: Option<u32>,
    /// A keyed notification's details (`KeyedNotification::details`).
    pub details: Option<Value>,
}

/// What a message and the dispatcher's decisions need of a notification's monitor, read from
/// its stored spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueMonitor {
    pub name: String,
    /// What it checks, when it checks something (push monitors do not).
    pub target: Option<MonitorTarget>,
    pub tags: Vec<String>,
    pub depends_on: Vec<DependencyRef>,
}

/// What a monitor checks, as its spec names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorTarget {
    /// An HTTP monitor's URL, as stored (user-info included: remove it before showing it).
    Url(String),
    /// The host of the other kinds.
    Host(String),
}

/// The incident a notification is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueIncident {
    pub id: IncidentId,
    /// The start of the outage a recovery ends.
    pub opened_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub acknowledged_at: Option<Timestamp>,
    /// What became of the incident's first DOWN notification to the same channel
    /// (`Suppressed` means its recovery is not news to anyone either).
    pub down_status: Option<DeliveryStatus>,
}

/// The state change a notification announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueChange {
    pub from: MonitorState,
    pub to: MonitorState,
    pub at: Timestamp,
    /// The failing result's message; empty on recovery.
    pub cause: String,
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered {
        status_code: Option<u16>,
    },
    /// Try again at `next_attempt_at`.
    Retry {
        next_attempt_at: Timestamp,
        status_code: Option<u16>,
        error: String,
    },
    /// Given up: not retryable, or retried for too long.
    Failed {
        status_code: Option<u16>,
        error: String,
    },
    /// Not tried: held until `until` (a maintenance window closes); the attempt is not counted.
    Deferred {
        until: Timestamp,
        reason: String,
    },
    /// Not sent, on purpose (recovered during maintenance); `reason` shows in the log.
    Suppressed {
        reason: String,
    },
}

/// A stored maintenance window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MaintenanceWindow {
    pub id: MaintenanceWindowId,
    pub team_id: TeamId,
    #[serde(flatten)]
    pub spec: MaintenanceSpec,
    pub created_at: Timestamp,
}

/// A row of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NotificationRecord {
    pub id: NotificationId,
    pub team_id: TeamId,
    pub channel_id: ChannelId,
    pub monitor_id: Option<MonitorId>,
    pub incident_id: Option<IncidentId>,
    #[schema(value_type = String)]
    pub event: AlertEvent,
    #[schema(value_type = String)]
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub created_at: Timestamp,
    pub next_attempt_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
}

#[async_trait]
pub trait AlertStore: Send + Sync {
    async fn create_channel(
        &self,
        team: TeamId,
        name: &str,
        kind: &str,
        config: &Value,
        now: Timestamp,
    ) -> Result<Channel, StoreError>;
    async fn channels(&self, team: TeamId) -> Result<Vec<Channel>, StoreError>;
    async fn get_channel(&self, team: TeamId, id: ChannelId)
    -> Result<Option<Channel>, StoreError>;
    async fn update_channel(
        &self,
        team: TeamId,
        id: ChannelId,
        name: &str,
        config: &Value,
        now: Timestamp,
    ) -> Result<Channel, StoreError>;
    /// Deletes a channel with its pending notifications.
    async fn delete_channel(&self, team: TeamId, id: ChannelId) -> Result<(), StoreError>;

    /// `NotFound` when a channel is not the team's.
    async fn create_escalation_policy(
        &self,
        team: TeamId,
        name: &str,
        steps: &[EscalationStep],
        now: Timestamp,
    ) -> Result<EscalationPolicy, StoreError>;
    async fn escalation_policies(&self, team: TeamId) -> Result<Vec<EscalationPolicy>, StoreError>;
    /// Replaces a policy's name and steps; `NotFound` when it or a channel is not the team's.
    async fn update_escalation_policy(
        &self,
        team: TeamId,
        id: EscalationPolicyId,
        name: &str,
        steps: &[EscalationStep],
    ) -> Result<EscalationPolicy, StoreError>;
    async fn delete_escalation_policy(
        &self,
        team: TeamId,
        id: EscalationPolicyId,
    ) -> Result<(), StoreError>;

    /// `NotFound` when a channel, the monitor or the escalation policy is not the team's.
    async fn create_rule(&self, rule: &NewRule) -> Result<AlertRule, StoreError>;
    async fn rules(&self, team: TeamId) -> Result<Vec<AlertRule>, StoreError>;
    /// Replaces rule `id` of `rule.team_id` with `rule` (its `created_at` is kept); `NotFound`
    /// when the rule, a channel, the monitor or the escalation policy is not the team's.
    async fn update_rule(&self, id: AlertRuleId, rule: &NewRule) -> Result<AlertRule, StoreError>;
    async fn delete_rule(&self, team: TeamId, id: AlertRuleId) -> Result<(), StoreError>;

    /// Queues a test notification to one channel; returns its id.
    async fn enqueue_test_notification(
        &self,
        team: TeamId,
        channel: ChannelId,
        now: Timestamp,
    ) -> Result<NotificationId, StoreError>;
    /// Queues the next reminder of a delivered DOWN (or reminder) to the same channel, due at
    /// `due`; returns its id.
    async fn enqueue_reminder(
        &self,
        after: &DueNotification,
        due: Timestamp,
    ) -> Result<NotificationId, StoreError>;
    /// The current state of each named monitor of the team that exists.
    async fn dependency_states(
        &self,
        team: TeamId,
        refs: &[DependencyRef],
    ) -> Result<Vec<DependencyState>, StoreError>;
    /// When the earliest pending notification is due (a claimed one's lease end counts), or
    /// `None` when nothing is pending: a read, so an idle dispatcher takes no write lock.
    async fn next_notification_due(&self) -> Result<Option<Timestamp>, StoreError>;
    /// Claims up to `limit` pending notifications due by `now`: each becomes invisible to other
    /// claims until `lease_until`, and counts one more attempt.
    async fn claim_notifications(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<DueNotification>, StoreError>;
    async fn finish_attempt(
        &self,
        id: NotificationId,
        outcome: &AttemptOutcome,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    async fn create_maintenance(
        &self,
        team: TeamId,
        spec: &MaintenanceSpec,
        now: Timestamp,
    ) -> Result<MaintenanceWindow, StoreError>;
    async fn maintenance_windows(&self, team: TeamId)
    -> Result<Vec<MaintenanceWindow>, StoreError>;
    /// Replaces a window's spec and makes the notifications windows were holding due now, as a
    /// delete does (the dispatcher holds them again while a window still covers them).
    async fn update_maintenance(
        &self,
        team: TeamId,
        id: MaintenanceWindowId,
        spec: &MaintenanceSpec,
        now: Timestamp,
    ) -> Result<MaintenanceWindow, StoreError>;
    /// Deletes a window and makes the notifications windows were holding due now (the
    /// dispatcher holds them again if another window still covers them).
    async fn delete_maintenance(
        &self,
        team: TeamId,
        id: MaintenanceWindowId,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Every team's rules with a certificate threshold.
    async fn certificate_rules(&self) -> Result<Vec<AlertRule>, StoreError>;

    /// The certificates the latest checks of a team's active monitors saw.
    async fn monitor_certificates(
        &self,
        team: TeamId,
    ) -> Result<Vec<MonitorCertificate>, StoreError>;

    /// Queues a keyed notification unless one with its channel and key exists; true if queued.
    async fn enqueue_keyed(&self, notification: &KeyedNotification) -> Result<bool, StoreError>;

    /// The instance's secret for signing links (hex of 32 random bytes), made on first use; the
    /// same for every instance sharing the database.
    async fn link_secret(&self) -> Result<String, StoreError>;

    /// The delivery log, newest first, ids below `before`.
    async fn notifications(
        &self,
        team: TeamId,
        before: Option<NotificationId>,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError>;
}
