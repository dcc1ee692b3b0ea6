//! The JSON of the main answers pinned by snapshots: a monitor with its status, a list page, its
//! raw results, an incident with its notes, a channel, its test notification and the delivery
//! log, an alert rule, a team with its members, invitations and API keys (the secrets shown once
//! replaced), and errors (a bad request, a missing resource, a plan limit). Ids, times and
//! measured values are replaced by placeholders, so a snapshot changes only when a field is
//! added, renamed, dropped or changes type (`cargo insta review` after an intended change).

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use watchtower_core::{Plan, Role};

/// Keys whose values differ from run to run: ids, timestamps and measurements.
fn varies(key: &str) -> bool {
    key == "id"
        || key.ends_with("_id")
        || key.ends_with("_at")
        || key.ends_with("_ms")
        || [
            "at",
            "since",
            "until",
            "from",
            "to",
            "open_until",
            "next_after",
            "next_before",
            "latency",
            "message",
            "first_failure",
        ]
        .contains(&key)
}

/// `value` with every varying value replaced by a placeholder naming its JSON type.
fn redacted(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let shown = match value {
                        Value::Null => Value::Null,
                        Value::Number(_) if varies(key) => json!("[number]"),
                        Value::String(_) if varies(key) => json!("[string]"),
                        Value::Object(_) if varies(key) => json!("[object]"),
                        other => redacted(other),
                    };
                    (key.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redacted).collect()),
        other => other.clone(),
    }
}

/// Polls `path` (bounded: 15 s) until `ready` holds for its body.
async fn wait_until(client: &Client, path: &str, ready: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..300 {
        let answer = client.get(path).await;
        if ready(&answer.body) {
            return answer.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} never became ready");
}

/// A webhook receiver on loopback that accepts everything.
async fn receiver() -> String {
    let app = axum::Router::new().route("/hook", axum::routing::post(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn the_main_answers_keep_their_json_shape() {
    let database = watchtower_testkit::TestDatabase::sqlite();
    let (app, _running) = TestApp::start(&database.url, Options::default()).await;
    let owner_id = app.user("owner@example.com", false).await;
    let team = app.team("Ops", Plan::Unlimited, owner_id).await;
    let owner = app.login("owner@example.com").await.in_team(team);

    // A monitor that fails at once (nothing listens on port 9), checked now.
    let created = owner
        .post(
            "/api/monitors",
            json!({"key": "db", "name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 9,
                   "interval": "1h", "tags": ["db"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    insta::assert_json_snapshot!("monitor_created", redacted(&created.body));
    let monitor = created.body["id"].as_i64().unwrap();
    owner
        .post(&format!("/api/monitors/{monitor}/check"), json!({}))
        .await;
    let shown = wait_until(&owner, &format!("/api/monitors/{monitor}"), |body| {
        body["status"]["state"] == "DOWN"
    })
    .await;
    insta::assert_json_snapshot!("monitor", redacted(&shown));

    let page = owner.get("/api/monitors?uptime=24h&limit=10").await;
    assert_eq!(page.status, StatusCode::OK);
    insta::assert_json_snapshot!("monitor_page", redacted(&page.body));
    let results = owner.get(&format!("/api/monitors/{monitor}/results")).await;
    assert_eq!(results.status, StatusCode::OK);
    insta::assert_json_snapshot!("result_page", redacted(&results.body));

    // The outage's incident, with a note.
    let incidents = wait_until(&owner, "/api/incidents", |body| {
        body["incidents"]
            .as_array()
            .is_some_and(|list| !list.is_empty())
    })
    .await;
    insta::assert_json_snapshot!("incident_page", redacted(&incidents));
    let incident = incidents["incidents"][0]["id"].as_i64().unwrap();
    let note = owner
        .post(
            &format!("/api/incidents/{incident}/notes"),
            json!({"body": "looking"}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED);
    let read = owner.get(&format!("/api/incidents/{incident}")).await;
    insta::assert_json_snapshot!("incident", redacted(&read.body));

    // A channel's test notification, delivered, in the delivery log.
    let channel = owner
        .post(
            "/api/channels",
            json!({"name": "hook", "kind": "webhook", "url": receiver().await,
                   "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}),
        )
        .await;
    assert_eq!(channel.status, StatusCode::CREATED, "{:?}", channel.body);
    let channel_id = channel.body["id"].as_i64().unwrap();
    let mut channel_body = channel.body.clone();
    // The receiver's port changes every run.
    channel_body["settings"]["url"] = json!("[url]");
    insta::assert_json_snapshot!("channel", redacted(&channel_body));
    let queued = owner
        .post(&format!("/api/channels/{channel_id}/test"), json!({}))
        .await;
    assert_eq!(queued.status, StatusCode::ACCEPTED);
    insta::assert_json_snapshot!("test_queued", redacted(&queued.body));
    let log = wait_until(&owner, "/api/notifications", |body| {
        body["notifications"][0]["status"] == "delivered"
    })
    .await;
    insta::assert_json_snapshot!("notification_page", redacted(&log));

    // A rule sending the monitor's outages and recoveries to the channel.
    let rule = owner
        .post(
            "/api/alert-rules",
            json!({"name": "db down", "monitor_id": monitor, "events": ["down", "up"],
                   "channel_ids": [channel_id], "remind_every": "1h"}),
        )
        .await;
    assert_eq!(rule.status, StatusCode::CREATED, "{:?}", rule.body);
    insta::assert_json_snapshot!("alert_rule", redacted(&rule.body));

    // An error: every bad field listed, in the one shape.
    let bad = owner
        .post(
            "/api/monitors",
            json!({"name": "", "kind": "http", "url": "ftp://x", "interval": "5x"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    insta::assert_json_snapshot!("error_invalid", bad.body);
    let missing = owner.get("/api/monitors/999999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    insta::assert_json_snapshot!("error_not_found", missing.body);
}

#[tokio::test]
async fn the_team_answers_keep_their_json_shape() {
    let database = watchtower_testkit::TestDatabase::sqlite();
    let (app, _running) = TestApp::start(&database.url, Options::default()).await;
    let owner_id = app.user("owner@example.com", false).await;
    let member_id = app.user("member@example.com", false).await;
    let team = app.team("Ops", Plan::Unlimited, owner_id).await;
    app.join(team, member_id, Role::Member).await;
    let owner = app.login("owner@example.com").await;

    let detail = owner.get(&format!("/api/teams/{team}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    let mut detail = detail.body.clone();
    // Which channel kinds a plan allows is the plan table's business, not the answer's shape.
    assert!(detail["limits"]["channel_kinds"].is_array());
    detail["limits"]["channel_kinds"] = json!(["[kind]"]);
    insta::assert_json_snapshot!("team_detail", redacted(&detail));
    let members = owner.get(&format!("/api/teams/{team}/members")).await;
    assert_eq!(members.status, StatusCode::OK);
    insta::assert_json_snapshot!("member_list", redacted(&members.body));

    // The secrets shown once: checked, then replaced, since they differ on every run.
    let invited = owner
        .post(
            &format!("/api/teams/{team}/invitations"),
            json!({"email": "new@example.com", "role": "viewer"}),
        )
        .await;
    assert_eq!(invited.status, StatusCode::CREATED, "{:?}", invited.body);
    let mut invitation = invited.body.clone();
    assert!(invitation["token"].as_str().is_some_and(|t| !t.is_empty()));
    invitation["token"] = json!("[secret]");
    insta::assert_json_snapshot!("invitation_created", redacted(&invitation));

    let created = owner
        .post(
            &format!("/api/teams/{team}/api-keys"),
            json!({"name": "deploy", "scope": "read_only"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let mut api_key = created.body.clone();
    let key = api_key["key"].as_str().expect("the key, once").to_owned();
    assert!(key.starts_with("wtk_"));
    assert_eq!(api_key["api_key"]["prefix"], key[..12]);
    api_key["key"] = json!("[secret]");
    api_key["api_key"]["prefix"] = json!("[prefix]");
    insta::assert_json_snapshot!("api_key_created", redacted(&api_key));

    // A plan limit: the free plan has no API access.
    let free = app.team("Free", Plan::Free, owner_id).await;
    let refused = owner
        .post(
            &format!("/api/teams/{free}/api-keys"),
            json!({"name": "deploy", "scope": "read_only"}),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::PAYMENT_REQUIRED,
        "{:?}",
        refused.body
    );
    insta::assert_json_snapshot!("error_plan_limit", refused.body);
}
