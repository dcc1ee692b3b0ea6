//! Microsoft Teams: an Adaptive Card message (`type: message` with one
//! `application/vnd.microsoft.card.adaptive` attachment), the format both Workflows webhooks and
//! the older incoming-webhook connectors accept (the connectors' MessageCard is being retired).
//! The webhook URL is the secret.
//!
//! On a retried send Teams posts the card again: webhooks have no idempotency key.

use super::fields::Fields;
use super::{ChannelService, Delivered, DeliveryError, Sender, object, redact_url};
use crate::notification::Notification;
use crate::render::{self, Tone};
use serde_json::{Map, Value, json};
use url::Url;
use watchtower_core::ChannelKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamsConfig {
    pub webhook_url: Url,
}

impl ChannelService for TeamsConfig {
    const KIND_NAME: &'static str = "teams";
    const PLAN_KIND: ChannelKind = ChannelKind::Teams;

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

pub(crate) fn payload(n: &Notification) -> Value {
    let color = match Tone::of(n.event) {
        Tone::Critical => "Attention",
        Tone::Warning => "Warning",
        Tone::Good => "Good",
        Tone::Info => "Accent",
    };
    let facts: Vec<Value> = render::facts(n)
        .into_iter()
        .map(|fact| json!({ "title": fact.label, "value": fact.value }))
        .collect();
    let actions: Vec<Value> = render::links(n)
        .into_iter()
        .map(|link| json!({ "type": "Action.OpenUrl", "title": link.label, "url": link.url }))
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "msteams": { "width": "Full" },
                "body": [
                    {
                        "type": "TextBlock",
                        "text": render::title(n),
                        "size": "Large",
                        "weight": "Bolder",
                        "color": color,
                        "wrap": true,
                    },
                    { "type": "TextBlock", "text": render::summary(n), "wrap": true },
                    { "type": "FactSet", "facts": facts },
                ],
                "actions": actions,
            },
        }],
    })
}

pub(crate) async fn deliver(
    sender: &Sender,
    config: &TeamsConfig,
    n: &Notification,
) -> Result<Delivered, DeliveryError> {
    let request = sender
        .http()
        .post(config.webhook_url.clone())
        .json(&payload(n));
    sender.send(request).await
}
