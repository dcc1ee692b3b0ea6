//! Maintenance windows: cron expressions and time zones. The input is either a JSON window (it
//! starts with `{`) or four lines, `cron`, `timezone`, `duration` and an instant in epoch
//! milliseconds, made into a recurring window. A window that parses survives serde (how it is
//! stored) and answers `open_until` for instants from 1970 to 2200 without panicking; an open
//! window ends after the instant asked about.

use serde_json::{Value, json};
use watchtower_core::maintenance::MaintenanceSpec;
use watchtower_core::{MonitorId, Timestamp};

/// 2200-01-01T00:00:00Z: instants are taken modulo this, so every one is a real date.
const LATEST_MILLIS: i64 = 7_258_118_400_000;

pub fn run(data: &[u8]) {
    let Some(text) = crate::text(data) else {
        return;
    };
    let (value, at) = if text.starts_with('{') {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return;
        };
        (value, 1_796_000_000_000)
    } else {
        let mut lines = text.lines();
        let mut next = || lines.next().unwrap_or_default().to_owned();
        let (cron, timezone, duration, at) = (next(), next(), next(), next());
        let at = at.trim().parse::<i64>().unwrap_or(1_796_000_000_000);
        (
            json!({"name": "fuzz", "cron": cron, "timezone": timezone, "duration": duration}),
            at,
        )
    };
    let Ok(window) = MaintenanceSpec::parse(&value, "") else {
        return;
    };
    let stored = serde_json::to_value(&window).expect("a window serializes");
    let decoded: MaintenanceSpec = serde_json::from_value(stored.clone())
        .unwrap_or_else(|error| panic!("a stored window does not decode: {error}\n{stored}"));
    assert_eq!(decoded, window, "serde changed the window: {stored}");

    let at = Timestamp(at.rem_euclid(LATEST_MILLIS));
    if let Some(ends) = window.open_until(at) {
        assert!(
            ends > at,
            "a window open at {at} must end after it, not at {ends}"
        );
    }
    let _ = window.applies_to(MonitorId(1), &["fuzz".to_owned()]);
}
