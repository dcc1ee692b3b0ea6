//! ntfy push notifications: `POST {server}/{topic}` with the text as the body and `Title`,
//! `Priority`, `Tags`, `Click` and `Actions` headers; `Authorization: Bearer` for protected
//! topics. On a public server the topic works like a password, so it is redacted with the token.
//!
//! On a retried send ntfy publishes the message again: it has no idempotency key.

use super::fields::Fields;
use super::{ChannelService, Delivered, DeliveryError, REDACTED, Sender, object};
use crate::notification::{Notification, NotificationEvent};
use crate::render;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use url::Url;
use watchtower_core::ChannelKind;

const DEFAULT_SERVER: &str = "https://ntfy.sh";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtfyConfig {
    pub server: Url,
    pub topic: String,
    /// An access token (`tk_…`) for a protected topic.
    pub token: Option<String>,
}

impl ChannelService for NtfyConfig {
    const KIND_NAME: &'static str = "ntfy";
    const PLAN_KIND: ChannelKind = ChannelKind::Push;

    fn parse(fields: &mut Fields<'_>) -> Option<Self> {
        let server = fields.base_url("server", DEFAULT_SERVER);
        let topic = fields.required_string("topic");
        if let Some(topic) = &topic {
            let valid = topic.len() <= 64
                && topic
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid {
                fields.problem(
                    "topic",
                    "must be 1 to 64 letters, digits, '-' or '_', as ntfy requires",
                );
            }
        }
        let token = fields.string("token");
        Some(Self {
            server: server?,
            topic: topic?,
            token,
        })
    }

    fn to_value(&self) -> Map<String, Value> {
        let mut map = object(json!({
            "server": self.server.as_str(),
            "topic": self.topic,
        }));
        if let Some(token) = &self.token {
            map.insert("token".into(), Value::from(token.as_str()));
        }
        map
    }

    fn redacted(&self) -> Map<String, Value> {
        let mut map = self.to_value();
        map.insert("topic".into(), Value::from(REDACTED));
        if self.token.is_some() {
            map.insert("token".into(), Value::from(REDACTED));
        }
        map
    }

    fn endpoint_host(&self) -> Option<String> {
        self.server.host_str().map(str::to_owned)
    }

    async fn deliver(&self, sender: &Sender, n: &Notification) -> Result<Delivered, DeliveryError> {
        deliver(sender, self, n).await
    }
}

impl NtfyConfig {
    fn topic_url(&self) -> Url {
        let mut url = self.server.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(&self.topic);
        }
        url
    }
}

/// ntfy's 1 (min) to 5 (max, a long vibration) scale.
pub(crate) fn priority(event: NotificationEvent) -> u8 {
    match event {
        NotificationEvent::Down | NotificationEvent::OpsAlert => 5,
        NotificationEvent::Reminder | NotificationEvent::Degraded => 4,
        NotificationEvent::Up
        | NotificationEvent::OpsResolved
        | NotificationEvent::CertificateExpiring => 3,
        NotificationEvent::Test => 2,
    }
}

/// Tags that match an emoji shortcode show as that emoji before the title.
pub(crate) fn tags(event: NotificationEvent) -> &'static str {
    match event {
        NotificationEvent::Down | NotificationEvent::OpsAlert => "rotating_light,watchtower",
        NotificationEvent::Up | NotificationEvent::OpsResolved => "white_check_mark,watchtower",
        NotificationEvent::Degraded => "warning,watchtower",
        NotificationEvent::CertificateExpiring => "lock,watchtower",
        NotificationEvent::Reminder => "hourglass,watchtower",
        NotificationEvent::Test => "test_tube,watchtower",
    }
}

/// A header value as ntfy reads it: ASCII as is, anything else as an RFC 2047 encoded word.
pub(crate) fn header_text(text: &str) -> String {
    if text.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        text.to_owned()
    } else {
        format!("=?UTF-8?B?{}?=", STANDARD.encode(text))
    }
}

/// A value in the `Actions` header, quoted when it holds the header's separators.
fn action_value(text: &str) -> String {
    if text.contains([',', ';']) {
        format!("\"{text}\"")
    } else {
        text.to_owned()
    }
}

/// The body: the summary and the facts (the links travel as `Click` and `Actions`).
pub(crate) fn message(n: &Notification) -> String {
    let mut text = render::summary(n);
    text.push('\n');
    for fact in render::facts(n) {
        text.push_str(&format!("\n{}: {}", fact.label, fact.value));
    }
    text
}

pub(crate) async fn deliver(
    sender: &Sender,
    config: &NtfyConfig,
    n: &Notification,
) -> Result<Delivered, DeliveryError> {
    let mut request = sender
        .http()
        .post(config.topic_url())
        .header("Title", header_text(&render::title(n)))
        .header("Priority", priority(n.event).to_string())
        .header("Tags", tags(n.event))
        .body(message(n));
    if let Some(url) = &n.incident_url {
        request = request.header("Click", url.as_str());
    }
    let actions: Vec<String> = render::links(n)
        .into_iter()
        .map(|link| format!("view, {}, {}", link.label, action_value(&link.url)))
        .collect();
    if !actions.is_empty() {
        request = request.header("Actions", actions.join("; "));
    }
    if let Some(token) = &config.token {
        request = request.bearer_auth(token);
    }
    sender.send(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_stay_ascii_and_actions_stay_parsable() {
        assert_eq!(header_text("[DOWN] Shop"), "[DOWN] Shop");
        assert_eq!(header_text("[UP] Café"), "=?UTF-8?B?W1VQXSBDYWbDqQ==?=");
        assert_eq!(action_value("https://a.example/x"), "https://a.example/x");
        assert_eq!(
            action_value("https://a.example/x?a=1,2"),
            "\"https://a.example/x?a=1,2\""
        );
    }
}
