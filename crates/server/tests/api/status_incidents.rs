//! Incident posts on status pages: posted, updated and resolved through the API with the
//! operations guide's templates as default text, every bad field listed, an audit trail; what
//! visitors see at once (the cache emptied by each change): the timeline, the history by month,
//! maintenance ahead of and during its window, and the RSS and Atom feeds parsed as XML.

use crate::support::*;
use quick_xml::Reader;
use quick_xml::events::Event;
use reqwest::StatusCode;
use serde_json::{Value, json};
use watchtower_core::{Plan, TeamId};

async fn owner_with_page(app: &TestApp, title: &str) -> (Client, TeamId, i64) {
    let owner = app.user("owner@example.com", false).await;
    let team = app.team("Acme", Plan::Professional, owner).await;
    let client = app.login("owner@example.com").await.in_team(team);
    let web = client.post("/api/monitors", http_monitor("web")).await;
    assert_eq!(web.status, StatusCode::CREATED, "{:?}", web.body);
    let page = client
        .post(
            "/api/status-pages",
            json!({"slug": "acme", "title": title,
                   "groups": [{"components": [
                       {"name": "Website", "monitors": [web.body["id"]]},
                       {"name": "API", "monitors": [web.body["id"]]}]}]}),
        )
        .await;
    assert_eq!(page.status, StatusCode::CREATED, "{:?}", page.body);
    (client, team, page.body["id"].as_i64().unwrap())
}

async fn public(app: &TestApp, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = reqwest::get(app.url(path)).await.expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap_or_default())
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

fn this_month() -> String {
    jiff::Timestamp::now().strftime("%Y-%m").to_string()
}

#[tokio::test]
async fn a_post_is_made_updated_resolved_and_deleted_and_visitors_see_each_step_at_once() {
    each_backend(Options::default(), |app| async move {
        let (owner, team, page) = owner_with_page(&app, "Acme status").await;
        let incidents = format!("/api/status-pages/{page}/incidents");

        let templates = owner.get("/api/status-incident-templates").await;
        assert_eq!(templates.status, StatusCode::OK);
        assert_eq!(templates.body["impacts"][0]["label"], "SEV1");
        assert_eq!(
            templates.body["impacts"][0]["meaning"],
            "Service completely down"
        );
        assert_eq!(
            templates.body["templates"][3]["message"],
            "The issue has been resolved. All services are operating normally."
        );

        let bad = owner
            .post(
                &incidents,
                json!({"title": "", "impact": "sev5", "status": "guessing", "colour": 1,
                       "components": [{"name": "Website", "state": "on fire"}]}),
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            fields(&bad),
            ["title", "impact", "components[0].state", "status", "colour"]
        );
        let unknown = owner
            .post(
                &incidents,
                json!({"title": "x", "impact": "sev3",
                       "components": [{"name": "Website", "state": "degraded"},
                                      {"name": "Billing", "state": "degraded"}]}),
            )
            .await;
        assert_eq!(fields(&unknown), ["components[1].name"]);

        let created = owner
            .post(
                &incidents,
                json!({"title": "Checkout <fails> & times out", "impact": "sev2",
                       "components": [{"name": "Website", "state": "partial_outage"},
                                      {"name": "API", "state": "degraded"}]}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        let id = created.body["id"].as_i64().unwrap();
        assert_eq!(created.body["status"], "investigating");
        assert_eq!(
            created.body["updates"][0]["message"],
            "We're currently investigating reports of problems with Website and API. \
             We'll provide updates as we learn more."
        );

        let (status, _, html) = public(&app, "/status/acme").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("Active incidents"),
            "shown at once: the cache was emptied"
        );
        assert!(html.contains("Checkout &#60;fails&#62; &#38; times out"));
        assert!(html.contains("SEV2"));
        assert!(html.contains("problems with Website and API"));
        let (_, _, summary) = public(&app, "/status/acme/summary.json").await;
        let summary: Value = serde_json::from_str(&summary).unwrap();
        assert_ne!(
            summary["components"][1]["status"], "operational",
            "a component an open post names is at least what the post says"
        );

        let update = format!("{incidents}/{id}/updates");
        let no_status = owner.post(&update, json!({"message": "x"})).await;
        assert_eq!(fields(&no_status), ["status"]);
        let identified = owner
            .post(
                &update,
                json!({"status": "identified", "message": "A bad deploy of the cart."}),
            )
            .await;
        assert_eq!(
            identified.status,
            StatusCode::CREATED,
            "{:?}",
            identified.body
        );
        let (_, _, html) = public(&app, "/status/acme").await;
        assert!(html.contains("A bad deploy of the cart."));
        let identified_at = html.find("A bad deploy").unwrap();
        let investigating_at = html.find("We&#39;re currently investigating").unwrap();
        assert!(identified_at < investigating_at, "the newest update first");

        let resolved = owner.post(&update, json!({"status": "resolved"})).await;
        assert_eq!(resolved.body["status"], "resolved");
        assert!(resolved.body["resolved_at"].is_number());
        assert_eq!(resolved.body["components"][0]["state"], "operational");
        let (_, _, html) = public(&app, "/status/acme").await;
        assert!(!html.contains("Active incidents"));
        assert!(html.contains("Recently resolved") && html.contains("Checkout &#60;fails&#62;"));

        let (status, _, history) = public(
            &app,
            &format!("/status/acme/history?month={}", this_month()),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(history.contains("Checkout &#60;fails&#62;"));
        assert!(history.contains("All services are operating normally."));
        let (_, _, earlier) = public(&app, "/status/acme/history?month=2020-01").await;
        assert!(earlier.contains("No incidents were posted in January 2020"));
        for bad_month in ["2020-13", "soon", "2999-01"] {
            let (status, _, _) =
                public(&app, &format!("/status/acme/history?month={bad_month}")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{bad_month}");
        }

        let listed = owner.get(&incidents).await;
        assert_eq!(listed.body["incidents"].as_array().unwrap().len(), 1);
        assert_eq!(
            listed.body["incidents"][0]["updates"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        let one = owner.get(&format!("{incidents}/{id}")).await;
        assert_eq!(one.body, resolved.body);
        assert_eq!(
            owner.delete(&format!("{incidents}/{id}")).await.status,
            StatusCode::NO_CONTENT
        );
        let (_, _, html) = public(&app, "/status/acme").await;
        assert!(!html.contains("Checkout"), "a deleted post is gone at once");
        assert_eq!(
            owner.get(&format!("{incidents}/{id}")).await.status,
            StatusCode::NOT_FOUND
        );

        let audit = owner.get(&format!("/api/teams/{team}/audit-log")).await;
        let actions: Vec<&str> = audit.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .filter(|action| action.starts_with("status_incident."))
            .collect();
        assert_eq!(
            actions,
            [
                "status_incident.deleted",
                "status_incident.updated",
                "status_incident.updated",
                "status_incident.created"
            ]
        );
        Ok(())
    })
    .await;
}

/// Every element of an XML document as its path (`rss/channel/item/title`) and its text, read
/// by a real parser (which fails on anything malformed).
fn elements(xml: &str) -> Vec<(String, String)> {
    let mut reader = Reader::from_str(xml);
    let (mut path, mut texts, mut out): (Vec<String>, Vec<String>, Vec<(String, String)>) =
        (Vec::new(), Vec::new(), Vec::new());
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(element) => {
                path.push(String::from_utf8(element.name().as_ref().to_vec()).unwrap());
                texts.push(String::new());
            }
            Event::Empty(element) => {
                let name = String::from_utf8(element.name().as_ref().to_vec()).unwrap();
                out.push((format!("{}/{name}", path.join("/")), String::new()));
            }
            Event::Text(text) => {
                if let Some(current) = texts.last_mut() {
                    current.push_str(&text.decode().unwrap());
                }
            }
            Event::GeneralRef(reference) => {
                let name = reference.decode().unwrap();
                let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                    .unwrap_or_else(|| panic!("unknown entity {name}"));
                if let Some(current) = texts.last_mut() {
                    current.push_str(resolved);
                }
            }
            Event::End(_) => {
                out.push((path.join("/"), texts.pop().unwrap_or_default()));
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn texts_at<'a>(elements: &'a [(String, String)], path: &str) -> Vec<&'a str> {
    elements
        .iter()
        .filter(|(p, _)| p == path)
        .map(|(_, text)| text.as_str())
        .collect()
}

#[tokio::test]
async fn feeds_parse_as_rss_and_atom_with_escaped_text_and_maintenance_ahead_and_during() {
    each_backend(Options::default(), |app| async move {
        let title = r#"Tom & Jerry's <"shop">"#;
        let (owner, _, page) = owner_with_page(&app, title).await;
        let web = owner.get("/api/monitors").await.body["monitors"][0]["id"].clone();
        let at = |days: i64| {
            jiff::Timestamp::now()
                .checked_add(jiff::SignedDuration::from_hours(24 * days))
                .unwrap()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        };
        for (name, from, to) in [
            ("under way", at(-1), at(1)),
            ("in two days", at(2), at(3)),
            ("in ten days", at(10), at(11)),
        ] {
            let window = owner
                .post(
                    "/api/maintenance",
                    json!({"name": name, "monitors": [web], "starts_at": from, "ends_at": to}),
                )
                .await;
            assert_eq!(window.status, StatusCode::CREATED, "{:?}", window.body);
        }
        let post_title = "Payments fail </title><script>x</script> & more";
        let created = owner
            .post(
                &format!("/api/status-pages/{page}/incidents"),
                json!({"title": post_title, "impact": "sev1", "message": "Cards are refused \u{1} <b>now</b>",
                       "components": [{"name": "API", "state": "major_outage"}]}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);

        let (_, _, html) = public(&app, "/status/acme").await;
        assert_eq!(html.matches("Scheduled</span>").count(), 1, "the next 7 days only");
        assert_eq!(html.matches("In progress</span>").count(), 1);
        assert!(!html.contains("under way") && !html.contains("in two days"), "no window names");

        let (status, headers, rss) = public(&app, "/status/acme/rss").await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers["content-type"].to_str().unwrap().starts_with("application/rss+xml"));
        let rss = elements(&rss);
        assert_eq!(texts_at(&rss, "rss/channel/title"), [title]);
        // The test application is configured with this public URL, which feeds link to.
        let base = "https://watchtower.example.com/status/acme";
        assert_eq!(texts_at(&rss, "rss/channel/link"), [base]);
        assert_eq!(texts_at(&rss, "rss/channel/description").len(), 1);
        let items = texts_at(&rss, "rss/channel/item/title");
        assert_eq!(items.len(), 3, "the post and two maintenance occurrences: {items:?}");
        assert_eq!(items[0], format!("[Investigating] {post_title} (SEV1)"));
        assert!(items[1..].iter().all(|t| t.starts_with("Scheduled maintenance: ")));
        assert_eq!(texts_at(&rss, "rss/channel/item/guid").len(), 3);
        assert_eq!(texts_at(&rss, "rss/channel/item/pubDate").len(), 3);
        let description = texts_at(&rss, "rss/channel/item/description")[0];
        assert!(description.contains("Cards are refused  <b>now</b>"), "{description}");
        assert!(description.contains("API: Major outage"));

        let (status, headers, atom) = public(&app, "/status/acme/atom").await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers["content-type"].to_str().unwrap().starts_with("application/atom+xml"));
        assert!(atom.contains(r#"<feed xmlns="http://www.w3.org/2005/Atom">"#));
        let atom = elements(&atom);
        assert_eq!(texts_at(&atom, "feed/title"), [title]);
        assert_eq!(texts_at(&atom, "feed/id"), [base]);
        assert_eq!(texts_at(&atom, "feed/updated").len(), 1);
        assert_eq!(texts_at(&atom, "feed/author/name"), [title]);
        let ids = texts_at(&atom, "feed/entry/id");
        assert_eq!(ids.len(), 3);
        assert_eq!(texts_at(&atom, "feed/entry/updated").len(), 3);
        assert_eq!(texts_at(&atom, "feed/entry/title")[0], format!("[Investigating] {post_title} (SEV1)"));
        for updated in texts_at(&atom, "feed/entry/updated") {
            assert!(updated.parse::<jiff::Timestamp>().is_ok(), "RFC 3339: {updated}");
        }

        for path in ["/status/nobody/rss", "/status/nobody/atom", "/status/nobody/history"] {
            assert_eq!(public(&app, path).await.0, StatusCode::NOT_FOUND, "{path}");
        }
        Ok(())
    })
    .await;
}

/// Polls the team's posts of a page (bounded: 15 s) until `ready` holds.
async fn wait_for_posts(
    client: &Client,
    page: i64,
    ready: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let path = format!("/api/status-pages/{page}/incidents");
    for _ in 0..300 {
        let answer = client.get(&path).await;
        let posts = answer.body["incidents"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if ready(&posts) {
            return posts;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the posts of page {page} never became ready");
}

async fn check_now_until(client: &Client, monitor: i64, state: &str) {
    client
        .post(&format!("/api/monitors/{monitor}/check"), json!({}))
        .await;
    for _ in 0..300 {
        let shown = client.get(&format!("/api/monitors/{monitor}")).await;
        if shown.body["status"]["state"] == state {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("monitor {monitor} never became {state}");
}

#[tokio::test]
async fn an_outage_posts_an_automatic_incident_once_resolves_it_and_a_draft_waits_for_publishing() {
    each_backend(Options::default(), |app| async move {
        let owner = app.user("owner@example.com", false).await;
        let team = app.team("Acme", Plan::Professional, owner).await;
        let owner = app.login("owner@example.com").await.in_team(team);
        // A port this test opens and closes: the database is up while it listens.
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let db = owner
            .post(
                "/api/monitors",
                json!({"name": "db-primary", "kind": "tcp", "host": "127.0.0.1", "port": port,
                       "interval": "1h"}),
            )
            .await;
        assert_eq!(db.status, StatusCode::CREATED, "{:?}", db.body);
        let db = db.body["id"].as_i64().unwrap();
        let web = owner.post("/api/monitors", http_monitor("web")).await.body["id"].clone();
        let mut pages = Vec::new();
        for (slug, mode) in [
            ("auto", Some("published")),
            ("drafted", Some("draft")),
            ("manual", None),
        ] {
            let mut body = json!({"slug": slug, "title": format!("{slug} status"),
                "groups": [{"components": [{"name": "Database", "monitors": [db]},
                                           {"name": "Website", "monitors": [web]}]}]});
            if let Some(mode) = mode {
                body["auto_incidents"] = json!(mode);
            }
            let page = owner.post("/api/status-pages", body).await;
            assert_eq!(page.status, StatusCode::CREATED, "{:?}", page.body);
            assert_eq!(page.body["auto_incidents"], mode.unwrap_or("off"));
            pages.push(page.body["id"].as_i64().unwrap());
        }
        let (auto, drafted, manual) = (pages[0], pages[1], pages[2]);
        // A webhook subscriber on each posting page hears what visitors see, when they see it.
        let (receiver, base) = crate::status_subscribers::start_receiver().await;
        for (page, path) in [(auto, "auto"), (drafted, "drafted")] {
            let added = owner
                .post(
                    &format!("/api/status-pages/{page}/subscribers"),
                    json!({"kind": "webhook", "url": format!("{base}/{path}")}),
                )
                .await;
            assert_eq!(added.status, StatusCode::CREATED, "{:?}", added.body);
        }
        check_now_until(&owner, db, "UP").await;

        drop(listener);
        check_now_until(&owner, db, "DOWN").await;
        let posts = wait_for_posts(&owner, auto, |posts| posts.len() == 1).await;
        let post = &posts[0];
        assert_eq!(post["title"], "Database outage");
        assert_eq!(
            post["impact"], "sev1",
            "every monitor of the component is down"
        );
        assert_eq!(post["status"], "investigating");
        assert_eq!(post["published"], true);
        assert_eq!(post["automatic"], true);
        assert_eq!(
            post["components"],
            json!([{"name": "Database", "state": "major_outage"}])
        );
        assert_eq!(
            post["updates"][0]["message"],
            "We're currently investigating reports of problems with Database. We'll provide \
             updates as we learn more."
        );
        let draft = wait_for_posts(&owner, drafted, |posts| posts.len() == 1).await;
        assert_eq!(draft[0]["published"], false);
        assert!(
            owner
                .get(&format!("/api/status-pages/{manual}/incidents"))
                .await
                .body["incidents"]
                .as_array()
                .unwrap()
                .is_empty(),
            "a page set to off posts nothing"
        );

        // Visitors see the published post, never the draft nor the monitor's own name.
        let (_, _, html) = public(&app, "/status/auto").await;
        assert!(html.contains("Database outage"), "{html}");
        assert!(!html.contains("db-primary"));
        let (_, _, html) = public(&app, "/status/drafted").await;
        assert!(
            !html.contains("Database outage"),
            "a draft is the team's only"
        );
        for feed in ["rss", "atom"] {
            let (_, _, xml) = public(&app, &format!("/status/drafted/{feed}")).await;
            assert!(!xml.contains("Database outage"), "{feed}: {xml}");
        }
        let (_, _, history) = public(
            &app,
            &format!("/status/drafted/history?month={}", this_month()),
        )
        .await;
        assert!(!history.contains("Database outage"));

        let heard = crate::status_subscribers::wait_for(&receiver, "auto", 1).await;
        assert_eq!(heard.len(), 1, "{heard:?}");
        assert_eq!(heard[0].1["type"], "incident.created");
        assert_eq!(heard[0].1["incident"]["title"], "Database outage");
        assert!(
            receiver.got("drafted").is_empty(),
            "a draft is news to nobody"
        );

        // Still down at the next check: nothing more is posted.
        owner
            .post(&format!("/api/monitors/{db}/check"), json!({}))
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let posts = wait_for_posts(&owner, auto, |posts| posts.len() == 1).await;
        assert_eq!(posts[0]["updates"].as_array().unwrap().len(), 1);

        // Recovery resolves both posts, each with the guide's resolved message.
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        check_now_until(&owner, db, "UP").await;
        for page in [auto, drafted] {
            let posts =
                wait_for_posts(&owner, page, |posts| posts[0]["status"] == "resolved").await;
            assert_eq!(posts.len(), 1);
            let updates = posts[0]["updates"].as_array().unwrap();
            assert_eq!(updates.len(), 2, "{updates:?}");
            assert_eq!(
                updates[1]["message"],
                "The issue has been resolved. All services are operating normally."
            );
            assert_eq!(posts[0]["components"][0]["state"], "operational");
            assert!(posts[0]["resolved_at"].is_i64() || posts[0]["resolved_at"].is_string());
        }

        // Publishing the draft shows it to visitors; publishing again changes nothing.
        let draft_id = draft[0]["id"].as_i64().unwrap();
        let publish = format!("/api/status-pages/{drafted}/incidents/{draft_id}/publish");
        let published = owner.post(&publish, json!({})).await;
        assert_eq!(published.status, StatusCode::OK, "{:?}", published.body);
        assert_eq!(published.body["published"], true);
        let again = owner.post(&publish, json!({})).await;
        assert_eq!(again.body, published.body);
        let heard = crate::status_subscribers::wait_for(&receiver, "auto", 2).await;
        assert_eq!(heard.len(), 2, "{heard:?}");
        assert_eq!(heard[1].1["type"], "incident.resolved");
        let heard = crate::status_subscribers::wait_for(&receiver, "drafted", 1).await;
        assert_eq!(heard.len(), 1, "published once, heard of once: {heard:?}");
        assert_eq!(heard[0].1["type"], "incident.resolved");
        let (_, _, history) = public(
            &app,
            &format!("/status/drafted/history?month={}", this_month()),
        )
        .await;
        assert!(history.contains("Database outage"), "{history}");
        assert_eq!(
            owner
                .post(
                    &format!("/api/status-pages/{auto}/incidents/{draft_id}/publish"),
                    json!({})
                )
                .await
                .status,
            StatusCode::NOT_FOUND,
            "a post is published only through its own page"
        );

        // The next outage is a new post: the last one is resolved.
        drop(listener);
        check_now_until(&owner, db, "DOWN").await;
        let posts = wait_for_posts(&owner, auto, |posts| posts.len() == 2).await;
        assert_eq!(posts[0]["status"], "investigating");
        assert_eq!(posts[1]["status"], "resolved");

        let bad = owner
            .post(
                "/api/status-pages",
                json!({"slug": "bad", "title": "Bad", "auto_incidents": "always"}),
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(fields(&bad), ["auto_incidents"]);
        Ok(())
    })
    .await;
}
