//! Keyword, regex and JSONPath assertions against arbitrary bodies. The input is four parts
//! separated by newlines: a JSONPath, a regex, a keyword, then the body. Each rule goes through
//! `MonitorSpec::parse` (with its bounds, such as the regex size limit) and, when accepted, is
//! applied to the body as a check would.

use serde_json::{Value, json};
use watchtower_core::{MonitorKind, MonitorSpec};

pub fn run(data: &[u8]) {
    if data.len() > crate::MAX_INPUT_BYTES {
        return;
    }
    let mut parts = data.splitn(4, |&byte| byte == b'\n');
    let mut next_text = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let (path, pattern, keyword) = (next_text(), next_text(), next_text());
    let body = parts.next().unwrap_or_default();

    let rules = [
        ("json_path", json!({"path": path, "op": "exists"})),
        ("regex", json!(pattern)),
        ("keyword", json!(keyword)),
    ];
    for (field, rule) in rules {
        let Some(MonitorKind::Http(settings)) = http_spec(field, rule).map(|spec| spec.kind) else {
            continue;
        };
        let failures = watchtower_checks::fuzzing::body_assertions(&settings, body);
        assert!(failures.len() <= 1, "one rule, at most one failure");
    }
}

fn http_spec(field: &str, rule: Value) -> Option<MonitorSpec> {
    let mut spec = json!({"name": "fuzz", "kind": "http", "url": "http://127.0.0.1/"});
    spec[field] = rule;
    MonitorSpec::parse(&spec, "").ok()
}
