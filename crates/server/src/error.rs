//! The one JSON error shape every endpoint answers with:
//! `{"error": {"code", "message", "details": [{"field", "problem"}]}}`. A 402 adds the plan
//! limit's fields (`limit`, `current`, `allowed`, `plan`, `upgrade_to`, and `checkout_url` when the
//! upgrade is sold through Whop) beside them. `ErrorBody`
//! is that shape as a type: every answer is serialized from it, and the OpenAPI document
//! references its schema from every operation's error statuses.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use watchtower_core::plan::LimitValue;
use watchtower_core::{FieldError, Plan, PlanLimitExceeded};
use watchtower_store::StoreError;

/// Every error answer: `{"error": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorObject,
}

/// What went wrong: a stable `code`, a sentence for people, and every bad field. A 402
/// (`plan_limit`) also names the limit, the value asked for, the value allowed, the team's plan
/// and the cheapest plan that allows it (`null` when none does).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorObject {
    /// `invalid_request`, `unauthenticated`, `invalid_credentials`, `forbidden`, `csrf`,
    /// `not_found`, `conflict`, `plan_limit`, `payload_too_large`, `unsupported_media_type`,
    /// `rate_limited`, ...
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<LimitValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<LimitValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Plan>)]
    pub upgrade_to: Option<Option<Plan>>,
    /// The Whop checkout link of `upgrade_to`, naming the team so the purchase lands on it;
    /// present when the instance sells that plan through Whop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout_url: Option<String>,
}

/// An error answered to an HTTP client. The cause is logged, never sent.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldError>,
    /// The plan limit a 402 reports, with its figures (boxed: errors travel in every `Result`).
    pub plan_limit: Option<Box<PlanLimitExceeded>>,
    /// A 402's Whop checkout link for the plan that would allow the request.
    pub checkout_url: Option<String>,
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
            plan_limit: None,
            checkout_url: None,
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
        Self {
            plan_limit: Some(Box::new(exceeded.clone())),
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
            StoreError::Conflict(conflict) => Self {
                details: vec![FieldError {
                    field: conflict.field,
                    problem: conflict.problem.clone(),
                }],
                ..Self::conflict(format!(
                    "the request conflicts with what exists: {}",
                    conflict.problem
                ))
            },
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
        let limit = self.plan_limit;
        let error = ErrorObject {
            code: self.code,
            message: self.message,
            details: self.details,
            limit: limit.as_ref().map(|l| l.limit),
            current: limit.as_ref().map(|l| l.current.clone()),
            allowed: limit.as_ref().map(|l| l.allowed.clone()),
            plan: limit.as_ref().map(|l| l.plan),
            upgrade_to: limit.as_ref().map(|l| l.upgrade_to),
            checkout_url: self.checkout_url,
        };
        let mut response = (self.status, Json(ErrorBody { error })).into_response();
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
