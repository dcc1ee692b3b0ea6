//! The channels and alert rules of a monitors file, applied to a team by name: a channel or rule
//! the team already has under that name is brought in line with the file, a new one is created,
//! and those the file does not mention are left alone (the API may have made them). Everything is
//! checked before the first write: settings by each channel's kind, references within the file,
//! and the plan. Every change is reported with the audit entry the API route making the same change
//! records, so the audit log reads the same whichever way a channel or rule changed.

use crate::ChannelSettings;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use watchtower_core::monitor::DependencyRef;
use watchtower_core::monitors_file::{ChannelEntry, MonitorsFile, RuleEntry};
use watchtower_core::{
    ChannelId, Demand, FieldError, MonitorKey, Plan, PlanLimitExceeded, PlanTable, TeamId,
    Timestamp,
};
use watchtower_store::{Actor, AlertRule, AuditEntry, NewRule, Store, StoreError};

/// Checks one channel of a file: `name` is the file's, the rest is the kind's settings and
/// the optional templates.
pub fn check_channel(item: &Value, prefix: &str) -> Vec<FieldError> {
    ChannelSettings::parse(&settings_of(item), prefix)
        .err()
        .unwrap_or_default()
}

/// The channel's settings as the API stores them: without its name.
fn settings_of(item: &Value) -> Value {
    let mut settings = item.clone();
    if let Value::Object(map) = &mut settings {
        map.remove("name");
    }
    settings
}

/// What applying did, by name.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AlertingReport {
    pub channels_created: Vec<String>,
    pub channels_updated: Vec<String>,
    pub channels_unchanged: Vec<String>,
    pub rules_created: Vec<String>,
    pub rules_replaced: Vec<String>,
    pub rules_unchanged: Vec<String>,
    /// The audit entries of the changes made, in order (not part of the answer).
    #[serde(skip)]
    pub audit: Vec<AuditedChange>,
}

/// One change, as the API route that makes it names it in the audit log (`channel.created`,
/// `channel.updated`, `alert_rule.created`, `alert_rule.deleted`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditedChange {
    pub action: &'static str,
    pub target: String,
    pub details: Value,
}

impl AuditedChange {
    fn new(action: &'static str, target: String, mut details: Value) -> Self {
        // Tells the reader of the log the change came from a monitors file, not the route.
        details["via"] = json!("monitors_file");
        Self {
            action,
            target,
            details,
        }
    }
}

/// Records `changes` in `team`'s audit log as `actor` (for callers without a `TeamAccess`, such
/// as `serve --config`). A failure to record is logged: the changes have been made.
pub async fn record_audit(
    store: &dyn Store,
    team: TeamId,
    actor: &Actor,
    changes: &[AuditedChange],
    at: Timestamp,
) {
    for change in changes {
        let entry = AuditEntry {
            team_id: team,
            actor: actor.clone(),
            action: change.action.to_owned(),
            target: change.target.clone(),
            details: change.details.clone(),
            at,
        };
        if let Err(error) = store.record_audit(&entry).await {
            tracing::error!(%error, action = change.action, "cannot record audit entry");
        }
    }
}

/// Whether the team's plan allows the file's channel kinds and its number of rules.
pub async fn check_plan(
    store: &dyn Store,
    plans: &PlanTable,
    plan: Plan,
    team: TeamId,
    file: &MonitorsFile,
) -> Result<(), PlanLimitError> {
    // Parsing checked every channel; these parse.
    let configs = file
        .channels
        .iter()
        .filter_map(|channel| ChannelSettings::parse(&settings_of(&channel.settings), "").ok());
    for config in configs {
        plans
            .check(plan, Demand::ChannelKind(config.config.kind()))
            .map_err(PlanLimitError::Exceeded)?;
    }
    let existing = store.rules(team).await.map_err(PlanLimitError::Store)?;
    let new = file
        .alert_rules
        .iter()
        .filter(|rule| !existing.iter().any(|e| e.name == rule.name))
        .count();
    plans
        .check(plan, Demand::AlertRules((existing.len() + new) as u32))
        .map_err(PlanLimitError::Exceeded)
}

#[derive(Debug)]
pub enum PlanLimitError {
    Exceeded(PlanLimitExceeded),
    Store(StoreError),
}

/// Applies the file's channels, then its rules (after its monitors, whose keys rules name).
pub async fn apply(
    store: &dyn Store,
    team: TeamId,
    file: &MonitorsFile,
    now: Timestamp,
) -> Result<AlertingReport, StoreError> {
    let mut report = AlertingReport::default();
    if file.channels.is_empty() && file.alert_rules.is_empty() {
        return Ok(report);
    }
    let existing = store.channels(team).await?;
    let mut channel_ids: HashMap<&str, ChannelId> = HashMap::new();
    for ChannelEntry {
        name,
        kind,
        settings,
    } in &file.channels
    {
        let config = ChannelSettings::parse(&settings_of(settings), "")
            .map_err(|problems| StoreError::Corrupt(format!("{problems:?}")))?
            .to_value();
        let id = match existing.iter().find(|c| &c.name == name) {
            Some(found) if found.kind == *kind && found.config == config => {
                report.channels_unchanged.push(name.clone());
                found.id
            }
            Some(found) if found.kind == *kind => {
                store
                    .update_channel(team, found.id, name, &config, now)
                    .await?;
                report.channels_updated.push(name.clone());
                report.audit.push(AuditedChange::new(
                    "channel.updated",
                    format!("channel:{}", found.id),
                    json!({"name": name}),
                ));
                found.id
            }
            // Another kind under the same name: a new channel; the old one's rules keep it.
            _ => {
                let created = store.create_channel(team, name, kind, &config, now).await?;
                report.channels_created.push(name.clone());
                report.audit.push(AuditedChange::new(
                    "channel.created",
                    format!("channel:{}", created.id),
                    json!({"name": name, "kind": kind}),
                ));
                created.id
            }
        };
        channel_ids.insert(name, id);
    }

    let monitor_ids = monitor_ids(store, team, &file.alert_rules).await?;
    let existing = store.rules(team).await?;
    for entry in &file.alert_rules {
        let wanted = new_rule(team, entry, &channel_ids, &monitor_ids, now);
        match existing.iter().find(|r| r.name == entry.name) {
            Some(found) if same_rule(found, &wanted) => {
                report.rules_unchanged.push(entry.name.clone());
            }
            // The API has no route that changes a rule: replacing is its delete and create.
            Some(found) => {
                store.delete_rule(team, found.id).await?;
                report.audit.push(AuditedChange::new(
                    "alert_rule.deleted",
                    format!("alert_rule:{}", found.id),
                    json!({"name": found.name}),
                ));
                let created = store.create_rule(&wanted).await?;
                report.rules_replaced.push(entry.name.clone());
                report.audit.push(AuditedChange::new(
                    "alert_rule.created",
                    format!("alert_rule:{}", created.id),
                    json!({"name": created.name, "replaces": found.id}),
                ));
            }
            None => {
                let created = store.create_rule(&wanted).await?;
                report.rules_created.push(entry.name.clone());
                report.audit.push(AuditedChange::new(
                    "alert_rule.created",
                    format!("alert_rule:{}", created.id),
                    json!({"name": created.name}),
                ));
            }
        }
    }
    Ok(report)
}

/// The ids of the monitors the file's rules name by key (only those: a team may have 100,000).
async fn monitor_ids(
    store: &dyn Store,
    team: TeamId,
    rules: &[RuleEntry],
) -> Result<HashMap<MonitorKey, watchtower_core::MonitorId>, StoreError> {
    let mut ids = HashMap::new();
    for key in rules.iter().filter_map(|rule| rule.monitor.as_ref()) {
        if ids.contains_key(key) {
            continue;
        }
        let named = [DependencyRef::Key(key.clone())];
        if let Some(found) = store.dependency_states(team, &named).await?.first() {
            ids.insert(key.clone(), found.id);
        }
    }
    Ok(ids)
}

fn new_rule(
    team: TeamId,
    entry: &RuleEntry,
    channel_ids: &HashMap<&str, ChannelId>,
    monitor_ids: &HashMap<MonitorKey, watchtower_core::MonitorId>,
    now: Timestamp,
) -> NewRule {
    NewRule {
        team_id: team,
        name: entry.name.clone(),
        monitor_id: entry
            .monitor
            .as_ref()
            .and_then(|key| monitor_ids.get(key).copied()),
        tag: entry.tag.clone(),
        events: entry.terms.events.clone(),
        channel_ids: entry
            .channels
            .iter()
            .filter_map(|name| channel_ids.get(name.as_str()).copied())
            .collect(),
        remind_every: entry.terms.remind_every,
        escalation_policy_id: None,
        causes: entry.terms.causes.clone(),
        certificate_days: entry.terms.certificate_days,
        created_at: now,
    }
}

fn same_rule(found: &AlertRule, wanted: &NewRule) -> bool {
    found.monitor_id == wanted.monitor_id
        && found.tag == wanted.tag
        && found.events == wanted.events
        && found.channel_ids == wanted.channel_ids
        && found.remind_every_ms == wanted.remind_every.map(|every| every.as_millis() as i64)
        && found.escalation_policy_id.is_none()
        && found.causes == wanted.causes
        && found.certificate_days == wanted.certificate_days
}
