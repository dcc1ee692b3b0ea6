//! Whop events as WatchTower reads them, from either envelope: API v1 (`{"id", "type",
//! "timestamp", "data"}`) and v5 (`{"action", "api_version": "v5", "data"}`). Bounded: the body
//! is at most [`MAX_BODY_BYTES`], serde_json refuses nesting past
//! 128 levels, and every id kept is at most [`MAX_ID_CHARS`] characters. Only the fields
//! WatchTower acts on are read; the rest is ignored.

use crate::verify::MAX_BODY_BYTES;
use serde_json::Value;
use watchtower_core::{TeamId, Timestamp};

/// The longest id or word kept from an event.
pub const MAX_ID_CHARS: usize = 200;
/// The metadata key a checkout link sets so a purchase lands on the right team.
pub const TEAM_METADATA_KEY: &str = "watchtower_team_id";

/// What an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// `membership.activated` (v1) or `membership.went_valid` (v5).
    MembershipActivated(MembershipData),
    /// `membership.deactivated` (v1) or `membership.went_invalid` (v5).
    MembershipDeactivated(MembershipData),
    PaymentSucceeded(PaymentData),
    PaymentFailed(PaymentData),
    /// Any other type: recorded and ignored.
    Other,
}

/// A parsed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhopEvent {
    /// The type as sent (`membership.activated`, `membership.went_valid`, ...).
    pub event_type: String,
    /// The envelope's own timestamp (v1); v5 has none.
    pub timestamp: Option<Timestamp>,
    pub kind: EventKind,
}

/// A membership's fields WatchTower uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipData {
    pub id: String,
    pub user_id: String,
    pub email: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub product_id: Option<String>,
    pub plan_id: Option<String>,
    pub status: Option<String>,
    pub renewal_period_end: Option<Timestamp>,
    /// The team a WatchTower checkout link named (`metadata.watchtower_team_id`).
    pub team: Option<TeamId>,
}

/// A payment's fields WatchTower uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentData {
    pub id: String,
    pub membership_id: Option<String>,
    pub user_id: Option<String>,
    pub status: Option<String>,
}

/// Why a body is not an event WatchTower can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn problem(text: impl Into<String>) -> ParseError {
    ParseError(text.into())
}

impl WhopEvent {
    /// Reads an event from a delivery's body.
    pub fn parse(body: &[u8]) -> Result<Self, ParseError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(problem("the body is too large"));
        }
        let value: Value =
            serde_json::from_slice(body).map_err(|e| problem(format!("not JSON: {e}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| problem("the body is not a JSON object"))?;
        let event_type = object
            .get("type")
            .or_else(|| object.get("action"))
            .and_then(Value::as_str)
            .ok_or_else(|| problem("no `type` (v1) or `action` (v5)"))?;
        let event_type = bounded_word(event_type, "type")?;
        let timestamp = match object.get("timestamp") {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                instant(value)
                    .ok_or_else(|| problem("`timestamp` is not an ISO 8601 or unix time"))?,
            ),
        };
        let data = object.get("data").unwrap_or(&Value::Null);
        let kind = match event_type.as_str() {
            "membership.activated" | "membership.went_valid" => {
                EventKind::MembershipActivated(membership(data)?)
            }
            "membership.deactivated" | "membership.went_invalid" => {
                EventKind::MembershipDeactivated(membership(data)?)
            }
            "payment.succeeded" => EventKind::PaymentSucceeded(payment(data)?),
            "payment.failed" => EventKind::PaymentFailed(payment(data)?),
            _ => EventKind::Other,
        };
        Ok(Self {
            event_type,
            timestamp,
            kind,
        })
    }
}

/// Reads just the type, for recording a delivery whose data is not readable.
pub fn event_type_of(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let text = value
        .get("type")
        .or_else(|| value.get("action"))?
        .as_str()?;
    bounded_word(text, "type").ok()
}

/// The envelope's own timestamp (API v1 has one; v5 does not), for ordering events.
pub fn event_time_of(body: &[u8]) -> Option<Timestamp> {
    let value: Value = serde_json::from_slice(body).ok()?;
    instant(value.get("timestamp")?)
}

fn bounded_word(text: &str, field: &str) -> Result<String, ParseError> {
    if text.is_empty() || text.chars().count() > MAX_ID_CHARS || text.chars().any(char::is_control)
    {
        return Err(problem(format!(
            "`{field}` must be 1 to {MAX_ID_CHARS} printable characters"
        )));
    }
    Ok(text.to_owned())
}

/// A string at `path` (each step an object key), bounded; absent or null is `None`.
fn text_at(data: &Value, path: &[&str]) -> Result<Option<String>, ParseError> {
    let mut value = data;
    for key in path {
        match value.get(key) {
            Some(next) => value = next,
            None => return Ok(None),
        }
    }
    match value {
        Value::Null => Ok(None),
        Value::String(text) => bounded_word(text, &path.join(".")).map(Some),
        _ => Err(problem(format!("`{}` is not a string", path.join(".")))),
    }
}

/// The first of several spellings that is present (v1 nests `user.id`, v5 says `user_id`).
fn first_text(data: &Value, paths: &[&[&str]]) -> Result<Option<String>, ParseError> {
    for path in paths {
        if let Some(text) = text_at(data, path)? {
            return Ok(Some(text));
        }
    }
    Ok(None)
}

/// An instant: ISO 8601 text or unix seconds.
fn instant(value: &Value) -> Option<Timestamp> {
    match value {
        Value::String(text) if text.len() <= 64 => text
            .parse::<jiff::Timestamp>()
            .ok()
            .map(Timestamp::from_jiff),
        Value::Number(number) => {
            let seconds = number.as_i64()?;
            // Within jiff's range, so a date can always be shown.
            (-377_705_116_800..=253_402_207_200)
                .contains(&seconds)
                .then_some(Timestamp(seconds * 1000))
        }
        _ => None,
    }
}

fn membership(data: &Value) -> Result<MembershipData, ParseError> {
    if !data.is_object() {
        return Err(problem("`data` is not an object"));
    }
    let id = text_at(data, &["id"])?.ok_or_else(|| problem("the membership has no `id`"))?;
    let user_id = first_text(data, &[&["user", "id"], &["user_id"], &["user"]])?
        .ok_or_else(|| problem("the membership has no user id"))?;
    let team = match data.get("metadata").and_then(|m| m.get(TEAM_METADATA_KEY)) {
        Some(Value::String(text)) => text.trim().parse::<i64>().ok().map(TeamId),
        Some(Value::Number(number)) => number.as_i64().map(TeamId),
        _ => None,
    };
    Ok(MembershipData {
        id,
        user_id,
        email: text_at(data, &["user", "email"])?,
        username: text_at(data, &["user", "username"])?,
        name: text_at(data, &["user", "name"])?,
        product_id: first_text(data, &[&["product", "id"], &["product_id"]])?,
        plan_id: first_text(data, &[&["plan", "id"], &["plan_id"]])?,
        status: text_at(data, &["status"])?,
        renewal_period_end: data.get("renewal_period_end").and_then(instant),
        team,
    })
}

fn payment(data: &Value) -> Result<PaymentData, ParseError> {
    if !data.is_object() {
        return Err(problem("`data` is not an object"));
    }
    Ok(PaymentData {
        id: text_at(data, &["id"])?.ok_or_else(|| problem("the payment has no `id`"))?,
        membership_id: first_text(data, &[&["membership", "id"], &["membership_id"]])?,
        user_id: first_text(data, &[&["user", "id"], &["user_id"]])?,
        status: text_at(data, &["status"])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_membership() {
        let body = br#"{"id":"msg_1","api_version":"v1","timestamp":"2026-01-02T03:04:05Z",
            "type":"membership.activated","company_id":"biz_1","data":{"id":"mem_1",
            "status":"active","user":{"id":"user_1","username":"ann","name":"Ann",
            "email":"ann@example.com"},"product":{"id":"prod_starter","title":"Starter"},
            "plan":{"id":"plan_1"},"renewal_period_end":"2026-02-02T03:04:05Z",
            "metadata":{"watchtower_team_id":"7"}}}"#;
        let event = WhopEvent::parse(body).unwrap();
        let EventKind::MembershipActivated(m) = event.kind else {
            panic!("{event:?}")
        };
        assert_eq!(m.user_id, "user_1");
        assert_eq!(m.email.as_deref(), Some("ann@example.com"));
        assert_eq!(m.product_id.as_deref(), Some("prod_starter"));
        assert_eq!(m.team, Some(TeamId(7)));
        assert!(event.timestamp.is_some() && m.renewal_period_end.is_some());
    }

    #[test]
    fn v5_membership_and_payment() {
        let body = br#"{"action":"membership.went_invalid","api_version":"v5","data":{"id":"mem_2",
            "product_id":"prod_pro","user_id":"user_2","plan_id":"plan_2","status":"canceled",
            "valid":false,"renewal_period_end":1767225600}}"#;
        let event = WhopEvent::parse(body).unwrap();
        assert!(
            matches!(event.kind, EventKind::MembershipDeactivated(ref m) if m.user_id == "user_2")
        );
        let body = br#"{"action":"payment.failed","api_version":"v5","data":{"id":"pay_1",
            "membership_id":"mem_2","user_id":"user_2","status":"open"}}"#;
        let event = WhopEvent::parse(body).unwrap();
        assert!(
            matches!(event.kind, EventKind::PaymentFailed(ref p) if p.membership_id.as_deref() == Some("mem_2"))
        );
    }

    #[test]
    fn unknown_types_and_bad_bodies() {
        let event = WhopEvent::parse(br#"{"type":"refund.created","data":{"x":[1,2]}}"#).unwrap();
        assert_eq!(event.kind, EventKind::Other);
        assert!(WhopEvent::parse(b"[]").is_err());
        assert!(WhopEvent::parse(br#"{"type":"membership.activated","data":{}}"#).is_err());
        let long = format!(r#"{{"type":"{}"}}"#, "x".repeat(500));
        assert!(WhopEvent::parse(long.as_bytes()).is_err());
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(WhopEvent::parse(deep.as_bytes()).is_err());
    }
}
