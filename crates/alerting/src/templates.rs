//! A channel's own wording: optional `title_template` and `message_template` settings, written in
//! Jinja syntax (minijinja) over the notification's facts, replacing the default title and summary
//! sentence (`render.rs`); the labelled facts and links still follow. A template that fails when a
//! message is rendered falls back to the default wording, so a typo never costs an alert.
//!
//! ```text
//! title_template:   "{{ event | upper }}: {{ monitor }}"
//! message_template: "{{ monitor }} ({{ target }}) is {{ state }} since {{ since }}: {{ cause }}"
//! ```

use crate::channels::ChannelConfig;
use crate::notification::Notification;
use crate::render;
use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Map, Value, json};
use watchtower_core::FieldError;

const TITLE: &str = "title_template";
const MESSAGE: &str = "message_template";
/// Longest template accepted, in characters.
const MAX_LENGTH: usize = 4_000;

/// The templates of one channel; `None` keeps the default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageTemplates {
    pub title: Option<String>,
    pub message: Option<String>,
}

/// A channel's stored settings: the service's, and the optional templates.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelSettings {
    pub config: ChannelConfig,
    pub templates: MessageTemplates,
}

impl ChannelSettings {
    /// Parses `{"kind": ..., ...service settings, "title_template"?, "message_template"?}`,
    /// listing every problem of both at once.
    pub fn parse(value: &Value, prefix: &str) -> Result<Self, Vec<FieldError>> {
        let mut service = value.clone();
        let mut problems = Vec::new();
        let mut templates = MessageTemplates::default();
        if let Value::Object(map) = &mut service {
            templates.title = take_template(map, TITLE, prefix, &mut problems);
            templates.message = take_template(map, MESSAGE, prefix, &mut problems);
        }
        let config = ChannelConfig::parse(&service, prefix)
            .map_err(|found| problems.extend(found))
            .ok();
        match config {
            Some(config) if problems.is_empty() => Ok(Self { config, templates }),
            _ => Err(problems),
        }
    }

    /// Everything, secrets included: for storage.
    pub fn to_value(&self) -> Value {
        self.templates.merged_into(self.config.to_value())
    }

    /// What API answers show: secrets hidden, templates as written.
    pub fn redacted(&self) -> Value {
        self.templates.merged_into(self.config.redacted())
    }
}

fn take_template(
    map: &mut Map<String, Value>,
    name: &str,
    prefix: &str,
    problems: &mut Vec<FieldError>,
) -> Option<String> {
    let field = if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    };
    match map.remove(name)? {
        Value::Null => None,
        Value::String(text) if text.trim().is_empty() => None,
        Value::String(text) if text.chars().count() > MAX_LENGTH => {
            problems.push(FieldError {
                field,
                problem: format!("must be at most {MAX_LENGTH} characters"),
            });
            None
        }
        Value::String(text) => match environment().template_from_str(&text) {
            Ok(_) => Some(text),
            Err(error) => {
                problems.push(FieldError {
                    field,
                    problem: format!(
                        "is not a valid template: {}",
                        error.detail().unwrap_or("syntax error")
                    ),
                });
                None
            }
        },
        _ => {
            problems.push(FieldError {
                field,
                problem: "must be text".into(),
            });
            None
        }
    }
}

/// Text templates: nothing is escaped here, each channel escapes for its own markup; a name
/// that is not a fact renders as empty rather than failing.
fn environment() -> Environment<'static> {
    let mut environment = Environment::new();
    environment.set_undefined_behavior(UndefinedBehavior::Lenient);
    environment
}

impl MessageTemplates {
    fn merged_into(&self, mut settings: Value) -> Value {
        if let Value::Object(map) = &mut settings {
            for (name, template) in [(TITLE, &self.title), (MESSAGE, &self.message)] {
                if let Some(template) = template {
                    map.insert(name.to_owned(), Value::String(template.clone()));
                }
            }
        }
        settings
    }

    /// Sets the notification's custom title and message from the templates, where they render.
    pub fn apply(&self, notification: &mut Notification) {
        if self.title.is_none() && self.message.is_none() {
            return;
        }
        let facts = context(notification);
        let environment = environment();
        let render = |template: &Option<String>| -> Option<String> {
            let template = template.as_deref()?;
            match environment.render_str(template, &facts) {
                Ok(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
                Ok(_) => None,
                Err(error) => {
                    tracing::warn!(%error, "a channel's template failed; using the default wording");
                    None
                }
            }
        };
        notification.custom_title = render(&self.title);
        notification.custom_message = render(&self.message);
    }
}

/// The facts a template can use.
fn context(n: &Notification) -> Value {
    let since = render::utc(n.since);
    let duration = render::duration(n.at.since(n.down_since.unwrap_or(n.since)));
    json!({
        "event": n.event.as_str(),
        "monitor": n.monitor_name,
        "target": n.target.clone().unwrap_or_default(),
        "state": n.state.to_string(),
        "previous_state": n.previous_state.map(|s| s.to_string()).unwrap_or_default(),
        "cause": n.cause,
        "since": since,
        "at": render::utc(n.at),
        "duration": duration,
        "down_since": n.down_since.map(render::utc).unwrap_or_default(),
        "incident_url": n.incident_url.clone().unwrap_or_default(),
        "acknowledge_url": n.acknowledge_url.clone().unwrap_or_default(),
        "certificate_expires_at": n.certificate_expires_at.map(render::utc).unwrap_or_default(),
        "default_title": render::default_title(n),
        "default_message": render::default_summary(n),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::NotificationEvent;
    use watchtower_core::{MonitorState, TeamId, Timestamp};

    fn notification() -> Notification {
        Notification {
            idempotency_key: "n-1".into(),
            event: NotificationEvent::Down,
            team_id: TeamId(1),
            monitor_id: None,
            monitor_name: "Checkout".into(),
            target: Some("https://shop.example/".into()),
            state: MonitorState::Down,
            previous_state: Some(MonitorState::Up),
            cause: "status 503".into(),
            since: Timestamp(1_795_774_500_000),
            at: Timestamp(1_795_774_620_000),
            down_since: None,
            certificate_expires_at: None,
            certificate: None,
            incident_id: None,
            incident_key: None,
            incident_url: None,
            acknowledge_url: None,
            custom_title: None,
            custom_message: None,
            ops_signal: None,
        }
    }

    #[test]
    fn templates_replace_the_title_and_summary() {
        let settings = ChannelSettings::parse(
            &json!({"kind": "webhook", "url": "https://h.example/x",
                    "title_template": "{{ event | upper }}: {{ monitor }}",
                    "message_template": "{{ monitor }} is {{ state }} for {{ duration }} ({{ cause }}); was: {{ default_title }}"}),
            "",
        )
        .unwrap();
        let mut n = notification();
        settings.templates.apply(&mut n);
        assert_eq!(render::title(&n), "DOWN: Checkout");
        assert_eq!(
            render::summary(&n),
            "Checkout is DOWN for 2m (status 503); was: [DOWN] Checkout"
        );
        let stored = settings.to_value();
        assert_eq!(
            stored["title_template"],
            "{{ event | upper }}: {{ monitor }}"
        );
        assert_eq!(ChannelSettings::parse(&stored, "").unwrap(), settings);
    }

    #[test]
    fn a_broken_template_is_a_problem_with_its_field() {
        let problems = ChannelSettings::parse(
            &json!({"kind": "slack", "title_template": "{{ monitor ", "message_template": 5}),
            "channels[2]",
        )
        .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert!(
            fields.contains(&"channels[2].title_template"),
            "{problems:?}"
        );
        assert!(
            fields.contains(&"channels[2].message_template"),
            "{problems:?}"
        );
        assert!(fields.contains(&"channels[2].webhook_url"), "{problems:?}");
    }

    #[test]
    fn a_template_failing_at_render_time_keeps_the_default() {
        let templates = MessageTemplates {
            title: Some("{{ monitor | no_such_filter }}".into()),
            message: None,
        };
        let mut n = notification();
        templates.apply(&mut n);
        assert_eq!(render::title(&n), "[DOWN] Checkout");
    }
}
