//! What every dashboard page starts from: the signed-in person's access to the chosen team
//! (`WebPage`), the layout's data (`Shell`), and errors as HTML pages (`WebError`): a missing
//! session goes to the sign-in page, another team's object is the same 404 as a missing one.

use super::assets::AssetUrls;
use crate::AppState;
use crate::auth::{Caller, Principal, TeamAccess};
use crate::error::ApiError;
use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use watchtower_core::{Action, Role, TeamId};

/// The cookie that remembers which team the dashboard shows (a preference, not a credential:
/// membership is checked on every request).
pub const TEAM_COOKIE: &str = "watchtower_team";

/// A team in the switcher.
#[derive(Debug, Clone)]
pub struct TeamChoice {
    pub id: TeamId,
    pub name: String,
    pub selected: bool,
}

/// The layout's data: the page title, the navigation, the person and the team switcher.
#[derive(Debug, Clone)]
pub struct Shell {
    pub title: String,
    /// Which navigation entry is current: `overview`, `incidents`, `new`, `yaml`.
    pub nav: &'static str,
    pub assets: AssetUrls,
    /// Empty on pages shown before signing in.
    pub email: String,
    pub csrf_token: String,
    pub teams: Vec<TeamChoice>,
    pub team_name: String,
    pub role: String,
    /// The page draws charts (loads uPlot).
    pub charts: bool,
    /// The page refreshes parts of itself (loads htmx).
    pub live: bool,
    /// For a team's owners while a failed Whop payment's grace period runs: what lapses when.
    pub billing_notice: String,
}

impl Shell {
    /// The layout of a page shown without a session (sign-in, errors).
    pub fn public(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            nav: "",
            assets: AssetUrls::get(),
            email: String::new(),
            csrf_token: String::new(),
            teams: Vec::new(),
            team_name: String::new(),
            role: String::new(),
            charts: false,
            live: false,
            billing_notice: String::new(),
        }
    }

    pub fn signed_in(&self) -> bool {
        !self.email.is_empty()
    }
}

/// A signed-in person's request: their access to the team the dashboard shows, and the layout.
#[derive(Debug, Clone)]
pub struct WebPage {
    pub access: TeamAccess,
    pub shell: Shell,
}

impl WebPage {
    /// The shell for one page.
    pub fn shell(&self, title: impl Into<String>, nav: &'static str) -> Shell {
        Shell {
            title: title.into(),
            nav,
            ..self.shell.clone()
        }
    }

    pub fn can(&self, action: Action) -> bool {
        self.access.allows(action)
    }
}

impl FromRequestParts<AppState> for WebPage {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        // htmx's own requests (the overview's refresh) cannot follow a redirect to a page: they
        // are told to send the whole window to the sign-in page instead.
        let from_script = parts.headers.contains_key("hx-request");
        let sign_in = |next: String| {
            if from_script {
                WebError::SessionEnded
            } else {
                WebError::SignIn(next)
            }
        };
        let caller = Caller::from_request_parts(parts, state)
            .await
            .map_err(|error| match WebError::from(error) {
                WebError::SignIn(_) => sign_in(next.clone()),
                other => other,
            })?;
        let (email, csrf_token, user_id) = match &caller.principal {
            Principal::User {
                user, csrf_token, ..
            } => (user.email.clone(), csrf_token.clone(), user.id),
            // The dashboard is for people; a key has the API.
            Principal::Key(_) => return Err(sign_in(next)),
        };
        let chosen = CookieJar::from_headers(&parts.headers)
            .get(TEAM_COOKIE)
            .and_then(|cookie| cookie.value().parse::<i64>().ok())
            .map(TeamId);
        // A remembered team the person has since left falls back to their first team.
        let access = match chosen {
            Some(team) => match TeamAccess::resolve(state, caller.clone(), Some(team)).await {
                Ok(access) => access,
                Err(error) if error.status == StatusCode::NOT_FOUND => {
                    TeamAccess::resolve(state, caller, None).await?
                }
                Err(error) => return Err(error.into()),
            },
            None => TeamAccess::resolve(state, caller, None).await?,
        };
        let teams = state
            .store
            .teams_of(user_id)
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .map(|membership| TeamChoice {
                id: membership.team.id,
                selected: membership.team.id == access.team.id,
                name: membership.team.name,
            })
            .collect();
        // Without Whop webhooks no payment can fail, so other instances skip the query.
        let whop_billing = !state.billing.config.secrets.is_empty();
        let billing_notice = if whop_billing && access.role == Role::Owner {
            billing_notice(state, access.team.id).await
        } else {
            String::new()
        };
        let shell = Shell {
            email,
            csrf_token,
            teams,
            team_name: access.team.name.clone(),
            role: access.role.to_string(),
            billing_notice,
            ..Shell::public("")
        };
        Ok(Self { access, shell })
    }
}

/// How a team's owners are told that a Whop payment failed: on every page, until a payment
/// succeeds or the plan lapses (the audit log and the billing view keep the record).
async fn billing_notice(state: &AppState, team: TeamId) -> String {
    let memberships = match state.store.team_whop_memberships(team).await {
        Ok(memberships) => memberships,
        Err(error) => {
            tracing::warn!(%team, %error, "the team's Whop memberships could not be read");
            return String::new();
        }
    };
    memberships
        .iter()
        .filter(|membership| membership.active && !membership.lapsed)
        .filter_map(|membership| Some((membership.grace_deadline?, membership.plan)))
        .min_by_key(|(deadline, _)| *deadline)
        .map(|(deadline, plan)| {
            format!(
                "A Whop payment for this team failed. Its {} plan ends at {} unless a payment \
                 succeeds: update the payment method on Whop.",
                plan.display_name(),
                super::format::time(deadline)
            )
        })
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    shell: Shell,
    status: u16,
    heading: String,
    message: String,
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum WebError {
    /// No session (or it expired): go and sign in, then come back to this path.
    SignIn(String),
    /// The same for a request a page's script made (htmx): 401 with `HX-Redirect`, which htmx
    /// follows for the whole window instead of swapping the sign-in page into a fragment.
    SessionEnded,
    /// Any other refusal or failure, shown as a page with its status.
    Page {
        status: StatusCode,
        heading: &'static str,
        message: String,
    },
}

impl WebError {
    pub fn not_found() -> Self {
        Self::Page {
            status: StatusCode::NOT_FOUND,
            heading: "Not found",
            message: "There is nothing here, or it belongs to a team you are not in.".into(),
        }
    }
}

impl From<ApiError> for WebError {
    fn from(error: ApiError) -> Self {
        let (heading, message) = match error.status {
            StatusCode::UNAUTHORIZED => return Self::SignIn(String::new()),
            StatusCode::NOT_FOUND => return Self::not_found(),
            StatusCode::FORBIDDEN => ("Not allowed", error.message),
            StatusCode::PAYMENT_REQUIRED => ("Over your plan's limits", error.message),
            StatusCode::TOO_MANY_REQUESTS => ("Too many requests", error.message),
            StatusCode::CONFLICT => ("Conflict", error.message),
            StatusCode::BAD_REQUEST => {
                let mut message = error.message;
                for detail in &error.details {
                    message.push_str(&format!("; {}: {}", detail.field, detail.problem));
                }
                ("That did not work", message)
            }
            status if status.is_server_error() => {
                // The cause is logged where the ApiError was made; the page says only that.
                (
                    "Something went wrong",
                    "WatchTower could not do that just now. Try again in a moment.".to_owned(),
                )
            }
            _ => ("That did not work", error.message),
        };
        Self::Page {
            status: error.status,
            heading,
            message,
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn(next) => {
                let target = if is_local_path(&next) && next != "/" {
                    format!(
                        "/login?{}",
                        serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default()
                    )
                } else {
                    "/login".to_owned()
                };
                Redirect::to(&target).into_response()
            }
            Self::SessionEnded => {
                let mut response = StatusCode::UNAUTHORIZED.into_response();
                response
                    .headers_mut()
                    .insert("hx-redirect", HeaderValue::from_static("/login"));
                response
            }
            Self::Page {
                status,
                heading,
                message,
            } => {
                let page = ErrorPage {
                    shell: Shell::public(heading),
                    status: status.as_u16(),
                    heading: heading.to_owned(),
                    message,
                };
                (status, render(&page)).into_response()
            }
        }
    }
}

/// A path on this site (never `//host` or `/\\host`, which browsers read as another origin): the
/// only places a sign-in may send the person back to.
pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.chars().any(char::is_control)
}

/// Renders a template as an HTML answer; a template that fails to render is a 500 (and a bug:
/// every page is rendered by the tests).
pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response = Html(html).into_response();
            // Pages carry the session's CSRF token and private data: never cached.
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            tracing::error!(%error, "cannot render a dashboard page");
            (StatusCode::INTERNAL_SERVER_ERROR, "cannot render this page").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    #[test]
    fn only_paths_on_this_site_are_followed_after_sign_in() {
        assert!(is_local_path("/monitors/3?range=7d"));
        assert!(!is_local_path("//evil.example/"));
        assert!(!is_local_path("/\\evil.example/"));
        assert!(!is_local_path("https://evil.example/"));
        assert!(!is_local_path("/a\nb"));
        assert!(!is_local_path(""));
    }
}
