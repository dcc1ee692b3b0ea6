//! The REST API under `/api`: one module per resource, each handler annotated for the OpenAPI
//! document served at `/api/openapi.json`. Handlers start from `TeamAccess` (or `Caller`), check
//! the action with `require`, check the plan, then call the store.

pub mod alerting;
pub mod auth;
mod body;
pub mod escalation;
pub mod incidents;
pub mod maintenance;
pub mod monitors;
pub mod teams;

pub use body::{ApiJson, display_name};

use crate::AppState;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
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
    modifiers(&SecuritySchemes),
    security(("api_key" = []), ("session" = [])),
    tags(
        (name = "auth", description = "Signing in and out"),
        (name = "monitors", description = "Monitors, their results and uptime"),
        (name = "incidents", description = "Outages: acknowledge and annotate"),
        (name = "teams", description = "Teams, members, invitations, API keys, plans, audit log"),
        (name = "alerting", description = "Channels, alert rules, maintenance windows and the delivery log"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
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

/// Every API route with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::security_events))
        .routes(routes!(monitors::list, monitors::create))
        .routes(routes!(monitors::get, monitors::update, monitors::delete))
        .routes(routes!(monitors::pause))
        .routes(routes!(monitors::resume))
        .routes(routes!(monitors::check_now))
        .routes(routes!(monitors::results))
        .routes(routes!(monitors::uptime))
        .routes(routes!(monitors::export_yaml, monitors::apply_yaml))
        .routes(routes!(incidents::list))
        .routes(routes!(incidents::get))
        .routes(routes!(incidents::acknowledge))
        .routes(routes!(incidents::add_note))
        .routes(routes!(
            incidents::acknowledge_link_page,
            incidents::acknowledge_link
        ))
        .routes(routes!(teams::list, teams::create))
        .routes(routes!(teams::get, teams::rename, teams::delete))
        .routes(routes!(teams::members))
        .routes(routes!(teams::change_role, teams::remove_member))
        .routes(routes!(teams::invitations, teams::invite))
        .routes(routes!(teams::revoke_invitation))
        .routes(routes!(teams::accept_invitation))
        .routes(routes!(teams::api_keys, teams::create_api_key))
        .routes(routes!(teams::revoke_api_key))
        .routes(routes!(teams::plans))
        .routes(routes!(teams::change_plan))
        .routes(routes!(teams::audit_log))
        .routes(routes!(alerting::list_channels, alerting::create_channel))
        .routes(routes!(
            alerting::get_channel,
            alerting::update_channel,
            alerting::delete_channel
        ))
        .routes(routes!(alerting::test_channel))
        .routes(routes!(alerting::list_rules, alerting::create_rule))
        .routes(routes!(alerting::delete_rule))
        .routes(routes!(alerting::notifications))
        .routes(routes!(maintenance::list, maintenance::create))
        .routes(routes!(maintenance::delete))
        .routes(routes!(escalation::list, escalation::create))
        .routes(routes!(escalation::delete))
}
