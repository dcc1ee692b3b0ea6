//! Settings of an HTTP(S) monitor and the assertions made on its response.

use super::fields::Fields;
use super::json_path::JsonPathQuery;
use crate::duration::HumanDuration;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::collections::BTreeMap;

/// What an HTTP monitor requests and what it expects back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HttpSettings {
    #[schema(value_type = String, format = "uri")]
    pub url: url::Url,
    pub method: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<HttpAuth>,
    pub follow_redirects: bool,
    pub max_redirects: u32,
    /// Status codes and ranges such as `200-299` or `204`.
    #[schema(value_type = Vec<String>)]
    pub accepted_status: Vec<StatusRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword: Option<KeywordRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<RegexRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_path: Option<JsonPathRule>,
    /// A response slower than this marks the check DEGRADED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degraded_after: Option<HumanDuration>,
    pub verify_tls: bool,
    /// A certificate expiring within this many days marks the check DEGRADED.
    pub cert_expiry_warn_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HttpAuth {
    Basic { username: String, password: String },
    Bearer(String),
}

/// An inclusive range of accepted status codes, written `200-299` or `204`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRange {
    pub low: u16,
    pub high: u16,
}

impl StatusRange {
    pub const SUCCESS: StatusRange = StatusRange {
        low: 200,
        high: 299,
    };

    pub fn parse(text: &str) -> Result<Self, String> {
        let code = |part: &str| -> Result<u16, String> {
            part.trim()
                .parse::<u16>()
                .ok()
                .filter(|code| (100..=599).contains(code))
                .ok_or_else(|| {
                    format!("'{text}' is not a status code from 100 to 599 or a range like 200-299")
                })
        };
        let range = match text.split_once('-') {
            Some((low, high)) => StatusRange {
                low: code(low)?,
                high: code(high)?,
            },
            None => {
                let single = code(text)?;
                StatusRange {
                    low: single,
                    high: single,
                }
            }
        };
        if range.low > range.high {
            return Err(format!("'{text}' is an empty range"));
        }
        Ok(range)
    }

    pub fn contains(self, status: u16) -> bool {
        (self.low..=self.high).contains(&status)
    }
}

impl std::fmt::Display for StatusRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.low == self.high {
            write!(f, "{}", self.low)
        } else {
            write!(f, "{}-{}", self.low, self.high)
        }
    }
}

impl Serialize for StatusRange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StatusRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        StatusRange::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// Text that must (or must not) appear in the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeywordRule {
    pub text: String,
    /// `true`: the text must be present; `false`: it must be absent.
    pub present: bool,
    pub case_sensitive: bool,
}

/// A regular expression the body must match, compiled once when the monitor is read.
#[derive(Debug, Clone, utoipa::ToSchema)]
#[schema(value_type = String)]
pub struct RegexRule(pub regex::Regex);

impl PartialEq for RegexRule {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Serialize for RegexRule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for RegexRule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let pattern = String::deserialize(deserializer)?;
        regex::Regex::new(&pattern)
            .map(RegexRule)
            .map_err(serde::de::Error::custom)
    }
}

/// How a JSONPath result is compared with the expected value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Comparison {
    #[serde(rename = "exists")]
    Exists,
    #[serde(rename = "==")]
    Equals,
    #[serde(rename = "!=")]
    NotEquals,
    #[serde(rename = "<")]
    Less,
    #[serde(rename = "<=")]
    LessOrEqual,
    #[serde(rename = ">")]
    Greater,
    #[serde(rename = ">=")]
    GreaterOrEqual,
    #[serde(rename = "contains")]
    Contains,
}

impl Comparison {
    fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(Value::String(text.to_owned())).ok()
    }
}

/// An RFC 9535 JSONPath query on the body and the comparison its first match must pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JsonPathRule {
    #[schema(value_type = String)]
    pub path: JsonPathQuery,
    pub op: Comparison,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

pub(crate) fn parse_http(fields: &mut Fields<'_>) -> Option<HttpSettings> {
    let url = fields
        .required_string("url")
        .and_then(|raw| match url::Url::parse(&raw) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                Some(url)
            }
            Ok(_) => {
                fields.problem("url", "must be an http:// or https:// URL with a host");
                None
            }
            Err(error) => {
                fields.problem("url", format!("is not a URL: {error}"));
                None
            }
        });
    let method = fields
        .string("method")
        .unwrap_or_else(|| "GET".into())
        .to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        fields.problem("method", format!("must be one of {}", METHODS.join(", ")));
    }
    let headers = parse_headers(fields);
    let body = fields.string("body");
    let auth = parse_auth(fields);
    let follow_redirects = fields.bool("follow_redirects", true);
    let max_redirects = fields.number("max_redirects", 10, 0, 30) as u32;
    let accepted_status = match fields.string_list("accepted_status") {
        list if list.is_empty() => vec![StatusRange::SUCCESS],
        list => list
            .iter()
            .enumerate()
            .filter_map(|(index, text)| {
                StatusRange::parse(text)
                    .map_err(|problem| {
                        fields.problem(&format!("accepted_status[{index}]"), problem);
                    })
                    .ok()
            })
            .collect(),
    };
    let keyword = parse_keyword(fields);
    let regex = fields.string("regex").and_then(|pattern| {
        match regex::RegexBuilder::new(&pattern)
            .size_limit(1 << 20)
            .build()
        {
            Ok(compiled) => Some(RegexRule(compiled)),
            Err(error) => {
                fields.problem(
                    "regex",
                    format!("is not a valid regular expression: {error}"),
                );
                None
            }
        }
    });
    let json_path = fields.nested("json_path", parse_json_path);
    let degraded_after = fields.duration("degraded_after");
    let verify_tls = fields.bool("verify_tls", true);
    let cert_expiry_warn_days = fields.number("cert_expiry_warn_days", 14, 0, 365) as u32;
    Some(HttpSettings {
        url: url?,
        method,
        headers,
        body,
        auth,
        follow_redirects,
        max_redirects,
        accepted_status,
        keyword,
        regex,
        json_path,
        degraded_after,
        verify_tls,
        cert_expiry_warn_days,
    })
}

fn parse_headers(fields: &mut Fields<'_>) -> BTreeMap<String, String> {
    let mut headers = BTreeMap::new();
    let Some(map) = fields.object("headers") else {
        return headers;
    };
    for (name, value) in map {
        let place = format!("headers.{name}");
        let Some(value) = value.as_str() else {
            fields.problem(&place, "must be text");
            continue;
        };
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            fields.problem(&place, "is not a valid header name");
        } else if http::HeaderValue::from_str(value).is_err() {
            fields.problem(&place, "is not a valid header value");
        } else {
            headers.insert(name.clone(), value.to_owned());
        }
    }
    headers
}

fn parse_auth(fields: &mut Fields<'_>) -> Option<HttpAuth> {
    fields.nested("auth", |auth| {
        let basic = auth.nested("basic", |basic| {
            Some(HttpAuth::Basic {
                username: basic.required_string("username")?,
                password: basic.string("password").unwrap_or_default(),
            })
        });
        let bearer = auth.string("bearer").map(HttpAuth::Bearer);
        match (basic, bearer) {
            (Some(_), Some(_)) => {
                auth.problem("", "give either basic or bearer, not both");
                None
            }
            (basic, bearer) => basic.or(bearer),
        }
    })
}

fn parse_keyword(fields: &mut Fields<'_>) -> Option<KeywordRule> {
    match fields.raw("keyword")? {
        Value::String(text) if !text.is_empty() => Some(KeywordRule {
            text: text.clone(),
            present: true,
            case_sensitive: true,
        }),
        Value::Object(_) => fields.nested("keyword", |keyword| {
            Some(KeywordRule {
                text: keyword.required_string("text")?,
                present: keyword.bool("present", true),
                case_sensitive: keyword.bool("case_sensitive", true),
            })
        }),
        _ => {
            fields.problem(
                "keyword",
                "must be text or a mapping with text, present and case_sensitive",
            );
            None
        }
    }
}

fn parse_json_path(rule: &mut Fields<'_>) -> Option<JsonPathRule> {
    let path = rule.required_string("path").and_then(|text| {
        JsonPathQuery::parse(&text)
            .map_err(|problem| rule.problem("path", problem))
            .ok()
    });
    let value = rule.raw("value").cloned();
    if value.as_ref().is_some_and(super::fields::holds_nul) {
        rule.problem("value", super::fields::NUL_PROBLEM);
    }
    let op = match rule.string("op") {
        None if value.is_some() => Comparison::Equals,
        None => Comparison::Exists,
        Some(text) => Comparison::parse(&text).unwrap_or_else(|| {
            rule.problem(
                "op",
                "must be one of exists, ==, !=, <, <=, >, >=, contains",
            );
            Comparison::Exists
        }),
    };
    if op != Comparison::Exists && value.is_none() {
        rule.problem("value", "is required for this comparison");
    }
    if matches!(
        op,
        Comparison::Less
            | Comparison::LessOrEqual
            | Comparison::Greater
            | Comparison::GreaterOrEqual
    ) && !value.as_ref().is_some_and(Value::is_number)
    {
        rule.problem("value", "must be a number for an ordering comparison");
    }
    Some(JsonPathRule {
        path: path?,
        op,
        value,
    })
}
