//! The one JSON error shape every endpoint answers with:
//! `{"error": {"code", "message", "details": [{"field", "problem"}]}}`. A 402 adds the plan
//! limit's fields (`limit`, `current`, `allowed`, `plan`, `upgrade_to`) beside them.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use watchtower_core::{FieldError, PlanLimitExceeded};
use watchtower_store::StoreError;

/// An error answered to an HTTP client. The cause is logged, never sent.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldError>,
    /// Further members of the error object (a plan limit's figures).
    pub extra: Map<String, Value>,
    /// Seconds for `Retry-After` (429).
    pub retry_after: Option<u64>,
    /// The store failed (not a missing row or a conflict): counted by the ops alerts.
    pub database_error: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            extra: Map::new(),
            retry_after: None,
            database_error: false,
        }
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    /// 400 listing every bad field at once.
    pub fn invalid(details: Vec<FieldError>) -> Self {
        let count = details.len();
        Self {
            details,
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!(
                    "the request has {count} problem{}",
                    if count == 1 { "" } else { "s" }
                ),
            )
        }
    }

    /// 400 for one field.
    pub fn invalid_field(field: &str, problem: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError {
            field: field.to_owned(),
            problem: problem.into(),
        }])
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in or send an API key as 'Authorization: Bearer <key>'",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn too_many_requests(retry_after_seconds: u64, message: impl Into<String>) -> Self {
        Self {
            retry_after: Some(retry_after_seconds.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
        }
    }

    /// 402: the team's plan does not allow the request.
    pub fn plan_limit(exceeded: &PlanLimitExceeded) -> Self {
        let mut extra = match exceeded.error_body()["error"].take() {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        extra.remove("code");
        extra.remove("message");
        Self {
            extra,
            ..Self::new(
                StatusCode::PAYMENT_REQUIRED,
                "plan_limit",
                exceeded.message(),
            )
        }
    }

    /// A failure inside WatchTower: logged with its cause, answered as a plain 500.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }

    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(%cause, "dependency unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "temporarily unavailable",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::not_found(),
            StoreError::Conflict(what) => Self::conflict(what),
            StoreError::BrokenMonitor(broken) => Self::new(
                StatusCode::CONFLICT,
                "monitor_broken",
                format!(
                    "monitor {id} cannot be read ({}); replace it with PUT /api/monitors/{id} \
                     or delete it",
                    broken.error,
                    id = broken.id
                ),
            ),
            StoreError::Unavailable(_) => Self {
                database_error: true,
                ..Self::unavailable(error)
            },
            other => Self {
                database_error: true,
                ..Self::internal(other)
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = self.extra;
        error.insert("code".into(), json!(self.code));
        error.insert("message".into(), json!(self.message));
        error.insert("details".into(), json!(self.details));
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        if self.database_error {
            response
                .extensions_mut()
                .insert(crate::ops::DatabaseFailure);
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found()
}

pub(crate) fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error",
    )
    .into_response()
}
