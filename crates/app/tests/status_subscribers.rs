//! Status page subscribers end to end, with the real binary and a real SMTP server (aiosmtpd): a
//! visitor signs up on the page, the confirmation email arrives and its link confirms; an
//! incident, its update and its resolution each arrive once, and only to subscribers of its
//! components; the email's unsubscribe link ends it. And a subscriber email pending (the SMTP
//! server answering "try again later") when `watchtower` is killed with SIGKILL arrives once
//! after the restart. On SQLite always, and on PostgreSQL when `TEST_DATABASE_URL` is set.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a test tells whoever runs it what it skipped"
)]

use mail_parser::MessageParser;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use watchtower_testkit::{SmtpServer, TestDatabase, WatchtowerProcess};

const BINARY: &str = env!("CARGO_BIN_EXE_watchtower");
const EMAIL: &str = "root@example.com";
const PASSWORD: &str = "a long enough passphrase";
/// The public URL the links in emails start with; the test follows them on the process's own
/// address.
const PUBLIC_URL: &str = "https://status.example.test";

async fn serve(database: &TestDatabase, dir: &Path) -> WatchtowerProcess {
    let env = [
        ("WATCHTOWER_ADMIN_EMAIL", EMAIL),
        ("WATCHTOWER_ADMIN_PASSWORD", PASSWORD),
    ];
    WatchtowerProcess::serve_with_env(
        Path::new(BINARY),
        &database.url,
        &["--public-url", PUBLIC_URL],
        &env,
        dir,
    )
    .await
    .unwrap()
}

/// A signed-in client and its CSRF token.
async fn sign_in(base: &str) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let me: Value = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (client, me["csrf_token"].as_str().unwrap().to_owned())
}

async fn send(
    client: &reqwest::Client,
    csrf: &str,
    method: reqwest::Method,
    url: String,
    body: Value,
) -> Value {
    let response = client
        .request(method, url)
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {body}");
    body
}

/// One email as the test reads it.
#[derive(Debug)]
struct Mail {
    to: String,
    subject: String,
    message_id: String,
    text: String,
    list_unsubscribe: Option<String>,
    one_click: Option<String>,
}

fn parse(raw: &[u8]) -> Mail {
    let message = MessageParser::default()
        .parse(raw)
        .expect("a parsable email");
    let header = |name: &str| message.header_raw(name).map(|raw| raw.trim().to_owned());
    Mail {
        to: message
            .to()
            .and_then(|to| to.first())
            .and_then(|address| address.address())
            .unwrap_or_default()
            .to_owned(),
        subject: message.subject().unwrap_or_default().to_owned(),
        message_id: message.message_id().unwrap_or_default().to_owned(),
        text: message.body_text(0).unwrap_or_default().to_string(),
        list_unsubscribe: header("List-Unsubscribe"),
        one_click: header("List-Unsubscribe-Post"),
    }
}

fn mails(smtp: &SmtpServer) -> Vec<Mail> {
    smtp.messages().iter().map(|raw| parse(raw)).collect()
}

/// Waits (bounded) until `count` emails have gone to `to`, then returns them all.
async fn wait_for(
    smtp: &SmtpServer,
    to: &str,
    count: usize,
    process: &WatchtowerProcess,
) -> Vec<Mail> {
    for _ in 0..600 {
        let found: Vec<Mail> = mails(smtp)
            .into_iter()
            .filter(|mail| mail.to == to)
            .collect();
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{count} emails to {to} did not arrive within 30 s: {:?}\n{}",
        mails(smtp),
        process.log_text()
    );
}

/// The path of the link labelled `label` in an email's text, to follow on the process itself.
fn link(mail: &Mail, label: &str) -> String {
    let prefix = format!("{label}: {PUBLIC_URL}");
    let line = mail
        .text
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no '{label}' link in {mail:?}"));
    line.trim().to_owned()
}

/// A page `public` with components Website and API, its email channel set; returns the page id.
async fn page(client: &reqwest::Client, csrf: &str, base: &str, smtp: &SmtpServer) -> i64 {
    use reqwest::Method;
    let mut settings = smtp.channel_settings(&["ops@example.com"]);
    settings["name"] = json!("status mail");
    let channel = send(
        client,
        csrf,
        Method::POST,
        format!("{base}/api/channels"),
        settings,
    )
    .await;
    let mut monitors = Vec::new();
    for name in ["web", "api"] {
        let monitor = send(
            client,
            csrf,
            Method::POST,
            format!("{base}/api/monitors"),
            json!({"name": name, "kind": "tcp", "host": "127.0.0.1", "port": 9, "interval": "1h", "paused": true}),
        )
        .await;
        monitors.push(monitor["id"].clone());
    }
    let page = send(
        client,
        csrf,
        Method::POST,
        format!("{base}/api/status-pages"),
        json!({"slug": "public", "title": "Example status", "groups": [{"components": [
            {"name": "Website", "monitors": [monitors[0]]},
            {"name": "API", "monitors": [monitors[1]]}]}]}),
    )
    .await;
    let id = page["id"].as_i64().unwrap();
    send(
        client,
        csrf,
        Method::PUT,
        format!("{base}/api/status-pages/{id}/subscriber-channel"),
        json!({"email_channel_id": channel["id"]}),
    )
    .await;
    id
}

/// A visitor's sign-up through the page's form; returns the status and the answer's text.
async fn sign_up(base: &str, email: &str, components: &[&str]) -> (StatusCode, String) {
    let mut form = vec![("email", email)];
    form.extend(components.iter().map(|name| ("components", *name)));
    let response = reqwest::Client::new()
        .post(format!("{base}/status/public/subscribe"))
        .form(&form)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Signs `email` up and follows the confirmation email's link.
async fn subscribe(
    base: &str,
    smtp: &SmtpServer,
    email: &str,
    components: &[&str],
    process: &WatchtowerProcess,
) {
    let (status, text) = sign_up(base, email, components).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("Check your inbox"), "{text}");
    let confirmation = wait_for(smtp, email, 1, process).await.pop().unwrap();
    assert_eq!(
        confirmation.subject,
        "Confirm your subscription to Example status"
    );
    assert!(confirmation.list_unsubscribe.is_none(), "{confirmation:?}");
    let confirm = link(&confirmation, "Confirm the subscription");
    // The link shows a button (mail scanners follow links); the button confirms.
    let form = reqwest::get(format!("{base}{confirm}")).await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.text().await.unwrap().contains(">Confirm</button>"));
    let answer = reqwest::Client::new()
        .post(format!("{base}{confirm}"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.text().await.unwrap().contains("You are subscribed"));
}

async fn post_incident(
    client: &reqwest::Client,
    csrf: &str,
    base: &str,
    page: i64,
    component: &str,
) -> i64 {
    let post = send(
        client,
        csrf,
        reqwest::Method::POST,
        format!("{base}/api/status-pages/{page}/incidents"),
        json!({"title": format!("{component} is slow"), "impact": "sev2",
               "components": [{"name": component, "state": "degraded"}]}),
    )
    .await;
    post["id"].as_i64().unwrap()
}

async fn a_subscriber_hears_each_update_once_and_leaves_by_its_link(database: TestDatabase) {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let process = serve(&database, dir.path()).await;
    let base = process.base_url.clone();
    let (client, csrf) = sign_in(&base).await;
    let page = page(&client, &csrf, &base, &smtp).await;

    let html = reqwest::get(format!("{base}/status/public"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Get updates by email"),
        "the page shows its sign-up form"
    );

    subscribe(&base, &smtp, "reader@example.com", &[], &process).await;
    // The same address again within ten minutes: no second confirmation.
    let (status, text) = sign_up(&base, "reader@example.com", &[]).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a confirmed address is answered as any other: {text}"
    );
    let (status, _) = sign_up(&base, "nobody", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = sign_up(&base, "x@example.com", &["Billing"]).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a component the page does not have"
    );
    subscribe(&base, &smtp, "api-only@example.com", &["API"], &process).await;
    let (status, text) = sign_up(&base, "pending@example.com", &[]).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (status, text) = sign_up(&base, "pending@example.com", &[]).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "throttled per address (one confirmation, below), answered as any other: {text}"
    );
    wait_for(&smtp, "pending@example.com", 1, &process).await;

    // An incident on Website, an update, the resolution: three emails to the reader only.
    let post = post_incident(&client, &csrf, &base, page, "Website").await;
    let updates = format!("{base}/api/status-pages/{page}/incidents/{post}/updates");
    send(
        &client,
        &csrf,
        reqwest::Method::POST,
        updates.clone(),
        json!({"status": "identified", "message": "A bad deploy."}),
    )
    .await;
    send(
        &client,
        &csrf,
        reqwest::Method::POST,
        updates,
        json!({"status": "resolved"}),
    )
    .await;
    wait_for(&smtp, "reader@example.com", 4, &process).await;
    // Let a duplicate, if there were one, arrive before counting (bounded).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let received: Vec<Mail> = mails(&smtp)
        .into_iter()
        .filter(|mail| mail.to == "reader@example.com")
        .collect();
    let subjects: Vec<&str> = received[1..]
        .iter()
        .map(|mail| mail.subject.as_str())
        .collect();
    assert_eq!(
        subjects,
        [
            "[Example status] New incident: Website is slow",
            "[Example status] Update: Website is slow",
            "[Example status] Resolved: Website is slow",
        ]
    );
    let mut ids: Vec<&str> = received
        .iter()
        .map(|mail| mail.message_id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4, "each email has its own Message-ID");
    assert!(
        received[2].text.contains("Identified: A bad deploy."),
        "{}",
        received[2].text
    );
    assert!(
        received[1]
            .text
            .contains("Affected: Website (degraded performance)"),
        "{}",
        received[1].text
    );
    for mail in &received[1..] {
        assert_eq!(
            mail.one_click.as_deref(),
            Some("List-Unsubscribe=One-Click"),
            "{mail:?}"
        );
        let header = mail.list_unsubscribe.as_deref().unwrap_or_default();
        assert!(
            header.contains("/status/public/unsubscribe?subscriber="),
            "{header}"
        );
    }
    assert_eq!(
        mails(&smtp)
            .iter()
            .filter(|mail| mail.to == "api-only@example.com")
            .count(),
        1,
        "a subscriber of API only heard nothing of Website"
    );
    assert_eq!(
        mails(&smtp)
            .iter()
            .filter(|mail| mail.to == "pending@example.com")
            .count(),
        1,
        "an unconfirmed address got its confirmation only"
    );

    // The email's link shows a button; the button unsubscribes.
    let leave = link(&received[3], "Unsubscribe");
    let form = reqwest::get(format!("{base}{leave}")).await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let form = form.text().await.unwrap();
    assert!(
        form.contains("<button class=\"primary\" type=\"submit\">Unsubscribe</button>"),
        "{form}"
    );
    let forged = reqwest::Client::new()
        .post(format!("{base}{}", leave.replace("token=", "token=0")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        StatusCode::OK,
        "a bad link is answered like any other"
    );
    let left = reqwest::Client::new()
        .post(format!("{base}{leave}"))
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(left.status(), StatusCode::OK);
    assert!(
        left.text()
            .await
            .unwrap()
            .contains("reader@example.com will get no more emails")
    );

    // The next incident, on API, reaches the API subscriber and not the one who left.
    post_incident(&client, &csrf, &base, page, "API").await;
    wait_for(&smtp, "api-only@example.com", 2, &process).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        mails(&smtp)
            .iter()
            .filter(|mail| mail.to == "reader@example.com")
            .count(),
        4
    );
    let subscribers: Value = client
        .get(format!("{base}/api/status-pages/{page}/subscribers"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let addresses: Vec<&str> = subscribers["subscribers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["address"].as_str().unwrap())
        .collect();
    assert_eq!(addresses, ["pending@example.com", "api-only@example.com"]);
    process.terminate().unwrap();
}

async fn a_pending_subscriber_email_survives_sigkill(database: TestDatabase) {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let process = serve(&database, dir.path()).await;
    let base = process.base_url.clone();
    let (client, csrf) = sign_in(&base).await;
    let page = page(&client, &csrf, &base, &smtp).await;
    subscribe(&base, &smtp, "reader@example.com", &[], &process).await;

    // The SMTP server says "try again later" to the incident's email; then WatchTower dies.
    smtp.set_busy(true);
    post_incident(&client, &csrf, &base, page, "Website").await;
    for _ in 0..600 {
        if smtp.refusals() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        smtp.refusals() > 0,
        "no attempt was refused:\n{}",
        process.log_text()
    );
    process.kill().unwrap();
    smtp.set_busy(false);

    let process = serve(&database, dir.path()).await;
    let received = wait_for(&smtp, "reader@example.com", 2, &process).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let received_after: Vec<Mail> = mails(&smtp)
        .into_iter()
        .filter(|mail| mail.to == "reader@example.com")
        .collect();
    assert_eq!(
        received_after.len(),
        2,
        "delivered once after the restart: {received:?}"
    );
    assert_eq!(
        received_after[1].subject,
        "[Example status] New incident: Website is slow"
    );
    process.terminate().unwrap();
}

async fn postgres() -> Option<TestDatabase> {
    let Ok(server) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL is not set: skipping the PostgreSQL variant");
        return None;
    };
    Some(TestDatabase::postgres(&server).await.unwrap())
}

#[tokio::test]
async fn a_subscriber_hears_each_update_once_and_leaves_by_its_link_on_sqlite() {
    a_subscriber_hears_each_update_once_and_leaves_by_its_link(TestDatabase::sqlite()).await;
}

#[tokio::test]
async fn a_subscriber_hears_each_update_once_and_leaves_by_its_link_on_postgres() {
    if let Some(database) = postgres().await {
        a_subscriber_hears_each_update_once_and_leaves_by_its_link(database).await;
    }
}

#[tokio::test]
async fn a_pending_subscriber_email_survives_sigkill_on_sqlite() {
    a_pending_subscriber_email_survives_sigkill(TestDatabase::sqlite()).await;
}

#[tokio::test]
async fn a_pending_subscriber_email_survives_sigkill_on_postgres() {
    if let Some(database) = postgres().await {
        a_pending_subscriber_email_survives_sigkill(database).await;
    }
}
