//! Whop billing end to end through the HTTP app, on every backend: deliveries signed by the
//! testkit's fake Whop in both schemes become plan changes (a Starter purchase allows 25
//! monitors, a cancellation pauses the excess, a failed payment lapses after the grace period
//! and a later success restores), and replayed, reordered, tampered, stale and unknown-type
//! deliveries do what they must; a delivery recorded by an instance that stopped before
//! processing it is processed by the next worker.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use watchtower_billing::{BillingConfig, Clock as BillingClock, WebhookSecret};
use watchtower_core::{Plan, PlanTable, Role, TeamId, Timestamp};
use watchtower_store::{DeliveryState, Store};
use watchtower_testkit::FakeWhop;
use watchtower_testkit::whop::{v1_event, v1_membership, v1_payment, v5_event};

const STARTER_CHECKOUT: &str = "https://whop.com/checkout/plan_starter";
const PRO_CHECKOUT: &str = "https://whop.com/checkout/plan_pro";
const DAY_MS: i64 = 86_400_000;

fn billing(secrets: &[&str]) -> BillingConfig {
    BillingConfig {
        secrets: secrets
            .iter()
            .map(|secret| WebhookSecret::parse(secret).unwrap())
            .collect(),
        plans: BTreeMap::from([
            ("prod_starter".to_owned(), Plan::Starter),
            ("prod_pro".to_owned(), Plan::Professional),
        ]),
        checkout_links: BTreeMap::from([
            (Plan::Starter, STARTER_CHECKOUT.parse().unwrap()),
            (Plan::Professional, PRO_CHECKOUT.parse().unwrap()),
        ]),
        ..BillingConfig::default()
    }
}

/// Options for a multi-tenant-like instance (new teams on Free) selling through Whop, with a
/// billing clock `offset` milliseconds ahead of the system's.
fn options(secret: &str, offset: Arc<AtomicI64>) -> Options {
    Options {
        plans: PlanTable::multi_tenant(),
        billing: billing(&[secret]),
        billing_clock: Some(BillingClock::from_fn(move || {
            Timestamp(Timestamp::now().0 + offset.load(Ordering::SeqCst))
        })),
        ..Options::default()
    }
}

fn whop(app: &TestApp, secret: &str) -> FakeWhop {
    FakeWhop::with_secret(app.url("/api/webhooks/whop"), secret.to_owned())
}

fn iso(at: Timestamp) -> String {
    at.to_string()
}

/// Waits (at most 10 s) until `check` holds.
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn plan_of(store: &Arc<dyn Store>, team: TeamId) -> Plan {
    store.get_team(team).await.unwrap().unwrap().plan
}

/// Waits until no recorded delivery is pending.
async fn settled(app: &TestApp) {
    let store = app.store.clone();
    eventually("every delivery is processed", || {
        let store = store.clone();
        async move {
            let deliveries = store.whop_deliveries(None, 500).await.unwrap();
            deliveries.iter().all(|d| d.state != DeliveryState::Pending)
        }
    })
    .await;
}

async fn delivery(app: &TestApp, delivery_id: &str) -> watchtower_store::WhopDelivery {
    app.store
        .whop_deliveries(None, 500)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.delivery_id == delivery_id)
        .unwrap_or_else(|| panic!("delivery {delivery_id} is recorded"))
}

fn push_monitor(name: &str) -> Value {
    json!({"name": name, "kind": "push", "period": "1h"})
}

fn fresh_secret() -> String {
    FakeWhop::new("").secret
}

#[tokio::test]
async fn a_starter_purchase_allows_25_monitors_and_cancellation_pauses_the_excess() {
    let secret = fresh_secret();
    let offset = Arc::new(AtomicI64::new(0));
    each_backend(options(&secret, offset), |app| {
        let secret = secret.clone();
        async move {
            let whop = whop(&app, &secret);
            let owner_id = app.user("buyer@example.com", false).await;
            let team = app.team("Shop", Plan::Free, owner_id).await;
            let owner = app.login("buyer@example.com").await.in_team(team);
            for i in 1..=3 {
                let created = owner
                    .post("/api/monitors", push_monitor(&format!("job {i}")))
                    .await;
                assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
            }
            // On Free, the 4th is refused with the Starter checkout link naming the team.
            let fourth = owner.post("/api/monitors", push_monitor("job 4")).await;
            assert_eq!(fourth.status, StatusCode::PAYMENT_REQUIRED);
            assert_eq!(fourth.body["error"]["upgrade_to"], "starter");
            assert_eq!(
                fourth.body["error"]["checkout_url"],
                format!(
                    "{STARTER_CHECKOUT}?metadata%5Bwatchtower_team_id%5D={}",
                    team.0
                )
            );

            // The purchase, through that link (the team in the metadata). Legacy (v5) events
            // carry no time of their own and are ordered by their signature's second, so the
            // purchase is dated a few seconds back for the v5 cancellation below to be newer.
            let now = Timestamp(Timestamp::now().0 - 5_000);
            let data = v1_membership(
                "mem_s1",
                "user_s1",
                "buyer@example.com",
                "prod_starter",
                Some(team.0),
            );
            let event = v1_event("msg_s1", "membership.activated", &iso(now), data);
            let answer = whop.deliver_v1("msg_s1", &event).await;
            assert_eq!(answer.status, 200, "{:?}", answer.body);
            assert_eq!(answer.body["recorded"], true);
            settled(&app).await;
            assert_eq!(plan_of(&app.store, team).await, Plan::Starter);

            for i in 4..=25 {
                let created = owner
                    .post("/api/monitors", push_monitor(&format!("job {i}")))
                    .await;
                assert_eq!(
                    created.status,
                    StatusCode::CREATED,
                    "monitor {i}: {:?}",
                    created.body
                );
            }
            let refused = owner.post("/api/monitors", push_monitor("job 26")).await;
            assert_eq!(refused.status, StatusCode::PAYMENT_REQUIRED);
            let error = &refused.body["error"];
            assert_eq!(error["plan"], "starter");
            assert_eq!(error["current"], 26);
            assert_eq!(error["allowed"], 25);
            assert_eq!(error["upgrade_to"], "professional");
            assert_eq!(
                error["checkout_url"],
                format!("{PRO_CHECKOUT}?metadata%5Bwatchtower_team_id%5D={}", team.0)
            );

            // The team's billing view.
            let view = owner.get(&format!("/api/teams/{}/billing", team.0)).await;
            assert_eq!(view.status, StatusCode::OK, "{:?}", view.body);
            assert_eq!(view.body["plan"], "starter");
            assert_eq!(view.body["source"], "whop");
            assert!(view.body["renewal_at"].is_number());
            assert_eq!(view.body["upgrades"][0]["plan"], "professional");
            let history = view.body["history"].as_array().unwrap();
            assert!(history.iter().any(|e| e["action"] == "plan.changed"
                && e["actor"]["label"] == "whop"
                && e["details"]["to"] == "starter"));

            // Cancellation (legacy scheme): back to Free, the 22 newest paused, none deleted.
            let cancel = v5_event(
                "membership.went_invalid",
                json!({"id": "mem_s1", "product_id": "prod_starter", "user_id": "user_s1",
                       "plan_id": "plan_x", "status": "canceled", "valid": false}),
            );
            let answer = whop.deliver_v5(&cancel).await;
            assert_eq!(answer.status, 200, "{:?}", answer.body);
            settled(&app).await;
            assert_eq!(plan_of(&app.store, team).await, Plan::Free);
            assert_eq!(app.store.count_monitors(team).await?, 3);
            let all = owner.get("/api/monitors?limit=100").await;
            let listed = all.body["monitors"].as_array().map_or(0, Vec::len);
            assert_eq!(listed, 25, "{:?}", all.body);
            let audit = app.store.audit_log(team, None, 200).await?;
            assert_eq!(
                audit
                    .iter()
                    .filter(|e| e.action == "monitor.paused")
                    .count(),
                22
            );
            Ok(())
        }
    })
    .await;
}

#[tokio::test]
async fn a_failed_payment_downgrades_after_the_grace_period_and_a_later_success_restores() {
    let secret = fresh_secret();
    let offset = Arc::new(AtomicI64::new(0));
    let shared = offset.clone();
    each_backend(options(&secret, offset), |app| {
        let secret = secret.clone();
        let offset = shared.clone();
        async move {
            offset.store(0, Ordering::SeqCst);
            let whop = whop(&app, &secret);
            let base = Timestamp::now();
            // First sight: the buyer and their team are created.
            let data = v1_membership(
                "mem_g1",
                "user_g1",
                "new-buyer@example.com",
                "prod_starter",
                None,
            );
            whop.deliver_v1(
                "msg_g1",
                &v1_event("msg_g1", "membership.activated", &iso(base), data),
            )
            .await;
            settled(&app).await;
            let buyer = app
                .store
                .user_by_email("new-buyer@example.com")
                .await?
                .expect("user created");
            let teams = app.store.teams_of(buyer.id).await?;
            assert_eq!(teams.len(), 1);
            let team = teams[0].team.id;
            assert_eq!(plan_of(&app.store, team).await, Plan::Starter);
            for i in 1..=5 {
                let spec =
                    watchtower_core::MonitorSpec::parse(&push_monitor(&format!("job {i}")), "")
                        .unwrap();
                app.store
                    .create_monitor(team, &spec, Timestamp::now())
                    .await?;
            }

            let failed_at = Timestamp(base.0 + 1_000);
            let failed = v1_event(
                "msg_g2",
                "payment.failed",
                &iso(failed_at),
                v1_payment("pay_1", "mem_g1", "user_g1", "open"),
            );
            assert_eq!(whop.deliver_v1("msg_g2", &failed).await.status, 200);
            settled(&app).await;
            assert_eq!(
                plan_of(&app.store, team).await,
                Plan::Starter,
                "still in the grace period"
            );
            let memberships = app.store.team_whop_memberships(team).await?;
            assert_eq!(
                memberships[0].grace_deadline,
                Some(Timestamp(failed_at.0 + 3 * DAY_MS))
            );
            let audit = app.store.audit_log(team, None, 100).await?;
            assert!(audit.iter().any(|e| e.action == "billing.payment_failed"
                && e.details["owners"][0] == "new-buyer@example.com"));
            // Every dashboard page tells the team's owners what lapses when; others see nothing.
            let co_owner = app.user("co-owner@example.com", false).await;
            app.join(team, co_owner, Role::Owner).await;
            let viewer = app.user("viewer@example.com", false).await;
            app.join(team, viewer, Role::Viewer).await;
            let notice = |html: &str| html.contains("id=\"billing-notice\"");
            let (owner_browser, _) = crate::web::browser_like(&app, "co-owner@example.com").await;
            let html = owner_browser.get(app.url("/")).send().await?.text().await?;
            assert!(notice(&html), "{html}");
            assert!(html.contains("Its Starter plan ends at"), "{html}");
            let (viewer_browser, _) = crate::web::browser_like(&app, "viewer@example.com").await;
            let html = viewer_browser
                .get(app.url("/"))
                .send()
                .await?
                .text()
                .await?;
            assert!(!notice(&html));

            // Three days and a minute later, without a payment: Free, the excess paused.
            offset.store(3 * DAY_MS + 60_000, Ordering::SeqCst);
            let store = app.store.clone();
            eventually("the grace period lapses", || {
                let store = store.clone();
                // The plan is written first, then the excess paused.
                async move {
                    plan_of(&store, team).await == Plan::Free
                        && store.count_monitors(team).await.unwrap() == 3
                }
            })
            .await;

            // A later success restores the plan.
            let paid_at = Timestamp(base.0 + 2_000);
            let paid = v1_event(
                "msg_g3",
                "payment.succeeded",
                &iso(paid_at),
                v1_payment("pay_2", "mem_g1", "user_g1", "paid"),
            );
            assert_eq!(whop.deliver_v1("msg_g3", &paid).await.status, 200);
            settled(&app).await;
            assert_eq!(plan_of(&app.store, team).await, Plan::Starter);
            let html = owner_browser.get(app.url("/")).send().await?.text().await?;
            assert!(!notice(&html), "the payment went through: no notice");
            let history = app.store.billing_history(team, 100).await?;
            assert!(history.iter().any(|e| e.action == "billing.grace_expired"));
            assert!(
                history
                    .iter()
                    .any(|e| e.action == "billing.payment_succeeded")
            );
            Ok(())
        }
    })
    .await;
}

#[tokio::test]
async fn replayed_reordered_tampered_stale_and_unknown_deliveries() {
    let secret = fresh_secret();
    let old_secret = fresh_secret();
    let offset = Arc::new(AtomicI64::new(0));
    let mut options = options(&secret, offset);
    options.billing = billing(&[&secret, &old_secret]);
    each_backend(options, |app| {
        let (secret, old_secret) = (secret.clone(), old_secret.clone());
        async move {
            let whop = whop(&app, &secret);
            let probe = app.anonymous().get("/api/webhooks/whop").await;
            assert_eq!(probe.status, StatusCode::OK);
            assert_eq!(probe.body["configured"], true);
            let owner_id = app.user("shop@example.com", false).await;
            let team = app.team("Shop", Plan::Free, owner_id).await;
            let base = Timestamp::now();

            let activate = v1_event(
                "msg_r1",
                "membership.activated",
                &iso(base),
                v1_membership(
                    "mem_r1",
                    "user_r1",
                    "shop@example.com",
                    "prod_starter",
                    Some(team.0),
                ),
            );
            assert_eq!(whop.deliver_v1("msg_r1", &activate).await.status, 200);
            // Replayed: answered, recorded once, nothing changes.
            let replay = whop.deliver_v1("msg_r1", &activate).await;
            assert_eq!(replay.status, 200);
            assert_eq!(replay.body["recorded"], false);
            settled(&app).await;
            assert_eq!(plan_of(&app.store, team).await, Plan::Starter);
            let count = app
                .store
                .whop_deliveries(None, 500)
                .await?
                .iter()
                .filter(|d| d.delivery_id == "msg_r1")
                .count();
            assert_eq!(count, 1);

            // Reordered: the cancellation (newer) arrives, then a stale activation.
            let cancel = v1_event(
                "msg_r2",
                "membership.deactivated",
                &iso(Timestamp(base.0 + 10_000)),
                v1_membership(
                    "mem_r1",
                    "user_r1",
                    "shop@example.com",
                    "prod_starter",
                    Some(team.0),
                ),
            );
            whop.deliver_v1("msg_r2", &cancel).await;
            settled(&app).await;
            assert_eq!(plan_of(&app.store, team).await, Plan::Free);
            let late = v1_event(
                "msg_r3",
                "membership.activated",
                &iso(Timestamp(base.0 + 5_000)),
                v1_membership(
                    "mem_r1",
                    "user_r1",
                    "shop@example.com",
                    "prod_starter",
                    Some(team.0),
                ),
            );
            whop.deliver_v1("msg_r3", &late).await;
            settled(&app).await;
            assert_eq!(
                plan_of(&app.store, team).await,
                Plan::Free,
                "an older event never undoes a newer state"
            );
            assert_eq!(delivery(&app, "msg_r3").await.state, DeliveryState::Ignored);

            // Reordered before anyone knew the membership: the end is remembered, no team made.
            let end = v1_event(
                "msg_r4",
                "membership.deactivated",
                &iso(Timestamp(base.0 + 10_000)),
                v1_membership(
                    "mem_r9",
                    "user_r9",
                    "stranger@example.com",
                    "prod_pro",
                    None,
                ),
            );
            whop.deliver_v1("msg_r4", &end).await;
            settled(&app).await;
            let start = v1_event(
                "msg_r5",
                "membership.activated",
                &iso(base),
                v1_membership(
                    "mem_r9",
                    "user_r9",
                    "stranger@example.com",
                    "prod_pro",
                    None,
                ),
            );
            whop.deliver_v1("msg_r5", &start).await;
            settled(&app).await;
            assert!(
                app.store
                    .user_by_email("stranger@example.com")
                    .await?
                    .is_none()
            );
            assert_eq!(delivery(&app, "msg_r5").await.state, DeliveryState::Ignored);

            // Tampered: 401, a security event, nothing recorded.
            let body = serde_json::to_vec(&activate).unwrap();
            let ts = watchtower_testkit::whop::unix_now();
            let signature = whop.sign_v1("msg_t1", ts, &body);
            let mut tampered = body.clone();
            tampered.extend_from_slice(b" ");
            let headers = [
                ("webhook-id", "msg_t1".to_owned()),
                ("webhook-timestamp", ts.to_string()),
                ("webhook-signature", signature),
            ];
            let refused = whop.send_raw(&headers, tampered).await;
            assert_eq!(refused.status, 401);
            assert_eq!(refused.body["error"]["code"], "invalid_signature");
            let events = app.store.security_events(None, 50).await?;
            assert!(events.iter().any(|e| e.kind == "whop_webhook_rejected"));
            assert!(
                app.store
                    .whop_deliveries(None, 500)
                    .await?
                    .iter()
                    .all(|d| d.delivery_id != "msg_t1")
            );
            // A legacy delivery with a tampered body is refused too.
            let legacy = whop.sign_v5(ts, &body);
            let refused = whop
                .send_raw(&[("x-whop-signature", legacy)], b"{}".to_vec())
                .await;
            assert_eq!(refused.status, 401);

            // Stale: signed six minutes ago.
            let stale = whop.deliver_v1_at("msg_t2", ts - 360, &activate).await;
            assert_eq!(stale.status, 401);
            assert!(
                app.store
                    .whop_deliveries(None, 500)
                    .await?
                    .iter()
                    .all(|d| d.delivery_id != "msg_t2")
            );

            // A rotated-out secret still configured is accepted.
            let old = FakeWhop::with_secret(app.url("/api/webhooks/whop"), old_secret);
            let unknown = v1_event(
                "msg_u1",
                "refund.created",
                &iso(base),
                json!({"id": "ref_1"}),
            );
            let answer = old.deliver_v1("msg_u1", &unknown).await;
            assert_eq!(answer.status, 200, "{:?}", answer.body);
            // Unknown types: recorded and ignored.
            settled(&app).await;
            let recorded = delivery(&app, "msg_u1").await;
            assert_eq!(recorded.state, DeliveryState::Ignored);
            assert_eq!(recorded.event_type, "refund.created");

            // The administrators' view; others are refused.
            app.user("root@example.com", true).await;
            let admin = app.login("root@example.com").await;
            let view = admin.get("/api/billing/whop/deliveries").await;
            assert_eq!(view.status, StatusCode::OK);
            let listed = view.body["deliveries"].as_array().unwrap();
            assert!(
                listed
                    .iter()
                    .any(|d| d["delivery_id"] == "msg_u1" && d["state"] == "ignored")
            );
            assert!(listed.iter().all(|d| d.get("body").is_none()));
            let owner = app.login("shop@example.com").await;
            assert_eq!(
                owner.get("/api/billing/whop/deliveries").await.status,
                StatusCode::FORBIDDEN
            );
            Ok(())
        }
    })
    .await;
}

#[tokio::test]
async fn a_delivery_recorded_before_a_stop_is_processed_by_the_next_worker() {
    let secret = fresh_secret();
    let offset = Arc::new(AtomicI64::new(0));
    let mut without_worker = options(&secret, offset.clone());
    without_worker.billing_worker = false;
    let with_worker = options(&secret, offset);
    each_backend(without_worker, |app| {
        let (secret, with_worker) = (secret.clone(), with_worker.clone());
        async move {
            let whop = whop(&app, &secret);
            let owner_id = app.user("crash@example.com", false).await;
            let team = app.team("Shop", Plan::Free, owner_id).await;
            let event = v1_event(
                "msg_c1",
                "membership.activated",
                &iso(Timestamp::now()),
                v1_membership(
                    "mem_c1",
                    "user_c1",
                    "crash@example.com",
                    "prod_pro",
                    Some(team.0),
                ),
            );
            assert_eq!(whop.deliver_v1("msg_c1", &event).await.status, 200);
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert_eq!(delivery(&app, "msg_c1").await.state, DeliveryState::Pending);
            assert_eq!(plan_of(&app.store, team).await, Plan::Free);

            // The next instance on the same database processes it.
            let (next, running) = TestApp::start(&app.database_url, with_worker).await;
            settled(&next).await;
            assert_eq!(plan_of(&next.store, team).await, Plan::Professional);
            assert_eq!(
                delivery(&next, "msg_c1").await.state,
                DeliveryState::Processed
            );
            running.shutdown().await;
            Ok(())
        }
    })
    .await;
}
