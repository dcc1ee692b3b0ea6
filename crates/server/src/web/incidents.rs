//! Incidents: the team's list (open first in effect: newest first, open ones marked), and one
//! incident's page with its timeline (state changes, notifications and their delivery, the
//! acknowledgement, notes), where it is acknowledged and annotated through the API's handlers.

use super::format::{self, StateBadge};
use super::page::{Shell, WebError, WebPage, render};
use crate::AppState;
use crate::api::ApiJson;
use crate::api::incidents::{self as api, ListQuery, NewNote};
use crate::error::ApiError;
use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::HashMap;
use watchtower_core::{Action, Incident, MonitorId, MonitorState, Timestamp};
use watchtower_store::PageRequest;

#[derive(Debug, Clone)]
pub struct IncidentRow {
    pub id: i64,
    pub monitor: String,
    pub monitor_id: i64,
    pub state: StateBadge,
    pub opened: String,
    pub opened_iso: String,
    pub duration: String,
    pub cause: String,
    pub acknowledged_by: String,
}

fn duration_text(incident: &Incident, now: Timestamp) -> String {
    let seconds = incident.duration(now).as_secs();
    match seconds {
        0..=59 => format!("{seconds} s"),
        60..=3_599 => format!("{} min", seconds / 60),
        3_600..=86_399 => format!("{} h {} min", seconds / 3_600, seconds % 3_600 / 60),
        _ => format!("{} days {} h", seconds / 86_400, seconds % 86_400 / 3_600),
    }
}

fn open_or_resolved(incident: &Incident) -> StateBadge {
    if incident.is_open() {
        format::state(MonitorState::Down)
    } else {
        StateBadge {
            label: "Resolved",
            class: "resolved",
        }
    }
}

/// Monitor names for a page of incidents, from one listing read per distinct monitor id range.
async fn monitor_names(
    state: &AppState,
    page: &WebPage,
    ids: &[MonitorId],
) -> Result<HashMap<MonitorId, String>, ApiError> {
    let mut names = HashMap::new();
    for id in ids {
        if names.contains_key(id) {
            continue;
        }
        let listing = state
            .store
            .list_monitors(
                page.access.team.id,
                &PageRequest {
                    after: Some(MonitorId(id.0 - 1)),
                    limit: 1,
                    ..PageRequest::default()
                },
            )
            .await?;
        if let Some(found) = listing.into_iter().find(|l| l.monitor.id == *id) {
            names.insert(*id, found.monitor.spec.name);
        }
    }
    Ok(names)
}

fn row_of(incident: &Incident, names: &HashMap<MonitorId, String>, now: Timestamp) -> IncidentRow {
    IncidentRow {
        id: incident.id.0,
        monitor: names
            .get(&incident.monitor_id)
            .cloned()
            .unwrap_or_else(|| format!("monitor {}", incident.monitor_id)),
        monitor_id: incident.monitor_id.0,
        state: open_or_resolved(incident),
        opened: format::time(incident.opened_at),
        opened_iso: format::iso(incident.opened_at),
        duration: duration_text(incident, now),
        cause: incident.cause.clone(),
        acknowledged_by: incident.acknowledged_by.clone().unwrap_or_default(),
    }
}

#[derive(Debug, Deserialize)]
pub struct IncidentListQuery {
    #[serde(default)]
    pub open: bool,
    pub before: Option<i64>,
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct IncidentsPage {
    shell: Shell,
    rows: Vec<IncidentRow>,
    open_only: bool,
    next_href: String,
}

/// `GET /incidents`.
pub async fn list(
    State(state): State<AppState>,
    page: WebPage,
    Query(query): Query<IncidentListQuery>,
) -> Result<Response, WebError> {
    let Json(listed) = api::list(
        State(state.clone()),
        page.access.clone(),
        Query(ListQuery {
            monitor: None,
            open: query.open,
            before: query.before,
            limit: Some(50),
        }),
    )
    .await?;
    let ids: Vec<MonitorId> = listed.incidents.iter().map(|i| i.monitor_id).collect();
    let names = monitor_names(&state, &page, &ids).await?;
    let now = Timestamp::now();
    Ok(render(&IncidentsPage {
        shell: page.shell("Incidents", "incidents"),
        rows: listed
            .incidents
            .iter()
            .map(|incident| row_of(incident, &names, now))
            .collect(),
        open_only: query.open,
        next_href: listed
            .next_before
            .map(|before| {
                format!(
                    "/incidents?before={before}{}",
                    if query.open { "&open=true" } else { "" }
                )
            })
            .unwrap_or_default(),
    }))
}

/// One line of an incident's timeline.
#[derive(Debug, Clone)]
pub struct TimelineEntry {
    pub at: Timestamp,
    pub when: String,
    pub when_iso: String,
    pub what: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage {
    shell: Shell,
    row: IncidentRow,
    open: bool,
    acknowledged: bool,
    timeline: Vec<TimelineEntry>,
    can_acknowledge: bool,
    can_note: bool,
    note_problem: String,
    note_text: String,
}

async fn incident_page(
    state: &AppState,
    page: &WebPage,
    id: i64,
    note_problem: String,
    note_text: String,
) -> Result<IncidentPage, WebError> {
    let Json(detail) = api::get(State(state.clone()), page.access.clone(), Path(id)).await?;
    let incident = detail.incident;
    let team = page.access.team.id;
    let events = state
        .store
        .incident_events(team, incident.id)
        .await
        .map_err(ApiError::from)?;
    let notifications = state
        .store
        .incident_notifications(team, incident.id)
        .await
        .map_err(ApiError::from)?;
    let channel_names: HashMap<String, String> = state
        .store
        .channels(team)
        .await
        .map_err(ApiError::from)?
        .into_iter()
        .map(|channel| (channel.id.to_string(), channel.name))
        .collect();
    let entry = |at: Timestamp, what: String, detail: String| TimelineEntry {
        at,
        when: format::time(at),
        when_iso: format::iso(at),
        what,
        detail,
    };
    let mut timeline = Vec::new();
    timeline.push(entry(
        incident.opened_at,
        "Opened".into(),
        incident.cause.clone(),
    ));
    for event in &events {
        timeline.push(entry(
            event.at,
            format!(
                "{} → {}",
                format::state(event.from).label,
                format::state(event.to).label
            ),
            event.cause.clone(),
        ));
    }
    for notification in &notifications {
        let channel = channel_names
            .get(&notification.channel_id.to_string())
            .cloned()
            .unwrap_or_else(|| format!("channel {}", notification.channel_id));
        let mut detail = format!(
            "{} to {}: {} after {} attempt{}",
            notification.event.as_str(),
            channel,
            notification.status.as_str(),
            notification.attempts,
            if notification.attempts == 1 { "" } else { "s" }
        );
        if let Some(error) = &notification.last_error {
            detail.push_str(&format!(" ({error})"));
        }
        timeline.push(entry(
            notification.delivered_at.unwrap_or(notification.created_at),
            "Notification".into(),
            detail,
        ));
    }
    if let (Some(at), Some(by)) = (incident.acknowledged_at, &incident.acknowledged_by) {
        timeline.push(entry(at, "Acknowledged".into(), format!("by {by}")));
    }
    for note in &detail.notes {
        timeline.push(entry(
            note.at,
            format!("Note by {}", note.author),
            note.body.clone(),
        ));
    }
    if let Some(at) = incident.resolved_at {
        timeline.push(entry(at, "Resolved".into(), String::new()));
    }
    timeline.sort_by_key(|e| e.at);
    let names = monitor_names(state, page, &[incident.monitor_id]).await?;
    Ok(IncidentPage {
        shell: page.shell(format!("Incident {}", incident.id), "incidents"),
        row: row_of(&incident, &names, Timestamp::now()),
        open: incident.is_open(),
        acknowledged: incident.acknowledged_at.is_some(),
        timeline,
        can_acknowledge: page.can(Action::AcknowledgeIncident),
        can_note: page.can(Action::NoteIncident),
        note_problem,
        note_text,
    })
}

/// `GET /incidents/{id}`.
pub async fn show(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    Ok(render(
        &incident_page(&state, &page, id, String::new(), String::new()).await?,
    ))
}

/// `POST /incidents/{id}/acknowledge`.
pub async fn acknowledge(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let Json(_) = api::acknowledge(State(state), page.access, Path(id)).await?;
    Ok(Redirect::to(&format!("/incidents/{id}")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    body: String,
}

/// `POST /incidents/{id}/notes`.
pub async fn add_note(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<i64>,
    Form(form): Form<NoteForm>,
) -> Result<Response, WebError> {
    let result = api::add_note(
        State(state.clone()),
        page.access.clone(),
        Path(id),
        ApiJson(NewNote {
            body: form.body.clone(),
        }),
    )
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/incidents/{id}#timeline")).into_response()),
        Err(error) if error.status == http::StatusCode::BAD_REQUEST => {
            let problem = error
                .details
                .first()
                .map_or(error.message.clone(), |d| d.problem.clone());
            let page = incident_page(&state, &page, id, problem, form.body).await?;
            Ok((http::StatusCode::BAD_REQUEST, render(&page)).into_response())
        }
        Err(error) => Err(error.into()),
    }
}
