//! SIGHUP: `serve --config FILE` reads its monitors file again and applies it through the same
//! path as start-up (`monitors_file::read` and `apply`), then tells the running scheduler about
//! every monitor the apply created, changed or deleted, as the API's file apply does. A file with
//! problems is logged with every problem and changes nothing.

use crate::monitors_file;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tokio::task::JoinHandle;
use watchtower_core::{MonitorId, TeamId};
use watchtower_scheduler::SchedulerHandle;
use watchtower_server::web::status::cache::StatusCache;
use watchtower_store::{PageRequest, Store, StoreError};

/// What one reload did, by monitor key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reloaded {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
}

/// Why a reload changed nothing (or, for `Apply` after the monitors, not everything).
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("{} problem(s) in the monitors file; nothing was changed", .0.len())]
    Problems(Vec<String>),
    #[error(transparent)]
    Apply(#[from] monitors_file::ApplyFileError),
    #[error("cannot read the Default team's monitors: {0}")]
    Store(#[from] StoreError),
}

/// Reads `path` and applies it to the Default team, then brings the scheduler in line.
pub async fn reload(
    store: &dyn Store,
    scheduler: &SchedulerHandle,
    path: &Path,
) -> Result<Reloaded, ReloadError> {
    let file = monitors_file::read(path).map_err(ReloadError::Problems)?;
    // The ids of the keyed monitors before the apply, for the ones it deletes.
    let before = keyed_ids(store).await?;
    let report = match monitors_file::apply(store, path, file).await {
        Ok(report) => report,
        Err(
            monitors_file::ApplyFileError::MissingSecrets(problems)
            | monitors_file::ApplyFileError::StatusPages(problems),
        ) => {
            let listed = problems
                .iter()
                .map(|problem| format!("{}: {problem}", path.display()))
                .collect();
            return Err(ReloadError::Problems(listed));
        }
        Err(error) => return Err(error.into()),
    };
    for key in &report.deleted {
        if let Some(id) = before.get(key.as_str()) {
            scheduler.remove(*id).await;
        }
    }
    let changed: Vec<&str> = report
        .created
        .iter()
        .chain(&report.updated)
        .map(watchtower_core::MonitorKey::as_str)
        .collect();
    if !changed.is_empty() {
        let mut page = PageRequest {
            limit: 500,
            ..PageRequest::default()
        };
        loop {
            let listings = store.list_monitors(TeamId::DEFAULT, &page).await?;
            let Some(last) = listings.last() else { break };
            page.after = Some(last.monitor.id);
            for listing in listings {
                let is_changed = listing
                    .monitor
                    .spec
                    .key
                    .as_ref()
                    .is_some_and(|key| changed.contains(&key.as_str()));
                if is_changed {
                    scheduler.upsert(listing.monitor).await;
                }
            }
        }
    }
    Ok(Reloaded {
        created: report.created.len(),
        updated: report.updated.len(),
        deleted: report.deleted.len(),
    })
}

async fn keyed_ids(store: &dyn Store) -> Result<HashMap<String, MonitorId>, StoreError> {
    let mut ids = HashMap::new();
    let mut page = PageRequest {
        limit: 500,
        ..PageRequest::default()
    };
    loop {
        let entries = store.list_monitor_entries(TeamId::DEFAULT, &page).await?;
        let Some(last) = entries.last() else { break };
        page.after = Some(match last {
            Ok(listing) => listing.monitor.id,
            Err(broken) => broken.id,
        });
        for entry in entries {
            match entry {
                Ok(listing) => {
                    if let Some(key) = listing.monitor.spec.key {
                        ids.insert(key.to_string(), listing.monitor.id);
                    }
                }
                Err(broken) => {
                    if let Some(key) = broken.key.clone() {
                        ids.insert(key, broken.id);
                    }
                }
            }
        }
    }
    Ok(ids)
}

/// Listens for SIGHUP (registered before this returns, so a signal sent once the instance
/// answers is never the default action, which would end the process) and reloads `path` on each.
pub fn watch_sighup(
    store: std::sync::Arc<dyn Store>,
    scheduler: SchedulerHandle,
    status_pages: std::sync::Arc<StatusCache>,
    path: PathBuf,
    care: Option<crate::care::CareTrigger>,
) -> std::io::Result<JoinHandle<()>> {
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            tracing::info!(file = %path.display(), "SIGHUP: reading the monitors file again");
            match reload(store.as_ref(), &scheduler, &path).await {
                Ok(done) => {
                    // The file may have changed status pages: visitors see them at once.
                    status_pages.invalidate();
                    tracing::info!(
                        file = %path.display(),
                        created = done.created,
                        updated = done.updated,
                        deleted = done.deleted,
                        "SIGHUP: monitors file applied"
                    );
                    if let Some(care) = &care {
                        care.applied(done.created + done.updated + done.deleted);
                    }
                }
                Err(ReloadError::Problems(problems)) => {
                    for problem in &problems {
                        tracing::error!("{problem}");
                    }
                    tracing::error!(
                        file = %path.display(),
                        problems = problems.len(),
                        "SIGHUP: the monitors file has {} problem(s); nothing was changed",
                        problems.len()
                    );
                }
                Err(error) => {
                    tracing::error!(file = %path.display(), %error, "SIGHUP: the monitors file was not applied");
                }
            }
        }
    }))
}
