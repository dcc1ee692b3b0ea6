//! A Whop metric monitor end to end: created through the API, checked against the fake Whop API,
//! alerting once when revenue drops under its weekday baseline, never on Whop's 429 or 5xx, and
//! recovering when revenue is back.

use crate::alerting::{Receiver, webhook_channel};
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use watchtower_core::monitor::whop::day_windows;
use watchtower_core::{Plan, Timestamp};
use watchtower_testkit::whop_api::{FakeWhopApi, WhopFault, payment};

const KEY: &str = "apik_e2e_metrics_s3cret";
const COMPANY: &str = "biz_e2ecreator";

/// Four weeks of 100 usd on this weekday up to now, and `today` usd today.
fn payments(today: f64) -> Vec<Value> {
    let now = Timestamp::now();
    let (window, earlier) = day_windows(now, "UTC", 4).unwrap();
    let offset = now.since(window.start) / 2;
    let mut items: Vec<Value> = earlier
        .iter()
        .enumerate()
        .map(|(n, week)| {
            let at = week.start.plus(offset).to_jiff().to_string();
            payment(&format!("pay_w{n}"), "paid", 100.0, "usd", &at)
        })
        .collect();
    let at = window.start.plus(offset).to_jiff().to_string();
    items.push(payment("pay_today", "paid", today, "usd", &at));
    items
}

/// Checks now and waits (bounded) until the monitor's latest result says `contains` and its
/// state is `state`.
async fn check_until(owner: &Client, monitor: i64, contains: &str, state: &str) -> Value {
    let before =
        owner.get(&format!("/api/monitors/{monitor}")).await.body["status"]["last_checked_at"]
            .clone();
    owner
        .post(&format!("/api/monitors/{monitor}/check"), json!({}))
        .await;
    for _ in 0..200 {
        let shown = owner.get(&format!("/api/monitors/{monitor}")).await.body;
        let status = &shown["status"];
        let message = status["last_result"]["message"]
            .as_str()
            .unwrap_or_default();
        if status["last_checked_at"] != before
            && message.contains(contains)
            && status["state"] == state
        {
            return shown;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let shown = owner.get(&format!("/api/monitors/{monitor}")).await.body;
    panic!("no result saying '{contains}' in state {state}: {shown}");
}

#[tokio::test]
async fn revenue_under_its_weekday_baseline_alerts_once_and_whop_outages_never_do() {
    let api = FakeWhopApi::start(KEY, COMPANY, 3).await;
    let options = Options {
        whop_api: Some(api.base.clone()),
        ..Options::default()
    };
    each_backend(options, |app| {
        let api = &api;
        async move {
            api.clear_faults();
            api.set_payments(payments(100.0));
            let (receiver, url) = Receiver::start().await;
            let owner_id = app.user("creator@example.com", false).await;
            let team = app.team("Creator", Plan::Unlimited, owner_id).await;
            let owner = app.login("creator@example.com").await.in_team(team);
            let channel = webhook_channel(&owner, &url).await;
            let rule = owner
                .post(
                    "/api/alert-rules",
                    json!({"name": "all", "events": ["down", "up"], "channel_ids": [channel]}),
                )
                .await;
            assert_eq!(rule.status, StatusCode::CREATED, "{:?}", rule.body);
            let created = owner
                .post(
                    "/api/monitors",
                    json!({"name": "Revenue", "kind": "whop", "company_id": COMPANY,
                           "api_key": KEY, "metric": "revenue", "interval": "1h", "timeout": "5s",
                           "condition": {"drop_percent": 30, "weeks": 4}}),
                )
                .await;
            assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
            assert!(
                !created.body.to_string().contains(KEY),
                "the key is never answered"
            );
            let monitor = created.body["id"].as_i64().unwrap();

            check_until(&owner, monitor, "revenue today so far: 100 usd", "UP").await;

            // Whop failing or rate limiting past the check's time: no state change, no alert.
            api.fail_next(&[WhopFault::Status(503); 4]);
            let shown = check_until(&owner, monitor, "Whop answered 503", "UP").await;
            assert_eq!(
                shown["status"]["last_result"]["error_class"],
                "source_unavailable"
            );
            api.clear_faults();
            api.fail_next(&[WhopFault::RateLimited {
                retry_after_secs: 600,
            }]);
            check_until(&owner, monitor, "rate limiting", "UP").await;
            api.clear_faults();
            assert!(
                receiver.received().is_empty(),
                "Whop's trouble sent nothing"
            );

            // Revenue halves: DOWN, one alert that says why.
            api.set_payments(payments(50.0));
            check_until(&owner, monitor, "50.0% under", "DOWN").await;
            let (_, raw) = receiver.wait_for(1).await.remove(0);
            let body: Value = serde_json::from_str(&raw)?;
            assert_eq!(body["type"], "monitor.down");
            assert_eq!(body["data"]["monitor_name"], "Revenue");
            assert!(raw.contains("50.0% under"), "{raw}");

            // While DOWN, Whop's outage does not count as the recovery.
            api.fail_next(&[WhopFault::Status(500); 4]);
            check_until(&owner, monitor, "Whop answered 500", "DOWN").await;
            api.clear_faults();

            api.set_payments(payments(95.0));
            check_until(&owner, monitor, "revenue today so far: 95 usd", "UP").await;
            let delivered = receiver.wait_for(2).await;
            let kinds: Vec<String> = delivered
                .iter()
                .map(|(_, raw)| serde_json::from_str::<Value>(raw).unwrap()["type"].to_string())
                .collect();
            assert_eq!(kinds, ["\"monitor.down\"", "\"monitor.up\""]);
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert_eq!(receiver.received().len(), 2, "each event is sent once");
            Ok(())
        }
    })
    .await;
}
