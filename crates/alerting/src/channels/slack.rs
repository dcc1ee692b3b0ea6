//! Slack incoming webhooks with Block Kit: `text` is the fallback shown in notifications, `blocks`
//! the message (header, summary, facts, link buttons). The webhook URL is the secret.
//!
//! On a retried send Slack posts the message again: incoming webhooks have no idempotency key.

use super::fields::Fields;
use super::{ChannelService, Delivered, DeliveryError, Sender, object, redact_url};
use crate::notification::Notification;
use crate::render;
use serde_json::{Map, Value, json};
use url::Url;
use watchtower_core::ChannelKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackConfig {
    pub webhook_url: Url,
}

impl ChannelService for SlackConfig {
    const KIND_NAME: &'static str = "slack";
    const PLAN_KIND: ChannelKind = ChannelKind::Slack;

    fn parse(fields: &mut Fields<'_>) -> Option<Self> {
        Some(Self {
            webhook_url: fields.required_url("webhook_url")?,
        })
    }

    fn to_value(&self) -> Map<String, Value> {
        object(json!({ "webhook_url": self.webhook_url.as_str() }))
    }

    fn redacted(&self) -> Map<String, Value> {
        object(json!({ "webhook_url": redact_url(&self.webhook_url) }))
    }

    fn endpoint_host(&self) -> Option<String> {
        self.webhook_url.host_str().map(str::to_owned)
    }

    async fn deliver(&self, sender: &Sender, n: &Notification) -> Result<Delivered, DeliveryError> {
        deliver(sender, self, n).await
    }
}

/// Slack's limits: header text 150 characters, section text 3000, a field 2000, 10 fields.
pub(crate) fn payload(n: &Notification) -> Value {
    let title = render::title(n);
    let fields: Vec<Value> = render::facts(n)
        .into_iter()
        .take(10)
        .map(|fact| {
            json!({
                "type": "mrkdwn",
                "text": format!("*{}*\n{}", fact.label, escape(&render::truncate(&fact.value, 1900))),
            })
        })
        .collect();
    let mut blocks = vec![
        json!({
            "type": "header",
            "text": { "type": "plain_text", "text": render::truncate(&title, 150), "emoji": true },
        }),
        json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": escape(&render::truncate(&render::summary(n), 2900)) },
        }),
        json!({ "type": "section", "fields": fields }),
    ];
    let buttons: Vec<Value> = render::links(n)
        .into_iter()
        .map(|link| {
            json!({
                "type": "button",
                "text": { "type": "plain_text", "text": link.label },
                "url": link.url,
            })
        })
        .collect();
    if !buttons.is_empty() {
        blocks.push(json!({ "type": "actions", "elements": buttons }));
    }
    json!({ "text": title, "blocks": blocks })
}

/// Slack's mrkdwn treats `&`, `<` and `>` as control characters.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub(crate) async fn deliver(
    sender: &Sender,
    config: &SlackConfig,
    n: &Notification,
) -> Result<Delivered, DeliveryError> {
    let request = sender
        .http()
        .post(config.webhook_url.clone())
        .json(&payload(n));
    sender.send(request).await
}
