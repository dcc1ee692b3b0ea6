//! Signing in and out from the dashboard: the same `/api/auth` handlers (throttling, security
//! events, the session cookie), answered with pages and redirects instead of JSON.

use super::page::{Shell, WebError, is_local_path, render};
use crate::AppState;
use crate::api::ApiJson;
use crate::api::auth::{LoginRequest, login, logout};
use crate::auth::{Caller, ClientIp};
use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    shell: Shell,
    email: String,
    problem: String,
    /// Where to go after signing in (a path on this site, or empty).
    next: String,
}

fn sign_in_page(status: StatusCode, email: String, problem: String, next: String) -> Response {
    let page = SignInPage {
        shell: Shell::public("Sign in"),
        email,
        problem,
        next,
    };
    (status, render(&page)).into_response()
}

/// Where a sign-in goes: `next` when it is a path on this site, else the overview.
fn destination(next: &str) -> String {
    if is_local_path(next) {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// `GET /login`: the form, or where it leads for someone already signed in.
pub async fn form(
    caller: Result<Caller, crate::error::ApiError>,
    Query(query): Query<NextQuery>,
) -> Response {
    if caller.is_ok() {
        return Redirect::to(&destination(&query.next)).into_response();
    }
    let next = if is_local_path(&query.next) {
        query.next
    } else {
        String::new()
    };
    sign_in_page(StatusCode::OK, String::new(), String::new(), next)
}

#[derive(Debug, Deserialize)]
pub struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    client_ip: ClientIp,
    Form(credentials): Form<Credentials>,
) -> Response {
    let email = credentials.email.clone();
    let next = credentials.next.clone();
    let request = LoginRequest {
        email: credentials.email,
        password: credentials.password,
    };
    match login(State(state), headers, client_ip, ApiJson(request)).await {
        Ok(answer) => {
            let answer = answer.into_response();
            let mut response = Redirect::to(&destination(&next)).into_response();
            for cookie in answer.headers().get_all(header::SET_COOKIE) {
                response
                    .headers_mut()
                    .append(header::SET_COOKIE, cookie.clone());
            }
            response
        }
        Err(error) => match error.status {
            StatusCode::UNAUTHORIZED => sign_in_page(
                StatusCode::UNAUTHORIZED,
                email,
                "Wrong email or password.".into(),
                next,
            ),
            StatusCode::TOO_MANY_REQUESTS => {
                sign_in_page(StatusCode::TOO_MANY_REQUESTS, email, error.message, next)
            }
            _ => WebError::from(error).into_response(),
        },
    }
}

/// `POST /logout`: ends the session (the form's CSRF token is checked like the API's header).
pub async fn sign_out(
    State(state): State<AppState>,
    caller: Result<Caller, crate::error::ApiError>,
) -> Response {
    let caller = match caller {
        Ok(caller) => caller,
        Err(error) => return WebError::from(error).into_response(),
    };
    match logout(State(state), caller).await {
        Ok(answer) => {
            let answer = answer.into_response();
            let mut response = Redirect::to("/login").into_response();
            for cookie in answer.headers().get_all(header::SET_COOKIE) {
                response
                    .headers_mut()
                    .append(header::SET_COOKIE, cookie.clone());
            }
            response
        }
        Err(error) => WebError::from(error).into_response(),
    }
}
