//! Creating and deleting the alerting objects from forms: channels, alert rules, escalation
//! policies and maintenance windows. As with the monitor form, a posted form becomes the API's
//! JSON and goes to the API's own handler, so the parsers, the permissions, the plan limits and
//! the audit log are the API's; each problem the parser reports is shown next to its field.

use super::form::{Posted, problem_of, value_of};
use super::monitor_form::{FieldView, KindChoice, KindSet};
use super::page::{Shell, WebError, WebPage, render};
use crate::AppState;
use crate::api::ApiJson;
use crate::api::alerting::channels::{create_channel, delete_channel, list_channels};
use crate::api::alerting::rules::{RuleBody, create_rule, delete_rule};
use crate::api::escalation::{self, PolicyBody, StepBody};
use crate::api::maintenance;
use crate::error::ApiError;
use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value};
use watchtower_alerting::ChannelConfig;
use watchtower_core::{
    Action, AlertEvent, AlertRuleId, ChannelId, EscalationPolicyId, FieldError,
    MaintenanceWindowId, MonitorId,
};
use watchtower_store::PageRequest;

/// The most monitors a form offers to choose from; a larger team picks by tag.
const MONITOR_CHOICES: u32 = 500;

/// Escalation steps the form offers (the API takes up to ten; more are for the monitors file).
const POLICY_STEPS: usize = 3;

/// The events a rule can be for (reminders follow from `remind_every`; tests are sent by hand).
const RULE_EVENTS: [AlertEvent; 4] = [
    AlertEvent::Down,
    AlertEvent::Up,
    AlertEvent::Degraded,
    AlertEvent::CertificateExpiring,
];

/// One input of a channel kind's settings: its name, label, hint, and whether it is a secret
/// (typed into a password field, never shown back).
type SettingField = (&'static str, &'static str, &'static str, bool);

/// The settings the form shows for each channel kind (others are for the monitors file).
fn channel_fields(kind: &str) -> &'static [SettingField] {
    match kind {
        "email" => &[
            ("to", "Send to", "Comma-separated addresses.", false),
            ("host", "SMTP server", "e.g. smtp.example.com", false),
            (
                "port",
                "Port",
                "Empty for the security's usual port.",
                false,
            ),
            (
                "security",
                "Security",
                "starttls (default), tls or none",
                false,
            ),
            (
                "username",
                "User name",
                "Empty when the server needs none.",
                false,
            ),
            ("password", "Password", "", true),
        ],
        "slack" | "discord" | "teams" => &[(
            "webhook_url",
            "Webhook URL",
            "The incoming webhook's URL from the service.",
            true,
        )],
        "telegram" => &[
            ("bot_token", "Bot token", "From @BotFather.", true),
            (
                "chat_id",
                "Chat id",
                "The chat or channel to post in.",
                false,
            ),
        ],
        "pagerduty" => &[(
            "routing_key",
            "Routing key",
            "The Events API v2 integration key.",
            true,
        )],
        "ntfy" => &[
            ("server", "Server", "Empty for https://ntfy.sh", false),
            ("topic", "Topic", "", true),
            ("token", "Access token", "For a protected topic.", true),
        ],
        "sms" => &[
            ("account_sid", "Account SID", "", false),
            ("auth_token", "Auth token", "", true),
            ("from", "From", "The sending number, e.g. +15550100", false),
            ("to", "To", "The number told, e.g. +15550199", false),
        ],
        "webhook" => &[
            (
                "url",
                "URL",
                "Receives a JSON POST per notification.",
                false,
            ),
            (
                "secret",
                "Signing secret",
                "Optional: whsec_ and 24 to 64 bytes in base64; each body is then signed.",
                true,
            ),
        ],
        _ => &[],
    }
}

/// Fields sent as numbers, and fields sent as comma-separated lists.
const CHANNEL_NUMBERS: [&str; 1] = ["port"];
const CHANNEL_LISTS: [&str; 1] = ["to"];

/// One option of a select or a box of a fieldset of checkboxes.
#[derive(Debug, Clone)]
pub struct OptionView {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A select (one choice, or several with `multiple`) or, with `boxes`, a fieldset of
/// checkboxes.
#[derive(Debug, Clone)]
pub struct ChoiceView {
    pub id: String,
    pub name: String,
    pub label: String,
    pub hint: &'static str,
    pub options: Vec<OptionView>,
    pub multiple: bool,
    pub boxes: bool,
    pub problem: String,
}

/// One control of a form, in the order shown.
#[derive(Debug, Clone)]
pub enum Control {
    Text(FieldView),
    Choice(ChoiceView),
    /// A heading that starts a group of controls (an escalation step).
    Group(String),
}

#[derive(Template)]
#[template(path = "alerting_form.html")]
struct AlertingFormPage {
    shell: Shell,
    action: &'static str,
    submit: &'static str,
    intro: &'static str,
    /// The channel form's kind select and its fieldsets (empty on the other forms).
    kinds: Vec<KindChoice>,
    sets: Vec<KindSet>,
    controls: Vec<Control>,
    problems: Vec<FieldError>,
    message: String,
}

impl AlertingFormPage {
    fn new(page: &WebPage, title: &'static str, action: &'static str) -> Self {
        let mut shell = page.shell(title, "alerting");
        shell.live = false;
        Self {
            shell,
            action,
            submit: title,
            intro: "",
            kinds: Vec::new(),
            sets: Vec::new(),
            controls: Vec::new(),
            problems: Vec::new(),
            message: String::new(),
        }
    }
}

fn values_of(form: &Posted, name: &str) -> Vec<String> {
    form.iter()
        .filter(|(key, value)| key == name && !value.trim().is_empty())
        .map(|(_, value)| value.trim().to_owned())
        .collect()
}

fn text(
    id: String,
    name: &str,
    label: &'static str,
    hint: &'static str,
    value: String,
    problem: String,
) -> FieldView {
    FieldView {
        id,
        name: name.to_owned(),
        label,
        hint,
        value,
        problem,
        secret: false,
    }
}

/// A text field of a form whose input names are the API's field names.
fn plain(
    form: &Posted,
    problems: &[FieldError],
    name: &str,
    label: &'static str,
    hint: &'static str,
) -> Control {
    Control::Text(text(
        name.replace('_', "-"),
        name,
        label,
        hint,
        value_of(form, name),
        problem_of(problems, name),
    ))
}

fn comma_list(text: &str) -> Vec<Value> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| Value::String(item.to_owned()))
        .collect()
}

/// How a form shows the API's refusal: field problems next to their fields, anything else (a
/// plan limit, a conflict) above the form. Not found and server errors are error pages.
struct Refusal {
    status: StatusCode,
    problems: Vec<FieldError>,
    message: String,
}

impl Refusal {
    fn of(error: ApiError) -> Result<Self, WebError> {
        let status = error.status;
        if status.is_server_error() || status == StatusCode::NOT_FOUND {
            return Err(error.into());
        }
        let message = if error.details.is_empty() {
            error.message
        } else {
            String::new()
        };
        Ok(Self {
            status: if status == StatusCode::FORBIDDEN || status == StatusCode::PAYMENT_REQUIRED {
                status
            } else {
                StatusCode::BAD_REQUEST
            },
            problems: error.details,
            message,
        })
    }

    /// Problems the form finds before the API sees it (a number that is not one).
    fn here(problems: Vec<FieldError>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            problems,
            message: String::new(),
        }
    }

    /// The form built with the problems, answered with the refusal's status.
    fn answer(self, mut form: AlertingFormPage) -> Response {
        form.message = self.message;
        (self.status, render(&form)).into_response()
    }
}

/// The alerting page, where each created or deleted object shows.
fn back_to(section: &str) -> Response {
    Redirect::to(&format!("/alerting#{section}")).into_response()
}

// ---- Channels ----

fn channel_form(page: &WebPage, form: &Posted, problems: &[FieldError]) -> AlertingFormPage {
    let chosen = match value_of(form, "kind") {
        kind if kind.is_empty() => "email".to_owned(),
        kind => kind,
    };
    let mut view = AlertingFormPage::new(page, "Add channel", "/alerting/channels/new");
    view.intro = "Where notifications go. Secrets are stored and never shown again; \
                  send a test from the alerting page once it is added.";
    view.controls = vec![plain(
        form,
        problems,
        "name",
        "Name",
        "What people call it, e.g. ops-email.",
    )];
    view.kinds = ChannelConfig::KIND_NAMES
        .iter()
        .map(|kind| KindChoice {
            name: kind,
            selected: *kind == chosen,
        })
        .collect();
    view.sets = ChannelConfig::KIND_NAMES
        .iter()
        .map(|kind| KindSet {
            kind,
            fields: channel_fields(kind)
                .iter()
                .map(|(name, label, hint, secret)| {
                    // Each kind's inputs are named `kind.field`: without JavaScript every
                    // fieldset is posted, and two kinds share names such as `to`.
                    let input = format!("{kind}.{name}");
                    FieldView {
                        id: format!("{kind}-{name}").replace('_', "-"),
                        name: input.clone(),
                        label,
                        hint,
                        value: if *secret || *kind != chosen {
                            String::new()
                        } else {
                            value_of(form, &input)
                        },
                        problem: if *kind == chosen {
                            problem_of(problems, name)
                        } else {
                            String::new()
                        },
                        secret: *secret,
                    }
                })
                .collect(),
        })
        .collect();
    view.problems = problems.to_vec();
    view
}

/// The channel JSON of a posted form: name, kind and the chosen kind's settings, blanks left
/// out so defaults apply.
fn channel_json(form: &Posted) -> Value {
    let kind = value_of(form, "kind");
    let mut body = Map::new();
    body.insert("name".into(), Value::String(value_of(form, "name")));
    body.insert("kind".into(), Value::String(kind.clone()));
    for (name, ..) in channel_fields(&kind) {
        let text = value_of(form, &format!("{kind}.{name}"));
        if text.is_empty() {
            continue;
        }
        let value = if CHANNEL_LISTS.contains(name) && kind == "email" {
            Value::Array(comma_list(&text))
        } else if CHANNEL_NUMBERS.contains(name) {
            // Not a number: passed on as text, so the parser names the field.
            text.parse::<i64>()
                .map_or_else(|_| Value::String(text.clone()), Value::from)
        } else {
            Value::String(text)
        };
        body.insert((*name).to_owned(), value);
    }
    Value::Object(body)
}

/// `GET /alerting/channels/new`.
pub async fn new_channel(page: WebPage) -> Result<Response, WebError> {
    page.access.require(Action::ManageChannels)?;
    Ok(render(&channel_form(&page, &Vec::new(), &[])))
}

/// `POST /alerting/channels/new`.
pub async fn add_channel(
    State(state): State<AppState>,
    page: WebPage,
    Form(form): Form<Posted>,
) -> Result<Response, WebError> {
    let body = channel_json(&form);
    match create_channel(State(state), page.access.clone(), ApiJson(body)).await {
        Ok(_) => Ok(back_to("channels")),
        Err(error) => {
            let refusal = Refusal::of(error)?;
            let view = channel_form(&page, &form, &refusal.problems);
            Ok(refusal.answer(view))
        }
    }
}

/// `POST /alerting/channels/{id}/delete`: the rules and policies that name it lose it.
pub async fn remove_channel(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<ChannelId>,
) -> Result<Response, WebError> {
    delete_channel(State(state), page.access.clone(), Path(id)).await?;
    Ok(back_to("channels"))
}

// ---- What rules, policies and windows choose from ----

async fn channel_options(
    state: &AppState,
    page: &WebPage,
    chosen: &[String],
) -> Result<Vec<OptionView>, WebError> {
    let Json(list) = list_channels(State(state.clone()), page.access.clone()).await?;
    Ok(list
        .channels
        .iter()
        .map(|channel| OptionView {
            value: channel.id.to_string(),
            label: format!("{} ({})", channel.name, channel.kind),
            selected: chosen.contains(&channel.id.to_string()),
        })
        .collect())
}

/// The team's first monitors by id, for a select; `none` is the first option's label when the
/// choice is optional.
async fn monitor_options(
    state: &AppState,
    page: &WebPage,
    chosen: &[String],
    none: Option<&str>,
) -> Result<Vec<OptionView>, WebError> {
    let monitors = state
        .store
        .list_monitors(
            page.access.team.id,
            &PageRequest {
                limit: MONITOR_CHOICES,
                ..PageRequest::default()
            },
        )
        .await
        .map_err(ApiError::from)?;
    let mut options: Vec<OptionView> = none
        .map(|label| OptionView {
            value: String::new(),
            label: label.to_owned(),
            selected: chosen.is_empty(),
        })
        .into_iter()
        .collect();
    options.extend(monitors.iter().map(|listing| OptionView {
        value: listing.monitor.id.to_string(),
        label: listing.monitor.spec.name.clone(),
        selected: chosen.contains(&listing.monitor.id.to_string()),
    }));
    Ok(options)
}

fn choice(
    name: &str,
    label: &str,
    hint: &'static str,
    options: Vec<OptionView>,
    problems: &[FieldError],
) -> ChoiceView {
    ChoiceView {
        id: name.replace('_', "-"),
        name: name.to_owned(),
        label: label.to_owned(),
        hint,
        options,
        multiple: false,
        boxes: false,
        problem: problem_of(problems, name),
    }
}

fn boxes(
    name: &str,
    label: &str,
    hint: &'static str,
    options: Vec<OptionView>,
    problems: &[FieldError],
) -> Control {
    Control::Choice(ChoiceView {
        boxes: true,
        ..choice(name, label, hint, options, problems)
    })
}

/// A whole number typed into a form: `None` when blank, a problem when it is not a number.
fn number(form: &Posted, name: &str, problems: &mut Vec<FieldError>) -> Option<i64> {
    let text = value_of(form, name);
    if text.is_empty() {
        return None;
    }
    text.parse().map_or_else(
        |_| {
            problems.push(FieldError {
                field: name.to_owned(),
                problem: "must be a whole number".into(),
            });
            None
        },
        Some,
    )
}

// ---- Alert rules ----

async fn rule_form(
    state: &AppState,
    page: &WebPage,
    form: &Posted,
    problems: &[FieldError],
) -> Result<AlertingFormPage, WebError> {
    let mut view = AlertingFormPage::new(page, "Add alert rule", "/alerting/rules/new");
    view.intro = "Which events of which monitors are sent to which channels.";
    let events = values_of(form, "events");
    let events = if form.is_empty() {
        vec!["down".to_owned(), "up".to_owned()]
    } else {
        events
    };
    let policies = {
        let Json(list) = escalation::list(State(state.clone()), page.access.clone()).await?;
        let chosen = value_of(form, "escalation_policy_id");
        std::iter::once(OptionView {
            value: String::new(),
            label: "none".into(),
            selected: chosen.is_empty(),
        })
        .chain(list.policies.iter().map(|policy| OptionView {
            value: policy.id.to_string(),
            label: policy.name.clone(),
            selected: policy.id.to_string() == chosen,
        }))
        .collect()
    };
    view.controls = vec![
        plain(
            form,
            problems,
            "name",
            "Name",
            "e.g. outages to the on-call",
        ),
        Control::Choice(choice(
            "monitor_id",
            "Monitor",
            "One monitor, or every monitor (narrowed by the tag below).",
            monitor_options(
                state,
                page,
                &values_of(form, "monitor_id"),
                Some("every monitor"),
            )
            .await?,
            problems,
        )),
        plain(form, problems, "tag", "Tag", "Only monitors with this tag."),
        boxes(
            "events",
            "Events",
            "",
            RULE_EVENTS
                .iter()
                .map(|event| OptionView {
                    value: event.as_str().to_owned(),
                    label: event.as_str().replace('_', " "),
                    selected: events.iter().any(|chosen| chosen == event.as_str()),
                })
                .collect(),
            problems,
        ),
        boxes(
            "channel_ids",
            "Channels",
            "",
            channel_options(state, page, &values_of(form, "channel_ids")).await?,
            problems,
        ),
        plain(
            form,
            problems,
            "remind_every",
            "Remind every",
            "While an outage is open and unacknowledged, e.g. 30m; empty for no reminders.",
        ),
        Control::Choice(choice(
            "escalation_policy_id",
            "Escalation policy",
            "Also escalate outages through this policy's steps.",
            policies,
            problems,
        )),
        plain(
            form,
            problems,
            "causes",
            "Only these causes",
            "Comma-separated, e.g. timeout, status_code; empty for every cause.",
        ),
        plain(
            form,
            problems,
            "certificate_days",
            "Certificate days",
            "With certificate expiring: alert this many days ahead (default 14).",
        ),
    ];
    view.problems = problems.to_vec();
    Ok(view)
}

/// `GET /alerting/rules/new`.
pub async fn new_rule(State(state): State<AppState>, page: WebPage) -> Result<Response, WebError> {
    page.access.require(Action::ManageAlertRules)?;
    Ok(render(&rule_form(&state, &page, &Vec::new(), &[]).await?))
}

/// `POST /alerting/rules/new`.
pub async fn add_rule(
    State(state): State<AppState>,
    page: WebPage,
    Form(form): Form<Posted>,
) -> Result<Response, WebError> {
    let mut problems = Vec::new();
    let monitor_id = number(&form, "monitor_id", &mut problems).map(MonitorId);
    let escalation_policy_id =
        number(&form, "escalation_policy_id", &mut problems).map(EscalationPolicyId);
    let certificate_days = number(&form, "certificate_days", &mut problems);
    let mut channel_ids = Vec::new();
    for id in values_of(&form, "channel_ids") {
        match id.parse() {
            Ok(id) => channel_ids.push(ChannelId(id)),
            Err(_) => problems.push(FieldError {
                field: "channel_ids".into(),
                problem: "must be channel ids".into(),
            }),
        }
    }
    if !problems.is_empty() {
        let refusal = Refusal::here(problems);
        let view = rule_form(&state, &page, &form, &refusal.problems).await?;
        return Ok(refusal.answer(view));
    }
    let optional = |name: &str| Some(value_of(&form, name)).filter(|text| !text.is_empty());
    let body = RuleBody {
        name: value_of(&form, "name"),
        monitor_id,
        tag: optional("tag"),
        events: values_of(&form, "events"),
        channel_ids,
        remind_every: optional("remind_every"),
        escalation_policy_id,
        causes: comma_list(&value_of(&form, "causes"))
            .into_iter()
            .filter_map(|cause| cause.as_str().map(str::to_owned))
            .collect(),
        certificate_days,
    };
    match create_rule(State(state.clone()), page.access.clone(), ApiJson(body)).await {
        Ok(_) => Ok(back_to("rules")),
        Err(error) => {
            let refusal = Refusal::of(error)?;
            let view = rule_form(&state, &page, &form, &refusal.problems).await?;
            Ok(refusal.answer(view))
        }
    }
}

/// `POST /alerting/rules/{id}/delete`.
pub async fn remove_rule(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<AlertRuleId>,
) -> Result<Response, WebError> {
    delete_rule(State(state), page.access.clone(), Path(id)).await?;
    Ok(back_to("rules"))
}

// ---- Escalation policies ----

async fn policy_form(
    state: &AppState,
    page: &WebPage,
    form: &Posted,
    problems: &[FieldError],
) -> Result<AlertingFormPage, WebError> {
    let mut view = AlertingFormPage::new(page, "Add escalation policy", "/alerting/escalation/new");
    view.intro = "Steps that tell more people the longer an outage stays unacknowledged. \
                  Leave a step empty to use fewer; a rule then names the policy.";
    view.controls = vec![plain(
        form,
        problems,
        "name",
        "Name",
        "e.g. on-call, then the team lead",
    )];
    for step in 0..POLICY_STEPS {
        let after = format!("steps[{step}].after");
        let channels = format!("steps[{step}].channel_ids");
        view.controls
            .push(Control::Group(format!("Step {}", step + 1)));
        view.controls.push(Control::Text(text(
            format!("step-{step}-after"),
            &after,
            "After",
            "Time since the outage was confirmed, e.g. 0m, 15m, 1h.",
            value_of(form, &after),
            problem_of(problems, &after),
        )));
        let mut choice = ChoiceView {
            id: format!("step-{step}-channels"),
            boxes: true,
            ..choice(
                &channels,
                "Channels told",
                "",
                channel_options(state, page, &values_of(form, &channels)).await?,
                problems,
            )
        };
        choice.label = format!("Channels told at step {}", step + 1);
        view.controls.push(Control::Choice(choice));
    }
    view.problems = problems.to_vec();
    Ok(view)
}

/// `GET /alerting/escalation/new`.
pub async fn new_policy(
    State(state): State<AppState>,
    page: WebPage,
) -> Result<Response, WebError> {
    page.access.require(Action::ManageAlertRules)?;
    Ok(render(&policy_form(&state, &page, &Vec::new(), &[]).await?))
}

/// `POST /alerting/escalation/new`: the steps filled in, in order.
pub async fn add_policy(
    State(state): State<AppState>,
    page: WebPage,
    Form(form): Form<Posted>,
) -> Result<Response, WebError> {
    let mut problems = Vec::new();
    let mut steps = Vec::new();
    for step in 0..POLICY_STEPS {
        let after = value_of(&form, &format!("steps[{step}].after"));
        let mut channel_ids = Vec::new();
        for id in values_of(&form, &format!("steps[{step}].channel_ids")) {
            match id.parse() {
                Ok(id) => channel_ids.push(ChannelId(id)),
                Err(_) => problems.push(FieldError {
                    field: format!("steps[{step}].channel_ids"),
                    problem: "must be channel ids".into(),
                }),
            }
        }
        if !after.is_empty() || !channel_ids.is_empty() {
            steps.push(StepBody { after, channel_ids });
        }
    }
    if !problems.is_empty() {
        let refusal = Refusal::here(problems);
        let view = policy_form(&state, &page, &form, &refusal.problems).await?;
        return Ok(refusal.answer(view));
    }
    let body = PolicyBody {
        name: value_of(&form, "name"),
        steps,
    };
    match escalation::create(State(state.clone()), page.access.clone(), ApiJson(body)).await {
        Ok(_) => Ok(back_to("escalation")),
        Err(error) => {
            let refusal = Refusal::of(error)?;
            let view = policy_form(&state, &page, &form, &refusal.problems).await?;
            Ok(refusal.answer(view))
        }
    }
}

/// `POST /alerting/escalation/{id}/delete`.
pub async fn remove_policy(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<EscalationPolicyId>,
) -> Result<Response, WebError> {
    escalation::delete(State(state), page.access.clone(), Path(id)).await?;
    Ok(back_to("escalation"))
}

// ---- Maintenance windows ----

async fn window_form(
    state: &AppState,
    page: &WebPage,
    form: &Posted,
    problems: &[FieldError],
) -> Result<AlertingFormPage, WebError> {
    let mut view =
        AlertingFormPage::new(page, "Add maintenance window", "/alerting/maintenance/new");
    view.intro = "While a window is open its monitors are checked but raise no incidents and \
                  send no alerts. Give a start and an end for one window, or a cron schedule \
                  and a duration for a recurring one.";
    let mut monitors = choice(
        "monitors",
        "Monitors",
        "Hold Ctrl or Cmd to choose several; none chosen with no tag means every monitor.",
        monitor_options(state, page, &values_of(form, "monitors"), None).await?,
        problems,
    );
    monitors.multiple = true;
    view.controls = vec![
        plain(
            form,
            problems,
            "name",
            "Name",
            "e.g. Sunday database upgrade",
        ),
        plain(
            form,
            problems,
            "tag",
            "Tag",
            "Every monitor with this tag (instead of choosing monitors).",
        ),
        Control::Choice(monitors),
        plain(
            form,
            problems,
            "starts_at",
            "Starts at",
            "One window: e.g. 2026-12-24T22:00:00Z",
        ),
        plain(
            form,
            problems,
            "ends_at",
            "Ends at",
            "e.g. 2026-12-25T02:00:00Z",
        ),
        plain(
            form,
            problems,
            "cron",
            "Cron schedule",
            "Recurring: e.g. 0 2 * * SUN",
        ),
        plain(
            form,
            problems,
            "duration",
            "Duration",
            "With a cron schedule: e.g. 2h",
        ),
        plain(
            form,
            problems,
            "timezone",
            "Time zone",
            "For the cron schedule, e.g. Europe/Berlin (default UTC).",
        ),
    ];
    view.problems = problems.to_vec();
    Ok(view)
}

/// The window JSON of a posted form, blanks left out.
fn window_json(form: &Posted) -> Value {
    let mut body = Map::new();
    for name in [
        "name",
        "tag",
        "starts_at",
        "ends_at",
        "cron",
        "duration",
        "timezone",
    ] {
        let text = value_of(form, name);
        if !text.is_empty() || name == "name" {
            body.insert(name.into(), Value::String(text));
        }
    }
    let monitors: Vec<Value> = values_of(form, "monitors")
        .into_iter()
        // Not a number: passed on as text, so the parser names the field.
        .map(|id| id.parse::<i64>().map_or(Value::String(id), Value::from))
        .collect();
    if !monitors.is_empty() {
        body.insert("monitors".into(), Value::Array(monitors));
    }
    Value::Object(body)
}

/// `GET /alerting/maintenance/new`.
pub async fn new_window(
    State(state): State<AppState>,
    page: WebPage,
) -> Result<Response, WebError> {
    page.access.require(Action::ManageMaintenance)?;
    Ok(render(&window_form(&state, &page, &Vec::new(), &[]).await?))
}

/// `POST /alerting/maintenance/new`.
pub async fn add_window(
    State(state): State<AppState>,
    page: WebPage,
    Form(form): Form<Posted>,
) -> Result<Response, WebError> {
    let body = window_json(&form);
    match maintenance::create(State(state.clone()), page.access.clone(), ApiJson(body)).await {
        Ok(_) => Ok(back_to("maintenance")),
        Err(error) => {
            let refusal = Refusal::of(error)?;
            let view = window_form(&state, &page, &form, &refusal.problems).await?;
            Ok(refusal.answer(view))
        }
    }
}

/// `POST /alerting/maintenance/{id}/delete`.
pub async fn remove_window(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<MaintenanceWindowId>,
) -> Result<Response, WebError> {
    maintenance::delete(State(state), page.access.clone(), Path(id)).await?;
    Ok(back_to("maintenance"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Posted {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_channel_kind_has_its_settings_on_the_form() {
        for kind in ChannelConfig::KIND_NAMES {
            assert!(!channel_fields(kind).is_empty(), "{kind} has no fields");
        }
    }

    #[test]
    fn a_channel_form_becomes_the_chosen_kind_s_json() {
        let body = channel_json(&pairs(&[
            ("csrf_token", "t"),
            ("name", " ops "),
            ("kind", "email"),
            ("email.to", "a@example.com, b@example.com,"),
            ("email.host", "smtp.example.com"),
            ("email.port", "2525"),
            ("email.password", ""),
            ("sms.to", "+15550199"),
        ]));
        assert_eq!(
            body,
            serde_json::json!({"name": "ops", "kind": "email", "to": ["a@example.com", "b@example.com"],
                               "host": "smtp.example.com", "port": 2525})
        );
        let sms = channel_json(&pairs(&[
            ("kind", "sms"),
            ("sms.to", "+15550199"),
            ("email.to", "x@example.com"),
        ]));
        assert_eq!(sms["to"], "+15550199");
    }

    #[test]
    fn a_window_form_sends_only_what_was_filled_in() {
        let body = window_json(&pairs(&[
            ("name", "nightly"),
            ("tag", ""),
            ("monitors", "7"),
            ("monitors", "nine"),
            ("cron", "0 2 * * *"),
            ("duration", "1h"),
        ]));
        assert_eq!(
            body,
            serde_json::json!({"name": "nightly", "monitors": [7, "nine"], "cron": "0 2 * * *", "duration": "1h"})
        );
    }
}
