//! The dashboard's status pages: the team's pages, each page's incident posts with the form to
//! post one and the form for who may read the page (anyone, a password, the team's members;
//! hidden from search engines), and a post's timeline with the form to add an update. The forms are prefilled
//! from the operations guide (the SEV levels, the next status's message template naming the
//! affected components) and sent through the API's handlers (`api::status_incidents`), so the
//! parser, the permission matrix and the audit log are the API's; a refusal shows the form
//! again with each problem next to its field.

use super::form::{Posted, problem_of, value_of};
use super::page::{Shell, WebError, WebPage, render};
use super::status::posts::PostView;
use super::status_maintenance::MaintenanceForm;
use crate::AppState;
use crate::api::ApiJson;
use crate::api::status_incidents as api;
use crate::api::status_pages::{self, list_status_pages};
use crate::error::ApiError;
use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};
use watchtower_core::status_incident::{AffectedComponent, template_subject};
use watchtower_core::{
    Action, AutoIncidents, ComponentState, FieldError, Impact, PageVisibility, PostStatus,
    StatusIncidentId, StatusPageId,
};
use watchtower_store::{StatusIncident, StatusPage};

/// The states a form offers for a component; the empty value means "not affected".
const STATES: [ComponentState; 5] = [
    ComponentState::Operational,
    ComponentState::Maintenance,
    ComponentState::Degraded,
    ComponentState::PartialOutage,
    ComponentState::MajorOutage,
];

/// One `<option>`.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

/// A component's row in a form: its state, or not affected.
#[derive(Debug, Clone)]
pub struct ComponentChoice {
    pub index: usize,
    pub name: String,
    pub options: Vec<Choice>,
    pub problem: String,
}

/// What a post's form shows: the fields, their values and problems.
#[derive(Debug, Clone, Default)]
pub struct PostForm {
    pub title: String,
    pub message: String,
    pub impacts: Vec<Choice>,
    pub statuses: Vec<Choice>,
    pub components: Vec<ComponentChoice>,
    pub problems: Vec<FieldError>,
    pub message_problem: String,
    pub title_problem: String,
    pub impact_problem: String,
    pub status_problem: String,
}

fn impact_choices(chosen: &str) -> Vec<Choice> {
    Impact::ALL
        .into_iter()
        .map(|impact| Choice {
            value: impact.as_str(),
            label: format!("{}: {}", impact.label(), impact.meaning()),
            selected: impact.as_str() == chosen,
        })
        .collect()
}

fn status_choices(chosen: PostStatus) -> Vec<Choice> {
    PostStatus::ALL
        .into_iter()
        .map(|status| Choice {
            value: status.as_str(),
            label: status.label().to_owned(),
            selected: status == chosen,
        })
        .collect()
}

fn component_choices(page: &StatusPage, chosen: &[AffectedComponent]) -> Vec<ComponentChoice> {
    page.spec
        .components()
        .enumerate()
        .map(|(index, component)| {
            let current = chosen.iter().find(|c| c.name == component.name);
            let mut options = vec![Choice {
                value: "",
                label: "Not affected".into(),
                selected: current.is_none(),
            }];
            options.extend(STATES.into_iter().map(|state| Choice {
                value: state.as_str(),
                label: state.label().to_owned(),
                selected: current.is_some_and(|c| c.state == state),
            }));
            ComponentChoice {
                index,
                name: component.name.clone(),
                options,
                problem: String::new(),
            }
        })
        .collect()
}

/// The update that usually follows `status`.
fn next_status(status: PostStatus) -> PostStatus {
    match status {
        PostStatus::Investigating => PostStatus::Identified,
        PostStatus::Identified => PostStatus::Monitoring,
        PostStatus::Monitoring | PostStatus::Resolved => PostStatus::Resolved,
    }
}

/// The posted components (`component.{index}` = a state, or empty for not affected), named as
/// on the page, for the API's body.
fn posted_components(page: &StatusPage, form: &Posted) -> Vec<Value> {
    page.spec
        .components()
        .enumerate()
        .filter_map(|(index, component)| {
            let state = value_of(form, &format!("component.{index}"));
            (!state.is_empty()).then(|| json!({"name": component.name, "state": state}))
        })
        .collect()
}

/// The form again, as posted, with the API's problems next to their fields.
fn refused_form(page: &StatusPage, form: &Posted, problems: Vec<FieldError>) -> PostForm {
    let status = PostStatus::parse(&value_of(form, "status")).unwrap_or(PostStatus::Investigating);
    let chosen: Vec<AffectedComponent> = page
        .spec
        .components()
        .enumerate()
        .filter_map(|(index, component)| {
            let raw = value_of(form, &format!("component.{index}"));
            let state = STATES.into_iter().find(|s| s.as_str() == raw)?;
            Some(AffectedComponent {
                name: component.name.clone(),
                state,
            })
        })
        .collect();
    let mut components = component_choices(page, &chosen);
    // The API names a component by its place among those posted; map it back to the page's.
    let posted: Vec<usize> = page
        .spec
        .components()
        .enumerate()
        .filter(|(index, _)| !value_of(form, &format!("component.{index}")).is_empty())
        .map(|(index, _)| index)
        .collect();
    for (place, index) in posted.iter().enumerate() {
        components[*index].problem = problem_of(&problems, &format!("components[{place}]"));
    }
    PostForm {
        title: value_of(form, "title"),
        message: value_of(form, "message"),
        impacts: impact_choices(&value_of(form, "impact")),
        statuses: status_choices(status),
        components,
        title_problem: problem_of(&problems, "title"),
        impact_problem: problem_of(&problems, "impact"),
        status_problem: problem_of(&problems, "status"),
        message_problem: problem_of(&problems, "message"),
        problems,
    }
}

/// The team's page, or the 404 page for another team's or a missing one.
pub(super) async fn team_page(
    state: &AppState,
    page: &WebPage,
    id: StatusPageId,
) -> Result<StatusPage, WebError> {
    state
        .store
        .get_status_page(page.access.team.id, id)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(WebError::not_found)
}

/// Field problems from a refusal; other refusals (not found, forbidden) are error pages.
pub(super) fn field_problems(error: ApiError) -> Result<Vec<FieldError>, WebError> {
    if error.status == StatusCode::BAD_REQUEST && !error.details.is_empty() {
        Ok(error.details)
    } else {
        Err(error.into())
    }
}

// ---- The team's pages ----

#[derive(Template)]
#[template(path = "status_pages.html")]
struct PagesList {
    shell: Shell,
    pages: Vec<StatusPage>,
}

/// `GET /status-pages`.
pub async fn list(State(state): State<AppState>, page: WebPage) -> Result<Response, WebError> {
    let Json(listed) = list_status_pages(State(state), page.access.clone()).await?;
    Ok(render(&PagesList {
        shell: page.shell("Status pages", "status"),
        pages: listed.status_pages,
    }))
}

// ---- A page's posts, the form to post one, and who may read the page ----

/// The form for who may read a page, as stored or as posted.
#[derive(Debug, Clone, Default)]
pub struct AccessForm {
    pub visibility: Vec<Choice>,
    pub has_password: bool,
    pub hide_from_search: bool,
    pub visibility_problem: String,
    pub password_problem: String,
}

impl AccessForm {
    fn of(page: &StatusPage) -> Self {
        Self::showing(
            page,
            page.spec.visibility.as_str(),
            page.spec.hide_from_search,
        )
    }

    fn showing(page: &StatusPage, visibility: &str, hide_from_search: bool) -> Self {
        let choices = [
            (PageVisibility::Public, "Anyone with the address"),
            (
                PageVisibility::Password,
                "Whoever enters the page's password",
            ),
            (PageVisibility::Members, "Members of this team, signed in"),
        ];
        Self {
            visibility: choices
                .into_iter()
                .map(|(choice, label)| Choice {
                    value: choice.as_str(),
                    label: label.to_owned(),
                    selected: choice.as_str() == visibility,
                })
                .collect(),
            has_password: page.spec.password_hash.is_some(),
            hide_from_search,
            ..Self::default()
        }
    }
}

#[derive(Template)]
#[template(path = "status_posts.html")]
struct PostsPage {
    shell: Shell,
    status_page: StatusPage,
    posts: Vec<PostView>,
    can_post: bool,
    can_manage: bool,
    form: PostForm,
    access_form: AccessForm,
    automation: Vec<Choice>,
    /// Maintenance posted by hand (`status_maintenance.rs`).
    can_schedule: bool,
    maintenance: MaintenanceForm,
}

/// The choices of what the page does when a component's monitor goes DOWN.
fn automation_choices(chosen: AutoIncidents) -> Vec<Choice> {
    [
        (AutoIncidents::Off, "Nothing: the team posts by hand"),
        (
            AutoIncidents::Draft,
            "Write a draft for the team to review and publish",
        ),
        (AutoIncidents::Published, "Post it at once"),
    ]
    .into_iter()
    .map(|(mode, label)| Choice {
        value: mode.as_str(),
        label: label.to_owned(),
        selected: mode == chosen,
    })
    .collect()
}

async fn posts_page(
    state: &AppState,
    page: &WebPage,
    id: StatusPageId,
    form: PostForm,
) -> Result<PostsPage, WebError> {
    posts_page_with(state, page, id, form, None).await
}

/// The page's view with the maintenance form shown again with its problems.
pub(super) async fn refused_maintenance(
    state: &AppState,
    page: &WebPage,
    id: StatusPageId,
    maintenance: MaintenanceForm,
) -> Result<impl Template, WebError> {
    let status_page = team_page(state, page, id).await?;
    let mut view = posts_page(state, page, id, first_step_form(&status_page)).await?;
    view.maintenance = maintenance;
    Ok(view)
}

/// The post form prefilled with the first step's template.
fn first_step_form(status_page: &StatusPage) -> PostForm {
    PostForm {
        message: PostStatus::Investigating.template(&template_subject(&[])),
        impacts: impact_choices(Impact::Sev3.as_str()),
        statuses: status_choices(PostStatus::Investigating),
        components: component_choices(status_page, &[]),
        ..PostForm::default()
    }
}

async fn posts_page_with(
    state: &AppState,
    page: &WebPage,
    id: StatusPageId,
    form: PostForm,
    access_form: Option<AccessForm>,
) -> Result<PostsPage, WebError> {
    let status_page = team_page(state, page, id).await?;
    let Json(listed) =
        api::list_incidents(State(state.clone()), page.access.clone(), Path(id)).await?;
    Ok(PostsPage {
        shell: page.shell(format!("Incidents of {}", status_page.spec.title), "status"),
        posts: listed
            .incidents
            .iter()
            .map(|post| PostView::of(post, &status_page.spec.time_zone))
            .collect(),
        access_form: access_form.unwrap_or_else(|| AccessForm::of(&status_page)),
        automation: automation_choices(status_page.spec.auto_incidents),
        can_schedule: page.can(Action::ManageMaintenance),
        maintenance: MaintenanceForm::of(&status_page),
        status_page,
        can_post: page.can(Action::PostStatusIncidents),
        can_manage: page.can(Action::ManageStatusPages),
        form,
    })
}

/// `POST /status-pages/{id}/access`: who may read the page, through the API's replace of the
/// page as stored with these fields changed (a blank password keeps the stored one).
pub async fn set_access(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<StatusPageId>,
    Form(form): Form<Posted>,
) -> Result<Response, WebError> {
    let status_page = team_page(&state, &page, id).await?;
    let visibility = value_of(&form, "visibility");
    let hide_from_search = form.iter().any(|(name, _)| name == "hide_from_search");
    let mut body = serde_json::to_value(&status_page.spec).map_err(ApiError::internal)?;
    body["visibility"] = json!(visibility);
    body["hide_from_search"] = json!(hide_from_search);
    // Passwords are taken as typed: spaces at either end are part of them.
    if let Some((_, password)) = form
        .iter()
        .rfind(|(name, value)| name == "password" && !value.is_empty())
    {
        body["password"] = json!(password);
    }
    match status_pages::update_status_page(
        State(state.clone()),
        page.access.clone(),
        Path(id),
        ApiJson(body),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/status-pages/{id}#access")).into_response()),
        Err(error) => {
            let problems = field_problems(error)?;
            let mut access_form = AccessForm::showing(&status_page, &visibility, hide_from_search);
            access_form.visibility_problem = problem_of(&problems, "visibility");
            access_form.password_problem = problem_of(&problems, "password");
            let form = first_step_form(&status_page);
            let view = posts_page_with(&state, &page, id, form, Some(access_form)).await?;
            Ok((StatusCode::BAD_REQUEST, render(&view)).into_response())
        }
    }
}

/// `POST /status-pages/{id}/automation`: what the page does when a component's monitor goes
/// DOWN, through the API's replace of the page as stored with that field changed.
pub async fn set_automation(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<StatusPageId>,
    Form(form): Form<Posted>,
) -> Result<Response, WebError> {
    let status_page = team_page(&state, &page, id).await?;
    let mut body = serde_json::to_value(&status_page.spec).map_err(ApiError::internal)?;
    body["auto_incidents"] = json!(value_of(&form, "auto_incidents"));
    // The only field this form sets is a choice, so a refusal is a tampered form: an error page.
    let Json(_) = status_pages::update_status_page(
        State(state.clone()),
        page.access.clone(),
        Path(id),
        ApiJson(body),
    )
    .await?;
    Ok(Redirect::to(&format!("/status-pages/{id}#automation")).into_response())
}

/// `GET /status-pages/{id}`: the posts, and the form prefilled with the first step's template.
pub async fn show(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<StatusPageId>,
) -> Result<Response, WebError> {
    let status_page = team_page(&state, &page, id).await?;
    let form = first_step_form(&status_page);
    Ok(render(&posts_page(&state, &page, id, form).await?))
}

/// `POST /status-pages/{id}/incidents`.
pub async fn create(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<StatusPageId>,
    Form(form): Form<Posted>,
) -> Result<Response, WebError> {
    let status_page = team_page(&state, &page, id).await?;
    let body = json!({
        "title": value_of(&form, "title"),
        "impact": value_of(&form, "impact"),
        "status": value_of(&form, "status"),
        "message": value_of(&form, "message"),
        "components": posted_components(&status_page, &form),
    });
    match api::create_incident(
        State(state.clone()),
        page.access.clone(),
        Path(id),
        ApiJson(body),
    )
    .await
    {
        Ok((_, Json(post))) => {
            Ok(Redirect::to(&format!("/status-pages/{id}/incidents/{}", post.id)).into_response())
        }
        Err(error) => {
            let problems = field_problems(error)?;
            let form = refused_form(&status_page, &form, problems);
            let view = posts_page(&state, &page, id, form).await?;
            Ok((StatusCode::BAD_REQUEST, render(&view)).into_response())
        }
    }
}

// ---- One post and the form to update it ----

#[derive(Template)]
#[template(path = "status_post.html")]
struct PostPage {
    shell: Shell,
    status_page: StatusPage,
    post: PostView,
    can_post: bool,
    form: PostForm,
}

async fn post_page(
    state: &AppState,
    page: &WebPage,
    id: StatusPageId,
    incident: StatusIncidentId,
    form: impl FnOnce(&StatusPage, &StatusIncident) -> PostForm,
) -> Result<PostPage, WebError> {
    let status_page = team_page(state, page, id).await?;
    let Json(post) = api::get_incident(
        State(state.clone()),
        page.access.clone(),
        Path((id, incident)),
    )
    .await?;
    Ok(PostPage {
        shell: page.shell(post.title.clone(), "status"),
        form: form(&status_page, &post),
        post: PostView::of(&post, &status_page.spec.time_zone),
        status_page,
        can_post: page.can(Action::PostStatusIncidents),
    })
}

/// `GET /status-pages/{id}/incidents/{incident}`: the timeline, and the update form prefilled
/// with the next step and its template.
pub async fn show_post(
    State(state): State<AppState>,
    page: WebPage,
    Path((id, incident)): Path<(StatusPageId, StatusIncidentId)>,
) -> Result<Response, WebError> {
    let view = post_page(&state, &page, id, incident, |status_page, post| {
        let next = next_status(post.status);
        PostForm {
            message: next.template(&template_subject(&post.components)),
            statuses: status_choices(next),
            components: component_choices(status_page, &post.components),
            ..PostForm::default()
        }
    })
    .await?;
    Ok(render(&view))
}

/// `POST /status-pages/{id}/incidents/{incident}/updates`.
pub async fn add_update(
    State(state): State<AppState>,
    page: WebPage,
    Path((id, incident)): Path<(StatusPageId, StatusIncidentId)>,
    Form(form): Form<Posted>,
) -> Result<Response, WebError> {
    let status_page = team_page(&state, &page, id).await?;
    let body = json!({
        "status": value_of(&form, "status"),
        "message": value_of(&form, "message"),
        "components": posted_components(&status_page, &form),
    });
    match api::add_update(
        State(state.clone()),
        page.access.clone(),
        Path((id, incident)),
        ApiJson(body),
    )
    .await
    {
        Ok(_) => Ok(
            Redirect::to(&format!("/status-pages/{id}/incidents/{incident}#timeline"))
                .into_response(),
        ),
        Err(error) => {
            let problems = field_problems(error)?;
            let view = post_page(&state, &page, id, incident, |status_page, _| {
                refused_form(status_page, &form, problems)
            })
            .await?;
            Ok((StatusCode::BAD_REQUEST, render(&view)).into_response())
        }
    }
}

/// `POST /status-pages/{id}/incidents/{incident}/publish`: a draft goes public.
pub async fn publish(
    State(state): State<AppState>,
    page: WebPage,
    Path((id, incident)): Path<(StatusPageId, StatusIncidentId)>,
) -> Result<Response, WebError> {
    let Json(_) = api::publish_incident(
        State(state.clone()),
        page.access.clone(),
        Path((id, incident)),
    )
    .await?;
    Ok(Redirect::to(&format!("/status-pages/{id}/incidents/{incident}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_offers_the_step_after_the_current_one() {
        assert_eq!(
            next_status(PostStatus::Investigating),
            PostStatus::Identified
        );
        assert_eq!(next_status(PostStatus::Identified), PostStatus::Monitoring);
        assert_eq!(next_status(PostStatus::Monitoring), PostStatus::Resolved);
        assert_eq!(next_status(PostStatus::Resolved), PostStatus::Resolved);
    }
}
