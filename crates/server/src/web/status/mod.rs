//! Public status pages, for visitors without a session: `GET /status/{slug}` (the page, complete
//! without JavaScript), `/status/{slug}/summary.json` (the same figures for embedding, CORS open
//! for GET), `/status/{slug}/badge.svg`, the feeds `/status/{slug}/rss` and `/atom`, and the
//! incident history by month `/status/{slug}/history?month=2026-12`; and the first five at `/`,
//! `/summary.json`, `/badge.svg`, `/rss` and `/atom` of a page's custom domain, matched on the
//! Host header (`custom_domain`). Every answer comes from `cache`; `view` reads what a page
//! shows, `posts` its incident posts and maintenance, `badge` draws the SVG, `feeds` writes the
//! RSS and Atom, `history` the month pages. A private page's answers go only to whom `gate`
//! admits; `POST /status/{slug}/access` (or `/access` of its domain) takes a password page's
//! password, throttled like a sign-in, and sets the page's access cookie.

pub mod badge;
pub mod cache;
pub mod feeds;
pub mod gate;
pub mod history;
pub mod posts;
pub mod subscribe;
pub mod view;

use crate::AppState;
use crate::auth::password::verify_password;
use crate::auth::{ClientIp, client_ip, throttle};
use crate::error::ApiError;
use crate::web::assets::{AssetUrls, accepts_gzip};
use crate::web::form::Posted;
use crate::web::page::WebError;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Form, Path, Query, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use badge::{BadgeAsk, BadgeQuery, BadgeSource};
use cache::Rendered;
use feeds::FeedSource;
use gate::{Gate, Refusal};
use history::{HistoryTemplate, Month};
use posts::PostView;
use serde::Serialize;
use std::net::IpAddr;
use std::sync::Arc;
use view::{DayView, PageView};
use watchtower_core::PageVisibility;
use watchtower_core::status_page::parse_domain;
use watchtower_core::{StatusSlug, Timestamp};
use watchtower_store::{PagePosts, PostReaders, PublicPageKey};

#[derive(Template)]
#[template(path = "status_page.html")]
struct StatusPageTemplate<'a> {
    view: &'a PageView,
    /// Whether the page shows its email sign-up form (`subscribe::open`).
    subscribe_open: bool,
    assets: AssetUrls,
}

#[derive(Template)]
#[template(path = "status_password.html")]
struct PasswordTemplate<'a> {
    title: &'a str,
    /// Where the form posts.
    action: String,
    /// Why the last attempt was refused (never the password itself).
    problem: &'a str,
    assets: AssetUrls,
}

/// Where a page was asked for: decides the password form's target, the access cookie's path
/// and where a visitor goes back to.
#[derive(Debug, Clone, Copy)]
enum Place<'a> {
    Slug(&'a str),
    Domain,
}

impl Place<'_> {
    fn home(self) -> String {
        match self {
            Place::Slug(slug) => format!("/status/{slug}"),
            Place::Domain => "/".to_owned(),
        }
    }

    fn access_action(self) -> String {
        match self {
            Place::Slug(slug) => format!("/status/{slug}/access"),
            Place::Domain => "/access".to_owned(),
        }
    }
}

/// The page's JSON: what the page shows, for embedding elsewhere.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    page: SummaryPage<'a>,
    status: SummaryStatus,
    /// When these figures were read (RFC 3339, UTC).
    updated_at: &'a str,
    history_days: u16,
    components: Vec<SummaryComponent<'a>>,
}

#[derive(Debug, Serialize)]
struct SummaryPage<'a> {
    slug: &'a str,
    title: &'a str,
    description: &'a str,
}

#[derive(Debug, Serialize)]
struct SummaryStatus {
    indicator: watchtower_core::ComponentState,
    description: &'static str,
}

#[derive(Debug, Serialize)]
struct SummaryComponent<'a> {
    name: &'a str,
    description: &'a str,
    group: Option<&'a str>,
    status: watchtower_core::ComponentState,
    status_description: &'static str,
    /// Over the page's history; `null` without checks.
    uptime: Option<f64>,
    /// Average over the last 24 hours, when the page shows response times.
    #[serde(skip_serializing_if = "Option::is_none")]
    response_time_ms: Option<f64>,
    days: &'a [DayView],
}

fn summary_json(view: &PageView) -> Result<Vec<u8>, serde_json::Error> {
    let components = view
        .groups
        .iter()
        .flat_map(|group| {
            group
                .components
                .iter()
                .map(move |component| SummaryComponent {
                    name: &component.name,
                    description: &component.description,
                    group: group.name.as_deref(),
                    status: component.state,
                    status_description: component.state.label(),
                    uptime: component.uptime,
                    response_time_ms: if view.show_response_times {
                        component.response_ms.map(|ms| (ms * 10.0).round() / 10.0)
                    } else {
                        None
                    },
                    days: &component.days,
                })
        })
        .collect();
    serde_json::to_vec(&Summary {
        page: SummaryPage {
            slug: &view.slug,
            title: &view.title,
            description: &view.description,
        },
        status: SummaryStatus {
            indicator: view.overall,
            description: view.overall.headline(),
        },
        updated_at: &view.updated_iso,
        history_days: view.history_days,
        components,
    })
}

/// Reads and renders the page `key` names, or `None` when there is none.
async fn build(state: &AppState, key: PublicPageKey<'_>) -> Result<Option<Rendered>, ApiError> {
    let Some(page) = state.store.public_status_page(key).await? else {
        return Ok(None);
    };
    let now = Timestamp::now();
    let view = view::load(state.store.as_ref(), &page, now).await?;
    let feed_posts = state
        .store
        .page_status_incidents(
            page.id,
            PagePosts::Newest(feeds::FEED_POSTS),
            PostReaders::Visitors,
        )
        .await?;
    let feed = FeedSource {
        slug: view.slug.clone(),
        title: view.title.clone(),
        description: view.description.clone(),
        posts: feed_posts
            .iter()
            .map(|post| PostView::of(post, &page.spec.time_zone))
            .collect(),
        maintenance: view.maintenance.clone(),
        read_at: now,
    };
    let html = StatusPageTemplate {
        view: &view,
        subscribe_open: subscribe::open(state, &page),
        assets: AssetUrls::get(),
    }
    .render()
    .map_err(ApiError::internal)?;
    let summary = summary_json(&view).map_err(ApiError::internal)?;
    let (html, html_gzip) = Rendered::html(html);
    Ok(Some(Rendered {
        html,
        html_gzip,
        summary: Bytes::from(summary),
        badge: Bytes::from(badge::render(&view.title, view.overall)),
        badges: Some(BadgeSource::new(&page, &view)),
        logo_origin: page.spec.logo_origin(),
        hide_from_search: view.hide_from_search,
        gate: Gate::of(&page),
        title: view.title.clone(),
        feed: Arc::new(feed),
    }))
}

pub(super) async fn rendered(
    state: &AppState,
    key: PublicPageKey<'_>,
) -> Result<Option<Arc<Rendered>>, ApiError> {
    let cache_key = match key {
        PublicPageKey::Slug(slug) => format!("slug:{slug}"),
        PublicPageKey::Domain(domain) => format!("domain:{domain}"),
    };
    state
        .status_pages
        .get_or_build(&cache_key, || build(state, key))
        .await
}

/// Which of a page's answers a request asks for.
#[derive(Debug, Clone)]
enum Part {
    Page,
    Summary,
    Badge(BadgeAsk),
    Rss,
    Atom,
}

/// Where a feed's links point: the instance's public URL when configured, otherwise the host
/// the request named (when it looks like one).
fn feed_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = state.status_pages.public_url() {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| {
            !host.is_empty()
                && host.len() <= 255
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// `part` of `page`; `badge` is a badge drawn for this request's query (the page's plain status
/// badge is kept with the page).
fn answer(
    state: &AppState,
    headers: &HeaderMap,
    page: &Rendered,
    part: &Part,
    badge: Option<Bytes>,
) -> Response {
    // The page compressed once when rendered, for clients that take it.
    let gzipped = matches!(part, Part::Page) && page.html_gzip.is_some() && accepts_gzip(headers);
    let (kind, body, cache) = match part {
        Part::Rss => (
            "application/rss+xml; charset=utf-8",
            Bytes::from(feeds::rss(&page.feed, &feed_base(state, headers))),
            "public, max-age=60",
        ),
        Part::Atom => (
            "application/atom+xml; charset=utf-8",
            Bytes::from(feeds::atom(&page.feed, &feed_base(state, headers))),
            "public, max-age=60",
        ),
        Part::Page => (
            "text/html; charset=utf-8",
            match &page.html_gzip {
                Some(compressed) if gzipped => compressed.clone(),
                _ => page.html.clone(),
            },
            "public, max-age=10",
        ),
        Part::Summary => (
            "application/json",
            page.summary.clone(),
            "public, max-age=10",
        ),
        Part::Badge(_) => match badge {
            Some(badge) => ("image/svg+xml", badge, "public, max-age=60"),
            None => ("image/svg+xml", page.badge.clone(), "public, max-age=30"),
        },
    };
    // A private answer is the reader's own: no shared cache keeps it.
    let private = page.gate.is_private();
    let cache = if private { "private, no-cache" } else { cache };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    match part {
        Part::Page => {
            if page.html_gzip.is_some() {
                headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
                if gzipped {
                    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                }
            }
            // The dashboard's policy, with the logo's origin allowed for images.
            let images = page
                .logo_origin
                .as_deref()
                .map(|origin| format!(" {origin}"))
                .unwrap_or_default();
            let csp = format!(
                "default-src 'self'; img-src 'self' data:{images}; style-src 'self'; \
                 script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
                 frame-ancestors 'self'"
            );
            if let Ok(value) = HeaderValue::from_str(&csp) {
                headers.insert(header::CONTENT_SECURITY_POLICY, value);
            }
            if page.hide_from_search {
                headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
            }
        }
        Part::Summary if !private => {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
        Part::Summary => {}
        Part::Badge(_) | Part::Rss | Part::Atom => {}
    }
    if page.hide_from_search && !matches!(part, Part::Page) {
        headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    }
    response
}

/// A missing page: the 404 page for people, the error shape for the JSON, a bare 404 for the
/// badge.
fn missing(part: &Part) -> Response {
    match part {
        Part::Page => WebError::not_found().into_response(),
        Part::Summary => ApiError::not_found().into_response(),
        Part::Badge(_) | Part::Rss | Part::Atom => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The password form, with `problem` when an attempt was refused.
fn password_form(status: StatusCode, title: &str, place: Place<'_>, problem: &str) -> Response {
    let html = PasswordTemplate {
        title,
        action: place.access_action(),
        problem,
        assets: AssetUrls::get(),
    }
    .render();
    match html {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => WebError::from(ApiError::internal(error)).into_response(),
    }
}

/// The answer to a request `gate` did not admit: the password form or the way to sign in for
/// people, 401 for the JSON, badge and feeds, and for someone outside a members page's team
/// the same as no page. Never cached, never indexed.
fn refused(part: &Part, refusal: Refusal, place: Place<'_>, title: &str) -> Response {
    let mut response = match (refusal, part) {
        (Refusal::NotMember, _) => missing(part),
        (Refusal::Password, Part::Page) => {
            password_form(StatusCode::UNAUTHORIZED, title, place, "")
        }
        (Refusal::SignIn, Part::Page) => WebError::SignIn(place.home()).into_response(),
        (_, Part::Summary) => ApiError::unauthenticated().into_response(),
        (_, Part::Badge(_) | Part::Rss | Part::Atom) => StatusCode::UNAUTHORIZED.into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    response
}

/// `part` of `page` if the request may read it.
async fn deliver(
    state: &AppState,
    headers: &HeaderMap,
    page: &Rendered,
    part: &Part,
    place: Place<'_>,
) -> Response {
    if let Err(refusal) = gate::admit(state, headers, page).await {
        return refused(part, refusal, place, &page.title);
    }
    let badge = match part {
        Part::Badge(ask) if *ask != BadgeAsk::PAGE_STATUS => {
            let Some(badges) = &page.badges else {
                return missing(part);
            };
            let cache = state.status_pages.badge_figures();
            match badges
                .svg(state.store.as_ref(), cache, ask, Timestamp::now())
                .await
            {
                Ok(Some(svg)) => Some(Bytes::from(svg)),
                Ok(None) => return missing(part),
                Err(error) => return ApiError::from(error).into_response(),
            }
        }
        _ => None,
    };
    answer(state, headers, page, part, badge)
}

async fn serve(state: &AppState, headers: &HeaderMap, slug: &str, part: &Part) -> Response {
    // A slug that cannot exist costs no query and takes no place in the cache.
    if StatusSlug::parse(slug).is_err() {
        return missing(part);
    }
    match rendered(state, PublicPageKey::Slug(slug)).await {
        Ok(Some(page)) => deliver(state, headers, &page, part, Place::Slug(slug)).await,
        Ok(None) => missing(part),
        Err(error) if matches!(part, Part::Page) => WebError::from(error).into_response(),
        Err(error) => error.into_response(),
    }
}

/// `GET /status/{slug}`.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Response {
    serve(&state, &headers, &slug, &Part::Page).await
}

/// `GET /status/{slug}/summary.json`.
pub async fn summary(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Response {
    serve(&state, &headers, &slug, &Part::Summary).await
}

/// `GET /status/{slug}/badge.svg[?kind=&period=&component=]` (see `badge::BadgeQuery`).
pub async fn badge(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    match badge_ask(query.as_deref()) {
        Ok(ask) => serve(&state, &headers, &slug, &Part::Badge(ask)).await,
        Err(error) => error.into_response(),
    }
}

/// A badge's query, every bad field named in the error shape.
fn badge_ask(query: Option<&str>) -> Result<BadgeAsk, ApiError> {
    let Some(query) = query.filter(|query| !query.is_empty()) else {
        return Ok(BadgeAsk::PAGE_STATUS);
    };
    let query: BadgeQuery = serde_urlencoded::from_str(query)
        .map_err(|error| ApiError::invalid_field("query", format!("cannot be read ({error})")))?;
    BadgeAsk::parse(&query)
}

/// `GET /status/{slug}/rss`: RSS 2.0 of the page's incident posts and maintenance.
pub async fn rss(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Response {
    serve(&state, &headers, &slug, &Part::Rss).await
}

/// `GET /status/{slug}/atom`: the same as Atom.
pub async fn atom(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Response {
    serve(&state, &headers, &slug, &Part::Atom).await
}

#[derive(Debug, serde::Deserialize)]
pub struct HistoryQuery {
    month: Option<String>,
}

/// Renders the history of `slug` for `month` (none: the current month of the page's zone);
/// `None` when there is no such page or the month is after the current one.
async fn build_history(
    state: &AppState,
    slug: &str,
    month: Option<Month>,
) -> Result<Option<Rendered>, ApiError> {
    let Some(page) = state
        .store
        .public_status_page(PublicPageKey::Slug(slug))
        .await?
    else {
        return Ok(None);
    };
    let zone = jiff::tz::TimeZone::get(&page.spec.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let current = Month::of(Timestamp::now(), &zone);
    let month = month.unwrap_or(current);
    if month > current {
        return Ok(None);
    }
    let posts = state
        .store
        .page_status_incidents(
            page.id,
            PagePosts::CreatedBetween {
                from: month.start(&zone),
                to: month.next().start(&zone),
            },
            PostReaders::Visitors,
        )
        .await?;
    let html = HistoryTemplate {
        slug: slug.to_owned(),
        title: page.spec.title.clone(),
        hide_from_search: page.spec.asks_noindex(),
        month_label: month.label(),
        previous: month.previous().to_string(),
        previous_label: month.previous().label(),
        next: (month < current).then(|| (month.next().to_string(), month.next().label())),
        posts: posts
            .iter()
            .map(|post| PostView::of(post, &page.spec.time_zone))
            .collect(),
        assets: AssetUrls::get(),
    }
    .render()
    .map_err(ApiError::internal)?;
    let (html, html_gzip) = Rendered::html(html);
    Ok(Some(Rendered {
        html,
        html_gzip,
        hide_from_search: page.spec.asks_noindex(),
        gate: Gate::of(&page),
        title: page.spec.title.clone(),
        ..Rendered::default()
    }))
}

/// `GET /status/{slug}/history?month=2026-12`.
pub async fn history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Response {
    let month = match query.month.as_deref() {
        None | Some("") => None,
        Some(raw) => match Month::parse(raw) {
            Some(month) => Some(month),
            None => return missing(&Part::Page),
        },
    };
    if StatusSlug::parse(&slug).is_err() {
        return missing(&Part::Page);
    }
    let key = format!(
        "history:{slug}:{}",
        month.map(|m| m.to_string()).unwrap_or_default()
    );
    match state
        .status_pages
        .get_or_build(&key, || build_history(&state, &slug, month))
        .await
    {
        Ok(Some(page)) => deliver(&state, &headers, &page, &Part::Page, Place::Slug(&slug)).await,
        Ok(None) => missing(&Part::Page),
        Err(error) => WebError::from(error).into_response(),
    }
}

/// The host a request names (Host header, or the URI's authority under HTTP/2), lower case,
/// without a port; `None` unless it could be a page's custom domain.
fn requested_domain(request: &Request) -> Option<String> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| request.uri().host())?;
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    parse_domain(name).ok()
}

/// The most a password form may send.
const MAX_PASSWORD_FORM: usize = 4 * 1024;

/// Takes a password page's password: throttled per page and per address like a sign-in (the
/// failures are the same security events), checked with the users' hasher, then the page's
/// access cookie and back to the page. The password is never shown back.
async fn enter(
    state: &AppState,
    headers: &HeaderMap,
    ip: Option<IpAddr>,
    key: PublicPageKey<'_>,
    place: Place<'_>,
    form: &[(String, String)],
) -> Response {
    // The form has no session to protect, but another site may not sign a visitor in.
    if headers
        .get("sec-fetch-site")
        .is_some_and(|site| site.as_bytes() == b"cross-site")
    {
        return WebError::from(ApiError::forbidden("a form posted from another site"))
            .into_response();
    }
    let page = match state.store.public_status_page(key).await {
        Ok(Some(page)) if page.spec.visibility == PageVisibility::Password => page,
        Ok(_) => return missing(&Part::Page),
        Err(error) => return WebError::from(ApiError::from(error)).into_response(),
    };
    let title = page.spec.title.as_str();
    let now = Timestamp::now();
    let throttle_key = format!("status_page:{}", page.id);
    if let Err(error) = throttle::check(state, Some(&throttle_key), ip, now).await {
        let mut response = password_form(
            error.status,
            title,
            place,
            "Too many wrong passwords; try again in a few minutes.",
        );
        if let Some(seconds) = error.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        return response;
    }
    let password = form
        .iter()
        .rfind(|(name, _)| name == "password")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    let hash = page.spec.password_hash.clone();
    // An over-long password is wrong without being hashed (a page's is at most 128 characters).
    let matches = password.chars().count() <= 128
        && hash.as_ref().is_some_and(|hash| !hash.expose().is_empty())
        && verify_password(password, hash.map(|hash| hash.expose().to_owned())).await;
    if !matches {
        throttle::record(
            state,
            "login_failed",
            Some(&throttle_key),
            None,
            ip,
            "wrong status page password".into(),
            now,
        )
        .await;
        return password_form(
            StatusCode::UNAUTHORIZED,
            title,
            place,
            "That password is not right.",
        );
    }
    let Some(hash) = page.spec.password_hash.as_ref() else {
        return missing(&Part::Page);
    };
    let secret = match state.status_pages.secret(state.store.as_ref()).await {
        Ok(secret) => secret,
        Err(error) => return WebError::from(ApiError::from(error)).into_response(),
    };
    let token = gate::access_token(&secret, page.id, hash, now.0 + gate::ACCESS_SECONDS * 1000);
    let cookie = gate::access_cookie(state, &token, &place.home());
    let mut response = Redirect::to(&place.home()).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /status/{slug}/access`: a password page's form.
pub async fn enter_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(form): Form<Posted>,
) -> Response {
    if StatusSlug::parse(&slug).is_err() {
        return missing(&Part::Page);
    }
    enter(
        &state,
        &headers,
        ip,
        PublicPageKey::Slug(&slug),
        Place::Slug(&slug),
        &form,
    )
    .await
}

/// `POST /access` of a custom domain that is a page's.
async fn enter_on_domain(state: &AppState, request: Request, domain: &str) -> Response {
    let (parts, body) = request.into_parts();
    let ip = client_ip(&parts, state.auth.trust_forwarded_for);
    let form: Posted = match axum::body::to_bytes(body, MAX_PASSWORD_FORM)
        .await
        .ok()
        .and_then(|bytes| serde_urlencoded::from_bytes(&bytes).ok())
    {
        Some(form) => form,
        None => {
            return WebError::from(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_form",
                "the form must be at most 4 KiB of form data",
            ))
            .into_response();
        }
    };
    enter(
        state,
        &parts.headers,
        ip,
        PublicPageKey::Domain(domain),
        Place::Domain,
        &form,
    )
    .await
}

/// Which part of a page a request asks for if its host is a page's custom domain: `/`,
/// `/summary.json`, `/badge.svg`, `/rss` and `/atom`, read with GET or HEAD. `None` for every
/// other request, which goes on to the routes.
fn custom_domain_request(request: &Request) -> Option<(Result<Part, ApiError>, String)> {
    let part = match request.uri().path() {
        "/" => Ok(Part::Page),
        "/summary.json" => Ok(Part::Summary),
        "/badge.svg" => badge_ask(request.uri().query()).map(Part::Badge),
        "/rss" => Ok(Part::Rss),
        "/atom" => Ok(Part::Atom),
        _ => return None,
    };
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return None;
    }
    Some((part, requested_domain(request)?))
}

/// That part of the page whose custom domain is `domain`, if there is such a page.
async fn custom_domain_answer(
    state: &AppState,
    headers: &HeaderMap,
    (part, domain): (Result<Part, ApiError>, String),
) -> Option<Response> {
    match rendered(state, PublicPageKey::Domain(&domain)).await {
        Ok(Some(page)) => Some(match part {
            Ok(part) => deliver(state, headers, &page, &part, Place::Domain).await,
            Err(error) => error.into_response(),
        }),
        Ok(None) => None,
        Err(error) => {
            tracing::warn!(code = error.code, "cannot look up a custom status domain");
            None
        }
    }
}

/// The layer of the `/` route: a page's custom domain gets the page, every other host the
/// dashboard. Only `/` carries it, so no other request pays for the lookup (docs/PERFORMANCE.md,
/// "Push CPU per ping").
pub async fn custom_domain_root(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(asked) = custom_domain_request(&request)
        && let Some(page) = custom_domain_answer(&state, request.headers(), asked).await
    {
        return page;
    }
    next.run(request).await
}

/// The router's fallback: a custom domain's `/summary.json`, `/badge.svg`, `/rss` and `/atom`
/// (no route has those paths) and its password form's `POST /access`, otherwise the API's 404.
pub async fn custom_domain_or_not_found(
    State(state): State<AppState>,
    request: Request,
) -> Response {
    if request.uri().path() == "/access"
        && request.method() == Method::POST
        && let Some(domain) = requested_domain(&request)
        && let Ok(Some(_)) = rendered(&state, PublicPageKey::Domain(&domain)).await
    {
        return enter_on_domain(&state, request, &domain).await;
    }
    if let Some(asked) = custom_domain_request(&request)
        && let Some(page) = custom_domain_answer(&state, request.headers(), asked).await
    {
        return page;
    }
    ApiError::not_found().into_response()
}
