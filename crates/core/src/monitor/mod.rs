//! Monitors: what to check, how often, and how many results confirm a change. `MonitorSpec::parse`
//! turns user input (YAML or JSON) into a spec that cannot hold a bad state, listing every problem.

pub(crate) mod fields;
pub mod http;
pub mod json_path;
pub mod network;
pub mod push;
pub mod secrets;
pub mod whop;

use crate::duration::HumanDuration;
use crate::ids::{MonitorId, MonitorKey, TeamId};
use crate::state::DetectionPolicy;
use crate::time::Timestamp;
use crate::validation::FieldError;
use fields::Fields;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

pub use http::{
    Comparison, HttpAuth, HttpSettings, JsonPathRule, KeywordRule, RegexRule, StatusRange,
};
pub use json_path::{
    JsonPathQuery, MAX_DESCENDANT_SEGMENTS, MAX_JSON_PATH_LENGTH, MAX_JSON_PATH_NESTING,
};
pub use network::{DnsSettings, PingSettings, RecordType, TcpSettings, TlsSettings};
pub use push::{PushSchedule, PushSettings};
pub use secrets::{REDACTED, SecretField};
pub use whop::{MetricCondition, WhopMetric, WhopSettings};

/// The shortest interval any monitor may have.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// The longest interval: one week.
pub const MAX_INTERVAL: Duration = Duration::from_secs(7 * 86_400);
const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

// A new probe kind is a variant here (its settings in a file of this module); `ProbeKind`, the
// kind names and every `match` that must handle it follow from the variant, so the compiler lists
// what is left to write. (A plain comment: the doc line below is the API's schema description.)
/// What a monitor checks, with the settings of that kind.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema, strum::EnumDiscriminants,
)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[strum_discriminants(
    name(ProbeKind),
    vis(pub),
    derive(Hash, strum::VariantArray),
    doc = "A monitor's kind without its settings: what the `kind` field names."
)]
pub enum MonitorKind {
    Http(Box<HttpSettings>),
    Tcp(TcpSettings),
    Ping(PingSettings),
    Dns(DnsSettings),
    Tls(TlsSettings),
    Push(PushSettings),
    Whop(Box<WhopSettings>),
}

impl ProbeKind {
    /// Every kind, in the order the enum declares them (derived, so none can be missing).
    pub const ALL: &'static [ProbeKind] = <ProbeKind as strum::VariantArray>::VARIANTS;

    /// The `kind` field's spelling (serde's tag of `MonitorKind`).
    pub fn name(self) -> &'static str {
        match self {
            ProbeKind::Http => "http",
            ProbeKind::Tcp => "tcp",
            ProbeKind::Ping => "ping",
            ProbeKind::Dns => "dns",
            ProbeKind::Tls => "tls",
            ProbeKind::Push => "push",
            ProbeKind::Whop => "whop",
        }
    }

    /// The kind a `kind` field names, if any.
    pub fn parse(name: &str) -> Option<ProbeKind> {
        Self::ALL.iter().copied().find(|kind| kind.name() == name)
    }

    /// Every kind's name for a message: `http, tcp, ping, dns, tls, push or whop`.
    pub fn choices() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|kind| kind.name()).collect();
        crate::validation::choices(&names)
    }
}

impl MonitorKind {
    pub fn name(&self) -> &'static str {
        ProbeKind::from(self).name()
    }

    /// Reads a kind's settings from a spec's fields.
    fn parse_settings(kind: ProbeKind, fields: &mut Fields<'_>) -> Option<MonitorKind> {
        match kind {
            ProbeKind::Http => {
                http::parse_http(fields).map(|http| MonitorKind::Http(Box::new(http)))
            }
            ProbeKind::Tcp => network::parse_tcp(fields).map(MonitorKind::Tcp),
            ProbeKind::Ping => network::parse_ping(fields).map(MonitorKind::Ping),
            ProbeKind::Dns => network::parse_dns(fields).map(MonitorKind::Dns),
            ProbeKind::Tls => network::parse_tls(fields).map(MonitorKind::Tls),
            ProbeKind::Push => push::parse_push(fields).map(MonitorKind::Push),
            ProbeKind::Whop => {
                whop::parse_whop(fields).map(|whop| MonitorKind::Whop(Box::new(whop)))
            }
        }
    }

    /// The host a check connects to, for per-host concurrency limits. Push monitors have none.
    pub fn target_host(&self) -> Option<&str> {
        match self {
            MonitorKind::Http(http) => http.url.host_str(),
            MonitorKind::Tcp(tcp) => Some(&tcp.host),
            MonitorKind::Ping(ping) => Some(&ping.host),
            MonitorKind::Dns(dns) => Some(&dns.host),
            MonitorKind::Tls(tls) => Some(&tls.host),
            MonitorKind::Push(_) => None,
            // Every Whop monitor talks to the one Whop API: grouping them under one name keeps
            // the per-host limit between them and Whop's rate limit.
            MonitorKind::Whop(_) => Some("whop-api"),
        }
    }
}

/// Everything a user declares about a monitor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MonitorSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<MonitorKey>,
    pub name: String,
    #[serde(flatten)]
    pub kind: MonitorKind,
    pub interval: HumanDuration,
    pub timeout: HumanDuration,
    /// Failed checks retried before DOWN is confirmed.
    pub retries: u32,
    /// Time between retries while a failure is being confirmed.
    pub retry_interval: HumanDuration,
    /// Successful checks in a row needed to leave DOWN.
    pub success_threshold: u32,
    #[serde(default)]
    pub paused: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Monitors this one needs (a database, an upstream API): while one of them is DOWN, this
    /// monitor's new alerts are suppressed, since the dependency is the real cause.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<DependencyRef>,
}

/// A monitor named as a dependency: by id (monitors made through the API) or by key (monitors
/// as code).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum DependencyRef {
    Id(MonitorId),
    Key(MonitorKey),
}

impl MonitorSpec {
    /// Parses a monitor from a JSON object; `prefix` is its path in the document for error messages
    /// (`monitors[3]`). Every problem is returned, not only the first.
    pub fn parse(value: &Value, prefix: &str) -> Result<Self, Vec<FieldError>> {
        let Value::Object(map) = value else {
            return Err(vec![FieldError {
                field: prefix.to_owned(),
                problem: "must be a mapping".into(),
            }]);
        };
        let mut fields = Fields::new(map, prefix);
        let key = fields.string("key").and_then(|raw| {
            MonitorKey::parse(&raw)
                .map_err(|problem| fields.problem("key", problem))
                .ok()
        });
        let name = fields
            .required_string("name")
            .map(|name| name.trim().to_owned());
        if name.as_ref().is_some_and(|name| name.chars().count() > 200) {
            fields.problem("name", "must be at most 200 characters");
        }
        let kind_name = fields.required_string("kind");
        let probe_kind = kind_name.as_deref().and_then(ProbeKind::parse);
        let kind = match kind_name.as_deref() {
            Some(name) => match probe_kind {
                Some(kind) => MonitorKind::parse_settings(kind, &mut fields),
                None => {
                    fields.problem(
                        "kind",
                        format!("'{name}' is not a kind; use {}", ProbeKind::choices()),
                    );
                    None
                }
            },
            None => None,
        };
        let interval = fields
            .duration("interval")
            .unwrap_or(HumanDuration(DEFAULT_INTERVAL));
        if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&interval.get()) {
            fields.problem("interval", "must be from 1s to 7d");
        }
        if probe_kind == Some(ProbeKind::Whop) && interval.get() < whop::MIN_WHOP_INTERVAL {
            fields.problem(
                "interval",
                "must be at least 1m for a Whop monitor: its figures are daily and Whop's API is rate-limited",
            );
        }
        let timeout = fields
            .duration("timeout")
            .unwrap_or(HumanDuration(DEFAULT_TIMEOUT.min(interval.get())));
        if timeout.get() < Duration::from_millis(100) || timeout.get() > Duration::from_secs(300) {
            fields.problem("timeout", "must be from 100ms to 5m");
        } else if timeout.get() > interval.get() {
            fields.problem(
                "timeout",
                format!("must not be longer than the interval ({interval})"),
            );
        }
        let retries = fields.number("retries", 0, 0, 10) as u32;
        let retry_interval = fields
            .duration("retry_interval")
            .unwrap_or(HumanDuration(interval.get().min(Duration::from_secs(20))));
        if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&retry_interval.get()) {
            fields.problem("retry_interval", "must be from 1s to 7d");
        }
        let success_threshold = fields.number("success_threshold", 1, 1, 10) as u32;
        let paused = fields.bool("paused", false);
        let tags = fields.string_list("tags");
        for (index, tag) in tags.iter().enumerate() {
            if tag.trim().is_empty() || tag.chars().count() > 50 {
                fields.problem(&format!("tags[{index}]"), "must be 1 to 50 characters");
            }
        }
        let depends_on = match fields.raw("depends_on") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(index, item)| {
                    let parsed = match item {
                        Value::Number(n) => n.as_i64().map(|id| DependencyRef::Id(MonitorId(id))),
                        Value::String(text) => MonitorKey::parse(text).ok().map(DependencyRef::Key),
                        _ => None,
                    };
                    if parsed.is_none() {
                        fields.problem(
                            &format!("depends_on[{index}]"),
                            "must be a monitor id or a monitor key",
                        );
                    }
                    parsed
                })
                .collect(),
            Some(_) => {
                fields.problem("depends_on", "must be a list of monitor ids or keys");
                Vec::new()
            }
        };
        if key
            .as_ref()
            .is_some_and(|own| depends_on.contains(&DependencyRef::Key(own.clone())))
        {
            fields.problem("depends_on", "a monitor cannot depend on itself");
        }
        fields.finish_unknown();
        let problems = std::mem::take(&mut fields.problems);
        let spec = match (name, kind) {
            (Some(name), Some(kind)) => Some(MonitorSpec {
                key,
                name,
                kind,
                interval,
                timeout,
                retries,
                retry_interval,
                success_threshold,
                paused,
                tags,
                depends_on,
            }),
            _ => None,
        };
        match (problems.is_empty(), spec) {
            (true, Some(spec)) => Ok(spec),
            _ => Err(problems.list),
        }
    }

    /// The spec as the same JSON shape `parse` reads.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a monitor spec always serializes")
    }

    pub fn detection_policy(&self) -> DetectionPolicy {
        DetectionPolicy {
            retries: self.retries,
            success_threshold: self.success_threshold,
        }
    }
}

/// A stored monitor.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitor {
    pub id: MonitorId,
    pub team_id: TeamId,
    pub spec: MonitorSpec,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems_of(value: Value) -> Vec<String> {
        MonitorSpec::parse(&value, "monitors[0]")
            .unwrap_err()
            .into_iter()
            .map(|error| error.to_string())
            .collect()
    }

    #[test]
    fn the_readme_example_parses_with_defaults() {
        let spec = MonitorSpec::parse(
            &json!({"key": "example-web", "name": "Example web", "kind": "http",
                    "url": "http://127.0.0.1:8000/", "interval": "30s", "timeout": "5s", "retries": 1}),
            "",
        )
        .unwrap();
        assert_eq!(spec.interval.get(), Duration::from_secs(30));
        assert_eq!(spec.retry_interval.get(), Duration::from_secs(20));
        let MonitorKind::Http(http) = &spec.kind else {
            panic!("not http")
        };
        assert_eq!(http.accepted_status, vec![StatusRange::SUCCESS]);
        assert_eq!(http.method, "GET");
    }

    #[test]
    fn every_problem_is_listed_with_its_field() {
        let problems = problems_of(json!({
            "key": "Bad Key", "kind": "http", "url": "ftp://x", "interval": "5x",
            "retries": 99, "accepted_status": ["200-199", "abc"], "colour": "red",
            "json_path": {"path": "$[", "op": ">"}
        }));
        let expected = [
            "monitors[0].key:",
            "monitors[0].name: is required",
            "monitors[0].url: must be an http:// or https:// URL",
            "monitors[0].accepted_status[0]:",
            "monitors[0].accepted_status[1]:",
            "monitors[0].json_path.path:",
            "monitors[0].json_path.value:",
            "monitors[0].interval:",
            "monitors[0].retries:",
            "monitors[0].colour: is not a known field",
        ];
        for start in expected {
            assert!(
                problems.iter().any(|p| p.starts_with(start)),
                "missing {start} in {problems:#?}"
            );
        }
    }

    #[test]
    fn every_kind_round_trips_through_its_json_shape() {
        let specs = [
            json!({"name": "web", "kind": "http", "url": "https://example.com/health", "method": "post",
                   "headers": {"X-Probe": "1"}, "body": "{}", "auth": {"bearer": "t0k"},
                   "accepted_status": ["200-299", "301"], "keyword": {"text": "ok", "case_sensitive": false},
                   "regex": "^o.$", "json_path": {"path": "$.status", "value": "ok"},
                   "degraded_after": "2s", "verify_tls": false, "tags": ["prod"]}),
            json!({"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 5432, "send": "PING", "expect": "PONG"}),
            json!({"name": "gw", "kind": "ping", "host": "::1"}),
            json!({"name": "dns", "kind": "dns", "host": "example.com", "record_type": "mx", "resolver": "127.0.0.1:5353",
                   "expected": ["mail.example.com"]}),
            json!({"name": "cert", "kind": "tls", "host": "example.com", "warn_days": 21}),
            json!({"name": "cron job", "kind": "push", "cron": "0 2 * * *", "timezone": "Europe/Berlin", "grace": "10m"}),
            json!({"name": "beat", "kind": "push", "period": "5m", "token": "abcdefghijklmnopqrstuvwxyz"}),
            json!({"name": "sales", "kind": "whop", "company_id": "biz_shop", "api_key": "apik_1",
                   "metric": "revenue", "interval": "5m", "timezone": "Europe/Paris", "currency": "EUR",
                   "condition": {"below": 1.5, "drop_percent": 25, "weeks": 6}}),
        ];
        let mut covered = std::collections::HashSet::new();
        for raw in specs {
            let spec = MonitorSpec::parse(&raw, "").unwrap_or_else(|e| panic!("{raw}: {e:?}"));
            let again = MonitorSpec::parse(&spec.to_value(), "").unwrap();
            assert_eq!(spec, again, "{raw}");
            // The name `ProbeKind` gives is serde's tag.
            assert_eq!(spec.to_value()["kind"], spec.kind.name(), "{raw}");
            covered.insert(ProbeKind::from(&spec.kind));
        }
        // A new kind needs its example here.
        assert_eq!(covered.len(), ProbeKind::ALL.len());
    }

    #[test]
    fn kind_names_are_listed_from_the_enum() {
        assert_eq!(
            ProbeKind::choices(),
            "http, tcp, ping, dns, tls, push or whop"
        );
        for kind in ProbeKind::ALL {
            assert_eq!(ProbeKind::parse(kind.name()), Some(*kind));
        }
        assert_eq!(ProbeKind::parse("gopher"), None);
        assert_eq!(
            problems_of(json!({"name": "x", "kind": "gopher"})),
            [
                "monitors[0].kind: 'gopher' is not a kind; use http, tcp, ping, dns, tls, push or whop"
            ]
        );
    }

    #[test]
    fn text_with_a_nul_character_is_refused() {
        let problems = problems_of(json!({
            "name": "a\0b", "kind": "http", "url": "https://example.com/", "tags": ["x\0"],
            "json_path": {"path": "$.a", "value": {"k": ["\0"]}}
        }));
        for field in [
            "monitors[0].name",
            "monitors[0].tags[0]",
            "monitors[0].json_path.value",
        ] {
            assert!(
                problems
                    .iter()
                    .any(|p| p.starts_with(field) && p.contains("NUL")),
                "{field} in {problems:?}"
            );
        }
    }

    #[test]
    fn a_timeout_longer_than_the_interval_is_refused() {
        let problems = problems_of(
            json!({"name": "x", "kind": "tcp", "host": "h", "port": 1, "interval": "5s", "timeout": "10s"}),
        );
        assert!(
            problems[0].contains("timeout: must not be longer than the interval"),
            "{problems:?}"
        );
    }
}
