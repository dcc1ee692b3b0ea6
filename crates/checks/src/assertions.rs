//! What a response must satisfy: accepted status ranges, a keyword present or absent, a regular
//! expression, a JSONPath comparison, a response-time threshold and certificate expiry. Pure
//! functions of what was received, so each rule is tested without a network.

use crate::deadline::{Deadline, Failure};
use serde_json::Value;
use std::time::Duration;
#[cfg(test)]
use watchtower_core::monitor::JsonPathQuery;
use watchtower_core::monitor::{Comparison, JsonPathRule, KeywordRule, RegexRule, StatusRange};
use watchtower_core::{CertificateInfo, ErrorClass, HumanDuration, Timestamp};

const DAY_MILLIS: i64 = 86_400_000;

/// The body as read, with whether it was cut at the size limit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Body<'a> {
    pub bytes: &'a [u8],
    /// The limit, when the body was longer than it and only that much was read.
    pub truncated_at: Option<usize>,
}

impl Body<'_> {
    fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.bytes)
    }

    /// Appended to a failed body assertion: the rule saw only part of the body.
    fn truncation_note(&self) -> String {
        match self.truncated_at {
            Some(limit) => format!(" (only the first {limit} bytes of the body were read)"),
            None => String::new(),
        }
    }
}

/// `Err(StatusCode)` unless `status` is in one of the accepted ranges.
pub(crate) fn status(accepted: &[StatusRange], status: u16) -> Result<(), Failure> {
    if accepted.iter().any(|range| range.contains(status)) {
        return Ok(());
    }
    let expected: Vec<String> = accepted.iter().map(StatusRange::to_string).collect();
    Err(Failure::new(
        ErrorClass::StatusCode,
        format!("status {status}, expected {}", expected.join(", ")),
    ))
}

/// `Err(Keyword)` when the text is missing (or, for `present: false`, found).
pub(crate) fn keyword(rule: &KeywordRule, body: Body<'_>) -> Result<(), Failure> {
    let text = body.text();
    let found = if rule.case_sensitive {
        text.contains(rule.text.as_str())
    } else {
        text.to_lowercase().contains(&rule.text.to_lowercase())
    };
    match (rule.present, found) {
        (true, true) | (false, false) => Ok(()),
        (true, false) => Err(Failure::new(
            ErrorClass::Keyword,
            format!(
                "keyword '{}' not found in the response body{}",
                rule.text,
                body.truncation_note()
            ),
        )),
        (false, true) => Err(Failure::new(
            ErrorClass::Keyword,
            format!("keyword '{}' found in the response body", rule.text),
        )),
    }
}

/// `Err(Regex)` unless the body matches.
pub(crate) fn regex(rule: &RegexRule, body: Body<'_>) -> Result<(), Failure> {
    if rule.0.is_match(&body.text()) {
        return Ok(());
    }
    Err(Failure::new(
        ErrorClass::Regex,
        format!(
            "the response body does not match /{}/{}",
            rule.0.as_str(),
            body.truncation_note()
        ),
    ))
}

/// The most node visits a JSONPath evaluation may take by [`JsonPathQuery::work_bound`]'s
/// estimate; above it the check fails before evaluating. `$..name` on a 1 MiB body of 100,000
/// values nested 20 deep is about 2 million.
///
/// [`JsonPathQuery::work_bound`]: watchtower_core::monitor::JsonPathQuery::work_bound
pub const MAX_JSON_PATH_WORK: f64 = 5_000_000.0;

/// [`json_path`] on a blocking thread within what is left of the check's deadline, so a costly
/// evaluation never holds an async worker.
pub(crate) async fn json_path_within(
    rule: &JsonPathRule,
    body: Body<'_>,
    deadline: &Deadline,
) -> Result<(), Failure> {
    let (rule, bytes, truncated_at) = (rule.clone(), body.bytes.to_vec(), body.truncated_at);
    let evaluation = tokio::task::spawn_blocking(move || {
        json_path(
            &rule,
            Body {
                bytes: &bytes,
                truncated_at,
            },
        )
    });
    match deadline.run("the JSONPath evaluation", evaluation).await? {
        Ok(verdict) => verdict,
        Err(error) => Err(Failure::new(
            ErrorClass::JsonPath,
            format!("the JSONPath evaluation stopped: {error}"),
        )),
    }
}

/// How many values a document holds and how deep they nest, counted without recursion.
fn measure(document: &Value) -> (u64, u64) {
    let (mut nodes, mut deepest) = (0u64, 0u64);
    let mut pending = vec![(document, 0u64)];
    while let Some((value, depth)) = pending.pop() {
        nodes += 1;
        deepest = deepest.max(depth);
        match value {
            Value::Array(items) => pending.extend(items.iter().map(|item| (item, depth + 1))),
            Value::Object(map) => pending.extend(map.values().map(|item| (item, depth + 1))),
            _ => {}
        }
    }
    (nodes, deepest)
}

/// `Err(JsonPath)` unless the body is JSON and the first match of the path passes the comparison
/// (`exists`: any match). A query whose estimated work on this body exceeds
/// [`MAX_JSON_PATH_WORK`] fails without being evaluated. serde_json refuses documents nested
/// more than 128 deep, so neither parsing nor dropping the document can exhaust the stack.
pub(crate) fn json_path(rule: &JsonPathRule, body: Body<'_>) -> Result<(), Failure> {
    let fail = |message: String| Err(Failure::new(ErrorClass::JsonPath, message));
    let document: Value = match serde_json::from_slice(body.bytes) {
        Ok(document) => document,
        Err(error) => {
            return fail(format!(
                "the response body is not JSON: {error}{}",
                body.truncation_note()
            ));
        }
    };
    let path = rule.path.as_str();
    let (nodes, depth) = measure(&document);
    let work = rule.path.work_bound(nodes, depth);
    if work > MAX_JSON_PATH_WORK {
        return fail(format!(
            "{path} was not evaluated: on this body ({nodes} values nested {depth} deep) it could \
             take {work:.0} steps, over the limit of {MAX_JSON_PATH_WORK:.0}; use fewer \
             descendant segments (..) or a more specific path"
        ));
    }
    let nodes = rule.path.compiled().query(&document).all();
    let Some(actual) = nodes.first() else {
        return fail(format!("{path} matched nothing"));
    };
    let expected = rule.value.as_ref();
    let passed = match (rule.op, expected) {
        (Comparison::Exists, _) => true,
        (_, None) => false,
        (Comparison::Equals, Some(expected)) => loosely_equal(actual, expected),
        (Comparison::NotEquals, Some(expected)) => !loosely_equal(actual, expected),
        (Comparison::Contains, Some(expected)) => contains(actual, expected),
        (ordering, Some(expected)) => match (as_number(actual), as_number(expected)) {
            (Some(actual), Some(expected)) => match ordering {
                Comparison::Less => actual < expected,
                Comparison::LessOrEqual => actual <= expected,
                Comparison::Greater => actual > expected,
                _ => actual >= expected,
            },
            _ => false,
        },
    };
    if passed {
        return Ok(());
    }
    let wanted = match expected {
        Some(expected) => format!("{} {expected}", op_text(rule.op)),
        None => op_text(rule.op).to_owned(),
    };
    fail(format!("{path} is {actual}, expected {wanted}"))
}

fn op_text(op: Comparison) -> &'static str {
    match op {
        Comparison::Exists => "to exist",
        Comparison::Equals => "==",
        Comparison::NotEquals => "!=",
        Comparison::Less => "<",
        Comparison::LessOrEqual => "<=",
        Comparison::Greater => ">",
        Comparison::GreaterOrEqual => ">=",
        Comparison::Contains => "to contain",
    }
}

/// JSON equality where numbers compare by value (`1 == 1.0`) and a scalar compares with the text
/// a YAML author wrote for it (`"200" == 200`, `"true" == true`).
fn loosely_equal(actual: &Value, expected: &Value) -> bool {
    if actual == expected {
        return true;
    }
    if let (Some(a), Some(b)) = (actual.as_f64(), expected.as_f64()) {
        return a == b;
    }
    match (actual, expected) {
        (Value::String(text), other) | (other, Value::String(text))
            if matches!(other, Value::Number(_) | Value::Bool(_)) =>
        {
            text.as_str() == other.to_string().as_str()
        }
        _ => false,
    }
}

fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::String(haystack), Value::String(needle)) => haystack.contains(needle.as_str()),
        (Value::String(haystack), other) => haystack.contains(&other.to_string()),
        (Value::Array(items), expected) => items.iter().any(|item| loosely_equal(item, expected)),
        (Value::Object(map), Value::String(key)) => map.contains_key(key),
        _ => false,
    }
}

fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// `Err(ResponseTime)` (a reason to degrade) when the response took longer than the limit.
pub(crate) fn response_time(limit: Duration, took: Duration) -> Result<(), Failure> {
    if took <= limit {
        return Ok(());
    }
    Err(Failure::new(
        ErrorClass::ResponseTime,
        format!(
            "the response took {}, over the {} threshold",
            HumanDuration(Duration::from_millis(took.as_millis() as u64)),
            HumanDuration(limit)
        ),
    ))
}

/// A certificate close to (or past) its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExpiryWarning {
    Expired(String),
    ExpiresSoon(String),
}

/// Judges the earliest expiry in the chain against `warn_days`.
pub(crate) fn certificate_expiry(
    certificate: &CertificateInfo,
    warn_days: u32,
    now: Timestamp,
) -> Option<ExpiryWarning> {
    let left = certificate.expires_at.as_millis() - now.as_millis();
    let which = if certificate.expires_at < certificate.leaf_expires_at {
        "a certificate in the chain"
    } else {
        "the certificate"
    };
    if left <= 0 {
        return Some(ExpiryWarning::Expired(format!(
            "{which} expired {} ago ({})",
            days_text(-left),
            certificate.expires_at
        )));
    }
    if left <= i64::from(warn_days) * DAY_MILLIS {
        return Some(ExpiryWarning::ExpiresSoon(format!(
            "{which} expires in {} ({}), within the {warn_days}-day warning",
            days_text(left),
            certificate.expires_at
        )));
    }
    None
}

/// Whole days, rounded to the nearest; "less than a day" below half a day.
fn days_text(millis: i64) -> String {
    match (millis + DAY_MILLIS / 2) / DAY_MILLIS {
        0 => "less than a day".to_owned(),
        1 => "1 day".to_owned(),
        days => format!("{days} days"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(text: &str) -> Body<'_> {
        Body {
            bytes: text.as_bytes(),
            truncated_at: None,
        }
    }

    fn rule(path: &str, op: Comparison, value: Option<Value>) -> JsonPathRule {
        JsonPathRule {
            path: JsonPathQuery::parse(path).unwrap(),
            op,
            value,
        }
    }

    #[test]
    fn status_ranges_accept_and_name_what_was_expected() {
        let accepted = [StatusRange::SUCCESS, StatusRange::parse("301").unwrap()];
        assert!(status(&accepted, 204).is_ok());
        assert!(status(&accepted, 301).is_ok());
        let failure = status(&[StatusRange::SUCCESS], 503).unwrap_err();
        assert_eq!(failure.class, ErrorClass::StatusCode);
        assert_eq!(failure.message, "status 503, expected 200-299");
    }

    #[test]
    fn keywords_honour_presence_and_case() {
        let mut rule = KeywordRule {
            text: "OK".into(),
            present: true,
            case_sensitive: true,
        };
        assert!(keyword(&rule, body("status: OK")).is_ok());
        assert!(keyword(&rule, body("status: ok")).is_err());
        rule.case_sensitive = false;
        assert!(keyword(&rule, body("status: ok")).is_ok());
        rule.present = false;
        let failure = keyword(&rule, body("status: ok")).unwrap_err();
        assert_eq!(failure.message, "keyword 'OK' found in the response body");
        assert!(keyword(&rule, body("status: fine")).is_ok());
    }

    #[test]
    fn a_truncated_body_says_so_when_a_rule_fails() {
        let rule = KeywordRule {
            text: "needle".into(),
            present: true,
            case_sensitive: true,
        };
        let failure = keyword(
            &rule,
            Body {
                bytes: b"hay",
                truncated_at: Some(3),
            },
        )
        .unwrap_err();
        assert!(
            failure
                .message
                .ends_with("(only the first 3 bytes of the body were read)"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn a_json_path_over_its_work_budget_is_refused_before_evaluating() {
        let nested = format!("{}{}", "[".repeat(120), "]".repeat(120));
        let refused = json_path(
            &rule("$..[*]..[*]..[*]..[*]", Comparison::Exists, None),
            body(&nested),
        )
        .unwrap_err();
        assert_eq!(refused.class, ErrorClass::JsonPath);
        assert!(
            refused.message.contains("120 values nested 119 deep"),
            "{}",
            refused.message
        );
        // The same paths on a flat body are cheap and evaluated.
        let flat = json!({"a": [1, 2, {"b": 3}]}).to_string();
        assert!(
            json_path(
                &rule("$..[*]..[*]..b", Comparison::Exists, None),
                body(&flat)
            )
            .is_ok()
        );
        assert!(
            json_path(
                &rule("$..b", Comparison::Equals, Some(json!(3))),
                body(&flat)
            )
            .is_ok()
        );
    }

    #[test]
    fn documents_are_measured_without_recursion() {
        assert_eq!(measure(&json!(1)), (1, 0));
        assert_eq!(measure(&json!({"a": [1, 2], "b": {}})), (5, 2));
    }

    #[test]
    fn json_path_comparisons() {
        let doc = r#"{"status":"ok","count":5,"ratio":0.5,"tags":["a","b"],"up":true}"#;
        let pass = [
            rule("$.status", Comparison::Exists, None),
            rule("$.status", Comparison::Equals, Some(json!("ok"))),
            rule("$.count", Comparison::Equals, Some(json!(5.0))),
            rule("$.count", Comparison::Equals, Some(json!("5"))),
            rule("$.up", Comparison::Equals, Some(json!("true"))),
            rule("$.count", Comparison::NotEquals, Some(json!(6))),
            rule("$.count", Comparison::Less, Some(json!(6))),
            rule("$.count", Comparison::LessOrEqual, Some(json!(5))),
            rule("$.ratio", Comparison::Greater, Some(json!(0.25))),
            rule("$.count", Comparison::GreaterOrEqual, Some(json!(5))),
            rule("$.tags", Comparison::Contains, Some(json!("b"))),
            rule("$.status", Comparison::Contains, Some(json!("o"))),
        ];
        for rule in pass {
            assert!(json_path(&rule, body(doc)).is_ok(), "{rule:?}");
        }
        let fail = [
            rule("$.missing", Comparison::Exists, None),
            rule("$.status", Comparison::Equals, Some(json!("down"))),
            rule("$.count", Comparison::Greater, Some(json!(5))),
            rule("$.status", Comparison::Less, Some(json!(1))),
            rule("$.tags", Comparison::Contains, Some(json!("c"))),
        ];
        for rule in fail {
            let failure = json_path(&rule, body(doc)).unwrap_err();
            assert_eq!(failure.class, ErrorClass::JsonPath, "{rule:?}");
        }
        let failure = json_path(
            &rule("$.count", Comparison::Greater, Some(json!(10))),
            body(doc),
        )
        .unwrap_err();
        assert_eq!(failure.message, "$.count is 5, expected > 10");
        let not_json = json_path(&rule("$.a", Comparison::Exists, None), body("<html>"));
        assert!(
            not_json
                .unwrap_err()
                .message
                .starts_with("the response body is not JSON")
        );
    }

    #[test]
    fn slow_responses_are_named_with_the_threshold() {
        assert!(response_time(Duration::from_secs(2), Duration::from_millis(1500)).is_ok());
        let failure =
            response_time(Duration::from_secs(1), Duration::from_millis(1500)).unwrap_err();
        assert_eq!(failure.class, ErrorClass::ResponseTime);
        assert_eq!(
            failure.message,
            "the response took 1s500ms, over the 1s threshold"
        );
    }

    fn certificate(expires_in_days: i64, now: Timestamp) -> CertificateInfo {
        let expires_at = Timestamp(now.as_millis() + expires_in_days * DAY_MILLIS);
        CertificateInfo {
            subject: "CN=x".into(),
            issuer: "CN=ca".into(),
            expires_at,
            leaf_expires_at: expires_at,
            fingerprint_sha256: String::new(),
            dns_names: vec![],
        }
    }

    #[test]
    fn certificate_expiry_warns_within_the_window_and_flags_expired() {
        let now = Timestamp(1_800_000_000_000);
        assert_eq!(certificate_expiry(&certificate(30, now), 14, now), None);
        match certificate_expiry(&certificate(5, now), 14, now) {
            Some(ExpiryWarning::ExpiresSoon(message)) => {
                assert!(
                    message.starts_with("the certificate expires in 5 days"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        match certificate_expiry(&certificate(-2, now), 14, now) {
            Some(ExpiryWarning::Expired(message)) => {
                assert!(
                    message.starts_with("the certificate expired 2 days ago"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
