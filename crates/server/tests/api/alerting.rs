//! Alerting end to end in process: a confirmed outage reaches a local webhook receiver signed the
//! Standard Webhooks way; a receiver that is down gets the notification once it is back, exactly
//! once; channels never echo their secrets; the delivery log shows every attempt.

use crate::support::*;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use watchtower_core::{Plan, TeamId};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A webhook receiver on loopback that records each request's headers and body, and answers
/// with the status the test sets (so it can play "down").
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    status: Arc<Mutex<u16>>,
}

impl Receiver {
    pub(crate) async fn start() -> (Self, String) {
        let receiver = Self {
            status: Arc::new(Mutex::new(200)),
            ..Self::default()
        };
        async fn hook(
            State(receiver): State<Receiver>,
            headers: HeaderMap,
            body: String,
        ) -> AxumStatus {
            let status = *receiver.status.lock().unwrap();
            if status == 200 {
                receiver.received.lock().unwrap().push((headers, body));
            }
            AxumStatus::from_u16(status).unwrap()
        }
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    pub(crate) fn received(&self) -> Vec<(HeaderMap, String)> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (bounded) until `count` requests arrived.
    pub(crate) async fn wait_for(&self, count: usize) -> Vec<(HeaderMap, String)> {
        for _ in 0..300 {
            if self.received().len() >= count {
                return self.received();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{count} deliveries expected, got {:?}", self.received());
    }
}

async fn owner(app: &TestApp) -> (Client, TeamId) {
    let owner = app.user("owner@example.com", false).await;
    let team = app.team("Ops", Plan::Unlimited, owner).await;
    (app.login("owner@example.com").await.in_team(team), team)
}

pub(crate) async fn webhook_channel(owner: &Client, url: &str) -> watchtower_core::ChannelId {
    let created = owner
        .post(
            "/api/channels",
            json!({"name": "hook", "kind": "webhook", "url": url, "secret": SECRET}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert!(
        !created.body.to_string().contains(SECRET),
        "the secret is never answered back"
    );
    watchtower_core::ChannelId(created.body["id"].as_i64().unwrap())
}

async fn failing_monitor(owner: &Client) -> i64 {
    let created = owner
        .post(
            "/api/monitors",
            json!({"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 9, "interval": "1h"}),
        )
        .await;
    created.body["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_confirmed_outage_reaches_the_webhook_signed_and_once() {
    each_backend(Options::default(), |app| async move {
        let (receiver, url) = Receiver::start().await;
        let (owner, _team) = owner(&app).await;
        let channel = webhook_channel(&owner, &url).await;
        let rule = owner
            .post(
                "/api/alert-rules",
                json!({"name": "all", "events": ["down", "up"], "channel_ids": [channel]}),
            )
            .await;
        assert_eq!(rule.status, StatusCode::CREATED, "{:?}", rule.body);
        let monitor = failing_monitor(&owner).await;
        owner
            .post(&format!("/api/monitors/{monitor}/check"), json!({}))
            .await;

        let (headers, raw) = receiver.wait_for(1).await.remove(0);
        let body: Value = serde_json::from_str(&raw)?;
        assert_eq!(body["type"], "monitor.down");
        assert_eq!(body["data"]["monitor_name"], "db");
        // Verify the signature independently of WatchTower's code.
        let id = headers["webhook-id"].to_str()?;
        let timestamp = headers["webhook-timestamp"].to_str()?;
        let signature = headers["webhook-signature"].to_str()?;
        let key = base64_decode(SECRET.trim_start_matches("whsec_"));
        let signed = format!("{id}.{timestamp}.{raw}");
        assert!(
            signature
                .split(' ')
                .any(|s| s == format!("v1,{}", hmac_base64(&key, signed.as_bytes()))),
            "signature {signature} does not verify"
        );
        let log = owner.get("/api/notifications").await;
        assert_eq!(log.body["notifications"][0]["status"], "delivered");
        assert_eq!(log.body["notifications"][0]["attempts"], 1);

        // The message carries a signed link that acknowledges the incident without signing in.
        let link = body["data"]["acknowledge_url"]
            .as_str()
            .expect("an acknowledge link");
        let path = link.trim_start_matches("https://watchtower.example.com");
        let flipped = if path.ends_with('0') { '1' } else { '0' };
        let forged = format!("{}{flipped}", &path[..path.len() - 1]);
        assert_eq!(
            app.anonymous().get(&forged).await.status,
            StatusCode::NOT_FOUND
        );
        // Following the link only asks: a mail scanner or link preview acknowledges nothing.
        let page = reqwest::Client::new().get(app.url(path)).send().await?;
        assert_eq!(page.status(), StatusCode::OK);
        assert!(
            page.headers()["content-type"]
                .to_str()?
                .starts_with("text/html")
        );
        let html = page.text().await?;
        assert!(html.contains("<form method=\"post\""), "{html}");
        assert!(!html.contains("<script"), "{html}");
        let incident = body["data"]["incident_id"].as_i64().expect("an incident");
        let unchanged = owner.get(&format!("/api/incidents/{incident}")).await;
        assert_eq!(unchanged.status, StatusCode::OK);
        assert!(
            unchanged.body["acknowledged_at"].is_null(),
            "{:?}",
            unchanged.body
        );
        assert_eq!(
            app.anonymous().post(&forged, json!({})).await.status,
            StatusCode::NOT_FOUND
        );
        // The page's button POSTs the form; that acknowledges.
        let action = html
            .split("action=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the form's action")
            .replace("&amp;", "&");
        assert_eq!(action, path);
        let confirmed = reqwest::Client::new()
            .post(app.url(&action))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("")
            .send()
            .await?;
        assert_eq!(confirmed.status(), StatusCode::OK);
        assert!(confirmed.text().await?.contains("acknowledged"));
        let acknowledged = app.anonymous().post(path, json!({})).await;
        assert_eq!(
            acknowledged.status,
            StatusCode::OK,
            "{:?}",
            acknowledged.body
        );
        assert_eq!(
            acknowledged.body["incident"]["acknowledged_by"],
            "signed link"
        );
        Ok(())
    })
    .await;
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

fn hmac_base64(key: &[u8], message: &[u8]) -> String {
    use base64::Engine;
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(message);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn a_receiver_that_was_down_gets_the_notification_once_it_is_back() {
    each_backend(Options::default(), |app| async move {
        let (receiver, url) = Receiver::start().await;
        *receiver.status.lock().unwrap() = 503;
        let (owner, _team) = owner(&app).await;
        let channel = webhook_channel(&owner, &url).await;
        owner
            .post(
                "/api/alert-rules",
                json!({"name": "down", "events": ["down"], "channel_ids": [channel]}),
            )
            .await;
        let monitor = failing_monitor(&owner).await;
        owner
            .post(&format!("/api/monitors/{monitor}/check"), json!({}))
            .await;
        // Wait (bounded) for a failed attempt to show in the log.
        let mut failed_attempt = Value::Null;
        for _ in 0..300 {
            let log = owner.get("/api/notifications").await.body;
            if log["notifications"][0]["last_status_code"] == 503 {
                failed_attempt = log["notifications"][0].clone();
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(failed_attempt["status"], "pending", "{failed_attempt}");
        *receiver.status.lock().unwrap() = 200;
        let delivered = receiver.wait_for(1).await;
        // Give any duplicate a chance to arrive (bounded), then count.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            receiver.received().len(),
            1,
            "exactly one delivery: {delivered:?}"
        );
        let log = owner.get("/api/notifications").await.body;
        assert_eq!(log["notifications"][0]["status"], "delivered");
        assert!(log["notifications"][0]["attempts"].as_u64().unwrap() >= 2);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn channels_hide_secrets_test_on_demand_and_follow_the_plan() {
    each_backend(Options::default(), |app| async move {
        let (receiver, url) = Receiver::start().await;
        let (owner, team) = owner(&app).await;
        let channel = webhook_channel(&owner, &url).await;
        let read = owner.get(&format!("/api/channels/{channel}")).await;
        assert_eq!(read.status, StatusCode::OK);
        assert!(!read.body.to_string().contains(SECRET));
        let bad = owner
            .post("/api/channels", json!({"kind": "slack", "webhook_url": "not a url"}))
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        let fields: Vec<&str> = bad.body["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&"name") && fields.contains(&"webhook_url"), "{fields:?}");

        let test = owner.post(&format!("/api/channels/{channel}/test"), json!({})).await;
        assert_eq!(test.status, StatusCode::ACCEPTED);
        let (_, raw) = receiver.wait_for(1).await.remove(0);
        assert_eq!(serde_json::from_str::<Value>(&raw)?["type"], "monitor.test");

        // Free includes email only, and one rule.
        app.store.set_team_plan(team, Plan::Free).await?;
        let slack = owner
            .post("/api/channels", json!({"name": "chat", "kind": "slack", "webhook_url": "https://hooks.slack.com/services/T/B/X"}))
            .await;
        assert_eq!(slack.status, StatusCode::PAYMENT_REQUIRED);
        assert_eq!(slack.body["error"]["limit"], "channel_kind");
        let rule = |name: &str| json!({"name": name, "events": ["down"], "channel_ids": [channel]});
        assert_eq!(owner.post("/api/alert-rules", rule("one")).await.status, StatusCode::CREATED);
        let second = owner.post("/api/alert-rules", rule("two")).await;
        assert_eq!(second.status, StatusCode::PAYMENT_REQUIRED);
        assert_eq!(second.body["error"]["limit"], "alert_rules");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_maintenance_window_holds_the_alert_and_shows_on_the_monitor() {
    each_backend(Options::default(), |app| async move {
        let (receiver, url) = Receiver::start().await;
        let (owner, _team) = owner(&app).await;
        let channel = webhook_channel(&owner, &url).await;
        owner
            .post("/api/alert-rules", json!({"name": "down", "events": ["down"], "channel_ids": [channel]}))
            .await;
        let bad = owner.post("/api/maintenance", json!({"name": "x", "cron": "sometimes"})).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        let window = owner
            .post("/api/maintenance", json!({"name": "db upgrade", "tag": "db", "cron": "* * * * *", "duration": "1h"}))
            .await;
        assert_eq!(window.status, StatusCode::CREATED, "{:?}", window.body);
        assert!(window.body["open_until"].is_i64(), "a window every minute for an hour is open now");
        let created = owner
            .post("/api/monitors", json!({"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 9, "interval": "1h", "tags": ["db"]}))
            .await;
        let monitor = created.body["id"].as_i64().unwrap();
        owner.post(&format!("/api/monitors/{monitor}/check"), json!({})).await;

        let mut held = Value::Null;
        for _ in 0..300 {
            let log = owner.get("/api/notifications").await.body;
            if log["notifications"][0]["last_error"].as_str().is_some_and(|e| e.starts_with("held by maintenance")) {
                held = log["notifications"][0].clone();
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(held["status"], "pending", "{held}");
        assert_eq!(held["attempts"], 0, "holding is not an attempt");
        assert!(receiver.received().is_empty());
        let shown = owner.get(&format!("/api/monitors/{monitor}")).await.body;
        assert_eq!(shown["status"]["state"], "maintenance");
        assert_eq!(shown["status"]["maintenance"]["window"], "db upgrade");

        // Ending the window early releases the held alert: the outage is still there.
        let id = window.body["id"].as_i64().unwrap();
        assert_eq!(owner.delete(&format!("/api/maintenance/{id}")).await.status, StatusCode::NO_CONTENT);
        let (_, raw) = receiver.wait_for(1).await.remove(0);
        assert_eq!(serde_json::from_str::<Value>(&raw)?["type"], "monitor.down");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn reminders_repeat_while_down_and_stop_at_acknowledgement() {
    each_backend(Options::default(), |app| async move {
        let (receiver, url) = Receiver::start().await;
        let (owner, team) = owner(&app).await;
        let channel = webhook_channel(&owner, &url).await;
        let too_often = owner
            .post("/api/alert-rules", json!({"name": "r", "events": ["down"], "channel_ids": [channel], "remind_every": "5s"}))
            .await;
        assert_eq!(too_often.status, StatusCode::BAD_REQUEST, "the API's minimum is 1m");
        // A one-second reminder, written through the store, so the test need not wait minutes.
        app.store
            .create_rule(&watchtower_store::NewRule {
                team_id: team,
                name: "remind".into(),
                monitor_id: None,
                tag: None,
                events: vec!["down".into()],
                channel_ids: vec![channel],
                remind_every: Some(Duration::from_secs(1)),
                escalation_policy_id: None,
                causes: Vec::new(),
                certificate_days: None,
                created_at: watchtower_core::Timestamp::now(),
            })
            .await?;
        let monitor = failing_monitor(&owner).await;
        owner.post(&format!("/api/monitors/{monitor}/check"), json!({})).await;
        let deliveries = receiver.wait_for(2).await;
        let types: Vec<String> = deliveries
            .iter()
            .map(|(_, raw)| serde_json::from_str::<Value>(raw).unwrap()["type"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(types[..2], ["monitor.down", "monitor.reminder"]);

        let incident = owner.get(&format!("/api/incidents?monitor={monitor}")).await.body["incidents"][0]["id"]
            .as_i64()
            .unwrap();
        owner.post(&format!("/api/incidents/{incident}/acknowledge"), json!({})).await;
        let after_ack = receiver.received().len();
        // A reminder already queued is dropped; none follows (bounded wait past two intervals).
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(receiver.received().len() <= after_ack + 1, "{:?}", receiver.received().len());
        let settled = receiver.received().len();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(receiver.received().len(), settled, "no reminders after acknowledgement");
        let log = owner.get("/api/notifications").await.body;
        assert!(
            log["notifications"].as_array().unwrap().iter().any(|n| n["status"] == "suppressed"
                && n["last_error"] == "the incident was acknowledged"),
            "{log}"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_dependents_alert_is_suppressed_while_its_dependency_is_down() {
    each_backend(Options::default(), |app| async move {
        let (receiver, url) = Receiver::start().await;
        let (owner, _team) = owner(&app).await;
        let channel = webhook_channel(&owner, &url).await;
        owner
            .post("/api/alert-rules", json!({"name": "all", "events": ["down", "up"], "channel_ids": [channel]}))
            .await;
        let database = failing_monitor(&owner).await;
        let api = owner
            .post("/api/monitors", json!({"name": "api", "kind": "tcp", "host": "127.0.0.1", "port": 9, "interval": "1h", "depends_on": [database]}))
            .await;
        assert_eq!(api.status, StatusCode::CREATED, "{:?}", api.body);
        assert_eq!(api.body["depends_on"], json!([database]));
        let api = api.body["id"].as_i64().unwrap();
        let bad = owner
            .post("/api/monitors", json!({"name": "x", "kind": "tcp", "host": "h", "port": 1, "depends_on": [true]}))
            .await;
        assert_eq!(bad.body["error"]["details"][0]["field"], "depends_on[0]");

        owner.post(&format!("/api/monitors/{database}/check"), json!({})).await;
        receiver.wait_for(1).await;
        owner.post(&format!("/api/monitors/{api}/check"), json!({})).await;
        let mut suppressed = Value::Null;
        for _ in 0..300 {
            let log = owner.get("/api/notifications").await.body;
            if let Some(entry) = log["notifications"]
                .as_array()
                .unwrap()
                .iter()
                .find(|n| n["monitor_id"] == api && n["status"] == "suppressed")
            {
                suppressed = entry.clone();
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(suppressed["last_error"], "dependency 'db' is down", "{suppressed}");
        assert_eq!(receiver.received().len(), 1, "only the database's alert went out");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn multi_tenant_notifications_may_not_reach_internal_addresses() {
    let options = Options {
        multi_tenant: true,
        ..Options::default()
    };
    each_backend(options, |app| async move {
        let (receiver, url) = Receiver::start().await;
        let (owner, _team) = owner(&app).await;
        // Literally 127.0.0.1, and a name that resolves to it.
        let by_name = url.replace("127.0.0.1", "localhost");
        for target in [url.clone(), by_name] {
            let channel = webhook_channel(&owner, &target).await;
            owner
                .post(&format!("/api/channels/{channel}/test"), json!({}))
                .await;
        }
        let mut failed = Vec::new();
        for _ in 0..300 {
            let log = owner.get("/api/notifications").await.body;
            // The literal address fails for good; the name fails at its resolver, which reads as
            // a connection error and is retried, never reaching the receiver.
            failed = log["notifications"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["status"] != "delivered")
                .filter_map(|n| n["last_error"].as_str().map(str::to_owned))
                .collect();
            if failed.len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(failed.len(), 2, "{failed:?}");
        assert!(
            receiver.received().is_empty(),
            "nothing reached the internal receiver"
        );
        Ok(())
    })
    .await;
}

/// Two receivers standing for the on-call engineer and the technical lead.
async fn escalation_setup(app: &TestApp, lead_after_ms: u64) -> (Client, Receiver, Receiver, i64) {
    let (on_call, on_call_url) = Receiver::start().await;
    let (lead, lead_url) = Receiver::start().await;
    let (owner, team) = owner(app).await;
    let first = webhook_channel(&owner, &on_call_url).await;
    let second = webhook_channel(&owner, &lead_url).await;
    let bad = owner
        .post("/api/escalation-policies", json!({"name": "x", "steps": [{"after": "5m", "channel_ids": [first]}, {"after": "1m", "channel_ids": []}]}))
        .await;
    assert_eq!(
        bad.body["error"]["details"].as_array().unwrap().len(),
        2,
        "{:?}",
        bad.body
    );
    let created = owner
        .post(
            "/api/escalation-policies",
            json!({"name": "on-call", "steps": [
                {"after": "0s", "channel_ids": [first]},
                {"after": "15m", "channel_ids": [second]},
            ]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    // The API's steps are minutes apart; the test shortens the second step in the store.
    let steps = vec![
        watchtower_store::EscalationStep {
            offset_ms: 0,
            channel_ids: vec![first],
        },
        watchtower_store::EscalationStep {
            offset_ms: lead_after_ms,
            channel_ids: vec![second],
        },
    ];
    let policy = app
        .store
        .create_escalation_policy(team, "fast", &steps, watchtower_core::Timestamp::now())
        .await
        .expect("policy");
    let rule = owner
        .post("/api/alert-rules", json!({"name": "escalate", "events": ["down", "up"], "escalation_policy_id": policy.id}))
        .await;
    assert_eq!(rule.status, StatusCode::CREATED, "{:?}", rule.body);
    let monitor = failing_monitor(&owner).await;
    (owner, on_call, lead, monitor)
}

#[tokio::test]
async fn an_unacknowledged_outage_escalates_to_the_next_step() {
    each_backend(Options::default(), |app| async move {
        let (owner, on_call, lead, monitor) = escalation_setup(&app, 1_000).await;
        owner
            .post(&format!("/api/monitors/{monitor}/check"), json!({}))
            .await;
        on_call.wait_for(1).await;
        let (_, raw) = lead.wait_for(1).await.remove(0);
        assert_eq!(serde_json::from_str::<Value>(&raw)?["type"], "monitor.down");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn acknowledging_stops_the_escalation() {
    each_backend(Options::default(), |app| async move {
        let (owner, on_call, lead, monitor) = escalation_setup(&app, 3_000).await;
        owner
            .post(&format!("/api/monitors/{monitor}/check"), json!({}))
            .await;
        on_call.wait_for(1).await;
        let incident = owner
            .get(&format!("/api/incidents?monitor={monitor}"))
            .await
            .body["incidents"][0]["id"]
            .as_i64()
            .unwrap();
        owner
            .post(&format!("/api/incidents/{incident}/acknowledge"), json!({}))
            .await;
        // Wait (bounded) for the second step's row to be dropped, then check nobody was reached.
        let mut dropped = false;
        for _ in 0..200 {
            let log = owner.get("/api/notifications").await.body;
            dropped = log["notifications"].as_array().unwrap().iter().any(|n| {
                n["status"] == "suppressed"
                    && n["last_error"] == "acknowledged before this escalation step"
            });
            if dropped {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(dropped, "the second step was not dropped");
        assert!(
            lead.received().is_empty(),
            "the technical lead was not paged"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_rule_for_some_causes_fires_only_for_those() {
    each_backend(Options::default(), |app| async move {
        let (receiver, url) = Receiver::start().await;
        let (owner, _team) = owner(&app).await;
        let channel = webhook_channel(&owner, &url).await;
        let bad = owner
            .post("/api/alert-rules", json!({"name": "k", "events": ["down"], "channel_ids": [channel], "causes": ["typo"]}))
            .await;
        assert_eq!(bad.body["error"]["details"][0]["field"], "causes[0]");
        owner
            .post("/api/alert-rules", json!({"name": "content", "events": ["down", "up"], "channel_ids": [channel], "causes": ["keyword"]}))
            .await;
        let target = watchtower_testkit::TargetServer::start(0).await?;
        let wrong_text = owner
            .post("/api/monitors", json!({"name": "page", "kind": "http", "url": target.url(), "interval": "1h", "keyword": "sold out"}))
            .await;
        let refused = failing_monitor(&owner).await;
        owner.post(&format!("/api/monitors/{refused}/check"), json!({})).await;
        let page = wrong_text.body["id"].as_i64().unwrap();
        owner.post(&format!("/api/monitors/{page}/check"), json!({})).await;
        let (_, raw) = receiver.wait_for(1).await.remove(0);
        let body: Value = serde_json::from_str(&raw)?;
        assert_eq!(body["data"]["monitor_name"], "page");
        // Both incidents are open; only the keyword failure was announced (bounded wait).
        for _ in 0..100 {
            let open = owner.get("/api/incidents?open=true").await.body["incidents"].as_array().unwrap().len();
            if open == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(receiver.received().len(), 1);
        target.stop().await;
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn certificate_rules_take_a_threshold_in_days() {
    each_backend(Options::default(), |app| async move {
        let (owner, _team) = owner(&app).await;
        let channel = webhook_channel(&owner, "http://127.0.0.1:9/hook").await;
        let default = owner
            .post("/api/alert-rules", json!({"name": "certs", "events": ["certificate_expiring"], "channel_ids": [channel]}))
            .await;
        assert_eq!(default.status, StatusCode::CREATED, "{:?}", default.body);
        assert_eq!(default.body["certificate_days"], 14);
        let week = owner
            .post("/api/alert-rules", json!({"name": "week", "events": ["certificate_expiring", "down"], "channel_ids": [channel], "certificate_days": 7}))
            .await;
        assert_eq!(week.body["certificate_days"], 7);

        let bad = owner
            .post("/api/alert-rules", json!({"name": "bad", "events": ["certificate_expiring"], "channel_ids": [channel], "certificate_days": 0}))
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad.body["error"]["details"][0]["field"], "certificate_days");
        let misplaced = owner
            .post("/api/alert-rules", json!({"name": "bad", "events": ["down"], "channel_ids": [channel], "certificate_days": 30}))
            .await;
        assert_eq!(misplaced.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            misplaced.body["error"]["details"][0]["problem"],
            "applies only with the certificate_expiring event"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn channels_and_rules_from_yaml_alert_and_reapply_unchanged() {
    each_backend(Options::default(), |app| async move {
        let (receiver, url) = Receiver::start().await;
        let (owner, _team) = owner(&app).await;
        let file = format!(
            "monitors:\n  - {{key: db, name: db, kind: tcp, host: 127.0.0.1, port: 9, interval: 1h}}\n\
             channels:\n  - name: ops hook\n    kind: webhook\n    url: {url}\n    secret: {SECRET}\n\
             alert_rules:\n  - name: db outages\n    monitor: db\n    events: [down]\n    channels: [ops hook]\n"
        );
        let put = |body: String| {
            owner
                .http
                .put(app.url("/api/monitors/yaml"))
                .headers(owner.headers.clone())
                .body(body)
                .send()
        };
        let first: Value = put(file.clone()).await?.json().await?;
        assert_eq!(first["alerting"]["channels_created"], json!(["ops hook"]), "{first}");
        assert_eq!(first["alerting"]["rules_created"], json!(["db outages"]));
        let again: Value = put(file.clone()).await?.json().await?;
        assert_eq!(again["alerting"]["channels_unchanged"], json!(["ops hook"]), "{again}");
        assert_eq!(again["alerting"]["rules_unchanged"], json!(["db outages"]));
        let changed: Value = put(file.replace("events: [down]", "events: [down, up]"))
            .await?
            .json()
            .await?;
        assert_eq!(changed["alerting"]["rules_replaced"], json!(["db outages"]));
        assert_eq!(owner.get("/api/alert-rules").await.body["rules"].as_array().unwrap().len(), 1);
        let channels = owner.get("/api/channels").await.body;
        assert!(!channels.to_string().contains(SECRET), "secrets are not answered: {channels}");

        // The file's rule routes the monitor's outage to the file's channel.
        let monitors = owner.get("/api/monitors").await.body;
        let db = monitors["monitors"][0]["id"].as_i64().unwrap();
        owner.post(&format!("/api/monitors/{db}/check"), json!({})).await;
        let (_, raw) = receiver.wait_for(1).await.remove(0);
        let body: Value = serde_json::from_str(&raw)?;
        assert_eq!(body["type"], "monitor.down");

        // A bad channel or a dangling reference: every problem with its line, nothing applied.
        let broken = file
            .replace("kind: webhook", "kind: pager")
            .replace("channels: [ops hook]", "channels: [nobody]");
        let answer = put(broken).await?;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
        let body: Value = answer.json().await?;
        let fields: Vec<&str> = body["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert!(fields.iter().any(|f| f.starts_with("channels[0].kind (line 5")), "{body}");
        assert!(fields.iter().any(|f| f.starts_with("alert_rules[0].channels[0] (line 12")), "{body}");
        Ok(())
    })
    .await;
}

/// A member may apply monitors but may not create or change channels: a file that declares one
/// (named like an existing channel, to take over its URL) is refused, dry run too, and changes
/// nothing. An admin's file is applied, and each channel and rule it changes is audited the way
/// the API routes audit them.
#[tokio::test]
async fn a_file_with_channels_needs_the_channel_permission_and_every_change_is_audited() {
    each_backend(Options::default(), |app| async move {
        let (owner, team) = owner(&app).await;
        let channel = webhook_channel(&owner, "http://127.0.0.1:9/original").await;
        let member_id = app.user("member@example.com", false).await;
        app.join(team, member_id, watchtower_core::Role::Member).await;
        let member = app.login("member@example.com").await.in_team(team);
        let takeover = "monitors: []\nchannels:\n  - name: hook\n    kind: webhook\n    url: http://127.0.0.1:9/attacker\n\
             alert_rules:\n  - name: all\n    events: [down]\n    channels: [hook]\n";
        let put = |client: &Client, path: &str, body: &str| {
            client
                .http
                .put(app.url(path))
                .headers(client.headers.clone())
                .body(body.to_owned())
                .send()
        };
        for path in ["/api/monitors/yaml", "/api/monitors/yaml?dry_run=true"] {
            let refused = put(&member, path, takeover).await?;
            let status = refused.status();
            let body: Value = refused.json().await?;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
            assert_eq!(body["error"]["code"], "forbidden", "{body}");
        }
        let kept = app.store.get_channel(team, channel).await?.expect("kept");
        assert_eq!(kept.config["url"], "http://127.0.0.1:9/original");
        assert!(app.store.rules(team).await?.is_empty(), "no rule was created");

        let applied = put(&owner, "/api/monitors/yaml", takeover).await?;
        assert_eq!(applied.status(), StatusCode::OK);
        let changed = takeover.replace("events: [down]", "events: [down, up]");
        let replaced = put(&owner, "/api/monitors/yaml", &changed).await?;
        assert_eq!(replaced.status(), StatusCode::OK);
        let audit = owner.get(&format!("/api/teams/{team}/audit-log")).await;
        let entries: Vec<(String, String)> = audit.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap().to_owned(),
                    e["target"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let rules = app.store.rules(team).await?;
        assert_eq!(rules.len(), 1);
        let actions: Vec<&str> = entries.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(
            actions,
            [
                // Newest first: the second file replaced the rule...
                "alert_rule.created",
                "alert_rule.deleted",
                "monitors.applied",
                // ...the first changed the channel and created the rule.
                "alert_rule.created",
                "channel.updated",
                "monitors.applied",
                "channel.created",
            ],
            "{}",
            audit.body
        );
        assert_eq!(entries[0].1, format!("alert_rule:{}", rules[0].id));
        assert_eq!(entries[4].1, format!("channel:{channel}"));
        assert_eq!(
            audit.body["entries"][4]["actor"]["label"],
            "owner@example.com"
        );
        assert_eq!(audit.body["entries"][4]["details"]["via"], "monitors_file");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_runaway_template_is_refused_and_a_stored_one_cannot_stall_the_test_notification() {
    each_backend(Options::default(), |app| async move {
        let (receiver, url) = Receiver::start().await;
        let (owner, team) = owner(&app).await;
        let runaway = "{% for x in range(100000) * 100000000000 %}{% endfor %}";
        let refused = owner
            .post(
                "/api/channels",
                json!({"name": "loop", "kind": "slack", "webhook_url": url,
                       "message_template": runaway}),
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{:?}",
            refused.body
        );
        assert_eq!(
            refused.body["error"]["details"][0]["field"],
            "message_template"
        );

        // A row saved before templates were bounded still delivers, promptly, in the default
        // wording.
        let stored = app
            .store
            .create_channel(
                team,
                "legacy",
                "slack",
                &json!({"kind": "slack", "webhook_url": url, "message_template": runaway}),
                watchtower_core::Timestamp::now(),
            )
            .await?;
        let test = tokio::time::timeout(
            Duration::from_secs(20),
            owner.post(&format!("/api/channels/{}/test", stored.id), json!({})),
        )
        .await
        .expect("the test endpoint answers");
        assert_eq!(test.status, StatusCode::ACCEPTED);
        let (_, raw) = receiver.wait_for(1).await.remove(0);
        let body: Value = serde_json::from_str(&raw)?;
        assert!(!raw.contains("100000"), "{raw}");
        assert!(body["text"].as_str().is_some(), "{body}");
        Ok(())
    })
    .await;
}

/// The `field`s of a 400's details.
fn bad_fields(answer: &Answer) -> Vec<String> {
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{:?}", answer.body);
    assert_eq!(answer.code(), "invalid_request", "{:?}", answer.body);
    answer.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn channels_rules_policies_and_windows_are_replaced_in_place_by_put() {
    each_backend(Options::default(), |app| async move {
        let (owner, team) = owner(&app).await;
        let channel = webhook_channel(&owner, "http://127.0.0.1:9/hook").await;
        let path = format!("/api/channels/{channel}");

        // A channel sent back as it was shown, renamed: the stored secret and URL are kept.
        let shown = owner.get(&path).await.body;
        let mut body = shown["settings"].clone();
        body["name"] = json!("renamed hook");
        let renamed = owner.put(&path, body.clone()).await;
        assert_eq!(renamed.status, StatusCode::OK, "{:?}", renamed.body);
        assert!(!renamed.body.to_string().contains(SECRET));
        let stored = app.store.get_channel(team, channel).await?.unwrap();
        assert_eq!(stored.name, "renamed hook");
        assert_eq!(stored.config["secret"], SECRET, "the secret is kept");
        assert_eq!(stored.config["url"], "http://127.0.0.1:9/hook");
        // Pointed at another host, it must be given its secret again.
        body["url"] = json!("http://elsewhere.example.net/hook");
        assert_eq!(bad_fields(&owner.put(&path, body.clone()).await), ["secret"]);
        body["secret"] = json!("whsec_bmV3LXNpZ25pbmcta2V5LW9mLTMyLWJ5dGVz");
        assert_eq!(owner.put(&path, body).await.status, StatusCode::OK);
        let stored = app.store.get_channel(team, channel).await?.unwrap();
        assert_eq!(stored.config["url"], "http://elsewhere.example.net/hook");

        // A rule: bad fields are all named and nothing changes; a good body replaces it.
        let created = owner
            .post(
                "/api/alert-rules",
                json!({"name": "outages", "events": ["down"], "channel_ids": [channel]}),
            )
            .await;
        let rule = created.body["id"].as_i64().unwrap();
        let rule_path = format!("/api/alert-rules/{rule}");
        let bad = owner
            .put(
                &rule_path,
                json!({"name": "", "events": ["sideways"], "channel_ids": [], "remind_every": "soon"}),
            )
            .await;
        let mut fields = bad_fields(&bad);
        fields.sort();
        assert_eq!(fields, ["channel_ids", "events[0]", "name", "remind_every"]);
        assert_eq!(app.store.rules(team).await?[0].name, "outages");
        let replaced = owner
            .put(
                &rule_path,
                json!({"name": "all changes", "events": ["down", "up"], "channel_ids": [channel], "remind_every": "30m"}),
            )
            .await;
        assert_eq!(replaced.status, StatusCode::OK, "{:?}", replaced.body);
        assert_eq!(replaced.body["id"], rule);
        assert_eq!(replaced.body["events"], json!(["down", "up"]));
        assert_eq!(replaced.body["remind_every_ms"], 1_800_000);

        // A policy: steps out of order are refused at their field.
        let created = owner
            .post(
                "/api/escalation-policies",
                json!({"name": "on-call", "steps": [{"after": "0s", "channel_ids": [channel]}]}),
            )
            .await;
        let policy_path = format!("/api/escalation-policies/{}", created.body["id"]);
        let steps = |first: &str, second: &str| {
            json!({"name": "on-call, then lead", "steps": [
                {"after": first, "channel_ids": [channel]}, {"after": second, "channel_ids": [channel]}]})
        };
        assert_eq!(
            bad_fields(&owner.put(&policy_path, steps("15m", "5m")).await),
            ["steps[1].after"]
        );
        let replaced = owner.put(&policy_path, steps("0s", "15m")).await;
        assert_eq!(replaced.status, StatusCode::OK, "{:?}", replaced.body);
        assert_eq!(replaced.body["steps"][1]["offset_ms"], 900_000);

        // A window: the parser's problems, then the new schedule.
        let created = owner
            .post(
                "/api/maintenance",
                json!({"name": "weekly", "cron": "0 2 * * SUN", "duration": "2h"}),
            )
            .await;
        let window_path = format!("/api/maintenance/{}", created.body["id"]);
        let bad = owner
            .put(&window_path, json!({"name": "weekly", "cron": "every sunday", "duration": "2h"}))
            .await;
        assert_eq!(bad_fields(&bad), ["cron"]);
        let replaced = owner
            .put(
                &window_path,
                json!({"name": "nightly", "cron": "0 3 * * *", "duration": "30m", "timezone": "Europe/Berlin"}),
            )
            .await;
        assert_eq!(replaced.status, StatusCode::OK, "{:?}", replaced.body);
        assert_eq!(replaced.body["name"], "nightly");
        assert_eq!(
            app.store.maintenance_windows(team).await?[0].spec.name,
            "nightly"
        );

        // Another team's caller finds none of them, and changes nothing.
        let stranger = app.user("stranger@example.com", false).await;
        let theirs = app.store.teams_of(stranger).await?[0].team.id;
        let stranger = app.login("stranger@example.com").await.in_team(theirs);
        for (path, body) in [
            (rule_path.as_str(), json!({"name": "x", "events": ["down"], "channel_ids": [channel]})),
            (policy_path.as_str(), steps("0s", "1h")),
            (window_path.as_str(), json!({"name": "x", "cron": "0 1 * * *", "duration": "1h"})),
            (path.as_str(), json!({"name": "x", "kind": "webhook", "url": "http://127.0.0.1:9/x"})),
        ] {
            let answer = stranger.put(path, body).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}: {:?}", answer.body);
        }
        assert_eq!(app.store.rules(team).await?[0].name, "all changes");
        Ok(())
    })
    .await;
}
