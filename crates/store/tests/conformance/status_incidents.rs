//! Incident posts: a post and its first update written together; updates change the post's
//! status and components and resolve or reopen it; another team's page and posts out of reach;
//! deleting a page takes its posts; and the visitor's reads (current, by month, newest).

use crate::support::*;
use serde_json::json;
use watchtower_core::{
    ComponentState, Impact, MonitorRuntime, NewStatusIncident, Plan, PostStatus,
    StatusIncidentUpdate, StatusPageSpec, Timestamp,
};
use watchtower_store::{NewUser, PagePosts, PostReaders, Store, StoreError};

async fn page(store: &dyn Store, slug: &str) -> anyhow::Result<watchtower_store::StatusPage> {
    let monitor = store
        .create_monitor(TEAM, &http_spec(slug, None), Timestamp(T0))
        .await?;
    let spec = StatusPageSpec::parse(
        &json!({"slug": slug, "title": "Status",
                "groups": [{"components": [{"name": "Website", "monitors": [monitor.id.0]}]}]}),
        "",
    )
    .map_err(|problems| anyhow::anyhow!("{problems:?}"))?;
    Ok(store.create_status_page(TEAM, &spec, Timestamp(T0)).await?)
}

fn post(title: &str, status: &str) -> NewStatusIncident {
    NewStatusIncident::parse(
        &json!({"title": title, "impact": "sev2", "status": status,
                "components": [{"name": "Website", "state": "major_outage"}]}),
        "",
    )
    .expect("valid post")
}

fn update(value: serde_json::Value) -> StatusIncidentUpdate {
    StatusIncidentUpdate::parse(&value, "", &[]).expect("valid update")
}

#[tokio::test]
async fn a_post_keeps_its_timeline_and_resolving_sets_its_components_operational() {
    each_backend(|store| async move {
        let page = page(store.as_ref(), "acme").await?;
        let created = store
            .create_status_incident(TEAM, page.id, &post("Down", "investigating"), Timestamp(T0))
            .await?;
        assert!(created.is_open());
        assert_eq!(created.updates.len(), 1);
        assert_eq!(created.updates[0].status, PostStatus::Investigating);
        assert_eq!(created.components[0].state, ComponentState::MajorOutage);

        let identified = store
            .add_status_incident_update(
                TEAM,
                page.id,
                created.id,
                &update(json!({"status": "identified", "message": "A bad deploy",
                               "components": [{"name": "Website", "state": "degraded"}]})),
                Timestamp(T0 + MINUTE),
            )
            .await?;
        assert_eq!(identified.status, PostStatus::Identified);
        assert_eq!(identified.components[0].state, ComponentState::Degraded);
        let resolved = store
            .add_status_incident_update(
                TEAM,
                page.id,
                created.id,
                &update(json!({"status": "resolved"})),
                Timestamp(T0 + 2 * MINUTE),
            )
            .await?;
        assert_eq!(resolved.resolved_at, Some(Timestamp(T0 + 2 * MINUTE)));
        assert_eq!(resolved.components[0].state, ComponentState::Operational);
        let messages: Vec<&str> = resolved
            .updates
            .iter()
            .map(|u| u.message.as_str())
            .collect();
        assert_eq!(messages[1], "A bad deploy", "oldest first");
        assert_eq!(resolved.updates.len(), 3);
        assert_eq!(
            store.get_status_incident(TEAM, page.id, created.id).await?,
            Some(resolved.clone())
        );

        // Another update reopens it.
        let reopened = store
            .add_status_incident_update(
                TEAM,
                page.id,
                created.id,
                &update(json!({"status": "monitoring"})),
                Timestamp(T0 + 3 * MINUTE),
            )
            .await?;
        assert!(reopened.is_open());
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn another_teams_page_and_posts_are_out_of_reach() {
    each_backend(|store| async move {
        let page = page(store.as_ref(), "acme").await?;
        let user = store
            .create_user(&NewUser {
                email: "bob@example.com".into(),
                email_key: "bob@example.com".into(),
                name: "bob".into(),
                password_hash: "argon2id-of-bob".into(),
                is_admin: false,
                created_at: Timestamp(T0),
            })
            .await?;
        let other = store
            .create_team("Theirs", Plan::Free, user.id, Timestamp(T0))
            .await?
            .id;
        let mine = store
            .create_status_incident(TEAM, page.id, &post("Down", "investigating"), Timestamp(T0))
            .await?;
        assert!(matches!(
            store
                .create_status_incident(other, page.id, &post("x", "investigating"), Timestamp(T0))
                .await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store
                .add_status_incident_update(
                    other,
                    page.id,
                    mine.id,
                    &update(json!({"status": "resolved"})),
                    Timestamp(T0)
                )
                .await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(
            store.get_status_incident(other, page.id, mine.id).await?,
            None
        );
        assert!(matches!(
            store.delete_status_incident(other, page.id, mine.id).await,
            Err(StoreError::NotFound)
        ));
        // The right team but another of its pages is not the post's page either.
        let second = self::page(store.as_ref(), "second").await?;
        assert_eq!(
            store.get_status_incident(TEAM, second.id, mine.id).await?,
            None
        );

        store.delete_status_incident(TEAM, page.id, mine.id).await?;
        assert_eq!(
            store.get_status_incident(TEAM, page.id, mine.id).await?,
            None
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_visitor_reads_current_monthly_and_newest_posts() {
    each_backend(|store| async move {
        let page = page(store.as_ref(), "acme").await?;
        let day = 86_400_000;
        let old = store
            .create_status_incident(TEAM, page.id, &post("Old", "resolved"), Timestamp(T0))
            .await?;
        let recent = store
            .create_status_incident(
                TEAM,
                page.id,
                &post("Recent", "resolved"),
                Timestamp(T0 + 10 * day),
            )
            .await?;
        let open = store
            .create_status_incident(
                TEAM,
                page.id,
                &post("Open", "investigating"),
                Timestamp(T0 + 11 * day),
            )
            .await?;
        let titles = |posts: Vec<watchtower_store::StatusIncident>| {
            posts.into_iter().map(|p| p.title).collect::<Vec<_>>()
        };
        let current = store
            .page_status_incidents(
                page.id,
                PagePosts::Current {
                    resolved_since: Timestamp(T0 + 5 * day),
                },
                PostReaders::Team,
            )
            .await?;
        assert_eq!(titles(current), ["Open", "Recent"], "newest first");
        let between = store
            .page_status_incidents(
                page.id,
                PagePosts::CreatedBetween {
                    from: Timestamp(T0),
                    to: Timestamp(T0 + 10 * day),
                },
                PostReaders::Team,
            )
            .await?;
        assert_eq!(titles(between), ["Old"]);
        let newest = store
            .page_status_incidents(page.id, PagePosts::Newest(2), PostReaders::Team)
            .await?;
        assert_eq!(titles(newest), ["Open", "Recent"]);
        assert_eq!(old.updates.len(), 1);
        assert!(recent.resolved_at.is_some() && open.resolved_at.is_none());

        store.delete_status_page(TEAM, page.id).await?;
        assert!(
            store
                .page_status_incidents(page.id, PagePosts::Newest(10), PostReaders::Team)
                .await?
                .is_empty(),
            "a deleted page takes its posts"
        );
        Ok(())
    })
    .await;
}

/// The posts a page wrote by itself, as the team reads them.
async fn team_posts(
    store: &dyn Store,
    page: watchtower_core::StatusPageId,
) -> anyhow::Result<Vec<watchtower_store::StatusIncident>> {
    Ok(store
        .page_status_incidents(page, PagePosts::Newest(10), PostReaders::Team)
        .await?)
}

#[tokio::test]
async fn an_automatic_post_follows_its_monitors_exactly_once_through_replays() {
    each_backend(|store| async move {
        let mut ids = Vec::new();
        for name in ["api-1", "api-2", "web"] {
            ids.push(
                store
                    .create_monitor(TEAM, &http_spec(name, None), Timestamp(T0))
                    .await?
                    .id,
            );
        }
        let spec = StatusPageSpec::parse(
            &json!({"slug": "auto", "title": "Status", "auto_incidents": "published",
                    "groups": [{"components": [
                        {"name": "API", "monitors": [ids[0].0, ids[1].0]},
                        {"name": "Website", "monitors": [ids[2].0]}]}]}),
            "",
        )
        .map_err(|problems| anyhow::anyhow!("{problems:?}"))?;
        let page = store.create_status_page(TEAM, &spec, Timestamp(T0)).await?;
        let mut runtimes: Vec<MonitorRuntime> =
            (0..3).map(|_| MonitorRuntime::new(Timestamp(T0))).collect();
        let mut step = |index: usize, outcome: watchtower_core::CheckOutcome| {
            observed_batch(ids[index], &mut runtimes[index], vec![outcome])
        };
        for index in 0..3 {
            store.record_batch(&step(index, up(T0 + 1_000, 5))).await?;
        }
        assert!(team_posts(store.as_ref(), page.id).await?.is_empty());

        // One of API's two monitors down: a partial outage, posted once however often replayed.
        let first = step(0, down(T0 + MINUTE));
        store.record_batch(&first).await?;
        store.record_batch(&first).await?;
        let posts = team_posts(store.as_ref(), page.id).await?;
        assert_eq!(posts.len(), 1, "{posts:?}");
        assert_eq!(posts[0].title, "API outage");
        assert_eq!(posts[0].impact, Impact::Sev2);
        assert!(posts[0].automatic && posts[0].published);
        assert_eq!(posts[0].components[0].state, ComponentState::PartialOutage);
        assert_eq!(posts[0].updates.len(), 1);

        // The other API monitor: the same post, now a major outage, no new update.
        store.record_batch(&step(1, down(T0 + 2 * MINUTE))).await?;
        // The website too: the same post names it in an update.
        store.record_batch(&step(2, down(T0 + 3 * MINUTE))).await?;
        let posts = team_posts(store.as_ref(), page.id).await?;
        assert_eq!(posts.len(), 1, "{posts:?}");
        let post = &posts[0];
        assert_eq!(post.impact, Impact::Sev1);
        assert_eq!(
            post.components
                .iter()
                .map(|c| (c.name.as_str(), c.state))
                .collect::<Vec<_>>(),
            [
                ("API", ComponentState::MajorOutage),
                ("Website", ComponentState::MajorOutage)
            ]
        );
        assert_eq!(post.updates.len(), 2);
        assert!(
            post.updates[1].message.contains("problems with Website."),
            "{:?}",
            post.updates
        );

        // API recovers monitor by monitor; the post resolves with the website, once.
        store.record_batch(&step(0, up(T0 + 4 * MINUTE, 5))).await?;
        let open = &team_posts(store.as_ref(), page.id).await?[0];
        assert!(open.is_open());
        assert_eq!(
            open.components[0].state,
            ComponentState::MajorOutage,
            "api-2 is still down"
        );
        store.record_batch(&step(1, up(T0 + 5 * MINUTE, 5))).await?;
        let open = &team_posts(store.as_ref(), page.id).await?[0];
        assert!(open.is_open());
        assert_eq!(open.components[0].state, ComponentState::Operational);
        assert_eq!(open.components[1].state, ComponentState::MajorOutage);
        let last = step(2, up(T0 + 6 * MINUTE, 5));
        store.record_batch(&last).await?;
        store.record_batch(&last).await?;
        let posts = team_posts(store.as_ref(), page.id).await?;
        assert_eq!(posts.len(), 1);
        assert_eq!(posts[0].status, PostStatus::Resolved);
        assert_eq!(posts[0].resolved_at, Some(Timestamp(T0 + 6 * MINUTE)));
        assert_eq!(posts[0].updates.len(), 3, "{:?}", posts[0].updates);

        // A post the team resolved by hand stays as the team left it; the next outage is new.
        store.record_batch(&step(2, down(T0 + 7 * MINUTE))).await?;
        let posts = team_posts(store.as_ref(), page.id).await?;
        assert_eq!(posts.len(), 2);
        let by_hand = update(json!({"status": "resolved", "message": "Fixed."}));
        store
            .add_status_incident_update(
                TEAM,
                page.id,
                posts[0].id,
                &by_hand,
                Timestamp(T0 + 8 * MINUTE),
            )
            .await?;
        store.record_batch(&step(2, up(T0 + 9 * MINUTE, 5))).await?;
        let posts = team_posts(store.as_ref(), page.id).await?;
        assert_eq!(
            posts[0].updates.len(),
            2,
            "no second resolution: {:?}",
            posts[0].updates
        );
        assert_eq!(posts[0].resolved_at, Some(Timestamp(T0 + 8 * MINUTE)));

        // Visitors never read a draft.
        let mut drafted = spec.clone();
        drafted.slug = watchtower_core::StatusSlug::parse("drafted").unwrap();
        drafted.auto_incidents = watchtower_core::AutoIncidents::Draft;
        let drafted = store
            .create_status_page(TEAM, &drafted, Timestamp(T0))
            .await?;
        store.record_batch(&step(2, down(T0 + 10 * MINUTE))).await?;
        let visible = store
            .page_status_incidents(drafted.id, PagePosts::Newest(10), PostReaders::Visitors)
            .await?;
        assert!(visible.is_empty(), "{visible:?}");
        let draft = &team_posts(store.as_ref(), drafted.id).await?[0];
        assert!(!draft.published);
        let published = store
            .publish_status_incident(TEAM, drafted.id, draft.id, Timestamp(T0 + 11 * MINUTE))
            .await?;
        assert!(published.published);
        assert_eq!(
            store
                .page_status_incidents(drafted.id, PagePosts::Newest(10), PostReaders::Visitors)
                .await?
                .len(),
            1
        );
        Ok(())
    })
    .await;
}
