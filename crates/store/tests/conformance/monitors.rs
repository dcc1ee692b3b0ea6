//! Monitors: create, read, update, delete, list pages, push tokens and the start-up load.

use crate::support::*;
use watchtower_core::{MonitorKind, MonitorState, TeamId, Timestamp};
use watchtower_store::{IncidentQuery, MonitorFilter, PageRequest, StoreError};

#[tokio::test]
async fn a_monitor_round_trips_and_other_teams_cannot_see_it() {
    each_backend(|store| async move {
        let spec = http_spec("web", Some("web"));
        let created = store.create_monitor(TEAM, &spec, Timestamp(T0)).await?;
        assert_eq!(created.spec, spec);
        let read = store.get_monitor(TEAM, created.id).await?.expect("stored");
        assert_eq!(read, created);
        assert!(store.get_monitor(TeamId(2), created.id).await?.is_none());

        let changed = http_spec("web renamed", Some("web"));
        let updated = store
            .update_monitor(TEAM, created.id, &changed, Timestamp(T0 + 5))
            .await?;
        assert_eq!(
            (
                updated.spec.name.as_str(),
                updated.created_at,
                updated.updated_at
            ),
            ("web renamed", Timestamp(T0), Timestamp(T0 + 5))
        );
        assert_eq!(store.get_monitor(TEAM, created.id).await?.unwrap(), updated);
        assert!(matches!(
            store
                .update_monitor(TeamId(2), created.id, &changed, Timestamp(T0))
                .await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.delete_monitor(TeamId(2), created.id).await,
            Err(StoreError::NotFound)
        ));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_second_monitor_with_the_same_key_is_a_conflict() {
    each_backend(|store| async move {
        store
            .create_monitor(TEAM, &http_spec("a", Some("same")), Timestamp(T0))
            .await?;
        let second = store
            .create_monitor(TEAM, &http_spec("b", Some("same")), Timestamp(T0))
            .await;
        assert!(matches!(second, Err(StoreError::Conflict(_))), "{second:?}");
        // The conflict names the field in words, never in the database's (`UNIQUE constraint
        // failed: monitors.team_id, monitors.key`, `monitors_team_id_key_key`).
        let Err(StoreError::Conflict(conflict)) = second else {
            unreachable!()
        };
        assert_eq!(conflict.field, "key");
        assert!(
            !conflict.problem.contains("monitors") && !conflict.problem.contains("UNIQUE"),
            "{conflict:?}"
        );
        // Keyless monitors never conflict.
        store
            .create_monitor(TEAM, &http_spec("c", None), Timestamp(T0))
            .await?;
        store
            .create_monitor(TEAM, &http_spec("d", None), Timestamp(T0))
            .await?;
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn deleting_a_monitor_removes_its_history_incidents_and_events() {
    each_backend(|store| async move {
        let monitor = store
            .create_monitor(TEAM, &http_spec("gone", None), Timestamp(T0))
            .await?;
        let mut runtime = watchtower_core::MonitorRuntime::new(Timestamp(T0));
        store
            .record_batch(&observed_batch(
                monitor.id,
                &mut runtime,
                vec![down(T0 + 1000)],
            ))
            .await?;
        store.roll_up(Timestamp(T0 + DAY)).await?;
        assert!(store.open_incident(TEAM, monitor.id).await?.is_some());
        store.delete_monitor(TEAM, monitor.id).await?;
        assert!(store.get_monitor(TEAM, monitor.id).await?.is_none());
        assert!(
            store
                .results(TEAM, monitor.id, Timestamp(0), Timestamp(i64::MAX), 10)
                .await?
                .is_empty()
        );
        assert!(
            store
                .incidents(TEAM, &IncidentQuery::latest(Some(monitor.id), 10))
                .await?
                .is_empty()
        );
        assert!(store.state_events(0, 10).await?.is_empty());
        assert_eq!(
            store
                .uptime(TEAM, monitor.id, Timestamp(T0), Timestamp(T0 + DAY))
                .await?
                .checks,
            0
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_push_monitor_gets_a_token_and_keeps_it_on_update() {
    each_backend(|store| async move {
        let created = store
            .create_monitor(TEAM, &push_spec("cron", None, None), Timestamp(T0))
            .await?;
        let MonitorKind::Push(push) = &created.spec.kind else {
            panic!("not push")
        };
        let token = push.token.clone().expect("a token was generated");
        assert!(token.len() >= 16);
        assert_eq!(
            store.find_push_monitor(&token).await?,
            Some((TEAM, created.id))
        );
        assert_eq!(store.find_push_monitor("no-such-token-here").await?, None);

        let updated = store
            .update_monitor(
                TEAM,
                created.id,
                &push_spec("cron job", None, None),
                Timestamp(T0 + 1),
            )
            .await?;
        let MonitorKind::Push(push) = &updated.spec.kind else {
            panic!("not push")
        };
        assert_eq!(push.token.as_deref(), Some(token.as_str()));

        let explicit = "abcdefghijklmnopqrstuvwxyz";
        let other = store
            .create_monitor(TEAM, &push_spec("b", None, Some(explicit)), Timestamp(T0))
            .await?;
        assert_eq!(
            store.find_push_monitor(explicit).await?,
            Some((TEAM, other.id))
        );
        let clash = store
            .create_monitor(
                TeamId::DEFAULT,
                &push_spec("c", None, Some(explicit)),
                Timestamp(T0),
            )
            .await;
        assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn lists_page_by_id_with_status_and_never_cross_teams() {
    each_backend(|store| async move {
        let mut ids = Vec::new();
        for i in 0..7 {
            let mut spec = http_spec(&format!("m{i}"), None);
            spec.paused = i == 3;
            ids.push(
                store
                    .create_monitor(TEAM, &spec, Timestamp(T0 + i))
                    .await?
                    .id,
            );
        }
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .list_monitors(
                    TEAM,
                    &PageRequest {
                        after,
                        limit: 3,
                        ..PageRequest::default()
                    },
                )
                .await?;
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 3);
            after = page.last().map(|l| l.monitor.id);
            seen.extend(page);
        }
        assert_eq!(seen.iter().map(|l| l.monitor.id).collect::<Vec<_>>(), ids);
        assert_eq!(
            seen.iter()
                .filter(|l| is_state(MonitorState::Paused)(l))
                .count(),
            1
        );
        assert_eq!(seen[3].state, MonitorState::Paused);
        assert_eq!(
            (seen[0].state, seen[0].state_since),
            (MonitorState::Pending, Timestamp(T0))
        );
        assert!(seen[0].last_result.is_none());
        let all = store
            .list_monitors(
                TEAM,
                &PageRequest {
                    after: None,
                    limit: 10_000,
                    ..PageRequest::default()
                },
            )
            .await?;
        assert_eq!(all.len(), 7);
        assert!(
            store
                .list_monitors(TeamId(2), &PageRequest::default())
                .await?
                .is_empty()
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn the_start_up_load_carries_saved_runtimes_and_last_checks() {
    each_backend(|store| async move {
        let a = store
            .create_monitor(TEAM, &http_spec("a", None), Timestamp(T0))
            .await?;
        let mut paused = http_spec("b", None);
        paused.paused = true;
        let b = store.create_monitor(TEAM, &paused, Timestamp(T0)).await?;
        let mut runtime = watchtower_core::MonitorRuntime::new(Timestamp(T0));
        store
            .record_batch(&observed_batch(
                a.id,
                &mut runtime,
                vec![up(T0 + 10, 5), up(T0 + 20, 7)],
            ))
            .await?;
        let loaded = store.load_scheduled().await?.monitors;
        assert_eq!(loaded.len(), 2);
        let first = loaded.iter().find(|s| s.monitor.id == a.id).unwrap();
        assert_eq!(first.runtime, runtime);
        assert_eq!(first.last_checked_at, Some(Timestamp(T0 + 20)));
        let second = loaded.iter().find(|s| s.monitor.id == b.id).unwrap();
        assert_eq!(second.runtime.state, MonitorState::Paused);
        assert_eq!(second.last_checked_at, None);

        let listing = store.list_monitors(TEAM, &PageRequest::default()).await?;
        let latest = listing[0]
            .last_result
            .as_ref()
            .expect("latest result kept in full");
        assert_eq!(
            (latest.checked_at, latest.http_status),
            (Timestamp(T0 + 20), Some(200))
        );
        assert_eq!(listing[0].state, MonitorState::Up);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn search_never_matches_a_url_password() {
    each_backend(|store| async move {
        let spec = watchtower_core::MonitorSpec::parse(
            &serde_json::json!({"name": "Vault", "kind": "http",
                "url": "https://probe:hunter2pass@vault.example.com/users/@me"}),
            "",
        )
        .expect("valid spec");
        store.create_monitor(TEAM, &spec, Timestamp(T0)).await?;
        let found = |search: &'static str| {
            let store = store.clone();
            async move {
                let page = PageRequest {
                    filter: MonitorFilter {
                        search: Some(search.into()),
                        ..MonitorFilter::default()
                    },
                    ..PageRequest::default()
                };
                anyhow::Ok(store.list_monitors(TEAM, &page).await?.len())
            }
        };
        for hidden in ["hunter2", "probe:", "s:hunter2pass@"] {
            assert_eq!(found(hidden).await?, 0, "{hidden} matched the user-info");
        }
        for shown in ["https://vault.example.com", "users/@me", "VAULT"] {
            assert_eq!(found(shown).await?, 1, "{shown} did not match");
        }
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn lists_filter_by_state_kind_tag_and_search_and_count_per_team() {
    each_backend(|store| async move {
        let mut api = http_spec("Checkout API", Some("checkout"));
        api.tags = vec!["prod".into(), "payments".into()];
        let mut paused = http_spec("Staging site", None);
        paused.paused = true;
        paused.tags = vec!["staging".into()];
        let heartbeat = push_spec("Nightly backup", None, None);
        for spec in [&api, &paused, &heartbeat] {
            store.create_monitor(TEAM, spec, Timestamp(T0)).await?;
        }
        let names = |filter: MonitorFilter| {
            let store = store.clone();
            async move {
                let page = PageRequest {
                    filter,
                    ..PageRequest::default()
                };
                let listed = store.list_monitors(TEAM, &page).await?;
                anyhow::Ok(
                    listed
                        .into_iter()
                        .map(|l| l.monitor.spec.name)
                        .collect::<Vec<_>>(),
                )
            }
        };
        let filter = |f: fn(&mut MonitorFilter)| {
            let mut filter = MonitorFilter::default();
            f(&mut filter);
            filter
        };
        assert_eq!(names(MonitorFilter::default()).await?.len(), 3);
        assert_eq!(
            names(filter(|f| f.state = Some(MonitorState::Paused))).await?,
            ["Staging site"]
        );
        assert_eq!(
            names(filter(|f| f.kind = Some("push".into()))).await?,
            ["Nightly backup"]
        );
        assert_eq!(
            names(filter(|f| f.tag = Some("payments".into()))).await?,
            ["Checkout API"]
        );
        assert!(
            names(filter(|f| f.tag = Some("pay".into())))
                .await?
                .is_empty()
        );
        // Search matches the name, the key and the target, ignoring case.
        assert_eq!(
            names(filter(|f| f.search = Some("CHECKOUT".into()))).await?,
            ["Checkout API"]
        );
        assert_eq!(
            names(filter(|f| f.search = Some("staging-site.example".into()))).await?,
            ["Staging site"]
        );
        assert_eq!(
            names(filter(|f| {
                f.kind = Some("http".into());
                f.search = Some("site".into());
            }))
            .await?,
            ["Staging site"]
        );
        assert_eq!(
            store.count_monitors(TEAM).await?,
            2,
            "the paused one is not counted"
        );
        assert_eq!(store.count_monitors(TeamId(2)).await?, 0);
        Ok(())
    })
    .await;
}
