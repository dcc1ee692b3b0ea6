//! The instance's key figures: `GET /api/admin/stats` for its administrators only, and the same
//! figures on `/metrics`, by route template and never by raw path.

use crate::alerting::{Receiver, webhook_channel};
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use watchtower_core::{Plan, Role};

const PUSH_TOKEN: &str = "stats-push-token-never-in-metrics";

/// The administrators' figures once `ready` holds (bounded: 10 s).
async fn stats_when(admin: &Client, ready: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        let answer = admin.get("/api/admin/stats").await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        last = answer.body;
        if ready(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the figures never got there: {last:#}");
}

#[tokio::test]
async fn administrators_see_the_installation_and_metrics_carry_the_same_figures() {
    each_backend(Options::default(), |app| async move {
        let admin_id = app.user("root@example.com", true).await;
        let owner_id = app.user("owner@example.com", false).await;
        let shop = app.team("Shop", Plan::Professional, owner_id).await;
        app.team("Hobby", Plan::Free, owner_id).await;
        app.join(shop, admin_id, Role::Viewer).await;
        let admin = app.login("root@example.com").await;
        let owner = app.login("owner@example.com").await.in_team(shop);

        // Nobody but an instance administrator: not a team owner, not an API key, not anonymous.
        let refused = owner.get("/api/admin/stats").await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
        let key = owner
            .post(
                &format!("/api/teams/{shop}/api-keys"),
                json!({"name": "ci", "scope": "read_only"}),
            )
            .await;
        assert_eq!(key.status, StatusCode::CREATED, "{:?}", key.body);
        let by_key = app.with_key(key.body["key"].as_str().unwrap());
        assert_eq!(
            by_key.get("/api/admin/stats").await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.anonymous().get("/api/admin/stats").await.status,
            StatusCode::UNAUTHORIZED
        );

        // A monitor whose target is down, a push monitor pinged, a notification delivered, a
        // path no route matches.
        let created = owner.post("/api/monitors", http_monitor("down")).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        let checked = owner
            .post(
                &format!("/api/monitors/{}/check", created.body["id"]),
                json!({}),
            )
            .await;
        assert!(checked.status.is_success(), "{checked:?}");
        let push = owner
            .post(
                "/api/monitors",
                json!({"name": "nightly", "kind": "push", "period": "1h", "token": PUSH_TOKEN}),
            )
            .await;
        assert_eq!(push.status, StatusCode::CREATED, "{:?}", push.body);
        let pinged = app
            .anonymous()
            .get(&format!("/api/push/{PUSH_TOKEN}"))
            .await;
        assert!(pinged.status.is_success(), "{pinged:?}");
        let (receiver, url) = Receiver::start().await;
        let channel = webhook_channel(&owner, &url).await;
        let test = owner
            .post(&format!("/api/channels/{channel}/test"), json!({}))
            .await;
        assert_eq!(test.status, StatusCode::ACCEPTED);
        receiver.wait_for(1).await;
        let lost = app.anonymous().get("/no/such/page").await;
        assert_eq!(lost.status, StatusCode::NOT_FOUND);

        // Activity is written off the request: the figures are awaited until both people count.
        let stats = stats_when(&admin, |stats| {
            stats["monitors"]["check_success_ratio"].is_number()
                && stats["notifications_last_day"][0]["delivered"] == 1
                && stats["people"]["active_last_day"] == 2
        })
        .await;
        // Both people made requests after signing in.
        assert_eq!(stats["people"]["users"], 2, "{stats:#}");
        assert_eq!(stats["people"]["active_last_day"], 2, "{stats:#}");
        assert_eq!(stats["people"]["active_last_30_days"], 2, "{stats:#}");
        // Every plan is listed; the Default team (the administrator's) and the owner's own
        // team are `unlimited`.
        let plans = &stats["teams_by_plan"];
        assert_eq!(plans["professional"], 1, "{plans}");
        assert_eq!(plans["free"], 1, "{plans}");
        assert_eq!(plans["starter"], 0, "{plans}");
        assert_eq!(plans["unlimited"], 2, "{plans}");
        assert_eq!(plans.as_object().unwrap().len(), Plan::ALL.len(), "{plans}");
        let monitors = &stats["monitors"];
        assert_eq!(monitors["total"], 2);
        let by_state: u64 = monitors["by_state"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert_eq!(by_state, 2, "{monitors}");
        // The only checks were of a target that is down (the push monitor is not checked).
        assert_eq!(monitors["check_success_ratio"], 0.0, "{monitors}");
        let webhook = &stats["notifications_last_day"][0];
        assert_eq!(webhook["kind"], "webhook");
        assert_eq!(webhook["failed"], 0);
        // Requests by route template: the push route never shows its token.
        let routes = stats["requests"]["routes"].as_array().unwrap();
        let route = |template: &str| {
            routes
                .iter()
                .find(|route| route["route"] == template)
                .unwrap_or_else(|| panic!("{template} in {routes:#?}"))
                .clone()
        };
        assert_eq!(route("/api/admin/stats")["client_errors"], 3, "{routes:#?}");
        assert_eq!(route("/api/push/{token}")["requests"], 1);
        assert_eq!(route("(unmatched)")["client_errors"], 1);
        assert!(route("/api/monitors")["mean_ms"].as_f64().unwrap() > 0.0);
        assert!(!stats.to_string().contains(PUSH_TOKEN));
        assert_eq!(stats["requests"]["server_errors"], 0);
        let pools = stats["database"]["pools"].as_array().unwrap();
        assert!(!pools.is_empty());
        for pool in pools {
            assert!(pool["max"].as_u64().unwrap() >= 1, "{pool}");
            assert!(pool["idle"].as_u64() <= pool["open"].as_u64(), "{pool}");
        }
        assert!(stats["memory"]["resident_bytes"].as_u64().unwrap() > 1 << 20);

        // `/metrics` carries the same figures (its counters are the process's, shared by every
        // test server in this binary, so only their presence is asserted).
        let metrics = app
            .anonymous()
            .http
            .get(app.url("/metrics"))
            .send()
            .await?
            .text()
            .await?;
        for series in [
            "watchtower_http_requests_total{route=\"/api/push/{token}\",status=\"2xx\"}",
            "watchtower_http_requests_total{route=\"/api/admin/stats\",status=\"4xx\"}",
            "watchtower_http_request_duration_seconds_bucket{route=\"/api/monitors\",le=\"0.005\"}",
            "watchtower_active_users{window=\"1d\"}",
            "watchtower_active_users{window=\"30d\"}",
            "watchtower_teams{plan=\"professional\"}",
            "watchtower_monitors{state=\"DOWN\"}",
            "watchtower_check_success_ratio",
            "watchtower_notifications_delivered_total{channel=\"webhook\"}",
            "watchtower_database_connections_max{pool=",
            "watchtower_process_resident_memory_bytes",
        ] {
            assert!(
                metrics.contains(series),
                "{series} missing from:\n{metrics}"
            );
        }
        assert!(!metrics.contains(PUSH_TOKEN), "a raw path reached /metrics");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn with_a_metrics_token_only_its_bearer_reads_metrics() {
    const TOKEN: &str = "metrics-token-for-the-scraper";
    let options = Options {
        metrics_token: Some(TOKEN.into()),
        ..Options::default()
    };
    each_backend(options, |app| async move {
        let scrape = |authorization: Option<&'static str>| {
            let app = app.clone();
            async move {
                let mut request = app.anonymous().http.get(app.url("/metrics"));
                if let Some(value) = authorization {
                    request = request.header("authorization", value);
                }
                let response = request.send().await.unwrap();
                (response.status(), response.text().await.unwrap())
            }
        };
        for refused in [
            None,
            Some("Bearer wrong-token"),
            Some("Bearer metrics-token-for-the-scrapeR"),
            Some("metrics-token-for-the-scraper"),
        ] {
            let (status, body) = scrape(refused).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused:?}");
            assert!(!body.contains("watchtower_"), "{refused:?}: {body}");
        }
        let (status, body) = scrape(Some("Bearer metrics-token-for-the-scraper")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("watchtower_users"), "{body}");
        Ok(())
    })
    .await;
}
