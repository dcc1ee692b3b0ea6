//! Generic webhooks in the Standard Webhooks format: a JSON body `{"version": 1, "type":
//! "monitor.down", "timestamp", "data": <the Notification>}` and the headers `webhook-id` (the
//! notification's idempotency key), `webhook-timestamp` (unix seconds of this attempt) and
//! `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`).
//!
//! The secret is optional: without one the request is sent unsigned (no `webhook-signature`), for
//! receivers that cannot verify; with one every request is signed. We never invent a secret the
//! user has not seen.
//!
//! On a retried send the receiver gets the same `webhook-id` and the same body, with a fresh
//! timestamp and signature: it deduplicates on `webhook-id`, as Standard Webhooks prescribes.

use super::fields::Fields;
use super::{ChannelService, Delivered, DeliveryError, REDACTED, Sender, object, redact_url};
use crate::notification::{Notification, NotificationEvent};
use crate::render;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::fmt;
use url::Url;
use watchtower_core::ChannelKind;

/// Headers the sender sets itself; a configured header may not replace them.
const RESERVED_HEADERS: [&str; 8] = [
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
    "content-length",
    "host",
    "transfer-encoding",
    "connection",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    pub url: Url,
    /// Absent: requests go unsigned.
    pub secret: Option<WebhookSecret>,
    /// Extra headers, such as an `Authorization` the receiver wants; their values are secrets.
    pub headers: BTreeMap<String, String>,
}

impl ChannelService for WebhookConfig {
    const KIND_NAME: &'static str = "webhook";
    const PLAN_KIND: ChannelKind = ChannelKind::Webhook;

    fn parse(fields: &mut Fields<'_>) -> Option<Self> {
        let url = fields.required_url("url");
        let secret = fields.string("secret").and_then(|text| {
            WebhookSecret::parse(&text)
                .map_err(|problem| fields.problem("secret", problem))
                .ok()
        });
        let headers = fields.string_map("headers");
        for (name, value) in &headers {
            let path = format!("headers.{name}");
            match HeaderName::from_bytes(name.as_bytes()) {
                Err(_) => fields.problem(&path, "is not a valid header name"),
                Ok(parsed) if RESERVED_HEADERS.contains(&parsed.as_str()) => {
                    fields.problem(&path, "is set by WatchTower and cannot be replaced");
                }
                Ok(_) => {}
            }
            if HeaderValue::from_str(value).is_err() {
                fields.problem(&path, "must be printable ASCII text");
            }
        }
        Some(Self {
            url: url?,
            secret,
            headers,
        })
    }

    fn to_value(&self) -> Map<String, Value> {
        let mut map = object(json!({ "url": self.url.as_str() }));
        if let Some(secret) = &self.secret {
            map.insert("secret".into(), Value::from(secret.to_text()));
        }
        if !self.headers.is_empty() {
            map.insert("headers".into(), json!(self.headers));
        }
        map
    }

    fn redacted(&self) -> Map<String, Value> {
        let mut map = object(json!({ "url": redact_url(&self.url) }));
        if self.secret.is_some() {
            map.insert("secret".into(), Value::from(REDACTED));
        }
        if !self.headers.is_empty() {
            let names: Map<String, Value> = self
                .headers
                .keys()
                .map(|name| (name.clone(), Value::from(REDACTED)))
                .collect();
            map.insert("headers".into(), Value::Object(names));
        }
        map
    }

    fn endpoint_host(&self) -> Option<String> {
        self.url.host_str().map(str::to_owned)
    }

    async fn deliver(&self, sender: &Sender, n: &Notification) -> Result<Delivered, DeliveryError> {
        deliver(sender, self, n).await
    }
}

/// A Standard Webhooks signing secret: `whsec_` and the base64 of 24 to 64 random bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookSecret({REDACTED})")
    }
}

impl WebhookSecret {
    const PREFIX: &str = "whsec_";

    pub fn parse(text: &str) -> Result<Self, String> {
        let encoded = text
            .strip_prefix(Self::PREFIX)
            .ok_or_else(|| "must start with whsec_ followed by base64".to_owned())?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| "must be whsec_ followed by standard base64".to_owned())?;
        if !(24..=64).contains(&key.len()) {
            return Err("must hold 24 to 64 bytes after whsec_".into());
        }
        Ok(Self { key })
    }

    pub fn to_text(&self) -> String {
        format!("{}{}", Self::PREFIX, STANDARD.encode(&self.key))
    }

    /// The `webhook-signature` value: `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// `monitor.down`, `monitor.up`, `monitor.degraded`, `monitor.certificate_expiring`,
/// `monitor.reminder`, `monitor.test`; for the instance's own alerts `ops.<signal>` and
/// `ops.<signal>.resolved` (`ops.backup_stale`, `ops.disk_nearly_full.resolved`...).
pub fn event_type(n: &Notification) -> String {
    match (&n.ops_signal, n.event) {
        (Some(signal), NotificationEvent::Up | NotificationEvent::OpsResolved) => {
            format!("ops.{signal}.resolved")
        }
        (Some(signal), _) => format!("ops.{signal}"),
        (None, event) => format!("monitor.{}", event.as_str()),
    }
}

pub(crate) fn payload(n: &Notification) -> Value {
    json!({
        "version": 1,
        "type": event_type(n),
        "timestamp": render::iso8601(n.at),
        "data": n,
    })
}

pub(crate) async fn deliver(
    sender: &Sender,
    config: &WebhookConfig,
    n: &Notification,
) -> Result<Delivered, DeliveryError> {
    let body = serde_json::to_vec(&payload(n)).map_err(|error| {
        DeliveryError::permanent(format!("the body did not serialize: {error}"))
    })?;
    let timestamp = jiff::Timestamp::now().as_second();
    let mut request = sender
        .http()
        .post(config.url.clone())
        .header(CONTENT_TYPE, "application/json")
        .header("webhook-id", &n.idempotency_key)
        .header("webhook-timestamp", timestamp.to_string());
    if let Some(secret) = &config.secret {
        request = request.header(
            "webhook-signature",
            secret.sign(&n.idempotency_key, timestamp, &body),
        );
    }
    for (name, value) in &config.headers {
        request = request.header(name, value);
    }
    sender.send(request.body(body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_standard_webhooks_test_vector() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_eq!(secret.to_text(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assert_eq!(format!("{secret:?}"), "WebhookSecret(********)");
    }
}
