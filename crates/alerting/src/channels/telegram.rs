//! Telegram bots: `POST {api_base}/bot{token}/sendMessage` with `parse_mode: "HTML"`, every
//! value escaped. The bot token is the secret (it is also in the request path, so errors never
//! carry the URL).
//!
//! On a retried send Telegram posts the message again: the Bot API has no idempotency key.

use super::fields::Fields;
use super::{ChannelService, Delivered, DeliveryError, REDACTED, Sender, object};
use crate::notification::Notification;
use crate::render::{self, escape_html, truncate};
use serde_json::{Map, Value, json};
use url::Url;
use watchtower_core::ChannelKind;

const DEFAULT_API_BASE: &str = "https://api.telegram.org";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramConfig {
    /// `123456789:AA…` as BotFather gives it.
    pub bot_token: String,
    /// A numeric chat id (negative for groups) or `@channelusername`.
    pub chat_id: String,
    pub api_base: Url,
}

impl ChannelService for TelegramConfig {
    const KIND_NAME: &'static str = "telegram";
    const PLAN_KIND: ChannelKind = ChannelKind::Telegram;

    fn parse(fields: &mut Fields<'_>) -> Option<Self> {
        let bot_token = fields.required_string("bot_token");
        if let Some(token) = &bot_token {
            let well_formed = token.split_once(':').is_some_and(|(id, secret)| {
                !id.is_empty()
                    && id.chars().all(|c| c.is_ascii_digit())
                    && !secret.is_empty()
                    && secret
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
            if !well_formed {
                fields.problem(
                    "bot_token",
                    "must look like 123456789:AA… as BotFather gives it",
                );
            }
        }
        let chat_id = fields.required_string("chat_id");
        if let Some(chat) = &chat_id
            && chat.parse::<i64>().is_err()
            && !(chat.starts_with('@') && chat.len() > 1)
        {
            fields.problem("chat_id", "must be a numeric chat id or a @channel name");
        }
        let api_base = fields.base_url("api_base", DEFAULT_API_BASE);
        Some(Self {
            bot_token: bot_token?,
            chat_id: chat_id?,
            api_base: api_base?,
        })
    }

    fn to_value(&self) -> Map<String, Value> {
        object(json!({
            "bot_token": self.bot_token,
            "chat_id": self.chat_id,
            "api_base": self.api_base.as_str(),
        }))
    }

    fn redacted(&self) -> Map<String, Value> {
        let mut map = self.to_value();
        map.insert("bot_token".into(), Value::from(REDACTED));
        map
    }

    fn endpoint_host(&self) -> Option<String> {
        self.api_base.host_str().map(str::to_owned)
    }

    async fn deliver(&self, sender: &Sender, n: &Notification) -> Result<Delivered, DeliveryError> {
        deliver(sender, self, n).await
    }
}

impl TelegramConfig {
    fn send_message_url(&self) -> Url {
        let mut url = self.api_base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .push(&format!("bot{}", self.bot_token))
                .push("sendMessage");
        }
        url
    }
}

/// The message text: a bold title, the summary, the facts and the links. Values are cut before
/// escaping so a cut never splits a tag; Telegram's 4096-character limit counts visible text.
pub(crate) fn text(n: &Notification) -> String {
    let mut text = format!(
        "<b>{}</b>\n{}\n",
        escape_html(&truncate(&render::title(n), 256)),
        escape_html(&truncate(&render::summary(n), 1000)),
    );
    for fact in render::facts(n) {
        text.push_str(&format!(
            "\n<b>{}:</b> {}",
            fact.label,
            escape_html(&truncate(&fact.value, 300))
        ));
    }
    let links: Vec<String> = render::links(n)
        .into_iter()
        .map(|link| format!("<a href=\"{}\">{}</a>", escape_html(&link.url), link.label))
        .collect();
    if !links.is_empty() {
        text.push_str("\n\n");
        text.push_str(&links.join(" | "));
    }
    text
}

pub(crate) fn payload(config: &TelegramConfig, n: &Notification) -> Value {
    let chat_id = match config.chat_id.parse::<i64>() {
        Ok(id) => Value::from(id),
        Err(_) => Value::from(config.chat_id.as_str()),
    };
    json!({
        "chat_id": chat_id,
        "text": text(n),
        "parse_mode": "HTML",
        "link_preview_options": { "is_disabled": true },
    })
}

pub(crate) async fn deliver(
    sender: &Sender,
    config: &TelegramConfig,
    n: &Notification,
) -> Result<Delivered, DeliveryError> {
    let request = sender
        .http()
        .post(config.send_message_url())
        .json(&payload(config, n));
    sender.send(request).await
}
