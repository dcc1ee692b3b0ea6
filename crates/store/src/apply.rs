//! Deciding what `apply_monitors` does: which declared monitors are new, changed, unchanged or gone.
//! Both backends run this plan inside their own transaction.

use crate::error::{Conflict, StoreError};
use crate::model::ApplyReport;
use crate::rows::with_push_token;
use std::collections::{HashMap, HashSet};
use watchtower_core::{MonitorId, MonitorKey, MonitorKind, MonitorSpec};

/// A keyed monitor already stored in the team.
#[derive(Debug)]
pub(crate) struct Existing {
    pub id: MonitorId,
    pub key: MonitorKey,
    /// `None` when the stored spec cannot be decoded: a declared spec then always replaces it.
    pub spec: Option<MonitorSpec>,
    pub push_token: Option<String>,
}

/// The writes that bring the team to the declared set, and the report to return.
#[derive(Debug, Default)]
pub(crate) struct ApplyPlan {
    pub create: Vec<MonitorSpec>,
    pub update: Vec<(MonitorId, MonitorSpec)>,
    pub delete: Vec<MonitorId>,
    pub report: ApplyReport,
}

/// Plans an apply. Every declared spec needs a key, and keys must be unique in the set.
pub(crate) fn plan(
    existing: Vec<Existing>,
    specs: &[MonitorSpec],
    prune: bool,
) -> Result<ApplyPlan, StoreError> {
    let mut seen = HashSet::new();
    for spec in specs {
        let Some(key) = &spec.key else {
            return Err(StoreError::Conflict(Conflict::new(
                "key",
                format!(
                    "monitor '{}' has no key; applied monitors need one",
                    spec.name
                ),
            )));
        };
        if !seen.insert(key.clone()) {
            return Err(StoreError::Conflict(Conflict::new(
                "key",
                format!("key '{key}' is declared twice"),
            )));
        }
    }
    let mut by_key: HashMap<MonitorKey, Existing> = existing
        .into_iter()
        .map(|row| (row.key.clone(), row))
        .collect();
    let mut plan = ApplyPlan::default();
    for spec in specs {
        let key = spec.key.clone().expect("checked above");
        match by_key.remove(&key) {
            None => {
                plan.create.push(with_push_token(spec));
                plan.report.created.push(key);
            }
            Some(current) => {
                let wanted = keep_push_token(spec, current.push_token.as_deref());
                let same = current
                    .spec
                    .as_ref()
                    .is_some_and(|stored| stored.to_value() == wanted.to_value());
                if same {
                    plan.report.unchanged.push(key);
                } else {
                    plan.update.push((current.id, wanted));
                    plan.report.updated.push(key);
                }
            }
        }
    }
    let mut missing: Vec<Existing> = by_key.into_values().collect();
    missing.sort_by(|a, b| a.key.cmp(&b.key));
    for row in missing {
        if prune {
            plan.delete.push(row.id);
            plan.report.deleted.push(row.key);
        } else {
            plan.report.kept.push(row.key);
        }
    }
    Ok(plan)
}

/// A push monitor declared without a token keeps the token it has (its senders use it; read from
/// the row's `push_token` column, so a broken spec keeps it too), or gets a new one when it had
/// none.
pub(crate) fn keep_push_token(spec: &MonitorSpec, current_token: Option<&str>) -> MonitorSpec {
    let mut wanted = spec.clone();
    if let (MonitorKind::Push(push), Some(token)) = (&mut wanted.kind, current_token)
        && push.token.is_none()
    {
        push.token = Some(token.to_owned());
    }
    with_push_token(&wanted)
}
