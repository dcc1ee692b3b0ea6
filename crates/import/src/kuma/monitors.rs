//! Kuma monitors as WatchTower monitor specs: each row becomes the JSON the API takes, which
//! `MonitorSpec::parse` then judges exactly as it judges a typed one.

use super::read::{CellProblem, Row};
use serde_json::{Map, Value, json};

/// The key an imported monitor gets: how a second import finds it again.
pub fn key_of(kuma_id: i64) -> String {
    format!("kuma-{kuma_id}")
}

/// A monitor's JSON for `MonitorSpec::parse`, with what was adjusted on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorDraft {
    pub value: Value,
    pub notes: Vec<String>,
    /// Whether Kuma warns before its TLS certificate expires (HTTPS monitors).
    pub watches_certificate: bool,
}

/// Why a monitor is not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmapped {
    /// Kuma has it, WatchTower does not.
    Unsupported(String),
    /// The row holds a value that is not what its column should.
    Malformed(CellProblem),
}

impl From<CellProblem> for Unmapped {
    fn from(problem: CellProblem) -> Self {
        Unmapped::Malformed(problem)
    }
}

fn unsupported(reason: impl Into<String>) -> Unmapped {
    Unmapped::Unsupported(reason.into())
}

/// WatchTower's ceiling on retries.
const MAX_RETRIES: i64 = 10;
/// WatchTower's ceiling on a check's timeout, in seconds.
const MAX_TIMEOUT_SECONDS: f64 = 300.0;

/// Maps one `monitor` row; `tags` are its tags already in WatchTower's spelling.
pub fn draft(row: &Row, tags: &[String], certificate_days: u32) -> Result<MonitorDraft, Unmapped> {
    let id = row.id()?;
    let kind = row.text("type")?.unwrap_or("http");
    let mut notes = Vec::new();
    let mut value = Map::new();
    value.insert("key".into(), json!(key_of(id)));
    value.insert(
        "name".into(),
        json!(row.text("name")?.unwrap_or("Unnamed monitor")),
    );
    let interval = row.int("interval")?.unwrap_or(60);
    value.insert("interval".into(), json!(format!("{interval}s")));
    if let Some(timeout) = row.real("timeout")?.filter(|t| *t > 0.0) {
        // Kuma's default is 80% of the interval, and it lets a timeout exceed five minutes.
        let capped = timeout.min(MAX_TIMEOUT_SECONDS).min(interval.max(1) as f64);
        if capped < timeout {
            notes.push(format!(
                "its timeout of {timeout}s became {capped}s (WatchTower's longest is 5m, and \
                 never longer than the interval)"
            ));
        }
        value.insert(
            "timeout".into(),
            json!(format!("{}ms", (capped * 1000.0).round() as i64)),
        );
    }
    let retries = row.int("maxretries")?.unwrap_or(0);
    if retries > MAX_RETRIES {
        notes.push(format!(
            "its {retries} retries became {MAX_RETRIES}, WatchTower's most"
        ));
    }
    value.insert("retries".into(), json!(retries.clamp(0, MAX_RETRIES)));
    if let Some(retry_interval) = row.int("retry_interval")?.filter(|s| *s > 0) {
        value.insert("retry_interval".into(), json!(format!("{retry_interval}s")));
    }
    let active = row.flag("active")?.unwrap_or(true);
    value.insert("paused".into(), json!(!active));
    if !tags.is_empty() {
        value.insert("tags".into(), json!(tags));
    }
    if row.flag("upside_down")?.unwrap_or(false) {
        return Err(unsupported(
            "it is in upside-down mode (UP when the check fails); WatchTower has no such mode",
        ));
    }
    let mut watches_certificate = false;
    match kind {
        "http" | "keyword" | "json-query" => {
            watches_certificate = http(row, kind, &mut value, &mut notes, certificate_days)?;
        }
        "port" => {
            value.insert("kind".into(), json!("tcp"));
            value.insert("host".into(), json!(row.text("hostname")?));
            value.insert("port".into(), json!(row.int("port")?));
        }
        "ping" => {
            value.insert("kind".into(), json!("ping"));
            value.insert("host".into(), json!(row.text("hostname")?));
        }
        "dns" => dns(row, &mut value, &mut notes)?,
        "push" => {
            value.insert("kind".into(), json!("push"));
            value.insert("period".into(), json!(format!("{interval}s")));
            value.remove("timeout");
            match row.text("push_token")? {
                Some(token) if push_token_fits(token) => {
                    value.insert("token".into(), json!(token));
                }
                Some(_) => notes.push(
                    "its push token is not 16 to 128 letters, digits, '-' or '_'; WatchTower \
                     made a new one: point the job at the new push URL"
                        .into(),
                ),
                None => notes.push("it had no push token; WatchTower made one".into()),
            }
        }
        "group" => {
            return Err(unsupported(
                "WatchTower has no group monitors; the monitors in the group are imported on \
                 their own",
            ));
        }
        other => {
            return Err(unsupported(format!(
                "WatchTower has no '{other}' probe (it checks http, keyword, json-query, port, \
                 ping, dns and push monitors from Kuma)"
            )));
        }
    }
    if row.int("proxy_id")?.is_some() {
        notes.push(
            "it went through a Kuma proxy; WatchTower uses serve --outbound-proxy for all \
             checks"
                .into(),
        );
    }
    Ok(MonitorDraft {
        value: Value::Object(value),
        notes,
        watches_certificate,
    })
}

fn push_token_fits(token: &str) -> bool {
    (16..=128).contains(&token.len())
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// HTTP, keyword and JSON query monitors; true when Kuma warned about the certificate.
fn http(
    row: &Row,
    kind: &str,
    value: &mut Map<String, Value>,
    notes: &mut Vec<String>,
    certificate_days: u32,
) -> Result<bool, Unmapped> {
    value.insert("kind".into(), json!("http"));
    let url = row.text("url")?.unwrap_or_default();
    value.insert("url".into(), json!(url));
    if let Some(method) = row.text("method")? {
        value.insert("method".into(), json!(method));
    }
    let mut headers = match row.text("headers")? {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            Ok(Value::Null) => Map::new(),
            _ => return Err(unsupported("its headers are not a JSON object")),
        },
    };
    if let Some(body) = row.text("body")? {
        value.insert("body".into(), json!(body));
        // Kuma sends a JSON body (its default encoding) as application/json.
        let encoding = row.text("http_body_encoding")?.unwrap_or("json");
        let has_type = headers
            .keys()
            .any(|h| h.eq_ignore_ascii_case("content-type"));
        let content_type = match encoding {
            "json" => Some("application/json"),
            "xml" => Some("text/xml; charset=utf-8"),
            "form" => Some("application/x-www-form-urlencoded"),
            _ => None,
        };
        if let (Some(content_type), false) = (content_type, has_type) {
            headers.insert("Content-Type".into(), json!(content_type));
        }
    }
    if !headers.is_empty() {
        value.insert("headers".into(), Value::Object(headers));
    }
    match row.text("auth_method")? {
        None | Some("basic") => {
            if let Some(username) = row.text("basic_auth_user")? {
                let password = row.text("basic_auth_pass")?.unwrap_or_default();
                value.insert(
                    "auth".into(),
                    json!({"basic": {"username": username, "password": password}}),
                );
            }
        }
        Some(other) => {
            return Err(unsupported(format!(
                "it authenticates with '{other}'; WatchTower sends basic or bearer credentials only"
            )));
        }
    }
    if let Some(token) = row.text("bearer_token")? {
        if value.contains_key("auth") {
            return Err(unsupported(
                "it sends both basic credentials and a bearer token",
            ));
        }
        value.insert("auth".into(), json!({"bearer": token}));
    }
    if row.text("tls_cert")?.is_some() || row.text("tls_key")?.is_some() {
        return Err(unsupported(
            "it presents a client certificate; WatchTower's HTTP probe does not",
        ));
    }
    if let Some(codes) = row.text("accepted_statuscodes_json")? {
        match serde_json::from_str::<Value>(codes) {
            Ok(Value::Array(list)) if list.iter().all(Value::is_string) => {
                if !list.is_empty() {
                    value.insert("accepted_status".into(), Value::Array(list));
                }
            }
            _ => {
                return Err(unsupported(
                    "its accepted status codes are not a JSON list of text",
                ));
            }
        }
    }
    if row.flag("ignore_tls")?.unwrap_or(false) {
        value.insert("verify_tls".into(), json!(false));
    }
    match row.int("maxredirects")? {
        Some(0) => {
            value.insert("follow_redirects".into(), json!(false));
        }
        Some(count) => {
            if count > 30 {
                notes.push(format!(
                    "it followed up to {count} redirects; WatchTower follows at most 30"
                ));
            }
            value.insert("max_redirects".into(), json!(count.clamp(1, 30)));
        }
        None => {}
    }
    if kind == "keyword" {
        let text = row.text("keyword")?.unwrap_or_default();
        let inverted = row.flag("invert_keyword")?.unwrap_or(false);
        value.insert(
            "keyword".into(),
            json!({"text": text, "present": !inverted, "case_sensitive": true}),
        );
    }
    if kind == "json-query" {
        json_query(row, value, notes)?;
    }
    let https = url.to_ascii_lowercase().starts_with("https://");
    let watches = https && row.flag("expiry_notification")?.unwrap_or(false);
    if watches {
        value.insert("cert_expiry_warn_days".into(), json!(certificate_days));
    }
    Ok(watches)
}

/// Kuma's JSON query is a JSONata expression; a plain path (`data.status`, `items[0].name`)
/// becomes the same JSONPath, anything else cannot be carried over.
fn json_query(
    row: &Row,
    value: &mut Map<String, Value>,
    notes: &mut Vec<String>,
) -> Result<(), Unmapped> {
    let expression = row.text("json_path")?.unwrap_or_default();
    let Some(path) = jsonata_path_to_jsonpath(expression) else {
        return Err(unsupported(format!(
            "its JSON query '{}' is a JSONata expression that is not a plain path; WatchTower \
             takes JSONPath",
            shorten(expression)
        )));
    };
    let op = match row.text("json_path_operator")? {
        None | Some("==") => "==",
        Some(op @ ("!=" | "<" | "<=" | ">" | ">=" | "contains")) => op,
        Some(other) => {
            return Err(unsupported(format!(
                "its JSON query compares with '{}', which WatchTower does not",
                shorten(other)
            )));
        }
    };
    let expected = row.text("expected_value")?.unwrap_or_default();
    // Kuma compares text; WatchTower compares JSON values, so a number or boolean is given as one.
    let expected_value = match serde_json::from_str::<Value>(expected) {
        Ok(parsed @ (Value::Number(_) | Value::Bool(_))) => {
            notes.push(format!(
                "its expected value {expected} is compared as a JSON {}",
                if parsed.is_number() {
                    "number"
                } else {
                    "boolean"
                }
            ));
            parsed
        }
        _ => json!(expected),
    };
    value.insert(
        "json_path".into(),
        json!({"path": path, "op": op, "value": expected_value}),
    );
    Ok(())
}

/// `a.b[0].c`, `$.a.b` or `$` as a JSONPath; `None` for any other JSONata.
pub fn jsonata_path_to_jsonpath(expression: &str) -> Option<String> {
    let expression = expression.trim();
    if expression.is_empty() {
        return None;
    }
    let rest = expression
        .strip_prefix("$.")
        .or_else(|| (expression == "$").then_some(""))
        .unwrap_or(expression);
    if rest.is_empty() {
        return Some("$".into());
    }
    let mut path = String::from("$");
    for step in rest.split('.') {
        let (name, indexes) = match step.find('[') {
            Some(at) => step.split_at(at),
            None => (step, ""),
        };
        let plain_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain_name {
            return None;
        }
        path.push('.');
        path.push_str(name);
        let mut indexes = indexes;
        while !indexes.is_empty() {
            let close = indexes.find(']')?;
            let index = &indexes[1..close];
            if index.is_empty() || index.len() > 9 || !index.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            path.push('[');
            path.push_str(index);
            path.push(']');
            indexes = &indexes[close + 1..];
            if !indexes.is_empty() && !indexes.starts_with('[') {
                return None;
            }
        }
    }
    Some(path)
}

fn dns(row: &Row, value: &mut Map<String, Value>, notes: &mut Vec<String>) -> Result<(), Unmapped> {
    value.insert("kind".into(), json!("dns"));
    value.insert("host".into(), json!(row.text("hostname")?));
    if let Some(record_type) = row.text("dns_resolve_type")? {
        value.insert("record_type".into(), json!(record_type));
    }
    if let Some(servers) = row.text("dns_resolve_server")? {
        let mut listed = servers.split(',').map(str::trim).filter(|s| !s.is_empty());
        if let Some(first) = listed.next() {
            let port = row
                .int("port")?
                .filter(|p| (1..=65535).contains(p))
                .unwrap_or(53);
            let resolver = match first.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
                _ => format!("{first}:{port}"),
            };
            value.insert("resolver".into(), json!(resolver));
        }
        if listed.next().is_some() {
            notes.push("it asked several resolvers; WatchTower asks the first".into());
        }
    }
    Ok(())
}

/// At most 60 characters of a value for a message.
pub fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::jsonata_path_to_jsonpath as convert;

    #[test]
    fn plain_jsonata_paths_become_jsonpath_and_the_rest_is_refused() {
        assert_eq!(convert("status").as_deref(), Some("$.status"));
        assert_eq!(
            convert("$.data.items[0].name").as_deref(),
            Some("$.data.items[0].name")
        );
        assert_eq!(convert("a[1][2]").as_deref(), Some("$.a[1][2]"));
        assert_eq!(convert("$").as_deref(), Some("$"));
        for refused in [
            "$count(items)",
            "a.b = 1",
            "a[",
            "a[x]",
            "a..b",
            "a[0]b",
            "",
            "1a",
        ] {
            assert_eq!(convert(refused), None, "{refused}");
        }
    }
}
