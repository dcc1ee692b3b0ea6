//! The monitors file a run loads through `watchtower serve --config`, the path users take: one
//! keyed monitor per farm target (each with its own `/m/<index>` path), or push monitors with
//! known tokens.

use crate::farm::{Target, TargetKind};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

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

/// Writes one monitor per target; monitor `i` checks `targets[i]`.
pub fn write_checks(
    path: &Path,
    targets: &[Target],
    settings: CheckSettings,
) -> anyhow::Result<()> {
    let mut text = String::with_capacity(targets.len() * 160 + 32);
    text.push_str("# Written by watchtower-bench.\nprune: false\nmonitors:\n");
    let common = format!(
        "    interval: {}\n    timeout: {}\n    retries: {}\n",
        seconds(settings.interval),
        seconds(settings.timeout),
        settings.retries
    );
    for (index, target) in targets.iter().enumerate() {
        let _ = writeln!(text, "  - key: bench-{index}\n    name: bench {index}");
        match target.kind {
            TargetKind::Http => {
                let _ = writeln!(
                    text,
                    "    kind: http\n    url: http://{}/m/{index}",
                    target.endpoint
                );
            }
            TargetKind::Https => {
                let _ = writeln!(
                    text,
                    "    kind: http\n    url: https://{}/m/{index}\n    verify_tls: false",
                    target.endpoint
                );
            }
            TargetKind::Tcp => {
                let _ = writeln!(
                    text,
                    "    kind: tcp\n    host: {}\n    port: {}",
                    target.endpoint.ip(),
                    target.endpoint.port()
                );
            }
        }
        text.push_str(&common);
    }
    std::fs::write(path, text)?;
    Ok(())
}

/// The token of push monitor `index` (16 to 128 characters, as watchtower requires).
pub fn push_token(index: usize) -> String {
    format!("bench-push-token-{index:08}")
}

/// Writes `count` push monitors that expect a ping every `period` (grace the same), so none goes
/// DOWN during a short run.
pub fn write_push(path: &Path, count: usize, period: Duration) -> anyhow::Result<()> {
    let mut text = String::with_capacity(count * 120 + 32);
    text.push_str("# Written by watchtower-bench.\nprune: false\nmonitors:\n");
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
}
