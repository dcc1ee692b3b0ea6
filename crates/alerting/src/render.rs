//! The default wording of a notification, shared by every channel: a one-line title, a summary
//! sentence, labelled facts and links. Pure functions; each channel only chooses the markup.

use crate::notification::{Notification, NotificationEvent};
use std::time::Duration;
use watchtower_core::Timestamp;

/// How alarming an event is; channels map it to a colour, a priority or a severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// DOWN and STILL DOWN.
    Critical,
    /// DEGRADED and an expiring certificate.
    Warning,
    /// Back UP.
    Good,
    /// A test.
    Info,
}

impl Tone {
    pub fn of(event: NotificationEvent) -> Self {
        match event {
            NotificationEvent::Down | NotificationEvent::Reminder | NotificationEvent::OpsAlert => {
                Tone::Critical
            }
            NotificationEvent::Degraded | NotificationEvent::CertificateExpiring => Tone::Warning,
            NotificationEvent::Up | NotificationEvent::OpsResolved => Tone::Good,
            NotificationEvent::Test => Tone::Info,
        }
    }

    /// An RGB colour (red, amber, green, blue) for chat embeds.
    pub fn color(self) -> u32 {
        match self {
            Tone::Critical => 0xD9_30_25,
            Tone::Warning => 0xF2_99_00,
            Tone::Good => 0x1E_8E_3E,
            Tone::Info => 0x1A_73_E8,
        }
    }
}

/// One labelled line of a message ("Cause: connection refused").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

/// A link into WatchTower that a message offers as a button where it can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub label: &'static str,
    pub url: String,
}

/// The subject line: the channel's template if it has one, else `default_title`.
pub fn title(n: &Notification) -> String {
    n.custom_title.clone().unwrap_or_else(|| default_title(n))
}

/// One sentence saying what happened: the channel's template if it has one, else
/// `default_summary`.
pub fn summary(n: &Notification) -> String {
    n.custom_message
        .clone()
        .unwrap_or_else(|| default_summary(n))
}

/// The default subject line: `[DOWN] Checkout API`, `[UP] Checkout API — down for 12m 30s`.
pub fn default_title(n: &Notification) -> String {
    let name = &n.monitor_name;
    match n.event {
        NotificationEvent::Down | NotificationEvent::OpsAlert => format!("[DOWN] {name}"),
        NotificationEvent::Up | NotificationEvent::OpsResolved => match outage(n) {
            Some(length) => format!("[UP] {name} — down for {}", duration(length)),
            None => format!("[UP] {name}"),
        },
        NotificationEvent::Degraded => format!("[DEGRADED] {name}"),
        NotificationEvent::CertificateExpiring => match n.certificate_expires_at {
            Some(expires) => format!("[CERTIFICATE] {name} {}", expiry(n.at, expires)),
            None => format!("[CERTIFICATE] {name} expires soon"),
        },
        NotificationEvent::Reminder => format!(
            "[STILL DOWN] {name} — down for {}",
            duration(n.at.since(n.since))
        ),
        NotificationEvent::Test => format!("[TEST] {name}"),
    }
}

/// The default sentence saying what happened, for channels that show a title and a short text.
pub fn default_summary(n: &Notification) -> String {
    let name = &n.monitor_name;
    let because = if n.cause.is_empty() {
        String::new()
    } else {
        format!(": {}", n.cause)
    };
    match n.event {
        NotificationEvent::Down | NotificationEvent::OpsAlert => format!("{name} is DOWN{because}"),
        NotificationEvent::Up | NotificationEvent::OpsResolved => match outage(n) {
            Some(length) => format!("{name} is UP again after {}", duration(length)),
            None => format!("{name} is UP again"),
        },
        NotificationEvent::Degraded => format!("{name} is DEGRADED{because}"),
        NotificationEvent::CertificateExpiring => match n.certificate_expires_at {
            Some(expires) => format!(
                "The TLS certificate of {name} {} ({})",
                expiry(n.at, expires),
                utc(expires)
            ),
            None => format!("The TLS certificate of {name} expires soon{because}"),
        },
        NotificationEvent::Reminder => format!(
            "{name} is still DOWN after {}{because}",
            duration(n.at.since(n.since))
        ),
        NotificationEvent::Test => {
            format!("A test notification from WatchTower for {name}: this channel works.")
        }
    }
}

/// The labelled details: monitor, target, state, cause, since when (UTC) and for how long.
pub fn facts(n: &Notification) -> Vec<Fact> {
    let mut facts = vec![fact("Monitor", n.monitor_name.clone())];
    if let Some(target) = n.target.as_ref().filter(|target| !target.is_empty()) {
        facts.push(fact("Target", target.clone()));
    }
    let state = match n.previous_state {
        Some(previous) if previous != n.state => format!("{} (was {previous})", n.state),
        _ => n.state.to_string(),
    };
    if n.event != NotificationEvent::CertificateExpiring {
        facts.push(fact("State", state));
    }
    if !n.cause.is_empty() {
        facts.push(fact("Cause", n.cause.clone()));
    }
    if let Some(expires) = n.certificate_expires_at {
        facts.push(fact("Certificate expires", utc(expires)));
    }
    if let Some(notice) = &n.certificate {
        facts.push(fact("Subject", notice.subject.clone()));
        if !notice.dns_names.is_empty() {
            facts.push(fact("Names", notice.dns_names.join(", ")));
        }
        facts.push(fact("Issuer", notice.issuer.clone()));
        facts.push(fact("SHA-256", notice.fingerprint_sha256.clone()));
        let names: Vec<&str> = notice.monitors.iter().map(|m| m.name.as_str()).collect();
        facts.push(fact("Monitors", names.join(", ")));
    }
    match (n.event, n.down_since) {
        (NotificationEvent::Up, Some(down_since)) => {
            facts.push(fact("Down since", utc(down_since)));
            facts.push(fact("Up since", utc(n.since)));
            facts.push(fact("Outage", duration(n.at.since(down_since))));
        }
        _ => {
            facts.push(fact("Since", utc(n.since)));
            let length = n.at.since(n.since);
            if length >= Duration::from_secs(1) {
                facts.push(fact("Duration", duration(length)));
            }
        }
    }
    facts
}

/// The incident page and the acknowledge link, when WatchTower knows its public URL.
pub fn links(n: &Notification) -> Vec<Link> {
    let mut links = Vec::new();
    if let Some(url) = &n.incident_url {
        links.push(Link {
            label: "View incident",
            url: url.clone(),
        });
    }
    if let Some(url) = &n.acknowledge_url {
        links.push(Link {
            label: "Acknowledge",
            url: url.clone(),
        });
    }
    links
}

/// The plain-text body: the summary, the facts one per line, then the links.
pub fn text_body(n: &Notification) -> String {
    let mut text = summary(n);
    text.push_str("\n\n");
    for Fact { label, value } in facts(n) {
        text.push_str(&format!("{label}: {value}\n"));
    }
    let links = links(n);
    if !links.is_empty() {
        text.push('\n');
        for Link { label, url } in links {
            text.push_str(&format!("{label}: {url}\n"));
        }
    }
    text
}

/// The HTML body of an email: the same content as `text_body`, every value escaped.
pub fn html_body(n: &Notification) -> String {
    let color = format!("#{:06x}", Tone::of(n.event).color());
    let mut html = format!(
        "<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif\">\n\
         <h2 style=\"color: {color}\">{}</h2>\n<p>{}</p>\n<table>\n",
        escape_html(&title(n)),
        escape_html(&summary(n)),
    );
    for Fact { label, value } in facts(n) {
        html.push_str(&format!(
            "<tr><th align=\"left\">{label}</th><td>{}</td></tr>\n",
            escape_html(&value)
        ));
    }
    html.push_str("</table>\n");
    for Link { label, url } in links(n) {
        html.push_str(&format!(
            "<p><a href=\"{}\">{label}</a></p>\n",
            escape_html(&url)
        ));
    }
    html.push_str("</body></html>\n");
    html
}

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// A length in at most its two largest units: `45s`, `12m 30s`, `1h 5m`, `2d 3h`.
pub fn duration(length: Duration) -> String {
    let mut secs = length.as_secs();
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size && parts.len() < 2 {
            parts.push(format!("{}{unit}", secs / size));
            secs %= size;
        } else if !parts.is_empty() {
            // Units stay adjacent: `1h 5s` would read as a typo for `1h 5m`.
            break;
        }
    }
    if parts.is_empty() {
        "0s".to_owned()
    } else {
        parts.join(" ")
    }
}

/// An instant for people: `2026-11-27 10:15:00 UTC`.
pub fn utc(at: Timestamp) -> String {
    at.to_jiff().strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// An instant for machines: ISO 8601 / RFC 3339 in UTC, `2026-11-27T10:15:00Z`.
pub fn iso8601(at: Timestamp) -> String {
    at.to_jiff().to_string()
}

/// Cuts `text` to at most `max` characters, marking the cut with an ellipsis.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn fact(label: &'static str, value: String) -> Fact {
    Fact { label, value }
}

/// How long the outage that just ended lasted.
fn outage(n: &Notification) -> Option<Duration> {
    n.down_since.map(|down_since| n.at.since(down_since))
}

/// `expires in 12 days`, `expires in 1 day`, `expires today`, `has expired`.
fn expiry(at: Timestamp, expires: Timestamp) -> String {
    if expires <= at {
        return "has expired".to_owned();
    }
    match expires.since(at).as_secs() / 86_400 {
        0 => "expires today".to_owned(),
        1 => "expires in 1 day".to_owned(),
        days => format!("expires in {days} days"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watchtower_core::{IncidentId, MonitorId, MonitorState, TeamId};

    const MINUTE: i64 = 60_000;
    // 2026-11-27 10:15:00 UTC.
    const AT: i64 = 1_795_774_500_000;

    fn down() -> Notification {
        Notification {
            idempotency_key: "n-1".into(),
            event: NotificationEvent::Down,
            team_id: TeamId(1),
            monitor_id: Some(MonitorId(7)),
            monitor_name: "Checkout API".into(),
            target: Some("https://shop.example/api/health".into()),
            state: MonitorState::Down,
            previous_state: Some(MonitorState::Up),
            cause: "status 503".into(),
            since: Timestamp(AT - 2 * MINUTE),
            at: Timestamp(AT),
            down_since: None,
            certificate_expires_at: None,
            certificate: None,
            custom_title: None,
            custom_message: None,
            ops_signal: None,
            incident_id: Some(IncidentId(3)),
            incident_key: Some("incident-3".into()),
            incident_url: Some("https://wt.example/incidents/3".into()),
            acknowledge_url: Some("https://wt.example/ack/3?sig=abc&x=1".into()),
        }
    }

    #[test]
    fn titles_name_the_event_and_the_monitor() {
        let mut n = down();
        assert_eq!(title(&n), "[DOWN] Checkout API");

        n.event = NotificationEvent::Up;
        n.state = MonitorState::Up;
        n.down_since = Some(Timestamp(AT - 12 * MINUTE - 30_000));
        assert_eq!(title(&n), "[UP] Checkout API — down for 12m 30s");
        n.down_since = None;
        assert_eq!(title(&n), "[UP] Checkout API");

        n.event = NotificationEvent::Degraded;
        assert_eq!(title(&n), "[DEGRADED] Checkout API");

        n.event = NotificationEvent::CertificateExpiring;
        n.certificate_expires_at = Some(Timestamp(AT + 12 * 86_400_000 + 5 * MINUTE));
        assert_eq!(title(&n), "[CERTIFICATE] Checkout API expires in 12 days");
        n.certificate_expires_at = Some(Timestamp(AT + 86_400_000));
        assert_eq!(title(&n), "[CERTIFICATE] Checkout API expires in 1 day");
        n.certificate_expires_at = Some(Timestamp(AT - 1));
        assert_eq!(title(&n), "[CERTIFICATE] Checkout API has expired");

        n.event = NotificationEvent::Reminder;
        n.since = Timestamp(AT - 65 * MINUTE);
        assert_eq!(title(&n), "[STILL DOWN] Checkout API — down for 1h 5m");

        n.event = NotificationEvent::Test;
        assert_eq!(title(&n), "[TEST] Checkout API");
    }

    #[test]
    fn durations_keep_two_adjacent_units() {
        let d = |secs| duration(Duration::from_secs(secs));
        assert_eq!(d(0), "0s");
        assert_eq!(d(45), "45s");
        assert_eq!(d(750), "12m 30s");
        assert_eq!(d(3_600), "1h");
        assert_eq!(d(3_605), "1h");
        assert_eq!(d(3_900), "1h 5m");
        assert_eq!(d(2 * 86_400 + 3 * 3_600 + 59), "2d 3h");
    }

    #[test]
    fn the_body_lists_monitor_target_state_cause_since_duration_and_links() {
        let body = text_body(&down());
        assert!(
            body.starts_with("Checkout API is DOWN: status 503\n\n"),
            "{body}"
        );
        for line in [
            "Monitor: Checkout API",
            "Target: https://shop.example/api/health",
            "State: DOWN (was UP)",
            "Cause: status 503",
            "Since: 2026-11-27 10:13:00 UTC",
            "Duration: 2m",
            "View incident: https://wt.example/incidents/3",
            "Acknowledge: https://wt.example/ack/3?sig=abc&x=1",
        ] {
            assert!(body.contains(line), "missing {line:?} in {body}");
        }
    }

    #[test]
    fn a_recovery_says_when_the_outage_began_and_how_long_it_lasted() {
        let mut n = down();
        n.event = NotificationEvent::Up;
        n.state = MonitorState::Up;
        n.previous_state = Some(MonitorState::Down);
        n.cause.clear();
        n.since = n.at;
        n.down_since = Some(Timestamp(AT - 90 * MINUTE));
        let body = text_body(&n);
        assert!(body.starts_with("Checkout API is UP again after 1h 30m"));
        assert!(body.contains("Down since: 2026-11-27 08:45:00 UTC"));
        assert!(body.contains("Outage: 1h 30m"));
        assert!(!body.contains("Cause"));
    }

    #[test]
    fn links_are_absent_without_a_public_url() {
        let mut n = down();
        n.incident_url = None;
        n.acknowledge_url = None;
        assert!(links(&n).is_empty());
        assert!(!text_body(&n).contains("http://wt"));
    }

    #[test]
    fn html_escapes_every_value() {
        let mut n = down();
        n.monitor_name = "<script>alert(1)</script> & co".into();
        let html = html_body(&n);
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
        assert!(html.contains("href=\"https://wt.example/ack/3?sig=abc&amp;x=1\""));
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("ééééé", 3), "éé…");
    }

    #[test]
    fn timestamps_render_in_utc() {
        assert_eq!(utc(Timestamp(0)), "1970-01-01 00:00:00 UTC");
        assert_eq!(iso8601(Timestamp(0)), "1970-01-01T00:00:00Z");
    }
}
