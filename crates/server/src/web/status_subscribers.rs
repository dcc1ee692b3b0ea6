//! The dashboard's subscribers of a status page: the email channel subscriber emails go out
//! through, the subscribers (confirmed or waiting) with a button to remove each, and a form to
//! add a webhook or an email address. Every form goes through the API's handlers
//! (`api::status_subscribers`), so the parser, the plan limit, the permission matrix and the
//! audit log are the API's; a refusal shows the page again with the problem next to its field.

use super::form::{Posted, problem_of, value_of};
use super::page::{Shell, WebError, WebPage, render};
use super::status_posts::{field_problems, team_page};
use crate::AppState;
use crate::api::ApiJson;
use crate::api::status_subscribers as api;
use crate::error::ApiError;
use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;
use watchtower_core::{Action, FieldError, StatusPageId, StatusSubscriberId, SubscriberKind};
use watchtower_store::{StatusPage, StatusSubscriber};

/// One `<option>` of the channel list.
struct ChannelChoice {
    value: String,
    label: String,
    selected: bool,
}

/// One subscriber as the table shows it.
struct SubscriberRow {
    id: StatusSubscriberId,
    kind: &'static str,
    address: String,
    components: String,
    confirmed: bool,
}

#[derive(Template)]
#[template(path = "status_subscribers.html")]
struct SubscribersPage {
    shell: Shell,
    status_page: StatusPage,
    channels: Vec<ChannelChoice>,
    channel_problem: String,
    subscribers: Vec<SubscriberRow>,
    /// The add form as sent, and what was wrong with it.
    kind: &'static str,
    address: String,
    address_problem: String,
    components_problem: String,
    /// A refusal that is not one field's (a plan limit, a duplicate).
    problem: String,
    /// Whether visitors see the page's sign-up form.
    signup_open: bool,
}

#[derive(Default)]
struct Refused {
    channel: Vec<FieldError>,
    add: Vec<FieldError>,
    problem: String,
    kind: Option<SubscriberKind>,
    address: String,
}

async fn subscribers_page(
    state: &AppState,
    page: &WebPage,
    id: StatusPageId,
    refused: Refused,
) -> Result<SubscribersPage, WebError> {
    if !page.can(Action::ManageStatusPages) {
        return Err(ApiError::forbidden("managing status pages needs the admin role").into());
    }
    let status_page = team_page(state, page, id).await?;
    let Json(listed) =
        api::list_subscribers(State(state.clone()), page.access.clone(), Path(id)).await?;
    let mut channels = vec![ChannelChoice {
        value: String::new(),
        label: "None: visitors cannot sign up by email".into(),
        selected: listed.email_channel_id.is_none(),
    }];
    channels.extend(
        state
            .store
            .channels(page.access.team.id)
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .filter(|channel| channel.kind == "email")
            .map(|channel| ChannelChoice {
                value: channel.id.to_string(),
                label: channel.name,
                selected: listed.email_channel_id == Some(channel.id),
            }),
    );
    let subscribers = listed.subscribers.iter().map(row).collect();
    Ok(SubscribersPage {
        shell: page.shell(
            format!("Subscribers of {}", status_page.spec.title),
            "status",
        ),
        signup_open: crate::web::status::subscribe::open(state, &status_page),
        status_page,
        channels,
        channel_problem: problem_of(&refused.channel, "email_channel_id"),
        subscribers,
        kind: refused.kind.unwrap_or(SubscriberKind::Webhook).as_str(),
        address_problem: [
            problem_of(&refused.add, "url"),
            problem_of(&refused.add, "email"),
            problem_of(&refused.add, "kind"),
        ]
        .concat(),
        components_problem: problem_of(&refused.add, "components"),
        address: refused.address,
        problem: refused.problem,
    })
}

fn row(subscriber: &StatusSubscriber) -> SubscriberRow {
    SubscriberRow {
        id: subscriber.id,
        kind: subscriber.kind.as_str(),
        address: subscriber.address.clone(),
        components: subscriber
            .components
            .as_ref()
            .map_or_else(|| "All".to_owned(), |names| names.join(", ")),
        confirmed: subscriber.confirmed_at.is_some(),
    }
}

/// `GET /status-pages/{id}/subscribers`.
pub async fn show(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<StatusPageId>,
) -> Result<Response, WebError> {
    let view = subscribers_page(&state, &page, id, Refused::default()).await?;
    Ok(render(&view).into_response())
}

/// `POST /status-pages/{id}/subscribers/channel`.
pub async fn set_channel(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<StatusPageId>,
    Form(form): Form<Posted>,
) -> Result<Response, WebError> {
    let chosen = value_of(&form, "email_channel_id");
    let body = if chosen.is_empty() {
        json!({"email_channel_id": null})
    } else {
        json!({"email_channel_id": chosen.parse::<i64>().ok()})
    };
    match api::set_subscriber_channel(
        State(state.clone()),
        page.access.clone(),
        Path(id),
        ApiJson(body),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/status-pages/{id}/subscribers")).into_response()),
        Err(error) => {
            let refused = Refused {
                channel: field_problems(error)?,
                ..Refused::default()
            };
            let view = subscribers_page(&state, &page, id, refused).await?;
            Ok((StatusCode::BAD_REQUEST, render(&view)).into_response())
        }
    }
}

/// `POST /status-pages/{id}/subscribers`: a webhook or an email address.
pub async fn add(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<StatusPageId>,
    Form(form): Form<Posted>,
) -> Result<Response, WebError> {
    let kind = SubscriberKind::parse(&value_of(&form, "kind")).unwrap_or(SubscriberKind::Webhook);
    let address = value_of(&form, "address");
    let components: Vec<&str> = form
        .iter()
        .filter(|(name, _)| name == "components")
        .map(|(_, value)| value.as_str())
        .collect();
    let mut body = match kind {
        SubscriberKind::Webhook => json!({"kind": "webhook", "url": address}),
        SubscriberKind::Email => json!({"kind": "email", "email": address}),
    };
    if !components.is_empty() {
        body["components"] = json!(components);
    }
    match api::add_subscriber(
        State(state.clone()),
        page.access.clone(),
        Path(id),
        ApiJson(body),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/status-pages/{id}/subscribers")).into_response()),
        Err(error) => {
            let status = error.status;
            let refused = if status == StatusCode::BAD_REQUEST && !error.details.is_empty() {
                Refused {
                    add: error.details,
                    ..Refused::default()
                }
            } else if matches!(
                status,
                StatusCode::CONFLICT | StatusCode::PAYMENT_REQUIRED | StatusCode::TOO_MANY_REQUESTS
            ) {
                Refused {
                    problem: error.message,
                    ..Refused::default()
                }
            } else {
                return Err(error.into());
            };
            let view = subscribers_page(
                &state,
                &page,
                id,
                Refused {
                    kind: Some(kind),
                    address,
                    ..refused
                },
            )
            .await?;
            Ok((status, render(&view)).into_response())
        }
    }
}

/// `POST /status-pages/{id}/subscribers/{subscriber}/remove`.
pub async fn remove(
    State(state): State<AppState>,
    page: WebPage,
    Path((id, subscriber)): Path<(StatusPageId, StatusSubscriberId)>,
) -> Result<Response, WebError> {
    api::remove_subscriber(
        State(state.clone()),
        page.access.clone(),
        Path((id, subscriber)),
    )
    .await?;
    Ok(Redirect::to(&format!("/status-pages/{id}/subscribers")).into_response())
}
