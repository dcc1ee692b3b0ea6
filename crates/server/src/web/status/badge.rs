//! A status page's badges: small SVGs saying the page's or one component's state, uptime over
//! 24 h, 7 d, 30 d or 90 d, or average response time, their text escaped. What a badge shows is
//! asked in its query (`?kind=uptime&period=7d&component=Website`).

use super::view::{PageView, weighted_latency};
use crate::error::ApiError;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;
use tokio::sync::Mutex;
use watchtower_core::{ComponentState, FieldError, MonitorId, StatusPageId, TeamId, Timestamp};
use watchtower_store::{StatusPage, Store, StoreError, UptimeSummary};

/// The periods a badge can cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
    Quarter,
}

impl Period {
    pub const ALL: [Period; 4] = [Period::Day, Period::Week, Period::Month, Period::Quarter];

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "24h",
            Period::Week => "7d",
            Period::Month => "30d",
            Period::Quarter => "90d",
        }
    }

    pub fn length(self) -> Duration {
        let days = match self {
            Period::Day => 1,
            Period::Week => 7,
            Period::Month => 30,
            Period::Quarter => 90,
        };
        Duration::from_secs(days * 86_400)
    }

    pub fn index(self) -> usize {
        self as usize
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|period| period.as_str() == text)
    }
}

/// What a badge says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadgeKind {
    Status,
    Uptime(Period),
    ResponseTime(Period),
}

/// A badge's query: `kind` (`status`, the default; `uptime`, over 30 d unless `period` says;
/// `response_time`, over 24 h unless `period` says), `period` (`24h`, `7d`, `30d`, `90d`) and
/// `component` (a component's name; the whole page without it).
#[derive(Debug, Default, Deserialize)]
pub struct BadgeQuery {
    pub kind: Option<String>,
    pub period: Option<String>,
    pub component: Option<String>,
}

/// A badge's query, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadgeAsk {
    pub kind: BadgeKind,
    pub component: Option<String>,
}

impl BadgeAsk {
    /// The page's status badge, as `badge.svg` without a query.
    pub const PAGE_STATUS: BadgeAsk = BadgeAsk {
        kind: BadgeKind::Status,
        component: None,
    };

    /// Checks every field; the answer to bad ones is a 400 in the error shape naming each.
    pub fn parse(query: &BadgeQuery) -> Result<Self, ApiError> {
        let mut problems = Vec::new();
        let period = match query.period.as_deref() {
            None => None,
            Some(text) => match Period::parse(text) {
                Some(period) => Some(period),
                None => {
                    problems.push(field_problem("period", "must be 24h, 7d, 30d or 90d"));
                    None
                }
            },
        };
        let kind = match query.kind.as_deref().unwrap_or("status") {
            "status" => {
                if query.period.is_some() {
                    problems.push(field_problem(
                        "period",
                        "a status badge shows the state now and takes no period",
                    ));
                }
                BadgeKind::Status
            }
            "uptime" => BadgeKind::Uptime(period.unwrap_or(Period::Month)),
            "response_time" => BadgeKind::ResponseTime(period.unwrap_or(Period::Day)),
            _ => {
                problems.push(field_problem(
                    "kind",
                    "must be status, uptime or response_time",
                ));
                BadgeKind::Status
            }
        };
        let component = query.component.clone();
        if component
            .as_deref()
            .is_some_and(|name| name.is_empty() || name.chars().count() > 200)
        {
            problems.push(field_problem(
                "component",
                "must be a component's name (1 to 200 characters)",
            ));
        }
        if problems.is_empty() {
            Ok(BadgeAsk { kind, component })
        } else {
            Err(ApiError::invalid(problems))
        }
    }
}

/// Escapes text for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn field_problem(field: &str, problem: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        problem: problem.to_owned(),
    }
}

/// A colour with white text above 4.5:1 contrast, per state.
fn colour(state: ComponentState) -> &'static str {
    match state {
        ComponentState::Operational => "#17692e",
        ComponentState::Maintenance => "#4d5560",
        ComponentState::Degraded => "#8a5a00",
        ComponentState::PartialOutage => "#b3261e",
        ComponentState::MajorOutage => "#8c1d18",
    }
}

/// An estimate of the width of `text` at 11 px, enough for the box around it.
fn text_width(text: &str) -> usize {
    text.chars().count() * 7 + 12
}

/// The badge of a page titled `title` in `state`: `status | All systems operational`.
pub fn render(title: &str, state: ComponentState) -> String {
    draw_state(title, state)
}

fn draw_state(subject: &str, state: ComponentState) -> String {
    draw(subject, "status", state.headline(), colour(state))
}

/// A colour with white text above 4.5:1 contrast for an uptime in hundredths of a percent:
/// green from 99.90 %, amber from 99.00 %, red below, grey without checks.
fn uptime_colour(hundredths: Option<u64>) -> &'static str {
    match hundredths {
        None => "#4d5560",
        Some(h) if h >= 9_990 => "#17692e",
        Some(h) if h >= 9_900 => "#8a5a00",
        Some(_) => "#b3261e",
    }
}

/// `uptime 7d | 99.95%` for `subject` (the page's title, or a component's name): `good` of
/// `checks`, to two decimals, never rounded up (counted in integers, so 57 of 100 is 57.00 %).
pub fn uptime(subject: &str, period: Period, good: u64, checks: u64) -> String {
    let label = format!("uptime {}", period.as_str());
    let hundredths = (checks > 0).then(|| good.min(checks) * 10_000 / checks);
    let message = match hundredths {
        Some(h) => format!("{}.{:02}%", h / 100, h % 100),
        None => "no data".to_owned(),
    };
    draw(subject, &label, &message, uptime_colour(hundredths))
}

/// `response 24h | 182 ms` for `subject`.
pub fn response_time(subject: &str, period: Period, average_ms: Option<f64>) -> String {
    let label = format!("response {}", period.as_str());
    let message = match average_ms {
        Some(ms) => format!("{} ms", ms.round() as u64),
        None => "no data".to_owned(),
    };
    let colour = if average_ms.is_some() {
        "#0b5cad"
    } else {
        "#4d5560"
    };
    draw(subject, &label, &message, colour)
}

/// Two boxes, `label | message`, named `subject: message` for screen readers.
fn draw(subject: &str, label: &str, message: &str, colour: &str) -> String {
    let (left, right) = (text_width(label), text_width(message));
    let width = left + right;
    let name = escape(&format!("{subject}: {message}"));
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{name}"><title>{name}</title><rect width="{left}" height="20" fill="#444d56"/><rect x="{left}" width="{right}" height="20" fill="{colour}"/><g fill="#ffffff" font-family="DejaVu Sans,Verdana,Geneva,sans-serif" font-size="11" text-anchor="middle"><text x="{lx}" y="14">{label}</text><text x="{mx}" y="14">{message}</text></g></svg>"##,
        lx = left / 2,
        mx = left + right / 2,
        label = escape(label),
        message = escape(message),
    )
}

/// What a page's badges are drawn from: its title, states and components' monitors as the page
/// was rendered, and what the page lets the public see.
#[derive(Debug)]
pub struct BadgeSource {
    page: StatusPageId,
    team: TeamId,
    title: String,
    overall: ComponentState,
    components: Vec<BadgeComponent>,
    /// Every monitor of the page, once.
    monitors: Vec<MonitorId>,
    /// A page that hides response times has no response-time badge.
    show_response_times: bool,
    /// A page showing 30 days of history answers badges up to 30 days.
    history_days: u16,
}

/// A component as its badges see it.
#[derive(Debug)]
pub struct BadgeComponent {
    pub name: String,
    pub state: ComponentState,
    pub monitors: Vec<MonitorId>,
}

/// Good checks, checks, and the response time over one period: the page's, then each
/// component's, for the components' monitors they were read for.
#[derive(Debug)]
struct PeriodFigures {
    layout: Vec<Vec<MonitorId>>,
    page: Figures,
    components: Vec<Figures>,
}

#[derive(Debug, Clone, Copy)]
struct Figures {
    good: u64,
    checks: u64,
    response_ms: Option<f64>,
}

impl Figures {
    /// Checks of all `monitors` together; response time weighted by each monitor's checks, as
    /// the page shows it.
    fn of(monitors: &[MonitorId], summaries: &HashMap<MonitorId, UptimeSummary>) -> Self {
        let (mut checks, mut good) = (0, 0);
        for summary in monitors.iter().filter_map(|id| summaries.get(id)) {
            checks += summary.checks;
            good += summary.up + summary.degraded;
        }
        Figures {
            good,
            checks,
            response_ms: weighted_latency(monitors, summaries),
        }
    }
}

/// A period's figures and when they were read.
type ReadFigures = (Instant, Arc<PeriodFigures>);

/// One page's figures of one period, locked while they are read.
type FiguresSlot = Arc<Mutex<Option<ReadFigures>>>;

/// How long a period's figures are used: as long as a badge may be cached (`max-age=60`).
const FRESH: Duration = Duration::from_secs(60);

/// Above this many kept figures, those no longer fresh are dropped (deleted pages, old periods).
const MAX_KEPT: usize = 4096;

/// Each page's figures per period, kept across renderings of the page (a page is rendered
/// again after any state change), read by one request at a time while the others wait.
#[derive(Debug, Default)]
pub struct BadgeFiguresCache(std::sync::Mutex<HashMap<(StatusPageId, usize), FiguresSlot>>);

impl BadgeFiguresCache {
    fn slot(&self, page: StatusPageId, period: Period) -> FiguresSlot {
        let mut slots = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slots.len() >= MAX_KEPT {
            slots.retain(|_, slot| {
                slot.try_lock().map_or(true, |kept| {
                    kept.as_ref().is_some_and(|(at, _)| at.elapsed() < FRESH)
                })
            });
        }
        slots.entry((page, period.index())).or_default().clone()
    }
}

impl BadgeSource {
    /// The badges of `page` as it was rendered.
    pub fn new(page: &StatusPage, view: &PageView) -> Self {
        let components: Vec<BadgeComponent> = page
            .spec
            .components()
            .zip(view.groups.iter().flat_map(|group| &group.components))
            .map(|(spec, shown)| BadgeComponent {
                name: shown.name.clone(),
                state: shown.state,
                monitors: spec.monitors.clone(),
            })
            .collect();
        BadgeSource {
            page: page.id,
            team: page.team_id,
            title: view.title.clone(),
            overall: view.overall,
            components,
            monitors: page.spec.monitor_ids(),
            show_response_times: view.show_response_times,
            history_days: view.history_days,
        }
    }

    /// The SVG `ask` names, with the period's figures from `cache` (read when missing, older
    /// than a minute, or read for other components); `None` when the page has no component of
    /// that name, hides response times, or shows less history than the period.
    pub async fn svg(
        &self,
        store: &dyn Store,
        cache: &BadgeFiguresCache,
        ask: &BadgeAsk,
        now: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        let component = match &ask.component {
            Some(name) => match self.components.iter().position(|c| &c.name == name) {
                Some(index) => Some(index),
                None => return Ok(None),
            },
            None => None,
        };
        let (subject, state) = match component {
            Some(index) => (&self.components[index].name, self.components[index].state),
            None => (&self.title, self.overall),
        };
        let period = match ask.kind {
            BadgeKind::Status => return Ok(Some(draw_state(subject, state))),
            BadgeKind::ResponseTime(_) if !self.show_response_times => return Ok(None),
            BadgeKind::Uptime(period) | BadgeKind::ResponseTime(period) => period,
        };
        if period.length() > Duration::from_secs(u64::from(self.history_days) * 86_400) {
            return Ok(None);
        }
        let layout: Vec<Vec<MonitorId>> = self
            .components
            .iter()
            .map(|component| component.monitors.clone())
            .collect();
        let slot = cache.slot(self.page, period);
        let figures = {
            let mut kept = slot.lock().await;
            match kept.as_ref() {
                Some((read_at, figures))
                    if read_at.elapsed() < FRESH && figures.layout == layout =>
                {
                    figures.clone()
                }
                _ => {
                    let figures = Arc::new(self.read(store, layout, period, now).await?);
                    *kept = Some((Instant::now(), figures.clone()));
                    figures
                }
            }
        };
        let figures = match component {
            Some(index) => figures.components[index],
            None => figures.page,
        };
        Ok(Some(match ask.kind {
            BadgeKind::Uptime(_) => uptime(subject, period, figures.good, figures.checks),
            _ => response_time(subject, period, figures.response_ms),
        }))
    }

    async fn read(
        &self,
        store: &dyn Store,
        layout: Vec<Vec<MonitorId>>,
        period: Period,
        now: Timestamp,
    ) -> Result<PeriodFigures, StoreError> {
        let summaries = store
            .uptime_many(self.team, &self.monitors, now.minus(period.length()), now)
            .await?;
        Ok(PeriodFigures {
            page: Figures::of(&self.monitors, &summaries),
            components: layout
                .iter()
                .map(|monitors| Figures::of(monitors, &summaries))
                .collect(),
            layout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
        assert_eq!(escape("a\u{1}b"), "ab");
        let svg = render("Tom & Jerry <3", ComponentState::Degraded);
        assert!(svg.contains("Tom &amp; Jerry &lt;3: Degraded performance"));
        assert!(!svg.contains("<3"));
    }

    #[test]
    fn uptime_is_counted_in_integers_and_never_rounded_up() {
        let message = |good, checks| {
            let svg = uptime("page", Period::Week, good, checks);
            let start = svg.rfind("\">").unwrap() + 2;
            svg[start..svg.rfind("</text>").unwrap()].to_owned()
        };
        // 0.57 × 10,000 is 5,699.999… in floating point.
        assert_eq!(message(57, 100), "57.00%");
        assert_eq!(message(99_999, 100_000), "99.99%");
        assert_eq!(message(2, 3), "66.66%");
        assert_eq!(message(5, 5), "100.00%");
        assert_eq!(message(0, 0), "no data");
        assert!(uptime("p", Period::Day, 999, 1000).contains("#17692e"));
        assert!(uptime("p", Period::Day, 998, 1000).contains("#8a5a00"));
        assert!(uptime("p", Period::Day, 989, 1000).contains("#b3261e"));
    }
}
