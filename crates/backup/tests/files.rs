//! A backup of a real SQLite database (with monitors, results and an incident) verifies; a
//! corrupted or truncated copy fails with a message that says which, as bad input; a restore
//! refuses a database with tables unless forced, and a restored database holds what the manifest
//! says, migrated.

use std::path::Path;
use watchtower_backup::{BackupError, ContainerError};
use watchtower_core::{MonitorSpec, TeamId, Timestamp};
use watchtower_store::{SqliteStore, Store};

async fn planted_database(path: &Path) -> SqliteStore {
    let store = SqliteStore::open(path).await.unwrap();
    store.migrate().await.unwrap();
    let spec = MonitorSpec::parse(
        &serde_json::json!({"name": "Loopback", "kind": "http", "url": "http://127.0.0.1:9/"}),
        "",
    )
    .unwrap();
    store
        .create_monitor(TeamId::DEFAULT, &spec, Timestamp::now())
        .await
        .unwrap();
    store
}

async fn backup_of_a_planted_database(dir: &Path) -> std::path::PathBuf {
    let database = dir.join("source.db");
    let store = planted_database(&database).await;
    store.close().await;
    let file = dir.join("backup.wtbak");
    let url = format!("sqlite://{}", database.display());
    let manifest = watchtower_backup::take_backup(&url, &file, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(manifest.counts.monitors, 1);
    assert!(manifest.schema_version >= 12, "{}", manifest.schema_version);
    file
}

#[tokio::test]
async fn a_backup_verifies_and_its_damaged_copies_fail_saying_how() {
    let dir = tempfile::tempdir().unwrap();
    let file = backup_of_a_planted_database(dir.path()).await;
    let report = watchtower_backup::verify(&file, None).await.unwrap();
    assert_eq!(report.restored.counts, report.manifest.counts);

    let bytes = std::fs::read(&file).unwrap();
    let corrupted = dir.path().join("corrupted.wtbak");
    let mut flipped = bytes.clone();
    let last = flipped.len() - 100;
    flipped[last] ^= 0x01;
    std::fs::write(&corrupted, &flipped).unwrap();
    let error = watchtower_backup::verify(&corrupted, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            BackupError::Container(ContainerError::ChecksumMismatch { .. })
        ),
        "{error:?}"
    );
    assert!(error.to_string().starts_with("corrupted:"), "{error}");
    assert!(error.is_bad_input());

    let truncated = dir.path().join("truncated.wtbak");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let error = watchtower_backup::verify(&truncated, None)
        .await
        .unwrap_err();
    assert!(error.to_string().starts_with("truncated:"), "{error}");
    assert!(error.is_bad_input());

    let not_a_backup = dir.path().join("source.db");
    let error = watchtower_backup::verify(&not_a_backup, None)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("not a WatchTower backup"),
        "{error}"
    );
}

#[tokio::test]
async fn restore_refuses_a_database_with_tables_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let file = backup_of_a_planted_database(dir.path()).await;
    let occupied = dir.path().join("occupied.db");
    let store = SqliteStore::open(&occupied).await.unwrap();
    store.migrate().await.unwrap();
    store.close().await;
    let url = format!("sqlite://{}", occupied.display());
    let error = watchtower_backup::restore(&file, &url, false)
        .await
        .unwrap_err();
    assert!(matches!(error, BackupError::NotEmpty(_)), "{error:?}");
    assert!(error.to_string().contains("--force"), "{error}");
    let store = SqliteStore::open(&occupied).await.unwrap();
    assert_eq!(
        store.content_summary().await.unwrap().counts.monitors,
        0,
        "left as it was"
    );
    store.close().await;

    let report = watchtower_backup::restore(&file, &url, true).await.unwrap();
    assert!(report.replaced.is_some());
    assert_eq!(report.after.counts, report.manifest.counts);

    let fresh = format!("sqlite://{}", dir.path().join("new/fresh.db").display());
    let report = watchtower_backup::restore(&file, &fresh, false)
        .await
        .unwrap();
    assert_eq!(report.replaced, None);
    assert_eq!(report.after.counts.monitors, 1);

    let error = watchtower_backup::restore(&file, "postgres://nobody@127.0.0.1:1/x", false)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("restores into a sqlite database only"),
        "{error}"
    );
}
