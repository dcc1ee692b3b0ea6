//! The Whop metric probe against the fake Whop API: pages, figures, baselines, and what a refused
//! key, a rate limit and a failing API each make of a check.

use serde_json::{Value, json};
use std::time::Duration;
use watchtower_checks::{Prober, ProberOptions};
use watchtower_core::monitor::whop::day_windows;
use watchtower_core::{CheckStatus, ErrorClass, MonitorKind, MonitorSpec, Timestamp};
use watchtower_testkit::whop_api::{FakeWhopApi, WhopFault, membership, payment};

const KEY: &str = "apik_metrics_s3cret";
const COMPANY: &str = "biz_creator01";

fn prober(api: &FakeWhopApi) -> Prober {
    Prober::new(ProberOptions {
        whop_api: api.base.parse().unwrap(),
        ..ProberOptions::default()
    })
}

fn kind(key: &str, metric: &str, condition: Value) -> MonitorKind {
    let spec = MonitorSpec::parse(
        &json!({"name": "m", "kind": "whop", "company_id": COMPANY, "api_key": key,
                "metric": metric, "condition": condition}),
        "",
    )
    .unwrap();
    spec.kind
}

fn iso(at: Timestamp) -> String {
    at.to_jiff().to_string()
}

/// An instant inside today's window (UTC) and its place `weeks` weeks before.
fn today_and_weeks_before(weeks: u32) -> (String, Vec<String>) {
    let now = Timestamp::now();
    let (today, earlier) = day_windows(now, "UTC", weeks).unwrap();
    let offset = now.since(today.start) / 2;
    let moments = earlier
        .iter()
        .map(|window| iso(window.start.plus(offset)))
        .collect();
    (iso(today.start.plus(offset)), moments)
}

#[tokio::test]
async fn every_page_is_read_and_the_figure_checked() {
    let api = FakeWhopApi::start(KEY, COMPANY, 2).await;
    let mut items: Vec<Value> = (0..5)
        .map(|n| {
            let at = format!("2026-01-0{}T10:00:00Z", n + 1);
            membership(&format!("mem_{n}"), "active", &at, None)
        })
        .collect();
    items.push(membership(
        "mem_t",
        "trialing",
        "2026-02-01T10:00:00Z",
        None,
    ));
    items.push(membership(
        "mem_c",
        "canceled",
        "2026-02-02T10:00:00Z",
        Some("2026-03-01T10:00:00Z"),
    ));
    api.set_memberships(items);
    let prober = prober(&api);

    let outcome = prober
        .check(
            &kind(KEY, "active_members", json!({"below": 10})),
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(outcome.status, CheckStatus::Down, "{outcome:?}");
    assert_eq!(outcome.error_class, Some(ErrorClass::Metric));
    assert_eq!(
        outcome.message.as_deref(),
        Some("active members: 6 is below 10")
    );
    // Seven memberships at two a page: four pages, each after the cursor of the one before.
    let requests = api.requests();
    assert_eq!(requests.len(), 4, "{requests:?}");
    assert!(requests[0].contains("company_id=biz_creator01") && !requests[0].contains("after="));
    assert!(requests[3].contains("after=cur_6"), "{requests:?}");

    let outcome = prober
        .check(
            &kind(KEY, "active_members", json!({"below": 6})),
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    assert_eq!(outcome.message.as_deref(), Some("active members: 6"));
}

#[tokio::test]
async fn revenue_is_compared_with_the_same_weekday_so_far() {
    let api = FakeWhopApi::start(KEY, COMPANY, 3).await;
    let (today, weeks_before) = today_and_weeks_before(4);
    let mut payments: Vec<Value> = weeks_before
        .iter()
        .enumerate()
        .map(|(n, at)| payment(&format!("pay_w{n}"), "paid", 100.0, "usd", at))
        .collect();
    // Neither counts: another currency, and a payment that failed.
    payments.push(payment("pay_eur", "paid", 500.0, "eur", &weeks_before[0]));
    payments.push(payment("pay_fail", "open", 80.0, "usd", &today));
    payments.push(payment("pay_today", "paid", 100.0, "usd", &today));
    // Older than the four weeks: never asked for.
    payments.push(payment(
        "pay_old",
        "paid",
        9999.0,
        "usd",
        "2020-01-01T00:00:00Z",
    ));
    api.set_payments(payments.clone());
    let prober = prober(&api);
    let revenue = kind(KEY, "revenue", json!({"drop_percent": 30, "weeks": 4}));

    let outcome = prober.check(&revenue, Duration::from_secs(5)).await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    assert_eq!(
        outcome.message.as_deref(),
        Some("revenue today so far: 100 usd (same weekday average 100 usd over 4 weeks)")
    );
    assert!(api.requests().iter().all(|r| r.contains("created_after=")));

    // Today's sale is refunded to half: 50% under the average.
    let halved: Vec<Value> = payments
        .into_iter()
        .map(|mut item| {
            if item["id"] == "pay_today" {
                item["total"] = json!(50.0);
            }
            item
        })
        .collect();
    api.set_payments(halved);
    let outcome = prober.check(&revenue, Duration::from_secs(5)).await;
    assert_eq!(outcome.status, CheckStatus::Down, "{outcome:?}");
    assert_eq!(outcome.error_class, Some(ErrorClass::Metric));
    let message = outcome.message.unwrap();
    assert!(
        message.starts_with("revenue today so far: 50 usd (same weekday average 100 usd over 4 weeks) is 50.0% under"),
        "{message}"
    );

    let failed = kind(KEY, "failed_payments", json!({"above": 0}));
    let outcome = prober.check(&failed, Duration::from_secs(5)).await;
    assert_eq!(
        outcome.message.as_deref(),
        Some("failed payments today so far: 1 is above 0")
    );
}

#[tokio::test]
async fn a_refused_key_is_a_configuration_error_never_zero_members() {
    let api = FakeWhopApi::start(KEY, COMPANY, 10).await;
    api.set_memberships(vec![membership(
        "mem_1",
        "active",
        "2026-01-01T00:00:00Z",
        None,
    )]);
    let prober = prober(&api);
    let outcome = prober
        .check(
            &kind("apik_wrong", "active_members", json!({"below": 1})),
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(outcome.status, CheckStatus::Down, "{outcome:?}");
    assert_eq!(outcome.error_class, Some(ErrorClass::Configuration));
    let message = outcome.message.unwrap();
    assert!(
        message.contains("Whop refused the API key (401"),
        "{message}"
    );
    assert!(
        !message.contains("members:"),
        "no figure is reported: {message}"
    );
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_and_a_failing_api_is_inconclusive() {
    let api = FakeWhopApi::start(KEY, COMPANY, 10).await;
    api.set_memberships(vec![membership(
        "mem_1",
        "active",
        "2026-01-01T00:00:00Z",
        None,
    )]);
    let prober = prober(&api);
    let active = kind(KEY, "active_members", json!({"below": 1}));

    // 429 asking for a second, then a 503: both retried within the check.
    api.fail_next(&[
        WhopFault::RateLimited {
            retry_after_secs: 1,
        },
        WhopFault::Status(503),
    ]);
    let outcome = prober.check(&active, Duration::from_secs(8)).await;
    assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    assert_eq!(api.requests().len(), 3);
    assert!(
        outcome.latency >= Duration::from_secs(1),
        "Retry-After was honoured"
    );

    // Whop keeps failing: the check says so and is inconclusive, not DOWN.
    api.fail_next(&[WhopFault::Status(502); 8]);
    let outcome = prober.check(&active, Duration::from_secs(2)).await;
    assert!(outcome.is_inconclusive(), "{outcome:?}");
    assert_eq!(outcome.status, CheckStatus::Degraded);
    assert!(
        outcome
            .message
            .unwrap()
            .starts_with("Whop answered 502 Bad Gateway")
    );
    api.clear_faults();

    // A wait longer than the check has left ends it at once, inconclusive.
    let before = api.requests().len();
    api.fail_next(&[WhopFault::RateLimited {
        retry_after_secs: 120,
    }]);
    let outcome = prober.check(&active, Duration::from_secs(2)).await;
    assert!(outcome.is_inconclusive(), "{outcome:?}");
    assert!(
        outcome
            .message
            .unwrap()
            .contains("rate limiting this key (429, retry after 120s)")
    );
    assert_eq!(api.requests().len(), before + 1);
}
