//! Status pages: the team's API (create, list, read, replace, delete; every bad field listed;
//! the plan's page count and custom domains; another team's page a 404 and its monitors
//! refused), and what visitors get without a session: the page, its JSON and its badge, by slug
//! and by custom domain, fresh after an edit or an outage, and never anything private.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use watchtower_core::{Plan, TeamId};

/// An owner of a new team on `plan`, signed in and acting in it.
async fn owner_on(app: &TestApp, email: &str, plan: Plan) -> (Client, TeamId) {
    let owner = app.user(email, false).await;
    let team = app.team(&format!("team of {email}"), plan, owner).await;
    (app.login(email).await.in_team(team), team)
}

async fn monitor(client: &Client, body: Value) -> i64 {
    let created = client.post("/api/monitors", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    created.body["id"].as_i64().unwrap()
}

fn page(slug: &str, components: Value) -> Value {
    json!({
        "slug": slug,
        "title": format!("{slug} status"),
        "groups": [{"name": "Services", "components": components}]
    })
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

/// Plain GET with optional Host header: status, headers and the body as text.
async fn fetch(
    app: &TestApp,
    path: &str,
    host: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client.get(app.url(path));
    if let Some(host) = host {
        request = request.header("host", host);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap_or_default())
}

/// Polls a page's JSON (bounded: 15 s) until `ready` holds.
async fn wait_for_summary(app: &TestApp, slug: &str, ready: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..300 {
        let (status, _, body) = fetch(app, &format!("/status/{slug}/summary.json"), None).await;
        let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        if status == StatusCode::OK && ready(&body) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the summary of {slug} never became ready");
}

#[tokio::test]
async fn a_page_is_created_listed_read_replaced_and_deleted_with_an_audit_trail() {
    each_backend(Options::default(), |app| async move {
        let (owner, team) = owner_on(&app, "owner@example.com", Plan::Professional).await;
        let web = monitor(&owner, http_monitor("web")).await;
        let api = monitor(&owner, http_monitor("api")).await;
        let created = owner
            .post(
                "/api/status-pages",
                json!({
                    "slug": "acme",
                    "title": "Acme status",
                    "description": "How Acme is doing",
                    "custom_domain": "Status.Acme.Example",
                    "logo_url": "https://cdn.acme.example/logo.png",
                    "accent_color": "#1F6FEB",
                    "footer_text": "Questions? support@acme.example",
                    "time_zone": "Europe/Paris",
                    "history_days": 60,
                    "show_response_times": true,
                    "hide_from_search": true,
                    "groups": [
                        {"name": "Web", "components": [
                            {"name": "Website", "description": "The shop", "monitors": [web, api]}
                        ]},
                        {"components": [{"name": "API", "monitors": [api]}]}
                    ]
                }),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        let id = created.body["id"].as_i64().unwrap();
        assert_eq!(created.body["custom_domain"], "status.acme.example");
        assert_eq!(created.body["accent_color"], "#1f6feb");
        assert_eq!(created.body["history_days"], 60);
        assert_eq!(
            created.body["groups"][0]["components"][0]["monitors"],
            json!([web, api])
        );
        assert_eq!(created.body["groups"][1]["name"], Value::Null);

        let listed = owner.get("/api/status-pages").await;
        assert_eq!(listed.status, StatusCode::OK);
        assert_eq!(listed.body["status_pages"].as_array().unwrap().len(), 1);
        let read = owner.get(&format!("/api/status-pages/{id}")).await;
        assert_eq!(read.body, created.body);

        let replaced = owner
            .put(
                &format!("/api/status-pages/{id}"),
                page("acme-2", json!([{"name": "All", "monitors": [web]}])),
            )
            .await;
        assert_eq!(replaced.status, StatusCode::OK, "{:?}", replaced.body);
        assert_eq!(replaced.body["slug"], "acme-2");
        assert_eq!(replaced.body["custom_domain"], Value::Null);
        assert_eq!(replaced.body["groups"].as_array().unwrap().len(), 1);

        let deleted = owner.delete(&format!("/api/status-pages/{id}")).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        let gone = owner.get(&format!("/api/status-pages/{id}")).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        assert_eq!(gone.code(), "not_found");
        let (status, _, _) = fetch(&app, "/status/acme-2", None).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "a deleted page is gone for visitors at once"
        );

        let audit = owner.get(&format!("/api/teams/{team}/audit-log")).await;
        let actions: Vec<&str> = audit.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .filter(|action| action.starts_with("status_page."))
            .collect();
        assert_eq!(
            actions,
            [
                "status_page.deleted",
                "status_page.updated",
                "status_page.created"
            ]
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn every_bad_field_is_listed_and_nothing_is_written() {
    each_backend(Options::default(), |app| async move {
        let (owner, _) = owner_on(&app, "owner@example.com", Plan::Professional).await;
        let web = monitor(&owner, http_monitor("web")).await;
        let bad = owner
            .post(
                "/api/status-pages",
                json!({
                    "slug": "Not A Slug",
                    "title": "",
                    "custom_domain": "http://x.example/path",
                    "logo_url": "javascript:alert(1)",
                    "accent_color": "blue",
                    "time_zone": "Nowhere/Else",
                    "history_days": 7,
                    "colour": "typo",
                    "groups": [{"components": [
                        {"name": "ok", "monitors": [web]},
                        {"name": "", "monitors": []}
                    ]}]
                }),
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad.code(), "invalid_request");
        let listed = fields(&bad);
        for field in [
            "slug",
            "title",
            "custom_domain",
            "logo_url",
            "accent_color",
            "time_zone",
            "history_days",
            "colour",
            "groups[0].components[1].name",
            "groups[0].components[1].monitors",
        ] {
            assert!(
                listed.contains(&field.to_owned()),
                "{field} not in {listed:?}"
            );
        }
        for body in [
            json!([]),
            json!("page"),
            json!({"slug": "x", "title": "x", "groups": "no"}),
        ] {
            let refused = owner.post("/api/status-pages", body.clone()).await;
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{body}");
        }
        let unknown = owner
            .post(
                "/api/status-pages",
                page(
                    "acme",
                    json!([{"name": "Ghost", "monitors": [web, 999_999]}]),
                ),
            )
            .await;
        assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
        assert_eq!(fields(&unknown), ["groups[0].components[0].monitors[1]"]);
        let listed = owner.get("/api/status-pages").await;
        assert!(listed.body["status_pages"].as_array().unwrap().is_empty());

        let first = owner
            .post(
                "/api/status-pages",
                page("acme", json!([{"name": "Web", "monitors": [web]}])),
            )
            .await;
        assert_eq!(first.status, StatusCode::CREATED);
        let taken = owner
            .post(
                "/api/status-pages",
                page("acme", json!([{"name": "Web", "monitors": [web]}])),
            )
            .await;
        assert_eq!(taken.status, StatusCode::CONFLICT);
        assert_eq!(fields(&taken), ["slug"]);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn the_plan_counts_pages_and_sells_custom_domains() {
    each_backend(Options::default(), |app| async move {
        let (owner, _) = owner_on(&app, "owner@example.com", Plan::Free).await;
        let web = monitor(&owner, http_monitor("web")).await;
        let components = json!([{"name": "Web", "monitors": [web]}]);
        let mut with_domain = page("first", components.clone());
        with_domain["custom_domain"] = json!("status.shop.example");
        let refused = owner.post("/api/status-pages", with_domain).await;
        assert_eq!(refused.status, StatusCode::PAYMENT_REQUIRED);
        assert_eq!(refused.body["error"]["code"], "plan_limit");
        assert_eq!(refused.body["error"]["limit"], "custom_status_domains");
        assert_eq!(refused.body["error"]["upgrade_to"], "professional");

        let first = owner
            .post("/api/status-pages", page("first", components.clone()))
            .await;
        assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
        let second = owner
            .post("/api/status-pages", page("second", components))
            .await;
        assert_eq!(second.status, StatusCode::PAYMENT_REQUIRED);
        let error = &second.body["error"];
        assert_eq!(error["limit"], "status_pages");
        assert_eq!(error["current"], 2);
        assert_eq!(error["allowed"], 1);
        assert_eq!(error["plan"], "free");
        assert_eq!(error["upgrade_to"], "starter");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn another_teams_page_is_a_404_and_its_monitors_are_refused() {
    each_backend(Options::default(), |app| async move {
        let (ours, _) = owner_on(&app, "ours@example.com", Plan::Professional).await;
        let (theirs, _) = owner_on(&app, "theirs@example.com", Plan::Professional).await;
        let our_monitor = monitor(&ours, http_monitor("ours")).await;
        let their_monitor = monitor(&theirs, http_monitor("theirs")).await;
        let created = ours
            .post(
                "/api/status-pages",
                page("ours", json!([{"name": "Web", "monitors": [our_monitor]}])),
            )
            .await;
        let id = created.body["id"].as_i64().unwrap();

        let path = format!("/api/status-pages/{id}");
        let body = page(
            "stolen",
            json!([{"name": "Web", "monitors": [their_monitor]}]),
        );
        for answer in [
            theirs.get(&path).await,
            theirs.put(&path, body.clone()).await,
            theirs.delete(&path).await,
        ] {
            assert_eq!(answer.status, StatusCode::NOT_FOUND);
            assert_eq!(answer.code(), "not_found");
            assert!(
                answer.body["error"]["details"]
                    .as_array()
                    .unwrap()
                    .is_empty()
            );
        }
        assert!(
            theirs.get("/api/status-pages").await.body["status_pages"]
                .as_array()
                .unwrap()
                .is_empty()
        );

        // Naming another team's monitor is refused, on create and on replace.
        let borrowed = theirs
            .post(
                "/api/status-pages",
                page(
                    "borrowed",
                    json!([{"name": "Web", "monitors": [their_monitor, our_monitor]}]),
                ),
            )
            .await;
        assert_eq!(borrowed.status, StatusCode::BAD_REQUEST);
        assert_eq!(fields(&borrowed), ["groups[0].components[0].monitors[1]"]);
        let replaced = ours
            .put(
                &path,
                page(
                    "ours",
                    json!([{"name": "Web", "monitors": [their_monitor]}]),
                ),
            )
            .await;
        assert_eq!(replaced.status, StatusCode::BAD_REQUEST);
        assert_eq!(fields(&replaced), ["groups[0].components[0].monitors[0]"]);
        let (status, _, html) = fetch(&app, "/status/ours", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Web"));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn visitors_get_the_page_its_json_and_its_badge_and_an_unknown_slug_is_a_404() {
    each_backend(Options::default(), |app| async move {
        let (owner, _) = owner_on(&app, "owner@example.com", Plan::Professional).await;
        let web = monitor(&owner, http_monitor("web")).await;
        let mut body = page(
            "acme",
            json!([{"name": "Website", "description": "The shop", "monitors": [web]}]),
        );
        body["hide_from_search"] = json!(true);
        body["time_zone"] = json!("Asia/Tokyo");
        body["history_days"] = json!(30);
        let created = owner.post("/api/status-pages", body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);

        let (status, headers, html) = fetch(&app, "/status/acme", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(html.contains("<title>acme status</title>"));
        assert!(html.contains("Website") && html.contains("The shop"));
        assert!(html.contains(r#"<meta name="robots" content="noindex">"#));
        assert_eq!(headers["x-robots-tag"], "noindex");
        assert!(
            html.contains(" JST</time>"),
            "the last update in the page's zone"
        );
        assert_eq!(
            html.matches("<li class=\"cell-").count(),
            30,
            "one bar per day"
        );
        assert!(!html.contains("site-nav"), "no dashboard navigation");
        assert!(!html.contains("<script"), "complete without JavaScript");

        let (status, headers, text) = fetch(&app, "/status/acme/summary.json", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["access-control-allow-origin"], "*");
        let summary: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(summary["page"]["title"], "acme status");
        assert_eq!(summary["history_days"], 30);
        assert_eq!(summary["components"][0]["name"], "Website");
        assert_eq!(summary["components"][0]["group"], "Services");
        assert_eq!(
            summary["components"][0]["days"].as_array().unwrap().len(),
            30
        );
        assert!(summary["status"]["indicator"].is_string());

        for path in [
            "/status/nobody",
            "/status/nobody/summary.json",
            "/status/nobody/badge.svg",
            "/status/Not%20A%20Slug",
        ] {
            let (status, _, _) = fetch(&app, path, None).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
        let (_, headers, html) = fetch(&app, "/status/nobody", None).await;
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(html.contains("Not found"));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn the_badge_is_valid_svg_saying_the_state_with_its_text_escaped() {
    use quick_xml::Reader;
    use quick_xml::events::Event;
    each_backend(Options::default(), |app| async move {
        let (owner, _) = owner_on(&app, "owner@example.com", Plan::Professional).await;
        let web = monitor(&owner, http_monitor("web")).await;
        let mut body = page("acme", json!([{"name": "Web", "monitors": [web]}]));
        body["title"] = json!(r#"Tom & Jerry's <"shop">"#);
        owner.post("/api/status-pages", body).await;

        let (status, headers, svg) = fetch(&app, "/status/acme/badge.svg", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "image/svg+xml");
        let mut reader = Reader::from_str(&svg);
        let (mut root, mut texts, mut title) = (None, Vec::new(), String::new());
        let (mut in_title, mut current) = (false, String::new());
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Start(element) => {
                    let name = String::from_utf8(element.name().as_ref().to_vec()).unwrap();
                    if root.is_none() {
                        let xmlns = element
                            .attributes()
                            .map(|a| a.unwrap())
                            .find(|a| a.key.as_ref() == b"xmlns")
                            .map(|a| a.unescape_value().unwrap().into_owned());
                        root = Some((name.clone(), xmlns));
                    }
                    in_title = name == "title";
                }
                Event::Text(text) => current.push_str(&text.decode().unwrap()),
                // The parser reports `&amp;` and its kind apart from the text around them.
                Event::GeneralRef(reference) => {
                    let name = reference.decode().unwrap();
                    let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                        .unwrap_or_else(|| panic!("unknown entity {name}"));
                    current.push_str(resolved);
                }
                Event::End(_) => {
                    if !current.is_empty() {
                        if in_title {
                            title = current.clone();
                        }
                        texts.push(std::mem::take(&mut current));
                    }
                    in_title = false;
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(
            root,
            Some((
                "svg".to_owned(),
                Some("http://www.w3.org/2000/svg".to_owned())
            ))
        );
        assert_eq!(
            title,
            format!(r#"Tom & Jerry's <"shop">: {}"#, texts.last().unwrap())
        );
        assert!(texts.contains(&"status".to_owned()));
        let state = texts.last().unwrap();
        assert!(
            [
                "All systems operational",
                "Major outage",
                "Partial outage",
                "Degraded performance",
                "Maintenance in progress"
            ]
            .contains(&state.as_str()),
            "{state}"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_custom_domain_serves_its_page_at_the_root_and_other_hosts_get_the_dashboard() {
    each_backend(Options::default(), |app| async move {
        let (owner, _) = owner_on(&app, "owner@example.com", Plan::Professional).await;
        let web = monitor(&owner, http_monitor("web")).await;
        let mut body = page("acme", json!([{"name": "Website", "monitors": [web]}]));
        body["custom_domain"] = json!("status.acme.example");
        let created = owner.post("/api/status-pages", body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);

        for host in ["status.acme.example", "STATUS.acme.example:8443"] {
            let (status, _, html) = fetch(&app, "/", Some(host)).await;
            assert_eq!(status, StatusCode::OK, "{host}");
            assert!(html.contains("<title>acme status</title>"), "{host}");
            assert!(html.contains("Website"));
        }
        let (status, headers, text) =
            fetch(&app, "/summary.json", Some("status.acme.example")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["access-control-allow-origin"], "*");
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap()["page"]["slug"],
            "acme"
        );
        let (status, headers, _) = fetch(&app, "/badge.svg", Some("status.acme.example")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "image/svg+xml");

        // Any other host, or any other path on the page's host, is the dashboard as usual.
        for (host, path) in [
            ("other.example", "/"),
            ("status.acme.example", "/login"),
            ("127.0.0.1", "/"),
        ] {
            let (status, _, html) = fetch(&app, path, Some(host)).await;
            assert!(!html.contains("acme status"), "{host}{path}: {status}");
        }
        let (status, headers, _) = fetch(&app, "/", Some("other.example")).await;
        assert!(
            status.is_redirection(),
            "the dashboard sends a visitor to sign in"
        );
        assert!(headers["location"].to_str().unwrap().starts_with("/login"));

        // Taking the domain away takes the page off it at once.
        let id = created.body["id"].as_i64().unwrap();
        let replaced = owner
            .put(
                &format!("/api/status-pages/{id}"),
                page("acme", json!([{"name": "Website", "monitors": [web]}])),
            )
            .await;
        assert_eq!(replaced.status, StatusCode::OK);
        let (_, _, html) = fetch(&app, "/", Some("status.acme.example")).await;
        assert!(!html.contains("acme status"));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn the_page_follows_an_edit_and_an_outage_at_once() {
    each_backend(Options::default(), |app| async move {
        let (owner, _) = owner_on(&app, "owner@example.com", Plan::Professional).await;
        let db = monitor(
            &owner,
            json!({"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 9, "interval": "1h"}),
        )
        .await;
        let created = owner
            .post(
                "/api/status-pages",
                page("acme", json!([{"name": "Database", "monitors": [db]}])),
            )
            .await;
        let id = created.body["id"].as_i64().unwrap();
        // Read once, so the cache holds the page before anything changes.
        fetch(&app, "/status/acme", None).await;
        owner
            .post(&format!("/api/monitors/{db}/check"), json!({}))
            .await;
        let down = wait_for_summary(&app, "acme", |summary| {
            summary["components"][0]["status"] == "major_outage"
        })
        .await;
        assert_eq!(down["status"]["indicator"], "major_outage");
        assert_eq!(down["status"]["description"], "Major outage");
        let today = down["components"][0]["days"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(today["incidents"], 1, "today's bar counts the outage");
        let (_, _, html) = fetch(&app, "/status/acme", None).await;
        assert!(html.contains("state-down\">Major outage"));
        assert!(html.contains("1 incident"));

        let mut edited = page(
            "acme",
            json!([{"name": "Primary database", "monitors": [db]}]),
        );
        edited["title"] = json!("Renamed");
        owner.put(&format!("/api/status-pages/{id}"), edited).await;
        let (_, _, html) = fetch(&app, "/status/acme", None).await;
        assert!(
            html.contains("<title>Renamed</title>"),
            "an edit shows at once"
        );
        assert!(html.contains("Primary database"));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn no_public_answer_holds_anything_private() {
    each_backend(Options::default(), |app| async move {
        let (owner, team) = owner_on(&app, "owner@example.com", Plan::Professional).await;
        let (other, other_team) = owner_on(&app, "other@example.com", Plan::Professional).await;
        let secret_url = "http://127.0.0.1:9/private-x7q/health?token=s3cr3t-t0ken";
        let web = monitor(
            &owner,
            json!({"name": "internal-web-name", "kind": "http", "url": secret_url, "interval": "1h",
                   "headers": {"Authorization": "Bearer header-s3cr3t"}}),
        )
        .await;
        let db = monitor(
            &owner,
            json!({"name": "internal-db-name", "kind": "tcp", "host": "127.0.0.1", "port": 9, "interval": "1h"}),
        )
        .await;
        let push_token = "private-push-token-0123456789";
        let push_id = monitor(
            &owner,
            json!({"name": "internal-cron", "kind": "push", "period": "1h", "grace": "5m", "token": push_token}),
        )
        .await;
        let key = owner
            .post(&format!("/api/teams/{team}/api-keys"), json!({"name": "ci", "scope": "read_write"}))
            .await;
        assert_eq!(key.status, StatusCode::CREATED, "{:?}", key.body);
        let api_key = key.body["key"].as_str().unwrap().to_owned();
        let their_monitor = monitor(&other, http_monitor("their-private-monitor")).await;
        let theirs = other
            .post("/api/status-pages", page("theirs", json!([{"name": "Their component", "monitors": [their_monitor]}])))
            .await;
        assert_eq!(theirs.status, StatusCode::CREATED);
        let their_post = other
            .post(
                &format!("/api/status-pages/{}/incidents", theirs.body["id"]),
                json!({"title": "Their private incident", "impact": "sev1"}),
            )
            .await;
        assert_eq!(their_post.status, StatusCode::CREATED, "{:?}", their_post.body);
        // A maintenance window under way on a page's monitor: its name is the team's own.
        let window = owner
            .post(
                "/api/maintenance",
                json!({"name": "internal-maint-name", "monitors": [db],
                       "starts_at": "2000-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}),
            )
            .await;
        assert_eq!(window.status, StatusCode::CREATED, "{:?}", window.body);
        let mut body = page(
            "acme",
            json!([
                {"name": "Website", "monitors": [web]},
                {"name": "Database", "monitors": [db, push_id]}
            ]),
        );
        body["show_response_times"] = json!(true);
        let created = owner.post("/api/status-pages", body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        // Let both monitors fail, so their error messages exist to leak.
        for id in [web, db] {
            owner.post(&format!("/api/monitors/{id}/check"), json!({})).await;
        }
        wait_for_summary(&app, "acme", |summary| {
            summary["components"][0]["status"] == "major_outage"
                && summary["components"][1]["status"] != "operational"
        })
        .await;

        let mut answers = Vec::new();
        for path in [
            "/status/acme",
            "/status/acme/summary.json",
            "/status/acme/badge.svg",
            "/status/acme/rss",
            "/status/acme/atom",
            "/status/acme/history",
        ] {
            let (status, _, body) = fetch(&app, path, None).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            answers.push((path, body));
        }
        // Failed checks have no response time: the page says so instead of "- average".
        let page_html = &answers[0].1;
        assert!(page_html.contains("no response time in 24 h"), "{page_html}");
        assert!(!page_html.contains("- average response"), "{page_html}");
        let private = [
            secret_url,
            "127.0.0.1",
            "private-x7q",
            "s3cr3t",
            "header-s3cr3t",
            "internal-web-name",
            "internal-db-name",
            "internal-cron",
            "refused",
            push_token,
            api_key.as_str(),
            "owner@example.com",
            "other@example.com",
            "team of",
            "their-private-monitor",
            "Their component",
            "Their private incident",
            "internal-maint-name",
            "/monitors/",
            "/api/",
        ];
        for (path, body) in &answers {
            for secret in private {
                assert!(!body.contains(secret), "{path} shows '{secret}'");
            }
        }
        // The JSON names nothing by id: no key that is or ends in `id`, anywhere.
        let summary: Value = serde_json::from_str(&answers[1].1).unwrap();
        let mut pending = vec![&summary];
        while let Some(value) = pending.pop() {
            match value {
                Value::Object(map) => {
                    for (key, inner) in map {
                        assert!(!key.ends_with("id") && key != "monitors" && key != "team", "{key}");
                        pending.push(inner);
                    }
                }
                Value::Array(items) => pending.extend(items),
                _ => {}
            }
        }
        // And no id of the other team (its team, page or monitor) is in the page's text as one.
        let their_page = theirs.body["id"].as_i64().unwrap();
        for (path, body) in &answers {
            for id in [other_team.0, their_page, their_monitor] {
                for form in [format!("\"{id}\""), format!("/{id}")] {
                    assert!(!body.contains(&form), "{path} holds {form}");
                }
            }
        }
        Ok(())
    })
    .await;
}

/// The monitors file declares status pages whose components name its monitors by key: the
/// issue's short form (components on the page) and groups; applied by slug, unchanged when
/// applied again, updated when changed; a bad key or another team's slug is a problem at its
/// line, and then nothing of the file is applied.
#[tokio::test]
async fn the_monitors_file_declares_status_pages_by_slug() {
    each_backend(Options::default(), |app| async move {
        let (owner, team) = owner_on(&app, "owner@example.com", Plan::Professional).await;
        let put = |body: String| {
            let owner = owner.clone();
            let app = app.clone();
            async move {
                let answer = owner
                    .http
                    .put(app.url("/api/monitors/yaml"))
                    .headers(owner.headers.clone())
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = answer.status();
                (status, answer.json::<Value>().await.unwrap())
            }
        };
        let file = "monitors:
  - key: web
    name: Website
    kind: http
    url: http://127.0.0.1:9/
    interval: 1h
  - key: api
    name: API
    kind: tcp
    host: 127.0.0.1
    port: 9
    interval: 1h
status_pages: [{slug: public, title: Example status, components: [{name: Website, monitors: [web]}]}]
"
        .to_owned();
        let grouped = format!(
            "{file}  - slug: inside
    title: Inside
    visibility: members
    groups:
      - name: Backend
        components:
          - {{name: API, monitors: [api, web]}}
"
        )
        .replace("status_pages: [{slug: public, title: Example status, components: [{name: Website, monitors: [web]}]}]\n",
                 "status_pages:\n  - {slug: public, title: Example status, components: [{name: Website, monitors: [web]}]}\n");

        let (status, first) = put(file.clone()).await;
        assert_eq!(status, StatusCode::OK, "{first}");
        assert_eq!(first["status_pages"]["created"], json!(["public"]), "{first}");
        let web = app
            .store
            .list_monitors(team, &every_monitor())
            .await?
            .into_iter()
            .find(|m| m.monitor.spec.name == "Website")
            .expect("web")
            .monitor
            .id;
        let pages = owner.get("/api/status-pages").await;
        let listed = &pages.body["status_pages"][0];
        assert_eq!(listed["slug"], "public");
        assert_eq!(
            listed["groups"][0]["components"][0]["monitors"],
            json!([web.0])
        );
        let visitor = reqwest::get(app.url("/status/public")).await?;
        assert_eq!(visitor.status(), StatusCode::OK);
        assert!(visitor.text().await?.contains("Website"));

        let (_, again) = put(file.clone()).await;
        assert_eq!(again["status_pages"]["unchanged"], json!(["public"]), "{again}");
        let (status, both) = put(grouped.replace("Example status", "Our status")).await;
        assert_eq!(status, StatusCode::OK, "{both}");
        assert_eq!(both["status_pages"]["updated"], json!(["public"]), "{both}");
        assert_eq!(both["status_pages"]["created"], json!(["inside"]), "{both}");
        let inside = reqwest::get(app.url("/status/inside/summary.json")).await?;
        assert_eq!(
            inside.status(),
            StatusCode::UNAUTHORIZED,
            "a members page is not public"
        );

        // A password page: its password hashed, never echoed; the same password applied again
        // keeps the stored hash (visitors stay signed in), so the page is unchanged.
        let locked = grouped.replace("Example status", "Our status").replace(
            "visibility: members",
            "visibility: password\n    password: plum-velvet-harbour-42",
        );
        let (status, first) = put(locked.clone()).await;
        assert_eq!(status, StatusCode::OK, "{first}");
        assert_eq!(first["status_pages"]["updated"], json!(["inside"]), "{first}");
        assert!(!first.to_string().contains("plum-velvet"), "{first}");
        let (_, again) = put(locked).await;
        assert_eq!(
            again["status_pages"]["unchanged"],
            json!(["public", "inside"]),
            "{again}"
        );
        let refused = reqwest::get(app.url("/status/inside/summary.json")).await?;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

        // The export writes the pages back, components naming monitors by key, no password;
        // applied again, it changes nothing.
        let exported = export(&app, &owner).await;
        let pages = exported.split_once("\nstatus_pages:\n").expect("a status_pages section").1;
        assert!(pages.contains("    \"slug\": \"public\"\n"), "{exported}");
        assert!(exported.contains("\"visibility\": \"password\""), "{exported}");
        assert!(!exported.contains("plum-velvet") && !exported.contains("argon2"), "{exported}");
        assert!(exported.contains("- \"api\"\n") && exported.contains("- \"web\"\n"), "{exported}");
        let (status, round_trip) = put(exported.clone()).await;
        assert_eq!(status, StatusCode::OK, "{round_trip}\n{exported}");
        assert_eq!(
            round_trip["status_pages"]["unchanged"],
            json!(["public", "inside"]),
            "{round_trip}"
        );
        // A page showing a monitor without a key cannot name it: the file says so.
        let keyless = owner.post("/api/monitors", http_monitor("keyless")).await;
        let keyless = keyless.body["id"].as_i64().unwrap();
        let page = owner
            .post(
                "/api/status-pages",
                json!({"slug": "keyless", "title": "Keyless",
                       "groups": [{"components": [{"name": "K", "monitors": [keyless]}]}]}),
            )
            .await;
        assert_eq!(page.status, StatusCode::CREATED, "{:?}", page.body);
        let exported = export(&app, &owner).await;
        assert!(
            exported.contains(&format!(
                "# Not exported: status page keyless shows monitors without a key ({keyless})"
            )),
            "{exported}"
        );
        assert_eq!(owner.delete(&format!("/api/status-pages/{}", page.body["id"])).await.status, StatusCode::NO_CONTENT);

        // A key the file does not have: the problem at its line; nothing applied.
        let (status, bad) = put(
            file.replace("monitors: [web]", "monitors: [nowhere]")
                .replace("key: api", "key: api2"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        let field = bad["error"]["details"][0]["field"].as_str().unwrap_or_default();
        assert!(
            field.starts_with("status_pages[0].components[0].monitors[0] (line 13:"),
            "{bad}"
        );
        // Another team's slug: refused before anything is written.
        let (other, _) = owner_on(&app, "other@example.com", Plan::Professional).await;
        let theirs = other
            .post(
                "/api/status-pages",
                json!({"slug": "theirs", "title": "Theirs", "groups": []}),
            )
            .await;
        assert_eq!(theirs.status, StatusCode::CREATED, "{:?}", theirs.body);
        let (status, taken) = put(
            file.replace("slug: public", "slug: theirs")
                .replace("key: api", "key: api3"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{taken}");
        assert_eq!(
            taken["error"]["details"][0]["field"], "status_pages[0].slug",
            "{taken}"
        );
        let keys: Vec<String> = app
            .store
            .list_monitors(team, &every_monitor())
            .await?
            .into_iter()
            .filter_map(|m| m.monitor.spec.key.map(|k| k.to_string()))
            .collect();
        assert!(
            !keys.iter().any(|k| k == "api2" || k == "api3"),
            "nothing of a refused file is applied: {keys:?}"
        );
        Ok(())
    })
    .await;
}

/// The team's monitors file as `GET /api/monitors/yaml` writes it.
async fn export(app: &TestApp, owner: &Client) -> String {
    owner
        .http
        .get(app.url("/api/monitors/yaml"))
        .headers(owner.headers.clone())
        .send()
        .await
        .expect("export")
        .text()
        .await
        .expect("the file")
}

fn every_monitor() -> watchtower_store::PageRequest {
    watchtower_store::PageRequest {
        limit: 500,
        ..Default::default()
    }
}

/// A visitor whose browser takes gzip gets the page compressed (the cache keeps the compressed
/// copy), the same page once inflated; one that refuses gzip gets it plain.
#[tokio::test]
async fn the_page_is_sent_compressed_to_visitors_who_take_gzip() {
    each_backend(Options::default(), |app| async move {
        let (owner, _) = owner_on(&app, "owner@example.com", Plan::Professional).await;
        let web = monitor(
            &owner,
            json!({"name": "web", "kind": "tcp", "host": "127.0.0.1", "port": 9, "interval": "1h"}),
        )
        .await;
        let created = owner
            .post(
                "/api/status-pages",
                page("acme", json!([{"name": "Website", "monitors": [web]}])),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        let (_, _, plain) = fetch(&app, "/status/acme", None).await;
        let ask = |encoding: &'static str| {
            let app = app.clone();
            async move {
                reqwest::Client::new()
                    .get(app.url("/status/acme"))
                    .header("accept-encoding", encoding)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let compressed = ask("gzip, deflate, br").await;
        assert_eq!(compressed.headers()["content-encoding"], "gzip");
        assert_eq!(compressed.headers()["vary"], "accept-encoding");
        let bytes = compressed.bytes().await?;
        assert!(
            bytes.len() < plain.len(),
            "{} >= {}",
            bytes.len(),
            plain.len()
        );
        let mut inflated = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(&bytes[..]),
            &mut inflated,
        )?;
        assert_eq!(inflated, plain);
        assert!(inflated.contains("Website"));
        let refused = ask("gzip;q=0, identity").await;
        assert!(refused.headers().get("content-encoding").is_none());
        assert_eq!(refused.text().await?, plain);
        Ok(())
    })
    .await;
}

/// The words of a badge: its label and its message, from its two `<text>` elements.
fn badge_words(svg: &str) -> Vec<String> {
    svg.split("<text ")
        .skip(1)
        .map(|text| {
            let inner = &text[text.find('>').unwrap() + 1..];
            inner[..inner.find("</text>").unwrap()].to_owned()
        })
        .collect()
}

#[tokio::test]
async fn badges_say_uptime_and_response_time_for_the_page_and_each_component() {
    each_backend(Options::default(), |app| async move {
        let target = watchtower_testkit::TargetServer::start(0).await?;
        let (owner, team) = owner_on(&app, "owner@example.com", Plan::Professional).await;
        let shop = monitor(
            &owner,
            json!({"name": "shop", "kind": "http", "url": target.url(), "interval": "1h"}),
        )
        .await;
        let api = monitor(&owner, http_monitor("api")).await;
        // A heartbeat monitor never pinged has no results within its first hour.
        let quiet = monitor(
            &owner,
            json!({"name": "nightly", "kind": "push", "period": "1h"}),
        )
        .await;
        let mut body = page(
            "acme",
            json!([
                {"name": "Shop", "monitors": [shop]},
                {"name": "API & more", "monitors": [api]},
                {"name": "Quiet", "monitors": [quiet]}
            ]),
        );
        body["history_days"] = json!(30);
        let created = owner.post("/api/status-pages", body.clone()).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        // One check each, stored before any badge is asked for (bounded: 10 s).
        for id in [shop, api] {
            let checked = owner
                .post(&format!("/api/monitors/{id}/check"), json!({}))
                .await;
            assert!(checked.status.is_success(), "{checked:?}");
        }
        let mut counts = Vec::new();
        for id in [shop, api] {
            let mut stored = 0;
            for _ in 0..100 {
                let now = watchtower_core::Timestamp::now();
                stored = app
                    .store
                    .results(
                        team,
                        watchtower_core::MonitorId(id),
                        now.minus(Duration::from_secs(3600)),
                        now.plus(Duration::from_secs(60)),
                        10,
                    )
                    .await?
                    .len();
                if stored > 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert!(stored > 0, "monitor {id}'s check was not stored");
            counts.push(stored as f64);
        }
        // One check each, unless a scheduled check also fell in these seconds.
        let page_uptime = format!(
            "{:.2}%",
            (counts[0] / (counts[0] + counts[1]) * 10_000.0).floor() / 100.0
        );

        let badge = |query: &'static str| {
            let app = app.clone();
            async move {
                let (status, headers, svg) =
                    fetch(&app, &format!("/status/acme/badge.svg{query}"), None).await;
                assert_eq!(status, StatusCode::OK, "{query}: {svg}");
                assert_eq!(headers["content-type"], "image/svg+xml");
                assert!(
                    quick_xml::Reader::from_str(&svg)
                        .read_event()
                        .is_ok_and(|event| matches!(event, quick_xml::events::Event::Start(_))),
                    "{svg}"
                );
                svg
            }
        };
        // The page: the shop's good checks of both monitors' checks; a component: its own.
        let svg = badge("?kind=uptime&period=24h").await;
        assert_eq!(badge_words(&svg), ["uptime 24h", page_uptime.as_str()]);
        assert!(
            svg.contains(&format!("aria-label=\"acme status: {page_uptime}\"")),
            "{svg}"
        );
        assert!(svg.contains("#b3261e"), "below 99 % is red: {svg}");
        let svg = badge("?kind=uptime&period=30d&component=Shop").await;
        assert_eq!(badge_words(&svg), ["uptime 30d", "100.00%"]);
        // The page shows 30 days: no badge tells of 90.
        let (status, _, _) =
            fetch(&app, "/status/acme/badge.svg?kind=uptime&period=90d", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(svg.contains("#17692e"), "{svg}");
        // A name with `&` is asked for encoded and drawn escaped.
        let svg = badge("?kind=uptime&component=API%20%26%20more").await;
        assert_eq!(badge_words(&svg), ["uptime 30d", "0.00%"]);
        assert!(svg.contains("API &amp; more: 0.00%"), "{svg}");
        let svg = badge("?kind=uptime&period=7d&component=Quiet").await;
        assert_eq!(badge_words(&svg), ["uptime 7d", "no data"]);
        // A page that hides response times has no response-time badge; once shown, it has.
        let path = "/status/acme/badge.svg?kind=response_time&component=Shop";
        assert_eq!(fetch(&app, path, None).await.0, StatusCode::NOT_FOUND);
        body["show_response_times"] = json!(true);
        let id = created.body["id"].as_i64().unwrap();
        let shown = owner.put(&format!("/api/status-pages/{id}"), body).await;
        assert_eq!(shown.status, StatusCode::OK, "{:?}", shown.body);
        let svg = badge("?kind=response_time&component=Shop").await;
        let words = badge_words(&svg);
        assert_eq!(words[0], "response 24h");
        let ms: u64 = words[1].strip_suffix(" ms").unwrap().parse()?;
        assert!(ms < 10_000, "{words:?}");
        let svg = badge("?component=Shop").await;
        assert_eq!(badge_words(&svg)[0], "status");

        // Every bad field at once, in the error shape; an unknown component is a 404.
        let (status, _, body) =
            fetch(&app, "/status/acme/badge.svg?kind=weather&period=1y", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let body: Value = serde_json::from_str(&body)?;
        let problems: Vec<&str> = body["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert_eq!(problems, ["period", "kind"]);
        let (status, _, _) = fetch(&app, "/status/acme/badge.svg?period=7d", None).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "a status badge takes no period"
        );
        let (status, _, _) = fetch(
            &app,
            "/status/acme/badge.svg?kind=uptime&component=Nope",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        target.stop().await;
        Ok(())
    })
    .await;
}
