//! A visitor's email subscription to a page: `POST /status/{slug}/subscribe` (the page's form:
//! an address and, optionally, the components to follow) queues the confirmation email in the
//! sign-up's transaction, within the per-address throttle and a per-client limit;
//! `GET /status/{slug}/confirm` (the email's signed link) shows a button and `POST` confirms;
//! `GET /status/{slug}/unsubscribe` shows a button and `POST` (the button, or a mail client's
//! RFC 8058 one-click) ends the subscription. Buttons, because mail scanners follow links.
//! Whether an address was already subscribed is never told: every sign-up the client limit
//! admits gets the same answer.

use super::gate;
use crate::AppState;
use crate::api::status_subscribers::{email_closed, plan_allows_one_more};
use crate::auth::ClientIp;
use crate::web::assets::AssetUrls;
use crate::web::form::Posted;
use crate::web::page::WebError;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use watchtower_alerting::links::{SubscriberLink, verify_subscriber_token};
use watchtower_core::status_subscriber::subscriber_email;
use watchtower_core::{
    NewSubscriber, PageVisibility, StatusSlug, StatusSubscriberId, SubscriberKind, Timestamp,
};
use watchtower_store::{PublicPageKey, SignUpOutcome, StatusPage};

#[derive(Template)]
#[template(path = "status_message.html")]
struct MessageTemplate<'a> {
    title: &'a str,
    heading: &'a str,
    paragraphs: Vec<String>,
    /// The first paragraph says what went wrong.
    is_problem: bool,
    form_action: Option<String>,
    form_button: &'a str,
    home: String,
    assets: AssetUrls,
}

/// Whether a page shows its sign-up form: it has a subscriber email channel, WatchTower knows
/// its public URL (the confirmation link), and the page is not for members only.
pub fn open(state: &AppState, page: &StatusPage) -> bool {
    page.spec.visibility != PageVisibility::Members && email_closed(state, page).is_none()
}

struct Answer<'a> {
    status: StatusCode,
    heading: &'a str,
    paragraphs: Vec<String>,
    form: Option<(String, &'a str)>,
}

fn answer(page: &StatusPage, answer: Answer<'_>) -> Response {
    let home = format!("/status/{}", page.spec.slug.as_str());
    let template = MessageTemplate {
        title: &page.spec.title,
        heading: answer.heading,
        is_problem: !answer.status.is_success(),
        paragraphs: answer.paragraphs,
        form_button: answer.form.as_ref().map_or("", |(_, button)| button),
        form_action: answer.form.map(|(action, _)| action),
        home,
        assets: AssetUrls::get(),
    };
    let mut response = match template.render() {
        Ok(html) => (answer.status, Html(html)).into_response(),
        Err(error) => {
            return WebError::from(crate::error::ApiError::internal(error)).into_response();
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    response
}

/// The answer to a store failure.
fn store_failed(error: watchtower_store::StoreError) -> Response {
    WebError::from(crate::error::ApiError::from(error)).into_response()
}

/// `Err` with the answer to give when the team's plan takes no more subscribers.
async fn room_for_one_more(state: &AppState, page: &StatusPage) -> Result<(), Response> {
    let plan = match state.store.get_team(page.team_id).await {
        Ok(Some(team)) => team.plan,
        Ok(None) => return Err(not_found()),
        Err(error) => return Err(store_failed(error)),
    };
    match plan_allows_one_more(state, page.team_id, plan).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(answer(
            page,
            Answer {
                status: StatusCode::PAYMENT_REQUIRED,
                heading: "The subscription was not made",
                paragraphs: vec![
                    "This page takes no more subscribers for now. Its RSS and Atom feeds carry the same news.".into(),
                ],
                form: None,
            },
        )),
        Err(error) => Err(WebError::from(error).into_response()),
    }
}

fn not_found() -> Response {
    WebError::from(crate::error::ApiError::not_found()).into_response()
}

/// The page at `slug` if the visitor may read it (a password page's access cookie), else the
/// answer to give.
async fn readable_page(
    state: &AppState,
    headers: &HeaderMap,
    slug: &str,
) -> Result<StatusPage, Response> {
    if StatusSlug::parse(slug).is_err() {
        return Err(not_found());
    }
    let key = PublicPageKey::Slug(slug);
    let page = match state.store.public_status_page(key).await {
        Ok(Some(page)) => page,
        Ok(None) => return Err(not_found()),
        Err(error) => {
            return Err(store_failed(error));
        }
    };
    let rendered = match super::rendered(state, key).await {
        Ok(Some(rendered)) => rendered,
        Ok(None) => return Err(not_found()),
        Err(error) => return Err(WebError::from(error).into_response()),
    };
    if gate::admit(state, headers, &rendered).await.is_err() {
        return Err(not_found());
    }
    Ok(page)
}

/// `POST /status/{slug}/subscribe`: the page's sign-up form.
pub async fn subscribe(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(form): Form<Posted>,
) -> Response {
    // Another site may not sign its visitors' addresses up (double opt-in would stop it anyway).
    if headers
        .get("sec-fetch-site")
        .is_some_and(|site| site.as_bytes() == b"cross-site")
    {
        return WebError::from(crate::error::ApiError::forbidden(
            "a form posted from another site",
        ))
        .into_response();
    }
    let page = match readable_page(&state, &headers, &slug).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    if !open(&state, &page) {
        return not_found();
    }
    let problem = |text: String| {
        answer(
            &page,
            Answer {
                status: StatusCode::BAD_REQUEST,
                heading: "The subscription was not made",
                paragraphs: vec![text],
                form: None,
            },
        )
    };
    let raw_email = form
        .iter()
        .rfind(|(name, _)| name == "email")
        .map(|(_, value)| value.as_str())
        .unwrap_or_default();
    let address = match subscriber_email(raw_email) {
        Ok(address) => address,
        Err(why) => return problem(format!("The email address {why}.")),
    };
    if let Some(ip) = ip
        && !state.status_pages.sign_up_admitted(ip)
    {
        let mut response = answer(
            &page,
            Answer {
                status: StatusCode::TOO_MANY_REQUESTS,
                heading: "The subscription was not made",
                paragraphs: vec!["Too many sign-ups came from your network just now; try again in a few minutes.".into()],
                form: None,
            },
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(60));
        return response;
    }
    let mut components: Vec<String> = Vec::new();
    for (_, name) in form.iter().filter(|(field, _)| field == "components") {
        if !page
            .spec
            .components()
            .any(|component| &component.name == name)
        {
            return problem(format!("The page has no component named '{name}'."));
        }
        if !components.contains(name) {
            components.push(name.clone());
        }
    }
    let new = NewSubscriber {
        kind: SubscriberKind::Email,
        address,
        components: (!components.is_empty()).then_some(components),
    };
    if let Err(response) = room_for_one_more(&state, &page).await {
        return response;
    }
    match state
        .store
        .subscribe(page.team_id, page.id, &new, Timestamp::now())
        .await
    {
        // Queued, subscribed already, or throttled: one answer, so the form cannot be used to
        // learn whether an address is subscribed (the throttle still holds the email back).
        Ok(
            SignUpOutcome::Queued(_)
            | SignUpOutcome::AlreadyConfirmed(_)
            | SignUpOutcome::Throttled { .. },
        ) => {
            state.subscriber_wake.notify_one();
            answer(
                &page,
                Answer {
                    status: StatusCode::OK,
                    heading: "Check your inbox",
                    paragraphs: vec![format!(
                        "If {} is not subscribed yet, an email with a confirmation link is on its way to it \
                             (one at most every 10 minutes). Follow the link to start receiving updates; it works for 7 days.",
                        new.address
                    )],
                    form: None,
                },
            )
        }
        Err(error) => store_failed(error),
    }
}

/// A subscriber's link: which subscriber, and its signature.
#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    subscriber: i64,
    token: String,
}

/// The subscriber a signed link names, if the link is good at `now`.
async fn linked_subscriber(
    state: &AppState,
    page: &StatusPage,
    link: SubscriberLink,
    query: &LinkQuery,
    now: Timestamp,
) -> Result<Option<watchtower_store::StatusSubscriber>, Response> {
    let secret = state
        .status_pages
        .secret(state.store.as_ref())
        .await
        .map_err(store_failed)?;
    let subscriber = state
        .store
        .page_subscriber(page.id, StatusSubscriberId(query.subscriber))
        .await
        .map_err(store_failed)?;
    Ok(subscriber.filter(|subscriber| {
        verify_subscriber_token(
            &secret,
            link,
            subscriber.id,
            &subscriber.address,
            &query.token,
            now,
        )
    }))
}

/// `GET /status/{slug}/confirm`: the confirmation email's link shows a button, so that a mail
/// scanner that follows links confirms no one.
pub async fn confirm_form(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LinkQuery>,
) -> Response {
    let page = match page_by_slug(&state, &slug).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    answer(
        &page,
        Answer {
            status: StatusCode::OK,
            heading: "Confirm the subscription",
            paragraphs: vec![format!(
                "You will be emailed when an incident is posted on {}, updated and resolved, and when maintenance begins.",
                page.spec.title
            )],
            form: Some((link_action(&page, "confirm", &query), "Confirm")),
        },
    )
}

/// `POST /status/{slug}/confirm`: the button. The signed link is all it needs (no password
/// cookie: it may be followed on another device), within the plan's subscriber limit.
pub async fn confirm(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LinkQuery>,
) -> Response {
    let page = match page_by_slug(&state, &slug).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    let now = Timestamp::now();
    let subscriber =
        match linked_subscriber(&state, &page, SubscriberLink::Confirm, &query, now).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let Some(subscriber) = subscriber else {
        return answer(
            &page,
            Answer {
                status: StatusCode::BAD_REQUEST,
                heading: "This link does not work",
                paragraphs: vec![
                    "It has expired, or is not complete, or the subscription was cancelled since. Sign up again on the status page.".into(),
                ],
                form: None,
            },
        );
    };
    if subscriber.confirmed_at.is_none()
        && let Err(response) = room_for_one_more(&state, &page).await
    {
        return response;
    }
    match state
        .store
        .confirm_subscriber(page.id, subscriber.id, &subscriber.address, now)
        .await
    {
        Ok(Some(subscriber)) => answer(
            &page,
            Answer {
                status: StatusCode::OK,
                heading: "You are subscribed",
                paragraphs: vec![format!(
                    "{} will be told when an incident is posted, updated and resolved. Every email has a link to stop them.",
                    subscriber.address
                )],
                form: None,
            },
        ),
        Ok(None) => not_found(),
        Err(error) => store_failed(error),
    }
}

/// The form action of a link's button: the same path and query, written again.
fn link_action(page: &StatusPage, action: &str, query: &LinkQuery) -> String {
    let link = serde_urlencoded::to_string([
        ("subscriber", query.subscriber.to_string()),
        ("token", query.token.clone()),
    ])
    .unwrap_or_default();
    format!("/status/{}/{action}?{link}", page.spec.slug.as_str())
}

/// `GET /status/{slug}/unsubscribe`: a button, so that a mail scanner that follows links does
/// not unsubscribe anyone.
pub async fn unsubscribe_form(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LinkQuery>,
) -> Response {
    let page = match page_by_slug(&state, &slug).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    let action = link_action(&page, "unsubscribe", &query);
    answer(
        &page,
        Answer {
            status: StatusCode::OK,
            heading: "Stop the status emails",
            paragraphs: vec![format!(
                "You will get no more emails about {}.",
                page.spec.title
            )],
            form: Some((action, "Unsubscribe")),
        },
    )
}

/// `POST /status/{slug}/unsubscribe`: the button, or a mail client's one-click (RFC 8058). The
/// signed link is all it needs: no session, no password cookie, no check of where it came from.
pub async fn unsubscribe(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LinkQuery>,
) -> Response {
    let page = match page_by_slug(&state, &slug).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    let subscriber = match linked_subscriber(
        &state,
        &page,
        SubscriberLink::Unsubscribe,
        &query,
        Timestamp::now(),
    )
    .await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    if let Some(subscriber) = subscriber {
        if let Err(error) = state
            .store
            .unsubscribe(page.id, subscriber.id, &subscriber.address)
            .await
        {
            return store_failed(error);
        }
        return answer(
            &page,
            Answer {
                status: StatusCode::OK,
                heading: "You are unsubscribed",
                paragraphs: vec![format!(
                    "{} will get no more emails from this page.",
                    subscriber.address
                )],
                form: None,
            },
        );
    }
    // Already gone, or a link that was never good: the same answer, so links cannot be probed.
    answer(
        &page,
        Answer {
            status: StatusCode::OK,
            heading: "You are unsubscribed",
            paragraphs: vec!["This address gets no emails from this page.".into()],
            form: None,
        },
    )
}

/// The page of a subscriber's link: found by slug alone, the signed link being the subscriber's
/// authority (one of a page that became private since must still be able to leave it).
async fn page_by_slug(state: &AppState, slug: &str) -> Result<StatusPage, Response> {
    if StatusSlug::parse(slug).is_err() {
        return Err(not_found());
    }
    match state
        .store
        .public_status_page(PublicPageKey::Slug(slug))
        .await
    {
        Ok(Some(page)) => Ok(page),
        Ok(None) => Err(not_found()),
        Err(error) => Err(store_failed(error)),
    }
}
