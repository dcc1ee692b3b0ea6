//! `serve --backup-dir`: a backup into the folder every period (the first at start when the
//! newest there is a period old), then the retention of `watchtower_backup::retention` (7 daily,
//! 4 weekly, 12 monthly) applied to the scheduled backups in it. Other files are never touched.
//! What happened is recorded in the shared [`BackupStatus`] for `/api/health` and `/metrics`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use watchtower_backup::retention::{self, RetentionPolicy};
use watchtower_core::Timestamp;
use watchtower_scheduler::Clock;
use watchtower_server::backups::BackupStatus;

/// A failed backup is tried again after this (or the period, if shorter).
const RETRY_AFTER: Duration = Duration::from_secs(300);

/// Where and how often `serve` takes backups.
#[derive(Debug, Clone)]
pub struct BackupSettings {
    pub dir: PathBuf,
    pub every: Duration,
    /// The database to back up (the one the instance serves).
    pub database_url: String,
}

/// Starts the backup task; it stops between backups when `stop` is cancelled.
pub(crate) fn start(
    settings: BackupSettings,
    clock: Clock,
    status: Arc<BackupStatus>,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(error) = std::fs::create_dir_all(&settings.dir) {
            tracing::error!(%error, dir = %settings.dir.display(), "cannot create the backup folder");
        }
        let found = scheduled_backups(&settings.dir);
        let newest = found
            .iter()
            .max_by_key(|backup| backup.0)
            .map(|(at, _, bytes)| (*at, *bytes));
        status.found_at_start(newest, found.len() as u64);
        let mut wait = newest.map_or(Duration::ZERO, |(at, _)| {
            settings.every.saturating_sub(clock.now().since(at))
        });
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
            let at = clock.now();
            wait = if take_one(&settings, at, &status).await {
                settings.every
            } else {
                settings.every.min(RETRY_AFTER)
            };
        }
    })
}

/// Takes one backup and applies retention; records the outcome. True when it succeeded.
async fn take_one(settings: &BackupSettings, at: Timestamp, status: &BackupStatus) -> bool {
    let path = settings.dir.join(retention::file_name(at));
    match watchtower_backup::take_backup(&settings.database_url, &path, at).await {
        Ok(manifest) => {
            let kept = apply_retention(&settings.dir);
            let bytes =
                std::fs::metadata(&path).map_or(manifest.payload.compressed_bytes, |m| m.len());
            tracing::info!(
                file = %path.display(),
                bytes,
                results = manifest.counts.results,
                kept,
                "backup taken"
            );
            status.succeeded(at, bytes, kept);
            true
        }
        Err(error) => {
            tracing::error!(%error, file = %path.display(), "backup failed");
            status.failed(at);
            false
        }
    }
}

/// Deletes the scheduled backups retention does not keep; returns how many remain.
fn apply_retention(dir: &Path) -> u64 {
    let found = scheduled_backups(dir);
    let times: Vec<Timestamp> = found.iter().map(|(at, _, _)| *at).collect();
    let keep = retention::keep(&times, RetentionPolicy::default());
    let mut kept = 0;
    for (at, path, _) in found {
        if keep.contains(&at) {
            kept += 1;
        } else if let Err(error) = std::fs::remove_file(&path) {
            tracing::warn!(%error, file = %path.display(), "cannot delete an old backup");
            kept += 1;
        } else {
            tracing::info!(file = %path.display(), "old backup deleted (retention)");
        }
    }
    kept
}

/// The scheduled backups in `dir`: time (from the name), path and size.
fn scheduled_backups(dir: &Path) -> Vec<(Timestamp, PathBuf, u64)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let at = retention::parse_file_name(entry.file_name().to_str()?)?;
            let meta = entry.metadata().ok().filter(std::fs::Metadata::is_file)?;
            Some((at, entry.path(), meta.len()))
        })
        .collect()
}
