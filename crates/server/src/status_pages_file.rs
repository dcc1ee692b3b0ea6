//! The status pages of a monitors file, applied to a team by slug: a page the team has under that
//! slug is brought in line with the file, a new one is created, and pages the file does not
//! mention are left alone (the API or the dashboard may have made them). Components name the
//! file's monitors by key; the keys become ids after the file's monitors are applied. Used by
//! `PUT /api/monitors/yaml` and by `serve --config` (at start and on SIGHUP).
//!
//! A password page may carry its password in the file (best as a `${ENV}` reference). It is
//! hashed like a user's; when it is the password already stored, the stored hash is kept, so
//! applying the same file again does not sign every visitor out.

use crate::auth::password::{hash_password, verify_password};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use watchtower_alerting::alerting_file::AuditedChange;
use watchtower_core::monitor::DependencyRef;
use watchtower_core::monitors_file::{MonitorsFile, StatusPageEntry};
use watchtower_core::{
    Demand, FieldError, MonitorId, MonitorKey, PageSecret, PageVisibility, Plan, PlanLimitExceeded,
    PlanTable, StatusPageSpec, TeamId, Timestamp,
};
use watchtower_store::{PublicPageKey, StatusPage, Store, StoreError};

/// What applying did, by slug.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StatusPagesReport {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    /// The audit entries of the changes made, in order (not part of the answer).
    #[serde(skip)]
    pub audit: Vec<AuditedChange>,
}

/// Why a file's pages cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum StatusPagesFileError {
    /// Problems with a page as this team would have it, each with its path in the file.
    #[error("{}", .0.iter().map(|p| format!("{}: {}", p.field, p.problem)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Plan(PlanLimitExceeded),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the password could not be hashed: {0}")]
    Hash(String),
}

/// Checks what needs no monitor ids before anything is written: the plan (when `limits` gives
/// one; `serve --config` applies the operator's file without) allows the pages the team will
/// have and their custom domains, no slug is another team's, and a password page has a
/// password in the file or stored.
pub async fn check(
    store: &dyn Store,
    limits: Option<(&PlanTable, Plan)>,
    team: TeamId,
    file: &MonitorsFile,
) -> Result<(), StatusPagesFileError> {
    let allowed = |demand: Demand| match limits {
        Some((plans, plan)) => plans
            .check(plan, demand)
            .map_err(StatusPagesFileError::Plan),
        None => Ok(()),
    };
    if file.status_pages.is_empty() {
        return Ok(());
    }
    let existing = store.list_status_pages(team).await?;
    let new = file
        .status_pages
        .iter()
        .filter(|entry| !existing.iter().any(|p| p.spec.slug.as_str() == entry.slug))
        .count();
    allowed(Demand::StatusPages(
        u32::try_from(existing.len() + new).unwrap_or(u32::MAX),
    ))?;
    let mut problems = Vec::new();
    for entry in &file.status_pages {
        // Parsing checked each page with stand-in ids; any id does here.
        let spec = entry
            .spec(|_| Some(MonitorId(1)))
            .map_err(StatusPagesFileError::Invalid)?;
        if spec.custom_domain.is_some() {
            allowed(Demand::CustomStatusDomain)?;
        }
        let stored = existing.iter().find(|p| p.spec.slug.as_str() == entry.slug);
        if spec.visibility == PageVisibility::Password
            && spec.password.is_none()
            && stored.is_none_or(|page| page.spec.password_hash.is_none())
        {
            problems.push(FieldError {
                field: format!("{}.password", entry.path),
                problem: "is required when visibility is password and the page has none yet".into(),
            });
        }
        let taken = match stored {
            Some(_) => false,
            None => store
                .public_status_page(PublicPageKey::Slug(&entry.slug))
                .await?
                .is_some_and(|page| page.team_id != team),
        };
        if taken {
            problems.push(FieldError {
                field: format!("{}.slug", entry.path),
                problem: format!("'{}' is another team's page", entry.slug),
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StatusPagesFileError::Invalid(problems))
    }
}

/// Applies the file's status pages (after its monitors, whose keys components name).
pub async fn apply(
    store: &dyn Store,
    team: TeamId,
    file: &MonitorsFile,
    now: Timestamp,
) -> Result<StatusPagesReport, StatusPagesFileError> {
    let mut report = StatusPagesReport::default();
    if file.status_pages.is_empty() {
        return Ok(report);
    }
    let ids = monitor_ids(store, team, file).await?;
    let existing = store.list_status_pages(team).await?;
    for entry in &file.status_pages {
        let mut spec = entry
            .spec(|key| ids.get(key).copied())
            .map_err(StatusPagesFileError::Invalid)?;
        let stored = existing.iter().find(|p| p.spec.slug.as_str() == entry.slug);
        settle_password(&mut spec, stored).await?;
        let slug = entry.slug.clone();
        match stored {
            Some(page) if same_page(&page.spec, &spec) => report.unchanged.push(slug),
            Some(page) => {
                store.update_status_page(team, page.id, &spec, now).await?;
                report.audit.push(AuditedChange {
                    action: "status_page.updated",
                    target: format!("status_page:{}", page.id),
                    details: json!({"slug": slug, "via": "monitors_file"}),
                });
                report.updated.push(slug);
            }
            None => {
                let page = store.create_status_page(team, &spec, now).await?;
                report.audit.push(AuditedChange {
                    action: "status_page.created",
                    target: format!("status_page:{}", page.id),
                    details: json!({"slug": slug, "via": "monitors_file"}),
                });
                report.created.push(slug);
            }
        }
    }
    Ok(report)
}

/// Whether the stored page already is what the file asks for (the password settled).
fn same_page(stored: &StatusPageSpec, wanted: &StatusPageSpec) -> bool {
    let mut stored = stored.clone();
    stored.password = None;
    stored == *wanted
}

/// The stored hash when the file's password is the stored one (or the file gives none), a new
/// hash for a new password, no hash for a page that is not a password page.
async fn settle_password(
    spec: &mut StatusPageSpec,
    stored: Option<&StatusPage>,
) -> Result<(), StatusPagesFileError> {
    let stored_hash = stored.and_then(|page| page.spec.password_hash.clone());
    let password = spec.password.take();
    spec.password_hash = None;
    if spec.visibility != PageVisibility::Password {
        return Ok(());
    }
    spec.password_hash = match (password, stored_hash) {
        (None, stored) => stored,
        (Some(password), Some(stored))
            if verify_password(
                password.expose().to_owned(),
                Some(stored.expose().to_owned()),
            )
            .await =>
        {
            Some(stored)
        }
        (Some(password), _) => Some(PageSecret::new(
            hash_password(password.expose().to_owned())
                .await
                .map_err(StatusPagesFileError::Hash)?,
        )),
    };
    Ok(())
}

/// The ids of the monitors the file's pages name, by key (only those: a team may have 100,000).
async fn monitor_ids(
    store: &dyn Store,
    team: TeamId,
    file: &MonitorsFile,
) -> Result<HashMap<String, MonitorId>, StoreError> {
    let mut ids = HashMap::new();
    for key in file
        .status_pages
        .iter()
        .flat_map(StatusPageEntry::monitor_keys)
    {
        let Ok(parsed) = MonitorKey::parse(&key) else {
            continue;
        };
        if ids.contains_key(&key) {
            continue;
        }
        let named = [DependencyRef::Key(parsed)];
        if let Some(found) = store.dependency_states(team, &named).await?.first() {
            ids.insert(key, found.id);
        }
    }
    Ok(ids)
}
