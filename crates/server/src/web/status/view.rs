//! What a public status page shows, read from the store in a bounded number of queries: each
//! component's state from its monitors' current states (an open maintenance window counts as
//! maintenance), its daily uptime over the page's history from the day rollups, each day's
//! incident openings, and optionally its average response time over the last 24 hours; the
//! page's incident posts (open, and resolved within the last week: a component named by an open
//! post is shown in the worse of its monitors' state and the post's) and its maintenance
//! (`posts`). Nothing here carries a monitor's name, target or id: only what the team wrote
//! for the public.

use super::posts::{self, MaintenanceView, PostView};
use crate::api::maintenance::open_window;
use serde::Serialize;
use std::collections::HashMap;
use watchtower_core::{ComponentState, MonitorId, MonitorState, Timestamp};
use watchtower_store::{
    PagePosts, PostReaders, SeriesStep, StatusPage, Store, StoreError, UptimeSummary,
};

const DAY_MS: i64 = 86_400_000;
/// How long a resolved post stays on the page (the history page keeps it).
pub const RECENT_POSTS: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);

/// One day of a component's history.
#[derive(Debug, Clone, Serialize)]
pub struct DayView {
    /// `2026-12-01` (UTC days, as the rollups count them).
    pub date: String,
    /// Checks that were up or degraded over all checks, `None` without checks.
    pub uptime: Option<f64>,
    /// Incidents of the component's monitors opened that day.
    pub incidents: u32,
    /// The bar's class (`cell-up`, `cell-degraded`, `cell-down`, `cell-none`).
    #[serde(skip)]
    pub class: &'static str,
    /// The words a bar's tooltip says.
    #[serde(skip)]
    pub tip: String,
}

#[derive(Debug, Clone)]
pub struct ComponentView {
    pub name: String,
    pub description: String,
    pub state: ComponentState,
    /// Uptime over the page's history.
    pub uptime: Option<f64>,
    /// Average response time over the last 24 hours, when the page shows it.
    pub response_ms: Option<f64>,
    pub days: Vec<DayView>,
}

impl ComponentView {
    pub fn state_class(&self) -> &'static str {
        state_class(self.state)
    }
    pub fn uptime_text(&self) -> String {
        crate::web::format::percent(self.uptime)
    }
    pub fn response_text(&self) -> String {
        crate::web::format::millis(self.response_ms)
    }
}

#[derive(Debug, Clone)]
pub struct GroupView {
    pub name: Option<String>,
    pub components: Vec<ComponentView>,
}

/// Everything a page, its JSON and its badge say.
#[derive(Debug, Clone)]
pub struct PageView {
    pub slug: String,
    pub title: String,
    pub description: String,
    pub logo_url: Option<String>,
    pub accent_color: Option<String>,
    pub footer_text: String,
    pub hide_from_search: bool,
    pub show_response_times: bool,
    pub history_days: u16,
    pub overall: ComponentState,
    /// When this view was read, in the page's time zone (`2026-12-06 15:04 CET`).
    pub updated_local: String,
    pub updated_iso: String,
    pub groups: Vec<GroupView>,
    /// Open incident posts, newest first.
    pub open_posts: Vec<PostView>,
    /// Posts resolved within [`RECENT_POSTS`], newest first.
    pub recent_posts: Vec<PostView>,
    /// Maintenance under way or coming, soonest first.
    pub maintenance: Vec<MaintenanceView>,
    /// `2026-12`: this month in the page's zone, for the history link.
    pub month: String,
    pub time_zone: String,
    pub updated_at: Timestamp,
}

impl PageView {
    pub fn overall_class(&self) -> &'static str {
        state_class(self.overall)
    }
}

/// The dashboard's state classes, which give each state its colour and shape.
pub fn state_class(state: ComponentState) -> &'static str {
    match state {
        ComponentState::Operational => "up",
        ComponentState::Maintenance => "maintenance",
        ComponentState::Degraded => "degraded",
        ComponentState::PartialOutage | ComponentState::MajorOutage => "down",
    }
}

/// Reads what `page` shows at `now`.
pub async fn load(
    store: &dyn Store,
    page: &StatusPage,
    now: Timestamp,
) -> Result<PageView, StoreError> {
    let team = page.team_id;
    let spec = &page.spec;
    let ids = spec.monitor_ids();
    let listings = store.monitor_listings(team, &ids).await?;
    let windows = if listings.is_empty() {
        Vec::new()
    } else {
        store.maintenance_windows(team).await?
    };
    let states: HashMap<MonitorId, MonitorState> = listings
        .iter()
        .map(|listing| {
            let in_window = listing.state != MonitorState::Paused
                && open_window(&windows, &listing.monitor, now).is_some();
            let state = if in_window {
                MonitorState::Maintenance
            } else {
                listing.state
            };
            (listing.monitor.id, state)
        })
        .collect();
    let days = i64::from(spec.history_days);
    let today = now.0.div_euclid(DAY_MS) * DAY_MS;
    let first = today - (days - 1) * DAY_MS;
    // One series per monitor the page shows (never more than a page's 200 components hold).
    let mut daily: HashMap<MonitorId, HashMap<i64, UptimeSummary>> = HashMap::new();
    for id in states.keys() {
        let points = store
            .series(team, *id, SeriesStep::Day, Timestamp(first), now)
            .await?;
        daily.insert(
            *id,
            points.into_iter().map(|p| (p.start.0, p.summary)).collect(),
        );
    }
    let mut openings: HashMap<(MonitorId, i64), u32> = HashMap::new();
    for opening in store
        .incident_openings(team, &ids, Timestamp(first), now)
        .await?
    {
        let day = opening.opened_at.0.div_euclid(DAY_MS) * DAY_MS;
        *openings.entry((opening.monitor_id, day)).or_default() += 1;
    }
    let posts: Vec<PostView> = store
        .page_status_incidents(
            page.id,
            PagePosts::Current {
                resolved_since: now.minus(RECENT_POSTS),
            },
            PostReaders::Visitors,
        )
        .await?
        .iter()
        .map(|post| PostView::of(post, &spec.time_zone))
        .collect();
    let components: Vec<_> = spec.components().collect();
    let maintenance = posts::maintenance(&windows, &listings, &components, &spec.time_zone, now);
    let latency = if spec.show_response_times && !states.is_empty() {
        let known: Vec<MonitorId> = states.keys().copied().collect();
        store
            .uptime_many(
                team,
                &known,
                now.minus(std::time::Duration::from_secs(86_400)),
                now,
            )
            .await?
    } else {
        HashMap::new()
    };

    let groups = spec
        .groups
        .iter()
        .map(|group| GroupView {
            name: group.name.clone(),
            components: group
                .components
                .iter()
                .map(|component| {
                    // Only monitors still in the team count (a deleted one has left the page).
                    let monitors: Vec<MonitorId> = component
                        .monitors
                        .iter()
                        .copied()
                        .filter(|id| states.contains_key(id))
                        .collect();
                    let monitor_states: Vec<MonitorState> =
                        monitors.iter().map(|id| states[id]).collect();
                    let (mut checks, mut good) = (0u64, 0u64);
                    let days = (0..days)
                        .map(|index| {
                            let start = first + index * DAY_MS;
                            let (mut day_checks, mut day_good, mut incidents) = (0u64, 0u64, 0u32);
                            for id in &monitors {
                                if let Some(summary) = daily.get(id).and_then(|d| d.get(&start)) {
                                    day_checks += summary.checks;
                                    day_good += summary.up + summary.degraded;
                                }
                                incidents += openings.get(&(*id, start)).copied().unwrap_or(0);
                            }
                            checks += day_checks;
                            good += day_good;
                            day_view(start, day_checks, day_good, incidents)
                        })
                        .collect();
                    let response_ms = weighted_latency(&monitors, &latency);
                    ComponentView {
                        name: component.name.clone(),
                        description: component.description.clone(),
                        state: posts
                            .iter()
                            .filter_map(|post| post.state_of(&component.name))
                            .fold(ComponentState::of_monitors(&monitor_states), Ord::max),
                        uptime: ratio(checks, good),
                        response_ms,
                        days,
                    }
                })
                .collect(),
        })
        .collect::<Vec<_>>();
    let component_states: Vec<ComponentState> = groups
        .iter()
        .flat_map(|group| group.components.iter().map(|c| c.state))
        .collect();
    Ok(PageView {
        slug: spec.slug.as_str().to_owned(),
        title: spec.title.clone(),
        description: spec.description.clone(),
        logo_url: spec.logo_url.clone(),
        accent_color: spec.accent_color.clone(),
        footer_text: spec.footer_text.clone(),
        hide_from_search: spec.asks_noindex(),
        show_response_times: spec.show_response_times,
        history_days: spec.history_days,
        overall: ComponentState::of_page(&component_states),
        updated_local: local_time(now, &spec.time_zone),
        updated_iso: crate::web::format::iso(now),
        groups,
        month: posts::month_of(now, &spec.time_zone),
        time_zone: spec.time_zone.clone(),
        updated_at: now,
        maintenance,
        recent_posts: posts.iter().filter(|p| !p.open).cloned().collect(),
        open_posts: posts.into_iter().filter(|p| p.open).collect(),
    })
}

fn ratio(checks: u64, good: u64) -> Option<f64> {
    (checks > 0).then(|| good as f64 / checks as f64)
}

/// The average latency of a component's monitors, weighted by their checks.
pub(super) fn weighted_latency(
    monitors: &[MonitorId],
    latency: &HashMap<MonitorId, UptimeSummary>,
) -> Option<f64> {
    let (mut total, mut checks) = (0.0, 0u64);
    for summary in monitors.iter().filter_map(|id| latency.get(id)) {
        if let Some(avg) = summary.latency_avg_ms {
            total += avg * summary.checks as f64;
            checks += summary.checks;
        }
    }
    (checks > 0).then(|| total / checks as f64)
}

fn day_view(start: i64, checks: u64, good: u64, incidents: u32) -> DayView {
    let date = crate::web::format::iso(Timestamp(start))
        .split('T')
        .next()
        .unwrap_or_default()
        .to_owned();
    let uptime = ratio(checks, good);
    let class = match uptime {
        None => "cell-none",
        Some(u) if u >= 0.999 => "cell-up",
        Some(u) if u >= 0.99 => "cell-degraded",
        Some(_) => "cell-down",
    };
    let uptime_words = match uptime {
        None => "no data".to_owned(),
        Some(u) => format!("{} uptime", crate::web::format::percent(Some(u))),
    };
    let incident_words = match incidents {
        0 => "no incidents".to_owned(),
        1 => "1 incident".to_owned(),
        n => format!("{n} incidents"),
    };
    DayView {
        tip: format!("{date}: {uptime_words}, {incident_words}"),
        date,
        uptime,
        incidents,
        class,
    }
}

/// `2026-12-06 16:04 CET` in the page's zone (UTC if the zone is unknown to this build).
pub fn local_time(at: Timestamp, zone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(at.0)
        .map(|t| t.to_zoned(tz).strftime("%Y-%m-%d %H:%M %Z").to_string())
        .unwrap_or_else(|_| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_says_its_uptime_and_incidents() {
        let day = day_view(1_767_225_600_000, 1000, 995, 2);
        assert_eq!(day.date, "2026-01-01");
        assert_eq!(day.class, "cell-degraded");
        assert_eq!(day.tip, "2026-01-01: 99.50 % uptime, 2 incidents");
        assert_eq!(
            day_view(0, 0, 0, 0).tip,
            "1970-01-01: no data, no incidents"
        );
    }

    #[test]
    fn times_are_written_in_the_pages_zone() {
        let at = Timestamp(1_767_225_600_000);
        assert_eq!(local_time(at, "Europe/Paris"), "2026-01-01 01:00 CET");
        assert_eq!(local_time(at, "UTC"), "2026-01-01 00:00 UTC");
    }
}
