//! The web dashboard, served by the same binary at `/`: server-rendered pages (askama templates
//! in `crates/server/templates/`, checked at compile time) over the API's own handlers, so a
//! page and the matching API call share the parser, the permission check, the plan limits and
//! the audit log. A little progressive enhancement (htmx for the overview's live list, uPlot
//! for charts, `assets/app.js`) is vendored under `crates/server/assets/`; every page works
//! without JavaScript.
//!
//! - `page`: the signed-in request (`WebPage`), the layout data, errors as pages;
//! - `form`: posted forms' CSRF token moved where the session check reads it;
//! - `assets`: embedded static files under content-hashed, immutable URLs;
//! - one module per page group: `sign_in`, `overview`, `monitor`, `monitor_form`,
//!   `yaml_editor`, `incidents`, `alerting` (with `alerting_forms`), `status_posts` (the
//!   team's status pages and their incident posts), `team`, `account`;
//! - `status`: the public status pages, for visitors without a session.

pub mod account;
pub mod alerting;
pub mod alerting_forms;
pub mod assets;
pub mod form;
pub mod format;
pub mod incidents;
pub mod monitor;
pub mod monitor_form;
pub mod overview;
pub mod page;
pub mod sign_in;
pub mod status;
pub mod status_maintenance;
pub mod status_posts;
pub mod status_subscribers;
pub mod team;
pub mod yaml_editor;

use crate::AppState;
use axum::Router;
use axum::routing::{get, post};

/// Every dashboard page and form (the static files are `assets::serve`, outside the rate limit).
/// `/` is also a status page's custom domain (`status::custom_domain_root`).
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/",
            get(overview::page).layer(axum::middleware::from_fn_with_state(
                state.clone(),
                status::custom_domain_root,
            )),
        )
        .route("/login", get(sign_in::form).post(sign_in::submit))
        .route("/logout", post(sign_in::sign_out))
        .route("/team", get(team::show))
        .route("/team/switch", post(account::switch_team))
        .route("/team/invitations", post(team::invite))
        .route("/team/api-keys", post(team::create_key))
        .route("/team/api-keys/{id}/revoke", post(team::revoke_key))
        .route("/team/members/{user}/role", post(team::change_role))
        .route("/team/members/{user}/remove", post(team::remove_member))
        .route(
            "/team/invitations/{id}/revoke",
            post(team::revoke_invitation),
        )
        .route("/account", get(account::show))
        .route("/account/password", post(account::password))
        .route(
            "/invitations/accept",
            get(account::accept_form).post(account::accept),
        )
        .route("/monitors/live", get(overview::live_fragment))
        .route(
            "/monitors/new",
            get(monitor_form::new_form).post(monitor_form::create),
        )
        .route(
            "/monitors/yaml",
            get(yaml_editor::show).post(yaml_editor::submit),
        )
        .route("/monitors/{id}", get(monitor::page))
        .route(
            "/monitors/{id}/edit",
            get(monitor_form::edit_form).post(monitor_form::update),
        )
        .route("/monitors/{id}/pause", post(monitor::pause))
        .route("/monitors/{id}/resume", post(monitor::resume))
        .route("/monitors/{id}/check", post(monitor::check_now))
        .route("/monitors/{id}/delete", post(monitor::delete))
        .route("/alerting", get(alerting::show))
        .route("/alerting/channels/{id}/test", post(alerting::send_test))
        .route(
            "/alerting/channels/new",
            get(alerting_forms::new_channel).post(alerting_forms::add_channel),
        )
        .route(
            "/alerting/channels/{id}/edit",
            get(alerting_forms::edit_channel).post(alerting_forms::update_channel),
        )
        .route(
            "/alerting/channels/{id}/delete",
            post(alerting_forms::remove_channel),
        )
        .route(
            "/alerting/rules/new",
            get(alerting_forms::new_rule).post(alerting_forms::add_rule),
        )
        .route(
            "/alerting/rules/{id}/edit",
            get(alerting_forms::edit_rule).post(alerting_forms::update_rule),
        )
        .route(
            "/alerting/rules/{id}/delete",
            post(alerting_forms::remove_rule),
        )
        .route(
            "/alerting/escalation/new",
            get(alerting_forms::new_policy).post(alerting_forms::add_policy),
        )
        .route(
            "/alerting/escalation/{id}/edit",
            get(alerting_forms::edit_policy).post(alerting_forms::update_policy),
        )
        .route(
            "/alerting/escalation/{id}/delete",
            post(alerting_forms::remove_policy),
        )
        .route(
            "/alerting/maintenance/new",
            get(alerting_forms::new_window).post(alerting_forms::add_window),
        )
        .route(
            "/alerting/maintenance/{id}/edit",
            get(alerting_forms::edit_window).post(alerting_forms::update_window),
        )
        .route(
            "/alerting/maintenance/{id}/delete",
            post(alerting_forms::remove_window),
        )
        .route("/incidents", get(incidents::list))
        .route("/incidents/{id}", get(incidents::show))
        .route("/incidents/{id}/acknowledge", post(incidents::acknowledge))
        .route("/incidents/{id}/notes", post(incidents::add_note))
        .route("/status-pages", get(status_posts::list))
        .route("/status-pages/{id}", get(status_posts::show))
        .route("/status-pages/{id}/access", post(status_posts::set_access))
        .route(
            "/status-pages/{id}/automation",
            post(status_posts::set_automation),
        )
        .route(
            "/status-pages/{id}/subscribers",
            get(status_subscribers::show).post(status_subscribers::add),
        )
        .route(
            "/status-pages/{id}/subscribers/channel",
            post(status_subscribers::set_channel),
        )
        .route(
            "/status-pages/{id}/subscribers/{subscriber}/remove",
            post(status_subscribers::remove),
        )
        .route(
            "/status-pages/{id}/maintenance",
            post(status_maintenance::schedule),
        )
        .route("/status-pages/{id}/incidents", post(status_posts::create))
        .route(
            "/status-pages/{id}/incidents/{incident}",
            get(status_posts::show_post),
        )
        .route(
            "/status-pages/{id}/incidents/{incident}/updates",
            post(status_posts::add_update),
        )
        .route(
            "/status-pages/{id}/incidents/{incident}/publish",
            post(status_posts::publish),
        )
        .route("/status/{slug}", get(status::page))
        .route("/status/{slug}/summary.json", get(status::summary))
        .route("/status/{slug}/badge.svg", get(status::badge))
        .route("/status/{slug}/rss", get(status::rss))
        .route("/status/{slug}/atom", get(status::atom))
        .route("/status/{slug}/history", get(status::history))
        .route("/status/{slug}/access", post(status::enter_password))
        .route(
            "/status/{slug}/subscribe",
            post(status::subscribe::subscribe),
        )
        .route(
            "/status/{slug}/confirm",
            get(status::subscribe::confirm_form).post(status::subscribe::confirm),
        )
        .route(
            "/status/{slug}/unsubscribe",
            get(status::subscribe::unsubscribe_form).post(status::subscribe::unsubscribe),
        )
        .layer(axum::middleware::from_fn(form::middleware))
}
