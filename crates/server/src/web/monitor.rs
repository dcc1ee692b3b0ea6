//! One monitor's page: its state and open incident, response time over a chosen range (from
//! the rollups), daily uptime over 90 days, the latest check's phases and certificate, recent
//! results; and its actions (pause, resume, check now, delete) through the API's handlers.

use super::format::{self, StateBadge};
use super::overview::{badge_of, target_of};
use super::page::{Shell, WebError, WebPage, render};
use crate::AppState;
use crate::api::monitors::history::{ResultsQuery, results};
use crate::api::monitors::{MonitorEntry, crud, schedule};
use crate::error::ApiError;
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;
use watchtower_core::{Action, CheckOutcome, Incident, MonitorId, Timestamp};
use watchtower_store::{PhaseAverages, SeriesStep, StoredResult};

const DAY_MS: i64 = 86_400_000;
/// Days in the uptime bars.
const BAR_DAYS: i64 = 90;

/// The ranges the chart offers, each read at the rollup level that gives it a readable number
/// of points (at most 1,440).
const RANGES: [(&str, &str, Duration, SeriesStep); 5] = [
    (
        "1h",
        "1 hour",
        Duration::from_secs(3_600),
        SeriesStep::Minute,
    ),
    (
        "24h",
        "24 hours",
        Duration::from_secs(86_400),
        SeriesStep::Minute,
    ),
    (
        "7d",
        "7 days",
        Duration::from_secs(7 * 86_400),
        SeriesStep::Hour,
    ),
    (
        "30d",
        "30 days",
        Duration::from_secs(30 * 86_400),
        SeriesStep::Hour,
    ),
    (
        "90d",
        "90 days",
        Duration::from_secs(90 * 86_400),
        SeriesStep::Day,
    ),
];

#[derive(Debug, Deserialize)]
pub struct RangeQuery {
    pub range: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RangeLink {
    pub key: &'static str,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Debug, Clone)]
pub struct DayBar {
    pub x: i64,
    pub y: u8,
    pub height: u8,
    pub class: &'static str,
    pub title: String,
}

#[derive(Debug, Clone)]
pub struct ResultRow {
    pub at: String,
    pub at_iso: String,
    pub status: StateBadge,
    pub latency: String,
    pub detail: String,
}

#[derive(Debug, Clone, Default)]
pub struct LatestCheck {
    pub at: String,
    pub latency: String,
    /// (phase, duration) for HTTP checks.
    pub phases: Vec<(&'static str, String)>,
    pub http_status: String,
    pub message: String,
    pub certificate: Vec<(&'static str, String)>,
}

/// One HTTP phase's share of the average response over the chosen range.
#[derive(Debug, Clone)]
pub struct PhaseShare {
    pub name: &'static str,
    /// The phase's class, which gives it its colour in the bar and the chart.
    pub class: &'static str,
    pub average: String,
    /// Percent of the average response time.
    pub percent: String,
    /// Where the phase's part of the bar starts, in percent of its width.
    pub offset: String,
}

#[derive(Debug, Clone)]
pub struct OpenIncident {
    pub id: i64,
    pub opened: String,
    pub cause: String,
    pub acknowledged_by: String,
}

#[derive(Template)]
#[template(path = "monitor.html")]
struct MonitorPage {
    shell: Shell,
    id: MonitorId,
    name: String,
    kind: String,
    target: String,
    state: StateBadge,
    since: String,
    paused: bool,
    broken: String,
    incident: Option<OpenIncident>,
    ranges: Vec<RangeLink>,
    range_label: &'static str,
    range_summary: Vec<(&'static str, String)>,
    series_json: String,
    has_series: bool,
    phase_shares: Vec<PhaseShare>,
    bars: Vec<DayBar>,
    bars_summary: String,
    latest: Option<LatestCheck>,
    results: Vec<ResultRow>,
    can_edit: bool,
    can_pause: bool,
    can_check: bool,
    can_delete: bool,
}

fn latest_of(outcome: &CheckOutcome) -> LatestCheck {
    let ms = |d: Duration| format::millis(Some(d.as_secs_f64() * 1000.0));
    let phases = outcome
        .phases
        .as_ref()
        .map(|p| {
            [
                ("DNS", p.dns),
                ("Connect", p.connect),
                ("TLS", p.tls),
                ("First byte", p.first_byte),
                ("Download", p.download),
            ]
            .into_iter()
            .filter_map(|(name, d)| d.map(|d| (name, ms(d))))
            .collect()
        })
        .unwrap_or_default();
    let certificate = outcome
        .certificate
        .as_ref()
        .map(|c| {
            vec![
                ("Subject", c.subject.clone()),
                ("Issuer", c.issuer.clone()),
                ("Chain expires", format::time(c.expires_at)),
                ("Names", c.dns_names.join(", ")),
                ("SHA-256", c.fingerprint_sha256.clone()),
            ]
        })
        .unwrap_or_default();
    LatestCheck {
        at: format::time(outcome.checked_at),
        latency: ms(outcome.latency),
        phases,
        http_status: outcome
            .http_status
            .map(|s| s.to_string())
            .unwrap_or_default(),
        message: outcome.message.clone().unwrap_or_default(),
        certificate,
    }
}

fn result_row(result: &StoredResult) -> ResultRow {
    let status = match result.status {
        watchtower_core::CheckStatus::Up => format::state(watchtower_core::MonitorState::Up),
        watchtower_core::CheckStatus::Degraded => {
            format::state(watchtower_core::MonitorState::Degraded)
        }
        watchtower_core::CheckStatus::Down => format::state(watchtower_core::MonitorState::Down),
    };
    let mut detail = Vec::new();
    if let Some(code) = result.http_status {
        detail.push(format!("HTTP {code}"));
    }
    if let Some(class) = result.error_class {
        detail.push(class.as_str().to_owned());
    }
    if let Some(message) = &result.message {
        detail.push(message.clone());
    }
    ResultRow {
        at: format::time(result.checked_at),
        at_iso: format::iso(result.checked_at),
        status,
        latency: format::millis(Some(result.latency.as_secs_f64() * 1000.0)),
        detail: detail.join(" · "),
    }
}

/// The 90 daily bars: a day without checks is an empty grey bar; a day below 99 % is a tall
/// red one, so the worst days stand out by height as well as colour.
/// The range's average time in each HTTP phase, and what is left of the average response (the
/// download and the client's own work), each with its share; empty when no step has phases.
/// Steps are weighted by their successful checks, the results phases are kept for.
fn phase_shares(points: &[watchtower_store::SeriesPoint]) -> Vec<PhaseShare> {
    let mut weight = 0.0;
    let mut sums = [0.0f64; 5];
    for point in points {
        let (Some(phases), Some(average)) = (point.summary.phases, point.summary.latency_avg_ms)
        else {
            continue;
        };
        let successes = (point.summary.up + point.summary.degraded) as f64;
        let known = phases.dns_ms + phases.connect_ms + phases.tls_ms + phases.first_byte_ms;
        let parts = [
            phases.dns_ms,
            phases.connect_ms,
            phases.tls_ms,
            phases.first_byte_ms,
            (average - known).max(0.0),
        ];
        for (sum, part) in sums.iter_mut().zip(parts) {
            *sum += part * successes;
        }
        weight += successes;
    }
    if weight == 0.0 {
        return Vec::new();
    }
    let total: f64 = sums.iter().sum::<f64>() / weight;
    let names = [
        ("DNS", "phase-dns"),
        ("Connect", "phase-connect"),
        ("TLS", "phase-tls"),
        ("First byte", "phase-first-byte"),
        ("Download and rest", "phase-rest"),
    ];
    let mut offset = 0.0;
    names
        .iter()
        .zip(sums)
        .map(|(&(name, class), sum)| {
            let average = sum / weight;
            let percent = if total > 0.0 {
                average / total * 100.0
            } else {
                0.0
            };
            let share = PhaseShare {
                name,
                class,
                average: format::millis(Some(average)),
                percent: format!("{percent:.1}"),
                offset: format!("{offset:.2}"),
            };
            offset += percent;
            share
        })
        .collect()
}

fn day_bars(points: &[watchtower_store::SeriesPoint], today: i64) -> (Vec<DayBar>, String) {
    let first = today - (BAR_DAYS - 1) * DAY_MS;
    let mut worst: Option<(f64, i64)> = None;
    let bars = (0..BAR_DAYS)
        .map(|index| {
            let start = first + index * DAY_MS;
            let point = points.iter().find(|p| p.start.0 == start);
            let day = format::time(Timestamp(start));
            let day = day.split(' ').next().unwrap_or_default().to_owned();
            match point.and_then(|p| p.summary.uptime) {
                None => DayBar {
                    x: index,
                    y: 6,
                    height: 4,
                    class: "cell-none",
                    title: format!("{day}: no checks"),
                },
                Some(uptime) => {
                    if worst.is_none_or(|(w, _)| uptime < w) {
                        worst = Some((uptime, start));
                    }
                    let (class, y, height) = if uptime >= 0.999 {
                        ("cell-up", 3, 7)
                    } else if uptime >= 0.99 {
                        ("cell-degraded", 1, 9)
                    } else {
                        ("cell-down", 0, 10)
                    };
                    DayBar {
                        x: index,
                        y,
                        height,
                        class,
                        title: format!("{day}: {} uptime", format::percent(Some(uptime))),
                    }
                }
            }
        })
        .collect();
    let summary = match worst {
        Some((uptime, day)) => format!(
            "Worst day: {} with {} uptime.",
            format::time(Timestamp(day))
                .split(' ')
                .next()
                .unwrap_or_default(),
            format::percent(Some(uptime))
        ),
        None => "No checks in the last 90 days.".to_owned(),
    };
    (bars, summary)
}

/// `GET /monitors/{id}`.
pub async fn page(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<i64>,
    Query(query): Query<RangeQuery>,
) -> Result<Response, WebError> {
    let Json(entry) = crud::get(State(state.clone()), page.access.clone(), Path(id)).await?;
    let team = page.access.team.id;
    let (name, kind, target, badge, since, paused, broken, latest) = match &entry {
        MonitorEntry::Readable(view) => {
            let text = |n: &str| {
                view.spec
                    .get(n)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            let status = view.status.as_ref();
            (
                text("name"),
                text("kind"),
                target_of(&view.spec),
                badge_of(view),
                status
                    .map(|s| format::ago(s.since, Timestamp::now()))
                    .unwrap_or_default(),
                view.spec
                    .get("paused")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                String::new(),
                status.and_then(|s| s.last_result.as_ref()).map(latest_of),
            )
        }
        MonitorEntry::Broken(broken) => (
            broken.name.clone(),
            broken.kind.clone(),
            String::new(),
            format::state(watchtower_core::MonitorState::Pending),
            String::new(),
            broken.paused,
            broken.error.clone(),
            None,
        ),
    };
    let monitor = MonitorId(id);
    let incident = state
        .store
        .open_incident(team, monitor)
        .await
        .map_err(ApiError::from)?
        .map(|incident: Incident| OpenIncident {
            id: incident.id.0,
            opened: format::time(incident.opened_at),
            cause: incident.cause,
            acknowledged_by: incident.acknowledged_by.unwrap_or_default(),
        });
    let (range_key, range_label, length, step) = RANGES
        .iter()
        .copied()
        .find(|(key, ..)| Some(*key) == query.range.as_deref())
        .unwrap_or(RANGES[1]);
    let now = Timestamp::now();
    let can_read = page.can(Action::ViewResults);
    let (points, day_points, recent) = if can_read {
        let points = state
            .store
            .series(team, monitor, step, now.minus(length), now)
            .await
            .map_err(ApiError::from)?;
        let today = now.0.div_euclid(DAY_MS) * DAY_MS;
        let days = state
            .store
            .series(
                team,
                monitor,
                SeriesStep::Day,
                Timestamp(today - (BAR_DAYS - 1) * DAY_MS),
                now,
            )
            .await
            .map_err(ApiError::from)?;
        let Json(recent) = results(
            State(state.clone()),
            page.access.clone(),
            Path(id),
            Query(ResultsQuery {
                from: None,
                to: None,
                limit: Some(20),
            }),
        )
        .await
        .or_else(|error| {
            // A broken monitor has no readable results page; its page still shows.
            if error.status == http::StatusCode::CONFLICT {
                Ok(Json(crate::api::monitors::history::ResultPage {
                    results: Vec::new(),
                    next_to: None,
                }))
            } else {
                Err(error)
            }
        })?;
        (points, days, recent.results)
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    let today = now.0.div_euclid(DAY_MS) * DAY_MS;
    let (bars, bars_summary) = day_bars(&day_points, today);
    // uPlot's columns: seconds, average ms, p95 ms (null where a step had no successful check),
    // and for HTTP monitors each phase's average (null where a step had none).
    let tenths = |value: Option<f64>| value.map(|v| (v * 10.0).round() / 10.0);
    let phase = |get: fn(&PhaseAverages) -> f64| {
        points
            .iter()
            .map(|p| tenths(p.summary.phases.as_ref().map(get)))
            .collect::<Vec<_>>()
    };
    let has_phases = points.iter().any(|p| p.summary.phases.is_some());
    let series_json = json!({
        "from": now.minus(length).0 / 1000,
        "to": now.0 / 1000,
        "t": points.iter().map(|p| p.start.0 / 1000).collect::<Vec<_>>(),
        "avg": points.iter().map(|p| tenths(p.summary.latency_avg_ms)).collect::<Vec<_>>(),
        "p95": points.iter().map(|p| tenths(p.summary.latency_p95_ms)).collect::<Vec<_>>(),
        "phases": has_phases.then(|| json!({
            "dns": phase(|p| p.dns_ms),
            "connect": phase(|p| p.connect_ms),
            "tls": phase(|p| p.tls_ms),
            "first_byte": phase(|p| p.first_byte_ms),
        })),
    })
    .to_string()
    // Inside <script type="application/json">, "</" must not end the element.
    .replace("</", "<\\/");
    let (checks, up) = points.iter().fold((0u64, 0u64), |(c, u), p| {
        (c + p.summary.checks, u + p.summary.up + p.summary.degraded)
    });
    let averages: Vec<f64> = points
        .iter()
        .filter_map(|p| p.summary.latency_avg_ms)
        .collect();
    let range_summary = vec![
        ("Checks", checks.to_string()),
        (
            "Uptime",
            format::percent((checks > 0).then(|| up as f64 / checks as f64)),
        ),
        (
            "Average response",
            format::millis(
                (!averages.is_empty())
                    .then(|| averages.iter().sum::<f64>() / averages.len() as f64),
            ),
        ),
        (
            "Slowest p95",
            format::millis(
                points
                    .iter()
                    .filter_map(|p| p.summary.latency_p95_ms)
                    .reduce(f64::max),
            ),
        ),
    ];
    let phase_shares = phase_shares(&points);
    let mut shell = page.shell(name.clone(), "overview");
    shell.charts = !points.is_empty();
    // The state, the open incident and the latest results refresh themselves (htmx).
    shell.live = true;
    Ok(render(&MonitorPage {
        shell,
        id: monitor,
        name,
        kind,
        target,
        state: badge,
        since,
        paused,
        broken,
        incident,
        ranges: RANGES
            .iter()
            .map(|(key, label, ..)| RangeLink {
                key,
                label,
                current: *key == range_key,
            })
            .collect(),
        range_label,
        range_summary,
        has_series: !points.is_empty(),
        series_json,
        phase_shares,
        bars,
        bars_summary,
        latest,
        results: recent.iter().map(result_row).collect(),
        can_edit: page.can(Action::UpdateMonitor),
        can_pause: page.can(Action::PauseMonitor),
        can_check: page.can(Action::CheckNow),
        can_delete: page.can(Action::DeleteMonitor),
    }))
}

/// Where an action returns: the monitor's page.
fn back_to(id: i64) -> Response {
    Redirect::to(&format!("/monitors/{id}")).into_response()
}

/// `POST /monitors/{id}/pause`.
pub async fn pause(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let Json(_) = schedule::pause(State(state), page.access, Path(id)).await?;
    Ok(back_to(id))
}

/// `POST /monitors/{id}/resume`.
pub async fn resume(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let Json(_) = schedule::resume(State(state), page.access, Path(id)).await?;
    Ok(back_to(id))
}

/// `POST /monitors/{id}/check`.
pub async fn check_now(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    schedule::check_now(State(state), page.access, Path(id)).await?;
    Ok(back_to(id))
}

/// `POST /monitors/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    page: WebPage,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    crud::delete(State(state), page.access, Path(id)).await?;
    Ok(Redirect::to("/").into_response())
}
