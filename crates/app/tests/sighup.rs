//! SIGHUP, for real: `watchtower serve --config FILE` runs; the file is rewritten and the process
//! gets SIGHUP. A good file is applied through the start-up path and the running scheduler checks
//! the new monitor and drops the pruned one; a file with problems is logged with every problem
//! and changes nothing, and the instance keeps running. On SQLite always, on PostgreSQL when
//! `TEST_DATABASE_URL` is set.

#![allow(
    clippy::print_stderr,
    reason = "a test tells whoever runs it what it skipped"
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use watchtower_core::{MonitorSpec, TeamId, Timestamp};
use watchtower_store::{PageRequest, Store};
use watchtower_testkit::{TargetServer, TestDatabase, WatchtowerProcess, free_port};

const BINARY: &str = env!("CARGO_BIN_EXE_watchtower");

fn hang_up(process: &WatchtowerProcess) {
    let status = Command::new("kill")
        .args(["-HUP", &process.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -HUP failed");
}

async fn monitors(
    store: &dyn Store,
) -> BTreeMap<String, (watchtower_core::MonitorId, MonitorSpec)> {
    store
        .list_monitors(TeamId::DEFAULT, &PageRequest::default())
        .await
        .unwrap()
        .into_iter()
        .map(|l| {
            (
                l.monitor.spec.key.as_ref().unwrap().to_string(),
                (l.monitor.id, l.monitor.spec),
            )
        })
        .collect()
}

/// Waits up to 20 s for `done`; panics with the log otherwise.
async fn eventually<F, Fut>(process: &WatchtowerProcess, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen:\n{}", process.log_text());
}

async fn scheduled_monitors(process: &WatchtowerProcess) -> Option<u64> {
    let body: serde_json::Value = reqwest::get(format!("{}/api/health", process.base_url))
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    body["scheduler"]["monitors"].as_u64()
}

async fn reload_story(database: &str) {
    let target = TargetServer::start(free_port()).await.unwrap();
    let url = target.url();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("monitors.yaml");
    let write = |text: String| std::fs::write(&file, text).unwrap();
    write(format!(
        "monitors:\n\
         \x20 - {{key: web, name: Web, kind: http, url: '{url}', interval: 1s, timeout: 500ms}}\n\
         \x20 - {{key: old, name: Old, kind: http, url: '{url}old', interval: 1s, timeout: 500ms}}\n"
    ));
    let process = WatchtowerProcess::serve(
        Path::new(BINARY),
        database,
        &["--config", file.to_str().unwrap()],
        dir.path(),
    )
    .await
    .unwrap();
    let store = watchtower_store::connect(database).await.unwrap();
    eventually(&process, "two monitors scheduled", || async {
        scheduled_monitors(&process).await == Some(2)
    })
    .await;

    // A good file: one monitor changed, one new, one pruned, and a status page showing two.
    write(format!(
        "prune: true\n\
         monitors:\n\
         \x20 - {{key: web, name: Web, kind: http, url: '{url}', interval: 2s, timeout: 500ms}}\n\
         \x20 - {{key: new, name: New, kind: http, url: '{url}new', interval: 1s, timeout: 500ms}}\n\
         status_pages: [{{slug: public, title: Example status, components: [{{name: Website, monitors: [web, new]}}]}}]\n"
    ));
    hang_up(&process);
    eventually(&process, "the good file applied", || async {
        process.log_text().contains("SIGHUP: monitors file applied")
    })
    .await;
    let applied = monitors(store.as_ref()).await;
    assert_eq!(
        applied.keys().map(String::as_str).collect::<Vec<_>>(),
        ["new", "web"]
    );
    assert_eq!(applied["web"].1.interval.get(), Duration::from_secs(2));
    let page = reqwest::get(format!("{}/status/public", process.base_url))
        .await
        .unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Website"));
    let pages = store.list_status_pages(TeamId::DEFAULT).await.unwrap();
    assert_eq!(
        pages[0].spec.groups[0].components[0].monitors,
        [applied["web"].0, applied["new"].0]
    );
    // The running scheduler checks the new monitor and no longer has the pruned one.
    let new_id = applied["new"].0;
    eventually(&process, "the new monitor checked", || async {
        let results = store
            .results(
                TeamId::DEFAULT,
                new_id,
                Timestamp::now().minus(Duration::from_secs(60)),
                Timestamp::now().plus(Duration::from_secs(60)),
                10,
            )
            .await
            .unwrap();
        !results.is_empty()
    })
    .await;
    eventually(
        &process,
        "two monitors scheduled after the reload",
        || async { scheduled_monitors(&process).await == Some(2) },
    )
    .await;

    // A bad file: every problem logged, nothing changed, still serving.
    write(format!(
        "prune: true\n\
         monitors:\n\
         \x20 - {{key: web, name: Web, kind: http, url: 'ftp://nowhere', interval: 2s}}\n\
         \x20 - {{key: new, name: New, kind: gopher}}\n\
         \x20 - {{key: third, name: Third, kind: http, url: '{url}', interval: 0s}}\n"
    ));
    hang_up(&process);
    eventually(&process, "the bad file refused", || async {
        process.log_text().contains("nothing was changed")
    })
    .await;
    let log = process.log_text();
    for field in [
        "monitors[0].url",
        "monitors[1].kind",
        "monitors[2].interval",
    ] {
        assert!(log.contains(field), "{field} not logged:\n{log}");
    }
    assert_eq!(
        monitors(store.as_ref()).await,
        applied,
        "a bad file changed nothing"
    );
    assert_eq!(scheduled_monitors(&process).await, Some(2));

    assert!(process.terminate().unwrap().success());
    target.stop().await;
}

#[tokio::test]
async fn sighup_applies_a_good_file_and_refuses_a_bad_one_on_sqlite() {
    let database = TestDatabase::sqlite();
    reload_story(&database.url).await;
}

#[tokio::test]
async fn sighup_applies_a_good_file_and_refuses_a_bad_one_on_postgresql() {
    let Ok(server) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL is not set: skipping the PostgreSQL SIGHUP story");
        return;
    };
    let database = TestDatabase::postgres(&server).await.unwrap();
    reload_story(&database.url).await;
}
