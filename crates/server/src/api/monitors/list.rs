//! The team's monitors, filtered and a page at a time, each with its status (and on request its
//! uptime): the query's parsing and the paging.

use super::{BrokenView, MonitorEntry, MonitorView, PERIODS, Secrets, UptimeView, period_length};
use crate::AppState;
use crate::api::TeamHeader;
use crate::auth::TeamAccess;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use watchtower_core::{Action, FieldError, MonitorId, MonitorState, ProbeKind, Timestamp};
use watchtower_store::{BrokenMonitor, MonitorFilter, MonitorListing, PageRequest};

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only monitors in this state: pending, up, degraded, down, paused or maintenance.
    pub state: Option<String>,
    /// Only this kind: http, tcp, ping, dns, tls, push or whop.
    pub kind: Option<String>,
    /// Only monitors with this tag.
    pub tag: Option<String>,
    /// Case-insensitive text in the name, key or target.
    pub search: Option<String>,
    /// The `next_after` of the previous page.
    pub after: Option<i64>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
    /// Also give each listed monitor its uptime over this period (24h, 7d, 30d or 90d), as
    /// `uptime` in the shape `/api/monitors/{id}/uptime` answers: a dashboard page in one request.
    pub uptime: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MonitorPage {
    pub monitors: Vec<MonitorEntry>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<i64>,
}

/// Lists the team's monitors with their current status, a page at a time, by id.
///
/// With `uptime`, each monitor also carries its uptime over that period: what a dashboard shows,
/// in one request.
#[utoipa::path(get, path = "/api/monitors", tag = "monitors", params(ListQuery, TeamHeader),
    responses((status = 200, body = MonitorPage)))]
pub async fn list(
    State(state): State<AppState>,
    access: TeamAccess,
    Query(query): Query<ListQuery>,
) -> Result<Json<MonitorPage>, ApiError> {
    access.require(Action::ViewMonitors)?;
    let mut problems = Vec::new();
    let monitor_state = match query
        .state
        .as_deref()
        .map(|s| MonitorState::parse(&s.to_uppercase()))
    {
        Some(Some(parsed)) => Some(parsed),
        Some(None) => {
            problems.push(FieldError {
                field: "state".into(),
                problem: "must be pending, up, degraded, down, paused or maintenance".into(),
            });
            None
        }
        None => None,
    };
    if let Some(kind) = &query.kind
        && ProbeKind::parse(kind).is_none()
    {
        problems.push(FieldError {
            field: "kind".into(),
            problem: format!("must be {}", ProbeKind::choices()),
        });
    }
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        problems.push(FieldError {
            field: "limit".into(),
            problem: "must be from 1 to 500".into(),
        });
    }
    let uptime_period = match query.uptime.as_deref().map(period_length) {
        Some(Some(length)) => Some(length),
        Some(None) => {
            problems.push(FieldError {
                field: "uptime".into(),
                problem: PERIODS.into(),
            });
            None
        }
        None => None,
    };
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    if uptime_period.is_some() {
        access.require(Action::ViewResults)?;
    }
    let page = PageRequest {
        after: query.after.map(MonitorId),
        limit,
        filter: MonitorFilter {
            state: monitor_state,
            kind: query.kind,
            tag: query.tag,
            search: query.search.filter(|s| !s.is_empty()),
        },
    };
    let entries = state
        .store
        .list_monitor_entries(access.team.id, &page)
        .await?;
    let windows = state.store.maintenance_windows(access.team.id).await?;
    let entry_id = |entry: &Result<MonitorListing, Box<BrokenMonitor>>| match entry {
        Ok(listing) => listing.monitor.id,
        Err(broken) => broken.id,
    };
    let next_after = (entries.len() == limit as usize)
        .then(|| entries.last().map(|entry| entry_id(entry).0))
        .flatten();
    let mut monitors: Vec<MonitorEntry> = entries
        .iter()
        .map(|entry| match entry {
            Ok(listing) => MonitorEntry::Readable(Box::new(MonitorView::new(
                &listing.monitor,
                Some(listing),
                &windows,
                Secrets::for_caller(&access),
            ))),
            Err(broken) => MonitorEntry::Broken(BrokenView::new(broken)),
        })
        .collect();
    if let Some(length) = uptime_period {
        let to = Timestamp::now();
        let from = to.minus(length);
        let ids: Vec<MonitorId> = entries.iter().map(entry_id).collect();
        let uptimes = state
            .store
            .uptime_many(access.team.id, &ids, from, to)
            .await?;
        for (entry, id) in monitors.iter_mut().zip(&ids) {
            let MonitorEntry::Readable(view) = entry else {
                continue;
            };
            view.uptime = Some(UptimeView {
                summary: uptimes.get(id).copied().unwrap_or_default(),
                from,
                to,
            });
        }
    }
    Ok(Json(MonitorPage {
        monitors,
        next_after,
    }))
}
