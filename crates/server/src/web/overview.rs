//! The overview: counts by state, then the team's monitors a page at a time with search and
//! filters, each with its 24-hour uptime and a strip of its latest checks. The list part
//! refreshes itself every few seconds (htmx) from `/monitors/live` with the same query.

use super::format::{self, StateBadge};
use super::page::{Shell, WebError, WebPage, render};
use crate::AppState;
use crate::api::monitors::list::{ListQuery, list};
use crate::api::monitors::{MonitorEntry, MonitorView, ShownState};
use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use watchtower_core::{Action, CheckStatus, MonitorId, MonitorState, ProbeKind, Timestamp};
use watchtower_store::RecentCheck;

/// Monitors per page.
const PAGE_SIZE: u32 = 50;
/// Checks in each monitor's status strip.
const STRIP_CHECKS: u32 = 30;

/// The overview's query string: the API list's filters (empty form fields mean "any").
#[derive(Debug, Default, Clone, Deserialize)]
pub struct OverviewQuery {
    #[serde(default)]
    pub search: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub tag: String,
    pub after: Option<i64>,
}

impl OverviewQuery {
    fn some(text: &str) -> Option<String> {
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    }

    fn filtered(&self) -> bool {
        [&self.search, &self.state, &self.kind, &self.tag]
            .iter()
            .any(|f| !f.trim().is_empty())
    }

    /// This query as a URL query string, with `after` replaced.
    fn to_query(&self, after: Option<i64>) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for (name, value) in [
            ("search", &self.search),
            ("state", &self.state),
            ("kind", &self.kind),
            ("tag", &self.tag),
        ] {
            if !value.trim().is_empty() {
                pairs.push((name, value.trim().to_owned()));
            }
        }
        if let Some(after) = after {
            pairs.push(("after", after.to_string()));
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// One cell of a status strip (an SVG rect): a failed check is a full-height bar, a working one
/// a shorter bar, so the strip does not rely on colour alone.
#[derive(Debug, Clone)]
pub struct StripCell {
    pub x: usize,
    pub y: u8,
    pub height: u8,
    pub class: &'static str,
    pub title: String,
}

/// A status strip, oldest check on the left.
pub fn strip(checks: &[RecentCheck]) -> Vec<StripCell> {
    checks
        .iter()
        .rev()
        .enumerate()
        .map(|(x, check)| {
            let (class, y, height) = match check.status {
                CheckStatus::Up => ("cell-up", 4, 6),
                CheckStatus::Degraded => ("cell-degraded", 2, 8),
                CheckStatus::Down => ("cell-down", 0, 10),
            };
            StripCell {
                x,
                y,
                height,
                class,
                title: format!(
                    "{}: {}, {}",
                    format::time(check.checked_at),
                    check.status.as_str(),
                    format::millis(Some(check.latency.as_secs_f64() * 1000.0))
                ),
            }
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct MonitorRow {
    pub id: MonitorId,
    pub name: String,
    pub kind: String,
    pub target: String,
    pub state: StateBadge,
    pub since: String,
    pub since_iso: String,
    pub uptime: String,
    pub strip: Vec<StripCell>,
    /// Set for a monitor whose stored settings cannot be read.
    pub broken: String,
}

/// Where a monitor points, as its spec says it: the URL, or host and port.
pub fn target_of(spec: &Value) -> String {
    let text = |name: &str| spec.get(name).and_then(Value::as_str).unwrap_or_default();
    if let Some(url) = spec.get("url").and_then(Value::as_str) {
        return url.to_owned();
    }
    match spec.get("port").and_then(Value::as_u64) {
        Some(port) => format!("{}:{port}", text("host")),
        None => text("host").to_owned(),
    }
}

pub fn badge_of(view: &MonitorView) -> StateBadge {
    match view.status.as_ref().map(|status| &status.state) {
        Some(ShownState::Monitor(state)) => format::state(*state),
        Some(ShownState::Maintenance(_)) => format::maintenance(),
        None => format::state(MonitorState::Pending),
    }
}

fn row_of(entry: &MonitorEntry, recent: &HashMap<MonitorId, Vec<RecentCheck>>) -> MonitorRow {
    let now = Timestamp::now();
    match entry {
        MonitorEntry::Readable(view) => {
            let text = |name: &str| {
                view.spec
                    .get(name)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let since = view.status.as_ref().map(|status| status.since);
            MonitorRow {
                id: view.id,
                name: text("name"),
                kind: text("kind"),
                target: target_of(&view.spec),
                state: badge_of(view),
                since: since.map(|at| format::ago(at, now)).unwrap_or_default(),
                since_iso: since.map(format::iso).unwrap_or_default(),
                uptime: format::percent(view.uptime.as_ref().and_then(|u| u.summary.uptime)),
                strip: strip(recent.get(&view.id).map_or(&[][..], Vec::as_slice)),
                broken: String::new(),
            }
        }
        MonitorEntry::Broken(broken) => MonitorRow {
            id: broken.id,
            name: broken.name.clone(),
            kind: broken.kind.clone(),
            target: String::new(),
            state: format::state(if broken.paused {
                MonitorState::Paused
            } else {
                MonitorState::Pending
            }),
            since: String::new(),
            since_iso: String::new(),
            uptime: "-".into(),
            strip: Vec::new(),
            broken: broken.error.clone(),
        },
    }
}

#[derive(Debug, Clone)]
pub struct CountCell {
    pub label: &'static str,
    pub class: &'static str,
    pub count: u64,
    pub href: String,
}

/// The part of the overview that refreshes itself.
#[derive(Debug, Clone)]
pub struct Live {
    pub counts: Vec<CountCell>,
    pub total: u64,
    pub summary: String,
    pub rows: Vec<MonitorRow>,
    pub next_href: String,
    pub first_href: String,
    pub refresh_url: String,
    /// The team has no monitors at all (the first-run path).
    pub empty_team: bool,
    pub filtered: bool,
}

async fn live(state: &AppState, page: &WebPage, query: &OverviewQuery) -> Result<Live, WebError> {
    let team = page.access.team.id;
    // The state counts do not depend on the page: read them while the page is listed.
    let (listed, counts) = tokio::join!(
        list(
            State(state.clone()),
            page.access.clone(),
            Query(ListQuery {
                state: OverviewQuery::some(&query.state),
                kind: OverviewQuery::some(&query.kind),
                tag: OverviewQuery::some(&query.tag),
                search: OverviewQuery::some(&query.search),
                after: query.after,
                limit: Some(PAGE_SIZE),
                uptime: page.can(Action::ViewResults).then(|| "24h".to_owned()),
            }),
        ),
        state.store.state_counts(team)
    );
    let Json(listed) = listed?;
    let counts = counts.map_err(crate::error::ApiError::from)?;
    let ids: Vec<MonitorId> = listed
        .monitors
        .iter()
        .map(|entry| match entry {
            MonitorEntry::Readable(view) => view.id,
            MonitorEntry::Broken(broken) => broken.id,
        })
        .collect();
    let recent = if page.can(Action::ViewResults) {
        state
            .store
            .recent_checks(team, &ids, STRIP_CHECKS)
            .await
            .map_err(crate::error::ApiError::from)?
    } else {
        HashMap::new()
    };
    let cells: Vec<CountCell> = [
        MonitorState::Up,
        MonitorState::Down,
        MonitorState::Degraded,
        MonitorState::Pending,
        MonitorState::Paused,
    ]
    .into_iter()
    .map(|s| {
        let badge = format::state(s);
        CountCell {
            label: badge.label,
            class: badge.class,
            count: counts.of(s),
            href: format!("/?state={}", s.as_str().to_lowercase()),
        }
    })
    .collect();
    let summary = cells
        .iter()
        .filter(|cell| cell.count > 0)
        .map(|cell| format!("{} {}", cell.count, cell.label.to_lowercase()))
        .collect::<Vec<_>>()
        .join(", ");
    let query_string = query.to_query(query.after);
    Ok(Live {
        total: counts.total(),
        summary,
        counts: cells,
        rows: listed
            .monitors
            .iter()
            .map(|entry| row_of(entry, &recent))
            .collect(),
        next_href: listed
            .next_after
            .map(|after| format!("/?{}", query.to_query(Some(after))))
            .unwrap_or_default(),
        first_href: if query.after.is_some() {
            format!("/?{}", query.to_query(None))
        } else {
            String::new()
        },
        refresh_url: format!("/monitors/live?{query_string}"),
        empty_team: counts.total() == 0,
        filtered: query.filtered(),
    })
}

#[derive(Debug, Clone)]
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    shell: Shell,
    live: Live,
    query: OverviewQuery,
    states: Vec<Choice>,
    kinds: Vec<Choice>,
    can_create: bool,
    can_invite: bool,
}

#[derive(Template)]
#[template(path = "overview_live.html")]
struct LiveFragment {
    live: Live,
}

/// `GET /`.
pub async fn page(
    State(state): State<AppState>,
    page: WebPage,
    Query(query): Query<OverviewQuery>,
) -> Result<Response, WebError> {
    let live = live(&state, &page, &query).await?;
    let states = [
        ("up", "Up"),
        ("down", "Down"),
        ("degraded", "Degraded"),
        ("pending", "Pending"),
        ("paused", "Paused"),
        ("maintenance", "Maintenance"),
    ]
    .into_iter()
    .map(|(value, label)| Choice {
        value,
        label,
        selected: query.state.eq_ignore_ascii_case(value),
    })
    .collect();
    let kinds = ProbeKind::ALL
        .iter()
        .map(|kind| Choice {
            value: kind.name(),
            label: kind.name(),
            selected: query.kind == kind.name(),
        })
        .collect();
    let mut shell = page.shell("Monitors", "overview");
    shell.live = true;
    Ok(render(&OverviewPage {
        shell,
        live,
        query,
        states,
        kinds,
        can_create: page.can(Action::CreateMonitor),
        can_invite: page.can(Action::InviteMember),
    }))
}

/// `GET /monitors/live`: the refreshing part alone.
pub async fn live_fragment(
    State(state): State<AppState>,
    page: WebPage,
    Query(query): Query<OverviewQuery>,
) -> Result<Response, WebError> {
    let live = live(&state, &page, &query).await?;
    Ok(render(&LiveFragment { live }))
}
