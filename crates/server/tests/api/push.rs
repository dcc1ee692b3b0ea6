//! Heartbeat pings through the real server: a flood of pings stores a few rows, and unknown
//! tokens are limited per address without ever telling a right guess from a wrong one.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};
use watchtower_core::{MonitorId, Plan, TeamId, Timestamp};

const TOKEN: &str = "known-push-token-0123456789";

/// A team with one push monitor; its id.
async fn push_monitor(app: &TestApp) -> (TeamId, MonitorId) {
    let owner = app.user("owner@example.com", false).await;
    let team = app.team("Ops", Plan::Unlimited, owner).await;
    let client = app.login("owner@example.com").await.in_team(team);
    let created = client
        .post(
            "/api/monitors",
            json!({"name": "nightly", "kind": "push", "period": "1h", "token": TOKEN}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    (team, MonitorId(created.body["id"].as_i64().unwrap()))
}

/// The stored results of the monitor, once the writer has had time to flush (bounded).
async fn stored_results(app: &TestApp, team: TeamId, monitor: MonitorId, at_least: usize) -> usize {
    let mut count = 0;
    for _ in 0..40 {
        let now = Timestamp::now();
        count = app
            .store
            .results(
                team,
                monitor,
                now.minus(Duration::from_secs(3600)),
                now.plus(Duration::from_secs(60)),
                1000,
            )
            .await
            .expect("results")
            .len();
        if count >= at_least {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // One more writer flush, so a late row would be counted too.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let now = Timestamp::now();
    app.store
        .results(
            team,
            monitor,
            now.minus(Duration::from_secs(3600)),
            now.plus(Duration::from_secs(60)),
            1000,
        )
        .await
        .expect("results")
        .len()
        .max(count)
}

/// A client whose requests come from `address` (a loopback address of its own).
fn client_from(address: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(address))
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_thousand_pings_store_a_few_rows() {
    each_backend(Options::default(), |app| async move {
        let (team, monitor) = push_monitor(&app).await;
        let http = reqwest::Client::new();
        let started = Instant::now();
        for _ in 0..1_000 {
            let answer = http
                .get(app.url(&format!("/api/push/{TOKEN}")))
                .send()
                .await?;
            assert_eq!(answer.status(), StatusCode::OK);
        }
        // At most one row per second of pinging (plus the seconds it straddles).
        let bound = started.elapsed().as_secs() as usize + 2;
        let rows = stored_results(&app, team, monitor, 1).await;
        assert!(
            (1..=bound).contains(&rows),
            "1,000 pings gave {rows} rows (at most {bound} expected)"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn unknown_tokens_are_limited_per_address_and_known_ones_still_count() {
    each_backend(Options::default(), |app| async move {
        let (team, monitor) = push_monitor(&app).await;
        let guesser = client_from(Ipv4Addr::new(127, 0, 0, 1));
        let (mut not_found, mut limited) = (0, 0);
        for guess in 0..50 {
            let answer = guesser
                .get(app.url(&format!("/api/push/guess-{guess:020}")))
                .send()
                .await?;
            match answer.status() {
                StatusCode::NOT_FOUND => not_found += 1,
                StatusCode::TOO_MANY_REQUESTS => {
                    limited += 1;
                    let retry_after: u64 = answer.headers()["retry-after"].to_str()?.parse()?;
                    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
                    let body: serde_json::Value = answer.json().await?;
                    assert_eq!(body["error"]["code"], "rate_limited");
                }
                other => panic!("unexpected {other}"),
            }
        }
        // A bucket of 10 per address per minute (one more may have dripped in meanwhile).
        assert!((10..=11).contains(&not_found), "{not_found} answered 404");
        assert_eq!(not_found + limited, 50);

        // Another address is not affected, and its valid token is recorded.
        let job = client_from(Ipv4Addr::new(127, 0, 0, 2));
        let answer = job
            .get(app.url(&format!("/api/push/{TOKEN}")))
            .send()
            .await?;
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(stored_results(&app, team, monitor, 1).await, 1);

        // From the refused address, a right guess is answered like a wrong one, but a real
        // job's ping there still counts.
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let answer = guesser
            .get(app.url(&format!("/api/push/{TOKEN}")))
            .send()
            .await?;
        assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(answer.headers().contains_key("retry-after"));
        assert_eq!(stored_results(&app, team, monitor, 2).await, 2);
        Ok(())
    })
    .await;
}
