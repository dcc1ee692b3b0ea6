//! The REST API under `/api`: one module per resource (the larger ones, `monitors`, `teams` and
//! `alerting`, one file per action group), each handler annotated for the OpenAPI document
//! served at `/api/openapi.json`. Handlers start from `TeamAccess` (or `Caller`), check
//! the action with `require`, check the plan, then call the store. Every answer is a typed
//! struct, so the document describes each body exactly; every error status references the one
//! error schema (`ErrorBody`), and the statuses every route can answer (401, 429, ...) are added
//! to each operation by `ErrorResponses` from what the operation takes. `RequestIds` declares
//! the `X-Request-Id` header, sent and answered, on every operation. A request body that a
//! parser reads field by field (a monitor, a channel, a maintenance window) is taken as JSON,
//! so every bad field is listed at once, and is described in words.

pub mod admin;
pub mod alerting;
pub mod auth;
pub mod billing;
mod body;
pub mod escalation;
pub mod incidents;
pub mod maintenance;
pub mod monitors;
pub mod status_incidents;
pub mod status_pages;
pub mod status_subscribers;
pub mod teams;

pub use body::{ApiJson, display_name};

use crate::AppState;
use crate::error::ErrorBody;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Object, Ref, RefOr, Required, ResponseBuilder, Type};
use utoipa::{IntoParams, Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "WatchTower API",
        description = "Monitors, results, incidents, teams and keys. Authenticate with an API key \
                       (`Authorization: Bearer wtk_...`) or a session cookie from \
                       `/api/auth/login` plus the `X-CSRF-Token` header on unsafe requests. Every \
                       error has the shape `{\"error\": {\"code\", \"message\", \"details\"}}`.",
        license(name = "AGPL-3.0-only")
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes),
    security(("api_key" = []), ("session" = [])),
    tags(
        (name = "auth", description = "Signing in and out"),
        (name = "monitors", description = "Monitors, their results and uptime"),
        (name = "incidents", description = "Outages: acknowledge and annotate"),
        (name = "teams", description = "Teams, members, invitations, API keys, plans, audit log"),
        (name = "alerting", description = "Channels, alert rules, maintenance windows and the delivery log"),
        (name = "billing", description = "Whop webhooks, received deliveries, and a team's billing"),
        (name = "status_pages", description = "Public status pages: their groups and components"),
        (name = "admin", description = "The installation's figures, for instance administrators"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE_SECURE,
            ))),
        );
    }
}

/// The team a route without a team in its path acts on (`X-Team-Id`).
#[derive(Debug, IntoParams)]
#[into_params(names("X-Team-Id"), parameter_in = Header)]
pub struct TeamHeader(
    /// The team to act in; without it, the caller's first team (an API key: its own team).
    #[allow(
        dead_code,
        reason = "only utoipa reads it, to document the header; `TeamAccess` reads the header itself"
    )]
    Option<i64>,
);

/// Adds to every operation the error statuses its inputs can produce, and points every error
/// status at the `ErrorBody` schema:
/// - every route: 429 (the rate limiter);
/// - a route that needs credentials: 401, and 403 when it changes something (CSRF);
/// - a team's route (`{team}` in the path or `X-Team-Id`): 402 (a key's plan without API
///   access), 403 (the role or the key's scope), 404 (not a member, or no such resource);
/// - path, query or header parameters, or a body: 400; a body: 413, and 415 unless it is YAML.
struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            let operations = [
                (false, item.get.as_mut()),
                (true, item.post.as_mut()),
                (true, item.put.as_mut()),
                (true, item.patch.as_mut()),
                (true, item.delete.as_mut()),
            ];
            for (changes, operation) in operations {
                if let Some(operation) = operation {
                    add_error_statuses(path, changes, operation);
                }
            }
        }
    }
}

fn add_error_statuses(path: &str, changes: bool, operation: &mut Operation) {
    let parameters: Vec<_> = operation
        .parameters
        .iter()
        .flatten()
        .filter_map(|parameter| match parameter {
            RefOr::T(parameter) => Some((parameter.name.clone(), parameter.parameter_in.clone())),
            RefOr::Ref(_) => None,
        })
        .collect();
    // `security(())` lets a route be called without credentials.
    let anonymous = operation.security.as_ref().is_some_and(|requirements| {
        requirements
            .iter()
            .any(|requirement| *requirement == Default::default())
    });
    let team_route = !anonymous
        && (path.contains("{team}")
            || parameters
                .iter()
                .any(|(name, place)| name == "X-Team-Id" && *place == ParameterIn::Header));
    let body = operation.request_body.as_ref().map(|body| match body {
        RefOr::T(body) => body.content.keys().any(|kind| kind.contains("json")),
        RefOr::Ref(_) => true,
    });
    let mut statuses = vec![(
        429,
        "Too many requests; `Retry-After` says when to try again",
    )];
    if !parameters.is_empty() || body.is_some() {
        statuses.push((400, "A bad parameter or body; every problem is listed"));
    }
    if !anonymous {
        statuses.push((401, "No session or API key, or an unknown one"));
    }
    if team_route {
        statuses.push((
            402,
            "The team's plan does not allow it (an API key needs API access)",
        ));
        statuses.push((
            404,
            "No such resource, or a team the caller is not a member of",
        ));
    }
    if team_route || (!anonymous && changes) {
        statuses.push((
            403,
            "The role or the key's scope does not allow it, or the CSRF token is missing",
        ));
    }
    if let Some(json) = body {
        statuses.push((413, "The body is larger than the server accepts (1 MiB)"));
        if json {
            statuses.push((415, "The body is not sent as application/json"));
        }
    }
    let responses = &mut operation.responses.responses;
    for (status, description) in statuses {
        responses
            .entry(status.to_string())
            .or_insert_with(|| ResponseBuilder::new().description(description).into());
    }
    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        // OpenAPI requires a description on every response.
        if response.description.is_empty() {
            response.description = status
                .parse::<u16>()
                .ok()
                .and_then(|code| http::StatusCode::from_u16(code).ok())
                .and_then(|code| code.canonical_reason())
                .unwrap_or("Answer")
                .to_owned();
        }
        if (status.starts_with('4') || status.starts_with('5')) && response.content.is_empty() {
            response.content.insert(
                "application/json".into(),
                RefOr::T(Content::new(Some(Ref::from_schema_name("ErrorBody")))),
            );
        }
    }
}

/// Declares the request id (`middleware::request_trace`) once, in the components, and refers to
/// it from every operation: an optional `X-Request-Id` request header, and the `X-Request-Id`
/// header on every answer. The header is never a reason for a 400: an id that is not sane is
/// replaced by a new one, not refused.
struct RequestIds;

/// The name of the request id in the document's parameters.
const REQUEST_ID_PARAMETER: &str = "RequestId";
/// How the request id header is spelt in the document.
const REQUEST_ID_HEADER: &str = "X-Request-Id";

impl Modify for RequestIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.parameters.insert(
            REQUEST_ID_PARAMETER.into(),
            RefOr::T(
                ParameterBuilder::new()
                    .name(REQUEST_ID_HEADER)
                    .parameter_in(ParameterIn::Header)
                    .required(Required::False)
                    .description(Some(
                        "An id for this request, echoed in the answer's `X-Request-Id` and carried \
                     in every log line the request causes: 1 to 64 characters of `A-Z a-z 0-9 . \
                     _ -`. Any other value is replaced by a new id.",
                    ))
                    .schema(Some(Object::with_type(Type::String)))
                    .build(),
            ),
        );
        components.headers.insert(
            REQUEST_ID_HEADER.into(),
            RefOr::T(
                HeaderBuilder::new()
                .description(Some(
                    "The request's id: the `X-Request-Id` sent, when it is sane, otherwise a new \
                     one. Quote it when reporting a problem: it names the request in the logs.",
                ))
                .schema(Some(Object::with_type(Type::String)))
                .build(),
            ),
        );
        let parameter = Ref::new(format!("#/components/parameters/{REQUEST_ID_PARAMETER}"));
        let header = Ref::new(format!("#/components/headers/{REQUEST_ID_HEADER}"));
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.patch.as_mut(),
                item.delete.as_mut(),
            ];
            for operation in operations.into_iter().flatten() {
                operation
                    .parameters
                    .get_or_insert_with(Vec::new)
                    .push(RefOr::Ref(parameter.clone()));
                for response in operation.responses.responses.values_mut() {
                    if let RefOr::T(response) = response {
                        response
                            .headers
                            .insert(REQUEST_ID_HEADER.into(), RefOr::Ref(header.clone()));
                    }
                }
            }
        }
    }
}

/// The API's routes and their OpenAPI document, with the error statuses and the request id
/// added (after the routes: a modifier of `ApiDoc` runs before any path is in the document).
pub fn routes_and_document() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut document) = routes().split_for_parts();
    ErrorResponses.modify(&mut document);
    RequestIds.modify(&mut document);
    (router, document)
}

/// Every API route with its OpenAPI description.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::security_events))
        .routes(routes!(admin::stats))
        .routes(routes!(monitors::list::list, monitors::crud::create))
        .routes(routes!(
            monitors::crud::get,
            monitors::crud::update,
            monitors::crud::delete
        ))
        .routes(routes!(monitors::schedule::pause))
        .routes(routes!(monitors::schedule::resume))
        .routes(routes!(monitors::schedule::check_now))
        .routes(routes!(monitors::history::results))
        .routes(routes!(monitors::history::uptime))
        .routes(routes!(
            monitors::yaml::export_yaml,
            monitors::yaml::apply_yaml
        ))
        .routes(routes!(incidents::list))
        .routes(routes!(incidents::get))
        .routes(routes!(incidents::acknowledge))
        .routes(routes!(incidents::add_note))
        .routes(routes!(
            incidents::acknowledge_link_page,
            incidents::acknowledge_link
        ))
        .routes(routes!(teams::crud::list, teams::crud::create))
        .routes(routes!(
            teams::crud::get,
            teams::crud::rename,
            teams::crud::delete
        ))
        .routes(routes!(teams::members::members))
        .routes(routes!(
            teams::members::change_role,
            teams::members::remove_member
        ))
        .routes(routes!(
            teams::invitations::invitations,
            teams::invitations::invite
        ))
        .routes(routes!(teams::invitations::revoke_invitation))
        .routes(routes!(teams::invitations::accept_invitation))
        .routes(routes!(
            teams::api_keys::api_keys,
            teams::api_keys::create_api_key
        ))
        .routes(routes!(teams::api_keys::revoke_api_key))
        .routes(routes!(teams::plans::plans))
        .routes(routes!(teams::plans::change_plan))
        .routes(routes!(teams::audit::audit_log))
        .routes(routes!(billing::webhook_probe, billing::webhook))
        .routes(routes!(billing::deliveries))
        .routes(routes!(billing::team_billing))
        .routes(routes!(
            alerting::channels::list_channels,
            alerting::channels::create_channel
        ))
        .routes(routes!(
            alerting::channels::get_channel,
            alerting::channels::update_channel,
            alerting::channels::delete_channel
        ))
        .routes(routes!(alerting::channels::test_channel))
        .routes(routes!(
            alerting::rules::list_rules,
            alerting::rules::create_rule
        ))
        .routes(routes!(
            alerting::rules::update_rule,
            alerting::rules::delete_rule
        ))
        .routes(routes!(alerting::notifications::notifications))
        .routes(routes!(maintenance::list, maintenance::create))
        .routes(routes!(maintenance::update, maintenance::delete))
        .routes(routes!(escalation::list, escalation::create))
        .routes(routes!(escalation::update, escalation::delete))
        .routes(routes!(
            status_pages::list_status_pages,
            status_pages::create_status_page
        ))
        .routes(routes!(
            status_pages::get_status_page,
            status_pages::update_status_page,
            status_pages::delete_status_page
        ))
        .routes(routes!(
            status_incidents::list_incidents,
            status_incidents::create_incident
        ))
        .routes(routes!(
            status_incidents::get_incident,
            status_incidents::delete_incident
        ))
        .routes(routes!(status_incidents::add_update))
        .routes(routes!(status_incidents::publish_incident))
        .routes(routes!(status_incidents::incident_templates))
        .routes(routes!(
            status_subscribers::list_subscribers,
            status_subscribers::add_subscriber
        ))
        .routes(routes!(status_subscribers::remove_subscriber))
        .routes(routes!(status_subscribers::set_subscriber_channel))
}
