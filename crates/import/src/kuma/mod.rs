//! Import from an Uptime Kuma 1.23 or 2.x database: `read` takes the configuration tables
//! (read-only, bounded), `plan` maps them onto WatchTower's own parsers without touching any
//! store (what cannot be mapped is listed with why), and `apply` brings a team in line with the
//! plan. Applying again creates nothing new: monitors carry the key `kuma-<id>` and go through
//! the monitors-file apply (by key), channels and alert rules through the file's channel and
//! rule apply (by name), and maintenance windows and status pages are created only when the team
//! has none of that name or slug.

mod apply;
mod maintenance;
mod monitors;
mod notifications;
mod read;
mod status_pages;

pub use apply::{Action, Applied, ImportReport, Target, apply};
pub use monitors::{jsonata_path_to_jsonpath, key_of};
pub use read::{
    Cell, CellProblem, KumaDatabase, KumaVersion, MAX_TOTAL_BYTES, MAX_VALUE_BYTES, ReadError, Row,
    TableLimits, read,
};

use monitors::Unmapped;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use watchtower_alerting::alerting_file;
use watchtower_core::alert_rule::RuleTerms;
use watchtower_core::maintenance::MaintenanceSpec;
use watchtower_core::monitors_file::{ChannelEntry, RuleEntry};
use watchtower_core::{FieldError, MonitorKey, MonitorSpec};

/// What kind of Kuma object a line of the report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ObjectKind {
    Monitor,
    Notification,
    Tag,
    Maintenance,
    StatusPage,
    Table,
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectKind::Monitor => "monitor",
            ObjectKind::Notification => "notification",
            ObjectKind::Tag => "tag",
            ObjectKind::Maintenance => "maintenance",
            ObjectKind::StatusPage => "status page",
            ObjectKind::Table => "table",
        })
    }
}

/// One Kuma object, as the report names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub kind: ObjectKind,
    pub kuma_id: i64,
    pub name: String,
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name: String = self
            .name
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(80)
            .collect();
        write!(f, "{} {} \"{name}\"", self.kind, self.kuma_id)
    }
}

/// An object left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub object: Object,
    pub reason: String,
}

/// Something changed on the way in that the person importing should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub object: Object,
    pub note: String,
}

/// A maintenance window whose monitors are still Kuma ids.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowDraft {
    pub name: String,
    pub kuma_monitors: Vec<i64>,
    pub schedule: Value,
}

/// Everything a Kuma database maps to, before any store is touched.
#[derive(Debug, Clone)]
pub struct ImportPlan {
    pub version: KumaVersion,
    pub monitors: Vec<(Object, MonitorSpec)>,
    pub channels: Vec<(Object, ChannelEntry)>,
    /// One rule per monitor with notifications: its name is the monitor's key.
    pub rules: Vec<(Object, RuleEntry)>,
    pub windows: Vec<(Object, WindowDraft)>,
    pub pages: Vec<(Object, status_pages::PageDraft)>,
    /// Kuma monitor id to its name, for the components of status pages.
    pub monitor_names: HashMap<i64, String>,
    pub tags_used: usize,
    pub skipped: Vec<Skipped>,
    pub notes: Vec<Note>,
}

/// Kuma's default days before certificate expiry to warn at; WatchTower warns once, at the
/// largest.
const KUMA_DEFAULT_CERTIFICATE_DAYS: u32 = 21;

/// Maps every object of `db`; nothing here can fail as a whole, each object is mapped or named.
pub fn plan(db: &KumaDatabase) -> ImportPlan {
    let mut plan = ImportPlan {
        version: db.version,
        monitors: Vec::new(),
        channels: Vec::new(),
        rules: Vec::new(),
        windows: Vec::new(),
        pages: Vec::new(),
        monitor_names: HashMap::new(),
        tags_used: 0,
        skipped: Vec::new(),
        notes: Vec::new(),
    };
    for (table, read) in &db.truncated {
        plan.skipped.push(Skipped {
            object: Object {
                kind: ObjectKind::Table,
                kuma_id: 0,
                name: table.clone(),
            },
            reason: format!("only its first {read} rows were read"),
        });
    }
    let settings = Settings::of(db);
    let tags = tags_by_monitor(db, &mut plan);
    let channel_names = plan_channels(db, &mut plan);
    let mut notifications_of: HashMap<i64, Vec<i64>> = HashMap::new();
    for link in &db.monitor_notifications {
        if let (Ok(Some(monitor)), Ok(Some(notification))) =
            (link.int("monitor_id"), link.int("notification_id"))
        {
            notifications_of
                .entry(monitor)
                .or_default()
                .push(notification);
        }
    }
    for row in &db.monitors {
        let object = object_of(ObjectKind::Monitor, row, "name");
        let draft = match monitors::draft(
            row,
            tags.get(&object.kuma_id).map_or(&[][..], Vec::as_slice),
            settings.certificate_days,
        ) {
            Ok(draft) => draft,
            Err(unmapped) => {
                plan.skip(object, unmapped);
                continue;
            }
        };
        let spec = match MonitorSpec::parse(&draft.value, "") {
            Ok(spec) => spec,
            Err(problems) => {
                plan.refused(object, &problems);
                continue;
            }
        };
        for note in draft.notes {
            plan.note(&object, note);
        }
        plan.monitor_names.insert(object.kuma_id, spec.name.clone());
        let channels: Vec<String> = notifications_of
            .get(&object.kuma_id)
            .into_iter()
            .flatten()
            .filter_map(|id| channel_names.get(id).cloned())
            .collect();
        if !channels.is_empty() {
            plan_rule(
                row,
                &object,
                &spec,
                channels,
                draft.watches_certificate,
                &settings,
                &mut plan,
            );
        }
        plan.monitors.push((object, spec));
    }
    let pages = status_pages::PageIndex::of(db);
    plan_windows(db, &settings, &pages, &mut plan);
    for row in &db.status_pages {
        let object = object_of(ObjectKind::StatusPage, row, "title");
        match status_pages::draft(row, &pages) {
            Ok(draft) => {
                // Judged now with the monitors it will show, so a dry run finds every problem.
                let (value, _) = plan.resolve_page(&draft, &|id| Some(id));
                if let Err(problems) = watchtower_core::StatusPageSpec::parse(&value, "") {
                    plan.refused(object, &problems);
                    continue;
                }
                plan.pages.push((object, draft));
            }
            Err(unmapped) => plan.skip(object, unmapped),
        }
    }
    plan
}

impl ImportPlan {
    fn skip(&mut self, object: Object, unmapped: Unmapped) {
        let reason = match unmapped {
            Unmapped::Unsupported(reason) => reason,
            Unmapped::Malformed(problem) => format!("malformed row: {problem}"),
        };
        self.skipped.push(Skipped { object, reason });
    }

    fn refused(&mut self, object: Object, problems: &[FieldError]) {
        let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
        self.skipped.push(Skipped {
            object,
            reason: format!("WatchTower refuses it: {}", listed.join("; ")),
        });
    }

    fn note(&mut self, object: &Object, note: impl Into<String>) {
        self.notes.push(Note {
            object: object.clone(),
            note: note.into(),
        });
    }

    /// A page's JSON with each component's Kuma monitor replaced by the WatchTower id `id_of`
    /// gives (components of monitors not imported are left out, then empty groups), and what
    /// was left out.
    pub fn resolve_page(
        &self,
        draft: &status_pages::PageDraft,
        id_of: &dyn Fn(i64) -> Option<i64>,
    ) -> (Value, Vec<String>) {
        let mut value = draft.value.clone();
        let mut notes = draft.notes.clone();
        let mut groups = Vec::new();
        for group in value["groups"].as_array().cloned().unwrap_or_default() {
            let mut components = Vec::new();
            for component in group["components"].as_array().into_iter().flatten() {
                let Some(kuma) = component["kuma_monitor"].as_i64() else {
                    continue;
                };
                let imported = self
                    .monitor_names
                    .get(&kuma)
                    .and_then(|name| Some((name, id_of(kuma)?)));
                match imported {
                    Some((name, id)) => components.push(json!({
                        "name": name.chars().take(100).collect::<String>(),
                        "monitors": [id],
                    })),
                    None => notes.push(format!(
                        "its component for Kuma monitor {kuma} was left out (that monitor is not imported)"
                    )),
                }
            }
            if !components.is_empty() {
                let name = group["name"]
                    .as_str()
                    .filter(|n| !n.trim().is_empty())
                    .map(|n| n.chars().take(100).collect::<String>());
                groups.push(json!({"name": name, "components": components}));
            }
        }
        value["groups"] = Value::Array(groups);
        (value, notes)
    }
}

/// The Kuma settings the mapping needs.
struct Settings {
    certificate_days: u32,
    server_timezone: String,
}

impl Settings {
    fn of(db: &KumaDatabase) -> Self {
        let mut settings = Settings {
            certificate_days: KUMA_DEFAULT_CERTIFICATE_DAYS,
            server_timezone: "UTC".into(),
        };
        for row in &db.settings {
            let (Ok(Some(key)), Ok(Some(raw))) = (row.text("key"), row.text("value")) else {
                continue;
            };
            // Kuma stores each value as JSON text; older rows may hold the bare text.
            let value = serde_json::from_str::<Value>(raw).unwrap_or_else(|_| json!(raw));
            match key {
                "tlsExpiryNotifyDays" => {
                    if let Some(most) = value
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_u64)
                        .filter(|days| (1..=365).contains(days))
                        .max()
                    {
                        settings.certificate_days = most as u32;
                    }
                }
                "serverTimezone" => {
                    if let Some(zone) = value.as_str()
                        && jiff::tz::TimeZone::get(zone).is_ok()
                    {
                        settings.server_timezone = zone.to_owned();
                    }
                }
                _ => {}
            }
        }
        settings
    }
}

fn object_of(kind: ObjectKind, row: &Row, name_column: &str) -> Object {
    Object {
        kind,
        kuma_id: row.id().unwrap_or(0),
        name: row
            .text(name_column)
            .ok()
            .flatten()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// Each monitor's tags as WatchTower spells them: `name`, or `name:value` when Kuma gave one.
fn tags_by_monitor(db: &KumaDatabase, plan: &mut ImportPlan) -> HashMap<i64, Vec<String>> {
    let mut names = HashMap::new();
    for row in &db.tags {
        let object = object_of(ObjectKind::Tag, row, "name");
        match row.text("name") {
            Ok(Some(name)) => {
                names.insert(object.kuma_id, name.trim().to_owned());
            }
            Ok(None) => plan.skip(object, Unmapped::Unsupported("it has no name".into())),
            Err(problem) => plan.skip(object, Unmapped::Malformed(problem)),
        }
    }
    let mut by_monitor: HashMap<i64, Vec<String>> = HashMap::new();
    let mut used = BTreeMap::new();
    for link in &db.monitor_tags {
        let (Ok(Some(monitor)), Ok(Some(tag))) = (link.int("monitor_id"), link.int("tag_id"))
        else {
            continue;
        };
        let Some(name) = names.get(&tag) else {
            continue;
        };
        let spelled = match link.text("value") {
            Ok(Some(value)) => format!("{name}:{}", value.trim()),
            _ => name.clone(),
        };
        if spelled.is_empty() || spelled.chars().count() > 50 {
            plan.note(
                &Object {
                    kind: ObjectKind::Tag,
                    kuma_id: tag,
                    name: name.clone(),
                },
                format!(
                    "'{}' on monitor {monitor} is not 1 to 50 characters; left out",
                    monitors::shorten(&spelled)
                ),
            );
            continue;
        }
        let tags = by_monitor.entry(monitor).or_default();
        if !tags.contains(&spelled) {
            tags.push(spelled.clone());
            used.insert(spelled, ());
        }
    }
    plan.tags_used = used.len();
    by_monitor
}

/// Plans each notification as a channel; returns the channel name of each mapped one.
fn plan_channels(db: &KumaDatabase, plan: &mut ImportPlan) -> HashMap<i64, String> {
    let mut names: HashMap<i64, String> = HashMap::new();
    let mut taken: Vec<String> = Vec::new();
    for row in &db.notifications {
        let object = object_of(ObjectKind::Notification, row, "name");
        let draft = match notifications::draft(row) {
            Ok(draft) => draft,
            Err(unmapped) => {
                plan.skip(object, unmapped);
                continue;
            }
        };
        let base: String = match object.name.trim() {
            "" => format!("Kuma notification {}", object.kuma_id),
            name => name.chars().take(90).collect(),
        };
        // Kuma does not require distinct names; WatchTower's file apply finds channels by name.
        let name = if taken.contains(&base) {
            format!("{base} (kuma {})", object.kuma_id)
        } else {
            base
        };
        let mut settings = draft.settings;
        settings["name"] = json!(name);
        let problems = alerting_file::check_channel(&settings, "");
        if !problems.is_empty() {
            plan.refused(object, &problems);
            continue;
        }
        for note in draft.notes {
            plan.note(&object, note);
        }
        taken.push(name.clone());
        names.insert(object.kuma_id, name.clone());
        plan.channels.push((
            object,
            ChannelEntry {
                name,
                kind: draft.kind.to_owned(),
                settings,
            },
        ));
    }
    names
}

/// The alert rule that sends a monitor's alerts where Kuma sent them: DOWN and UP, reminders
/// every `resend_interval` checks while down, and certificate warnings when Kuma gave them.
fn plan_rule(
    row: &Row,
    object: &Object,
    spec: &MonitorSpec,
    channels: Vec<String>,
    watches_certificate: bool,
    settings: &Settings,
    plan: &mut ImportPlan,
) {
    let mut events = vec!["down".to_owned(), "up".to_owned()];
    let mut certificate_days = None;
    if watches_certificate {
        events.push("certificate_expiring".into());
        certificate_days = Some(i64::from(settings.certificate_days));
    }
    let remind = match row.int("resend_interval") {
        Ok(Some(every)) if every > 0 => {
            let seconds = (every as u64)
                .saturating_mul(spec.interval.get().as_secs())
                .max(60);
            Some(format!("{seconds}s"))
        }
        _ => None,
    };
    let terms = match RuleTerms::parse(&events, remind.as_deref(), &[], certificate_days, "") {
        Ok(terms) => terms,
        Err(problems) => {
            let listed: Vec<String> = problems.list.iter().map(ToString::to_string).collect();
            plan.note(
                object,
                format!("its notifications were not imported: {}", listed.join("; ")),
            );
            return;
        }
    };
    let Some(key) = spec.key.clone() else { return };
    plan.rules.push((
        object.clone(),
        RuleEntry {
            name: key.to_string(),
            monitor: Some(key),
            tag: None,
            channels,
            terms,
        },
    ));
}

fn plan_windows(
    db: &KumaDatabase,
    settings: &Settings,
    pages: &status_pages::PageIndex<'_>,
    plan: &mut ImportPlan,
) {
    // Each window's monitors, named directly or through the status pages it covers.
    let mut covered: HashMap<i64, Vec<i64>> = HashMap::new();
    for link in &db.monitor_maintenances {
        if let (Ok(Some(window)), Ok(Some(monitor))) =
            (link.int("maintenance_id"), link.int("monitor_id"))
        {
            covered.entry(window).or_default().push(monitor);
        }
    }
    for link in &db.maintenance_status_pages {
        if let (Ok(Some(window)), Ok(Some(page))) =
            (link.int("maintenance_id"), link.int("status_page_id"))
        {
            covered
                .entry(window)
                .or_default()
                .extend(pages.monitors_of_page(page));
        }
    }
    let mut taken: Vec<String> = Vec::new();
    for row in &db.maintenances {
        let object = object_of(ObjectKind::Maintenance, row, "title");
        let schedule = match maintenance::schedule(row, &settings.server_timezone) {
            Ok(schedule) => schedule,
            Err(unmapped) => {
                plan.skip(object, unmapped);
                continue;
            }
        };
        let mut kuma_monitors = covered.remove(&object.kuma_id).unwrap_or_default();
        kuma_monitors.sort_unstable();
        kuma_monitors.dedup();
        let base = match object.name.trim() {
            "" => format!("Kuma maintenance {}", object.kuma_id),
            name => name.to_owned(),
        };
        let name = if taken.contains(&base) {
            format!("{base} (kuma {})", object.kuma_id)
        } else {
            base
        };
        let mut value = schedule.clone();
        value["name"] = json!(name);
        value["monitors"] = json!([1]);
        if let Err(problems) = MaintenanceSpec::parse(&value, "") {
            plan.refused(object, &problems);
            continue;
        }
        taken.push(name.clone());
        plan.windows.push((
            object,
            WindowDraft {
                name,
                kuma_monitors,
                schedule,
            },
        ));
    }
}

/// The key of an imported monitor, parsed.
fn monitor_key(kuma_id: i64) -> Option<MonitorKey> {
    MonitorKey::parse(&key_of(kuma_id)).ok()
}
