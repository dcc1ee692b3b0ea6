//! Incidents: list (filters and cursor pages), read with notes, acknowledge, add a note.

use crate::AppState;
use crate::api::{ApiJson, TeamHeader};
use crate::auth::TeamAccess;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use watchtower_alerting::render::escape_html;
use watchtower_core::{Action, Incident, IncidentId, MonitorId, Timestamp};
use watchtower_store::{IncidentNote, IncidentQuery};

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only this monitor's incidents.
    pub monitor: Option<i64>,
    /// Only incidents still open.
    #[serde(default)]
    pub open: bool,
    /// The `next_before` of the previous page.
    pub before: Option<i64>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentPage {
    pub incidents: Vec<Incident>,
    pub next_before: Option<i64>,
}

/// The team's incidents, newest first.
#[utoipa::path(get, path = "/api/incidents", tag = "incidents", params(ListQuery, TeamHeader),
    responses((status = 200, body = IncidentPage)))]
pub async fn list(
    State(state): State<AppState>,
    access: TeamAccess,
    Query(query): Query<ListQuery>,
) -> Result<Json<IncidentPage>, ApiError> {
    access.require(Action::ViewIncidents)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "must be from 1 to 500"));
    }
    let incidents = state
        .store
        .incidents(
            access.team.id,
            &IncidentQuery {
                monitor: query.monitor.map(MonitorId),
                open_only: query.open,
                before: query.before.map(IncidentId),
                limit,
            },
        )
        .await?;
    let next_before = (incidents.len() == limit as usize)
        .then(|| incidents.last().map(|i| i.id.0))
        .flatten();
    Ok(Json(IncidentPage {
        incidents,
        next_before,
    }))
}

/// An incident with its notes, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: Incident,
    pub notes: Vec<IncidentNote>,
}

/// One incident with its notes.
#[utoipa::path(get, path = "/api/incidents/{id}", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id"), TeamHeader),
    responses((status = 200, body = IncidentDetail)))]
pub async fn get(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<i64>,
) -> Result<Json<IncidentDetail>, ApiError> {
    access.require(Action::ViewIncidents)?;
    let incident = state
        .store
        .get_incident(access.team.id, IncidentId(id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    let notes = state
        .store
        .incident_notes(access.team.id, incident.id)
        .await?;
    Ok(Json(IncidentDetail { incident, notes }))
}

/// Takes the incident on: reminders and escalation stop. Acknowledging again changes nothing.
#[utoipa::path(post, path = "/api/incidents/{id}/acknowledge", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id"), TeamHeader),
    responses((status = 200, body = Incident)))]
pub async fn acknowledge(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<i64>,
) -> Result<Json<Incident>, ApiError> {
    access.require(Action::AcknowledgeIncident)?;
    let by = access.caller.actor().label;
    let incident = state
        .store
        .acknowledge_incident(access.team.id, IncidentId(id), &by, Timestamp::now())
        .await?;
    access
        .audit(
            &state,
            "incident.acknowledged",
            format!("incident:{id}"),
            json!({}),
        )
        .await;
    Ok(Json(incident))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewNote {
    /// 1 to 10,000 characters.
    pub body: String,
}

/// Adds a note to an incident.
#[utoipa::path(post, path = "/api/incidents/{id}/notes", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id"), TeamHeader), request_body = NewNote,
    responses((status = 201, body = IncidentNote)))]
pub async fn add_note(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<i64>,
    ApiJson(note): ApiJson<NewNote>,
) -> Result<(StatusCode, Json<IncidentNote>), ApiError> {
    access.require(Action::NoteIncident)?;
    let body = note.body.trim();
    if body.is_empty() || body.chars().count() > 10_000 {
        return Err(ApiError::invalid_field(
            "body",
            "must be 1 to 10,000 characters",
        ));
    }
    let author = access.caller.actor().label;
    let note = state
        .store
        .add_incident_note(
            access.team.id,
            IncidentId(id),
            &author,
            body,
            Timestamp::now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(note)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct LinkQuery {
    /// The token from the notification's acknowledge link.
    pub token: String,
}

/// The page the acknowledge link in a notification opens: it only asks; acknowledging takes the
/// POST its button sends, so a mail scanner or link preview that fetches the link changes
/// nothing. A wrong token, team or incident answers 404.
#[utoipa::path(get, path = "/api/teams/{team}/incidents/{id}/acknowledge-link", tag = "incidents", security(()),
    params(("team" = i64, Path, description = "Team id"), ("id" = i64, Path, description = "Incident id"), LinkQuery),
    responses((status = 200, description = "A confirmation page whose button POSTs to this URL",
        content_type = "text/html", body = String), (status = 404)))]
pub async fn acknowledge_link_page(
    State(state): State<AppState>,
    Path((team, id)): Path<(i64, i64)>,
    Query(query): Query<LinkQuery>,
) -> Result<Html<String>, ApiError> {
    let (team, id) = (watchtower_core::TeamId(team), IncidentId(id));
    let secret = state.store.link_secret().await?;
    if !watchtower_alerting::links::verify_acknowledge_token(&secret, team, id, &query.token) {
        return Err(ApiError::not_found());
    }
    Ok(Html(link_page(
        &format!("Acknowledge incident {id}?"),
        &format!(
            "<form method=\"post\" action=\"{action}\"><button type=\"submit\">Acknowledge \
             incident {id}</button></form>",
            action = escape_html(&format!(
                "/api/teams/{team}/incidents/{id}/acknowledge-link?token={}",
                query.token
            )),
        ),
    )))
}

/// Acknowledges an incident with the signed token of its acknowledge link, without signing in
/// (the confirmation page's button sends this). A wrong token, team or incident answers 404. A
/// form submission gets a short HTML page; any other request the JSON below.
#[utoipa::path(post, path = "/api/teams/{team}/incidents/{id}/acknowledge-link", tag = "incidents", security(()),
    params(("team" = i64, Path, description = "Team id"), ("id" = i64, Path, description = "Incident id"), LinkQuery),
    responses((status = 200, body = LinkAcknowledged), (status = 404, description = "A wrong token, team or incident")))]
pub async fn acknowledge_link(
    State(state): State<AppState>,
    Path((team, id)): Path<(i64, i64)>,
    Query(query): Query<LinkQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (team, id) = (watchtower_core::TeamId(team), IncidentId(id));
    let secret = state.store.link_secret().await?;
    if !watchtower_alerting::links::verify_acknowledge_token(&secret, team, id, &query.token) {
        return Err(ApiError::not_found());
    }
    let incident = state
        .store
        .acknowledge_incident(team, id, "signed link", Timestamp::now())
        .await?;
    let from_the_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if from_the_form {
        return Ok(Html(link_page(
            &format!("Incident {id} acknowledged"),
            "<p>Escalation stops here; the incident stays open until its monitor recovers.</p>",
        ))
        .into_response());
    }
    Ok(Json(LinkAcknowledged {
        acknowledged: true,
        incident,
    })
    .into_response())
}

/// The incident a signed link acknowledged.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkAcknowledged {
    /// Always `true`.
    pub acknowledged: bool,
    pub incident: Incident,
}

/// A minimal page: no script, no outside resources, so the strict Content-Security-Policy holds.
/// `body` must already be escaped.
fn link_page(title: &str, body: &str) -> String {
    let title = escape_html(title);
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{title} · WatchTower</title></head>\
         <body><h1>{title}</h1>{body}</body></html>\n"
    )
}
