//! Backups of a running instance, for real: `watchtower serve` checks 1,000 monitors on loopback
//! (990 answer, 10 are refused and open incidents) while `watchtower backup` copies the database;
//! `verify` passes; `restore` into a fresh database of the same backend gives back the same
//! configuration, accounts and incidents, and every result of every monitor up to the backup's
//! point. Damaged files fail `verify` with exit code 2, a database with tables is not restored
//! over without `--force`, `serve --backup-dir` takes and reports its own backups, and `db stats`
//! and `db maintain` answer on both backends. On SQLite always, on PostgreSQL when
//! `TEST_DATABASE_URL` is set.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a test tells whoever runs it what it skipped or measured"
)]

use sqlx::Connection;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use watchtower_testkit::{TargetServer, TestDatabase, WatchtowerProcess, free_port};

const BINARY: &str = env!("CARGO_BIN_EXE_watchtower");
const MONITORS: usize = 1000;
const REFUSED: usize = 10;

fn watchtower(args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("watchtower runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn succeeded(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(0), "{}", text(output));
    text(output)
}

async fn postgres_database(test: &str) -> Option<TestDatabase> {
    let Ok(server) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL is not set: skipping the PostgreSQL {test}");
        return None;
    };
    Some(TestDatabase::postgres(&server).await.unwrap())
}

/// 990 HTTP monitors on the target and 10 TCP monitors on a closed port, every 5 s.
fn write_monitors(dir: &Path, target: &str, closed_port: u16) -> std::path::PathBuf {
    let mut yaml = String::from("monitors:\n");
    for i in 0..MONITORS - REFUSED {
        yaml.push_str(&format!(
            "  - {{key: web-{i}, name: Web {i}, kind: http, url: '{target}page/{i}', interval: 5s, timeout: 2s}}\n"
        ));
    }
    for i in 0..REFUSED {
        yaml.push_str(&format!(
            "  - {{key: closed-{i}, name: Closed {i}, kind: tcp, host: 127.0.0.1, port: {closed_port}, interval: 5s, timeout: 1s, retries: 0}}\n"
        ));
    }
    let path = dir.join("monitors.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// One row of a table as text, by backend: every column, in a form both sides compare equal.
async fn rows(url: &str, table: &str) -> Vec<String> {
    let mut rows: Vec<String> = if url.starts_with("sqlite://") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        let columns: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                .bind(table)
                .fetch_all(&mut conn)
                .await
                .unwrap();
        let row = columns
            .iter()
            .map(|column| format!("quote(\"{column}\")"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let query = format!("SELECT {row} FROM \"{table}\"");
        let rows = sqlx::query_scalar(sqlx::AssertSqlSafe(query))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        rows
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        let query = format!("SELECT row_to_json(x)::text FROM \"{table}\" x");
        let rows = sqlx::query_scalar(sqlx::AssertSqlSafe(query))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        rows
    };
    rows.sort();
    rows
}

/// Every result as `(monitor, checked_at) -> row`.
async fn results(url: &str) -> BTreeMap<(i64, i64), String> {
    let query = if url.starts_with("sqlite://") {
        "SELECT monitor_id, checked_at, quote(team_id) || '|' || quote(status) || '|' || quote(latency_us) || '|' || quote(http_status) || '|' || quote(error_class) || '|' || quote(message) FROM results"
    } else {
        "SELECT monitor_id, checked_at, concat_ws('|', team_id, status, latency_us, coalesce(http_status::text, 'NULL'), coalesce(error_class::text, 'NULL'), coalesce(message, 'NULL')) FROM results"
    };
    let rows: Vec<(i64, i64, String)> = if url.starts_with("sqlite://") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_as(query).fetch_all(&mut conn).await.unwrap()
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_as(query).fetch_all(&mut conn).await.unwrap()
    };
    rows.into_iter()
        .map(|(monitor, at, row)| ((monitor, at), row))
        .collect()
}

/// `(monitors with a result, incidents)` in the database.
async fn progress(url: &str) -> (i64, i64) {
    let query =
        "SELECT (SELECT COUNT(DISTINCT monitor_id) FROM results), (SELECT COUNT(*) FROM incidents)";
    if url.starts_with("sqlite://") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_as(query).fetch_one(&mut conn).await.unwrap()
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_as(query).fetch_one(&mut conn).await.unwrap()
    }
}

async fn backup_while_checking_restores_everything_up_to_its_point(
    source: TestDatabase,
    fresh: TestDatabase,
) {
    let dir = tempfile::tempdir().unwrap();
    let target = TargetServer::start(0).await.unwrap();
    let monitors = write_monitors(dir.path(), &target.url(), free_port());
    succeeded(&watchtower(&[
        "user",
        "create",
        "--database",
        &source.url,
        "--email",
        "owner@example.com",
        "--password",
        "correct horse battery",
        "--admin",
    ]));
    succeeded(&watchtower(&[
        "user",
        "create",
        "--database",
        &source.url,
        "--email",
        "member@example.com",
        "--password",
        "another good password",
    ]));
    let process = WatchtowerProcess::serve(
        Path::new(BINARY),
        &source.url,
        &["--config", monitors.to_str().unwrap()],
        dir.path(),
    )
    .await
    .unwrap();
    // Every monitor checked at least once and every refused one in an incident.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (checked, incidents) = progress(&source.url).await;
        if checked == MONITORS as i64 && incidents == REFUSED as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{checked} monitors checked, {incidents} incidents; log:\n{}",
            process.log_text()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let file = dir.path().join("running.wtbak");
    let started = Instant::now();
    let output = watchtower(&[
        "backup",
        "--database",
        &source.url,
        "--output",
        file.to_str().unwrap(),
    ]);
    let said = succeeded(&output);
    println!(
        "backup of a running instance in {:?}: {said}",
        started.elapsed()
    );
    assert!(said.contains(&format!("{MONITORS} monitors")), "{said}");
    assert!(said.contains(&format!("{REFUSED} incidents")), "{said}");
    // Checks go on while and after the backup is taken.
    tokio::time::sleep(Duration::from_secs(2)).await;
    process.terminate().unwrap();
    target.stop().await;

    let server = std::env::var("TEST_DATABASE_URL").unwrap_or_default();
    let mut verify = vec!["verify", file.to_str().unwrap()];
    if source.url.starts_with("postgres") {
        verify.extend(["--database", &server]);
    }
    let said = succeeded(&watchtower(&verify));
    assert!(said.contains(": ok: "), "{said}");

    let said = succeeded(&watchtower(&[
        "restore",
        file.to_str().unwrap(),
        "--database",
        &fresh.url,
    ]));
    assert!(said.contains("migrated as on start-up"), "{said}");

    for table in [
        "teams",
        "users",
        "memberships",
        "monitors",
        "incidents",
        "state_events",
    ] {
        let (before, after) = (
            rows(&source.url, table).await,
            rows(&fresh.url, table).await,
        );
        assert!(!after.is_empty(), "{table} restored empty");
        assert_eq!(after, before, "{table} differs after the restore");
    }
    // Results: for each monitor, exactly the source's results up to the newest one restored.
    let (before, after) = (results(&source.url).await, results(&fresh.url).await);
    let mut newest: BTreeMap<i64, i64> = BTreeMap::new();
    for &(monitor, at) in after.keys() {
        let entry = newest.entry(monitor).or_insert(at);
        *entry = (*entry).max(at);
    }
    assert_eq!(newest.len(), MONITORS, "every monitor has restored results");
    let expected: BTreeMap<(i64, i64), String> = before
        .iter()
        .filter(|((monitor, at), _)| newest.get(monitor).is_some_and(|newest| at <= newest))
        .map(|(key, row)| (*key, row.clone()))
        .collect();
    assert_eq!(
        after.len(),
        expected.len(),
        "results up to the backup's point"
    );
    assert!(
        after == expected,
        "a restored result differs from the source's"
    );
    assert!(
        before.len() > after.len(),
        "checks went on after the backup ({} results before, {} in the backup)",
        before.len(),
        after.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_backup_while_checking_restores_everything_up_to_its_point() {
    backup_while_checking_restores_everything_up_to_its_point(
        TestDatabase::sqlite(),
        TestDatabase::sqlite(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_backup_while_checking_restores_everything_up_to_its_point() {
    let Some(source) = postgres_database("backup test").await else {
        return;
    };
    let fresh = postgres_database("backup test").await.unwrap();
    backup_while_checking_restores_everything_up_to_its_point(source, fresh).await;
}

/// A small database with an account and a backup of it.
fn small_backup(database: &TestDatabase, dir: &Path) -> std::path::PathBuf {
    succeeded(&watchtower(&[
        "user",
        "create",
        "--database",
        &database.url,
        "--email",
        "owner@example.com",
        "--password",
        "correct horse battery",
        "--admin",
    ]));
    let file = dir.join("small.wtbak");
    succeeded(&watchtower(&[
        "backup",
        "--database",
        &database.url,
        "--output",
        file.to_str().unwrap(),
    ]));
    file
}

#[test]
fn a_corrupted_or_truncated_backup_fails_verify_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::sqlite();
    let file = small_backup(&database, dir.path());
    succeeded(&watchtower(&["verify", file.to_str().unwrap()]));
    let bytes = std::fs::read(&file).unwrap();

    let corrupted = dir.path().join("corrupted.wtbak");
    let mut flipped = bytes.clone();
    let near_end = flipped.len() - 64;
    flipped[near_end] ^= 0x20;
    std::fs::write(&corrupted, flipped).unwrap();
    let output = watchtower(&["verify", corrupted.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let said = text(&output);
    assert!(
        said.contains("corrupted: the payload's SHA-256 is"),
        "{said}"
    );

    let truncated = dir.path().join("truncated.wtbak");
    std::fs::write(
        &truncated,
        &bytes[..bytes.len() - 1000.min(bytes.len() / 2)],
    )
    .unwrap();
    let output = watchtower(&["verify", truncated.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("truncated: the manifest declares a payload of"),
        "{}",
        text(&output)
    );

    let output = watchtower(&["verify", dir.path().join("missing.wtbak").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("missing.wtbak"), "{}", text(&output));
}

async fn restore_refuses_a_database_with_tables_without_force(
    database: TestDatabase,
    other: TestDatabase,
) {
    let dir = tempfile::tempdir().unwrap();
    let file = small_backup(&database, dir.path());
    succeeded(&watchtower(&["migrate", "--database", &other.url]));
    let output = watchtower(&["restore", file.to_str().unwrap(), "--database", &other.url]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let said = text(&output);
    assert!(said.contains("the target database is not empty"), "{said}");
    assert!(said.contains("--force"), "{said}");
    assert!(
        rows(&other.url, "users").await.is_empty(),
        "nothing restored"
    );

    let said = succeeded(&watchtower(&[
        "restore",
        file.to_str().unwrap(),
        "--database",
        &other.url,
        "--force",
    ]));
    assert!(said.contains("replaced what"), "{said}");
    assert_eq!(
        rows(&other.url, "users").await,
        rows(&database.url, "users").await
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_restore_refuses_a_database_with_tables_without_force() {
    restore_refuses_a_database_with_tables_without_force(
        TestDatabase::sqlite(),
        TestDatabase::sqlite(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_restore_refuses_a_database_with_tables_without_force() {
    let Some(database) = postgres_database("restore test").await else {
        return;
    };
    let other = postgres_database("restore test").await.unwrap();
    restore_refuses_a_database_with_tables_without_force(database, other).await;
}

async fn serve_takes_and_reports_its_own_backups(database: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    std::fs::write(backups.join("notes.txt"), "not a backup").unwrap();
    let process = WatchtowerProcess::serve(
        Path::new(BINARY),
        &database.url,
        &[
            "--backup-dir",
            backups.to_str().unwrap(),
            "--backup-every",
            "1h",
        ],
        dir.path(),
    )
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let report = loop {
        let health: serde_json::Value = client
            .get(format!("{}/api/health", process.base_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if health["backups"]["last_result"] == "ok" {
            break health["backups"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "no backup reported: {health}; log:\n{}",
            process.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(report["every_seconds"], 3600);
    assert_eq!(report["kept"], 1);
    assert_eq!(report["stale"], false);
    assert!(
        report["last_success_age_seconds"].as_u64().unwrap() < 3600,
        "{report}"
    );
    let metrics = client
        .get(format!("{}/metrics", process.base_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "watchtower_backup_last_success_age_seconds",
        "watchtower_backup_last_success_timestamp_seconds",
        "watchtower_backup_last_result 1",
        "watchtower_backups_kept 1",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
    process.terminate().unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names[0], "notes.txt", "other files are left alone");
    assert!(
        names[1].starts_with("watchtower-") && names[1].ends_with("Z.wtbak"),
        "{names:?}"
    );
    let server = std::env::var("TEST_DATABASE_URL").unwrap_or_default();
    let file = backups.join(&names[1]);
    let mut verify = vec!["verify", file.to_str().unwrap()];
    if database.url.starts_with("postgres") {
        verify.extend(["--database", &server]);
    }
    succeeded(&watchtower(&verify));
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_serve_takes_and_reports_its_own_backups() {
    serve_takes_and_reports_its_own_backups(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_serve_takes_and_reports_its_own_backups() {
    let Some(database) = postgres_database("serve backup test").await else {
        return;
    };
    serve_takes_and_reports_its_own_backups(database).await;
}

async fn db_stats_and_maintain_answer(database: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    small_backup(&database, dir.path());
    let said = succeeded(&watchtower(&["db", "stats", "--database", &database.url]));
    for expected in [
        "database: ",
        "results: none",
        "NAME",
        "users",
        "monitors",
        "table",
    ] {
        assert!(
            said.contains(expected),
            "{expected:?} missing from:\n{said}"
        );
    }
    let json = succeeded(&watchtower(&[
        "db",
        "stats",
        "--json",
        "--database",
        &database.url,
    ]));
    let stats: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    let users = stats["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|object| object["name"] == "users")
        .unwrap();
    assert_eq!(users["rows"], 1);
    assert!(users["bytes"].as_u64().unwrap() > 0);
    assert_eq!(users["kind"], "table");
    // An index is listed under its table, without a row count.
    let due = stats["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|object| object["name"] == "notifications_due")
        .unwrap();
    assert_eq!(due["kind"], "index");
    assert_eq!(due["table"], "notifications");
    assert!(due["rows"].is_null(), "{due}");
    if database.url.starts_with("sqlite") {
        assert!(said.contains("WAL"), "{said}");
    } else {
        assert!(said.contains("connections: "), "{said}");
        assert!(
            said.contains("long-running queries (over 5 minutes): none"),
            "{said}"
        );
    }
    let said = succeeded(&watchtower(&[
        "db",
        "maintain",
        "--database",
        &database.url,
    ]));
    assert!(said.contains("ANALYZE"), "{said}");
    assert!(said.contains("size: "), "{said}");
    if database.url.starts_with("sqlite") {
        assert!(said.contains("PRAGMA optimize"), "{said}");
        assert!(said.contains("VACUUM"), "{said}");
    }
    let said = succeeded(&watchtower(&[
        "db",
        "maintain",
        "--full-vacuum",
        "--database",
        &database.url,
    ]));
    assert!(!said.contains("skipped"), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_db_stats_and_maintain_answer() {
    db_stats_and_maintain_answer(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_db_stats_and_maintain_answer() {
    let Some(database) = postgres_database("db stats test").await else {
        return;
    };
    db_stats_and_maintain_answer(database).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_backups_say_what_they_need_when_it_is_missing() {
    let Some(database) = postgres_database("missing-tool test").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    succeeded(&watchtower(&["migrate", "--database", &database.url]));
    let file = dir.path().join("pg.wtbak");
    let output = Command::new(BINARY)
        .args([
            "backup",
            "--database",
            &database.url,
            "--output",
            file.to_str().unwrap(),
        ])
        .env_remove("DATABASE_URL")
        .env("PATH", "")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("pg_dump is not on PATH"),
        "{}",
        text(&output)
    );
    assert!(!file.exists(), "no file without a dump");

    succeeded(&watchtower(&[
        "backup",
        "--database",
        &database.url,
        "--output",
        file.to_str().unwrap(),
    ]));
    let output = watchtower(&["verify", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("name a server with --database"),
        "{}",
        text(&output)
    );
}
