//! Creating, editing and deleting the alerting objects from forms: channels, alert rules,
//! escalation policies and maintenance windows, one module each, and the monitor picker their
//! forms share (`picker`). As with the monitor form, a posted form becomes the API's JSON and goes
//! to the API's own handler, so the parsers, the permissions, the plan limits and the audit log
//! are the API's; each problem the parser reports is shown next to its field. An edit form is the
//! add form filled from the object as the API shows it (secrets never included).

mod channels;
mod picker;
mod policies;
mod rules;
mod windows;

pub use channels::{add_channel, edit_channel, new_channel, remove_channel, update_channel};
pub use policies::{add_policy, edit_policy, new_policy, remove_policy, update_policy};
pub use rules::{add_rule, edit_rule, new_rule, remove_rule, update_rule};
pub use windows::{add_window, edit_window, new_window, remove_window, update_window};

use super::form::{Posted, problem_of, value_of};
use super::monitor_form::{FieldView, KindChoice, KindSet};
use super::page::{Shell, WebError, WebPage, render};
use crate::AppState;
use crate::api::alerting::channels::list_channels;
use crate::error::ApiError;
use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use picker::SearchView;
use serde_json::Value;
use watchtower_core::FieldError;

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
    /// A monitor picker's search (`picker`): a field that asks the server for more monitors.
    pub search: Option<SearchView>,
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
    action: String,
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
    fn new(page: &WebPage, target: Target) -> Self {
        let shell = page.shell(target.title, "alerting");
        Self {
            shell,
            action: target.action,
            submit: target.title,
            intro: "",
            kinds: Vec::new(),
            sets: Vec::new(),
            controls: Vec::new(),
            problems: Vec::new(),
            message: String::new(),
        }
    }

    /// Whether any control is a monitor picker (its search button must not become the
    /// button that Enter presses).
    fn has_picker(&self) -> bool {
        self.controls
            .iter()
            .any(|control| matches!(control, Control::Choice(choice) if choice.search.is_some()))
    }
}

/// What a form is for: its title (also its button) and where it posts.
struct Target {
    title: &'static str,
    action: String,
}

impl Target {
    /// The form that adds an object at `/alerting/{section}/new`.
    fn add(title: &'static str, section: &str) -> Self {
        Self {
            title,
            action: format!("/alerting/{section}/new"),
        }
    }

    /// The form that edits object `id` of `section`.
    fn edit(title: &'static str, section: &str, id: impl std::fmt::Display) -> Self {
        Self {
            title,
            action: format!("/alerting/{section}/{id}/edit"),
        }
    }
}

/// Whether a posted form asks for a monitor search (the picker's button, or htmx as one types)
/// rather than a save.
fn is_search(form: &Posted) -> bool {
    value_of(form, "intent") == "search"
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

    /// The form built with the problems, answered with the refusal's status.
    fn answer(self, mut form: AlertingFormPage) -> Response {
        form.message = self.message;
        (self.status, render(&form)).into_response()
    }
}

/// Where a posted form goes: back to the alerting page's `section` when the API took it,
/// otherwise the form again, built by `form_again` with the API's problems in place.
async fn settle<Fut>(
    answer: Result<(), ApiError>,
    section: &str,
    form_again: impl FnOnce(Vec<FieldError>) -> Fut,
) -> Result<Response, WebError>
where
    Fut: Future<Output = Result<AlertingFormPage, WebError>>,
{
    match answer {
        Ok(()) => Ok(back_to(section)),
        Err(error) => {
            let mut refusal = Refusal::of(error)?;
            let form = form_again(std::mem::take(&mut refusal.problems)).await?;
            Ok(refusal.answer(form))
        }
    }
}

/// The alerting page, where each created, edited or deleted object shows.
fn back_to(section: &str) -> Response {
    Redirect::to(&format!("/alerting#{section}")).into_response()
}

/// The channels rules and policies choose from, `chosen` ticked.
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
        search: None,
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
