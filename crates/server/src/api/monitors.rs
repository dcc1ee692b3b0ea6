//! Monitors: list (filters and cursor pages; raw history never, each monitor's uptime on request),
//! create, read, change, delete, pause, resume, check now, results, uptime, and YAML export/apply
//! of the whole team.

use crate::AppState;
use crate::alerting_file;
use crate::api::ApiJson;
use crate::api::TeamHeader;
use crate::api::maintenance::{OpenWindow, open_window};
use crate::auth::TeamAccess;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};
use watchtower_core::ProbeKind;
use watchtower_core::access::monitors_file_actions;
use watchtower_core::monitor::REDACTED;
use watchtower_core::monitors_file;
use watchtower_core::{
    Action, CheckOutcome, Demand, FieldError, Monitor, MonitorId, MonitorSpec, MonitorState,
    PlanLimitExceeded, Timestamp,
};
use watchtower_store::{
    ApplyReport, BrokenMonitor, MaintenanceWindow, MonitorFilter, MonitorListing, PageRequest,
    StoreError, UptimeSummary,
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

fn plan_error(exceeded: Vec<PlanLimitExceeded>) -> ApiError {
    ApiError::plan_limit(&exceeded[0])
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
        .map_err(|exceeded| ApiError::plan_limit(&exceeded))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only monitors in this state: pending, up, degraded, down, paused or maintenance.
    pub state: Option<String>,
    /// Only this kind: http, tcp, ping, dns, tls or push.
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

/// Creates a monitor from the same fields a monitors file uses.
#[utoipa::path(post, path = "/api/monitors", tag = "monitors", params(TeamHeader),
    request_body(content = Object, description = "A monitor: name, kind and the kind's fields, as in a monitors file"),
    responses((status = 201, description = "Created", body = MonitorView), (status = 400, description = "Every bad field"),
        (status = 402, description = "Over the plan's limits"), (status = 409, description = "The key is taken")))]
pub async fn create(
    State(state): State<AppState>,
    access: TeamAccess,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<MonitorView>), ApiError> {
    access.require(Action::CreateMonitor)?;
    let mut spec = parse_spec(&body)?;
    spec.restore_secrets(None, "").map_err(ApiError::invalid)?;
    state
        .plans
        .check_monitor(access.team.plan, &spec)
        .map_err(plan_error)?;
    check_active_count(&state, &access, u64::from(!spec.paused)).await?;
    let monitor = state
        .store
        .create_monitor(access.team.id, &spec, Timestamp::now())
        .await?;
    state.scheduler.upsert(monitor.clone()).await;
    access
        .audit(
            &state,
            "monitor.created",
            format!("monitor:{}", monitor.id),
            json!({"name": monitor.spec.name, "kind": monitor.spec.kind.name()}),
        )
        .await;
    Ok((
        StatusCode::CREATED,
        Json(MonitorView::new(
            &monitor,
            None,
            &[],
            Secrets::for_caller(&access),
        )),
    ))
}

/// One monitor with its current status.
#[utoipa::path(get, path = "/api/monitors/{id}", tag = "monitors",
    params(("id" = i64, Path, description = "Monitor id"), TeamHeader),
    responses((status = 200, body = MonitorEntry)))]
pub async fn get(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<i64>,
) -> Result<Json<MonitorEntry>, ApiError> {
    access.require(Action::ViewMonitors)?;
    let monitor = match load_entry(&state, &access, id).await? {
        Ok(monitor) => monitor,
        Err(broken) => return Ok(Json(MonitorEntry::Broken(BrokenView::new(&broken)))),
    };
    // The status comes from the list query for this one id, so it matches what lists show.
    let page = PageRequest {
        after: Some(MonitorId(id - 1)),
        limit: 1,
        ..PageRequest::default()
    };
    let listing = state
        .store
        .list_monitors(access.team.id, &page)
        .await?
        .into_iter()
        .find(|l| l.monitor.id == monitor.id);
    let windows = state.store.maintenance_windows(access.team.id).await?;
    Ok(Json(MonitorEntry::Readable(Box::new(MonitorView::new(
        &monitor,
        listing.as_ref(),
        &windows,
        Secrets::for_caller(&access),
    )))))
}

/// Replaces a monitor's settings.
#[utoipa::path(put, path = "/api/monitors/{id}", tag = "monitors",
    params(("id" = i64, Path, description = "Monitor id"), TeamHeader),
    request_body(content = Object, description = "The whole monitor, as for create"),
    responses((status = 200, body = MonitorView), (status = 402, description = "Over the plan's limits"), (status = 409, description = "The key is taken")))]
pub async fn update(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<MonitorView>, ApiError> {
    access.require(Action::UpdateMonitor)?;
    let mut spec = parse_spec(&body)?;
    let (existing_id, was_paused) = match load_entry(&state, &access, id).await? {
        Ok(existing) => {
            // A secret sent back redacted (as every answer shows it) keeps the stored one.
            spec.restore_secrets(Some(&existing.spec), "")
                .map_err(ApiError::invalid)?;
            (existing.id, existing.spec.paused)
        }
        // A broken monitor is replaced like any other: that is how it is repaired. Its stored
        // secrets cannot be read, so the new spec must carry its own.
        Err(broken) => {
            spec.restore_secrets(None, "").map_err(ApiError::invalid)?;
            (broken.id, broken.paused)
        }
    };
    state
        .plans
        .check_monitor(access.team.plan, &spec)
        .map_err(plan_error)?;
    check_active_count(&state, &access, u64::from(was_paused && !spec.paused)).await?;
    save(&state, &access, existing_id, spec, "monitor.updated").await
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

/// Deletes a monitor with its history.
#[utoipa::path(delete, path = "/api/monitors/{id}", tag = "monitors",
    params(("id" = i64, Path, description = "Monitor id"), TeamHeader),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    access.require(Action::DeleteMonitor)?;
    let (id, name) = match load_entry(&state, &access, id).await? {
        Ok(monitor) => (monitor.id, monitor.spec.name),
        Err(broken) => (broken.id, broken.name),
    };
    state.store.delete_monitor(access.team.id, id).await?;
    state.scheduler.remove(id).await;
    access
        .audit(
            &state,
            "monitor.deleted",
            format!("monitor:{id}"),
            json!({"name": name}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Stops checking a monitor; its history is kept.
#[utoipa::path(post, path = "/api/monitors/{id}/pause", tag = "monitors",
    params(("id" = i64, Path, description = "Monitor id"), TeamHeader),
    responses((status = 200, body = MonitorView)))]
pub async fn pause(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<i64>,
) -> Result<Json<MonitorView>, ApiError> {
    access.require(Action::PauseMonitor)?;
    let existing = load(&state, &access, id).await?;
    let mut spec = existing.spec.clone();
    spec.paused = true;
    save(&state, &access, existing.id, spec, "monitor.paused").await
}

/// Starts checking a paused monitor again (counts against the plan's monitor limit).
#[utoipa::path(post, path = "/api/monitors/{id}/resume", tag = "monitors",
    params(("id" = i64, Path, description = "Monitor id"), TeamHeader),
    responses((status = 200, body = MonitorView), (status = 402, description = "Over the plan's monitor limit")))]
pub async fn resume(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<i64>,
) -> Result<Json<MonitorView>, ApiError> {
    access.require(Action::PauseMonitor)?;
    let existing = load(&state, &access, id).await?;
    let mut spec = existing.spec.clone();
    if spec.paused {
        state
            .plans
            .check_monitor(access.team.plan, &spec)
            .map_err(plan_error)?;
        check_active_count(&state, &access, 1).await?;
    }
    spec.paused = false;
    save(&state, &access, existing.id, spec, "monitor.resumed").await
}

/// Runs the monitor's check now instead of waiting for its next slot.
#[utoipa::path(post, path = "/api/monitors/{id}/check", tag = "monitors",
    params(("id" = i64, Path, description = "Monitor id"), TeamHeader),
    responses((status = 202, description = "The check is queued")))]
pub async fn check_now(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    access.require(Action::CheckNow)?;
    let monitor = load(&state, &access, id).await?;
    state.scheduler.check_now(monitor.id).await;
    Ok(StatusCode::ACCEPTED)
}

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

#[derive(Debug, Deserialize, IntoParams)]
pub struct ExportQuery {
    /// What the file holds in place of each credential (URL password, header values, bearer
    /// token, basic-auth password, push token): `redacted` (default), the marker `********`,
    /// which keeps the stored secret when the file is applied again here; or `env`, a
    /// `${WATCHTOWER_SECRET_<KEY>_<FIELD>}` reference that `serve --config` resolves from its
    /// environment (and that this API also reads as "keep the stored secret").
    pub secrets: Option<String>,
}

/// The team's monitors as a monitors file (YAML), credentials never included.
#[utoipa::path(get, path = "/api/monitors/yaml", tag = "monitors", params(ExportQuery, TeamHeader),
    responses((status = 200, description = "A monitors file", content_type = "application/yaml", body = ExportedFile), (status = 400)))]
pub async fn export_yaml(
    State(state): State<AppState>,
    access: TeamAccess,
    Query(query): Query<ExportQuery>,
) -> Result<impl IntoResponse, ApiError> {
    access.require(Action::ExportYaml)?;
    let as_references = match query.secrets.as_deref() {
        None | Some("redacted") => false,
        Some("env") => true,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "secrets",
                "must be redacted or env",
            ));
        }
    };
    let (monitors, broken) = all_monitor_entries(&state, &access).await?;
    let values: Vec<Value> = monitors
        .iter()
        .map(|monitor| {
            let name = match &monitor.spec.key {
                Some(key) => key.to_string(),
                None => monitor.id.to_string(),
            };
            monitor.spec.value_with_secrets(|field| {
                Some(if as_references {
                    format!("${{{}}}", field.env_name(&name))
                } else {
                    REDACTED.to_owned()
                })
            })
        })
        .collect();
    // A monitor that cannot be read cannot be exported; the file says so instead of silently
    // leaving it out.
    let mut text = String::new();
    for broken in &broken {
        let line = format!(
            "# Not exported: monitor {} ({}, key {}) cannot be read: {}",
            broken.id,
            broken.name,
            broken.key.as_deref().unwrap_or("none"),
            broken.error
        );
        text.push_str(&line.replace(['\n', '\r'], " "));
        text.push('\n');
    }
    text.push_str(&monitors_file::values_to_yaml(&values));
    Ok((
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        text,
    ))
}

/// The exported monitors file, as its YAML reads: `monitors:` and each monitor's spec, in the
/// format `PUT /api/monitors/yaml` and `serve --config` take (written by `monitors_file::to_yaml`).
#[derive(Debug, ToSchema)]
pub struct ExportedFile {
    pub monitors: Vec<MonitorSpec>,
}

/// Every readable monitor of the access's team, read a page at a time (for exports and
/// whole-team changes, never for lists).
pub(crate) async fn all_monitors(
    state: &AppState,
    access: &TeamAccess,
) -> Result<Vec<Monitor>, ApiError> {
    Ok(all_monitor_entries(state, access).await?.0)
}

/// Every monitor of the access's team, the readable ones and apart the broken ones.
pub(crate) async fn all_monitor_entries(
    state: &AppState,
    access: &TeamAccess,
) -> Result<(Vec<Monitor>, Vec<BrokenMonitor>), ApiError> {
    let (mut monitors, mut broken) = (Vec::new(), Vec::new());
    let mut page = PageRequest {
        limit: 500,
        ..PageRequest::default()
    };
    loop {
        let entries = state
            .store
            .list_monitor_entries(access.team.id, &page)
            .await?;
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

#[derive(Debug, Deserialize, IntoParams)]
pub struct ApplyQuery {
    /// Check and report without changing anything.
    #[serde(default)]
    pub dry_run: bool,
}

/// Applies a monitors file (YAML body) to the team in one transaction: keyed monitors are
/// created, updated, and (with `prune: true` in the file) deleted. All or nothing.
#[utoipa::path(put, path = "/api/monitors/yaml", tag = "monitors", params(ApplyQuery, TeamHeader),
    request_body(content = String, content_type = "application/yaml", description = "A monitors file"),
    responses((status = 200, description = "What changed, by key (with `dry_run`: what the file holds)", body = ApplyAnswer),
        (status = 400, description = "Every problem, with line and column"),
        (status = 403, description = "The role may not apply files, or not the channels or alert rules this file declares")))]
pub async fn apply_yaml(
    State(state): State<AppState>,
    access: TeamAccess,
    Query(query): Query<ApplyQuery>,
    body: String,
) -> Result<Json<ApplyAnswer>, ApiError> {
    access.require(Action::ApplyYaml)?;
    let mut file =
        monitors_file::parse_with(&body, &alerting_file::check_channel).map_err(|problems| {
            ApiError::invalid(
                problems
                    .into_iter()
                    .map(|p| FieldError {
                        field: if p.field.is_empty() {
                            format!("line {}:{}", p.line, p.column)
                        } else {
                            format!("{} (line {}:{})", p.field, p.line, p.column)
                        },
                        problem: p.problem,
                    })
                    .collect(),
            )
        })?;
    // Channels and rules in a file need what the API routes for them need (dry runs too: a dry
    // run answers whether the apply would be allowed).
    let declares_channels = !file.channels.is_empty();
    let declares_rules = !file.alert_rules.is_empty();
    for action in monitors_file_actions(declares_channels, declares_rules) {
        access.require(action)?;
    }
    let (existing, broken) = all_monitor_entries(&state, &access).await?;
    // An exported file applied again sends secrets redacted: each keeps the stored one.
    let stored: Vec<MonitorSpec> = existing.iter().map(|m| m.spec.clone()).collect();
    monitors_file::restore_secrets(&mut file.monitors, &stored).map_err(ApiError::invalid)?;
    for spec in &file.monitors {
        state
            .plans
            .check_monitor(access.team.plan, spec)
            .map_err(plan_error)?;
    }
    // The active count after applying: unkeyed monitors stay, keyed ones become the file's
    // (plus, without prune, the keyed ones the file no longer lists).
    let listed: std::collections::HashSet<_> =
        file.monitors.iter().filter_map(|s| s.key.clone()).collect();
    let kept_active = existing
        .iter()
        .filter(|m| !m.spec.paused)
        .filter(|m| match &m.spec.key {
            None => true,
            Some(key) => !file.prune && !listed.contains(key),
        })
        .count();
    let active_after = kept_active + file.monitors.iter().filter(|s| !s.paused).count();
    state
        .plans
        .check(
            access.team.plan,
            Demand::Monitors(u32::try_from(active_after).unwrap_or(u32::MAX)),
        )
        .map_err(|exceeded| ApiError::plan_limit(&exceeded))?;
    alerting_file::check_plan(
        &*state.store,
        &state.plans,
        access.team.plan,
        access.team.id,
        &file,
    )
    .await
    .map_err(|error| match error {
        alerting_file::PlanLimitError::Exceeded(exceeded) => ApiError::plan_limit(&exceeded),
        alerting_file::PlanLimitError::Store(error) => error.into(),
    })?;
    if query.dry_run {
        return Ok(Json(ApplyAnswer::DryRun(DryRunReport {
            dry_run: true,
            monitors: file.monitors.len(),
            channels: file.channels.len(),
            alert_rules: file.alert_rules.len(),
            prune: file.prune,
        })));
    }
    let report = state
        .store
        .apply_monitors(access.team.id, &file.monitors, file.prune, Timestamp::now())
        .await?;
    for key in &report.deleted {
        if let Some(gone) = existing.iter().find(|m| m.spec.key.as_ref() == Some(key)) {
            state.scheduler.remove(gone.id).await;
        }
        if let Some(gone) = broken
            .iter()
            .find(|b| b.key.as_deref() == Some(key.as_str()))
        {
            state.scheduler.remove(gone.id).await;
        }
    }
    for monitor in all_monitors(&state, &access).await? {
        let changed = monitor
            .spec
            .key
            .as_ref()
            .is_some_and(|key| report.created.contains(key) || report.updated.contains(key));
        if changed {
            state.scheduler.upsert(monitor).await;
        }
    }
    access
        .audit(
            &state,
            "monitors.applied",
            format!("team:{}", access.team.id),
            json!({"created": report.created, "updated": report.updated, "deleted": report.deleted}),
        )
        .await;
    let alerting =
        alerting_file::apply(&*state.store, access.team.id, &file, Timestamp::now()).await?;
    for change in &alerting.audit {
        access
            .audit(
                &state,
                change.action,
                change.target.clone(),
                change.details.clone(),
            )
            .await;
    }
    Ok(Json(ApplyAnswer::Applied(Box::new(AppliedReport {
        report,
        alerting,
    }))))
}

/// What applying a monitors file did, or with `dry_run` what it would apply.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ApplyAnswer {
    Applied(Box<AppliedReport>),
    DryRun(DryRunReport),
}

/// The monitors created, updated, unchanged, deleted and kept, by key, and the channels and
/// rules the file applied, by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppliedReport {
    #[serde(flatten)]
    pub report: ApplyReport,
    pub alerting: alerting_file::AlertingReport,
}

/// A dry run: the file is valid and within the plan; how much it holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct DryRunReport {
    /// Always `true`.
    pub dry_run: bool,
    pub monitors: usize,
    pub channels: usize,
    pub alert_rules: usize,
    pub prune: bool,
}
