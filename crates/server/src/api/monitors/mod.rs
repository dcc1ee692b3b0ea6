//! Monitors: list (filters and cursor pages; raw history never, each monitor's uptime on request),
//! create, read, change, delete, pause, resume, check now, results, uptime, and YAML export/apply
//! of the whole team. This module holds how a monitor is shown and the lookups and checks every
//! route shares; the routes live in one file per action group:
//! - `list`: the filtered, paged list;
//! - `crud`: create, read, replace, delete;
//! - `schedule`: pause, resume, check now;
//! - `history`: raw results and uptime;
//! - `yaml`: the whole team as a monitors file, exported and applied.

pub mod crud;
pub mod history;
pub mod list;
pub mod schedule;
pub mod yaml;

use crate::AppState;
use crate::api::maintenance::{OpenWindow, open_window};
use crate::auth::TeamAccess;
use crate::error::ApiError;
use axum::Json;
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Duration;
use utoipa::ToSchema;
use watchtower_core::{
    Action, CheckOutcome, Demand, Monitor, MonitorId, MonitorSpec, MonitorState, PlanLimitExceeded,
    TeamId, Timestamp,
};
use watchtower_store::{
    BrokenMonitor, MaintenanceWindow, MonitorListing, PageRequest, StoreError, UptimeSummary,
};

/// A monitor as the API shows it: its spec's fields (as in a monitors file), its id and times,
/// and where it is read or listed its status (and in lists, on request, its uptime).
#[derive(Debug, Serialize, ToSchema)]
pub struct MonitorView {
    /// The spec with every credential redacted (the push token shown to those who may edit).
    #[serde(flatten)]
    #[schema(value_type = MonitorSpec)]
    pub spec: Value,
    pub id: MonitorId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<MonitorStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uptime: Option<UptimeView>,
}

/// Where a monitor stands: its state since when, and its latest result in full.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonitorStatus {
    pub state: ShownState,
    pub since: Timestamp,
    pub last_checked_at: Option<Timestamp>,
    pub last_result: Option<CheckOutcome>,
    /// The open maintenance window covering the monitor, while `state` is `maintenance`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<OpenWindow>,
}

/// The state shown: the monitor's own (`UP`, `DOWN`, ...), or `maintenance` (lower case, as the
/// API has always written it) while a maintenance window covers it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ShownState {
    Monitor(MonitorState),
    Maintenance(InMaintenance),
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InMaintenance {
    Maintenance,
}

/// Uptime and latency over `from`..`to` (epoch milliseconds).
#[derive(Debug, Serialize, ToSchema)]
pub struct UptimeView {
    #[serde(flatten)]
    pub summary: UptimeSummary,
    pub from: Timestamp,
    pub to: Timestamp,
}

impl MonitorView {
    /// The monitor with its status when `listing` is given (the state reads `maintenance`,
    /// with the window, while a window covering it is open).
    fn new(
        monitor: &Monitor,
        listing: Option<&MonitorListing>,
        windows: &[MaintenanceWindow],
        shown: Secrets,
    ) -> Self {
        let status = listing.map(|listing| {
            let window = open_window(windows, monitor, Timestamp::now());
            MonitorStatus {
                state: match window {
                    Some(_) => ShownState::Maintenance(InMaintenance::Maintenance),
                    None => ShownState::Monitor(listing.state),
                },
                since: listing.state_since,
                last_checked_at: listing.last_checked_at,
                last_result: listing.last_result.clone(),
                maintenance: window,
            }
        });
        Self {
            spec: monitor.spec.redacted_value(shown == Secrets::PushToken),
            id: monitor.id,
            created_at: monitor.created_at,
            updated_at: monitor.updated_at,
            status,
            uptime: None,
        }
    }
}

/// Which secrets an answer may show: none, or the push token, which the people who may edit
/// a monitor need to set up its pings (never viewers or read-only keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Secrets {
    None,
    PushToken,
}

impl Secrets {
    fn for_caller(access: &TeamAccess) -> Self {
        if access.allows(Action::UpdateMonitor) {
            Self::PushToken
        } else {
            Self::None
        }
    }
}

/// A monitor whose stored spec cannot be read, as lists and `GET` show it: what its columns
/// still say, and why it is broken.
/// A monitor as lists and reads show it: readable, or stored in a form that cannot be read.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum MonitorEntry {
    Readable(Box<MonitorView>),
    Broken(BrokenView),
}

/// A stored monitor that cannot be read: what is known of it and why. It is not checked; it can
/// be replaced (`PUT`) or deleted.
#[derive(Debug, Serialize, ToSchema)]
pub struct BrokenView {
    pub id: MonitorId,
    pub key: Option<String>,
    pub name: String,
    pub kind: String,
    pub paused: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Always `true`.
    pub broken: bool,
    /// Why the stored row cannot be read.
    pub error: String,
}

impl BrokenView {
    fn new(broken: &BrokenMonitor) -> Self {
        Self {
            id: broken.id,
            key: broken.key.clone(),
            name: broken.name.clone(),
            kind: broken.kind.clone(),
            paused: broken.paused,
            created_at: broken.created_at,
            updated_at: broken.updated_at,
            broken: true,
            error: broken.error.clone(),
        }
    }
}

/// The 402 for a monitor the plan does not allow, with the checkout link of the plan that does.
fn plan_error<'a>(
    state: &'a AppState,
    access: &'a TeamAccess,
) -> impl Fn(Vec<PlanLimitExceeded>) -> ApiError + 'a {
    move |exceeded| access.plan_limit(state, &exceeded[0])
}

/// Parses a monitor body, listing every problem at once.
fn parse_spec(body: &Value) -> Result<MonitorSpec, ApiError> {
    MonitorSpec::parse(body, "").map_err(ApiError::invalid)
}

/// A monitor of the team; one that cannot be read is a 409 `monitor_broken`.
async fn load(state: &AppState, access: &TeamAccess, id: i64) -> Result<Monitor, ApiError> {
    state
        .store
        .get_monitor(access.team.id, MonitorId(id))
        .await?
        .ok_or_else(ApiError::not_found)
}

/// A monitor of the team, or the broken monitor it is: for the routes that still work on one
/// (read, replace, delete).
async fn load_entry(
    state: &AppState,
    access: &TeamAccess,
    id: i64,
) -> Result<Result<Monitor, Box<BrokenMonitor>>, ApiError> {
    match state.store.get_monitor(access.team.id, MonitorId(id)).await {
        Ok(Some(monitor)) => Ok(Ok(monitor)),
        Ok(None) => Err(ApiError::not_found()),
        Err(StoreError::BrokenMonitor(broken)) => Ok(Err(broken)),
        Err(error) => Err(error.into()),
    }
}

/// Checks an active monitor count against the plan.
async fn check_active_count(
    state: &AppState,
    access: &TeamAccess,
    extra: u64,
) -> Result<(), ApiError> {
    if extra == 0 {
        return Ok(());
    }
    let active = state.store.count_monitors(access.team.id).await?;
    let wanted = u32::try_from(active + extra).unwrap_or(u32::MAX);
    state
        .plans
        .check(access.team.plan, Demand::Monitors(wanted))
        .map_err(|exceeded| access.plan_limit(state, &exceeded))
}

async fn save(
    state: &AppState,
    access: &TeamAccess,
    id: MonitorId,
    spec: MonitorSpec,
    action: &str,
) -> Result<Json<MonitorView>, ApiError> {
    let monitor = state
        .store
        .update_monitor(access.team.id, id, &spec, Timestamp::now())
        .await?;
    state.scheduler.upsert(monitor.clone()).await;
    access
        .audit(
            state,
            action,
            format!("monitor:{}", monitor.id),
            json!({"name": monitor.spec.name}),
        )
        .await;
    Ok(Json(MonitorView::new(
        &monitor,
        None,
        &[],
        Secrets::for_caller(access),
    )))
}

const PERIODS: &str = "must be 24h, 7d, 30d or 90d";

/// The length of a named uptime period.
fn period_length(period: &str) -> Option<Duration> {
    let days = match period {
        "24h" => 1,
        "7d" => 7,
        "30d" => 30,
        "90d" => 90,
        _ => return None,
    };
    Some(Duration::from_secs(days * 86_400))
}

/// Every readable monitor of the access's team, read a page at a time (for exports and
/// whole-team changes, never for lists).
pub(crate) async fn all_monitors(
    state: &AppState,
    access: &TeamAccess,
) -> Result<Vec<Monitor>, ApiError> {
    Ok(all_monitor_entries(state, access).await?.0)
}

/// Every readable monitor of `team` (for changes no caller makes, such as Whop's plan changes).
pub(crate) async fn team_monitors(
    state: &AppState,
    team: TeamId,
) -> Result<Vec<Monitor>, ApiError> {
    Ok(team_monitor_entries(state, team).await?.0)
}

/// Every monitor of the access's team, the readable ones and apart the broken ones.
pub(crate) async fn all_monitor_entries(
    state: &AppState,
    access: &TeamAccess,
) -> Result<(Vec<Monitor>, Vec<BrokenMonitor>), ApiError> {
    team_monitor_entries(state, access.team.id).await
}

async fn team_monitor_entries(
    state: &AppState,
    team: TeamId,
) -> Result<(Vec<Monitor>, Vec<BrokenMonitor>), ApiError> {
    let (mut monitors, mut broken) = (Vec::new(), Vec::new());
    let mut page = PageRequest {
        limit: 500,
        ..PageRequest::default()
    };
    loop {
        let entries = state.store.list_monitor_entries(team, &page).await?;
        if entries.is_empty() {
            break;
        }
        for entry in entries {
            match entry {
                Ok(listing) => {
                    page.after = Some(listing.monitor.id);
                    monitors.push(listing.monitor);
                }
                Err(entry) => {
                    page.after = Some(entry.id);
                    broken.push(*entry);
                }
            }
        }
    }
    Ok((monitors, broken))
}
