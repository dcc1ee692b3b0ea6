//! A fake Whop that sends webhook deliveries signed as Whop signs them, in both schemes:
//! Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` keyed by
//! the base64 after `whsec_`) and the legacy `x-whop-signature: t=…,v1=<hex>` keyed by the
//! secret's UTF-8 bytes. Events are built as Whop's envelopes (API v1 and v5).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::{SystemTime, UNIX_EPOCH};

/// Unix seconds now.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// A Whop account's webhook sender, with its secret.
#[derive(Debug, Clone)]
pub struct FakeWhop {
    /// `whsec_` + base64 of 32 random bytes: what the operator configures.
    pub secret: String,
    url: String,
    http: reqwest::Client,
}

/// What WatchTower answered.
#[derive(Debug)]
pub struct WhopAnswer {
    pub status: u16,
    pub body: Value,
}

impl FakeWhop {
    /// A sender with a fresh random secret, delivering to `url` (`.../api/webhooks/whop`).
    pub fn new(url: impl Into<String>) -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self::with_secret(url, format!("whsec_{}", STANDARD.encode(key)))
    }

    /// A sender with a given secret (for rotations).
    pub fn with_secret(url: impl Into<String>, secret: String) -> Self {
        Self {
            secret,
            url: url.into(),
            http: reqwest::Client::new(),
        }
    }

    /// The `webhook-signature` entry for a Standard Webhooks delivery.
    pub fn sign_v1(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let encoded = self.secret.strip_prefix("whsec_").unwrap_or(&self.secret);
        let key = STANDARD.decode(encoded).expect("the secret is base64");
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    /// The `x-whop-signature` value for a legacy delivery.
    pub fn sign_v5(&self, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.as_bytes()).expect("any key");
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(body);
        format!(
            "t={timestamp},v1={}",
            hex::encode(mac.finalize().into_bytes())
        )
    }

    /// Sends raw bytes with the given headers.
    pub async fn send_raw(&self, headers: &[(&str, String)], body: Vec<u8>) -> WhopAnswer {
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request
            .send()
            .await
            .expect("the delivery reaches WatchTower");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        WhopAnswer { status, body }
    }

    /// Delivers `event` in the Standard Webhooks scheme as `id`, signed at `timestamp`.
    pub async fn deliver_v1_at(&self, id: &str, timestamp: i64, event: &Value) -> WhopAnswer {
        let body = serde_json::to_vec(event).expect("json");
        let signature = self.sign_v1(id, timestamp, &body);
        let headers = [
            ("webhook-id", id.to_owned()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ];
        self.send_raw(&headers, body).await
    }

    /// Delivers `event` in the Standard Webhooks scheme, signed now.
    pub async fn deliver_v1(&self, id: &str, event: &Value) -> WhopAnswer {
        self.deliver_v1_at(id, unix_now(), event).await
    }

    /// Delivers `event` in the legacy scheme, signed now.
    pub async fn deliver_v5(&self, event: &Value) -> WhopAnswer {
        let body = serde_json::to_vec(event).expect("json");
        let signature = self.sign_v5(unix_now(), &body);
        self.send_raw(&[("x-whop-signature", signature)], body)
            .await
    }
}

/// An API v1 envelope.
pub fn v1_event(id: &str, event_type: &str, timestamp: &str, data: Value) -> Value {
    json!({"id": id, "api_version": "v1", "timestamp": timestamp, "type": event_type,
           "company_id": "biz_watchtower", "data": data})
}

/// API v1 membership data for `user` (id and email) buying `product`, optionally for a team.
pub fn v1_membership(
    membership: &str,
    user: &str,
    email: &str,
    product: &str,
    team: Option<i64>,
) -> Value {
    let metadata = match team {
        Some(team) => json!({"watchtower_team_id": team.to_string()}),
        None => json!({}),
    };
    json!({"id": membership, "status": "active",
           "user": {"id": user, "username": user, "name": "Buyer", "email": email},
           "product": {"id": product, "title": "WatchTower"}, "plan": {"id": "plan_unmapped"},
           "company": {"id": "biz_watchtower", "title": "WatchTower"},
           "renewal_period_start": "2026-01-01T00:00:00Z", "renewal_period_end": "2026-02-01T00:00:00Z",
           "cancel_at_period_end": false, "canceled_at": null, "metadata": metadata})
}

/// API v1 payment data.
pub fn v1_payment(payment: &str, membership: &str, user: &str, status: &str) -> Value {
    json!({"id": payment, "status": status, "total": 19.0, "subtotal": 19.0, "currency": "usd",
           "product": {"id": "prod_any"}, "user": {"id": user},
           "membership": {"id": membership, "status": "active"}})
}

/// A v5 envelope.
pub fn v5_event(action: &str, data: Value) -> Value {
    json!({"action": action, "api_version": "v5", "data": data})
}
