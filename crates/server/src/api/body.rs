//! `ApiJson`: a JSON body whose rejections use the one error shape: 415 without a JSON content
//! type, 413 over the body limit, 400 naming the field serde stopped at.

use crate::error::ApiError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(reject(rejection)),
        }
    }
}

fn reject(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with 'Content-Type: application/json'",
        ),
        JsonRejection::BytesRejection(bytes) if bytes.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the body is larger than the server accepts",
            )
        }
        JsonRejection::JsonDataError(error) => ApiError::invalid_field("body", error.body_text()),
        JsonRejection::JsonSyntaxError(error) => {
            ApiError::invalid_field("body", format!("not valid JSON: {}", error.body_text()))
        }
        other => ApiError::invalid_field("body", other.body_text()),
    }
}

/// A display name (of a rule, a key, a channel, a policy): trimmed, 1 to 100 characters. A
/// problem is pushed to `problems` under `name` otherwise.
pub fn display_name<'a>(raw: &'a str, problems: &mut Vec<watchtower_core::FieldError>) -> &'a str {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        problems.push(watchtower_core::FieldError {
            field: "name".into(),
            problem: "must be 1 to 100 characters".into(),
        });
    }
    name
}
