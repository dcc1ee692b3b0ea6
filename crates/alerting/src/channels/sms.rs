//! SMS through Twilio's Messages API: `POST {api_base}/2010-04-01/Accounts/{sid}/Messages.json`
//! with the form fields `To`, `From`, `Body` and HTTP basic auth `sid:token`. The auth token is
//! the secret. The text is short (a title, the cause, a link) because every segment is paid for.
//!
//! On a retried send Twilio sends another SMS: its Messages API takes no idempotency key.

use super::fields::Fields;
use super::{ChannelService, Delivered, DeliveryError, REDACTED, Sender, object};
use crate::notification::Notification;
use crate::render;
use serde_json::{Map, Value, json};
use url::Url;
use watchtower_core::ChannelKind;

const DEFAULT_API_BASE: &str = "https://api.twilio.com";
/// Two concatenated GSM segments; a UCS-2 text (any non-GSM character) takes more.
const MAX_BODY_CHARS: usize = 306;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsConfig {
    /// `AC` and 32 hexadecimal digits.
    pub account_sid: String,
    pub auth_token: String,
    /// A Twilio number in E.164 form, or an alphanumeric sender id where the country allows one.
    pub from: String,
    /// The recipient in E.164 form (`+14155550100`).
    pub to: String,
    pub api_base: Url,
}

impl ChannelService for SmsConfig {
    const KIND_NAME: &'static str = "sms";
    const PLAN_KIND: ChannelKind = ChannelKind::Sms;

    fn parse(fields: &mut Fields<'_>) -> Option<Self> {
        let account_sid = fields.required_string("account_sid");
        if account_sid.as_ref().is_some_and(|sid| {
            !(sid.len() == 34
                && sid.starts_with("AC")
                && sid[2..].chars().all(|c| c.is_ascii_hexdigit()))
        }) {
            fields.problem(
                "account_sid",
                "must be AC followed by 32 hexadecimal digits",
            );
        }
        let auth_token = fields.required_string("auth_token");
        let from = fields.required_string("from");
        if from
            .as_ref()
            .is_some_and(|from| !is_e164(from) && !is_alphanumeric_sender(from))
        {
            fields.problem(
                "from",
                "must be a phone number in E.164 form (+14155550100) or a sender id of up to 11 letters and digits",
            );
        }
        let to = fields.required_string("to");
        if to.as_ref().is_some_and(|to| !is_e164(to)) {
            fields.problem("to", "must be a phone number in E.164 form (+14155550100)");
        }
        let api_base = fields.base_url("api_base", DEFAULT_API_BASE);
        Some(Self {
            account_sid: account_sid?,
            auth_token: auth_token?,
            from: from?,
            to: to?,
            api_base: api_base?,
        })
    }

    fn to_value(&self) -> Map<String, Value> {
        object(json!({
            "account_sid": self.account_sid,
            "auth_token": self.auth_token,
            "from": self.from,
            "to": self.to,
            "api_base": self.api_base.as_str(),
        }))
    }

    fn redacted(&self) -> Map<String, Value> {
        let mut map = self.to_value();
        map.insert("auth_token".into(), Value::from(REDACTED));
        map
    }

    fn endpoint_host(&self) -> Option<String> {
        self.api_base.host_str().map(str::to_owned)
    }

    async fn deliver(&self, sender: &Sender, n: &Notification) -> Result<Delivered, DeliveryError> {
        deliver(sender, self, n).await
    }
}

impl SmsConfig {
    fn messages_url(&self) -> Url {
        let mut url = self.api_base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend([
                "2010-04-01",
                "Accounts",
                &self.account_sid,
                "Messages.json",
            ]);
        }
        url
    }
}

fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.chars().all(|c| c.is_ascii_digit())
    })
}

fn is_alphanumeric_sender(from: &str) -> bool {
    (1..=11).contains(&from.len())
        && from.chars().any(|c| c.is_ascii_alphabetic())
        && from.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ')
}

/// The text: the title, the cause, and the incident link when there is one (a long link is left
/// out rather than cut, since a cut link is useless).
pub(crate) fn body(n: &Notification) -> String {
    let mut text = render::title(n);
    if !n.cause.is_empty() {
        text.push('\n');
        text.push_str(&n.cause);
    }
    let link = n.incident_url.as_deref().filter(|url| url.len() <= 120);
    let room = MAX_BODY_CHARS - link.map_or(0, |url| url.len() + 1);
    let mut text = render::truncate(&text, room);
    if let Some(url) = link {
        text.push('\n');
        text.push_str(url);
    }
    text
}

pub(crate) async fn deliver(
    sender: &Sender,
    config: &SmsConfig,
    n: &Notification,
) -> Result<Delivered, DeliveryError> {
    let form = [
        ("To", config.to.as_str()),
        ("From", config.from.as_str()),
        ("Body", &body(n)),
    ];
    let request = sender
        .http()
        .post(config.messages_url())
        .basic_auth(&config.account_sid, Some(&config.auth_token))
        .form(&form);
    sender.send(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::NotificationEvent;
    use watchtower_core::{MonitorState, TeamId, Timestamp};

    #[test]
    fn the_text_stays_within_two_segments_and_keeps_the_link_whole() {
        let n = Notification {
            idempotency_key: "n-1".into(),
            event: NotificationEvent::Down,
            team_id: TeamId(1),
            monitor_id: None,
            monitor_name: "Checkout API".into(),
            target: None,
            state: MonitorState::Down,
            previous_state: None,
            cause: "x".repeat(1000),
            since: Timestamp(0),
            at: Timestamp(0),
            down_since: None,
            certificate_expires_at: None,
            certificate: None,
            custom_title: None,
            custom_message: None,
            ops_signal: None,
            incident_id: None,
            incident_key: None,
            incident_url: Some("https://wt.example/incidents/3".into()),
            acknowledge_url: None,
        };
        let text = body(&n);
        assert_eq!(text.chars().count(), MAX_BODY_CHARS);
        assert!(text.starts_with("[DOWN] Checkout API\nxxx"));
        assert!(text.ends_with("…\nhttps://wt.example/incidents/3"));
    }
}
