//! An ops alert worded as a `Notification`, so every channel renders it with the same code and
//! formats as a monitor alert: DOWN for the alert, UP for the recovery, the instance as the target,
//! and the cause naming the signal, the measured value, the threshold and the window.

use super::{OpsEvent, OpsEventKind, Signal, Unit};
use crate::notification::{Notification, NotificationEvent};
use watchtower_core::{HumanDuration, MonitorState, TeamId};

/// What an ops notification in the outbox holds (its `details`): the event and the instance
/// that decided it. The dispatcher words it with [`notification`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OpsNotice {
    pub event: OpsEvent,
    pub instance: String,
}

/// The notification announcing `event` of the instance called `instance`. Its idempotency key,
/// `watchtower-ops-<instance>-<signal>-<episode start>-<alert|recovery>`, is the same on every
/// retry of one message.
pub fn notification(event: &OpsEvent, instance: &str) -> Notification {
    let (kind, state, previous) = match event.kind {
        OpsEventKind::Alert => (
            NotificationEvent::Down,
            MonitorState::Down,
            MonitorState::Up,
        ),
        OpsEventKind::Recovery => (NotificationEvent::Up, MonitorState::Up, MonitorState::Down),
    };
    let key_part = match event.kind {
        OpsEventKind::Alert => "alert",
        OpsEventKind::Recovery => "recovery",
    };
    Notification {
        idempotency_key: format!(
            "watchtower-ops-{}-{}-{}-{key_part}",
            key_safe(instance),
            event.signal.name(),
            event.since.as_millis()
        ),
        event: kind,
        team_id: TeamId::DEFAULT,
        monitor_id: None,
        monitor_name: format!("WatchTower {instance}: {}", event.signal.label()),
        target: Some(instance.to_owned()),
        state,
        previous_state: Some(previous),
        cause: describe(event),
        since: match event.kind {
            OpsEventKind::Alert => event.since,
            OpsEventKind::Recovery => event.at,
        },
        at: event.at,
        down_since: match event.kind {
            OpsEventKind::Alert => None,
            OpsEventKind::Recovery => Some(event.since),
        },
        certificate_expires_at: None,
        certificate: None,
        custom_title: None,
        custom_message: None,
        ops_signal: Some(event.signal.name().to_owned()),
        incident_id: None,
        incident_key: Some(format!(
            "watchtower-ops-{}-{}-{}",
            key_safe(instance),
            event.signal.name(),
            event.since.as_millis()
        )),
        incident_url: None,
        acknowledge_url: None,
    }
}

/// What happened in one sentence (the message's cause, and the log line):
/// `API error rate 15% (30 of 200 /api requests answered 5xx) over the last 5m; the alert is
/// above 5% over 5m`.
pub fn describe(event: &OpsEvent) -> String {
    let signal = event.signal;
    let window = HumanDuration(event.threshold.window);
    let limit = signal.format_limit(event.threshold.limit);
    let value = format_value(signal, event.value);
    let (rule, measured) = if signal.holds_for_window() {
        (
            format!("the alert is above {limit} held for {window}"),
            format!("{value} ({})", event.detail),
        )
    } else if event.threshold.window.is_zero() {
        (
            format!("the alert is above {limit}"),
            format!("{value} ({})", event.detail),
        )
    } else {
        (
            format!("the alert is above {limit} over {window}"),
            format!("{value} ({}) over the last {window}", event.detail),
        )
    };
    match event.kind {
        OpsEventKind::Alert => format!("{} {measured}; {rule}", signal.label()),
        OpsEventKind::Recovery => format!("{} back to {measured}; {rule}", signal.label()),
    }
}

/// A reading in the threshold's unit, as people read it: `15%`, `2.25 s`, `12`.
pub(crate) fn format_value(signal: Signal, value: Option<f64>) -> String {
    let Some(value) = value else {
        return "no data".into();
    };
    match signal.unit() {
        Unit::Share => format!("{}%", super::round((value * 1000.0).round() / 10.0)),
        Unit::Seconds => format!("{} s", super::round((value * 100.0).round() / 100.0)),
        Unit::Count => format!("{value:.0}"),
        Unit::Periods => format!(
            "{} backup periods",
            super::round((value * 10.0).round() / 10.0)
        ),
    }
}

/// Header-safe: letters, digits, `.`, `_` and `-`.
fn key_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render;
    use std::time::Duration;
    use watchtower_core::Timestamp;

    fn event(kind: OpsEventKind, signal: Signal, value: f64, detail: &str) -> OpsEvent {
        let window = match signal {
            Signal::Memory => 600,
            _ => 300,
        };
        OpsEvent {
            kind,
            signal,
            value: Some(value),
            detail: detail.into(),
            threshold: crate::ops::OpsConfig::default().threshold(signal),
            since: Timestamp(1_700_000_000_000),
            at: Timestamp(1_700_000_000_000).plus(Duration::from_secs(window)),
        }
    }

    #[test]
    fn an_alert_names_the_signal_value_threshold_and_window() {
        let alert = event(
            OpsEventKind::Alert,
            Signal::ApiErrorRate,
            0.15,
            "30 of 200 /api requests answered 5xx",
        );
        let n = notification(&alert, "web-1:8080");
        assert_eq!(
            n.cause,
            "API error rate 15% (30 of 200 /api requests answered 5xx) over the last 5m; \
             the alert is above 5% over 5m"
        );
        assert_eq!(n.event, NotificationEvent::Down);
        assert_eq!(
            n.idempotency_key,
            "watchtower-ops-web-1-8080-error_rate-1700000000000-alert"
        );
        assert_eq!(
            render::title(&n),
            "[DOWN] WatchTower web-1:8080: API error rate"
        );
    }

    #[test]
    fn a_recovery_says_how_long_the_episode_lasted() {
        let recovery = event(
            OpsEventKind::Recovery,
            Signal::Memory,
            0.5,
            "resident 512 MiB of a 1.0 GiB limit",
        );
        let n = notification(&recovery, "web-1");
        assert_eq!(
            n.cause,
            "Memory use back to 50% (resident 512 MiB of a 1.0 GiB limit); \
             the alert is above 80% held for 10m"
        );
        assert_eq!(
            render::title(&n),
            "[UP] WatchTower web-1: Memory use — down for 10m"
        );
        assert!(
            n.idempotency_key
                .ends_with("-memory-1700000000000-recovery")
        );
        assert_eq!(
            n.incident_key,
            notification(
                &event(OpsEventKind::Alert, Signal::Memory, 0.9, ""),
                "web-1"
            )
            .incident_key
        );
    }

    #[test]
    fn a_level_without_a_window_says_only_its_limit() {
        let hour = Duration::from_secs(3600);
        let stale = OpsEvent {
            kind: OpsEventKind::Alert,
            signal: Signal::BackupStale,
            value: Some(2.25),
            detail: "the last good backup is 2h 15m old, one due every 1h".into(),
            threshold: crate::ops::OpsConfig::default().backup_stale,
            since: Timestamp(1_700_000_000_000),
            at: Timestamp(1_700_000_000_000).plus(hour),
        };
        assert_eq!(
            describe(&stale),
            "Last good backup 2.3 backup periods (the last good backup is 2h 15m old, one due \
             every 1h); the alert is above 2 backup periods"
        );
        let notice = OpsNotice {
            event: stale,
            instance: "web-1".into(),
        };
        let stored = serde_json::to_value(&notice).unwrap();
        assert_eq!(stored["event"]["signal"], "backup_stale");
        assert_eq!(
            serde_json::from_value::<OpsNotice>(stored).unwrap(),
            notice,
            "the outbox's details read back as written"
        );
    }

    #[test]
    fn values_read_in_their_units() {
        assert_eq!(format_value(Signal::ApiResponseTime, Some(2.256)), "2.26 s");
        assert_eq!(format_value(Signal::Memory, Some(0.8234)), "82.3%");
        assert_eq!(format_value(Signal::FailedLogins, Some(13.0)), "13");
        assert_eq!(format_value(Signal::ApiErrorRate, None), "no data");
    }
}
