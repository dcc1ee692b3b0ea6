//! Plan limits at their boundaries on every path, 402 in the documented shape, and downgrades
//! that pause instead of delete.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;
use watchtower_core::Plan;

async fn owner_on(app: &TestApp, plan: Plan) -> Client {
    let owner = app.user("owner@example.com", false).await;
    let team = app.team("Shop", plan, owner).await;
    app.login("owner@example.com").await.in_team(team)
}

#[tokio::test]
async fn the_third_monitor_on_free_succeeds_and_the_fourth_is_402() {
    each_backend(Options::default(), |app| async move {
        let owner = owner_on(&app, Plan::Free).await;
        for i in 1..=3 {
            let created = owner.post("/api/monitors", http_monitor(&format!("web {i}"))).await;
            assert_eq!(created.status, StatusCode::CREATED, "monitor {i}: {:?}", created.body);
        }
        let fourth = owner.post("/api/monitors", http_monitor("web 4")).await;
        assert_eq!(fourth.status, StatusCode::PAYMENT_REQUIRED);
        let error = &fourth.body["error"];
        assert_eq!(error["code"], "plan_limit");
        assert_eq!(error["limit"], "monitors");
        assert_eq!(error["current"], 4);
        assert_eq!(error["plan"], "free");
        assert_eq!(error["upgrade_to"], "starter");
        assert!(error["details"].as_array().unwrap().is_empty());
        // A paused monitor does not count, and resuming it is where the limit applies.
        let paused = owner
            .post("/api/monitors", json!({"name": "later", "kind": "http", "url": "http://127.0.0.1:9/", "interval": "1h", "paused": true}))
            .await;
        assert_eq!(paused.status, StatusCode::CREATED);
        let id = paused.body["id"].as_i64().unwrap();
        let resumed = owner.post(&format!("/api/monitors/{id}/resume"), json!({})).await;
        assert_eq!(resumed.status, StatusCode::PAYMENT_REQUIRED);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn intervals_and_ssl_monitoring_follow_the_plan() {
    each_backend(Options::default(), |app| async move {
        let owner = owner_on(&app, Plan::Free).await;
        let fast = owner
            .post("/api/monitors", json!({"name": "fast", "kind": "http", "url": "http://127.0.0.1:9/", "interval": "59m"}))
            .await;
        assert_eq!(fast.status, StatusCode::PAYMENT_REQUIRED);
        assert_eq!(fast.body["error"]["limit"], "min_interval");
        let hourly = owner
            .post("/api/monitors", json!({"name": "hourly", "kind": "http", "url": "http://127.0.0.1:9/", "interval": "60m"}))
            .await;
        assert_eq!(hourly.status, StatusCode::CREATED);
        let tls = owner
            .post("/api/monitors", json!({"name": "cert", "kind": "tls", "host": "127.0.0.1", "port": 9, "interval": "1h"}))
            .await;
        assert_eq!(tls.status, StatusCode::PAYMENT_REQUIRED);
        assert_eq!(tls.body["error"]["upgrade_to"], "starter");
        // Changing a monitor is held to the same rule.
        let id = hourly.body["id"].as_i64().unwrap();
        let faster = owner
            .put(&format!("/api/monitors/{id}"), json!({"name": "hourly", "kind": "http", "url": "http://127.0.0.1:9/", "interval": "1m"}))
            .await;
        assert_eq!(faster.status, StatusCode::PAYMENT_REQUIRED);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn yaml_apply_is_held_to_the_plan_and_applies_nothing_when_over() {
    each_backend(Options::default(), |app| async move {
        let owner = owner_on(&app, Plan::Free).await;
        let file = (1..=4)
            .map(|i| format!("  - {{key: m{i}, name: m{i}, kind: http, url: 'http://127.0.0.1:9/', interval: 1h}}\n"))
            .collect::<String>();
        let body = format!("monitors:\n{file}");
        let over = owner
            .http
            .put(app.url("/api/monitors/yaml"))
            .headers(owner.headers.clone())
            .body(body.clone())
            .send()
            .await?;
        assert_eq!(over.status(), StatusCode::PAYMENT_REQUIRED);
        assert!(owner.get("/api/monitors").await.body["monitors"].as_array().unwrap().is_empty());
        let three: String = body.lines().take(4).map(|l| format!("{l}\n")).collect();
        let applied = owner
            .http
            .put(app.url("/api/monitors/yaml"))
            .headers(owner.headers.clone())
            .body(three)
            .send()
            .await?;
        assert_eq!(applied.status(), StatusCode::OK);
        let report: serde_json::Value = applied.json().await?;
        assert_eq!(report["created"], json!(["m1", "m2", "m3"]));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn members_invitations_and_api_keys_follow_the_plan() {
    each_backend(Options::default(), |app| async move {
        let owner = owner_on(&app, Plan::Free).await;
        let team = owner.get("/api/teams").await.body["teams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "Shop")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        // Free allows one member: the owner. An invitation would make two.
        let invite = owner
            .post(
                &format!("/api/teams/{team}/invitations"),
                json!({"email": "bo@example.com", "role": "member"}),
            )
            .await;
        assert_eq!(invite.status, StatusCode::PAYMENT_REQUIRED);
        assert_eq!(invite.body["error"]["limit"], "members");
        // API access starts at Professional.
        let key = owner
            .post(
                &format!("/api/teams/{team}/api-keys"),
                json!({"name": "ci", "scope": "read_only"}),
            )
            .await;
        assert_eq!(key.status, StatusCode::PAYMENT_REQUIRED);
        assert_eq!(key.body["error"]["upgrade_to"], "professional");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_downgrade_pauses_the_newest_monitors_and_deletes_nothing() {
    each_backend(Options::default(), |app| async move {
        let owner = owner_on(&app, Plan::Starter).await;
        let team = owner.get("/api/teams").await.body["teams"][1]["id"].as_i64().unwrap();
        let mut ids = Vec::new();
        for i in 1..=5 {
            let created = owner.post("/api/monitors", http_monitor(&format!("web {i}"))).await;
            ids.push(created.body["id"].as_i64().unwrap());
        }
        let tls = owner
            .post("/api/monitors", json!({"name": "cert", "kind": "tls", "host": "127.0.0.1", "port": 9, "interval": "1h"}))
            .await;
        assert_eq!(tls.status, StatusCode::CREATED);
        let changed = owner
            .put(&format!("/api/teams/{team}/plan"), json!({"plan": "free"}))
            .await;
        assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
        let paused = changed.body["paused_monitors"].as_array().unwrap();
        let reasons: Vec<(i64, &str)> = paused
            .iter()
            .map(|p| (p["id"].as_i64().unwrap(), p["reason"].as_str().unwrap()))
            .collect();
        let tls_id = tls.body["id"].as_i64().unwrap();
        assert_eq!(
            reasons,
            vec![(tls_id, "ssl_monitoring"), (ids[4], "monitor_limit"), (ids[3], "monitor_limit")]
        );
        let listed = owner.get("/api/monitors").await.body["monitors"].as_array().unwrap().clone();
        assert_eq!(listed.len(), 6, "nothing is deleted");
        let active = listed.iter().filter(|m| m["paused"] != true).count();
        assert_eq!(active, 3);
        // The team is told why: the audit log names each pause and its reason.
        let audit = owner.get(&format!("/api/teams/{team}/audit-log")).await;
        let actions: Vec<&str> = audit.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions.iter().filter(|a| **a == "monitor.paused").count(), 3);
        // The monitors left already check hourly (Free's minimum), so none is slowed.
        assert!(changed.body["slowed_monitors"].as_array().unwrap().is_empty());
        assert!(actions.contains(&"plan.changed"));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_downgrade_raises_intervals_below_the_new_minimum() {
    each_backend(Options::default(), |app| async move {
        let owner = owner_on(&app, Plan::Professional).await;
        let team = owner.get("/api/teams").await.body["teams"][1]["id"].as_i64().unwrap();
        let fast = owner
            .post("/api/monitors", json!({"name": "fast", "kind": "http", "url": "http://127.0.0.1:9/", "interval": "5m"}))
            .await;
        assert_eq!(fast.status, StatusCode::CREATED);
        let beat = owner
            .post("/api/monitors", json!({"name": "beat", "kind": "push", "period": "1m"}))
            .await;
        assert_eq!(beat.status, StatusCode::CREATED);
        let changed = owner
            .put(&format!("/api/teams/{team}/plan"), json!({"plan": "starter"}))
            .await;
        let slowed = changed.body["slowed_monitors"].as_array().unwrap();
        assert_eq!(slowed.len(), 1, "push monitors are exempt: {slowed:?}");
        assert_eq!(slowed[0]["from"], "5m");
        assert_eq!(slowed[0]["to"], "10m");
        let id = fast.body["id"].as_i64().unwrap();
        assert_eq!(owner.get(&format!("/api/monitors/{id}")).await.body["interval"], "10m");
        Ok(())
    })
    .await;
}
