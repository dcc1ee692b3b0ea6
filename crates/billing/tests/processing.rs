//! The worker on a real SQLite store with a plan changer that fails: the delivery stays pending
//! with its error, is retried after the backoff (on the processor's clock), and the retry finishes
//! what the failed attempt began; after the last attempt it is `failed`.

use async_trait::async_trait;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::time::Duration;
use watchtower_billing::{BillingConfig, Clock, PlanChanger, Processor, WorkerConfig, run_once};
use watchtower_core::{Plan, TeamId, Timestamp};
use watchtower_store::{DeliveryState, NewUser, NewWhopDelivery, SqliteStore, Store};

/// Fails its first `failures` calls, then sets the plan.
struct Flaky {
    store: Arc<dyn Store>,
    failures: AtomicU32,
}

#[async_trait]
impl PlanChanger for Flaky {
    async fn change_plan(&self, team: TeamId, plan: Plan, _details: Value) -> Result<(), String> {
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err("the plan change failed".into());
        }
        self.store
            .set_team_plan(team, plan)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

async fn setup(
    failures: u32,
) -> anyhow::Result<(tempfile::TempDir, Processor, Arc<AtomicI64>, TeamId)> {
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("w.db")).await?);
    store.migrate().await?;
    let user = store
        .create_user(&NewUser {
            email: "a@example.com".into(),
            email_key: "a@example.com".into(),
            name: "A".into(),
            password_hash: "!".into(),
            is_admin: false,
            created_at: Timestamp::now(),
        })
        .await?;
    let team = store
        .create_team("A", Plan::Free, user.id, Timestamp::now())
        .await?
        .id;
    let mut config = BillingConfig::default();
    config.plans.insert("prod_starter".into(), Plan::Starter);
    let now = Arc::new(AtomicI64::new(Timestamp::now().0));
    let clock_now = now.clone();
    let processor = Processor {
        store: store.clone(),
        config: Arc::new(config),
        plans: Arc::new(Flaky {
            store: store.clone(),
            failures: AtomicU32::new(failures),
        }),
        clock: Clock::from_fn(move || Timestamp(clock_now.load(Ordering::SeqCst))),
    };
    let body = json!({"id": "msg_1", "type": "membership.activated", "timestamp": "2026-01-01T00:00:00Z",
        "data": {"id": "mem_1", "user": {"id": "user_1", "email": "a@example.com"},
                 "product": {"id": "prod_starter"}, "metadata": {"watchtower_team_id": team.0.to_string()}}});
    store
        .record_whop_delivery(&NewWhopDelivery {
            delivery_id: "msg_1".into(),
            scheme: "v1".into(),
            event_type: "membership.activated".into(),
            body: body.to_string(),
            occurred_at: Timestamp(1_767_225_600_000),
            received_at: Timestamp(now.load(Ordering::SeqCst)),
        })
        .await?;
    Ok((dir, processor, now, team))
}

fn config(max_attempts: u32) -> WorkerConfig {
    WorkerConfig {
        max_attempts,
        first_backoff: Duration::from_secs(10),
        ..WorkerConfig::default()
    }
}

#[tokio::test]
async fn a_failed_attempt_is_retried_after_its_backoff_and_finishes_the_change()
-> anyhow::Result<()> {
    let (_dir, processor, now, team) = setup(1).await?;
    let report = run_once(&processor, &config(5)).await?;
    assert_eq!(report.retried, 1);
    let delivery = processor.store.whop_deliveries(None, 10).await?.remove(0);
    assert_eq!(delivery.state, DeliveryState::Pending);
    assert_eq!(delivery.attempts, 1);
    assert!(
        delivery
            .last_error
            .unwrap()
            .contains("the plan change failed")
    );
    // Not due before the backoff.
    assert_eq!(run_once(&processor, &config(5)).await?.finished, 0);
    now.fetch_add(10_000, Ordering::SeqCst);
    assert_eq!(run_once(&processor, &config(5)).await?.finished, 1);
    let delivery = processor.store.whop_deliveries(None, 10).await?.remove(0);
    assert_eq!(delivery.state, DeliveryState::Processed);
    assert_eq!(
        processor.store.get_team(team).await?.unwrap().plan,
        Plan::Starter
    );
    Ok(())
}

#[tokio::test]
async fn after_the_last_attempt_the_delivery_is_failed() -> anyhow::Result<()> {
    let (_dir, processor, now, team) = setup(10).await?;
    for _ in 0..3 {
        run_once(&processor, &config(3)).await?;
        now.fetch_add(3_600_000, Ordering::SeqCst);
    }
    let delivery = processor.store.whop_deliveries(None, 10).await?.remove(0);
    assert_eq!(
        (delivery.state, delivery.attempts),
        (DeliveryState::Failed, 3)
    );
    assert_eq!(
        processor.store.get_team(team).await?.unwrap().plan,
        Plan::Free
    );
    Ok(())
}
