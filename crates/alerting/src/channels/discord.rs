//! Discord webhooks: one embed (title, description, colour by state, fields, ISO 8601 timestamp).
//! Mentions are disabled so a monitor named `@everyone` pings nobody. The webhook URL is the secret.
//!
//! On a retried send Discord posts the message again: webhooks have no idempotency key.

use super::fields::Fields;
use super::{ChannelService, Delivered, DeliveryError, Sender, object, redact_url};
use crate::notification::Notification;
use crate::render::{self, Tone};
use serde_json::{Map, Value, json};
use url::Url;
use watchtower_core::ChannelKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordConfig {
    pub webhook_url: Url,
}

impl ChannelService for DiscordConfig {
    const KIND_NAME: &'static str = "discord";
    const PLAN_KIND: ChannelKind = ChannelKind::Discord;

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

/// Discord's limits: title 256 characters, description 4096, field value 1024, 25 fields.
pub(crate) fn payload(n: &Notification) -> Value {
    let mut description = render::truncate(&render::summary(n), 3000);
    let links: Vec<String> = render::links(n)
        .into_iter()
        .map(|link| format!("[{}]({})", link.label, link.url))
        .collect();
    if !links.is_empty() {
        description.push_str("\n\n");
        description.push_str(&links.join(" · "));
    }
    let fields: Vec<Value> = render::facts(n)
        .into_iter()
        .map(|fact| {
            json!({
                "name": fact.label,
                "value": render::truncate(&fact.value, 1024),
                "inline": fact.value.chars().count() <= 40,
            })
        })
        .collect();
    let mut embed = json!({
        "title": render::truncate(&render::title(n), 256),
        "description": description,
        "color": Tone::of(n.event).color(),
        "fields": fields,
        "timestamp": render::iso8601(n.at),
        "footer": { "text": "WatchTower" },
    });
    if let Some(url) = &n.incident_url {
        embed["url"] = Value::from(url.as_str());
    }
    json!({
        "username": "WatchTower",
        "embeds": [embed],
        "allowed_mentions": { "parse": [] },
    })
}

pub(crate) async fn deliver(
    sender: &Sender,
    config: &DiscordConfig,
    n: &Notification,
) -> Result<Delivered, DeliveryError> {
    let request = sender
        .http()
        .post(config.webhook_url.clone())
        .json(&payload(n));
    sender.send(request).await
}
