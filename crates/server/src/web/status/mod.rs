//! Public status pages, for visitors without a session: `GET /status/{slug}` (the page, complete
//! without JavaScript), `/status/{slug}/summary.json` (the same figures for embedding, CORS open
//! for GET) and `/status/{slug}/badge.svg`; and the same three at `/`, `/summary.json` and
//! `/badge.svg` of a page's custom domain, matched on the Host header (`custom_domain`). Every
//! answer comes from `cache`; `view` reads what a page shows, `badge` draws the SVG.

pub mod badge;
pub mod cache;
pub mod view;

use crate::AppState;
use crate::error::ApiError;
use crate::web::assets::AssetUrls;
use crate::web::page::WebError;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cache::Rendered;
use serde::Serialize;
use std::sync::Arc;
use view::{DayView, PageView};
use watchtower_core::status_page::parse_domain;
use watchtower_core::{StatusSlug, Timestamp};
use watchtower_store::PublicPageKey;

#[derive(Template)]
#[template(path = "status_page.html")]
struct StatusPageTemplate<'a> {
    view: &'a PageView,
    assets: AssetUrls,
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
    let view = view::load(state.store.as_ref(), &page, Timestamp::now()).await?;
    let html = StatusPageTemplate {
        view: &view,
        assets: AssetUrls::get(),
    }
    .render()
    .map_err(ApiError::internal)?;
    let summary = summary_json(&view).map_err(ApiError::internal)?;
    Ok(Some(Rendered {
        html: Bytes::from(html),
        summary: Bytes::from(summary),
        badge: Bytes::from(badge::render(&view.title, view.overall)),
        logo_origin: page.spec.logo_origin(),
        hide_from_search: view.hide_from_search,
    }))
}

async fn rendered(
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
#[derive(Debug, Clone, Copy)]
enum Part {
    Page,
    Summary,
    Badge,
}

fn answer(page: &Rendered, part: Part) -> Response {
    let (kind, body, cache) = match part {
        Part::Page => (
            "text/html; charset=utf-8",
            page.html.clone(),
            "public, max-age=10",
        ),
        Part::Summary => (
            "application/json",
            page.summary.clone(),
            "public, max-age=10",
        ),
        Part::Badge => ("image/svg+xml", page.badge.clone(), "public, max-age=30"),
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    match part {
        Part::Page => {
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
        Part::Summary => {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
        Part::Badge => {}
    }
    response
}

/// A missing page: the 404 page for people, the error shape for the JSON, a bare 404 for the
/// badge.
fn missing(part: Part) -> Response {
    match part {
        Part::Page => WebError::not_found().into_response(),
        Part::Summary => ApiError::not_found().into_response(),
        Part::Badge => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn serve(state: &AppState, slug: &str, part: Part) -> Response {
    // A slug that cannot exist costs no query and takes no place in the cache.
    if StatusSlug::parse(slug).is_err() {
        return missing(part);
    }
    match rendered(state, PublicPageKey::Slug(slug)).await {
        Ok(Some(page)) => answer(&page, part),
        Ok(None) => missing(part),
        Err(error) if matches!(part, Part::Page) => WebError::from(error).into_response(),
        Err(error) => error.into_response(),
    }
}

/// `GET /status/{slug}`.
pub async fn page(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    serve(&state, &slug, Part::Page).await
}

/// `GET /status/{slug}/summary.json`.
pub async fn summary(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    serve(&state, &slug, Part::Summary).await
}

/// `GET /status/{slug}/badge.svg`.
pub async fn badge(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    serve(&state, &slug, Part::Badge).await
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

/// Serves a page on its custom domain: `/`, `/summary.json` and `/badge.svg` of a host that is
/// a page's domain are that page's; every other request goes on to the routes.
pub async fn custom_domain(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let part = match request.uri().path() {
        "/" => Part::Page,
        "/summary.json" => Part::Summary,
        "/badge.svg" => Part::Badge,
        _ => return next.run(request).await,
    };
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let Some(domain) = requested_domain(&request) else {
        return next.run(request).await;
    };
    match rendered(&state, PublicPageKey::Domain(&domain)).await {
        Ok(Some(page)) => answer(&page, part),
        Ok(None) => next.run(request).await,
        Err(error) => {
            tracing::warn!(code = error.code, "cannot look up a custom status domain");
            next.run(request).await
        }
    }
}
