//! Incidents (one confirmed outage of one monitor) and the state changes that open and resolve them.

use crate::ids::{IncidentId, MonitorId, TeamId};
use crate::outcome::ErrorClass;
use crate::state::MonitorState;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// A confirmed change of a monitor's state. Stored as an event row in the same transaction as the
/// incident it opens or resolves; alerting delivers from those rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    pub from: MonitorState,
    pub to: MonitorState,
    pub at: Timestamp,
    pub opens_incident: bool,
    pub resolves_incident: bool,
    /// The message of the result that caused the change (empty for a success).
    pub cause: String,
    pub error_class: Option<ErrorClass>,
}

/// One outage: opened by the confirmed change to DOWN, resolved by the confirmed return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Incident {
    pub id: IncidentId,
    pub team_id: TeamId,
    pub monitor_id: MonitorId,
    pub opened_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub cause: String,
    pub error_class: Option<ErrorClass>,
    /// The first failing result, as JSON (a `CheckOutcome`).
    #[schema(value_type = Option<crate::outcome::CheckOutcome>)]
    pub first_failure: Option<serde_json::Value>,
    /// When someone took it on; acknowledging stops escalation and reminders.
    pub acknowledged_at: Option<Timestamp>,
    /// Who acknowledged it: a user's email or `key:<name>`.
    pub acknowledged_by: Option<String>,
}

impl Incident {
    /// How long the outage lasted, or has lasted until `now` if still open.
    pub fn duration(&self, now: Timestamp) -> std::time::Duration {
        self.resolved_at.unwrap_or(now).since(self.opened_at)
    }

    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }
}
