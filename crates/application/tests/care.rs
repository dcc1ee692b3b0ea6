//! Scheduled database care on a test clock: the window opens, one instance of two runs the
//! maintenance and the other finds it claimed, nothing runs outside the window, the next week's
//! window runs again, and an apply counts only when it is large. SQLite, and PostgreSQL when
//! `TEST_DATABASE_URL` is set (two stores on one database standing for two instances).

#![allow(clippy::print_stderr, reason = "a test says what it skipped")]

use std::sync::Arc;
use std::time::Duration;
use watchtower_application::care::{self, CareRun, CareSettings, LARGE_APPLY};
use watchtower_core::Timestamp;
use watchtower_store::Store;
use watchtower_testkit::TestDatabase;

/// 2026-01-03T23:00:00Z, a Saturday night.
const SATURDAY_23H: i64 = 1_767_481_200_000;
const HOUR: i64 = 3_600_000;

fn at(hours_after_saturday_23h: f64) -> Timestamp {
    Timestamp(SATURDAY_23H + (hours_after_saturday_23h * HOUR as f64) as i64)
}

async fn two_instances(url: &str) -> anyhow::Result<(Arc<dyn Store>, Arc<dyn Store>)> {
    let first = watchtower_store::connect(url).await?;
    first.migrate().await?;
    let second = watchtower_store::connect(url).await?;
    Ok((first, second))
}

async fn story(url: &str) -> anyhow::Result<()> {
    let (first, second) = two_instances(url).await?;
    let window = CareSettings::default().window.expect("on by default");
    assert_eq!(window.cron, "0 2 * * SUN", "the operations guide's window");

    // Saturday 23:00 and Sunday 01:59: not yet.
    for hours in [0.0, 2.98] {
        let outcome = care::run_window_if_open(first.as_ref(), &window, "a", at(hours)).await?;
        assert_eq!(outcome, CareRun::NotDue, "{hours}");
    }
    assert_eq!(window.next_opening(at(0.0)), Some(at(3.0)));

    // Sunday 02:00: the first instance runs it; the second, a minute or two hours later, not.
    let ran = care::run_window_if_open(first.as_ref(), &window, "a", at(3.0)).await?;
    assert_eq!(
        ran,
        CareRun::Ran {
            slot: "window:2026-01-04T02:00:00Z".into(),
            outcome: "ok".into()
        }
    );
    for hours in [3.02, 4.99] {
        let outcome = care::run_window_if_open(second.as_ref(), &window, "b", at(hours)).await?;
        assert!(
            matches!(outcome, CareRun::AlreadyClaimed { .. }),
            "{outcome:?}"
        );
    }
    // 04:00: closed.
    let outcome = care::run_window_if_open(second.as_ref(), &window, "b", at(5.0)).await?;
    assert_eq!(outcome, CareRun::NotDue);
    assert_eq!(window.next_opening(at(5.0)), Some(at(3.0 + 7.0 * 24.0)));

    // A week later, started inside the window: runs once more.
    let outcome =
        care::run_window_if_open(second.as_ref(), &window, "b", at(3.5 + 7.0 * 24.0)).await?;
    assert!(matches!(outcome, CareRun::Ran { .. }), "{outcome:?}");

    // After applies: only a large one.
    let small = care::run_after_apply(first.as_ref(), LARGE_APPLY - 1, LARGE_APPLY, "a", at(10.0));
    assert_eq!(small.await?, CareRun::NotDue);
    let large = care::run_after_apply(first.as_ref(), LARGE_APPLY, LARGE_APPLY, "a", at(10.0));
    assert!(matches!(large.await?, CareRun::Ran { .. }));
    Ok(())
}

#[tokio::test]
async fn maintenance_runs_once_per_window_on_sqlite() -> anyhow::Result<()> {
    let database = TestDatabase::sqlite();
    story(&database.url).await
}

#[tokio::test]
async fn maintenance_runs_once_per_window_on_postgres() -> anyhow::Result<()> {
    let Ok(server) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("note: TEST_DATABASE_URL is not set; PostgreSQL variant skipped");
        return Ok(());
    };
    let database = TestDatabase::postgres(&server).await?;
    story(&database.url).await
}

#[test]
fn bad_windows_are_refused_with_the_reason() {
    let problem = care::CareWindow::parse("every sunday", Duration::from_secs(60)).unwrap_err();
    assert!(problem.contains("not a cron pattern"), "{problem}");
    let problem = care::CareWindow::parse("0 2 * * SUN", Duration::ZERO).unwrap_err();
    assert!(problem.contains("longer than 0s"), "{problem}");
}
