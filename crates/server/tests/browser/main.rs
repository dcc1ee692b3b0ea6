//! The dashboard in a real Chromium, against the real application: the outage story from
//! signing in to the resolved incident, forms that refuse bad input without saving, a viewer
//! who sees no edit controls and whose forged form is refused, and axe-core on every page in
//! both themes (with a screenshot of each under `target/screenshots/`).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a test tells whoever runs it what it skipped or where it wrote screenshots"
)]

mod alerting;
#[path = "../api/support.rs"]
mod app;
mod status;
mod support;

use std::time::Duration;
use support::*;
use watchtower_core::{Role, TeamId, Timestamp, UserId};
use watchtower_testkit::TestDatabase;
use watchtower_testkit::target::TargetServer;

/// A fresh database: PostgreSQL when `TEST_DATABASE_URL` is given (CI's second pass), else
/// SQLite.
async fn database() -> TestDatabase {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => TestDatabase::postgres(&url).await.expect("PostgreSQL"),
        _ => TestDatabase::sqlite(),
    }
}

/// The team every new user gets.
async fn personal_team(app: &TestApp, user: UserId) -> TeamId {
    app.store.teams_of(user).await.expect("teams")[0].team.id
}

/// A paused TCP monitor of `team`, made in the store (the story is not about making it).
async fn paused_tcp_monitor(app: &TestApp, team: TeamId, name: &str) -> watchtower_core::Monitor {
    let spec = watchtower_core::MonitorSpec::parse(
        &serde_json::json!({"name": name, "kind": "tcp", "host": "127.0.0.1", "port": 9, "paused": true}),
        "",
    )
    .expect("spec");
    app.store
        .create_monitor(team, &spec, Timestamp::now())
        .await
        .expect("monitor")
}

/// Sign in, create an HTTP monitor through the form, see it UP; stop its target and see DOWN
/// arrive on the open overview without a reload; acknowledge the incident and add a note;
/// restart the target and see UP arrive on the open monitor page and the incident resolved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_from_the_form_to_the_resolved_incident() {
    if !browser_available() {
        return;
    }
    let database = database().await;
    let (app, running) = TestApp::start(&database.url, Options::default()).await;
    app.user("owner@example.com", false).await;
    let target = TargetServer::start(0).await.expect("target");
    let port = target.address.port();
    let browser = Browser::open(&app.base, false).await;

    browser.sign_in("owner@example.com").await;
    assert_eq!(browser.path().await, "/");
    // The first-run path leads to the form.
    browser.click_and_load("a[href='/monitors/new']").await;
    browser.wait_for("#field-kind", 10).await;
    browser.fill("#field-name", "Shop front").await;
    browser.select("#field-kind", "http").await;
    browser.fill("#field-http-url", &target.url()).await;
    browser.fill("#field-interval", "1s").await;
    browser.fill("#field-timeout", "500ms").await;
    browser
        .click_and_load("form.panel button[type=submit]")
        .await;
    browser.wait_for("#monitor-state", 10).await;
    let monitor_path = browser.path().await;
    assert!(monitor_path.starts_with("/monitors/"));

    browser.go("/").await;
    browser.wait_for("tr[data-state='up']", 30).await;
    // A marker that a reload would wipe: DOWN must arrive through the live refresh.
    browser
        .client
        .execute("window.__notReloaded = true;", vec![])
        .await
        .expect("mark");
    target.stop().await;
    browser.wait_for("tr[data-state='down']", 40).await;
    let kept = browser
        .client
        .execute("return window.__notReloaded === true;", vec![])
        .await
        .expect("marker");
    assert_eq!(kept, serde_json::Value::Bool(true), "the page was reloaded");
    browser.screenshot("overview-down").await;

    browser.go("/incidents?open=true").await;
    browser.click_and_load("table a[href^='/incidents/']").await;
    browser.wait_for("#incident-state", 10).await;
    browser
        .click_and_load("form[action$='/acknowledge'] button")
        .await;
    let acknowledged = browser.wait_for("#acknowledged", 10).await;
    assert!(
        acknowledged
            .text()
            .await
            .unwrap()
            .contains("owner@example.com")
    );
    browser
        .fill("#note-body", "Restarting the shop's web server")
        .await;
    browser
        .click_and_load("form[action$='/notes'] button")
        .await;
    browser.wait_for("#timeline", 10).await;
    let timeline = browser.texts(".timeline li").await.join("\n");
    assert!(
        timeline.contains("Restarting the shop's web server"),
        "{timeline}"
    );
    assert!(timeline.contains("Acknowledged"), "{timeline}");
    let incident_path = browser.path().await;

    // The monitor page follows the recovery by itself too. Its checks before the outage give
    // the phase breakdown: DNS, connect, TLS, first byte and the rest, and their chart.
    browser.go(&monitor_path).await;
    browser.wait_for("#monitor-state", 10).await;
    let phases = browser.texts(".phase-table tbody th").await;
    assert_eq!(
        phases,
        ["DNS", "Connect", "TLS", "First byte", "Download and rest"],
        "{phases:?}"
    );
    assert_eq!(
        browser.count(".chart[data-phases] canvas").await,
        1,
        "the phase chart is drawn"
    );
    browser
        .client
        .execute("window.__notReloaded = true;", vec![])
        .await
        .expect("mark");
    let target = TargetServer::start(port).await.expect("target again");
    browser.wait_for_text("#monitor-state", "Up", 40).await;
    let kept = browser
        .client
        .execute("return window.__notReloaded === true;", vec![])
        .await
        .expect("marker");
    assert_eq!(
        kept,
        serde_json::Value::Bool(true),
        "the monitor page was reloaded"
    );
    browser.go(&incident_path).await;
    let state = browser.wait_for("#incident-state", 10).await;
    assert_eq!(state.text().await.unwrap(), "Resolved");
    let timeline = browser.texts(".timeline li").await.join("\n");
    assert!(timeline.contains("Resolved"), "{timeline}");

    browser.close().await;
    target.stop().await;
    running.shutdown().await;
}

/// A form with three bad fields shows three messages in place and saves nothing; the monitors
/// file editor shows a problem with its line and applies nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_shown_in_place_and_nothing_is_saved() {
    if !browser_available() {
        return;
    }
    let database = database().await;
    let (app, running) = TestApp::start(&database.url, Options::default()).await;
    let owner = app.user("owner@example.com", false).await;
    let team = personal_team(&app, owner).await;
    let browser = Browser::open(&app.base, false).await;
    browser.sign_in("owner@example.com").await;

    browser.go("/monitors/new").await;
    browser.select("#field-kind", "http").await;
    browser.fill("#field-name", "").await;
    browser.fill("#field-http-url", "not a url").await;
    browser.fill("#field-interval", "soon").await;
    browser
        .click_and_load("form.panel button[type=submit]")
        .await;
    browser.wait_for("#form-problems", 10).await;
    let shown: Vec<String> = browser
        .texts("fieldset:not([hidden]) .field-error, form > .field .field-error")
        .await;
    assert_eq!(shown.len(), 3, "{shown:?}");
    for (id, word) in [
        ("#problem-name", "Name"),
        ("#problem-http-url", "URL"),
        ("#problem-interval", "Check every"),
    ] {
        let text = browser.wait_for(id, 5).await.text().await.unwrap();
        assert!(text.starts_with(word), "{id}: {text}");
    }
    // What was typed is still there to correct.
    let url = browser
        .wait_for("#field-http-url", 5)
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(url.as_deref(), Some("not a url"));
    assert_eq!(app.store.count_monitors(team).await.unwrap(), 0);

    browser.go("/monitors/yaml").await;
    browser
        .fill(
            "#yaml-text",
            "monitors:\n  - key: shop\n    name: Shop\n    kind: http\n    url: nope\n",
        )
        .await;
    browser.click_and_load("button[value='apply']").await;
    let problems = browser
        .wait_for("#yaml-problems", 10)
        .await
        .text()
        .await
        .unwrap();
    assert!(problems.contains("line 5"), "{problems}");
    assert_eq!(app.store.count_monitors(team).await.unwrap(), 0);

    // A valid file: Check lists what would change and applies nothing; Apply applies it.
    browser
        .fill(
            "#yaml-text",
            "monitors:\n  - key: shop\n    name: Shop\n    kind: tcp\n    host: 127.0.0.1\n    port: 9\n",
        )
        .await;
    browser.click_and_load("button[value='check']").await;
    let plan = browser
        .wait_for("#dry-run-result", 10)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        plan.contains("Created\nshop") || plan.contains("Created shop"),
        "{plan}"
    );
    assert_eq!(app.store.count_monitors(team).await.unwrap(), 0);
    browser.click_and_load("button[value='apply']").await;
    browser.wait_for("#apply-result", 10).await;
    assert_eq!(app.store.count_monitors(team).await.unwrap(), 1);

    browser.close().await;
    running.shutdown().await;
}

/// A viewer sees the monitor but no edit controls, and a form posted anyway is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_no_edit_controls_and_a_forged_post_is_refused() {
    if !browser_available() {
        return;
    }
    let database = database().await;
    let (app, running) = TestApp::start(&database.url, Options::default()).await;
    let owner = app.user("owner@example.com", false).await;
    let team = personal_team(&app, owner).await;
    let viewer = app.user("viewer@example.com", false).await;
    app.join(team, viewer, Role::Viewer).await;
    let monitor = paused_tcp_monitor(&app, team, "API").await;
    // Another team's monitor: a 404 like a missing one.
    let stranger = app.user("stranger@example.com", false).await;
    let other_team = personal_team(&app, stranger).await;
    let foreign = paused_tcp_monitor(&app, other_team, "Secret").await;

    let browser = Browser::open(&app.base, false).await;
    browser.sign_in("viewer@example.com").await;
    // The viewer's own team shows first; the switcher moves to the owner's.
    browser.select("#team-switch", &team.0.to_string()).await;
    browser
        .click_and_load("form[action='/team/switch'] button")
        .await;
    browser.wait_for("nav.site-nav", 10).await;
    browser.go(&format!("/monitors/{}", monitor.id)).await;
    browser.wait_for("#monitor-state", 10).await;
    for control in [
        "a[href$='/edit']",
        "form[action$='/pause']",
        "form[action$='/resume']",
        "form[action$='/delete']",
        "form[action$='/check']",
    ] {
        assert_eq!(
            browser.count(control).await,
            0,
            "{control} shown to a viewer"
        );
    }
    browser.go("/").await;
    assert_eq!(browser.count("a[href='/monitors/new']").await, 0);

    // The forged form: the viewer's own session and CSRF token, posted by script.
    let status = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             const token = document.querySelector('input[name=csrf_token]').value;\
             fetch(arguments[0], {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'},\
               body: 'csrf_token=' + encodeURIComponent(token)}).then(r => done(r.status));",
            vec![serde_json::json!(format!("/monitors/{}/delete", monitor.id))],
        )
        .await
        .expect("forged post");
    assert_eq!(status, serde_json::json!(403));
    // Without the token, even an owner's session is refused.
    let no_token = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             fetch(arguments[0], {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'},\
               body: 'x=1'}).then(r => done(r.status));",
            vec![serde_json::json!(format!("/monitors/{}/pause", monitor.id))],
        )
        .await
        .expect("post without token");
    assert_eq!(no_token, serde_json::json!(403));
    assert!(
        app.store
            .get_monitor(team, monitor.id)
            .await
            .unwrap()
            .is_some()
    );

    browser.go(&format!("/monitors/{}", foreign.id)).await;
    let heading = browser.wait_for("main h1", 10).await.text().await.unwrap();
    assert_eq!(heading, "Not found");

    browser.close().await;
    running.shutdown().await;
}

/// Every page, light and dark: zero WCAG 2 A/AA violations from axe-core, every control reached
/// with the Tab key and drawn with a focus outline, and a screenshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_axe_in_both_themes() {
    if !browser_available() {
        return;
    }
    let database = database().await;
    let (app, running) = TestApp::start(&database.url, Options::default()).await;
    let owner = app.user("owner@example.com", false).await;
    let team = personal_team(&app, owner).await;
    let target = TargetServer::start(0).await.expect("target");
    let client = app.login("owner@example.com").await;
    let created = client
        .post(
            "/api/monitors",
            serde_json::json!({"name": "Shop front", "kind": "http", "url": target.url(), "interval": "1s", "timeout": "500ms", "tags": ["shop"]}),
        )
        .await;
    assert_eq!(
        created.status,
        reqwest::StatusCode::CREATED,
        "{:?}",
        created.body
    );
    let monitor_id = watchtower_core::MonitorId(created.body["id"].as_i64().expect("id"));
    // Something on the alerting page: a channel, a rule that uses it, a weekly window.
    let channel = client
        .post(
            "/api/channels",
            serde_json::json!({"name": "ops hook", "kind": "webhook", "url": target.url()}),
        )
        .await;
    assert_eq!(
        channel.status,
        reqwest::StatusCode::CREATED,
        "{:?}",
        channel.body
    );
    let rule = client
        .post(
            "/api/alert-rules",
            serde_json::json!({"name": "outages", "events": ["down", "up"], "channel_ids": [channel.body["id"]]}),
        )
        .await;
    assert_eq!(rule.status, reqwest::StatusCode::CREATED, "{:?}", rule.body);
    let window = client
        .post(
            "/api/maintenance",
            serde_json::json!({"name": "weekly", "tag": "db", "cron": "0 2 * * SUN", "duration": "2h"}),
        )
        .await;
    assert_eq!(
        window.status,
        reqwest::StatusCode::CREATED,
        "{:?}",
        window.body
    );
    let policy = client
        .post(
            "/api/escalation-policies",
            serde_json::json!({"name": "on-call", "steps": [{"after": "0s", "channel_ids": [channel.body["id"]]}]}),
        )
        .await;
    assert_eq!(
        policy.status,
        reqwest::StatusCode::CREATED,
        "{:?}",
        policy.body
    );
    // An incident to show: stop the target until the monitor is DOWN.
    let port = target.address.port();
    target.stop().await;
    let mut incident = None;
    for _ in 0..100 {
        if let Some(open) = app.store.open_incident(team, monitor_id).await.unwrap() {
            incident = Some(open);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let incident = incident.expect("an incident within 20 s");
    let target = TargetServer::start(port).await.expect("target again");

    let pages = [
        ("overview", "/".to_owned()),
        ("monitor", format!("/monitors/{monitor_id}")),
        ("monitor-7d", format!("/monitors/{monitor_id}?range=7d")),
        ("new-monitor", "/monitors/new".to_owned()),
        ("edit-monitor", format!("/monitors/{monitor_id}/edit")),
        ("monitors-file", "/monitors/yaml".to_owned()),
        ("incidents", "/incidents".to_owned()),
        ("incident", format!("/incidents/{}", incident.id)),
        ("account", "/account".to_owned()),
        ("team", "/team".to_owned()),
        ("alerting", "/alerting".to_owned()),
        ("new-channel", "/alerting/channels/new".to_owned()),
        ("new-rule", "/alerting/rules/new".to_owned()),
        ("new-escalation", "/alerting/escalation/new".to_owned()),
        ("new-maintenance", "/alerting/maintenance/new".to_owned()),
        (
            "edit-channel",
            format!("/alerting/channels/{}/edit", channel.body["id"]),
        ),
        (
            "edit-rule",
            format!("/alerting/rules/{}/edit", rule.body["id"]),
        ),
        (
            "edit-escalation",
            format!("/alerting/escalation/{}/edit", policy.body["id"]),
        ),
        (
            "edit-maintenance",
            format!("/alerting/maintenance/{}/edit", window.body["id"]),
        ),
        ("not-found", "/monitors/999999".to_owned()),
    ];
    let mut failures = Vec::new();
    for dark in [false, true] {
        let browser = Browser::open(&app.base, dark).await;
        browser.go("/login").await;
        browser.wait_for("#email", 10).await;
        for violation in browser.accessibility_violations().await {
            failures.push(format!("sign-in ({}): {violation}", browser.theme));
        }
        browser.screenshot("sign-in").await;
        browser.sign_in("owner@example.com").await;
        for (name, path) in &pages {
            browser.go(path).await;
            browser.wait_for("main h1", 10).await;
            // Let deferred scripts draw (charts read colours from the theme).
            tokio::time::sleep(Duration::from_millis(300)).await;
            for violation in browser.accessibility_violations().await {
                failures.push(format!("{name} ({}): {violation}", browser.theme));
            }
            // Keyboard use: every control reached by Tab, each with a visible focus outline.
            if !dark {
                for problem in browser.keyboard_problems(400).await {
                    failures.push(format!("{name} (keyboard): {problem}"));
                }
            }
            browser.screenshot(name).await;
        }
        // "Send a test" queues a notification and says so.
        browser.go("/alerting").await;
        browser.click_and_load("form[action$='/test'] button").await;
        browser.wait_for("#alerting-notice", 10).await;
        // A form with its problems shown must pass too.
        browser.go("/monitors/new").await;
        browser.fill("#field-interval", "soon").await;
        browser
            .click_and_load("form.panel button[type=submit]")
            .await;
        browser.wait_for("#form-problems", 10).await;
        for violation in browser.accessibility_violations().await {
            failures.push(format!(
                "form with problems ({}): {violation}",
                browser.theme
            ));
        }
        browser.screenshot("form-problems").await;
        // Phone width.
        browser
            .client
            .set_window_size(390, 844)
            .await
            .expect("phone size");
        browser.go("/").await;
        browser.wait_for("main h1", 10).await;
        for violation in browser.accessibility_violations().await {
            failures.push(format!(
                "overview at phone width ({}): {violation}",
                browser.theme
            ));
        }
        browser.screenshot("overview-phone").await;
        browser.close().await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!(
        "screenshots: {}",
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .unwrap()
            .join("screenshots")
            .display()
    );
    target.stop().await;
    running.shutdown().await;
}
