//! Maintenance posted by hand on a status page: the dashboard's "Schedule maintenance" form on a
//! page (a name, the components it touches, and when, in the page's time zone) becomes a
//! maintenance window over those components' monitors, through the API's handler
//! (`api::maintenance::create`, so its parser, permission and audit apply). The page shows it
//! from 7 days before and while it runs, subscribers are told when it begins, and the monitors'
//! alerts wait until it ends, like any window.

use super::form::{Posted, problem_of, value_of};
use super::page::{WebError, WebPage, render};
use super::status_posts::{field_problems, refused_maintenance, team_page};
use crate::AppState;
use crate::api::ApiJson;
use crate::api::maintenance;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;
use watchtower_core::{FieldError, MonitorId, StatusPageId};
use watchtower_store::StatusPage;

/// The form as sent, with each field's problem, to show again.
#[derive(Debug, Clone, Default)]
pub struct MaintenanceForm {
    pub name: String,
    pub starts: String,
    pub ends: String,
    /// Every component of the page and whether it was ticked.
    pub components: Vec<(String, bool)>,
    pub name_problem: String,
    pub starts_problem: String,
    pub ends_problem: String,
    pub components_problem: String,
}

impl MaintenanceForm {
    /// The empty form of `page`.
    pub fn of(page: &StatusPage) -> Self {
        Self {
            components: page
                .spec
                .components()
                .map(|component| (component.name.clone(), false))
                .collect(),
            ..Self::default()
        }
    }
}

/// A `datetime-local` value (`2026-12-24T22:00`, seconds optional) in zone `zone`, as RFC 3339.
fn local_time(text: &str, zone: &str) -> Result<String, String> {
    let civil: jiff::civil::DateTime = text
        .trim()
        .parse()
        .map_err(|_| "must be a date and time such as 2026-12-24T22:00".to_owned())?;
    let zone = jiff::tz::TimeZone::get(zone)
        .map_err(|_| format!("the page's time zone {zone} is unknown"))?;
    let zoned = civil
        .to_zoned(zone)
        .map_err(|_| "is not a time that exists in the page's time zone".to_owned())?;
    Ok(zoned.timestamp().to_string())
}

/// `POST /status-pages/{id}/maintenance`.
pub async fn schedule(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<StatusPageId>,
    Form(form): Form<Posted>,
) -> Result<Response, WebError> {
    let status_page = team_page(&state, &page, id).await?;
    let ticked: Vec<&str> = form
        .iter()
        .filter(|(name, _)| name == "components")
        .map(|(_, value)| value.as_str())
        .collect();
    let mut sent = MaintenanceForm::of(&status_page);
    for (name, checked) in &mut sent.components {
        *checked = ticked.contains(&name.as_str());
    }
    sent.name = value_of(&form, "name");
    sent.starts = value_of(&form, "starts");
    sent.ends = value_of(&form, "ends");

    let mut problems = Vec::new();
    let mut monitors: Vec<MonitorId> = Vec::new();
    for component in status_page.spec.components() {
        if ticked.contains(&component.name.as_str()) {
            monitors.extend(component.monitors.iter().copied());
        }
    }
    monitors.sort_unstable_by_key(|id| id.0);
    monitors.dedup();
    // No component would be a window over the whole team: refused, not guessed.
    if monitors.is_empty() {
        problems.push(FieldError::new("components", "pick at least one component"));
    }
    let zone = status_page.spec.time_zone.as_str();
    let mut when = |field: &str, text: &str| match local_time(text, zone) {
        Ok(at) => Some(at),
        Err(problem) => {
            problems.push(FieldError::new(field, problem));
            None
        }
    };
    let (starts_at, ends_at) = (when("starts_at", &sent.starts), when("ends_at", &sent.ends));
    if problems.is_empty() {
        let body = json!({"name": sent.name, "monitors": monitors,
                          "starts_at": starts_at, "ends_at": ends_at});
        match maintenance::create(State(state.clone()), page.access.clone(), ApiJson(body)).await {
            Ok(_) => {
                state.status_pages.invalidate();
                return Ok(Redirect::to(&format!("/status-pages/{id}#maintenance")).into_response());
            }
            Err(error) => problems = field_problems(error)?,
        }
    }
    sent.name_problem = problem_of(&problems, "name");
    sent.starts_problem = problem_of(&problems, "starts_at");
    sent.ends_problem = problem_of(&problems, "ends_at");
    sent.components_problem = problem_of(&problems, "components");
    let view = refused_maintenance(&state, &page, id, sent).await?;
    Ok((StatusCode::BAD_REQUEST, render(&view)).into_response())
}
