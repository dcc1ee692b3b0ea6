//! What a monitor's checks recorded: its raw results, a page at a time, and its uptime and
//! latency over a period (from the rollups).

use super::{UptimeView, load, period_length};
use crate::AppState;
use crate::api::TeamHeader;
use crate::auth::TeamAccess;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};
use watchtower_core::{Action, FieldError, Timestamp};

#[derive(Debug, Deserialize, IntoParams)]
pub struct ResultsQuery {
    /// Start of the range, epoch milliseconds (default: 24 hours before `to`).
    pub from: Option<i64>,
    /// End of the range, exclusive, epoch milliseconds (default: now). For the next page pass
    /// the `next_to` of the previous one.
    pub to: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResultPage {
    pub results: Vec<watchtower_store::StoredResult>,
    pub next_to: Option<i64>,
}

/// Raw results of a monitor, newest first, a page at a time.
#[utoipa::path(get, path = "/api/monitors/{id}/results", tag = "monitors",
    params(("id" = i64, Path, description = "Monitor id"), ResultsQuery, TeamHeader),
    responses((status = 200, body = ResultPage)))]
pub async fn results(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<i64>,
    Query(query): Query<ResultsQuery>,
) -> Result<Json<ResultPage>, ApiError> {
    access.require(Action::ViewResults)?;
    let monitor = load(&state, &access, id).await?;
    let to = query.to.map_or_else(Timestamp::now, Timestamp);
    let from = query
        .from
        .map_or_else(|| to.minus(Duration::from_secs(86_400)), Timestamp);
    let limit = query.limit.unwrap_or(100);
    let mut problems = Vec::new();
    if from > to {
        problems.push(FieldError {
            field: "from".into(),
            problem: "must not be after 'to'".into(),
        });
    }
    if !(1..=1000).contains(&limit) {
        problems.push(FieldError {
            field: "limit".into(),
            problem: "must be from 1 to 1000".into(),
        });
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let results = state
        .store
        .results(access.team.id, monitor.id, from, to, limit)
        .await?;
    let next_to = (results.len() == limit as usize)
        .then(|| results.last().map(|r| r.checked_at.0))
        .flatten();
    Ok(Json(ResultPage { results, next_to }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct UptimeQuery {
    /// 24h, 7d, 30d or 90d (default 24h); ignored when `from` is given.
    pub period: Option<String>,
    /// A custom range start, epoch milliseconds.
    pub from: Option<i64>,
    /// A custom range end, epoch milliseconds (default now).
    pub to: Option<i64>,
}

/// Uptime and latency over a period, from the rollups.
#[utoipa::path(get, path = "/api/monitors/{id}/uptime", tag = "monitors",
    params(("id" = i64, Path, description = "Monitor id"), UptimeQuery, TeamHeader),
    responses((status = 200, body = UptimeView)))]
pub async fn uptime(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<i64>,
    Query(query): Query<UptimeQuery>,
) -> Result<Json<UptimeView>, ApiError> {
    access.require(Action::ViewResults)?;
    let monitor = load(&state, &access, id).await?;
    let to = query.to.map_or_else(Timestamp::now, Timestamp);
    let from = match (query.from, query.period.as_deref()) {
        (Some(from), _) => Timestamp(from),
        (None, period) => match period_length(period.unwrap_or("24h")) {
            Some(length) => to.minus(length),
            None => {
                return Err(ApiError::invalid_field(
                    "period",
                    "must be 24h, 7d, 30d or 90d (or give from and to)",
                ));
            }
        },
    };
    if from > to {
        return Err(ApiError::invalid_field("from", "must not be after 'to'"));
    }
    let summary = state
        .store
        .uptime(access.team.id, monitor.id, from, to)
        .await?;
    Ok(Json(UptimeView { summary, from, to }))
}
