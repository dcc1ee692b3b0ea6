//! Incident posts: a post and its first update written together; updates change the post's
//! status and components and resolve or reopen it; another team's page and posts out of reach;
//! deleting a page takes its posts; and the visitor's reads (current, by month, newest).

use crate::support::*;
use serde_json::json;
use watchtower_core::{
    ComponentState, NewStatusIncident, Plan, PostStatus, StatusIncidentUpdate, StatusPageSpec,
    Timestamp,
};
use watchtower_store::{NewUser, PagePosts, Store, StoreError};

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
            )
            .await?;
        assert_eq!(titles(between), ["Old"]);
        let newest = store
            .page_status_incidents(page.id, PagePosts::Newest(2))
            .await?;
        assert_eq!(titles(newest), ["Open", "Recent"]);
        assert_eq!(old.updates.len(), 1);
        assert!(recent.resolved_at.is_some() && open.resolved_at.is_none());

        store.delete_status_page(TEAM, page.id).await?;
        assert!(
            store
                .page_status_incidents(page.id, PagePosts::Newest(10))
                .await?
                .is_empty(),
            "a deleted page takes its posts"
        );
        Ok(())
    })
    .await;
}
