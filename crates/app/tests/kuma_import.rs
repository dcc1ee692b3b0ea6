//! `watchtower import kuma`, for real: an Uptime Kuma 1.23 database and a 2.x one are built from
//! Kuma's schema (tests/kuma/*.sql) with a small shop's monitors, notifications, tags,
//! maintenance windows and status pages, then imported by the binary into a fresh WatchTower
//! database. Every mappable object must exist afterwards with the same target, interval, retries
//! and notifications; the report names the rest with the reason; a second import creates
//! nothing; a dry run writes nothing; bad arguments exit 2 listing every problem. On SQLite
//! always, on PostgreSQL when `TEST_DATABASE_URL` is set.

#![allow(
    clippy::print_stderr,
    reason = "a test tells whoever runs it what it skipped"
)]

use sqlx::Connection;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use watchtower_core::maintenance::WindowSchedule;
use watchtower_core::monitor::HttpAuth;
use watchtower_core::{MonitorKind, TeamId};
use watchtower_store::PageRequest;
use watchtower_testkit::TestDatabase;

const BINARY: &str = env!("CARGO_BIN_EXE_watchtower");
const SCHEMA_1: &str = include_str!("kuma/schema-1.23.sql");
const UPGRADE_2: &str = include_str!("kuma/upgrade-2.x.sql");
const ROWS: &str = include_str!("kuma/rows.sql");
const ROWS_1: &str = include_str!("kuma/rows-1.23.sql");
const ROWS_2: &str = include_str!("kuma/rows-2.x.sql");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kuma {
    V1,
    V2,
}

/// Builds a Kuma database of `version` in `dir`.
async fn kuma_database(dir: &Path, version: Kuma) -> PathBuf {
    let path = dir.join(match version {
        Kuma::V1 => "kuma-1.23.db",
        Kuma::V2 => "kuma-2.db",
    });
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let mut script = String::from(SCHEMA_1);
    if version == Kuma::V2 {
        script.push_str(UPGRADE_2);
    }
    script.push_str(ROWS);
    script.push_str(match version {
        Kuma::V1 => ROWS_1,
        Kuma::V2 => ROWS_2,
    });
    sqlx::raw_sql(sqlx::AssertSqlSafe(script))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    path
}

fn import(kuma: &Path, database: &str, extra: &[&str]) -> Output {
    Command::new(BINARY)
        .args(["import", "kuma"])
        .arg(kuma)
        .args(["--database", database])
        .args(extra)
        .env_remove("DATABASE_URL")
        .env_remove("WATCHTOWER_PLANS")
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

async fn postgres_database() -> Option<TestDatabase> {
    let Ok(server) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL is not set: skipping the PostgreSQL import");
        return None;
    };
    Some(TestDatabase::postgres(&server).await.unwrap())
}

/// What one imported monitor must be: kind, target, interval (s), retries, channel names.
struct Expected {
    key: &'static str,
    target: &'static str,
    interval: u64,
    retries: u32,
    channels: &'static [&'static str],
}

fn expected(version: Kuma) -> Vec<Expected> {
    let mut monitors = vec![
        Expected {
            key: "kuma-1",
            target: "http https://shop.example/",
            interval: 60,
            retries: 2,
            channels: &["On-call email", "Ops Slack"],
        },
        Expected {
            key: "kuma-2",
            target: "http http://api.shop.example/health",
            interval: 30,
            retries: 1,
            channels: &["SMS", "Telegram ops"],
        },
        Expected {
            key: "kuma-3",
            target: "http https://api.shop.example/orders/health",
            interval: 120,
            retries: 3,
            channels: &["Discord", "Ops Slack"],
        },
        Expected {
            key: "kuma-4",
            target: "tcp db.shop.internal:5432",
            interval: 45,
            retries: 0,
            channels: &["Shop webhook"],
        },
        Expected {
            key: "kuma-5",
            target: "ping 10.20.0.1",
            interval: 20,
            retries: 5,
            channels: &["Teams"],
        },
        Expected {
            key: "kuma-6",
            target: "dns shop.example",
            interval: 300,
            retries: 1,
            channels: &["PagerDuty"],
        },
        Expected {
            key: "kuma-7",
            target: "push",
            interval: 86400,
            retries: 0,
            channels: &["On-call email"],
        },
        Expected {
            key: "kuma-11",
            target: "http https://blog.shop.example/",
            interval: 600,
            retries: 1,
            channels: &["ntfy"],
        },
    ];
    if version == Kuma::V2 {
        monitors.push(Expected {
            key: "kuma-15",
            target: "http https://api.shop.example/queue",
            interval: 60,
            retries: 2,
            channels: &["PagerDuty", "Telegram ops"],
        });
    }
    monitors
}

fn target_of(kind: &MonitorKind) -> String {
    match kind {
        MonitorKind::Http(http) => format!("http {}", http.url),
        MonitorKind::Tcp(tcp) => format!("tcp {}:{}", tcp.host, tcp.port),
        MonitorKind::Ping(ping) => format!("ping {}", ping.host),
        MonitorKind::Dns(dns) => format!("dns {}", dns.host),
        MonitorKind::Tls(tls) => format!("tls {}", tls.host),
        MonitorKind::Push(_) => "push".into(),
        MonitorKind::Whop(whop) => format!("whop {}", whop.company_id),
    }
}

/// Every object the Kuma fixture maps to is in team 1 as it should be.
async fn check_imported(database: &str, version: Kuma) {
    let store = watchtower_store::connect(database).await.unwrap();
    let team = TeamId::DEFAULT;
    let listings = store
        .list_monitors(
            team,
            &PageRequest {
                limit: 500,
                ..PageRequest::default()
            },
        )
        .await
        .unwrap();
    let monitors: BTreeMap<String, _> = listings
        .into_iter()
        .map(|l| (l.monitor.spec.key.as_ref().unwrap().to_string(), l.monitor))
        .collect();
    let expected = expected(version);
    assert_eq!(
        monitors.keys().cloned().collect::<BTreeSet<_>>(),
        expected.iter().map(|e| e.key.to_owned()).collect(),
        "the imported monitors"
    );
    let channels = store.channels(team).await.unwrap();
    let channel_name = |id| {
        channels
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.clone())
            .unwrap()
    };
    let rules = store.rules(team).await.unwrap();
    for want in &expected {
        let monitor = &monitors[want.key];
        assert_eq!(target_of(&monitor.spec.kind), want.target, "{}", want.key);
        assert_eq!(
            monitor.spec.interval.get(),
            Duration::from_secs(want.interval),
            "{}",
            want.key
        );
        assert_eq!(monitor.spec.retries, want.retries, "{}", want.key);
        let rule = rules
            .iter()
            .find(|r| r.monitor_id == Some(monitor.id))
            .unwrap_or_else(|| panic!("no alert rule for {}", want.key));
        let sent_to: BTreeSet<String> = rule
            .channel_ids
            .iter()
            .map(|id| channel_name(*id))
            .collect();
        assert_eq!(
            sent_to,
            want.channels.iter().map(|c| (*c).to_owned()).collect(),
            "{}",
            want.key
        );
    }
    assert_eq!(rules.len(), expected.len(), "one rule per monitor");
    // Details carried over.
    let home = &monitors["kuma-1"].spec;
    assert_eq!(home.tags, ["env:prod", "critical"]);
    assert_eq!(home.retry_interval.get(), Duration::from_secs(30));
    assert_eq!(home.timeout.get(), Duration::from_secs(48));
    let home_rule = rules.iter().find(|r| r.name == "kuma-1").unwrap();
    assert!(home_rule.events.iter().any(|e| e == "certificate_expiring"));
    assert_eq!(home_rule.certificate_days, Some(21));
    let keyword_rule = rules.iter().find(|r| r.name == "kuma-2").unwrap();
    assert_eq!(
        keyword_rule.remind_every_ms,
        Some(300_000),
        "10 checks of 30 s"
    );
    let MonitorKind::Http(keyword) = &monitors["kuma-2"].spec.kind else {
        panic!("kuma-2 is http")
    };
    assert_eq!(keyword.keyword.as_ref().unwrap().text, "\"status\":\"ok\"");
    assert_eq!(keyword.accepted_status.len(), 2);
    let MonitorKind::Http(orders) = &monitors["kuma-3"].spec.kind else {
        panic!("kuma-3 is http")
    };
    assert_eq!(orders.method, "POST");
    assert!(!orders.verify_tls);
    assert_eq!(orders.max_redirects, 5);
    assert_eq!(orders.headers["X-Probe"], "kuma");
    assert_eq!(orders.headers["Content-Type"], "application/json");
    assert!(matches!(&orders.auth, Some(HttpAuth::Basic { username, .. }) if username == "probe"));
    let rule = orders.json_path.as_ref().unwrap();
    assert_eq!(rule.path.to_string(), "$.data.status");
    assert_eq!(rule.value, Some(serde_json::json!("healthy")));
    let MonitorKind::Dns(dns) = &monitors["kuma-6"].spec.kind else {
        panic!("kuma-6 is dns")
    };
    assert_eq!(dns.resolver.unwrap().to_string(), "1.1.1.1:53");
    assert!(monitors["kuma-11"].spec.paused, "inactive in Kuma");
    let MonitorKind::Push(push) = &monitors["kuma-7"].spec.kind else {
        panic!("kuma-7 is push")
    };
    let token = push.token.as_deref().unwrap();
    match version {
        // 1.x's ten-character token is too short for WatchTower: a new one was made.
        Kuma::V1 => assert_ne!(token, "Xk3pQ9zT2m"),
        Kuma::V2 => assert_eq!(token, "Yp4Qk8Rw2Ts6Uv0Xz3Ab7Cd1Ef5Gh9Jk"),
    }
    if version == Kuma::V2 {
        let MonitorKind::Http(queue) = &monitors["kuma-15"].spec.kind else {
            panic!("kuma-15 is http")
        };
        let rule = queue.json_path.as_ref().unwrap();
        assert_eq!(rule.path.to_string(), "$.queue.depth");
        assert_eq!(serde_json::to_value(rule.op).unwrap(), "<");
        assert_eq!(rule.value, Some(serde_json::json!(100)));
        assert!(
            matches!(&queue.auth, Some(HttpAuth::Bearer(token)) if token == "api-bearer-token")
        );
    }

    // Channels of the kinds WatchTower has, with their settings.
    let kinds: BTreeMap<String, String> = channels
        .iter()
        .map(|c| (c.name.clone(), c.kind.clone()))
        .collect();
    let want: BTreeMap<String, String> = [
        ("Ops Slack", "slack"),
        ("On-call email", "email"),
        ("Telegram ops", "telegram"),
        ("Discord", "discord"),
        ("Shop webhook", "webhook"),
        ("Teams", "teams"),
        ("PagerDuty", "pagerduty"),
        ("ntfy", "ntfy"),
        ("SMS", "sms"),
    ]
    .into_iter()
    .map(|(n, k)| (n.to_owned(), k.to_owned()))
    .collect();
    assert_eq!(kinds, want);
    let email = channels.iter().find(|c| c.kind == "email").unwrap();
    assert_eq!(email.config["host"], "smtp.shop.example");
    assert_eq!(email.config["port"], 587);
    assert_eq!(
        email.config["to"],
        serde_json::json!(["oncall@shop.example", "cto@shop.example"])
    );
    let hook = channels.iter().find(|c| c.kind == "webhook").unwrap();
    assert_eq!(hook.config["headers"]["Authorization"], "Bearer hook-token");

    // Maintenance windows with the imported monitors.
    let id_of = |key: &str| monitors[key].id;
    let windows = store.maintenance_windows(team).await.unwrap();
    let by_name: BTreeMap<&str, _> = windows.iter().map(|w| (w.spec.name.as_str(), w)).collect();
    assert_eq!(
        by_name.keys().copied().collect::<Vec<_>>(),
        ["Datacenter move", "Nightly vacuum", "Sunday patching"]
    );
    let vacuum = &by_name["Nightly vacuum"].spec;
    assert_eq!(vacuum.monitors, [id_of("kuma-4")]);
    assert!(
        matches!(&vacuum.schedule, WindowSchedule::Recurring { cron, duration, timezone }
            if cron == "30 3 * * *" && duration.get() == Duration::from_secs(1800) && timezone == "UTC")
    );
    let moving = &by_name["Datacenter move"].spec;
    assert_eq!(moving.monitors, [id_of("kuma-1"), id_of("kuma-2")]);
    let WindowSchedule::Once { starts_at, ends_at } = &moving.schedule else {
        panic!("a one-off window")
    };
    // 02:00 in Berlin in December is 01:00 UTC.
    assert_eq!(starts_at.to_jiff().to_string(), "2026-12-20T01:00:00Z");
    assert_eq!(ends_at.to_jiff().to_string(), "2026-12-20T05:00:00Z");
    let patching = &by_name["Sunday patching"].spec;
    // The window covers status page 1: the imported monitors on it (the docker one is not).
    let mut covered = patching.monitors.clone();
    covered.sort();
    let mut want = vec![
        id_of("kuma-1"),
        id_of("kuma-2"),
        id_of("kuma-3"),
        id_of("kuma-4"),
    ];
    want.sort();
    assert_eq!(covered, want);
    assert!(
        matches!(&patching.schedule, WindowSchedule::Recurring { timezone, .. } if timezone == "Europe/Berlin"),
        "SAME_AS_SERVER is Kuma's server time zone"
    );

    // The status page, its groups and components.
    let pages = store.list_status_pages(team).await.unwrap();
    assert_eq!(
        pages.len(),
        1,
        "the password-protected page is not published"
    );
    let page = &pages[0].spec;
    assert_eq!(page.slug.as_str(), "shop");
    assert_eq!(page.title, "Shop status");
    assert_eq!(page.custom_domain.as_deref(), Some("status.shop.example"));
    assert!(page.hide_from_search);
    let groups: Vec<(Option<&str>, Vec<Vec<_>>)> = page
        .groups
        .iter()
        .map(|g| {
            (
                g.name.as_deref(),
                g.components.iter().map(|c| c.monitors.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            (
                Some("Storefront"),
                vec![vec![id_of("kuma-1")], vec![id_of("kuma-2")]]
            ),
            (
                Some("Backend"),
                vec![vec![id_of("kuma-3")], vec![id_of("kuma-4")]]
            ),
        ]
    );
}

/// The report names every object left out, with its reason.
fn check_report(report: &str, version: Kuma) {
    let mut reasons = vec![
        ("monitor 8 \"Docker app\"", "no 'docker' probe"),
        ("monitor 9 \"Order broker\"", "no 'mqtt' probe"),
        ("monitor 10 \"Maintenance page\"", "upside-down mode"),
        ("monitor 12 \"Backend services\"", "no group monitors"),
        (
            "monitor 13 \"Hand-edited\"",
            "malformed row: interval: is not a whole number",
        ),
        (
            "monitor 14 \"Stock JSONata\"",
            "JSONata expression that is not a plain path",
        ),
        ("notification 9 \"Pushover\"", "does not send to 'pushover'"),
        ("notification 11 \"Broken config\"", "not a JSON object"),
        ("maintenance 3 \"Code freeze\"", "manual window"),
        ("status page 2 \"Internal\"", "protected by a password"),
    ];
    if version == Kuma::V2 {
        reasons.push(("monitor 16 \"Mail relay\"", "no 'smtp' probe"));
        reasons.push(("monitor 17 \"Core switch\"", "no 'snmp' probe"));
    }
    let (_, skipped) = report
        .split_once("not imported:")
        .unwrap_or_else(|| panic!("no list of what was not imported:\n{report}"));
    for (object, reason) in &reasons {
        assert!(
            skipped
                .lines()
                .any(|line| line.contains(object) && line.contains(reason)),
            "{object}: {reason} missing from\n{report}"
        );
    }
    let count: usize = skipped
        .lines()
        .next()
        .and_then(|line| line.trim().parse().ok())
        .unwrap_or_else(|| panic!("a count after 'not imported:' in\n{report}"));
    assert_eq!(count, reasons.len(), "{report}");
    // Secrets from Kuma's settings are never printed.
    for secret in ["s3cret-mail", "pr0be-pass", "hook-token", "auth-token-123"] {
        assert!(!report.contains(secret), "{secret} printed:\n{report}");
    }
    if version == Kuma::V1 {
        assert!(
            report.contains("made a new one"),
            "the replaced push token is noted:\n{report}"
        );
    }
}

async fn whole_import(database: &str, version: Kuma) {
    let dir = tempfile::tempdir().unwrap();
    let kuma = kuma_database(dir.path(), version).await;
    let before = std::fs::read(&kuma).unwrap();

    // A dry run on the empty database says what it would do and writes nothing.
    let dry = succeeded(&import(&kuma, database, &["--dry-run"]));
    assert!(dry.contains("dry run: nothing was written"), "{dry}");
    assert!(
        dry.contains("would create: monitor 1 \"Shop homepage\" -> kuma-1"),
        "{dry}"
    );
    check_report(&dry, version);
    {
        let store = watchtower_store::connect(database).await.unwrap();
        let team = TeamId::DEFAULT;
        assert_eq!(store.count_monitors(team).await.unwrap(), 0, "{dry}");
        assert!(store.channels(team).await.unwrap().is_empty());
        assert!(store.rules(team).await.unwrap().is_empty());
        assert!(store.maintenance_windows(team).await.unwrap().is_empty());
        assert!(store.list_status_pages(team).await.unwrap().is_empty());
    }

    let first = succeeded(&import(&kuma, database, &[]));
    assert!(
        first.contains(&format!(
            "Uptime Kuma {}",
            match version {
                Kuma::V1 => "1.x",
                Kuma::V2 => "2.x",
            }
        )),
        "{first}"
    );
    check_report(&first, version);
    check_imported(database, version).await;

    // Again: nothing new, everything as it was.
    let second = succeeded(&import(&kuma, database, &[]));
    assert!(second.contains("\n0 object(s) new"), "{second}");
    assert!(!second.contains("  created:"), "{second}");
    check_imported(database, version).await;

    // Kuma's file was only read.
    assert_eq!(
        std::fs::read(&kuma).unwrap(),
        before,
        "the Kuma database changed"
    );
}

#[tokio::test]
async fn a_kuma_1_23_database_is_imported_into_sqlite_once() {
    let database = TestDatabase::sqlite();
    whole_import(&database.url, Kuma::V1).await;
}

#[tokio::test]
async fn a_kuma_2_database_is_imported_into_sqlite_once() {
    let database = TestDatabase::sqlite();
    whole_import(&database.url, Kuma::V2).await;
}

#[tokio::test]
async fn both_versions_are_imported_into_postgresql() {
    for version in [Kuma::V1, Kuma::V2] {
        let Some(database) = postgres_database().await else {
            return;
        };
        whole_import(&database.url, version).await;
    }
}

#[tokio::test]
async fn bad_arguments_exit_2_listing_every_problem() {
    let database = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let output = import(&missing, &database.url, &["--team", "0"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let said = text(&output);
    assert!(said.contains("missing.db: is not a file"), "{said}");
    assert!(said.contains("--team: 0 is not a team id"), "{said}");

    // A team that does not exist.
    let kuma = kuma_database(dir.path(), Kuma::V2).await;
    let output = import(&kuma, &database.url, &["--team", "42"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("there is no team 42"),
        "{}",
        text(&output)
    );

    // An SQLite file that is not Kuma's, and a file that is not SQLite at all.
    let other = dir.path().join("other.db");
    let mut conn =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", other.display()))
            .await
            .unwrap();
    sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let output = import(&other, &database.url, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("is not an Uptime Kuma database"),
        "{}",
        text(&output)
    );
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, b"this is not a database at all, just some text").unwrap();
    let output = import(&garbage, &database.url, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
}

#[tokio::test]
async fn plan_limits_apply_and_what_did_not_fit_is_reported() {
    let database = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let kuma = kuma_database(dir.path(), Kuma::V1).await;
    // Team 1 on a plan of three monitors checked at most every 30 s, without status pages.
    succeeded(
        &Command::new(BINARY)
            .args(["migrate", "--database", &database.url])
            .output()
            .unwrap(),
    );
    let plans = dir.path().join("plans.yaml");
    std::fs::write(
        &plans,
        "unlimited: {max_monitors: 3, min_interval: 30s, max_status_pages: 0}\n",
    )
    .unwrap();
    let output = import(&kuma, &database.url, &["--plans", plans.to_str().unwrap()]);
    let report = succeeded(&output);
    let store = watchtower_store::connect(&database.url).await.unwrap();
    let monitors = store
        .list_monitors(TeamId::DEFAULT, &PageRequest::default())
        .await
        .unwrap();
    let active = monitors.iter().filter(|m| !m.monitor.spec.paused).count();
    assert_eq!(active, 3, "{report}");
    assert!(
        report.contains("monitor 5 \"Gateway ping\": it does not fit the team's plan"),
        "the 20 s ping is more often than the plan allows:\n{report}"
    );
    assert!(
        report.contains("status page 1 \"Shop status\": it does not fit the team's plan"),
        "{report}"
    );
}

/// Kuma keeps its database in WAL mode; on a read-only mount (as the container README suggests)
/// it cannot be opened read-only without its `-shm` file, so the reader opens it immutable.
/// Needs root to mount; skipped otherwise, unless `WATCHTOWER_REQUIRE_FAULT_TESTS` is set (CI).
#[tokio::test]
async fn a_kuma_database_in_wal_mode_on_a_read_only_mount_is_read() {
    let database = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let mounted = dir.path().join("mounted");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::create_dir_all(&mounted).unwrap();
    let kuma = kuma_database(&source, Kuma::V2).await;
    let url = format!("sqlite://{}", kuma.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("PRAGMA journal_mode = WAL")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let mount = |args: &[&str]| {
        Command::new("mount")
            .args(args)
            .status()
            .is_ok_and(|s| s.success())
    };
    let (source_text, mounted_text) = (source.to_str().unwrap(), mounted.to_str().unwrap());
    if !(mount(&["--bind", source_text, mounted_text])
        && mount(&["-o", "remount,bind,ro", mounted_text]))
    {
        let _ = Command::new("umount").arg(mounted_text).status();
        assert!(
            std::env::var_os("WATCHTOWER_REQUIRE_FAULT_TESTS").is_none(),
            "cannot mount read-only, and WATCHTOWER_REQUIRE_FAULT_TESTS is set"
        );
        eprintln!("cannot mount read-only (not root?): skipping the read-only Kuma test");
        return;
    }
    let output = import(&mounted.join("kuma-2.db"), &database.url, &[]);
    let _ = Command::new("umount").arg(mounted_text).status();
    let report = succeeded(&output);
    assert!(
        report.contains("created: monitor 1 \"Shop homepage\" -> kuma-1"),
        "{report}"
    );
}
