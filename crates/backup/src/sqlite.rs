//! SQLite backups: `VACUUM INTO` a file beside the output while the instance keeps writing (one
//! read snapshot, the writer never waits), the counts read from that copy, then compressed.
//! Verifying and restoring decompress into a file, check it with `PRAGMA integrity_check` and
//! compare its counts with the manifest before anything else is touched.

use crate::files::{self, TempPath};
use crate::{BackendKind, BackupError, Manifest, compare, describe, manifest_for};
use std::path::Path;
use watchtower_core::Timestamp;
use watchtower_store::sqlite::inspect_file;
use watchtower_store::{ContentSummary, SqliteStore, Store};

pub(crate) async fn take(
    database: &Path,
    output: &Path,
    now: Timestamp,
) -> Result<Manifest, BackupError> {
    // Opening would create an empty database; a backup of nothing is a mistake in the URL.
    if !database.is_file() {
        return Err(BackupError::NoDatabase(database.to_path_buf()));
    }
    let snapshot = TempPath::beside(output, "snapshot");
    let store = SqliteStore::open(database).await?;
    let copied = store.snapshot_into(snapshot.path()).await;
    store.close().await;
    copied?;
    let summary = checked_summary(snapshot.path()).await?;
    let payload = TempPath::beside(output, "payload");
    let compressed = files::compress(snapshot.path(), payload.path()).await?;
    let manifest = manifest_for(BackendKind::Sqlite, summary, compressed, now);
    files::assemble(output, &manifest, payload.path()).await?;
    Ok(manifest)
}

pub(crate) async fn verify(
    file: &Path,
    manifest: &Manifest,
) -> Result<ContentSummary, BackupError> {
    let scratch = tempfile::tempdir()?;
    let copy = scratch.path().join("verify.db");
    files::unpack_to(file, &copy).await?;
    let summary = checked_summary(&copy).await?;
    compare(manifest, &summary)?;
    Ok(summary)
}

pub(crate) async fn restore(
    file: &Path,
    manifest: &Manifest,
    target: &Path,
    force: bool,
) -> Result<(Option<String>, ContentSummary), BackupError> {
    let mut replaced = None;
    if target.is_file() && std::fs::metadata(target)?.len() > 0 {
        let store = SqliteStore::open(target).await?;
        let held = holdings(&store).await;
        store.close().await;
        if let Some(held) = held? {
            if !force {
                return Err(BackupError::NotEmpty(held));
            }
            replaced = Some(held);
        }
    }
    if let Some(parent) = target.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    // The restored file is checked before it takes the target's place.
    let incoming = TempPath::beside(target, "restoring");
    files::unpack_to(file, incoming.path()).await?;
    let summary = checked_summary(incoming.path()).await?;
    compare(manifest, &summary)?;
    for suffix in ["-wal", "-shm"] {
        let mut side = target.as_os_str().to_os_string();
        side.push(suffix);
        if let Err(error) = std::fs::remove_file(&side)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            return Err(error.into());
        }
    }
    std::fs::rename(incoming.path(), target)?;
    incoming.forget();
    let store = SqliteStore::open(target).await?;
    store.migrate().await?;
    let after = store.content_summary().await;
    store.close().await;
    Ok((replaced, after?))
}

/// What a database holds, when it holds any table.
async fn holdings(store: &SqliteStore) -> Result<Option<String>, BackupError> {
    let tables = store.table_names().await?;
    if tables.is_empty() {
        return Ok(None);
    }
    let summary = store.content_summary().await.ok();
    Ok(Some(describe(tables.len(), summary.as_ref())))
}

/// The counts of an SQLite file that passes `PRAGMA integrity_check`.
async fn checked_summary(path: &Path) -> Result<ContentSummary, BackupError> {
    let inspection = inspect_file(path)
        .await
        .map_err(|error| BackupError::Damaged(error.to_string()))?;
    if inspection.integrity != "ok" {
        return Err(BackupError::Damaged(inspection.integrity));
    }
    Ok(inspection.summary)
}
