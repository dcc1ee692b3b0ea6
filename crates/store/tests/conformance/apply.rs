//! Applying a declared set of keyed monitors to a team.

use crate::support::*;
use watchtower_core::{MonitorKey, MonitorKind, MonitorState, TeamId, Timestamp};
use watchtower_store::{ApplyReport, PageRequest, StoreError};

fn keys(names: &[&str]) -> Vec<MonitorKey> {
    names
        .iter()
        .map(|n| MonitorKey::parse(n).unwrap())
        .collect()
}

#[tokio::test]
async fn apply_creates_updates_keeps_and_prunes_by_key() {
    each_backend(|store| async move {
        let manual = store
            .create_monitor(TEAM, &http_spec("manual", None), Timestamp(T0))
            .await?;
        let first = vec![
            http_spec("a", Some("a")),
            http_spec("b", Some("b")),
            http_spec("c", Some("c")),
        ];
        let report = store
            .apply_monitors(TEAM, &first, false, Timestamp(T0))
            .await?;
        assert_eq!(
            report,
            ApplyReport {
                created: keys(&["a", "b", "c"]),
                ..Default::default()
            }
        );

        let mut paused_new = http_spec("d", Some("d"));
        paused_new.paused = true;
        let second = vec![
            http_spec("a", Some("a")),
            http_spec("b changed", Some("b")),
            paused_new,
        ];
        let report = store
            .apply_monitors(TEAM, &second, false, Timestamp(T0 + 1))
            .await?;
        assert_eq!(
            report,
            ApplyReport {
                created: keys(&["d"]),
                updated: keys(&["b"]),
                unchanged: keys(&["a"]),
                kept: keys(&["c"]),
                ..Default::default()
            }
        );

        let report = store
            .apply_monitors(TEAM, &second, true, Timestamp(T0 + 2))
            .await?;
        assert_eq!(report.deleted, keys(&["c"]));
        assert_eq!(report.unchanged, keys(&["a", "b", "d"]));

        let listed = store.list_monitors(TEAM, &PageRequest::default()).await?;
        let names: Vec<&str> = listed
            .iter()
            .map(|l| l.monitor.spec.name.as_str())
            .collect();
        assert_eq!(names, ["manual", "a", "b changed", "d"]);
        assert_eq!(
            listed[0].monitor.id, manual.id,
            "keyless monitors are never touched"
        );
        assert_eq!(listed[3].state, MonitorState::Paused);
        assert_eq!(listed[1].state, MonitorState::Pending);
        // Another team has its own key space.
        let other = store
            .apply_monitors(TeamId(2), &[], true, Timestamp(T0 + 3))
            .await?;
        assert!(other.deleted.is_empty());
        assert_eq!(
            store
                .list_monitors(TEAM, &PageRequest::default())
                .await?
                .len(),
            4
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn apply_keeps_a_push_token_the_file_does_not_name() {
    each_backend(|store| async move {
        let declared = vec![push_spec("beat", Some("beat"), None)];
        store
            .apply_monitors(TEAM, &declared, true, Timestamp(T0))
            .await?;
        let listed = store.list_monitors(TEAM, &PageRequest::default()).await?;
        let MonitorKind::Push(push) = &listed[0].monitor.spec.kind else {
            panic!()
        };
        let token = push.token.clone().expect("generated");
        let report = store
            .apply_monitors(TEAM, &declared, true, Timestamp(T0 + 1))
            .await?;
        assert_eq!(report.unchanged, keys(&["beat"]));
        assert_eq!(
            store.find_push_monitor(&token).await?.map(|(_, id)| id),
            Some(listed[0].monitor.id)
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_bad_apply_changes_nothing() {
    each_backend(|store| async move {
        store
            .apply_monitors(TEAM, &[http_spec("a", Some("a"))], false, Timestamp(T0))
            .await?;
        let twice = vec![http_spec("x", Some("x")), http_spec("x again", Some("x"))];
        assert!(matches!(
            store
                .apply_monitors(TEAM, &twice, true, Timestamp(T0))
                .await,
            Err(StoreError::Conflict(_))
        ));
        let keyless = vec![http_spec("y", Some("y")), http_spec("no key", None)];
        assert!(matches!(
            store
                .apply_monitors(TEAM, &keyless, true, Timestamp(T0))
                .await,
            Err(StoreError::Conflict(_))
        ));
        // A token already used elsewhere fails the whole apply, including the creates before it.
        let token = "abcdefghijklmnopqrstuvwxyz";
        store
            .create_monitor(TEAM, &push_spec("owner", None, Some(token)), Timestamp(T0))
            .await?;
        let clash = vec![
            http_spec("z", Some("z")),
            push_spec("clash", Some("clash"), Some(token)),
        ];
        assert!(
            store
                .apply_monitors(TEAM, &clash, true, Timestamp(T0))
                .await
                .is_err()
        );
        let listed = store.list_monitors(TEAM, &PageRequest::default()).await?;
        let names: Vec<&str> = listed
            .iter()
            .map(|l| l.monitor.spec.name.as_str())
            .collect();
        assert_eq!(names, ["a", "owner"]);
        Ok(())
    })
    .await;
}
