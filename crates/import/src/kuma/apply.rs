//! Applying an import plan to a team: the team's plan limits first (what does not fit is
//! reported, the rest goes in), then monitors through the monitors-file apply (by key), channels
//! and alert rules through the file's channel and rule apply (by name), then maintenance windows
//! and status pages created only where the team has none of that name or slug. A dry run makes
//! the same decisions and writes nothing.

use super::{ImportPlan, Note, Object, Skipped, monitor_key};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use watchtower_alerting::alerting_file::{self, AuditedChange};
use watchtower_core::maintenance::MaintenanceSpec;
use watchtower_core::monitors_file::MonitorsFile;
use watchtower_core::{
    Demand, MonitorId, MonitorSpec, PlanTable, StatusPageSpec, TeamId, Timestamp,
};
use watchtower_store::{Actor, PageRequest, Store, StoreError, Team};

/// Where the import goes.
pub struct Target<'a> {
    pub store: &'a dyn Store,
    pub team: &'a Team,
    pub plans: &'a PlanTable,
    pub dry_run: bool,
    /// Who the audit log names: the command and the file.
    pub actor_label: String,
}

/// What happened (or, in a dry run, would happen) to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Created,
    Updated,
    Unchanged,
    /// Dry run: not in the team yet.
    WouldCreate,
    /// Dry run: in the team already (brought in line with Kuma, or left as it is).
    WouldUpdateOrKeep,
    /// A window or page of that name or slug is in the team already; left as it is.
    AlreadyPresent,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Unchanged => "unchanged",
            Action::WouldCreate => "would create",
            Action::WouldUpdateOrKeep => "exists, would update or keep",
            Action::AlreadyPresent => "already present",
        }
    }
}

/// One imported object and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub object: Object,
    /// The WatchTower name: monitor key, channel, rule or window name, page slug.
    pub watchtower: String,
    pub action: Action,
}

/// The whole outcome, for the command to print.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub monitors: Vec<Applied>,
    pub channels: Vec<Applied>,
    pub rules: Vec<Applied>,
    pub windows: Vec<Applied>,
    pub pages: Vec<Applied>,
    pub tags_used: usize,
    pub skipped: Vec<Skipped>,
    pub notes: Vec<Note>,
}

impl ImportReport {
    /// How many objects were created (or would be, in a dry run).
    pub fn created(&self) -> usize {
        [
            &self.monitors,
            &self.channels,
            &self.rules,
            &self.windows,
            &self.pages,
        ]
        .into_iter()
        .flatten()
        .filter(|a| matches!(a.action, Action::Created | Action::WouldCreate))
        .count()
    }
}

/// Applies `plan` to the target team (or, in a dry run, decides what applying would do).
pub async fn apply(target: &Target<'_>, plan: ImportPlan) -> Result<ImportReport, StoreError> {
    let team = target.team;
    let mut report = ImportReport {
        tags_used: plan.tags_used,
        skipped: plan.skipped.clone(),
        notes: plan.notes.clone(),
        ..ImportReport::default()
    };
    let actor = Actor {
        user_id: None,
        api_key_id: None,
        label: target.actor_label.clone(),
    };
    let now = Timestamp::now();
    let mut audit: Vec<AuditedChange> = Vec::new();

    // Monitors: what the plan allows, then one apply by key.
    let existing = all_monitors(target.store, team.id).await?;
    let planned_keys: HashSet<String> = plan
        .monitors
        .iter()
        .filter_map(|(_, spec)| spec.key.as_ref().map(ToString::to_string))
        .collect();
    let mut active = existing
        .iter()
        .filter(|(key, spec)| {
            !spec.paused && key.as_ref().is_none_or(|key| !planned_keys.contains(key))
        })
        .count();
    let mut fitting: Vec<(Object, MonitorSpec)> = Vec::new();
    for (object, spec) in &plan.monitors {
        if let Err(exceeded) = target.plans.check_monitor(team.plan, spec) {
            let reasons: Vec<String> = exceeded
                .iter()
                .map(watchtower_core::PlanLimitExceeded::message)
                .collect();
            report.skipped.push(over_plan(object, &reasons.join(" ")));
            continue;
        }
        if !spec.paused {
            let wanted = Demand::Monitors(u32::try_from(active + 1).unwrap_or(u32::MAX));
            if let Err(exceeded) = target.plans.check(team.plan, wanted) {
                report.skipped.push(over_plan(object, &exceeded.message()));
                continue;
            }
            active += 1;
        }
        fitting.push((object.clone(), spec.clone()));
    }
    let stored_keys: HashSet<String> = existing.iter().filter_map(|(key, _)| key.clone()).collect();
    let specs: Vec<MonitorSpec> = fitting.iter().map(|(_, spec)| spec.clone()).collect();
    let applied = if target.dry_run {
        None
    } else {
        let applied = target
            .store
            .apply_monitors(team.id, &specs, false, now)
            .await?;
        audit.push(AuditedChange {
            action: "monitors.applied",
            target: format!("team:{}", team.id),
            details: json!({
                "created": applied.created,
                "updated": applied.updated,
                "deleted": applied.deleted,
                "via": "import kuma",
            }),
        });
        Some(applied)
    };
    for (object, spec) in &fitting {
        let key = spec
            .key
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let action = match &applied {
            None if stored_keys.contains(&key) => Action::WouldUpdateOrKeep,
            None => Action::WouldCreate,
            Some(done) if done.created.iter().any(|k| k.as_str() == key) => Action::Created,
            Some(done) if done.updated.iter().any(|k| k.as_str() == key) => Action::Updated,
            Some(_) => Action::Unchanged,
        };
        report.monitors.push(Applied {
            object: object.clone(),
            watchtower: key,
            action,
        });
    }
    // The WatchTower id of each imported Kuma monitor (a dry run has ids only for stored ones;
    // the others get a stand-in so windows and pages are still judged).
    let ids: HashMap<String, MonitorId> = all_ids(target.store, team.id).await?;
    let imported: HashSet<i64> = fitting.iter().map(|(object, _)| object.kuma_id).collect();
    let id_of = |kuma: i64| -> Option<i64> {
        if !imported.contains(&kuma) {
            return None;
        }
        let key = monitor_key(kuma)?;
        match ids.get(key.as_str()) {
            Some(id) => Some(id.0),
            None if target.dry_run => Some(i64::MAX),
            None => None,
        }
    };

    // Channels and alert rules, through the monitors file's apply by name.
    let mut channels = Vec::new();
    let mut channel_objects = Vec::new();
    for (object, entry) in &plan.channels {
        let settings =
            watchtower_alerting::ChannelSettings::parse(&without_name(&entry.settings), "");
        if let Ok(settings) = settings
            && let Err(exceeded) = target
                .plans
                .check(team.plan, Demand::ChannelKind(settings.config.kind()))
        {
            report.skipped.push(over_plan(object, &exceeded.message()));
            continue;
        }
        channels.push(entry.clone());
        channel_objects.push(object.clone());
    }
    let channel_names: HashSet<&str> = channels.iter().map(|c| c.name.as_str()).collect();
    let existing_rules = target.store.rules(team.id).await?;
    let existing_rule_names: HashSet<&str> =
        existing_rules.iter().map(|r| r.name.as_str()).collect();
    let mut rule_count = existing_rules.len();
    let mut rules = Vec::new();
    let mut rule_objects = Vec::new();
    for (object, rule) in &plan.rules {
        if !imported.contains(&object.kuma_id) {
            continue;
        }
        let mut rule = rule.clone();
        rule.channels
            .retain(|name| channel_names.contains(name.as_str()));
        if rule.channels.is_empty() {
            continue;
        }
        if !existing_rule_names.contains(rule.name.as_str()) {
            let wanted = Demand::AlertRules(u32::try_from(rule_count + 1).unwrap_or(u32::MAX));
            if let Err(exceeded) = target.plans.check(team.plan, wanted) {
                report.skipped.push(Skipped {
                    object: object.clone(),
                    reason: format!(
                        "its alert rule does not fit the team's plan: {}",
                        exceeded.message()
                    ),
                });
                continue;
            }
            rule_count += 1;
        }
        rules.push(rule);
        rule_objects.push(object.clone());
    }
    let file = MonitorsFile {
        prune: false,
        monitors: Vec::new(),
        channels,
        alert_rules: rules,
        status_pages: Vec::new(),
    };
    if target.dry_run {
        let stored = target.store.channels(team.id).await?;
        for (object, entry) in channel_objects.iter().zip(&file.channels) {
            let exists = stored
                .iter()
                .any(|c| c.name == entry.name && c.kind == entry.kind);
            report.channels.push(dry(object, &entry.name, exists));
        }
        for (object, rule) in rule_objects.iter().zip(&file.alert_rules) {
            let exists = existing_rule_names.contains(rule.name.as_str());
            report.rules.push(dry(object, &rule.name, exists));
        }
    } else {
        let done = alerting_file::apply(target.store, team.id, &file, now).await?;
        let set = |list: &[String]| -> HashSet<String> { list.iter().cloned().collect() };
        let (channels_created, channels_updated) =
            (set(&done.channels_created), set(&done.channels_updated));
        let (rules_created, rules_replaced) = (set(&done.rules_created), set(&done.rules_replaced));
        for (object, entry) in channel_objects.iter().zip(&file.channels) {
            let action = outcome(&entry.name, &channels_created, &channels_updated);
            report
                .channels
                .push(applied_as(object, &entry.name, action));
        }
        for (object, rule) in rule_objects.iter().zip(&file.alert_rules) {
            let action = outcome(&rule.name, &rules_created, &rules_replaced);
            report.rules.push(applied_as(object, &rule.name, action));
        }
        audit.extend(done.audit);
    }

    // Maintenance windows, by name.
    let windows = target.store.maintenance_windows(team.id).await?;
    for (object, window) in &plan.windows {
        if windows.iter().any(|w| w.spec.name == window.name) {
            report
                .windows
                .push(applied_as(object, &window.name, Action::AlreadyPresent));
            continue;
        }
        let monitors: Vec<i64> = window
            .kuma_monitors
            .iter()
            .filter_map(|kuma| id_of(*kuma))
            .collect();
        if monitors.is_empty() {
            // An empty list would cover every monitor of the team.
            report.skipped.push(Skipped {
                object: object.clone(),
                reason: "it covers no imported monitor".into(),
            });
            continue;
        }
        let mut value = window.schedule.clone();
        value["name"] = json!(window.name);
        value["monitors"] = json!(monitors);
        let spec = match MaintenanceSpec::parse(&value, "") {
            Ok(spec) => spec,
            Err(problems) => {
                report.skipped.push(refused(object, &problems));
                continue;
            }
        };
        if target.dry_run {
            report
                .windows
                .push(applied_as(object, &window.name, Action::WouldCreate));
            continue;
        }
        let created = target.store.create_maintenance(team.id, &spec, now).await?;
        audit.push(AuditedChange {
            action: "maintenance.created",
            target: format!("maintenance:{}", created.id),
            details: json!({"name": spec.name, "via": "import kuma"}),
        });
        report
            .windows
            .push(applied_as(object, &window.name, Action::Created));
    }

    // Status pages, by slug within the team.
    let pages = target.store.list_status_pages(team.id).await?;
    let mut page_count = pages.len();
    for (object, draft) in &plan.pages {
        if pages.iter().any(|p| p.spec.slug.as_str() == draft.slug) {
            report
                .pages
                .push(applied_as(object, &draft.slug, Action::AlreadyPresent));
            continue;
        }
        let wanted = Demand::StatusPages(u32::try_from(page_count + 1).unwrap_or(u32::MAX));
        if let Err(exceeded) = target.plans.check(team.plan, wanted) {
            report.skipped.push(over_plan(object, &exceeded.message()));
            continue;
        }
        let (mut value, notes) = plan.resolve_page(draft, &id_of);
        for note in notes {
            report.notes.push(Note {
                object: object.clone(),
                note,
            });
        }
        if value.get("custom_domain").is_some()
            && let Err(exceeded) = target.plans.check(team.plan, Demand::CustomStatusDomain)
        {
            report.notes.push(Note {
                object: object.clone(),
                note: format!("its custom domain was left out: {}", exceeded.message()),
            });
            if let Some(map) = value.as_object_mut() {
                map.remove("custom_domain");
            }
        }
        let spec = match StatusPageSpec::parse(&value, "") {
            Ok(spec) => spec,
            Err(problems) => {
                report.skipped.push(refused(object, &problems));
                continue;
            }
        };
        if target.dry_run {
            report
                .pages
                .push(applied_as(object, &draft.slug, Action::WouldCreate));
            page_count += 1;
            continue;
        }
        match target.store.create_status_page(team.id, &spec, now).await {
            Ok(created) => {
                audit.push(AuditedChange {
                    action: "status_page.created",
                    target: format!("status_page:{}", created.id),
                    details: json!({"slug": draft.slug, "via": "import kuma"}),
                });
                page_count += 1;
                report
                    .pages
                    .push(applied_as(object, &draft.slug, Action::Created));
            }
            Err(StoreError::Conflict(conflict)) => report.skipped.push(Skipped {
                object: object.clone(),
                reason: format!("WatchTower refuses it: {conflict}"),
            }),
            Err(error) => return Err(error),
        }
    }
    alerting_file::record_audit(target.store, team.id, &actor, &audit, now).await;
    Ok(report)
}

fn without_name(settings: &serde_json::Value) -> serde_json::Value {
    let mut settings = settings.clone();
    if let Some(map) = settings.as_object_mut() {
        map.remove("name");
    }
    settings
}

fn over_plan(object: &Object, message: &str) -> Skipped {
    Skipped {
        object: object.clone(),
        reason: format!("it does not fit the team's plan: {message}"),
    }
}

fn refused(object: &Object, problems: &[watchtower_core::FieldError]) -> Skipped {
    let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
    Skipped {
        object: object.clone(),
        reason: format!("WatchTower refuses it: {}", listed.join("; ")),
    }
}

fn applied_as(object: &Object, name: &str, action: Action) -> Applied {
    Applied {
        object: object.clone(),
        watchtower: name.to_owned(),
        action,
    }
}

fn dry(object: &Object, name: &str, exists: bool) -> Applied {
    let action = if exists {
        Action::WouldUpdateOrKeep
    } else {
        Action::WouldCreate
    };
    applied_as(object, name, action)
}

fn outcome(name: &str, created: &HashSet<String>, changed: &HashSet<String>) -> Action {
    if created.contains(name) {
        Action::Created
    } else if changed.contains(name) {
        Action::Updated
    } else {
        Action::Unchanged
    }
}

/// Every monitor of the team (broken ones by key only, counted as active): key and spec.
async fn all_monitors(
    store: &dyn Store,
    team: TeamId,
) -> Result<Vec<(Option<String>, MonitorSpec)>, StoreError> {
    let mut found = Vec::new();
    let mut page = PageRequest {
        limit: 500,
        ..PageRequest::default()
    };
    loop {
        let listings = store.list_monitors(team, &page).await?;
        let Some(last) = listings.last() else { break };
        page.after = Some(last.monitor.id);
        found.extend(listings.into_iter().map(|listing| {
            let spec = listing.monitor.spec;
            (spec.key.as_ref().map(ToString::to_string), spec)
        }));
    }
    Ok(found)
}

/// The id of every keyed monitor of the team.
async fn all_ids(
    store: &dyn Store,
    team: TeamId,
) -> Result<HashMap<String, MonitorId>, StoreError> {
    let mut ids = HashMap::new();
    let mut page = PageRequest {
        limit: 500,
        ..PageRequest::default()
    };
    loop {
        let listings = store.list_monitors(team, &page).await?;
        let Some(last) = listings.last() else { break };
        page.after = Some(last.monitor.id);
        for listing in listings {
            if let Some(key) = &listing.monitor.spec.key {
                ids.insert(key.to_string(), listing.monitor.id);
            }
        }
    }
    Ok(ids)
}
