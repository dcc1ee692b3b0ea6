//! The command line as scripts use it: exit codes, every problem listed with its place, nothing
//! applied from a bad file, and a clear message when the database cannot be reached.

use std::process::{Command, Output};
use watchtower_core::TeamId;
use watchtower_store::PageRequest;
use watchtower_testkit::{TargetServer, TestDatabase, WatchtowerProcess};

const BINARY: &str = env!("CARGO_BIN_EXE_watchtower");

fn watchtower(args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .output()
        .expect("watchtower runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let output = watchtower(&["--version"]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let commit = text
        .trim()
        .strip_prefix(concat!("watchtower ", env!("CARGO_PKG_VERSION"), " ("))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("unexpected version line: {text}"));
    // Built from this repository, the commit is known: 12 hex digits (or the build's override).
    match std::env::var("WATCHTOWER_COMMIT") {
        Ok(given) if !given.trim().is_empty() => assert_eq!(commit, given.trim()),
        _ => assert!(
            commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit()),
            "{text}"
        ),
    }
}

#[test]
fn validate_lists_every_problem_with_its_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "monitors:\n  - key: web\n    name: Web\n    kind: http\n    url: nope\n    interval: 10q\n  - key: db\n    name: DB\n    kind: tcp\n    host: db\n",
    )
    .unwrap();
    let output = watchtower(&["validate", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    for expected in [
        ":5:",
        "monitors[0].url",
        ":6:",
        "monitors[0].interval",
        "monitors[1].port: is required",
        "3 problem(s)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn validate_reads_secrets_from_the_environment_and_names_missing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alerting.yaml");
    std::fs::write(
        &file,
        "monitors:\n  - {key: web, name: Web, kind: http, url: 'http://127.0.0.1:9/'}\n\
         channels:\n  - name: chat\n    kind: slack\n    webhook_url: \"${WT_TEST_SLACK_URL}\"\n\
         alert_rules:\n  - {name: web down, monitor: web, events: [down], channels: [chat]}\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let missing = Command::new(BINARY)
        .args(["validate", path])
        .env_remove("WT_TEST_SLACK_URL")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains(":6:19: the environment variable WT_TEST_SLACK_URL is not set"),
        "{}",
        stderr(&missing)
    );
    let given = Command::new(BINARY)
        .args(["validate", path])
        .env(
            "WT_TEST_SLACK_URL",
            "https://hooks.slack.com/services/T0/B0/X",
        )
        .output()
        .unwrap();
    assert!(given.status.success(), "{}", stderr(&given));
    let out = String::from_utf8_lossy(&given.stdout).into_owned();
    assert!(
        out.contains("1 monitors, 1 channels, 1 alert rules, all valid"),
        "{out}"
    );
}

/// 5,000 levels of nesting in a 10 KB file aborted `validate` with a stack overflow; now the
/// file is refused with its line and the limit, exit 2.
#[test]
fn validate_refuses_a_deeply_nested_file_with_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deep.yaml");
    std::fs::write(&file, format!("x:\n{}a\n", "- ".repeat(5000))).unwrap();
    let output = watchtower(&["validate", file.to_str().unwrap()]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("deep.yaml:2:"), "{text}");
    assert!(text.contains("the limit is 32"), "{text}");

    let path = format!("$[?{}@.a{}]", "(".repeat(500), ")".repeat(500));
    std::fs::write(
        &file,
        format!("monitors:\n  - key: j\n    name: J\n    kind: http\n    url: http://127.0.0.1:9/\n    json_path:\n      path: '{path}'\n"),
    )
    .unwrap();
    let output = watchtower(&["validate", file.to_str().unwrap()]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains(
            "monitors[0].json_path.path: nests brackets and parentheses more than 32 deep"
        ),
        "{text}"
    );
}

#[test]
fn validate_accepts_the_shipped_example() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/watchtower.yaml"
    );
    let output = watchtower(&["validate", example]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains("4 monitors, 0 channels, 0 alert rules, all valid")
    );
}

#[tokio::test]
async fn a_bad_config_applies_nothing() {
    let database = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("monitors.yaml");
    std::fs::write(
        &file,
        "monitors:\n  - key: good\n    name: Good\n    kind: tcp\n    host: 127.0.0.1\n    port: 9\n  - key: bad\n    name: Bad\n    kind: tcp\n    host: 127.0.0.1\n",
    )
    .unwrap();
    let output = watchtower(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--database",
        &database.url,
        "--config",
        file.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("nothing was applied"));
    let store = watchtower_store::connect(&database.url).await.unwrap();
    store.migrate().await.unwrap();
    assert!(
        store
            .list_monitors(TeamId::DEFAULT, &PageRequest::default())
            .await
            .unwrap()
            .is_empty()
    );
}

/// An SQLite file is served by one instance: a second `serve` on it exits before writing
/// anything and names the first; once the first is gone, even by kill -9, the file is free.
#[tokio::test]
async fn a_second_serve_on_the_same_sqlite_file_exits_and_names_the_first() {
    let database = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let binary = std::path::Path::new(BINARY);
    let first = WatchtowerProcess::serve(binary, &database.url, &[], dir.path())
        .await
        .unwrap();

    let file = dir.path().join("monitors.yaml");
    std::fs::write(
        &file,
        "monitors:\n  - key: second\n    name: Second\n    kind: tcp\n    host: 127.0.0.1\n    port: 9\n",
    )
    .unwrap();
    let output = watchtower(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--database",
        &database.url,
        "--config",
        file.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("is already served by another watchtower")
            && text.contains(&format!("(pid {})", first.pid()))
            && text.contains("use PostgreSQL to run several"),
        "{text}"
    );
    let store = watchtower_store::connect(&database.url).await.unwrap();
    assert!(
        store
            .list_monitors(TeamId::DEFAULT, &PageRequest::default())
            .await
            .unwrap()
            .is_empty(),
        "the refused instance applied its monitors file"
    );

    first.kill().unwrap();
    let next = WatchtowerProcess::serve(binary, &database.url, &[], dir.path())
        .await
        .unwrap();
    assert!(next.terminate().unwrap().success());
}

#[test]
fn an_unreachable_database_is_a_clear_message_at_start_up() {
    let port = watchtower_testkit::free_port();
    let url = format!("postgres://postgres:secret@127.0.0.1:{port}/watchtower");
    let output = watchtower(&["serve", "--bind", "127.0.0.1:0", "--database", &url]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("cannot open the database") && text.contains("cannot reach PostgreSQL"),
        "{text}"
    );
    assert!(
        !text.contains("secret"),
        "the password must not be printed: {text}"
    );
}

/// A password given as a query parameter (`?password=`), or in a URL that does not parse, is not
/// printed either.
#[test]
fn a_database_password_in_the_query_is_not_printed() {
    let port = watchtower_testkit::free_port();
    let in_query = format!("postgres://postgres@127.0.0.1:{port}/watchtower?password=hunter2");
    let unparsable = "postgres://postgres:hunter2@127.0.0.1:notaport/watchtower".to_owned();
    for url in [in_query, unparsable] {
        let output = watchtower(&["migrate", "--database", &url]);
        assert_ne!(output.status.code(), Some(0), "{url}");
        let text = stderr(&output);
        assert!(text.contains("cannot open the database"), "{text}");
        assert!(
            !text.contains("hunter2"),
            "the password must not be printed: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_exits_like_curl_f() {
    let target = TargetServer::start(0).await.unwrap();
    let url = target.url();
    let up = tokio::task::spawn_blocking(move || watchtower(&["check", &url]))
        .await
        .unwrap();
    assert_eq!(up.status.code(), Some(0), "{}", stderr(&up));
    let printed = String::from_utf8_lossy(&up.stdout);
    assert!(
        printed.starts_with("UP ")
            && printed.contains("first byte")
            && printed.contains("HTTP 200"),
        "{printed}"
    );

    let keyword = format!(
        "{{kind: http, url: '{}', keyword: missing-text}}",
        target.url()
    );
    let down = tokio::task::spawn_blocking(move || watchtower(&["check", "--json", &keyword]))
        .await
        .unwrap();
    assert_eq!(down.status.code(), Some(1));
    let result: serde_json::Value = serde_json::from_slice(&down.stdout).unwrap();
    assert_eq!(
        (result["status"].as_str(), result["error_class"].as_str()),
        (Some("down"), Some("keyword"))
    );

    let bad = watchtower(&["check", "tcp://127.0.0.1"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("port"), "{}", stderr(&bad));
    target.stop().await;
}

fn user_create(database: &str, args: &[&str], password: &str) -> Output {
    Command::new(BINARY)
        .args(["user", "create", "--database", database])
        .args(args)
        .env("WATCHTOWER_USER_PASSWORD", password)
        .output()
        .expect("watchtower runs")
}

#[tokio::test]
async fn user_create_makes_the_first_administrator_and_lists_every_problem() {
    let database = TestDatabase::sqlite();
    let bad = user_create(&database.url, &["--email", "not-an-email"], "short");
    assert_eq!(bad.status.code(), Some(2));
    let text = stderr(&bad);
    assert!(
        text.contains("email:") && text.contains("password:"),
        "{text}"
    );

    let made = user_create(
        &database.url,
        &["--email", "root@example.com", "--admin"],
        "a long enough passphrase",
    );
    assert!(made.status.success(), "{}", stderr(&made));
    assert!(
        String::from_utf8_lossy(&made.stdout).contains("created administrator root@example.com")
    );
    let again = user_create(
        &database.url,
        &["--email", "ROOT@example.com"],
        "a long enough passphrase",
    );
    assert_eq!(
        again.status.code(),
        Some(2),
        "the email is taken, whatever its case"
    );

    let store = watchtower_store::connect(&database.url).await.unwrap();
    let root = store
        .user_by_email("root@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(root.is_admin);
    assert_eq!(
        store.role_of(TeamId::DEFAULT, root.id).await.unwrap(),
        Some(watchtower_core::Role::Owner),
        "the administrator owns the Default team, where --config applies monitors"
    );
}

/// A bad `--sentry-dsn` is bad input, listed with the other bad flags (a bad `--otlp-endpoint`
/// among them), and its key is not printed.
#[test]
fn a_bad_sentry_dsn_exits_2_with_the_other_problems_and_without_its_key() {
    let output = watchtower(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--database",
        "sqlite::memory:",
        "--sentry-dsn",
        "https://planted0key@sentry.example.com/",
        "--whop-plan",
        "prod_x=no-such-plan",
        "--otlp-endpoint",
        "ftp://collector.example.com",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("--sentry-dsn: not a Sentry DSN"), "{text}");
    assert!(text.contains("--whop-plan"), "{text}");
    assert!(
        text.contains("--otlp-endpoint: must be an http:// or https:// URL with a host"),
        "{text}"
    );
    assert!(
        !text.contains("planted0key"),
        "the DSN's key was printed: {text}"
    );
}
