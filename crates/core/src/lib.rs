//! WatchTower's domain: monitors and their kinds, check outcomes, the monitor state machine,
//! incidents, accounts, roles and plans, and the shard leases between instances. No I/O lives
//! here; every other crate speaks in these types.

pub mod access;
pub mod account;
pub mod alert;
pub mod alert_rule;
pub mod cluster;
pub mod duration;
pub mod ids;
pub mod incident;
pub mod maintenance;
pub mod monitor;
pub mod monitors_file;
pub mod outcome;
pub mod plan;
pub mod state;
pub mod status_incident;
pub mod status_page;
pub mod status_subscriber;
pub mod time;
pub mod validation;

pub use access::{Action, ApiKeyScope, MembershipDenied, Role};
pub use account::{Email, PasswordPolicy, TeamName};
pub use alert::{AlertEvent, DeliveryStatus};
pub use duration::HumanDuration;
pub use ids::{
    AlertRuleId, ApiKeyId, ChannelId, EscalationPolicyId, IncidentId, InvitationId,
    MaintenanceWindowId, MonitorId, MonitorKey, NotificationId, SessionId, StatusIncidentId,
    StatusPageId, StatusSubscriberId, TeamId, UserId,
};
pub use incident::{Incident, StateChange};
pub use monitor::{Monitor, MonitorKind, MonitorSpec, ProbeKind, WhopMetric, WhopSettings};
pub use outcome::{CertificateInfo, CheckOutcome, CheckStatus, ErrorClass, HttpPhases};
pub use plan::{ChannelKind, Demand, Plan, PlanLimitExceeded, PlanLimits, PlanTable};
pub use state::{DetectionPolicy, MonitorRuntime, MonitorState};
pub use status_incident::{Impact, NewStatusIncident, PostStatus, StatusIncidentUpdate};
pub use status_page::{
    AutoIncidents, ComponentState, PageSecret, PageVisibility, StatusPageSpec, StatusSlug,
};
pub use status_subscriber::{NewSubscriber, SubscriberKind};
pub use time::Timestamp;
pub use validation::{FieldError, Problems};
