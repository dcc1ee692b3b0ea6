//! Forms posted by the dashboard's pages. A form carries the session's CSRF token as a hidden
//! `csrf_token` field; this layer moves it into the `X-CSRF-Token` header, so the one check the
//! API makes (`Caller`: constant-time compare, cross-site refused) is the check forms get too.
//! It also bounds what a form may send, and refuses any form posted from another site.

use crate::auth::CSRF_HEADER;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The largest form the dashboard accepts (the YAML editor's monitors file is the largest).
pub const MAX_FORM_BYTES: usize = 512 * 1024;

/// The hidden field every form carries.
pub const CSRF_FIELD: &str = "csrf_token";

/// A posted form's fields in order (checkboxes and multiple selects repeat a name).
pub type Posted = Vec<(String, String)>;

/// The last non-blank value posted for `name`, trimmed; empty when there is none.
pub fn value_of(form: &[(String, String)], name: &str) -> String {
    form.iter()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.trim())
        .rfind(|value| !value.is_empty())
        .unwrap_or_default()
        .to_owned()
}

/// The problems a parser reported for `field` or inside it (`field[0]`, `field.x`), joined.
pub fn problem_of(problems: &[watchtower_core::FieldError], field: &str) -> String {
    problems
        .iter()
        .filter(|p| {
            p.field == field
                || p.field.starts_with(&format!("{field}["))
                || p.field.starts_with(&format!("{field}."))
        })
        .map(|p| p.problem.clone())
        .collect::<Vec<_>>()
        .join("; ")
}

fn is_form(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        })
}

/// Moves a posted form's `csrf_token` into the header the session check reads.
pub async fn middleware(request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    // Another site's form is refused before anything reads it, the sign-in form included (a
    // forged sign-in would put the victim in the attacker's account).
    let cross_site = request
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|site| site.as_bytes() == b"cross-site");
    if cross_site {
        return (StatusCode::FORBIDDEN, "a form from another site is refused").into_response();
    }
    if !is_form(&request) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "the form is too large").into_response();
    };
    let token = form_urlencoded_value(&bytes, CSRF_FIELD);
    // A header sent by the page itself wins; a form never adds a second one.
    if !parts.headers.contains_key(CSRF_HEADER)
        && let Some(value) = token.and_then(|t| HeaderValue::from_str(&t).ok())
    {
        parts.headers.insert(CSRF_HEADER, value);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The first value of `name` in a URL-encoded form.
fn form_urlencoded_value(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_anywhere_in_the_form() {
        assert_eq!(
            form_urlencoded_value(b"name=a&csrf_token=x%2By&kind=http", CSRF_FIELD).as_deref(),
            Some("x+y")
        );
        assert_eq!(form_urlencoded_value(b"name=a", CSRF_FIELD), None);
        assert_eq!(form_urlencoded_value(b"%zz", CSRF_FIELD), None);
    }
}
