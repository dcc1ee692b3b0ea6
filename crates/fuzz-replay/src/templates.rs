//! Channel templates (minijinja): a template the settings accept renders, or falls back, without
//! panicking; libFuzzer's `-timeout=1` and `-rss_limit_mb=256` bound its time and memory. The
//! input is the template text, used as both the title and the message template.

use serde_json::json;
use watchtower_alerting::notification::{Notification, NotificationEvent};
use watchtower_alerting::templates::ChannelSettings;
use watchtower_core::{IncidentId, MonitorId, MonitorState, TeamId, Timestamp};

use watchtower_alerting::templates::MAX_RENDERED_BYTES;

pub fn run(data: &[u8]) {
    let Some(template) = crate::text(data) else {
        return;
    };
    let value = json!({
        "kind": "webhook",
        "url": "https://hooks.example/watchtower",
        "title_template": template,
        "message_template": template,
    });
    let Ok(settings) = ChannelSettings::parse(&value, "") else {
        return;
    };
    let mut notification = notification();
    settings.templates.apply_on_this_thread(&mut notification);
    for rendered in [&notification.custom_title, &notification.custom_message]
        .into_iter()
        .flatten()
    {
        assert!(
            rendered.len() <= MAX_RENDERED_BYTES,
            "rendered {} bytes",
            rendered.len()
        );
        assert!(
            !rendered.trim().is_empty(),
            "an empty rendering must fall back"
        );
    }
}

fn notification() -> Notification {
    Notification {
        idempotency_key: "fuzz-1".into(),
        event: NotificationEvent::Down,
        team_id: TeamId(1),
        monitor_id: Some(MonitorId(7)),
        monitor_name: "Checkout <script>".into(),
        target: Some("https://shop.example/".into()),
        state: MonitorState::Down,
        previous_state: Some(MonitorState::Up),
        cause: "status 503 {{ not a template }}".into(),
        since: Timestamp(1_795_774_500_000),
        at: Timestamp(1_795_774_620_000),
        down_since: Some(Timestamp(1_795_774_500_000)),
        certificate_expires_at: None,
        certificate: None,
        incident_id: Some(IncidentId(3)),
        incident_key: Some("incident-3".into()),
        incident_url: Some("https://watchtower.example/incidents/3".into()),
        acknowledge_url: Some("https://watchtower.example/ack?token=00".into()),
        custom_title: None,
        custom_message: None,
        ops_signal: None,
    }
}
