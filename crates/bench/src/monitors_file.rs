//! The monitors a run loads, the way users load them: a monitors file for `watchtower serve
//! --config`, the same file through `PUT /api/monitors/yaml`, or one JSON body per monitor for
//! `POST /api/monitors`. One keyed monitor per farm target (each with its own `/m/<index>` path),
//! or push monitors with known tokens.

use crate::farm::{Target, TargetKind};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

const HEADER: &str = "# Written by watchtower-bench.\nprune: false\nmonitors:\n";

/// How every checked monitor is configured.
#[derive(Debug, Clone, Copy)]
pub struct CheckSettings {
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: u32,
}

fn seconds(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// The fields of monitor `index` checking `target`, in file order.
fn check_fields(
    index: usize,
    target: Target,
    settings: CheckSettings,
) -> Vec<(&'static str, Value)> {
    let mut fields = vec![
        ("key", json!(format!("bench-{index}"))),
        ("name", json!(format!("bench {index}"))),
    ];
    match target.kind {
        TargetKind::Http => {
            fields.push(("kind", json!("http")));
            fields.push((
                "url",
                json!(format!("http://{}/m/{index}", target.endpoint)),
            ));
        }
        TargetKind::Https => {
            fields.push(("kind", json!("http")));
            fields.push((
                "url",
                json!(format!("https://{}/m/{index}", target.endpoint)),
            ));
            fields.push(("verify_tls", json!(false)));
        }
        TargetKind::Tcp => {
            fields.push(("kind", json!("tcp")));
            fields.push(("host", json!(target.endpoint.ip().to_string())));
            fields.push(("port", json!(target.endpoint.port())));
        }
    }
    fields.push(("interval", json!(seconds(settings.interval))));
    fields.push(("timeout", json!(seconds(settings.timeout))));
    fields.push(("retries", json!(settings.retries)));
    fields
}

/// Monitor `index` as an entry of the file's `monitors` list (plain scalars need no quoting).
fn check_entry(index: usize, target: Target, settings: CheckSettings) -> String {
    let mut entry = String::with_capacity(160);
    for (n, (name, value)) in check_fields(index, target, settings)
        .into_iter()
        .enumerate()
    {
        let dash = if n == 0 { "  - " } else { "    " };
        let _ = match value {
            Value::String(text) => writeln!(entry, "{dash}{name}: {text}"),
            other => writeln!(entry, "{dash}{name}: {other}"),
        };
    }
    entry
}

/// Writes one monitor per target; monitor `i` checks `targets[i]`.
pub fn write_checks(
    path: &Path,
    targets: &[Target],
    settings: CheckSettings,
) -> anyhow::Result<()> {
    let mut text = String::with_capacity(targets.len() * 160 + HEADER.len());
    text.push_str(HEADER);
    for (index, &target) in targets.iter().enumerate() {
        text.push_str(&check_entry(index, target, settings));
    }
    std::fs::write(path, text)?;
    Ok(())
}

/// Monitors `indexes` (monitor `i` checks `targets[i]`) as monitors files of at most `max_bytes`
/// each: the API takes request bodies up to 1 MiB, so 10,000 monitors need two.
pub fn check_documents(
    targets: &[Target],
    indexes: Range<usize>,
    settings: CheckSettings,
    max_bytes: usize,
) -> Vec<String> {
    let mut documents = Vec::new();
    let mut text = String::from(HEADER);
    for index in indexes {
        let entry = check_entry(index, targets[index], settings);
        if text.len() + entry.len() > max_bytes && text.len() > HEADER.len() {
            documents.push(std::mem::replace(&mut text, String::from(HEADER)));
        }
        text.push_str(&entry);
    }
    if text.len() > HEADER.len() {
        documents.push(text);
    }
    documents
}

/// Monitor `index` as the JSON body of `POST /api/monitors`.
pub fn check_json(index: usize, target: Target, settings: CheckSettings) -> Value {
    let fields = check_fields(index, target, settings)
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value));
    Value::Object(fields.collect())
}

/// The token of push monitor `index` (16 to 128 characters, as watchtower requires).
pub fn push_token(index: usize) -> String {
    format!("bench-push-token-{index:08}")
}

/// Writes `count` push monitors that expect a ping every `period` (grace the same), so none goes
/// DOWN during a short run.
pub fn write_push(path: &Path, count: usize, period: Duration) -> anyhow::Result<()> {
    let mut text = String::with_capacity(count * 120 + HEADER.len());
    text.push_str(HEADER);
    for index in 0..count {
        let _ = writeln!(
            text,
            "  - key: push-{index}\n    name: push {index}\n    kind: push\n    token: {}\n    period: {}\n    grace: {}",
            push_token(index),
            seconds(period),
            seconds(period)
        );
    }
    std::fs::write(path, text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_written_as_watchtower_reads_them() {
        assert_eq!(seconds(Duration::from_secs(10)), "10s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1500ms");
        assert!(push_token(7).len() >= 16);
    }

    fn http_target(port: u16) -> Target {
        Target {
            kind: TargetKind::Http,
            endpoint: std::net::SocketAddr::from(([127, 0, 0, 2], port)),
        }
    }

    const SETTINGS: CheckSettings = CheckSettings {
        interval: Duration::from_secs(10),
        timeout: Duration::from_secs(5),
        retries: 0,
    };

    #[test]
    fn entries_are_the_monitors_file_users_write() {
        assert_eq!(
            check_entry(3, http_target(20000), SETTINGS),
            "  - key: bench-3\n    name: bench 3\n    kind: http\n    \
             url: http://127.0.0.2:20000/m/3\n    interval: 10s\n    timeout: 5s\n    retries: 0\n"
        );
    }

    #[test]
    fn documents_stay_under_the_body_limit_and_parse_to_every_monitor() {
        let targets: Vec<Target> = (0..1000).map(|i| http_target(20000 + i % 4)).collect();
        let documents = check_documents(&targets, 10..1000, SETTINGS, 40_000);
        assert!(documents.len() > 1);
        let mut keys = Vec::new();
        for document in &documents {
            assert!(document.len() <= 40_000);
            let file = watchtower_core::monitors_file::parse(document).expect("a valid file");
            assert!(!file.prune);
            keys.extend(file.monitors.into_iter().filter_map(|m| m.key));
        }
        assert_eq!(keys.len(), 990);
        assert_eq!(keys[0].to_string(), "bench-10");
    }

    #[test]
    fn json_bodies_are_the_same_monitor() {
        let body = check_json(3, http_target(20000), SETTINGS);
        let spec = watchtower_core::MonitorSpec::parse(&body, "").expect("a valid monitor");
        let file = watchtower_core::monitors_file::parse(&format!(
            "{HEADER}{}",
            check_entry(3, http_target(20000), SETTINGS)
        ))
        .expect("a valid file");
        assert_eq!(spec, file.monitors[0]);
    }
}
