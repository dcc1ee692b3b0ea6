//! Kuma notifications as WatchTower channels. Kuma keeps each one's settings as a JSON text in
//! `notification.config`, its field names per provider; the services WatchTower also sends to
//! are mapped onto the settings `ChannelSettings::parse` takes, the rest are named with why not.

use super::monitors::{Unmapped, shorten};
use super::read::Row;
use serde_json::{Map, Value, json};

/// The most bytes of one notification's config parsed (the cell bound is larger; a config is a
/// few hundred bytes).
const MAX_CONFIG_BYTES: usize = 32 * 1024;

/// A channel's settings for `ChannelSettings::parse`, with what was left out on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelDraft {
    pub kind: &'static str,
    pub settings: Value,
    pub notes: Vec<String>,
}

/// Maps one `notification` row.
pub fn draft(row: &Row) -> Result<ChannelDraft, Unmapped> {
    let text = row.text("config")?.unwrap_or("{}");
    if text.len() > MAX_CONFIG_BYTES {
        return Err(Unmapped::Unsupported(format!(
            "its settings are longer than {} KiB",
            MAX_CONFIG_BYTES / 1024
        )));
    }
    // serde_json refuses nesting deeper than 128 levels by itself.
    let Ok(Value::Object(config)) = serde_json::from_str::<Value>(text) else {
        return Err(Unmapped::Unsupported(
            "its settings are not a JSON object".into(),
        ));
    };
    let config = Config(&config);
    let kind = config.text("type").unwrap_or_default();
    let mut notes = Vec::new();
    let (kind, settings) = match kind.as_str() {
        "smtp" => ("email", email(&config, &mut notes)),
        "slack" => (
            "slack",
            json!({"webhook_url": config.text("slackwebhookURL")}),
        ),
        "discord" => (
            "discord",
            json!({"webhook_url": config.text("discordWebhookUrl")}),
        ),
        "teams" => ("teams", json!({"webhook_url": config.text("webhookUrl")})),
        "webhook" => ("webhook", webhook(&config, &mut notes)?),
        "telegram" => ("telegram", telegram(&config, &mut notes)),
        "PagerDuty" => {
            let mut settings = json!({"routing_key": config.text("pagerdutyIntegrationKey")});
            if let Some(url) = config.text("pagerdutyIntegrationUrl") {
                settings["events_url"] = json!(url);
            }
            ("pagerduty", settings)
        }
        "ntfy" => ("ntfy", ntfy(&config)?),
        "twilio" => ("sms", twilio(&config)?),
        "" => {
            return Err(Unmapped::Unsupported(
                "its settings name no provider type".into(),
            ));
        }
        other => {
            return Err(Unmapped::Unsupported(format!(
                "WatchTower does not send to '{}' (it sends email, Slack, Discord, Teams, \
                 webhooks, Telegram, PagerDuty, ntfy and Twilio SMS)",
                shorten(other)
            )));
        }
    };
    let mut settings = settings;
    settings["kind"] = json!(kind);
    Ok(ChannelDraft {
        kind,
        settings,
        notes,
    })
}

/// A notification's config object, read leniently (Kuma's forms store numbers as text too).
struct Config<'a>(&'a Map<String, Value>);

impl Config<'_> {
    fn text(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        }
    }

    fn flag(&self, name: &str) -> bool {
        match self.0.get(name) {
            Some(Value::Bool(flag)) => *flag,
            Some(Value::String(text)) => text == "true" || text == "1",
            Some(Value::Number(number)) => number.as_i64() == Some(1),
            _ => false,
        }
    }
}

fn email(config: &Config<'_>, notes: &mut Vec<String>) -> Value {
    let security = if config.flag("smtpSecure") {
        "tls"
    } else if config.flag("smtpIgnoreSTARTTLS") {
        "none"
    } else {
        "starttls"
    };
    let mut to: Vec<String> = Vec::new();
    for field in ["smtpTo", "smtpCC", "smtpBCC"] {
        let listed = config.text(field).unwrap_or_default();
        let addresses: Vec<String> = listed
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        if field != "smtpTo" && !addresses.is_empty() {
            notes.push(format!(
                "its {} addresses are sent to directly",
                if field == "smtpCC" { "Cc" } else { "Bcc" }
            ));
        }
        to.extend(addresses);
    }
    if config.text("customSubject").is_some() || config.text("customBody").is_some() {
        notes.push("its custom subject and body were not imported (Kuma's template language is not WatchTower's)".into());
    }
    let mut settings = json!({
        "host": config.text("smtpHost"),
        "security": security,
        "from": config.text("smtpFrom"),
        "to": to,
    });
    if let Some(port) = config.text("smtpPort") {
        settings["port"] = port.parse::<u64>().map_or(json!(port), |p| json!(p));
    }
    if let Some(username) = config.text("smtpUsername") {
        settings["username"] = json!(username);
        if let Some(password) = config.0.get("smtpPassword").and_then(Value::as_str) {
            settings["password"] = json!(password);
        }
    }
    settings
}

fn webhook(config: &Config<'_>, notes: &mut Vec<String>) -> Result<Value, Unmapped> {
    let mut settings = json!({"url": config.text("webhookURL")});
    if let Some(headers) = config.text("webhookAdditionalHeaders") {
        match serde_json::from_str::<Value>(&headers) {
            Ok(Value::Object(map)) => settings["headers"] = Value::Object(map),
            _ => {
                return Err(Unmapped::Unsupported(
                    "its additional headers are not a JSON object".into(),
                ));
            }
        }
    }
    notes.push("WatchTower posts its own JSON document (docs/ALERTING.md), not Kuma's body".into());
    Ok(settings)
}

fn telegram(config: &Config<'_>, notes: &mut Vec<String>) -> Value {
    let mut settings = json!({
        "bot_token": config.text("telegramBotToken"),
        "chat_id": config.text("telegramChatID"),
    });
    if let Some(server) = config.text("telegramServerUrl") {
        settings["api_base"] = json!(server);
    }
    if config.text("telegramMessageThreadID").is_some() {
        notes.push("its message thread is not kept: messages go to the chat".into());
    }
    settings
}

fn ntfy(config: &Config<'_>) -> Result<Value, Unmapped> {
    let mut settings = json!({"topic": config.text("ntfytopic")});
    if let Some(server) = config.text("ntfyserverurl") {
        settings["server"] = json!(server);
    }
    match config.text("ntfyAuthenticationMethod").as_deref() {
        None | Some("none") => {}
        Some("accessToken") => settings["token"] = json!(config.text("ntfyaccesstoken")),
        Some(_) => {
            // Older Kuma sends a username and password whenever they are set.
            return Err(Unmapped::Unsupported(
                "it signs in to ntfy with a username and password; WatchTower uses an access \
                 token"
                    .into(),
            ));
        }
    }
    if config.text("ntfyAuthenticationMethod").is_none() && config.text("ntfyusername").is_some() {
        return Err(Unmapped::Unsupported(
            "it signs in to ntfy with a username and password; WatchTower uses an access token"
                .into(),
        ));
    }
    Ok(settings)
}

fn twilio(config: &Config<'_>) -> Result<Value, Unmapped> {
    if config.text("twilioApiKey").is_some() {
        return Err(Unmapped::Unsupported(
            "it signs in to Twilio with an API key; WatchTower uses the account SID and auth token"
                .into(),
        ));
    }
    Ok(json!({
        "account_sid": config.text("twilioAccountSID"),
        "auth_token": config.text("twilioAuthToken"),
        "from": config.text("twilioFromNumber"),
        "to": config.text("twilioToNumber"),
    }))
}
