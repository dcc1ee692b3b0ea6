//! Maintenance windows and dependencies, on the test's clock: the operations guide's weekly
//! window (Sundays 02:00-04:00 UTC) and monthly window (first Sunday 02:00-06:00 UTC), and a
//! database outage that explains its dependents'.

use crate::receivers::{Answer, Receiver};
use crate::world::*;
use serde_json::json;
use watchtower_core::Timestamp;
use watchtower_core::maintenance::MaintenanceSpec;

async fn window(world: &World, spec: serde_json::Value) {
    let spec = MaintenanceSpec::parse(&spec, "").expect("a valid window");
    world
        .store
        .create_maintenance(TEAM, &spec, Timestamp(0))
        .await
        .expect("a window");
}

fn events(receiver: &Receiver) -> Vec<(String, String)> {
    receiver
        .requests()
        .iter()
        .map(|r| {
            let body = r.json();
            let name = body["data"]["monitor_name"].as_str().unwrap_or_default();
            (
                body["type"].as_str().unwrap_or_default().to_owned(),
                name.to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_weekly_window_holds_alerts_until_it_closes_and_drops_outages_it_contained() {
    each_backend(|world| async move {
        let receiver = Receiver::start("/hook", Answer::status(200, "")).await;
        let hook = world
            .channel(
                "hook",
                json!({"kind": "webhook", "url": receiver.url("/hook")}),
            )
            .await;
        world.rule(&["down", "up"], vec![hook], None).await;
        window(
            &world,
            json!({"name": "weekly", "cron": "0 2 * * SUN", "duration": "2h", "timezone": "UTC"}),
        )
        .await;
        let lasting = world.http_monitor("lasting").await;
        let brief = world.http_monitor("brief").await;

        // Sunday 29 November 2026, inside the window: both go down, one comes back at 03:10.
        let mut lasting_runtime = runtime(at("2026-11-29T01:00:00Z"));
        let mut brief_runtime = runtime(at("2026-11-29T01:00:00Z"));
        let up_before = vec![up(at("2026-11-29T01:00:00Z"))];
        world
            .observe(lasting, &mut lasting_runtime, up_before.clone())
            .await;
        world.observe(brief, &mut brief_runtime, up_before).await;
        world
            .observe(
                lasting,
                &mut lasting_runtime,
                vec![down(at("2026-11-29T02:30:00Z"))],
            )
            .await;
        world
            .observe(
                brief,
                &mut brief_runtime,
                vec![down(at("2026-11-29T02:40:00Z"))],
            )
            .await;

        assert_eq!(world.dispatch(at("2026-11-29T02:45:00Z")).await, 2);
        assert!(
            receiver.requests().is_empty(),
            "nothing is sent inside the window"
        );
        let log = world.log().await;
        assert!(log.iter().all(|n| n.status.as_str() == "pending"));
        assert!(
            log.iter()
                .all(|n| n.last_error.as_deref() == Some("held by maintenance window 'weekly'")),
            "{log:?}"
        );
        assert!(
            log.iter().all(|n| n.attempts == 0),
            "holding is not an attempt: {log:?}"
        );

        world
            .observe(
                brief,
                &mut brief_runtime,
                vec![up(at("2026-11-29T03:10:00Z"))],
            )
            .await;
        // Still inside: the recovery of an outage nobody heard of is dropped, the held DOWN waits.
        world.dispatch(at("2026-11-29T03:59:59Z")).await;
        assert!(receiver.requests().is_empty());

        // 04:00: the outage that outlived the window is announced, the contained one never.
        world.dispatch(at("2026-11-29T04:00:01Z")).await;
        world.dispatch(at("2026-11-29T04:01:00Z")).await;
        assert_eq!(
            events(&receiver),
            [("monitor.down".to_owned(), "lasting".to_owned())]
        );
        let suppressed = world
            .log()
            .await
            .into_iter()
            .filter(|n| n.status.as_str() == "suppressed")
            .count();
        assert_eq!(suppressed, 2, "the brief outage's DOWN and UP");

        // After the window, alerts flow at once again.
        world
            .observe(
                lasting,
                &mut lasting_runtime,
                vec![up(at("2026-11-29T04:30:00Z"))],
            )
            .await;
        world.dispatch(at("2026-11-29T04:30:01Z")).await;
        assert_eq!(
            events(&receiver).last().map(|e| e.0.as_str()),
            Some("monitor.up")
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn the_monthly_window_covers_only_the_first_sunday() {
    each_backend(|world| async move {
        let receiver = Receiver::start("/hook", Answer::status(200, "")).await;
        let hook = world
            .channel("hook", json!({"kind": "webhook", "url": receiver.url("/hook")}))
            .await;
        world.rule(&["down"], vec![hook], None).await;
        window(
            &world,
            json!({"name": "monthly", "cron": "0 2 * * SUN#1", "duration": "4h", "timezone": "UTC"}),
        )
        .await;
        let first = world.http_monitor("first-sunday").await;
        let second = world.http_monitor("second-sunday").await;

        // 6 December 2026 is the first Sunday: 05:00 is inside the window.
        world.observe(first, &mut runtime(0), vec![down(at("2026-12-06T05:00:00Z"))]).await;
        world.dispatch(at("2026-12-06T05:00:01Z")).await;
        assert!(receiver.requests().is_empty());
        world.dispatch(at("2026-12-06T06:00:01Z")).await;
        assert_eq!(events(&receiver).len(), 1);

        // 13 December is the second Sunday: no window, the alert goes at once.
        world.observe(second, &mut runtime(0), vec![down(at("2026-12-13T05:00:00Z"))]).await;
        world.dispatch(at("2026-12-13T05:00:01Z")).await;
        assert_eq!(
            events(&receiver).last(),
            Some(&("monitor.down".to_owned(), "second-sunday".to_owned()))
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_dependency_outage_silences_its_dependents_new_alerts_only() {
    each_backend(|world| async move {
        let receiver = Receiver::start("/hook", Answer::status(200, "")).await;
        let hook = world
            .channel("hook", json!({"kind": "webhook", "url": receiver.url("/hook")}))
            .await;
        world.rule(&["down", "up"], vec![hook], None).await;
        let database = world
            .monitor(json!({"name": "database", "key": "db", "kind": "tcp", "host": "db.example.test", "port": 5432}))
            .await;
        let api = world
            .monitor(json!({"name": "api", "kind": "http", "url": "https://api.example.test/", "depends_on": ["db"]}))
            .await;
        let t = at("2026-11-27T10:00:00Z");
        let mut database_runtime = runtime(t - HOUR);
        let mut api_runtime = runtime(t - HOUR);
        world.observe(database, &mut database_runtime, vec![up(t - MINUTE)]).await;
        world.observe(api, &mut api_runtime, vec![up(t - MINUTE)]).await;

        // The database fails, then the API that needs it.
        world.observe(database, &mut database_runtime, vec![down(t)]).await;
        world.observe(api, &mut api_runtime, vec![down(t + 30 * SECOND)]).await;
        world.dispatch(t + 31 * SECOND).await;
        assert_eq!(events(&receiver), [("monitor.down".to_owned(), "database".to_owned())]);
        let log = world.log().await;
        let api_down = log.iter().find(|n| n.monitor_id == Some(api)).expect("the api's row");
        assert_eq!(api_down.status.as_str(), "suppressed");
        assert_eq!(api_down.last_error.as_deref(), Some("dependency 'database' is down"));
        // The dependent's own incident is still recorded.
        let incidents = world
            .store
            .incidents(TEAM, &watchtower_store::IncidentQuery::latest(Some(api), 10))
            .await?;
        assert!(incidents.iter().any(|i| i.monitor_id == api && i.resolved_at.is_none()));

        // Both recover: the database's recovery is news, the API's unannounced outage's is not.
        world.observe(database, &mut database_runtime, vec![up(t + 5 * MINUTE)]).await;
        world.observe(api, &mut api_runtime, vec![up(t + 5 * MINUTE + 10 * SECOND)]).await;
        world.dispatch(t + 6 * MINUTE).await;
        assert_eq!(
            events(&receiver),
            [
                ("monitor.down".to_owned(), "database".to_owned()),
                ("monitor.up".to_owned(), "database".to_owned()),
            ]
        );

        // The API fails again and is confirmed before the database's next check: its DOWN waits
        // for that check. The database is fine, so the outage is the API's own and is announced.
        world.observe(api, &mut api_runtime, vec![down(t + 10 * MINUTE)]).await;
        world.dispatch(t + 10 * MINUTE + SECOND).await;
        assert_eq!(events(&receiver).len(), 2, "held until the database is checked");
        let held = world.log().await.pop().expect("the api's row");
        assert_eq!(
            held.last_error.as_deref(),
            Some("waiting for dependency 'database' to be checked since the outage began")
        );
        world.observe(database, &mut database_runtime, vec![up(t + 10 * MINUTE + 20 * SECOND)]).await;
        world.dispatch(t + 10 * MINUTE + 21 * SECOND).await;
        assert_eq!(
            events(&receiver).last(),
            Some(&("monitor.down".to_owned(), "api".to_owned()))
        );

        // Confirmed first again, and this time the database's next check finds it down: the
        // API's alert is suppressed after all.
        world.observe(api, &mut api_runtime, vec![up(t + 20 * MINUTE)]).await;
        world.dispatch(t + 20 * MINUTE + SECOND).await;
        let announced = events(&receiver).len();
        world.observe(api, &mut api_runtime, vec![down(t + 30 * MINUTE)]).await;
        world.dispatch(t + 30 * MINUTE + SECOND).await;
        world.observe(database, &mut database_runtime, vec![down(t + 30 * MINUTE + 15 * SECOND)]).await;
        world.dispatch(t + 30 * MINUTE + 16 * SECOND).await;
        let after: Vec<_> = events(&receiver).split_off(announced);
        assert_eq!(after, [("monitor.down".to_owned(), "database".to_owned())]);

        // A dependency that is never checked holds the dependent's alert for two minutes at most.
        world.observe(database, &mut database_runtime, vec![up(t + 40 * MINUTE)]).await;
        world.observe(api, &mut api_runtime, vec![up(t + 40 * MINUTE)]).await;
        world.dispatch(t + 40 * MINUTE + SECOND).await;
        let announced = events(&receiver).len();
        world.observe(api, &mut api_runtime, vec![down(t + 50 * MINUTE)]).await;
        world.dispatch(t + 50 * MINUTE + SECOND).await;
        assert_eq!(events(&receiver).len(), announced);
        world.dispatch(t + 52 * MINUTE + SECOND).await;
        assert_eq!(
            events(&receiver).last(),
            Some(&("monitor.down".to_owned(), "api".to_owned()))
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_window_cut_short_by_an_edit_releases_the_alerts_it_was_holding() {
    each_backend(|world| async move {
        let receiver = Receiver::start("/hook", Answer::status(200, "")).await;
        let hook = world
            .channel(
                "hook",
                json!({"kind": "webhook", "url": receiver.url("/hook")}),
            )
            .await;
        world.rule(&["down", "up"], vec![hook], None).await;
        let weekly =
            json!({"name": "weekly", "cron": "0 2 * * SUN", "duration": "2h", "timezone": "UTC"});
        let window = world
            .store
            .create_maintenance(
                TEAM,
                &MaintenanceSpec::parse(&weekly, "").expect("a window"),
                Timestamp(0),
            )
            .await
            .expect("a window");
        let api = world.http_monitor("api").await;
        let mut runtime = runtime(at("2026-11-29T01:00:00Z"));
        world
            .observe(api, &mut runtime, vec![up(at("2026-11-29T01:00:00Z"))])
            .await;
        world
            .observe(api, &mut runtime, vec![down(at("2026-11-29T02:30:00Z"))])
            .await;
        world.dispatch(at("2026-11-29T02:31:00Z")).await;
        assert!(receiver.requests().is_empty(), "held until 04:00");

        // At 02:40 the window is edited to 30 minutes: it closed at 02:30, so the held DOWN is
        // due at once rather than at the old end.
        let short =
            json!({"name": "weekly", "cron": "0 2 * * SUN", "duration": "30m", "timezone": "UTC"});
        world
            .store
            .update_maintenance(
                TEAM,
                window.id,
                &MaintenanceSpec::parse(&short, "").expect("a window"),
                Timestamp(at("2026-11-29T02:40:00Z")),
            )
            .await
            .expect("edited");
        world.dispatch(at("2026-11-29T02:40:01Z")).await;
        world.dispatch(at("2026-11-29T02:41:00Z")).await;
        assert_eq!(
            events(&receiver),
            [("monitor.down".to_owned(), "api".to_owned())]
        );
        Ok(())
    })
    .await;
}
