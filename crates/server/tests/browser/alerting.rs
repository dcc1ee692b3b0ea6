//! Editing alerting objects through the dashboard's forms in Chromium: a channel renamed with
//! its secret kept, a rule pointed at a monitor found by the picker's search among more than it
//! lists (htmx asking the server as one types), and a window whose bad fields are each shown in
//! place with nothing saved before it is corrected; axe-core on the edit forms in both themes.

use crate::support::*;
use crate::{database, paused_tcp_monitor, personal_team};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_a_rule_and_a_window_are_edited_through_their_forms() {
    if !browser_available() {
        return;
    }
    let database = database().await;
    let (app, running) = TestApp::start(&database.url, Options::default()).await;
    let owner = app.user("owner@example.com", false).await;
    let team = personal_team(&app, owner).await;
    // More monitors than the picker lists at once.
    for n in 1..=60 {
        paused_tcp_monitor(&app, team, &format!("shop-{n:02}")).await;
    }
    let client = app.login("owner@example.com").await;
    let secret = "whsec_YS1zaWduaW5nLWtleS1vZi0zMi1ieXRlcy1sZW5ndGg=";
    let channel = client
        .post(
            "/api/channels",
            json!({"name": "ops hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook", "secret": secret}),
        )
        .await;
    let channel = watchtower_core::ChannelId(channel.body["id"].as_i64().expect("channel"));
    let rule = client
        .post(
            "/api/alert-rules",
            json!({"name": "outages", "events": ["down"], "channel_ids": [channel]}),
        )
        .await;
    let rule = rule.body["id"].as_i64().expect("rule");
    let window = client
        .post(
            "/api/maintenance",
            json!({"name": "weekly", "cron": "0 2 * * SUN", "duration": "2h"}),
        )
        .await;
    let window = window.body["id"].as_i64().expect("window");

    let browser = Browser::open(&app.base, false).await;
    browser.sign_in("owner@example.com").await;

    // The channel: renamed from the alerting page's Edit link; the secret stays stored.
    browser.go("/alerting").await;
    browser
        .click_and_load(&format!("a[href='/alerting/channels/{channel}/edit']"))
        .await;
    let secret_field = browser.wait_for("#field-webhook-secret", 10).await;
    assert_eq!(
        secret_field.prop("value").await.unwrap().as_deref(),
        Some("")
    );
    browser.fill("#field-name", "ops webhook").await;
    browser.screenshot("edit-channel-filled").await;
    browser.click_and_load("form.panel button.primary").await;
    assert_eq!(browser.path().await, "/alerting");
    let names = browser
        .texts("#channels ~ .table-wrap td:first-child")
        .await;
    assert_eq!(names, ["ops webhook"]);
    let stored = app.store.get_channel(team, channel).await.unwrap().unwrap();
    assert_eq!(stored.name, "ops webhook");
    assert_eq!(
        stored.config["secret"], secret,
        "the blank secret kept the stored one"
    );

    // The rule: shop-57 is not among the first 50 listed; typing finds it without a reload.
    browser.go(&format!("/alerting/rules/{rule}/edit")).await;
    browser.wait_for("#search-monitor-id", 10).await;
    assert_eq!(
        browser.count("#field-monitor-id option").await,
        51,
        "'every monitor' and the first 50"
    );
    browser
        .client
        .execute("window.__samePage = true;", vec![])
        .await
        .expect("mark the page");
    browser.fill("#search-monitor-id", "shop-57").await;
    browser
        .wait_for_text(
            "#status-monitor-id",
            "1 monitor matches \u{201c}shop-57\u{201d}.",
            10,
        )
        .await;
    let options = browser.texts("#field-monitor-id option").await;
    assert_eq!(options, ["every monitor", "shop-57"]);
    let same_page = browser
        .client
        .execute("return window.__samePage === true;", vec![])
        .await
        .expect("read the mark");
    assert_eq!(
        same_page,
        json!(true),
        "the search swapped the list, no reload"
    );
    let value = browser
        .wait_for("#field-monitor-id option:nth-child(2)", 5)
        .await
        .attr("value")
        .await
        .unwrap()
        .expect("an id");
    browser.select("#field-monitor-id", &value).await;
    browser.click("input[name=events][value=up]").await;
    browser.screenshot("edit-rule-search").await;
    browser.click_and_load("form.panel button.primary").await;
    assert_eq!(browser.path().await, "/alerting");
    let rules = app.store.rules(team).await.unwrap();
    assert_eq!(rules[0].monitor_id.map(|m| m.0.to_string()), Some(value));
    assert_eq!(rules[0].events, ["down", "up"]);

    // The window: three bad fields, each shown in place, nothing saved; then corrected.
    browser
        .go(&format!("/alerting/maintenance/{window}/edit"))
        .await;
    browser.wait_for("#field-cron", 10).await;
    browser.fill("#field-name", "").await;
    browser.fill("#field-cron", "every sunday").await;
    browser.fill("#field-duration", "long").await;
    browser.click_and_load("form.panel button.primary").await;
    browser.wait_for("#form-problems", 10).await;
    for (id, label) in [
        ("#problem-name", "Name"),
        ("#problem-cron", "Cron schedule"),
        ("#problem-duration", "Duration"),
    ] {
        let text = browser.wait_for(id, 5).await.text().await.unwrap();
        assert!(text.starts_with(label), "{id}: {text}");
    }
    let violations = browser.accessibility_violations().await;
    assert!(
        violations.is_empty(),
        "the window form with problems: {violations:?}"
    );
    browser.screenshot("edit-maintenance-problems").await;
    assert_eq!(
        app.store.maintenance_windows(team).await.unwrap()[0]
            .spec
            .name,
        "weekly",
        "nothing saved"
    );
    browser.fill("#field-name", "weekly upgrade").await;
    browser.fill("#field-cron", "0 3 * * SUN").await;
    browser.fill("#field-duration", "90m").await;
    browser.click_and_load("form.panel button.primary").await;
    assert_eq!(browser.path().await, "/alerting");
    let windows = app.store.maintenance_windows(team).await.unwrap();
    assert_eq!(windows[0].spec.name, "weekly upgrade");
    // Let the last screenshot's page settle before closing.
    tokio::time::sleep(Duration::from_millis(100)).await;
    browser.close().await;
    running.shutdown().await;
}
