//! How the dashboard writes times, durations, percentages and states: one place, so every page
//! says them the same way.

use watchtower_core::{MonitorState, Timestamp};

/// `2026-12-06 15:04 UTC`; the page's script adds the reader's local time as a tooltip.
pub fn time(at: Timestamp) -> String {
    jiff::Timestamp::from_millisecond(at.0)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| "-".into())
}

/// The machine-readable form for `<time datetime>`.
pub fn iso(at: Timestamp) -> String {
    jiff::Timestamp::from_millisecond(at.0)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// `just now`, `5 min ago`, `3 h ago`, `2 days ago`.
pub fn ago(at: Timestamp, now: Timestamp) -> String {
    let seconds = (now.0 - at.0).max(0) / 1000;
    match seconds {
        0..=59 => "just now".into(),
        60..=3_599 => format!("{} min ago", seconds / 60),
        3_600..=172_799 => format!("{} h ago", seconds / 3_600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

/// `99.95 %`, or a dash without checks.
pub fn percent(ratio: Option<f64>) -> String {
    match ratio {
        Some(ratio) if ratio >= 0.99995 => "100 %".into(),
        Some(ratio) => format!("{:.2} %", ratio * 100.0),
        None => "-".into(),
    }
}

/// `123 ms`, `1.25 s`, or a dash.
pub fn millis(ms: Option<f64>) -> String {
    match ms {
        Some(ms) if ms >= 1000.0 => format!("{:.2} s", ms / 1000.0),
        Some(ms) if ms >= 10.0 => format!("{ms:.0} ms"),
        Some(ms) => format!("{ms:.1} ms"),
        None => "-".into(),
    }
}

/// A state's words and the class that gives it its colour and shape.
#[derive(Debug, Clone)]
pub struct StateBadge {
    pub label: &'static str,
    pub class: &'static str,
}

pub fn state(state: MonitorState) -> StateBadge {
    let (label, class) = match state {
        MonitorState::Pending => ("Pending", "pending"),
        MonitorState::Up => ("Up", "up"),
        MonitorState::Degraded => ("Degraded", "degraded"),
        MonitorState::Down => ("Down", "down"),
        MonitorState::Paused => ("Paused", "paused"),
        MonitorState::Maintenance => ("Maintenance", "maintenance"),
    };
    StateBadge { label, class }
}

pub fn maintenance() -> StateBadge {
    StateBadge {
        label: "Maintenance",
        class: "maintenance",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_well() {
        assert_eq!(time(Timestamp(1_767_225_600_000)), "2026-01-01 00:00 UTC");
        assert_eq!(iso(Timestamp(1_767_225_600_000)), "2026-01-01T00:00:00Z");
        assert_eq!(ago(Timestamp(0), Timestamp(30_000)), "just now");
        assert_eq!(ago(Timestamp(0), Timestamp(300_000)), "5 min ago");
        assert_eq!(ago(Timestamp(0), Timestamp(3 * 86_400_000)), "3 days ago");
        assert_eq!(percent(Some(0.99949)), "99.95 %");
        assert_eq!(percent(Some(1.0)), "100 %");
        assert_eq!(percent(None), "-");
        assert_eq!(millis(Some(1234.0)), "1.23 s");
        assert_eq!(millis(Some(42.4)), "42 ms");
        assert_eq!(millis(Some(4.25)), "4.2 ms");
    }
}
