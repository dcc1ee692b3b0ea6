//! Rows as both backends read them, and their conversion to and from domain values: the one place
//! that knows how a spec, a state or an error class is spelled in a column.

use crate::error::{Conflict, StoreError};
use crate::model::{
    BrokenMonitor, MonitorListing, ScheduledLoad, ScheduledMonitor, StateEvent, StoredResult,
};
use rand::distr::{Alphanumeric, SampleString};
use std::time::Duration;
use watchtower_core::{
    CheckOutcome, CheckStatus, ErrorClass, Incident, IncidentId, Monitor, MonitorId, MonitorKind,
    MonitorRuntime, MonitorSpec, MonitorState, TeamId, Timestamp,
};

/// The small code a raw result stores for its error class. Existing databases hold these
/// numbers: never change one; a new class takes the next free number (the match is exhaustive,
/// so a class without a code does not compile).
pub(crate) fn error_class_code(class: ErrorClass) -> i16 {
    match class {
        ErrorClass::Dns => 1,
        ErrorClass::Connect => 2,
        ErrorClass::Tls => 3,
        ErrorClass::Timeout => 4,
        ErrorClass::Protocol => 5,
        ErrorClass::StatusCode => 6,
        ErrorClass::Keyword => 7,
        ErrorClass::Regex => 8,
        ErrorClass::JsonPath => 9,
        ErrorClass::ResponseTime => 10,
        ErrorClass::CertificateExpiry => 11,
        ErrorClass::DnsMismatch => 12,
        ErrorClass::TcpExpect => 13,
        ErrorClass::MissedPing => 14,
        ErrorClass::FailPing => 15,
        ErrorClass::NotPermitted => 16,
        ErrorClass::Internal => 17,
        ErrorClass::Configuration => 18,
        ErrorClass::Metric => 19,
        ErrorClass::SourceUnavailable => 20,
    }
}

/// The class a stored code names; `None` for a code no class has (a newer version's class).
pub(crate) fn error_class_from_code(code: i16) -> Option<ErrorClass> {
    ErrorClass::ALL
        .iter()
        .copied()
        .find(|class| error_class_code(*class) == code)
}

/// Latency as stored: whole microseconds, saturating (checks time out long before).
pub(crate) fn latency_us(latency: Duration) -> i32 {
    i32::try_from(latency.as_micros()).unwrap_or(i32::MAX)
}

/// The compact columns of one raw result, ready to bind.
#[derive(Debug, Clone)]
pub(crate) struct RawColumns {
    pub monitor_id: i64,
    pub checked_at: i64,
    pub team_id: i64,
    pub status: i16,
    pub latency_us: i32,
    pub http_status: Option<i16>,
    pub error_class: Option<i16>,
    /// Kept only for results that are not up: a message on every success would double the row.
    pub message: Option<String>,
    /// HTTP phase times of a successful check (failures carry no latency weight, see `history`).
    pub phases: PhaseColumns,
}

/// The DNS, connect, TLS and first-byte times of one result, in microseconds; `None` for a phase
/// that did not happen (no DNS for an IP literal, no TLS for plain HTTP) or a result without them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PhaseColumns {
    pub dns_us: Option<i32>,
    pub connect_us: Option<i32>,
    pub tls_us: Option<i32>,
    pub first_byte_us: Option<i32>,
}

impl PhaseColumns {
    fn of(outcome: &CheckOutcome) -> Self {
        let Some(phases) = outcome
            .phases
            .as_ref()
            .filter(|_| outcome.status.is_success())
        else {
            return Self::default();
        };
        Self {
            dns_us: phases.dns.map(latency_us),
            connect_us: phases.connect.map(latency_us),
            tls_us: phases.tls.map(latency_us),
            first_byte_us: phases.first_byte.map(latency_us),
        }
    }
}

impl RawColumns {
    pub fn new(team_id: TeamId, monitor_id: MonitorId, outcome: &CheckOutcome) -> Self {
        Self {
            monitor_id: monitor_id.0,
            checked_at: outcome.checked_at.0,
            team_id: team_id.0,
            status: outcome.status.code(),
            latency_us: latency_us(outcome.latency),
            http_status: outcome.http_status.map(|code| code as i16),
            error_class: outcome.error_class.map(error_class_code),
            message: (outcome.status != CheckStatus::Up)
                .then(|| outcome.message.clone())
                .flatten(),
            phases: PhaseColumns::of(outcome),
        }
    }
}

/// A fresh random push token.
pub(crate) fn new_push_token() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

/// The spec as stored: a push monitor without a token gets a new one.
pub(crate) fn with_push_token(spec: &MonitorSpec) -> MonitorSpec {
    let mut spec = spec.clone();
    if let MonitorKind::Push(push) = &mut spec.kind
        && push.token.is_none()
    {
        push.token = Some(new_push_token());
    }
    spec
}

pub(crate) fn push_token(spec: &MonitorSpec) -> Option<&str> {
    match &spec.kind {
        MonitorKind::Push(push) => push.token.as_deref(),
        _ => None,
    }
}

/// The spec column's text.
pub(crate) fn spec_json(spec: &MonitorSpec) -> String {
    spec.to_value().to_string()
}

/// Decodes a spec column; the error says why it cannot be read.
pub(crate) fn decode_spec(json: &str) -> Result<MonitorSpec, String> {
    serde_json::from_str(json)
        .map_err(|error| format!("the stored spec cannot be decoded: {error}"))
}

fn parse_state(text: &str) -> Result<MonitorState, StoreError> {
    MonitorState::parse(text).ok_or_else(|| StoreError::Corrupt(format!("state '{text}'")))
}

fn parse_outcome(json: Option<&str>) -> Result<Option<CheckOutcome>, StoreError> {
    json.map(|json| {
        serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("check result: {e}")))
    })
    .transpose()
}

/// Turns a unique-index violation into `Conflict` naming the field, and a missing referenced row
/// (the team or user a new row names) into `NotFound`; other errors pass through.
pub(crate) fn write_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            match unique_rule(db.message(), db.constraint()) {
                Some((field, problem)) => StoreError::Conflict(Conflict::new(field, problem)),
                // A rule no request can break (replayed batches are written to skip): a bug,
                // kept with its database message for the log, never for an answer.
                None => StoreError::Database(error),
            }
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::Database(error),
    }
}

/// A uniqueness rule a request can break, as each backend names it, and how to say so.
struct UniqueRule {
    /// How SQLite names the rule's last column in its message
    /// (`UNIQUE constraint failed: monitors.team_id, monitors.key`).
    sqlite_column: &'static str,
    /// PostgreSQL's constraint name (the default one its migration gets).
    postgres_constraint: &'static str,
    /// The field as the API and the monitors file name it.
    field: &'static str,
    problem: &'static str,
}

const UNIQUE_RULES: &[UniqueRule] = &[
    UniqueRule {
        sqlite_column: "monitors.key",
        postgres_constraint: "monitors_team_id_key_key",
        field: "key",
        problem: "another monitor of the team has this key",
    },
    UniqueRule {
        sqlite_column: "users.email_key",
        postgres_constraint: "users_email_key_key",
        field: "email",
        problem: "an account with this email exists",
    },
    // Tokens are random; a clash is a reused token, told without naming the table.
    UniqueRule {
        sqlite_column: "api_keys.key_hash",
        postgres_constraint: "api_keys_key_hash_key",
        field: "key",
        problem: "this key is already in use",
    },
    UniqueRule {
        sqlite_column: "sessions.token_hash",
        postgres_constraint: "sessions_token_hash_key",
        field: "token",
        problem: "this session token is already in use",
    },
    UniqueRule {
        sqlite_column: "invitations.token_hash",
        postgres_constraint: "invitations_token_hash_key",
        field: "token",
        problem: "this invitation token is already in use",
    },
    UniqueRule {
        sqlite_column: "monitors.push_token",
        postgres_constraint: "monitors_push_token_key",
        field: "push_token",
        problem: "another monitor has this push token",
    },
    UniqueRule {
        sqlite_column: "status_pages.slug",
        postgres_constraint: "status_pages_slug_key",
        field: "slug",
        problem: "another status page has this slug",
    },
    UniqueRule {
        sqlite_column: "status_pages.custom_domain",
        postgres_constraint: "status_pages_custom_domain_key",
        field: "custom_domain",
        problem: "another status page has this domain",
    },
    UniqueRule {
        sqlite_column: "memberships.user_id",
        postgres_constraint: "memberships_pkey",
        field: "user",
        problem: "already a member of this team",
    },
];

/// Which of [`UNIQUE_RULES`] a violation broke: PostgreSQL names the constraint, SQLite lists
/// the columns in its message.
fn unique_rule(message: &str, constraint: Option<&str>) -> Option<(&'static str, &'static str)> {
    let sqlite_columns = message
        .strip_prefix("UNIQUE constraint failed: ")
        .map(|columns| columns.split(", ").collect::<Vec<_>>())
        .unwrap_or_default();
    UNIQUE_RULES
        .iter()
        .find(|rule| match constraint {
            Some(name) => name == rule.postgres_constraint,
            None => sqlite_columns.last() == Some(&rule.sqlite_column),
        })
        .map(|rule| (rule.field, rule.problem))
}

/// A `monitors` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct MonitorRow {
    pub id: i64,
    pub team_id: i64,
    pub key: Option<String>,
    pub name: String,
    pub kind: String,
    pub paused: bool,
    pub push_token: Option<String>,
    pub spec: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl MonitorRow {
    /// The monitor, or the row as a broken monitor when its spec cannot be decoded.
    pub fn into_monitor(self) -> Result<Monitor, Box<BrokenMonitor>> {
        match decode_spec(&self.spec) {
            Ok(spec) => Ok(Monitor {
                id: MonitorId(self.id),
                team_id: TeamId(self.team_id),
                spec,
                created_at: Timestamp(self.created_at),
                updated_at: Timestamp(self.updated_at),
            }),
            Err(error) => Err(self.broken(error)),
        }
    }

    /// `get_monitor`'s answer: a broken row is an error that carries it.
    pub fn into_readable(self) -> Result<Monitor, StoreError> {
        self.into_monitor().map_err(StoreError::BrokenMonitor)
    }

    /// Boxed: it is the error side of every decode, which should stay small.
    pub fn broken(&self, error: String) -> Box<BrokenMonitor> {
        Box::new(BrokenMonitor {
            id: MonitorId(self.id),
            team_id: TeamId(self.team_id),
            key: self.key.clone(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            paused: self.paused,
            error,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
        })
    }
}

/// A monitor joined with its `monitor_status` row (absent columns when it has none).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct MonitorStatusRow {
    #[sqlx(flatten)]
    pub monitor: MonitorRow,
    pub state: Option<String>,
    pub state_since: Option<i64>,
    pub consecutive_failures: Option<i64>,
    pub consecutive_successes: Option<i64>,
    pub incident_open: Option<bool>,
    pub last_checked_at: Option<i64>,
    pub last_result: Option<String>,
}

impl MonitorStatusRow {
    fn runtime(&self, spec: &MonitorSpec) -> Result<MonitorRuntime, StoreError> {
        let created = Timestamp(self.monitor.created_at);
        let Some(state) = &self.state else {
            return Ok(if spec.paused {
                MonitorRuntime::new_paused(created)
            } else {
                MonitorRuntime::new(created)
            });
        };
        Ok(MonitorRuntime {
            state: parse_state(state)?,
            since: Timestamp(self.state_since.unwrap_or(self.monitor.created_at)),
            consecutive_failures: self.consecutive_failures.unwrap_or(0) as u32,
            consecutive_successes: self.consecutive_successes.unwrap_or(0) as u32,
            incident_open: self.incident_open.unwrap_or(false),
        })
    }

    /// The listing, or the row as a broken monitor when its spec or status cannot be decoded.
    pub fn into_listing(self) -> Result<MonitorListing, Box<BrokenMonitor>> {
        let broken = |error: StoreError| self.monitor.broken(error.to_string());
        let last_result = parse_outcome(self.last_result.as_deref()).map_err(broken)?;
        let last_checked_at = self.last_checked_at.map(Timestamp);
        let monitor = self.monitor_part()?;
        let runtime = self
            .runtime(&monitor.spec)
            .map_err(|error| self.monitor.broken(error.to_string()))?;
        Ok(MonitorListing {
            monitor,
            state: runtime.state,
            state_since: runtime.since,
            last_checked_at,
            last_result,
        })
    }

    /// What the scheduler starts from, or the row as a broken monitor.
    pub fn into_scheduled(self) -> Result<ScheduledMonitor, Box<BrokenMonitor>> {
        let monitor = self.monitor_part()?;
        Ok(ScheduledMonitor {
            runtime: self
                .runtime(&monitor.spec)
                .map_err(|error| self.monitor.broken(error.to_string()))?,
            last_checked_at: self.last_checked_at.map(Timestamp),
            monitor,
        })
    }

    fn monitor_part(&self) -> Result<Monitor, Box<BrokenMonitor>> {
        let row = &self.monitor;
        Ok(Monitor {
            id: MonitorId(row.id),
            team_id: TeamId(row.team_id),
            spec: decode_spec(&row.spec).map_err(|error| row.broken(error))?,
            created_at: Timestamp(row.created_at),
            updated_at: Timestamp(row.updated_at),
        })
    }
}

/// A `results` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ResultRow {
    pub monitor_id: i64,
    pub checked_at: i64,
    pub status: i16,
    pub latency_us: i32,
    pub http_status: Option<i16>,
    pub error_class: Option<i16>,
    pub message: Option<String>,
}

impl From<ResultRow> for StoredResult {
    fn from(row: ResultRow) -> Self {
        StoredResult {
            monitor_id: MonitorId(row.monitor_id),
            checked_at: Timestamp(row.checked_at),
            status: CheckStatus::from_code(row.status),
            latency: Duration::from_micros(row.latency_us.max(0) as u64),
            http_status: row.http_status.map(|code| code as u16),
            error_class: row.error_class.and_then(error_class_from_code),
            message: row.message,
        }
    }
}

/// An `incidents` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct IncidentRow {
    pub id: i64,
    pub team_id: i64,
    pub monitor_id: i64,
    pub opened_at: i64,
    pub resolved_at: Option<i64>,
    pub cause: String,
    pub error_class: Option<String>,
    pub first_failure: Option<String>,
    pub acknowledged_at: Option<i64>,
    pub acknowledged_by: Option<String>,
}

impl IncidentRow {
    pub fn into_incident(self) -> Result<Incident, StoreError> {
        let first_failure = self
            .first_failure
            .map(|json| serde_json::from_str(&json))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("incident first failure: {e}")))?;
        Ok(Incident {
            id: IncidentId(self.id),
            team_id: TeamId(self.team_id),
            monitor_id: MonitorId(self.monitor_id),
            opened_at: Timestamp(self.opened_at),
            resolved_at: self.resolved_at.map(Timestamp),
            cause: self.cause,
            error_class: self.error_class.as_deref().and_then(ErrorClass::parse),
            first_failure,
            acknowledged_at: self.acknowledged_at.map(Timestamp),
            acknowledged_by: self.acknowledged_by,
        })
    }
}

/// A `state_events` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EventRow {
    pub id: i64,
    pub team_id: i64,
    pub monitor_id: i64,
    pub from_state: String,
    pub to_state: String,
    pub at: i64,
    pub incident_id: Option<i64>,
    pub cause: String,
}

impl EventRow {
    pub fn into_event(self) -> Result<StateEvent, StoreError> {
        Ok(StateEvent {
            id: self.id,
            team_id: TeamId(self.team_id),
            monitor_id: MonitorId(self.monitor_id),
            from: parse_state(&self.from_state)?,
            to: parse_state(&self.to_state)?,
            at: Timestamp(self.at),
            incident_id: self.incident_id.map(IncidentId),
            cause: self.cause,
        })
    }
}

/// Clamps a page or list size: 0 means the maximum.
pub(crate) fn clamp_limit(limit: u32, max: u32) -> i64 {
    i64::from(if limit == 0 { max } else { limit.min(max) })
}

/// Splits start-up rows into the monitors to schedule and the broken ones.
pub(crate) fn scheduled_load(rows: Vec<MonitorStatusRow>) -> ScheduledLoad {
    let mut load = ScheduledLoad::default();
    for row in rows {
        match row.into_scheduled() {
            Ok(monitor) => load.monitors.push(monitor),
            Err(broken) => load.broken.push(*broken),
        }
    }
    load
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_class_round_trips_through_its_code() {
        let classes = ErrorClass::ALL;
        for class in classes {
            assert_eq!(
                error_class_from_code(error_class_code(*class)),
                Some(*class)
            );
        }
        // Codes are unique: two classes sharing one would read back as the same class.
        let codes: std::collections::HashSet<i16> = classes
            .iter()
            .map(|class| error_class_code(*class))
            .collect();
        assert_eq!(codes.len(), classes.len());
        assert_eq!(error_class_from_code(0), None);
        assert_eq!(error_class_from_code(99), None);
    }
}
