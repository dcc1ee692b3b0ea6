//! A public status page as an anonymous visitor sees it in Chromium: the components with their
//! states and daily bars, a bar's words shown on keyboard focus, an incident post's timeline
//! and the month's history; and the dashboard's forms posting an incident and its update; with
//! zero WCAG 2 A/AA violations from axe-core in the light and the dark theme; a password
//! page's form, refusing a wrong password and letting the right one in; the page read and the
//! sign-up made with scripts disabled; the page on its own domain (the Host header); and the
//! team's subscribers view with a visitor's sign-up.

use crate::database;
use crate::support::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_sees_components_and_bars_and_the_page_passes_axe_in_both_themes() {
    if !browser_available() {
        return;
    }
    let database = database().await;
    let (app, running) = TestApp::start(&database.url, Options::default()).await;
    app.user("owner@example.com", false).await;
    let client = app.login("owner@example.com").await;
    let target = watchtower_testkit::target::TargetServer::start(0)
        .await
        .expect("target");
    let web = client
        .post(
            "/api/monitors",
            json!({"name": "Shop front", "kind": "http", "url": target.url(), "interval": "1s", "timeout": "500ms"}),
        )
        .await;
    assert_eq!(web.status, reqwest::StatusCode::CREATED, "{:?}", web.body);
    let db = client
        .post(
            "/api/monitors",
            json!({"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 9, "interval": "1h"}),
        )
        .await;
    let page = client
        .post(
            "/api/status-pages",
            json!({
                "slug": "acme",
                "title": "Acme status",
                "description": "Live status of Acme's services.",
                "accent_color": "#1f6feb",
                "footer_text": "Questions? Write to support.",
                "show_response_times": true,
                "groups": [
                    {"name": "Shop", "components": [
                        {"name": "Website", "description": "The shop front", "monitors": [web.body["id"]]}
                    ]},
                    {"name": "Back office", "components": [
                        {"name": "Database", "monitors": [db.body["id"]]}
                    ]}
                ]
            }),
        )
        .await;
    assert_eq!(page.status, reqwest::StatusCode::CREATED, "{:?}", page.body);
    // The database's monitor fails (nothing listens on port 9): a page with an outage to show.
    let id = db.body["id"].as_i64().expect("id");
    client
        .post(&format!("/api/monitors/{id}/check"), json!({}))
        .await;

    // An incident post with two updates: visitors read its timeline, newest first.
    let incidents = format!("/api/status-pages/{}/incidents", page.body["id"]);
    let post = client
        .post(
            &incidents,
            json!({"title": "Database unreachable", "impact": "sev2",
                   "components": [{"name": "Database", "state": "major_outage"}]}),
        )
        .await;
    assert_eq!(post.status, reqwest::StatusCode::CREATED, "{:?}", post.body);
    let update = client
        .post(
            &format!("{incidents}/{}/updates", post.body["id"]),
            json!({"status": "identified", "message": "A full disk on the primary."}),
        )
        .await;
    assert_eq!(
        update.status,
        reqwest::StatusCode::CREATED,
        "{:?}",
        update.body
    );

    let mut failures = Vec::new();
    for dark in [false, true] {
        let browser = Browser::open(&app.base, dark).await;
        let mut states = Vec::new();
        for _ in 0..100 {
            browser.go("/status/acme").await;
            browser.wait_for("main h1", 10).await;
            states = browser.texts(".component .state").await;
            if states.iter().any(|s| s == "Major outage") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(states.len(), 2, "{states:?}");
        assert!(states.contains(&"Major outage".to_owned()), "{states:?}");
        assert_eq!(
            browser.texts(".component h3").await,
            ["Website", "Database"],
            "components in order"
        );
        assert_eq!(
            browser.count("ol.day-bars li").await,
            2 * 90,
            "90 daily bars each"
        );
        assert_eq!(browser.count("nav").await, 0, "no dashboard navigation");
        // A bar's words show when it has the keyboard's focus.
        let shown = browser
            .client
            .execute(
                "const bar = document.querySelector('ol.day-bars li:last-child');\
                 bar.focus();\
                 const tip = bar.querySelector('.day-tip');\
                 return [document.activeElement === bar, tip.getBoundingClientRect().width, tip.textContent];",
                vec![],
            )
            .await
            .expect("focus a bar");
        assert_eq!(shown[0], true, "a bar takes focus");
        assert!(
            shown[1].as_f64().unwrap_or_default() > 20.0,
            "the tip shows: {shown}"
        );
        assert!(
            shown[2].as_str().unwrap_or_default().contains("uptime")
                || shown[2].as_str().unwrap_or_default().contains("no data")
        );
        assert_eq!(
            browser.texts(".status-post h3").await,
            ["Database unreachable"]
        );
        let timeline = browser.texts(".status-post .timeline li").await;
        assert_eq!(timeline.len(), 2, "{timeline:?}");
        assert!(
            timeline[0].starts_with("Identified") && timeline[0].contains("A full disk"),
            "{timeline:?}"
        );
        assert!(
            timeline[1].starts_with("Investigating")
                && timeline[1].contains("problems with Database"),
            "{timeline:?}"
        );
        for violation in browser.accessibility_violations().await {
            failures.push(format!("status page ({}): {violation}", browser.theme));
        }
        browser.screenshot("status-page").await;
        browser
            .click_and_load("a[href^='/status/acme/history']")
            .await;
        browser.wait_for(".status-post", 10).await;
        assert_eq!(
            browser.texts(".status-post h3").await,
            ["Database unreachable"]
        );
        for violation in browser.accessibility_violations().await {
            failures.push(format!("status history ({}): {violation}", browser.theme));
        }
        browser.screenshot("status-history").await;
        // The 404 of an unknown page passes too.
        browser.go("/status/nobody").await;
        browser.wait_for("main h1", 10).await;
        for violation in browser.accessibility_violations().await {
            failures.push(format!(
                "unknown status page ({}): {violation}",
                browser.theme
            ));
        }
        browser.close().await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    drop(target);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_posts_an_incident_and_an_update_from_the_dashboard_in_both_themes() {
    if !browser_available() {
        return;
    }
    let database = database().await;
    let (app, running) = TestApp::start(&database.url, Options::default()).await;
    app.user("owner@example.com", false).await;
    let client = app.login("owner@example.com").await;
    let monitor = client
        .post(
            "/api/monitors",
            json!({"name": "web", "kind": "tcp", "host": "127.0.0.1", "port": 9, "interval": "1h"}),
        )
        .await;
    let page = client
        .post(
            "/api/status-pages",
            json!({"slug": "acme", "title": "Acme status",
                   "groups": [{"components": [{"name": "Website", "monitors": [monitor.body["id"]]}]}]}),
        )
        .await;
    assert_eq!(page.status, reqwest::StatusCode::CREATED, "{:?}", page.body);
    let id = page.body["id"].as_i64().expect("id");

    let mut failures = Vec::new();
    for dark in [false, true] {
        let browser = Browser::open(&app.base, dark).await;
        browser.sign_in("owner@example.com").await;
        browser.go("/status-pages").await;
        browser
            .click_and_load(&format!("a[href='/status-pages/{id}']"))
            .await;
        let message = browser
            .client
            .find(fantoccini::Locator::Css("#field-message"))
            .await
            .expect("message")
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default();
        assert!(
            message.starts_with("We're currently investigating"),
            "{message}"
        );
        // Nothing typed: the form comes back with the problem beside the title.
        browser
            .click_and_load("form[action$='/incidents'] button[type=submit]")
            .await;
        browser.wait_for("#problem-title", 10).await;
        for violation in browser.accessibility_violations().await {
            failures.push(format!(
                "incident form with problems ({}): {violation}",
                browser.theme
            ));
        }
        browser
            .fill(
                "#field-title",
                &format!("Checkout fails ({})", browser.theme),
            )
            .await;
        browser.select("#field-impact", "sev1").await;
        browser.select("#field-component-0", "major_outage").await;
        browser.fill("#field-message", "").await;
        browser
            .click_and_load("form[action$='/incidents'] button[type=submit]")
            .await;
        browser.wait_for("#timeline", 10).await;
        let timeline = browser.texts(".timeline li").await;
        assert_eq!(timeline.len(), 1, "{timeline:?}");
        assert!(
            timeline[0].contains("problems with Website"),
            "{timeline:?}"
        );
        for violation in browser.accessibility_violations().await {
            failures.push(format!("incident page ({}): {violation}", browser.theme));
        }
        browser.screenshot("status-incident").await;
        browser.select("#field-status", "resolved").await;
        browser
            .click_and_load("form[action$='/updates'] button[type=submit]")
            .await;
        browser.wait_for("#timeline", 10).await;
        let timeline = browser.texts(".timeline li").await;
        assert_eq!(timeline.len(), 2, "{timeline:?}");
        assert!(timeline[0].starts_with("Resolved"), "{timeline:?}");
        browser.close().await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_writes_a_draft_the_team_reviews_and_publishes_from_the_dashboard() {
    if !browser_available() {
        return;
    }
    let database = database().await;
    let (app, running) = TestApp::start(&database.url, Options::default()).await;
    app.user("owner@example.com", false).await;
    let client = app.login("owner@example.com").await;
    let monitor = client
        .post(
            "/api/monitors",
            json!({"name": "db-primary", "kind": "tcp", "host": "127.0.0.1", "port": 9, "interval": "1h"}),
        )
        .await;
    let monitor = monitor.body["id"].as_i64().expect("id");
    let page = client
        .post(
            "/api/status-pages",
            json!({"slug": "acme", "title": "Acme status",
                   "groups": [{"components": [{"name": "Database", "monitors": [monitor]}]}]}),
        )
        .await;
    let id = page.body["id"].as_i64().expect("id");

    let mut failures = Vec::new();
    let light = Browser::open(&app.base, false).await;
    light.sign_in("owner@example.com").await;
    light.go(&format!("/status-pages/{id}")).await;
    // The team chooses drafts in the "When a monitor goes down" panel.
    light.click("input[name=auto_incidents][value=draft]").await;
    light
        .click_and_load("form[action$='/automation'] button[type=submit]")
        .await;
    light.wait_for("#automation", 10).await;
    let stored = client.get(&format!("/api/status-pages/{id}")).await;
    assert_eq!(stored.body["auto_incidents"], "draft", "{:?}", stored.body);

    client
        .post(&format!("/api/monitors/{monitor}/check"), json!({}))
        .await;
    let mut draft = None;
    for _ in 0..300 {
        let posts = client
            .get(&format!("/api/status-pages/{id}/incidents"))
            .await;
        if let Some(post) = posts.body["incidents"].get(0) {
            draft = post["id"].as_i64();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let draft = draft.expect("the outage wrote a draft");
    light.go(&format!("/status-pages/{id}")).await;
    assert_eq!(light.texts("td .state-paused").await, ["Draft"]);
    light.close().await;
    // One browser at a time (the harness's lock): the dark one first, the light one publishes.
    for dark in [true, false] {
        let browser = Browser::open(&app.base, dark).await;
        browser.sign_in("owner@example.com").await;
        browser.go(&format!("/status-pages/{id}")).await;
        for violation in browser.accessibility_violations().await {
            failures.push(format!("page settings ({}): {violation}", browser.theme));
        }
        browser
            .go(&format!("/status-pages/{id}/incidents/{draft}"))
            .await;
        browser.wait_for("#draft", 10).await;
        for violation in browser.accessibility_violations().await {
            failures.push(format!("draft ({}): {violation}", browser.theme));
        }
        if dark {
            browser.close().await;
            continue;
        }
        browser.go("/status/acme").await;
        assert_eq!(
            browser.count(".status-post").await,
            0,
            "a draft is not shown"
        );
        browser
            .go(&format!("/status-pages/{id}/incidents/{draft}"))
            .await;
        browser.screenshot("status-draft").await;
        browser
            .click_and_load("form[action$='/publish'] button[type=submit]")
            .await;
        browser.wait_for("#timeline", 10).await;
        assert_eq!(
            browser.count("#draft").await,
            0,
            "published: no draft panel"
        );
        // Another address than the one loaded above: the page may be cached 10 s by a browser.
        browser.go("/status/acme?published").await;
        browser
            .wait_for_text(".status-post h3", "Database outage", 10)
            .await;
        browser.close().await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_enters_a_password_pages_password_and_the_form_passes_axe_in_both_themes() {
    if !browser_available() {
        return;
    }
    let database = database().await;
    let (app, running) = TestApp::start(&database.url, Options::default()).await;
    app.user("owner@example.com", false).await;
    let client = app.login("owner@example.com").await;
    let db = client
        .post(
            "/api/monitors",
            json!({"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 9, "interval": "1h"}),
        )
        .await;
    let page = client
        .post(
            "/api/status-pages",
            json!({
                "slug": "inner",
                "title": "Inner status",
                "visibility": "password",
                "password": "let me in please",
                "groups": [{"components": [{"name": "Ledger", "monitors": [db.body["id"]]}]}]
            }),
        )
        .await;
    assert_eq!(page.status, reqwest::StatusCode::CREATED, "{:?}", page.body);

    let mut failures = Vec::new();
    for dark in [false, true] {
        let browser = Browser::open(&app.base, dark).await;
        browser.go("/status/inner").await;
        browser.wait_for("#field-password", 10).await;
        assert_eq!(browser.count(".component").await, 0, "nothing of the page");
        for violation in browser.accessibility_violations().await {
            failures.push(format!("password form ({}): {violation}", browser.theme));
        }
        browser.fill("#field-password", "a wrong guess").await;
        browser.click_and_load("button[type='submit']").await;
        browser.wait_for(".field-error", 10).await;
        assert_eq!(
            browser.texts(".field-error").await,
            ["That password is not right."]
        );
        let typed = browser
            .client
            .execute(
                "return document.querySelector('#field-password').value + document.body.innerHTML;",
                vec![],
            )
            .await
            .expect("read the form");
        assert!(
            !typed.as_str().unwrap_or_default().contains("a wrong guess"),
            "the password is never shown back"
        );
        for violation in browser.accessibility_violations().await {
            failures.push(format!("refused password ({}): {violation}", browser.theme));
        }
        browser.screenshot("status-password").await;
        browser.fill("#field-password", "let me in please").await;
        browser.click_and_load("button[type='submit']").await;
        browser.wait_for(".component", 10).await;
        assert_eq!(browser.texts(".component h3").await, ["Ledger"]);
        assert_eq!(browser.path().await, "/status/inner");
        // The cookie is not for scripts.
        let cookies = browser
            .client
            .execute("return document.cookie;", vec![])
            .await
            .expect("read cookies");
        assert!(
            !cookies
                .as_str()
                .unwrap_or_default()
                .contains("watchtower_status_access"),
            "{cookies}"
        );
        browser.close().await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_team_sets_up_subscribers_and_a_visitor_signs_up_from_the_page() {
    if !browser_available() {
        return;
    }
    let database = database().await;
    let (app, running) = TestApp::start(&database.url, Options::default()).await;
    app.user("owner@example.com", false).await;
    let client = app.login("owner@example.com").await;
    let db = client
        .post(
            "/api/monitors",
            json!({"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 9, "interval": "1h"}),
        )
        .await;
    let page = client
        .post(
            "/api/status-pages",
            json!({"slug": "acme", "title": "Acme status",
                   "groups": [{"components": [{"name": "Database", "monitors": [db.body["id"]]},
                                              {"name": "Website", "monitors": [db.body["id"]]}]}]}),
        )
        .await;
    let id = page.body["id"].as_i64().expect("id");
    let channel = client
        .post(
            "/api/channels",
            json!({"name": "Status mail", "kind": "email", "host": "127.0.0.1", "port": 9,
                   "security": "none", "from": "status@example.com", "to": ["ops@example.com"]}),
        )
        .await;
    assert_eq!(
        channel.status,
        reqwest::StatusCode::CREATED,
        "{:?}",
        channel.body
    );
    let subscribers = format!("/status-pages/{id}/subscribers");

    let mut failures = Vec::new();
    // The light browser sets things up; the dark one sees them.
    for dark in [false, true] {
        let browser = Browser::open(&app.base, dark).await;
        browser.sign_in("owner@example.com").await;
        browser.go(&subscribers).await;
        browser.wait_for("#email-channel", 10).await;
        if !dark {
            // The team picks the email channel: the page shows its sign-up form.
            browser
                .select("#field-email-channel", &channel.body["id"].to_string())
                .await;
            browser
                .click_and_load("form[action$='/subscribers/channel'] button[type=submit]")
                .await;
            browser
                .wait_for_text("#email-channel p", "Visitors see the sign-up form.", 10)
                .await;
            // A bad URL is shown next to its field, what was typed kept.
            browser
                .fill("#field-address", "ftp://hooks.example.com/x")
                .await;
            browser
                .click_and_load("form[action$='/subscribers'] button.primary")
                .await;
            browser.wait_for("#problem-address", 10).await;
            for violation in browser.accessibility_violations().await {
                failures.push(format!(
                    "subscribers refused ({}): {violation}",
                    browser.theme
                ));
            }
            browser
                .fill("#field-address", "http://127.0.0.1:9/hook")
                .await;
            browser.click("input[name=components][value=Website]").await;
            browser
                .click_and_load("form[action$='/subscribers'] button.primary")
                .await;
            browser.wait_for("table", 10).await;
            assert_eq!(
                browser.texts("tbody td:nth-child(3)").await,
                ["Website"],
                "the webhook follows Website only"
            );
        }
        for violation in browser.accessibility_violations().await {
            failures.push(format!("subscribers ({}): {violation}", browser.theme));
        }
        // The visitor's side: the form on the page, and the answer to it.
        browser.go(&format!("/status/acme?{}", browser.theme)).await;
        browser.wait_for("#subscribe-heading", 10).await;
        for violation in browser.accessibility_violations().await {
            failures.push(format!(
                "page with sign-up ({}): {violation}",
                browser.theme
            ));
        }
        browser
            .fill(
                "#field-subscribe-email",
                &format!("{}@example.com", browser.theme),
            )
            .await;
        browser
            .click_and_load("form[action$='/subscribe'] button[type=submit]")
            .await;
        browser
            .wait_for_text("#message-heading", "Check your inbox", 10)
            .await;
        for violation in browser.accessibility_violations().await {
            failures.push(format!("sign-up answer ({}): {violation}", browser.theme));
        }
        if !dark {
            browser.screenshot("status-subscribers").await;
            browser.go(&subscribers).await;
            assert_eq!(
                browser.count("tbody tr").await,
                2,
                "a sign-up and a webhook"
            );
            browser
                .click_and_load("tbody tr:last-child button[type=submit]")
                .await;
            browser.wait_for("table", 10).await;
            assert_eq!(
                browser.count("tbody tr").await,
                1,
                "the webhook was removed"
            );
        }
        browser.close().await;
    }
    let listed = client
        .get(&format!("/api/status-pages/{id}/subscribers"))
        .await;
    let addresses: Vec<&str> = listed.body["subscribers"]
        .as_array()
        .expect("subscribers")
        .iter()
        .map(|s| s["address"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(addresses, ["dark@example.com", "light@example.com"]);
    assert!(listed.body["subscribers"][0]["confirmed_at"].is_null());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_javascript_and_on_its_own_domain_the_page_is_complete() {
    if !browser_available() {
        return;
    }
    let database = database().await;
    let (app, running) = TestApp::start(&database.url, Options::default()).await;
    app.user("owner@example.com", false).await;
    let client = app.login("owner@example.com").await;
    let db = client
        .post(
            "/api/monitors",
            json!({"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 9, "interval": "1h"}),
        )
        .await;
    let page = client
        .post(
            "/api/status-pages",
            json!({"slug": "acme", "title": "Acme status", "custom_domain": "status.acme.test",
                   "groups": [{"components": [{"name": "Database", "monitors": [db.body["id"]]}]}]}),
        )
        .await;
    assert_eq!(page.status, reqwest::StatusCode::CREATED, "{:?}", page.body);
    let id = page.body["id"].as_i64().expect("id");
    let post = client
        .post(
            &format!("/api/status-pages/{id}/incidents"),
            json!({"title": "Database unreachable", "impact": "sev2",
                   "components": [{"name": "Database", "state": "major_outage"}]}),
        )
        .await;
    assert_eq!(post.status, reqwest::StatusCode::CREATED, "{:?}", post.body);
    let channel = client
        .post(
            "/api/channels",
            json!({"name": "Status mail", "kind": "email", "host": "127.0.0.1", "port": 9,
                   "security": "none", "from": "status@example.com", "to": ["ops@example.com"]}),
        )
        .await;
    client
        .put(
            &format!("/api/status-pages/{id}/subscriber-channel"),
            json!({"email_channel_id": channel.body["id"]}),
        )
        .await;

    // A visitor whose browser runs no script reads everything and signs up.
    let browser =
        Browser::open_with(&app.base, false, &["--blink-settings=scriptEnabled=false"]).await;
    browser.go("/status/acme").await;
    browser.wait_for("main h1", 10).await;
    assert_eq!(browser.texts(".component h3").await, ["Database"]);
    assert_eq!(
        browser.count("ol.day-bars li").await,
        90,
        "the bars are markup"
    );
    assert_eq!(
        browser.texts(".status-post h3").await,
        ["Database unreachable"]
    );
    assert!(!browser.texts(".status-post .timeline li").await.is_empty());
    browser
        .fill("#field-subscribe-email", "noscript@example.com")
        .await;
    browser
        .click("form[action$='/subscribe'] button[type=submit]")
        .await;
    browser
        .wait_for_text("#message-heading", "Check your inbox", 10)
        .await;
    browser.close().await;

    // The same page on its own domain (the Host header), in both themes.
    let port = app.base.rsplit(':').next().expect("a port").to_owned();
    let domain = format!("http://status.acme.test:{port}");
    let mut failures = Vec::new();
    for dark in [false, true] {
        let browser = Browser::open_with(
            &domain,
            dark,
            &["--host-resolver-rules=MAP status.acme.test 127.0.0.1"],
        )
        .await;
        browser.go("/").await;
        browser.wait_for("main h1", 10).await;
        assert_eq!(browser.texts("main h1").await, ["Acme status"]);
        assert_eq!(browser.texts(".component h3").await, ["Database"]);
        assert_eq!(browser.count("nav").await, 0, "the page, not the dashboard");
        for violation in browser.accessibility_violations().await {
            failures.push(format!("custom domain ({}): {violation}", browser.theme));
        }
        browser.close().await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let listed = client
        .get(&format!("/api/status-pages/{id}/subscribers"))
        .await;
    assert_eq!(
        listed.body["subscribers"][0]["address"],
        "noscript@example.com"
    );
    running.shutdown().await;
}
