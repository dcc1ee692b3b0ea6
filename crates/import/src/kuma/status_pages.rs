//! Kuma status pages as WatchTower pages: the page's words, its first custom domain, and its
//! groups of monitors, one component per monitor (WatchTower shows components, named by the
//! team, never a monitor's target).

use super::monitors::Unmapped;
use super::read::{KumaDatabase, Row};
use serde_json::{Value, json};
use std::collections::HashMap;

/// A page's JSON for `StatusPageSpec::parse`, whose components still name Kuma monitor ids.
#[derive(Debug, Clone, PartialEq)]
pub struct PageDraft {
    pub slug: String,
    pub value: Value,
    pub notes: Vec<String>,
}

/// The rows that hang off status pages, indexed once by page and group: a page's draft then costs
/// its own rows, not a scan of every table (the rows come from an untrusted file).
#[derive(Debug, Default)]
pub struct PageIndex<'a> {
    groups: HashMap<i64, Vec<&'a Row>>,
    members: HashMap<i64, Vec<(i64, i64)>>,
    domains: HashMap<i64, Vec<&'a Row>>,
}

impl<'a> PageIndex<'a> {
    pub fn of(db: &'a KumaDatabase) -> Self {
        let mut index = Self::default();
        for group in &db.groups {
            if let Ok(Some(page)) = group.int("status_page_id") {
                index.groups.entry(page).or_default().push(group);
            }
        }
        for link in &db.monitor_groups {
            if let (Ok(Some(group)), Ok(Some(monitor))) =
                (link.int("group_id"), link.int("monitor_id"))
            {
                let weight = link.int("weight").ok().flatten().unwrap_or(0);
                index
                    .members
                    .entry(group)
                    .or_default()
                    .push((weight, monitor));
            }
        }
        for row in &db.status_page_domains {
            if let Ok(Some(page)) = row.int("status_page_id") {
                index.domains.entry(page).or_default().push(row);
            }
        }
        index
    }

    /// The Kuma monitors a page shows, in no particular order.
    pub fn monitors_of_page(&self, page: i64) -> Vec<i64> {
        let mut monitors = Vec::new();
        for group in self.groups.get(&page).into_iter().flatten() {
            if let Ok(id) = group.id() {
                monitors.extend(self.members.get(&id).into_iter().flatten().map(|(_, m)| *m));
            }
        }
        monitors
    }
}

/// Maps one `status_page` row with its groups and domains.
pub fn draft(page: &Row, index: &PageIndex<'_>) -> Result<PageDraft, Unmapped> {
    let id = page.id()?;
    if page.text("password")?.is_some() {
        return Err(Unmapped::Unsupported(
            "it is protected by a password; WatchTower's status pages are public, so it was not \
             published"
                .into(),
        ));
    }
    if !page.flag("published")?.unwrap_or(true) {
        return Err(Unmapped::Unsupported("it is not published in Kuma".into()));
    }
    let mut notes = Vec::new();
    let slug = page.text("slug")?.unwrap_or_default().to_ascii_lowercase();
    let mut value = json!({
        "slug": slug,
        "title": clip(page.text("title")?.unwrap_or("Status"), 100, "title", &mut notes),
        "description": clip(page.text("description")?.unwrap_or(""), 1_000, "description", &mut notes),
        "footer_text": clip(page.text("footer_text")?.unwrap_or(""), 500, "footer", &mut notes),
        "hide_from_search": !page.flag("search_engine_index")?.unwrap_or(true),
    });
    if let Some(icon) = page.text("icon")?
        && (icon.starts_with("https://") || icon.starts_with("http://"))
    {
        value["logo_url"] = json!(icon);
    }
    if page.text("custom_css")?.is_some() {
        notes.push("its custom CSS was not imported".into());
    }
    let mut domains = Vec::new();
    for row in index.domains.get(&id).into_iter().flatten() {
        if let Some(domain) = row.text("domain")? {
            domains.push(domain.to_owned());
        }
    }
    if let Some(first) = domains.first() {
        value["custom_domain"] = json!(first);
    }
    if domains.len() > 1 {
        notes.push(format!(
            "it had {} domains; WatchTower serves a page on one, {}",
            domains.len(),
            domains[0]
        ));
    }
    let mut groups: Vec<(i64, i64, Value)> = Vec::new();
    for group in index.groups.get(&id).into_iter().flatten() {
        let group_id = group.id()?;
        let mut members = index.members.get(&group_id).cloned().unwrap_or_default();
        members.sort_unstable();
        let components: Vec<Value> = members
            .iter()
            .map(|(_, monitor)| json!({"kuma_monitor": monitor}))
            .collect();
        groups.push((
            group.int("weight")?.unwrap_or(0),
            group_id,
            json!({"name": group.text("name")?, "components": components}),
        ));
    }
    groups.sort_by_key(|(weight, id, _)| (*weight, *id));
    value["groups"] = Value::Array(groups.into_iter().map(|(_, _, group)| group).collect());
    Ok(PageDraft { slug, value, notes })
}

fn clip(text: &str, most: usize, what: &str, notes: &mut Vec<String>) -> String {
    if text.chars().count() <= most {
        return text.to_owned();
    }
    notes.push(format!(
        "its {what} was cut to {most} characters, WatchTower's most"
    ));
    text.chars().take(most).collect()
}
