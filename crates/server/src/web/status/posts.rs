//! What a public page says of incident posts and scheduled maintenance: each post with its
//! impact, affected components and timeline (newest update first), and the maintenance of the
//! page's monitors that is under way or starts within [`MAINTENANCE_AHEAD`]. A maintenance
//! window's own name is the team's and is never shown: visitors read "Scheduled maintenance"
//! and the components it touches.

use super::view::{local_time, state_class};
use std::time::Duration;
use watchtower_core::status_page::ComponentSpec;
use watchtower_core::{ComponentState, MonitorId, Timestamp};
use watchtower_store::{MaintenanceWindow, MonitorListing, StatusIncident};

/// How far ahead a page announces maintenance.
pub const MAINTENANCE_AHEAD: Duration = Duration::from_secs(7 * 86_400);
/// The most occurrences of one recurring window a page lists.
const OCCURRENCES_PER_WINDOW: usize = 3;

/// One affected component as a post states it.
#[derive(Debug, Clone)]
pub struct AffectedView {
    pub name: String,
    pub state: ComponentState,
}

impl AffectedView {
    pub fn state_class(&self) -> &'static str {
        state_class(self.state)
    }
}

/// One update of a post's timeline.
#[derive(Debug, Clone)]
pub struct UpdateView {
    pub status: &'static str,
    pub message: String,
    pub at: Timestamp,
    pub when_local: String,
    pub when_iso: String,
}

/// A post as visitors read it.
#[derive(Debug, Clone)]
pub struct PostView {
    pub id: i64,
    pub title: String,
    /// `SEV2`.
    pub impact: &'static str,
    pub impact_meaning: &'static str,
    /// The latest update's words (`Monitoring`).
    pub status: &'static str,
    pub open: bool,
    /// A draft only the team sees (visitors' reads never return one).
    pub draft: bool,
    /// Written by the page when a monitor went DOWN.
    pub automatic: bool,
    pub components: Vec<AffectedView>,
    /// Newest first.
    pub updates: Vec<UpdateView>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_local: String,
    pub created_iso: String,
    /// `2026-12` in the page's zone: the history page that lists it.
    pub month: String,
}

impl PostView {
    pub fn of(post: &StatusIncident, zone: &str) -> Self {
        let mut updates: Vec<UpdateView> = post
            .updates
            .iter()
            .map(|update| UpdateView {
                status: update.status.label(),
                message: update.message.clone(),
                at: update.created_at,
                when_local: local_time(update.created_at, zone),
                when_iso: crate::web::format::iso(update.created_at),
            })
            .collect();
        updates.reverse();
        Self {
            id: post.id.0,
            title: post.title.clone(),
            impact: post.impact.label(),
            impact_meaning: post.impact.meaning(),
            status: post.status.label(),
            open: post.is_open(),
            draft: !post.published,
            automatic: post.automatic,
            components: post
                .components
                .iter()
                .map(|c| AffectedView {
                    name: c.name.clone(),
                    state: c.state,
                })
                .collect(),
            updates,
            created_at: post.created_at,
            updated_at: post.updated_at,
            created_local: local_time(post.created_at, zone),
            created_iso: crate::web::format::iso(post.created_at),
            month: month_of(post.created_at, zone),
        }
    }

    /// The worst state this open post gives `component`, if it names it.
    pub fn state_of(&self, component: &str) -> Option<ComponentState> {
        self.components
            .iter()
            .filter(|c| self.open && c.name == component)
            .map(|c| c.state)
            .max()
    }
}

/// `2026-12`: the month `at` falls in, in the page's zone.
pub fn month_of(at: Timestamp, zone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    super::history::Month::of(at, &tz).to_string()
}

/// One occurrence of maintenance on the page.
#[derive(Debug, Clone)]
pub struct MaintenanceView {
    /// The affected components' names, joined.
    pub components: String,
    pub in_progress: bool,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub starts_local: String,
    pub ends_local: String,
    pub starts_iso: String,
    pub ends_iso: String,
}

/// The names of the components with a monitor `window` covers, in the page's order.
pub fn covered_components<'a>(
    window: &MaintenanceWindow,
    listings: &[MonitorListing],
    components: &[&'a ComponentSpec],
) -> Vec<&'a str> {
    let covered: Vec<MonitorId> = listings
        .iter()
        .filter(|l| window.spec.applies_to(l.monitor.id, &l.monitor.spec.tags))
        .map(|l| l.monitor.id)
        .collect();
    components
        .iter()
        .filter(|c| c.monitors.iter().any(|id| covered.contains(id)))
        .map(|c| c.name.as_str())
        .collect()
}

/// The maintenance under way at `now` or starting within [`MAINTENANCE_AHEAD`] that touches
/// the page's components, soonest first.
pub fn maintenance(
    windows: &[MaintenanceWindow],
    listings: &[MonitorListing],
    components: &[&ComponentSpec],
    zone: &str,
    now: Timestamp,
) -> Vec<MaintenanceView> {
    let horizon = now.plus(MAINTENANCE_AHEAD);
    let mut out = Vec::new();
    for window in windows {
        let names = covered_components(window, listings, components);
        if names.is_empty() {
            continue;
        }
        let mut occurrences = Vec::new();
        if let Some((starts, ends)) = window.spec.opening_at(now) {
            occurrences.push((starts, ends, true));
        }
        for (starts, ends) in window.spec.next_openings(now, OCCURRENCES_PER_WINDOW) {
            if starts <= horizon {
                occurrences.push((starts, ends, false));
            }
        }
        for (starts, ends, in_progress) in occurrences {
            out.push(MaintenanceView {
                components: names.join(", "),
                in_progress,
                starts_at: starts,
                ends_at: ends,
                starts_local: local_time(starts, zone),
                ends_local: local_time(ends, zone),
                starts_iso: crate::web::format::iso(starts),
                ends_iso: crate::web::format::iso(ends),
            });
        }
    }
    out.sort_by_key(|m| (m.starts_at, m.ends_at));
    out
}
