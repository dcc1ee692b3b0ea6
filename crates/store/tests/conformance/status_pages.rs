//! Status pages: created with their groups, components and monitors in order; replaced whole by
//! an edit; slug and domain unique on the instance; another team's page and monitors out of
//! reach; found by slug or domain for visitors; a deleted monitor leaves its components; and the
//! reads a public page makes (monitor states, incident openings).

use crate::support::*;
use serde_json::json;
use watchtower_core::{
    MonitorId, MonitorRuntime, MonitorState, Plan, StatusPageSpec, TeamId, Timestamp,
};
use watchtower_store::{NewUser, PublicPageKey, Store, StoreError};

fn page_spec(slug: &str, domain: Option<&str>, groups: serde_json::Value) -> StatusPageSpec {
    let mut value = json!({
        "slug": slug,
        "title": format!("{slug} status"),
        "description": "How we are doing",
        "time_zone": "Europe/Paris",
        "history_days": 30,
        "hide_from_search": true,
        "accent_color": "#1F6FEB",
        "groups": groups,
    });
    if let Some(domain) = domain {
        value["custom_domain"] = json!(domain);
    }
    StatusPageSpec::parse(&value, "").expect("valid page")
}

async fn other_team(store: &dyn Store) -> anyhow::Result<TeamId> {
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
    Ok(store
        .create_team("Theirs", Plan::Free, user.id, Timestamp(T0))
        .await?
        .id)
}

#[tokio::test]
async fn a_page_round_trips_with_its_groups_in_order_and_an_edit_replaces_them() {
    each_backend(|store| async move {
        let a = store
            .create_monitor(TEAM, &http_spec("a", None), Timestamp(T0))
            .await?;
        let b = store
            .create_monitor(TEAM, &http_spec("b", None), Timestamp(T0))
            .await?;
        let spec = page_spec(
            "acme",
            Some("status.acme.example"),
            json!([
                {"name": "Web", "components": [
                    {"name": "Website", "description": "The shop", "monitors": [b.id.0, a.id.0]},
                    {"name": "API", "monitors": [a.id.0]}
                ]},
                {"components": [{"name": "Email", "monitors": [b.id.0]}]}
            ]),
        );
        let page = store.create_status_page(TEAM, &spec, Timestamp(T0)).await?;
        assert_eq!(page.spec, spec, "what was written reads back, order kept");
        assert_eq!(page.team_id, TEAM);
        assert_eq!(store.get_status_page(TEAM, page.id).await?.unwrap(), page);
        assert_eq!(store.list_status_pages(TEAM).await?, vec![page.clone()]);
        assert_eq!(store.count_status_pages(TEAM).await?, 1);

        let edited = page_spec(
            "acme-2",
            None,
            json!([{"name": "All", "components": [{"name": "Everything", "monitors": [a.id.0]}]}]),
        );
        let updated = store
            .update_status_page(TEAM, page.id, &edited, Timestamp(T0 + MINUTE))
            .await?;
        assert_eq!(updated.spec, edited);
        assert_eq!(updated.updated_at, Timestamp(T0 + MINUTE));
        assert_eq!(updated.created_at, Timestamp(T0));

        assert!(
            store
                .public_status_page(PublicPageKey::Slug("acme"))
                .await?
                .is_none()
        );
        let found = store
            .public_status_page(PublicPageKey::Slug("acme-2"))
            .await?;
        assert_eq!(found.map(|p| p.id), Some(page.id));
        assert!(
            store
                .public_status_page(PublicPageKey::Domain("status.acme.example"))
                .await?
                .is_none(),
            "the domain went with the edit"
        );

        store.delete_status_page(TEAM, page.id).await?;
        assert!(store.get_status_page(TEAM, page.id).await?.is_none());
        assert!(matches!(
            store.delete_status_page(TEAM, page.id).await,
            Err(StoreError::NotFound)
        ));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn slugs_and_domains_are_unique_on_the_instance() {
    each_backend(|store| async move {
        let theirs = other_team(&*store).await?;
        let mine = store
            .create_monitor(TEAM, &http_spec("a", None), Timestamp(T0))
            .await?;
        let their_monitor = store
            .create_monitor(theirs, &http_spec("t", None), Timestamp(T0))
            .await?;
        let groups = |id: MonitorId| json!([{"components": [{"name": "X", "monitors": [id.0]}]}]);
        store
            .create_status_page(
                TEAM,
                &page_spec("acme", Some("s.acme.example"), groups(mine.id)),
                Timestamp(T0),
            )
            .await?;
        for (slug, domain, field) in [
            ("acme", None, "slug"),
            ("other", Some("s.acme.example"), "custom_domain"),
        ] {
            let clash = store
                .create_status_page(
                    theirs,
                    &page_spec(slug, domain, groups(their_monitor.id)),
                    Timestamp(T0),
                )
                .await;
            let Err(StoreError::Conflict(conflict)) = clash else {
                panic!("{slug}: {clash:?}");
            };
            assert_eq!(conflict.field, field);
        }
        assert_eq!(
            store.count_status_pages(theirs).await?,
            0,
            "nothing half-written"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn another_teams_pages_and_monitors_are_out_of_reach() {
    each_backend(|store| async move {
        let theirs = other_team(&*store).await?;
        let mine = store.create_monitor(TEAM, &http_spec("a", None), Timestamp(T0)).await?;
        let their_monitor = store
            .create_monitor(theirs, &http_spec("t", None), Timestamp(T0))
            .await?;
        let with = |ids: &[MonitorId]| {
            json!([{"components": [{"name": "X", "monitors": ids.iter().map(|id| id.0).collect::<Vec<_>>()}]}])
        };
        let refused = store
            .create_status_page(TEAM, &page_spec("mine", None, with(&[mine.id, their_monitor.id])), Timestamp(T0))
            .await;
        assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
        assert_eq!(store.count_status_pages(TEAM).await?, 0, "nothing half-written");

        let page = store
            .create_status_page(TEAM, &page_spec("mine", None, with(&[mine.id])), Timestamp(T0))
            .await?;
        assert!(store.get_status_page(theirs, page.id).await?.is_none());
        assert!(store.list_status_pages(theirs).await?.is_empty());
        let spec = page_spec("taken", None, with(&[their_monitor.id]));
        assert!(matches!(
            store.update_status_page(theirs, page.id, &spec, Timestamp(T0)).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.update_status_page(TEAM, page.id, &spec, Timestamp(T0)).await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(
            store.get_status_page(TEAM, page.id).await?.unwrap().spec.slug.as_str(),
            "mine",
            "a refused edit changes nothing"
        );
        assert!(matches!(
            store.delete_status_page(theirs, page.id).await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(
            store.team_monitor_ids(TEAM, &[mine.id, their_monitor.id, MonitorId(999_999)]).await?,
            vec![mine.id]
        );
        assert_eq!(
            store
                .monitor_listings(TEAM, &[mine.id, their_monitor.id])
                .await?
                .iter()
                .map(|l| l.monitor.id)
                .collect::<Vec<_>>(),
            vec![mine.id]
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_deleted_monitor_leaves_the_components_that_showed_it() {
    each_backend(|store| async move {
        let a = store
            .create_monitor(TEAM, &http_spec("a", None), Timestamp(T0))
            .await?;
        let b = store
            .create_monitor(TEAM, &http_spec("b", None), Timestamp(T0))
            .await?;
        let page = store
            .create_status_page(
                TEAM,
                &page_spec(
                    "acme",
                    None,
                    json!([{"components": [{"name": "X", "monitors": [a.id.0, b.id.0]}]}]),
                ),
                Timestamp(T0),
            )
            .await?;
        store.delete_monitor(TEAM, a.id).await?;
        let after = store.get_status_page(TEAM, page.id).await?.unwrap();
        assert_eq!(after.spec.groups[0].components[0].monitors, vec![b.id]);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_public_page_reads_its_monitors_states_and_incident_openings() {
    each_backend(|store| async move {
        let a = store
            .create_monitor(TEAM, &http_spec("a", None), Timestamp(T0))
            .await?;
        let b = store
            .create_monitor(TEAM, &http_spec("b", None), Timestamp(T0))
            .await?;
        let mut runtime = MonitorRuntime::new(Timestamp(T0));
        store
            .record_batch(&observed_batch(
                a.id,
                &mut runtime,
                vec![down(T0 + MINUTE), up(T0 + 2 * MINUTE, 5)],
            ))
            .await?;
        let mut runtime = MonitorRuntime::new(Timestamp(T0));
        store
            .record_batch(&observed_batch(
                b.id,
                &mut runtime,
                vec![down(T0 + 3 * MINUTE)],
            ))
            .await?;
        let listings = store.monitor_listings(TEAM, &[a.id, b.id]).await?;
        let states: Vec<_> = listings.iter().map(|l| (l.monitor.id, l.state)).collect();
        assert_eq!(
            states,
            vec![(a.id, MonitorState::Up), (b.id, MonitorState::Down)]
        );
        let openings = store
            .incident_openings(TEAM, &[a.id, b.id], Timestamp(T0), Timestamp(T0 + DAY))
            .await?;
        let seen: Vec<_> = openings
            .iter()
            .map(|o| (o.monitor_id, o.opened_at))
            .collect();
        assert_eq!(
            seen,
            vec![
                (a.id, Timestamp(T0 + MINUTE)),
                (b.id, Timestamp(T0 + 3 * MINUTE))
            ]
        );
        let later = store
            .incident_openings(
                TEAM,
                &[a.id, b.id],
                Timestamp(T0 + 2 * MINUTE),
                Timestamp(T0 + DAY),
            )
            .await?;
        assert_eq!(later.len(), 1, "the window is [from, to)");
        Ok(())
    })
    .await;
}
