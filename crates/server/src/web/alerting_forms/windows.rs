//! The maintenance window form: a name, its monitors (chosen, by tag, or every one), and one
//! start and end or a cron schedule with a duration and a time zone.

use super::picker::{PickerField, monitor_picker};
use super::*;
use crate::api::ApiJson;
use crate::api::maintenance::{self, WindowView};
use axum::extract::{Form, Path};
use serde_json::Map;
use watchtower_core::maintenance::WindowSchedule;
use watchtower_core::{Action, MaintenanceWindowId};

async fn window_form(
    state: &AppState,
    page: &WebPage,
    target: Target,
    form: &Posted,
    problems: &[FieldError],
) -> Result<AlertingFormPage, WebError> {
    let mut view = AlertingFormPage::new(page, target);
    view.intro = "While a window is open its monitors are checked but raise no incidents and \
                  send no alerts. Give a start and an end for one window, or a cron schedule \
                  and a duration for a recurring one.";
    let mut monitors = monitor_picker(
        state,
        page,
        form,
        PickerField {
            name: "monitors",
            label: "Monitors",
            hint: "Hold Ctrl or Cmd to choose several; none chosen with no tag means every monitor.",
            none: None,
        },
        problems,
    )
    .await?;
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
    // htmx asks for monitors as one types in the picker's search.
    view.shell.live = true;
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

/// The form fields of a stored window; times in RFC 3339.
fn window_fields_of(window: &WindowView) -> Posted {
    let spec = &window.window.spec;
    let mut posted = vec![("name".to_owned(), spec.name.clone())];
    let mut add = |name: &str, value: String| posted.push((name.to_owned(), value));
    if let Some(tag) = &spec.tag {
        add("tag", tag.clone());
    }
    for monitor in &spec.monitors {
        add("monitors", monitor.to_string());
    }
    match &spec.schedule {
        WindowSchedule::Once { starts_at, ends_at } => {
            add("starts_at", starts_at.to_jiff().to_string());
            add("ends_at", ends_at.to_jiff().to_string());
        }
        WindowSchedule::Recurring {
            cron,
            duration,
            timezone,
        } => {
            add("cron", cron.clone());
            add("duration", duration.to_string());
            add("timezone", timezone.clone());
        }
    }
    posted
}

fn add_target() -> Target {
    Target::add("Add maintenance window", "maintenance")
}

fn edit_target(id: MaintenanceWindowId) -> Target {
    Target::edit("Save maintenance window", "maintenance", id)
}

/// `GET /alerting/maintenance/new`.
pub async fn new_window(
    State(state): State<AppState>,
    page: WebPage,
) -> Result<Response, WebError> {
    page.access.require(Action::ManageMaintenance)?;
    let view = window_form(&state, &page, add_target(), &Vec::new(), &[]).await?;
    Ok(render(&view))
}

/// `POST /alerting/maintenance/new`.
pub async fn add_window(
    State(state): State<AppState>,
    page: WebPage,
    Form(form): Form<Posted>,
) -> Result<Response, WebError> {
    if is_search(&form) {
        page.access.require(Action::ManageMaintenance)?;
        return Ok(render(
            &window_form(&state, &page, add_target(), &form, &[]).await?,
        ));
    }
    let body = window_json(&form);
    let answer =
        maintenance::create(State(state.clone()), page.access.clone(), ApiJson(body)).await;
    settle(answer.map(drop), "maintenance", |problems| async move {
        window_form(&state, &page, add_target(), &form, &problems).await
    })
    .await
}

/// The team's window `id`, as the API lists it, or the API's 404.
async fn shown_window(
    state: &AppState,
    page: &WebPage,
    id: MaintenanceWindowId,
) -> Result<WindowView, WebError> {
    let Json(list) = maintenance::list(State(state.clone()), page.access.clone()).await?;
    list.windows
        .into_iter()
        .find(|window| window.window.id == id)
        .ok_or_else(|| ApiError::not_found().into())
}

/// `GET /alerting/maintenance/{id}/edit`.
pub async fn edit_window(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<MaintenanceWindowId>,
) -> Result<Response, WebError> {
    let window = shown_window(&state, &page, id).await?;
    page.access.require(Action::ManageMaintenance)?;
    let form = window_fields_of(&window);
    Ok(render(
        &window_form(&state, &page, edit_target(id), &form, &[]).await?,
    ))
}

/// `POST /alerting/maintenance/{id}/edit`.
pub async fn update_window(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<MaintenanceWindowId>,
    Form(form): Form<Posted>,
) -> Result<Response, WebError> {
    shown_window(&state, &page, id).await?;
    if is_search(&form) {
        page.access.require(Action::ManageMaintenance)?;
        return Ok(render(
            &window_form(&state, &page, edit_target(id), &form, &[]).await?,
        ));
    }
    let body = window_json(&form);
    let answer = maintenance::update(
        State(state.clone()),
        page.access.clone(),
        Path(id),
        ApiJson(body),
    )
    .await;
    settle(answer.map(drop), "maintenance", |problems| async move {
        window_form(&state, &page, edit_target(id), &form, &problems).await
    })
    .await
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

    #[test]
    fn a_stored_window_fills_the_form_that_would_post_it_again() {
        use watchtower_core::maintenance::MaintenanceSpec;
        for json in [
            serde_json::json!({"name": "upgrade", "monitors": [3, 4],
                "starts_at": "2026-12-24T22:00:00Z", "ends_at": "2026-12-25T02:00:00Z"}),
            serde_json::json!({"name": "weekly", "tag": "db", "cron": "0 2 * * SUN",
                "duration": "2h", "timezone": "Europe/Berlin"}),
        ] {
            let spec = MaintenanceSpec::parse(&json, "").expect("a window");
            let window = WindowView {
                window: watchtower_store::MaintenanceWindow {
                    id: MaintenanceWindowId(1),
                    team_id: watchtower_core::TeamId(1),
                    spec: spec.clone(),
                    created_at: watchtower_core::Timestamp(0),
                },
                open_until: None,
            };
            let again = window_json(&window_fields_of(&window));
            assert_eq!(
                MaintenanceSpec::parse(&again, "").as_ref(),
                Ok(&spec),
                "{again}"
            );
        }
    }
}
