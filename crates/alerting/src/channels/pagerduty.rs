//! PagerDuty Events API v2: a `trigger` for DOWN and every other alarm, a `resolve` for UP, both
//! under the incident's `dedup_key` so PagerDuty pairs them. The routing key is the secret.
//!
//! On a retried send PagerDuty deduplicates: a second `trigger` with the same `dedup_key` joins
//! the open alert instead of opening another, and a second `resolve` does nothing.

use super::fields::Fields;
use super::{ChannelService, Delivered, DeliveryError, REDACTED, Sender, object};
use crate::notification::{Notification, NotificationEvent};
use crate::render::{self, Tone};
use serde_json::{Map, Value, json};
use url::Url;
use watchtower_core::ChannelKind;

const DEFAULT_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagerdutyConfig {
    /// The integration key of an Events API v2 integration.
    pub routing_key: String,
    pub events_url: Url,
}

impl ChannelService for PagerdutyConfig {
    const KIND_NAME: &'static str = "pagerduty";
    const PLAN_KIND: ChannelKind = ChannelKind::Pagerduty;

    fn parse(fields: &mut Fields<'_>) -> Option<Self> {
        let routing_key = fields.required_string("routing_key");
        if routing_key
            .as_ref()
            .is_some_and(|key| key.chars().any(|c| !c.is_ascii_graphic()))
        {
            fields.problem("routing_key", "must hold no spaces or special characters");
        }
        let events_url = fields.base_url("events_url", DEFAULT_EVENTS_URL);
        Some(Self {
            routing_key: routing_key?,
            events_url: events_url?,
        })
    }

    fn to_value(&self) -> Map<String, Value> {
        object(json!({
            "routing_key": self.routing_key,
            "events_url": self.events_url.as_str(),
        }))
    }

    fn redacted(&self) -> Map<String, Value> {
        let mut map = self.to_value();
        map.insert("routing_key".into(), Value::from(REDACTED));
        map
    }

    fn endpoint_host(&self) -> Option<String> {
        self.events_url.host_str().map(str::to_owned)
    }

    async fn deliver(&self, sender: &Sender, n: &Notification) -> Result<Delivered, DeliveryError> {
        deliver(sender, self, n).await
    }
}

/// The event. `dedup_key` is the incident's key, so DOWN and its UP meet in one alert; without an
/// incident the notification's own idempotency key still makes a retry harmless.
pub(crate) fn payload(config: &PagerdutyConfig, n: &Notification) -> Value {
    let dedup_key = n.incident_key.as_deref().unwrap_or(&n.idempotency_key);
    if n.event == NotificationEvent::Up {
        // PagerDuty reads only the key of a resolve.
        return json!({
            "routing_key": config.routing_key,
            "event_action": "resolve",
            "dedup_key": dedup_key,
        });
    }
    let severity = match Tone::of(n.event) {
        Tone::Critical => "critical",
        Tone::Warning => "warning",
        Tone::Good | Tone::Info => "info",
    };
    let mut details: Map<String, Value> = render::facts(n)
        .into_iter()
        .map(|fact| (fact.label.to_owned(), Value::from(fact.value)))
        .collect();
    details.insert("Event".into(), Value::from(n.event.as_str()));
    if let Some(monitor) = n.monitor_id {
        details.insert("Monitor id".into(), Value::from(monitor.0));
    }
    if let Some(incident) = n.incident_id {
        details.insert("Incident id".into(), Value::from(incident.0));
    }
    let links: Vec<Value> = render::links(n)
        .into_iter()
        .map(|link| json!({ "href": link.url, "text": link.label }))
        .collect();
    let mut event = json!({
        "routing_key": config.routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "client": "WatchTower",
        "links": links,
        "payload": {
            "summary": render::truncate(&render::summary(n), 1024),
            "source": n.target.as_deref().unwrap_or(&n.monitor_name),
            "severity": severity,
            "timestamp": render::iso8601(n.at),
            "component": n.monitor_name,
            "class": n.event.as_str(),
            "custom_details": details,
        },
    });
    if let Some(url) = &n.incident_url {
        event["client_url"] = Value::from(url.as_str());
    }
    event
}

pub(crate) async fn deliver(
    sender: &Sender,
    config: &PagerdutyConfig,
    n: &Notification,
) -> Result<Delivered, DeliveryError> {
    let request = sender
        .http()
        .post(config.events_url.clone())
        .json(&payload(config, n));
    sender.send(request).await
}
