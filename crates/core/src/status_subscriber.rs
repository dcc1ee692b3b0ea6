//! Who hears of a status page's incident posts: email subscribers, who sign up on the page and
//! count once they follow the signed link of a confirmation email (double opt-in), and webhook
//! subscribers, added by the team. Either may follow only some of the page's components.
//! Parsing lists every bad field; a sign-up throttle decides whether another confirmation email
//! may go to an address.

use crate::account::Email;
use crate::status_page::MAX_COMPONENTS;
use crate::time::Timestamp;
use crate::validation::FieldError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The longest webhook URL.
pub const MAX_WEBHOOK_URL: usize = 2_048;
/// The longest component name a subscriber may follow (a page's are at most 100 characters).
const MAX_COMPONENT_NAME: usize = 100;

/// How a subscriber is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriberKind {
    /// An email to the address, through the page's subscriber email channel.
    Email,
    /// A JSON POST to the URL.
    Webhook,
}

impl SubscriberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Webhook => "webhook",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Email, Self::Webhook]
            .into_iter()
            .find(|kind| kind.as_str() == raw)
    }
}

/// A subscriber as asked for, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscriber {
    pub kind: SubscriberKind,
    /// The email address, lower case, or the webhook URL.
    pub address: String,
    /// The component names followed; `None` follows every component (and posts naming none).
    pub components: Option<Vec<String>>,
}

/// An email address as subscribers are kept: checked like an account's, then lower case, so one
/// mailbox is one subscriber however it is typed.
pub fn subscriber_email(raw: &str) -> Result<String, String> {
    // Lowered first, so the length and every rule are checked on what is kept (lowering can
    // lengthen a non-ASCII address).
    Email::parse(&raw.to_lowercase()).map(|email| email.as_str().to_owned())
}

/// A webhook subscriber's URL: http or https, with a host, no user-info, at most 2,048 bytes.
pub fn subscriber_webhook(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("is required".into());
    }
    if text.len() > MAX_WEBHOOK_URL {
        return Err(format!("must be at most {MAX_WEBHOOK_URL} bytes"));
    }
    let url = url::Url::parse(text).map_err(|error| format!("is not a URL: {error}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http or https URL with a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold a user name or password; put a secret in the path".into());
    }
    Ok(url.to_string())
}

/// The components a subscriber follows, from a JSON list of names (`null` or absent: all).
/// Unknown names are for the caller to judge against the page.
pub fn parse_components(
    value: Option<&Value>,
    problems: &mut Vec<FieldError>,
) -> Option<Vec<String>> {
    let list = match value {
        None | Some(Value::Null) => return None,
        Some(Value::Array(list)) => list,
        Some(_) => {
            problems.push(FieldError::new(
                "components",
                "must be a list of component names",
            ));
            return None;
        }
    };
    if list.len() > MAX_COMPONENTS {
        problems.push(FieldError::new(
            "components",
            format!("must name at most {MAX_COMPONENTS} components"),
        ));
        return None;
    }
    let mut names: Vec<String> = Vec::with_capacity(list.len());
    for (index, item) in list.iter().enumerate() {
        match item.as_str() {
            Some(name) if !name.is_empty() && name.chars().count() <= MAX_COMPONENT_NAME => {
                if !names.iter().any(|known| known == name) {
                    names.push(name.to_owned());
                }
            }
            _ => problems.push(FieldError::new(
                format!("components[{index}]"),
                "must be a component name of 1 to 100 characters",
            )),
        }
    }
    if names.is_empty() && problems.is_empty() {
        problems.push(FieldError::new(
            "components",
            "must name at least one component, or be left out to follow them all",
        ));
    }
    Some(names)
}

/// A subscriber from the API's body: `{"kind": "webhook", "url": ...}` or
/// `{"kind": "email", "email": ...}`, each with optional `components`.
pub fn parse_new_subscriber(body: &Value) -> Result<NewSubscriber, Vec<FieldError>> {
    let mut problems = Vec::new();
    let Some(object) = body.as_object() else {
        return Err(vec![FieldError::new("", "must be a JSON object")]);
    };
    for field in object.keys() {
        if !matches!(field.as_str(), "kind" | "email" | "url" | "components") {
            problems.push(FieldError::new(field.clone(), "is not a subscriber field"));
        }
    }
    let kind = match object.get("kind").and_then(Value::as_str) {
        Some(raw) => match SubscriberKind::parse(raw) {
            Some(kind) => Some(kind),
            None => {
                problems.push(FieldError::new("kind", "must be email or webhook"));
                None
            }
        },
        None => {
            problems.push(FieldError::new("kind", "is required: email or webhook"));
            None
        }
    };
    let address = match kind {
        Some(SubscriberKind::Email) => text_field(
            object.get("email"),
            "email",
            subscriber_email,
            &mut problems,
        ),
        Some(SubscriberKind::Webhook) => {
            text_field(object.get("url"), "url", subscriber_webhook, &mut problems)
        }
        None => None,
    };
    let components = parse_components(object.get("components"), &mut problems);
    match (kind, address) {
        (Some(kind), Some(address)) if problems.is_empty() => Ok(NewSubscriber {
            kind,
            address,
            components,
        }),
        _ => Err(problems),
    }
}

fn text_field(
    value: Option<&Value>,
    field: &str,
    parse: fn(&str) -> Result<String, String>,
    problems: &mut Vec<FieldError>,
) -> Option<String> {
    let outcome = match value {
        None | Some(Value::Null) => Err("is required".to_owned()),
        Some(Value::String(text)) => parse(text),
        Some(_) => Err("must be a string".to_owned()),
    };
    outcome
        .map_err(|problem| problems.push(FieldError::new(field, problem)))
        .ok()
}

/// How often one address may be sent a confirmation email: not again within ten minutes, and
/// at most five in a day, so a sign-up form cannot be used to flood someone's inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignUpThrottle {
    /// When the last confirmation was queued.
    pub last: Option<Timestamp>,
    /// The start of the current day's count, and the count.
    pub since: Option<Timestamp>,
    pub count: u32,
}

impl SignUpThrottle {
    pub const GAP_MS: i64 = 10 * 60 * 1000;
    pub const DAY_MS: i64 = 24 * 3600 * 1000;
    pub const PER_DAY: u32 = 5;

    /// `Ok` with the throttle after one more confirmation at `now`, or how many seconds until
    /// one may go.
    pub fn admit(self, now: Timestamp) -> Result<Self, u64> {
        let wait_ms = |until: i64| u64::try_from((until - now.0).max(1000) / 1000).unwrap_or(1);
        if let Some(last) = self.last
            && now.0 < last.0 + Self::GAP_MS
        {
            return Err(wait_ms(last.0 + Self::GAP_MS));
        }
        let (since, count) = match self.since {
            Some(since) if now.0 < since.0 + Self::DAY_MS => (since, self.count),
            _ => (now, 0),
        };
        if count >= Self::PER_DAY {
            return Err(wait_ms(since.0 + Self::DAY_MS));
        }
        Ok(Self {
            last: Some(now),
            since: Some(since),
            count: count + 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_subscriber_body_lists_every_bad_field() {
        let problems = parse_new_subscriber(&json!({
            "kind": "email", "email": "not an address", "components": [1, ""], "extra": true
        }))
        .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["extra", "email", "components[0]", "components[1]"]);

        let ok = parse_new_subscriber(&json!({
            "kind": "email", "email": " Ops@Example.COM ", "components": ["API", "API"]
        }))
        .unwrap();
        assert_eq!(ok.address, "ops@example.com");
        assert_eq!(ok.components, Some(vec!["API".to_owned()]));
    }

    #[test]
    fn a_webhook_url_must_be_http_without_credentials() {
        assert!(subscriber_webhook("https://hooks.example.com/x").is_ok());
        assert!(subscriber_webhook("ftp://example.com/").is_err());
        assert!(subscriber_webhook("https://user:pw@example.com/").is_err());
        assert!(subscriber_webhook(&format!("https://e.com/{}", "a".repeat(3000))).is_err());
        let problems = parse_new_subscriber(&json!({"kind": "webhook"})).unwrap_err();
        assert_eq!(problems[0].field, "url");
    }

    #[test]
    fn the_sign_up_throttle_spaces_and_caps_confirmations() {
        let start = Timestamp(1_000_000_000);
        let mut throttle = SignUpThrottle {
            last: None,
            since: None,
            count: 0,
        };
        throttle = throttle.admit(start).unwrap();
        assert_eq!(throttle.admit(Timestamp(start.0 + 60_000)), Err(540));
        let mut at = start.0;
        for _ in 1..SignUpThrottle::PER_DAY {
            at += SignUpThrottle::GAP_MS;
            throttle = throttle.admit(Timestamp(at)).unwrap();
        }
        at += SignUpThrottle::GAP_MS;
        let wait = throttle.admit(Timestamp(at)).unwrap_err();
        assert_eq!(
            wait,
            u64::try_from((start.0 + SignUpThrottle::DAY_MS - at) / 1000).unwrap()
        );
        assert!(
            throttle
                .admit(Timestamp(start.0 + SignUpThrottle::DAY_MS))
                .is_ok()
        );
    }
}
