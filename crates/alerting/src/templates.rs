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
use minijinja::machinery::{Token, WhitespaceConfig, tokenize};
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde_json::{Map, Value, json};
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tokio::sync::Semaphore;
use watchtower_core::FieldError;

const TITLE: &str = "title_template";
const MESSAGE: &str = "message_template";
/// Longest template accepted, in characters.
const MAX_LENGTH: usize = 4_000;
/// Instructions one rendering may execute (minijinja fuel): a real alert sentence needs a few
/// hundred; a loop that would run for minutes stops here and the default wording is used.
pub const RENDER_FUEL: u64 = 20_000;
/// Longest rendered title or message, in bytes; longer output stops the rendering.
pub const MAX_RENDERED_BYTES: usize = 8 * 1024;
/// How long a delivery waits for its templates before using the default wording.
pub const RENDER_DEADLINE: Duration = Duration::from_secs(1);
/// Renderings running at once, each on a blocking thread: a stuck one holds a slot, never an
/// async worker, and deliveries that find no slot within the deadline use the default wording.
const RENDER_SLOTS: usize = 2;
/// The statements a template may use; `set`, `with`, macros and the rest are refused.
const ALLOWED_STATEMENTS: [&str; 6] = ["if", "elif", "else", "endif", "for", "endfor"];

static RENDER_PERMITS: LazyLock<Arc<Semaphore>> =
    LazyLock::new(|| Arc::new(Semaphore::new(RENDER_SLOTS)));

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

/// How strictly templates are judged when settings are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Judge {
    /// New input: the template must parse, use only the allowed constructs and render a sample
    /// message within its fuel and size.
    Input,
    /// A stored row, possibly saved under older rules: kept as written, checked again when
    /// rendered (and replaced by the default wording if it fails), so it never costs an alert.
    Stored,
}

impl ChannelSettings {
    /// Parses `{"kind": ..., ...service settings, "title_template"?, "message_template"?}`,
    /// listing every problem of both at once.
    pub fn parse(value: &Value, prefix: &str) -> Result<Self, Vec<FieldError>> {
        Self::parse_judged(value, prefix, Judge::Input)
    }

    /// Reads settings as stored: the service's settings must be valid, templates are taken as
    /// written (see [`MessageTemplates::apply`] for how a failing one is handled).
    pub fn from_stored(value: &Value) -> Result<Self, Vec<FieldError>> {
        Self::parse_judged(value, "", Judge::Stored)
    }

    /// Parses a replacement of `stored`. A setting sent back as answers show it (its secret
    /// replaced by `REDACTED`, or a URL cut to its origin) keeps the stored value, and only
    /// while the channel still delivers to the same host: a stored secret is never sent to a
    /// place its owner did not choose.
    pub fn parse_update(value: &Value, stored: &Self) -> Result<Self, Vec<FieldError>> {
        let shown = stored.redacted();
        let full = stored.to_value();
        let mut value = value.clone();
        let mut kept = Vec::new();
        if let (Value::Object(sent), Value::Object(shown), Value::Object(full)) =
            (&mut value, &shown, &full)
        {
            for (name, setting) in sent.iter_mut() {
                if let (Some(redacted), Some(secret)) = (shown.get(name), full.get(name))
                    && redacted != secret
                    && setting == redacted
                {
                    *setting = secret.clone();
                    kept.push(name.clone());
                }
            }
        }
        let parsed = Self::parse(&value, "")?;
        if !kept.is_empty() && parsed.config.endpoint_host() != stored.config.endpoint_host() {
            return Err(kept
                .into_iter()
                .map(|field| FieldError {
                    field,
                    problem: "keeps the stored secret, but the channel now delivers to another \
                              host: give the secret itself so it is only sent where you intend"
                        .into(),
                })
                .collect());
        }
        Ok(parsed)
    }

    fn parse_judged(value: &Value, prefix: &str, judge: Judge) -> Result<Self, Vec<FieldError>> {
        let mut service = value.clone();
        let mut problems = Vec::new();
        let mut templates = MessageTemplates::default();
        if let Value::Object(map) = &mut service {
            templates.title = take_template(map, TITLE, prefix, judge, &mut problems);
            templates.message = take_template(map, MESSAGE, prefix, judge, &mut problems);
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
    judge: Judge,
    problems: &mut Vec<FieldError>,
) -> Option<String> {
    let field = if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    };
    let mut problem = |text: String| {
        problems.push(FieldError {
            field: field.clone(),
            problem: text,
        });
    };
    match map.remove(name)? {
        Value::Null => None,
        Value::String(text) if text.trim().is_empty() => None,
        Value::String(text) if judge == Judge::Stored => Some(text),
        Value::String(text) if text.chars().count() > MAX_LENGTH => {
            problem(format!("must be at most {MAX_LENGTH} characters"));
            None
        }
        Value::String(text) => match check_template(&text) {
            Ok(()) => Some(text),
            Err(why) => {
                problem(why);
                None
            }
        },
        _ => {
            problem("must be text".into());
            None
        }
    }
}

/// Whether a template may be saved: it parses, uses only the allowed constructs, and renders a
/// sample message within its fuel and output size.
fn check_template(text: &str) -> Result<(), String> {
    allowed_constructs(text)?;
    let environment = environment();
    environment.template_from_str(text).map_err(|error| {
        format!(
            "is not a valid template: {}",
            error.detail().unwrap_or("syntax error")
        )
    })?;
    render_bounded(&environment, text, &context(&sample_notification()))
        .map(|_| ())
        .map_err(|failure| format!("cannot be rendered: {failure}"))
}

/// Refuses what could make one rendering cost far more than its fuel measures: operators that
/// build text or lists (`~`, `+`, `*`, `**`) and list, map or tuple literals (a handful of
/// instructions could otherwise double a value again and again, or compare or search one of
/// billions of items in a single step), and statements other than `if` and `for`.
#[allow(
    clippy::default_constructed_unit_structs,
    reason = "`SyntaxConfig` is a unit struct only while minijinja's `custom_syntax` feature is off"
)]
fn allowed_constructs(text: &str) -> Result<(), String> {
    let mut after_block_start = false;
    for token in tokenize(
        text,
        false,
        SyntaxConfig::default(),
        WhitespaceConfig::default(),
    ) {
        let (token, _) = token.map_err(|error| {
            format!(
                "is not a valid template: {}",
                error.detail().unwrap_or("syntax error")
            )
        })?;
        let refused = match &token {
            Token::Plus | Token::Mul | Token::Pow | Token::Tilde => {
                Some(format!("may not use the {token} operator"))
            }
            Token::BracketOpen | Token::BraceOpen | Token::Comma => Some(format!(
                "may not use {token}: list, map and tuple literals and filters with several \
                 arguments are not available in alert templates"
            )),
            Token::Ident(name) if after_block_start && !ALLOWED_STATEMENTS.contains(name) => Some(
                format!("may not use the `{name}` statement (only if/elif/else and for)"),
            ),
            Token::Ident("recursive") => Some("may not use recursive loops".into()),
            _ => None,
        };
        if let Some(refused) = refused {
            return Err(refused);
        }
        after_block_start = matches!(token, Token::BlockStart);
    }
    Ok(())
}

/// Why a rendering produced nothing usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum RenderFailure {
    #[error("it needs more than {RENDER_FUEL} steps")]
    OutOfFuel,
    #[error("its output is longer than {MAX_RENDERED_BYTES} bytes")]
    TooLong,
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

/// Renders `text` under the fuel and output bounds.
fn render_bounded(
    environment: &Environment<'_>,
    text: &str,
    facts: &Value,
) -> Result<String, RenderFailure> {
    // Stored templates may predate the current rules: judge them again before running them.
    allowed_constructs(text).map_err(RenderFailure::Refused)?;
    let template = environment
        .template_from_str(text)
        .map_err(|error| RenderFailure::Failed(error.to_string()))?;
    let mut output = BoundedOutput::default();
    match template.render_captured_to(facts, &mut output) {
        Ok(_) => Ok(String::from_utf8_lossy(&output.bytes).into_owned()),
        Err(_) if output.overflowed => Err(RenderFailure::TooLong),
        Err(error) if error.kind() == ErrorKind::OutOfFuel => Err(RenderFailure::OutOfFuel),
        Err(error) => Err(RenderFailure::Failed(error.to_string())),
    }
}

/// A writer that refuses to grow past [`MAX_RENDERED_BYTES`].
#[derive(Default)]
struct BoundedOutput {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl std::io::Write for BoundedOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_RENDERED_BYTES {
            self.overflowed = true;
            return Err(std::io::Error::other("the rendered text is too long"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Text templates: nothing is escaped here, each channel escapes for its own markup; a name
/// that is not a fact renders as empty rather than failing. Only filters and tests whose result
/// is no bigger than their input are available, and no functions (no `range`).
fn environment() -> Environment<'static> {
    use minijinja::{filters, tests};
    let mut environment = Environment::empty();
    environment.set_undefined_behavior(UndefinedBehavior::Lenient);
    environment.set_fuel(Some(RENDER_FUEL));
    environment.add_filter("upper", filters::upper);
    environment.add_filter("lower", filters::lower);
    environment.add_filter("title", filters::title);
    environment.add_filter("capitalize", filters::capitalize);
    environment.add_filter("trim", filters::trim);
    environment.add_filter("default", filters::default);
    environment.add_filter("d", filters::default);
    environment.add_filter("length", filters::length);
    environment.add_filter("first", filters::first);
    environment.add_filter("last", filters::last);
    environment.add_test("defined", tests::is_defined);
    environment.add_test("undefined", tests::is_undefined);
    environment.add_test("none", tests::is_none);
    environment
}

/// What rendering a channel's templates gave: `None` keeps the default wording.
#[derive(Debug, Default)]
struct Rendered {
    title: Option<String>,
    message: Option<String>,
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
    /// Rendering runs on a blocking thread, bounded by fuel, output size and [`RENDER_DEADLINE`];
    /// a template that fails any of them is logged and the default wording is used.
    pub async fn apply(&self, notification: &mut Notification) {
        if self.title.is_none() && self.message.is_none() {
            return;
        }
        let templates = self.clone();
        let facts = context(notification);
        let rendering = async {
            let permit = RENDER_PERMITS.clone().acquire_owned().await.ok()?;
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                templates.render(&facts)
            })
            .await
            .ok()
        };
        match tokio::time::timeout(RENDER_DEADLINE, rendering).await {
            Ok(Some(rendered)) => {
                notification.custom_title = rendered.title;
                notification.custom_message = rendered.message;
            }
            Ok(None) => {
                tracing::warn!(
                    "a channel's template could not be rendered; using the default wording"
                );
            }
            Err(_) => {
                tracing::warn!(
                    deadline_ms = RENDER_DEADLINE.as_millis() as u64,
                    "a channel's template did not render in time; using the default wording"
                );
            }
        }
    }

    /// [`Self::apply`] on the calling thread, without the deadline: fuel and the output bound
    /// still hold. For the fuzz targets, which judge those two bounds on their own.
    #[doc(hidden)]
    pub fn apply_on_this_thread(&self, notification: &mut Notification) {
        let rendered = self.render(&context(notification));
        notification.custom_title = rendered.title;
        notification.custom_message = rendered.message;
    }

    fn render(&self, facts: &Value) -> Rendered {
        let environment = environment();
        let render = |template: &Option<String>| -> Option<String> {
            let template = template.as_deref()?;
            match render_bounded(&environment, template, facts) {
                Ok(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
                Ok(_) => None,
                Err(failure) => {
                    tracing::warn!(%failure, "a channel's template failed; using the default wording");
                    None
                }
            }
        };
        Rendered {
            title: render(&self.title),
            message: render(&self.message),
        }
    }
}

/// The notification a template is tried on when it is saved.
fn sample_notification() -> Notification {
    use crate::notification::NotificationEvent;
    use watchtower_core::{MonitorState, TeamId, Timestamp};
    Notification {
        idempotency_key: "sample".into(),
        event: NotificationEvent::Down,
        team_id: TeamId(1),
        monitor_id: None,
        monitor_name: "Checkout API".into(),
        target: Some("https://shop.example.com/health".into()),
        state: MonitorState::Down,
        previous_state: Some(MonitorState::Up),
        cause: "HTTP 503 Service Unavailable".into(),
        since: Timestamp(1_795_774_500_000),
        at: Timestamp(1_795_774_620_000),
        down_since: Some(Timestamp(1_795_774_500_000)),
        certificate_expires_at: None,
        certificate: None,
        incident_id: None,
        incident_key: None,
        incident_url: Some("https://watchtower.example.com/incidents/1".into()),
        acknowledge_url: Some("https://watchtower.example.com/ack".into()),
        custom_title: None,
        custom_message: None,
        ops_signal: None,
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

    #[tokio::test]
    async fn templates_replace_the_title_and_summary() {
        let settings = ChannelSettings::parse(
            &json!({"kind": "webhook", "url": "https://h.example/x",
                    "title_template": "{{ event | upper }}: {{ monitor }}",
                    "message_template": "{{ monitor }} is {{ state }} for {{ duration }} ({{ cause }}); was: {{ default_title }}"}),
            "",
        )
        .unwrap();
        let mut n = notification();
        settings.templates.apply(&mut n).await;
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

    #[tokio::test]
    async fn a_template_failing_at_render_time_keeps_the_default() {
        let templates = MessageTemplates {
            title: Some("{{ monitor | no_such_filter }}".into()),
            message: None,
        };
        let mut n = notification();
        templates.apply(&mut n).await;
        assert_eq!(render::title(&n), "[DOWN] Checkout");
    }

    fn problem_of(template: &str) -> String {
        let problems = ChannelSettings::parse(
            &json!({"kind": "webhook", "url": "https://h.example/x", "message_template": template}),
            "",
        )
        .expect_err(template);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].field, "message_template");
        problems[0].problem.clone()
    }

    #[test]
    fn templates_that_could_run_away_are_refused_when_saved() {
        let attack = "{% for x in range(100000) * 100000000000 %}{% endfor %}";
        assert!(problem_of(attack).contains("`*`"), "{}", problem_of(attack));
        let doubling = "{% set s = monitor ~ monitor %}{% set s = s ~ s %}{{ s }}";
        assert!(problem_of(doubling).contains("`set`"));
        assert!(problem_of("{{ monitor ~ cause }}").contains("`~`"));
        assert!(problem_of("{{ 1 in [1, 2] }}").contains("`[`"));
        assert!(problem_of("{% for c in monitor recursive %}{% endfor %}").contains("recursive"));
        // Out of fuel on the sample message: nested loops over the facts.
        let loops = "{% for a in default_message %}{% for b in default_message %}\
                     {% for c in default_message %}{% for d in default_message %}\
                     {% endfor %}{% endfor %}{% endfor %}{% endfor %}";
        assert!(problem_of(loops).contains("steps"), "{}", problem_of(loops));
        // Longer than the output bound.
        let long = format!(
            "{{% for a in default_message %}}{}{{% endfor %}}",
            "x".repeat(400)
        );
        assert!(problem_of(&long).contains("bytes"), "{}", problem_of(&long));
        // No functions: `range` is not one of the names.
        assert!(problem_of("{% for i in range(3) %}{% endfor %}").contains("cannot be rendered"));
    }

    #[test]
    fn the_usual_constructs_still_work() {
        for template in [
            "{{ monitor | upper }} is {{ state | lower }} ({{ cause | default(\"no cause\") }})",
            "{% if event == \"down\" %}DOWN{% elif event == \"up\" %}UP{% else %}{{ event | title }}{% endif %}",
            "{% for c in monitor %}{{ c }}{% endfor %} {{ target | length }} {{ monitor | first }}",
            "{{ missing }}{% if missing is undefined %}none{% endif %} {{ \"down\" in event }}",
        ] {
            let settings = ChannelSettings::parse(
                &json!({"kind": "webhook", "url": "https://h.example/x", "message_template": template}),
                "",
            );
            assert!(settings.is_ok(), "{template}: {settings:?}");
        }
    }

    #[tokio::test]
    async fn a_stored_template_that_runs_out_of_fuel_keeps_the_default_wording() {
        // Saved before templates were bounded: read as stored, refused when rendered.
        let stored = json!({"kind": "webhook", "url": "https://h.example/x",
            "title_template": "{% for x in range(100000) * 100000000000 %}{% endfor %}",
            "message_template": "{% for a in default_message %}{% for b in default_message %}\
                {% for c in default_message %}{% for d in default_message %}\
                {% endfor %}{% endfor %}{% endfor %}{% endfor %}"});
        assert!(ChannelSettings::parse(&stored, "").is_err());
        let settings = ChannelSettings::from_stored(&stored).expect("stored settings are read");
        let mut n = notification();
        settings.templates.apply(&mut n).await;
        assert_eq!(n.custom_title, None);
        assert_eq!(n.custom_message, None);
        assert_eq!(render::title(&n), "[DOWN] Checkout");
    }

    #[test]
    fn rendering_stops_at_its_fuel_and_its_output_size() {
        let environment = environment();
        let facts = context(&notification());
        let loops = "{% for a in default_message %}{% for b in default_message %}\
                     {% for c in default_message %}{% for d in default_message %}\
                     {% endfor %}{% endfor %}{% endfor %}{% endfor %}";
        assert_eq!(
            render_bounded(&environment, loops, &facts),
            Err(RenderFailure::OutOfFuel)
        );
        let wide = "x".repeat(MAX_RENDERED_BYTES / 2);
        let twice = format!("{wide}{{{{ monitor }}}}{wide}");
        assert_eq!(
            render_bounded(&environment, &twice, &facts),
            Err(RenderFailure::TooLong)
        );
    }
}
