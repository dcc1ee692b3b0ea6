//! Status page subscribers through the API: webhook subscribers hear of each update of the posts
//! naming a component they follow, once, as JSON that names components and never monitors; a
//! every bad field is listed; the plan's subscriber
//! limit is a 402; the subscriber channel must be one of the team's email channels.

use crate::support::*;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use watchtower_core::{NewSubscriber, Plan, StatusPageId, SubscriberKind, Timestamp};

/// What each receiver path got: its `webhook-id` and body, in order.
#[derive(Clone, Default)]
pub(crate) struct Receiver(Arc<Mutex<Vec<(String, String, Value)>>>);

impl Receiver {
    pub(crate) fn got(&self, path: &str) -> Vec<(String, Value)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(at, _, _)| at == path)
            .map(|(_, id, body)| (id.clone(), body.clone()))
            .collect()
    }
}

async fn hook(
    State(receiver): State<Receiver>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: String,
) -> AxumStatus {
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = serde_json::from_str(&body).unwrap_or(Value::Null);
    receiver.0.lock().unwrap().push((path, id, body));
    AxumStatus::NO_CONTENT
}

pub(crate) async fn start_receiver() -> (Receiver, String) {
    let receiver = Receiver::default();
    let app = axum::Router::new()
        .route("/{path}", axum::routing::post(hook))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (receiver, base)
}

/// Waits (bounded) until `path` got `count` requests, then a little longer for a duplicate.
pub(crate) async fn wait_for(
    receiver: &Receiver,
    path: &str,
    count: usize,
) -> Vec<(String, Value)> {
    for _ in 0..300 {
        if receiver.got(path).len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    receiver.got(path)
}

fn fields(answer: &Answer) -> Vec<String> {
    answer.body["error"]["details"]
        .as_array()
        .map(|details| {
            details
                .iter()
                .map(|d| d["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn owner_with_page(app: &TestApp, plan: Plan) -> (Client, watchtower_core::TeamId, i64) {
    let owner = app.user("owner@example.com", false).await;
    let team = app.team("Acme", plan, owner).await;
    let client = app.login("owner@example.com").await.in_team(team);
    let web = client.post("/api/monitors", http_monitor("web")).await;
    assert_eq!(web.status, StatusCode::CREATED, "{:?}", web.body);
    let page = client
        .post(
            "/api/status-pages",
            json!({"slug": "acme", "title": "Acme status",
                   "groups": [{"components": [
                       {"name": "Website", "monitors": [web.body["id"]]},
                       {"name": "API", "monitors": [web.body["id"]]}]}]}),
        )
        .await;
    assert_eq!(page.status, StatusCode::CREATED, "{:?}", page.body);
    (client, team, page.body["id"].as_i64().unwrap())
}

#[tokio::test]
async fn a_webhook_subscriber_hears_each_update_of_its_components_once() {
    each_backend(Options::default(), |app| async move {
        let (owner, _, page) = owner_with_page(&app, Plan::Professional).await;
        let (receiver, base) = start_receiver().await;
        let subscribers = format!("/api/status-pages/{page}/subscribers");
        let all = owner
            .post(
                &subscribers,
                json!({"kind": "webhook", "url": format!("{base}/all")}),
            )
            .await;
        assert_eq!(all.status, StatusCode::CREATED, "{:?}", all.body);
        assert!(
            all.body["confirmed_at"].is_number(),
            "a webhook counts at once"
        );
        let api_only = owner
            .post(
                &subscribers,
                json!({"kind": "webhook", "url": format!("{base}/api"), "components": ["API"]}),
            )
            .await;
        assert_eq!(api_only.status, StatusCode::CREATED, "{:?}", api_only.body);

        let incidents = format!("/api/status-pages/{page}/incidents");
        let post = owner
            .post(
                &incidents,
                json!({"title": "Checkout fails", "impact": "sev2",
                       "components": [{"name": "Website", "state": "partial_outage"}]}),
            )
            .await;
        assert_eq!(post.status, StatusCode::CREATED, "{:?}", post.body);
        let updates = format!("{incidents}/{}/updates", post.body["id"]);
        owner
            .post(
                &updates,
                json!({"status": "identified", "message": "A bad deploy."}),
            )
            .await;
        owner.post(&updates, json!({"status": "resolved"})).await;

        let got = wait_for(&receiver, "all", 3).await;
        let kinds: Vec<&str> = got
            .iter()
            .map(|(_, body)| body["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["incident.created", "incident.updated", "incident.resolved"]
        );
        let mut ids: Vec<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 3, "each message its own webhook-id: {got:?}");
        let created = &got[0].1;
        assert_eq!(created["page"]["slug"], "acme");
        assert_eq!(
            created["page"]["url"],
            "https://watchtower.example.com/status/acme"
        );
        assert_eq!(created["incident"]["title"], "Checkout fails");
        assert_eq!(created["incident"]["impact"], "sev2");
        assert_eq!(created["incident"]["components"][0]["name"], "Website");
        assert_eq!(got[1].1["update"]["message"], "A bad deploy.");
        assert_eq!(
            got[2].1["incident"]["components"][0]["state"],
            "operational"
        );
        let text = serde_json::to_string(&got).unwrap();
        assert!(
            !text.contains("\"web\"") && !text.contains("example.com/health"),
            "{text}"
        );
        assert!(
            receiver.got("api").is_empty(),
            "API's subscriber heard of Website"
        );

        // Removing a subscriber stops it; another team's page is a 404.
        let removed = owner
            .delete(&format!("{subscribers}/{}", all.body["id"]))
            .await;
        assert_eq!(removed.status, StatusCode::NO_CONTENT);
        owner
            .post(
                &incidents,
                json!({"title": "API slow", "impact": "sev3",
                       "components": [{"name": "API", "state": "degraded"}]}),
            )
            .await;
        assert_eq!(wait_for(&receiver, "api", 1).await.len(), 1);
        assert_eq!(receiver.got("all").len(), 3);
        let list = owner.get(&subscribers).await;
        assert_eq!(list.body["subscribers"].as_array().unwrap().len(), 1);
        assert_eq!(list.body["email_channel_id"], Value::Null);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn bad_subscribers_and_channels_are_refused_field_by_field() {
    each_backend(Options::default(), |app| async move {
        let (owner, team, page) = owner_with_page(&app, Plan::Free).await;
        let subscribers = format!("/api/status-pages/{page}/subscribers");
        let bad = owner
            .post(&subscribers, json!({"kind": "pigeon", "colour": 1, "components": "API"}))
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(fields(&bad), ["colour", "kind", "components"]);
        let unknown = owner
            .post(
                &subscribers,
                json!({"kind": "webhook", "url": "http://127.0.0.1:9/x", "components": ["Billing"]}),
            )
            .await;
        assert_eq!(fields(&unknown), ["components[0]"]);
        let no_channel = owner
            .post(&subscribers, json!({"kind": "email", "email": "a@example.com"}))
            .await;
        assert_eq!(fields(&no_channel), ["email"], "{:?}", no_channel.body);

        // The subscriber channel must be one of the team's email channels.
        // A webhook channel (the Free plan cannot make one through the API).
        let hook = app
            .store
            .create_channel(
                team,
                "hook",
                "webhook",
                &json!({"kind": "webhook", "url": "http://127.0.0.1:9/hook"}),
                Timestamp::now(),
            )
            .await
            .unwrap()
            .id;
        let channel = format!("/api/status-pages/{page}/subscriber-channel");
        let not_email = owner
            .put(&channel, json!({"email_channel_id": hook}))
            .await;
        assert_eq!(fields(&not_email), ["email_channel_id"], "{:?}", not_email.body);
        let mail = owner
            .post(
                "/api/channels",
                json!({"name": "mail", "kind": "email", "host": "127.0.0.1", "port": 9,
                       "security": "none", "from": "status@example.com", "to": ["ops@example.com"]}),
            )
            .await;
        assert_eq!(mail.status, StatusCode::CREATED, "{:?}", mail.body);
        let set = owner
            .put(&channel, json!({"email_channel_id": mail.body["id"]}))
            .await;
        assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
        let html = reqwest::get(app.url("/status/acme")).await.unwrap().text().await.unwrap();
        assert!(html.contains("Get updates by email"), "the form shows once a channel is set");

        let duplicate = json!({"kind": "webhook", "url": "http://127.0.0.1:9/once"});
        assert_eq!(owner.post(&subscribers, duplicate.clone()).await.status, StatusCode::CREATED);
        assert_eq!(owner.post(&subscribers, duplicate).await.status, StatusCode::CONFLICT);

        // The Free plan's 100 subscribers: the 101st is a 402 naming the limit.
        for n in 1..100 {
            app.store
                .subscribe(
                    team,
                    StatusPageId(page),
                    &NewSubscriber {
                        kind: SubscriberKind::Webhook,
                        address: format!("http://127.0.0.1:9/{n}"),
                        components: None,
                    },
                    Timestamp::now(),
                )
                .await
                .unwrap();
        }
        let over = owner
            .post(&subscribers, json!({"kind": "webhook", "url": "http://127.0.0.1:9/over"}))
            .await;
        assert_eq!(over.status, StatusCode::PAYMENT_REQUIRED, "{:?}", over.body);
        assert_eq!(over.body["error"]["limit"], "status_subscribers", "{:?}", over.body);
        let visitor = reqwest::Client::new()
            .post(app.url("/status/acme/subscribe"))
            .form(&[("email", "late@example.com")])
            .send()
            .await
            .unwrap();
        assert_eq!(visitor.status(), StatusCode::PAYMENT_REQUIRED);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn subscribers_hear_once_that_maintenance_of_their_components_began() {
    each_backend(Options::default(), |app| async move {
        let (owner, _, page) = owner_with_page(&app, Plan::Professional).await;
        let (receiver, base) = start_receiver().await;
        let subscribers = format!("/api/status-pages/{page}/subscribers");
        for (path, components) in [("all", Value::Null), ("api", json!(["API"]))] {
            let added = owner
                .post(
                    &subscribers,
                    json!({"kind": "webhook", "url": format!("{base}/{path}"), "components": components}),
                )
                .await;
            assert_eq!(added.status, StatusCode::CREATED, "{:?}", added.body);
        }
        // The page's one monitor stands for both components; a window over it opens now.
        let monitor = owner.get("/api/monitors").await.body["monitors"][0]["id"].clone();
        let now = jiff::Timestamp::now();
        let spec = json!({"name": "Database upgrade", "monitors": [monitor],
                          "starts_at": (now - jiff::SignedDuration::from_secs(60)).to_string(),
                          "ends_at": (now + jiff::SignedDuration::from_secs(3600)).to_string()});
        let window = owner.post("/api/maintenance", spec.clone()).await;
        assert_eq!(window.status, StatusCode::CREATED, "{:?}", window.body);
        let got = wait_for(&receiver, "all", 1).await;
        assert_eq!(got.len(), 1, "{got:?}");
        let body = &got[0].1;
        assert_eq!(body["type"], "maintenance.started");
        assert!(
            body["maintenance"].get("name").is_none(),
            "the window's name is the team's"
        );
        assert_eq!(body["maintenance"]["components"], json!(["Website", "API"]));
        assert_eq!(wait_for(&receiver, "api", 1).await.len(), 1);

        // Writing the window again announces nothing twice.
        let again = owner
            .put(&format!("/api/maintenance/{}", window.body["id"]), spec)
            .await;
        assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(receiver.got("all").len(), 1);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn one_client_signs_up_ten_addresses_at_once_and_then_one_a_minute() {
    each_backend(Options::default(), |app| async move {
        let (owner, _, page) = owner_with_page(&app, Plan::Professional).await;
        let mail = owner
            .post(
                "/api/channels",
                json!({"name": "mail", "kind": "email", "host": "127.0.0.1", "port": 9,
                       "security": "none", "from": "status@example.com", "to": ["ops@example.com"]}),
            )
            .await;
        let set = owner
            .put(
                &format!("/api/status-pages/{page}/subscriber-channel"),
                json!({"email_channel_id": mail.body["id"]}),
            )
            .await;
        assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
        let visitor = reqwest::Client::new();
        let mut statuses = Vec::new();
        for n in 0..11 {
            let answer = visitor
                .post(app.url("/status/acme/subscribe"))
                .form(&[("email", format!("reader{n}@example.com"))])
                .send()
                .await?;
            statuses.push(answer.status().as_u16());
        }
        assert_eq!(statuses, [[200; 10].as_slice(), &[429]].concat());
        let listed = owner.get(&format!("/api/status-pages/{page}/subscribers")).await;
        assert_eq!(listed.body["subscribers"].as_array().unwrap().len(), 10);
        Ok(())
    })
    .await;
}
