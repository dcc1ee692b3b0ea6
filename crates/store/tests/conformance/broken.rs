//! A monitor row whose stored spec cannot be decoded (as main wrote `$..status`: `$...status`)
//! never takes lists, the start-up load or apply down: it is reported as broken, and can be
//! replaced or deleted.

use crate::support::*;
use sqlx::Connection;
use watchtower_core::{MonitorId, MonitorKind, Timestamp};
use watchtower_store::{Backend, PageRequest, Store, StoreError};

/// What main stored for `$..status`: the parsed path's Display form, which does not parse back.
const UNREADABLE_PATH: &str = "$...status";

/// Rewrites a monitor's stored spec behind the store's back so it cannot be decoded: an HTTP
/// monitor gets main's JSONPath, any other kind a grace that is not a duration.
async fn break_spec(store: &dyn Store, url: &str, id: MonitorId) -> anyhow::Result<()> {
    let (field, value) = match store.get_monitor(TEAM, id).await {
        Ok(Some(monitor)) if matches!(monitor.spec.kind, MonitorKind::Http(_)) => (
            "json_path",
            serde_json::json!({"path": UNREADABLE_PATH, "op": "exists"}),
        ),
        _ => ("grace", serde_json::json!("soon")),
    };
    let value = value.to_string();
    match store.backend() {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await?;
            sqlx::query(
                "UPDATE monitors SET spec = json_set(spec, '$.' || $1, json($2)) WHERE id = $3",
            )
            .bind(field)
            .bind(value)
            .bind(id.0)
            .execute(&mut conn)
            .await?;
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await?;
            sqlx::query(
                "UPDATE monitors SET spec = jsonb_set(spec, ARRAY[$1], $2::jsonb) WHERE id = $3",
            )
            .bind(field)
            .bind(value)
            .bind(id.0)
            .execute(&mut conn)
            .await?;
        }
    }
    Ok(())
}

#[tokio::test]
async fn an_undecodable_row_is_listed_as_broken_and_can_be_replaced_or_deleted() {
    each_backend_with_url(|store, url| async move {
        let good = store
            .create_monitor(TEAM, &http_spec("good", Some("good")), Timestamp(T0))
            .await?;
        let bad = store
            .create_monitor(TEAM, &http_spec("bad", Some("bad")), Timestamp(T0))
            .await?;
        let beat = store
            .create_monitor(TEAM, &push_spec("beat", Some("beat"), None), Timestamp(T0))
            .await?;
        let MonitorKind::Push(push) = &beat.spec.kind else {
            unreachable!("a push spec")
        };
        let token = push.token.clone().expect("a generated token");
        break_spec(&*store, &url, bad.id).await?;
        break_spec(&*store, &url, beat.id).await?;

        // Lists carry it as broken, with what its columns say and why.
        let entries = store
            .list_monitor_entries(TEAM, &PageRequest::default())
            .await?;
        assert_eq!(entries.len(), 3);
        let broken = entries[1].as_ref().expect_err("the planted row is broken");
        assert_eq!(
            (
                broken.id,
                broken.name.as_str(),
                broken.kind.as_str(),
                broken.key.as_deref()
            ),
            (bad.id, "bad", "http", Some("bad"))
        );
        assert!(broken.error.contains("JSONPath"), "{}", broken.error);
        let readable = store.list_monitors(TEAM, &PageRequest::default()).await?;
        assert_eq!(readable.len(), 1);
        assert_eq!(readable[0].monitor.id, good.id);

        // Reading it names it; the start-up load sets it apart.
        match store.get_monitor(TEAM, bad.id).await {
            Err(StoreError::BrokenMonitor(broken)) => assert_eq!(broken.id, bad.id),
            other => panic!("expected a broken monitor, got {other:?}"),
        }
        let load = store.load_scheduled().await?;
        assert_eq!(load.monitors.len(), 1);
        let broken_ids: Vec<MonitorId> = load.broken.iter().map(|b| b.id).collect();
        assert_eq!(broken_ids, vec![bad.id, beat.id]);

        // Replacing repairs it; a push monitor keeps its token from its own column.
        let repaired = store
            .update_monitor(
                TEAM,
                bad.id,
                &http_spec("bad fixed", Some("bad")),
                Timestamp(T0 + 1),
            )
            .await?;
        assert_eq!(repaired.created_at, Timestamp(T0));
        assert_eq!(store.get_monitor(TEAM, bad.id).await?, Some(repaired));
        let beat_again = store
            .update_monitor(
                TEAM,
                beat.id,
                &push_spec("beat", Some("beat"), None),
                Timestamp(T0 + 1),
            )
            .await?;
        let MonitorKind::Push(push) = &beat_again.spec.kind else {
            unreachable!("a push spec")
        };
        assert_eq!(push.token.as_deref(), Some(token.as_str()));
        assert_eq!(
            store.find_push_monitor(&token).await?,
            Some((TEAM, beat.id))
        );

        // Deleting works on a broken row too.
        break_spec(&*store, &url, bad.id).await?;
        store.delete_monitor(TEAM, bad.id).await?;
        assert!(store.get_monitor(TEAM, bad.id).await?.is_none());
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn apply_replaces_a_broken_keyed_monitor_or_prunes_it() {
    each_backend_with_url(|store, url| async move {
        let listed = store
            .create_monitor(TEAM, &http_spec("listed", Some("listed")), Timestamp(T0))
            .await?;
        let gone = store
            .create_monitor(TEAM, &http_spec("gone", Some("gone")), Timestamp(T0))
            .await?;
        break_spec(&*store, &url, listed.id).await?;
        break_spec(&*store, &url, gone.id).await?;

        let kept = store
            .apply_monitors(
                TEAM,
                &[http_spec("listed", Some("listed"))],
                false,
                Timestamp(T0 + 1),
            )
            .await?;
        assert_eq!(kept.updated.len(), 1, "{kept:?}");
        assert_eq!(kept.kept.len(), 1, "{kept:?}");
        assert!(store.get_monitor(TEAM, listed.id).await?.is_some());

        let pruned = store
            .apply_monitors(
                TEAM,
                &[http_spec("listed", Some("listed"))],
                true,
                Timestamp(T0 + 2),
            )
            .await?;
        assert_eq!(pruned.unchanged.len(), 1, "{pruned:?}");
        assert_eq!(pruned.deleted.len(), 1, "{pruned:?}");
        let left = store
            .list_monitor_entries(TEAM, &PageRequest::default())
            .await?;
        assert_eq!(left.len(), 1);
        assert!(left[0].is_ok());
        Ok(())
    })
    .await;
}
