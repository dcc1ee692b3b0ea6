//! The monitors-file editor: the team's monitors as YAML (as the API exports them), checked with
//! a dry run that lists what applying would create, change and delete, then applied. Both go
//! through the API's `PUT /api/monitors/yaml` handler, so problems come back with their lines.

use super::page::{Shell, WebError, WebPage, render};
use crate::AppState;
use crate::api::monitors::all_monitors;
use crate::api::monitors::yaml::{ApplyAnswer, ApplyQuery, ExportQuery, apply_yaml, export_yaml};
use askama::Template;
use axum::Json;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::collections::HashMap;
use watchtower_alerting::alerting_file;
use watchtower_core::{Action, FieldError, monitors_file};

#[derive(Template)]
#[template(path = "yaml_editor.html")]
struct YamlPage {
    shell: Shell,
    text: String,
    can_apply: bool,
    problems: Vec<FieldError>,
    message: String,
    /// What a dry run found: (what, keys).
    plan: Vec<(&'static str, String)>,
    checked: bool,
    applied: Vec<(&'static str, String)>,
}

fn page_of(page: &WebPage, text: String) -> YamlPage {
    YamlPage {
        shell: page.shell("Monitors file", "yaml"),
        text,
        can_apply: page.can(Action::ApplyYaml),
        problems: Vec::new(),
        message: String::new(),
        plan: Vec::new(),
        checked: false,
        applied: Vec::new(),
    }
}

/// `GET /monitors/yaml`: the team's monitors as a file to edit.
pub async fn show(State(state): State<AppState>, page: WebPage) -> Result<Response, WebError> {
    let answer = export_yaml(
        State(state),
        page.access.clone(),
        Query(ExportQuery { secrets: None }),
    )
    .await?
    .into_response();
    let bytes = axum::body::to_bytes(answer.into_body(), super::form::MAX_FORM_BYTES * 8)
        .await
        .map_err(crate::error::ApiError::internal)?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(render(&page_of(&page, text)))
}

#[derive(Debug, Deserialize)]
pub struct YamlForm {
    #[serde(default)]
    text: String,
    /// `check` (a dry run) or `apply`.
    #[serde(default)]
    intent: String,
}

/// What applying `text` would do to the team's keyed monitors, by key: computed from the same
/// parse the apply makes and the monitors stored now.
async fn preview(
    state: &AppState,
    page: &WebPage,
    text: &str,
) -> Result<Vec<(&'static str, String)>, WebError> {
    let Ok(mut file) = monitors_file::parse_with(text, &alerting_file::check_channel) else {
        return Ok(Vec::new());
    };
    let existing = all_monitors(state, &page.access).await?;
    let stored: Vec<_> = existing.iter().map(|m| m.spec.clone()).collect();
    // Redacted secrets compare as the stored ones, as the apply will treat them.
    let _ = monitors_file::restore_secrets(&mut file.monitors, &stored);
    let by_key: HashMap<_, _> = existing
        .iter()
        .filter_map(|m| m.spec.key.clone().map(|key| (key, &m.spec)))
        .collect();
    let (mut created, mut changed, mut unchanged) = (Vec::new(), Vec::new(), Vec::new());
    for spec in &file.monitors {
        let Some(key) = &spec.key else { continue };
        match by_key.get(key) {
            None => created.push(key.to_string()),
            Some(old) if *old != spec => changed.push(key.to_string()),
            Some(_) => unchanged.push(key.to_string()),
        }
    }
    let listed: std::collections::HashSet<_> =
        file.monitors.iter().filter_map(|s| s.key.clone()).collect();
    let mut removed: Vec<String> = by_key
        .keys()
        .filter(|key| !listed.contains(*key))
        .map(ToString::to_string)
        .collect();
    removed.sort();
    let join = |keys: Vec<String>| {
        if keys.is_empty() {
            "none".to_owned()
        } else {
            keys.join(", ")
        }
    };
    Ok(vec![
        ("Created", join(created)),
        ("Changed", join(changed)),
        ("Unchanged", join(unchanged)),
        (
            if file.prune {
                "Deleted (prune is on)"
            } else {
                "Not in the file, kept (prune is off)"
            },
            join(removed),
        ),
        ("Channels in the file", file.channels.len().to_string()),
        (
            "Alert rules in the file",
            file.alert_rules.len().to_string(),
        ),
        (
            "Status pages in the file",
            join(file.status_pages.iter().map(|p| p.slug.clone()).collect()),
        ),
    ])
}

/// `POST /monitors/yaml`: check (dry run) or apply.
pub async fn submit(
    State(state): State<AppState>,
    page: WebPage,
    Form(form): Form<YamlForm>,
) -> Result<Response, WebError> {
    let dry_run = form.intent != "apply";
    let result = apply_yaml(
        State(state.clone()),
        page.access.clone(),
        Query(ApplyQuery { dry_run }),
        form.text.clone(),
    )
    .await;
    let mut view = page_of(&page, form.text.clone());
    match result {
        Ok(Json(ApplyAnswer::DryRun(_))) => {
            view.checked = true;
            view.plan = preview(&state, &page, &form.text).await?;
            Ok(render(&view))
        }
        Ok(Json(ApplyAnswer::Applied(report))) => {
            let list = |keys: &[watchtower_core::MonitorKey]| {
                if keys.is_empty() {
                    "none".to_owned()
                } else {
                    keys.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            view.applied = vec![
                ("Created", list(&report.report.created)),
                ("Updated", list(&report.report.updated)),
                ("Deleted", list(&report.report.deleted)),
                (
                    "Status pages created or changed",
                    Some(
                        [
                            &report.status_pages.created[..],
                            &report.status_pages.updated[..],
                        ]
                        .concat()
                        .join(", "),
                    )
                    .filter(|slugs| !slugs.is_empty())
                    .unwrap_or_else(|| "none".to_owned()),
                ),
            ];
            Ok(render(&view))
        }
        Err(error) if error.status.is_server_error() => Err(error.into()),
        Err(error) => {
            let status = error.status;
            if error.details.is_empty() {
                view.message = error.message;
            } else {
                view.problems = error.details;
            }
            Ok((
                if status == StatusCode::FORBIDDEN || status == StatusCode::PAYMENT_REQUIRED {
                    status
                } else {
                    StatusCode::BAD_REQUEST
                },
                render(&view),
            )
                .into_response())
        }
    }
}
