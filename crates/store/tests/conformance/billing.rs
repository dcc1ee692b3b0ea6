//! Whop billing's memory: a delivery recorded once by its id, due and retried and finished;
//! customers linked once; memberships saved, replaced, listed by team and found when their grace
//! period passed; and a team's billing history read from its audit log.

use crate::support::*;
use serde_json::json;
use watchtower_core::{Plan, Timestamp, UserId};
use watchtower_store::{
    Actor, AuditEntry, DeliveryState, NewUser, NewWhopDelivery, WhopCustomer, WhopMembership,
};

fn delivery(id: &str, occurred_at: i64) -> NewWhopDelivery {
    NewWhopDelivery {
        delivery_id: id.to_owned(),
        scheme: "v1".into(),
        event_type: "membership.activated".into(),
        body: r#"{"type":"membership.activated"}"#.into(),
        occurred_at: Timestamp(occurred_at),
        received_at: Timestamp(T0),
    }
}

#[tokio::test]
async fn deliveries_are_recorded_once_and_move_through_their_states() {
    each_backend(|store| async move {
        assert!(
            store
                .record_whop_delivery(&delivery("msg_b", T0 + 2))
                .await?
        );
        assert!(
            store
                .record_whop_delivery(&delivery("msg_a", T0 + 1))
                .await?
        );
        assert!(
            !store
                .record_whop_delivery(&delivery("msg_a", T0 + 1))
                .await?,
            "a redelivery"
        );
        let due = store.due_whop_deliveries(Timestamp(T0), 10).await?;
        let ids: Vec<_> = due.iter().map(|d| d.delivery_id.as_str()).collect();
        assert_eq!(ids, ["msg_a", "msg_b"], "the oldest event first");
        assert_eq!(due[0].state, DeliveryState::Pending);
        assert_eq!(due[0].body, r#"{"type":"membership.activated"}"#);

        store
            .retry_whop_delivery(due[0].id, "boom", Some(Timestamp(T0 + MINUTE)))
            .await?;
        let due_now = store.due_whop_deliveries(Timestamp(T0), 10).await?;
        assert_eq!(due_now.len(), 1, "msg_a waits for its retry");
        let later = store
            .due_whop_deliveries(Timestamp(T0 + MINUTE), 10)
            .await?;
        assert_eq!(later.len(), 2);
        store
            .finish_whop_delivery(
                due[0].id,
                DeliveryState::Processed,
                "granted",
                Some(TEAM),
                Timestamp(T0 + MINUTE),
            )
            .await?;
        store
            .retry_whop_delivery(due[1].id, "gave up", None)
            .await?;
        assert!(
            store
                .due_whop_deliveries(Timestamp(T0 + DAY), 10)
                .await?
                .is_empty()
        );

        let listed = store.whop_deliveries(None, 10).await?;
        assert_eq!(listed.len(), 2);
        let a = listed.iter().find(|d| d.delivery_id == "msg_a").unwrap();
        assert_eq!(
            (a.state, a.attempts, a.team_id),
            (DeliveryState::Processed, 2, Some(TEAM))
        );
        assert_eq!(
            (a.outcome.as_deref(), a.last_error.as_deref()),
            (Some("granted"), None)
        );
        let b = listed.iter().find(|d| d.delivery_id == "msg_b").unwrap();
        assert_eq!(
            (b.state, b.last_error.as_deref()),
            (DeliveryState::Failed, Some("gave up"))
        );
        let page = store.whop_deliveries(Some(listed[0].id), 10).await?;
        assert_eq!(page.len(), 1);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn customers_memberships_and_billing_history() {
    each_backend(|store| async move {
        let user = store
            .create_user(&NewUser {
                email: "buyer@example.com".into(),
                email_key: "buyer@example.com".into(),
                name: "Buyer".into(),
                password_hash: "!whop".into(),
                is_admin: false,
                created_at: Timestamp(T0),
            })
            .await?;
        let team = store
            .create_team("Buyer's team", Plan::Free, user.id, Timestamp(T0))
            .await?;
        let customer = WhopCustomer {
            whop_user_id: "user_1".into(),
            user_id: user.id,
            team_id: team.id,
            created_at: Timestamp(T0),
        };
        store.link_whop_customer(&customer).await?;
        // A second link keeps the first.
        store
            .link_whop_customer(&WhopCustomer {
                team_id: TEAM,
                user_id: UserId(user.id.0),
                ..customer.clone()
            })
            .await?;
        assert_eq!(store.whop_customer("user_1").await?, Some(customer));
        assert_eq!(store.whop_customer("user_2").await?, None);

        let mut membership = WhopMembership {
            membership_id: "mem_1".into(),
            team_id: Some(team.id),
            whop_user_id: "user_1".into(),
            plan: Plan::Starter,
            active: true,
            status: "active".into(),
            renewal_at: Some(Timestamp(T0 + 30 * DAY)),
            state_at: Timestamp(T0),
            payment_at: None,
            grace_deadline: None,
            lapsed: false,
            updated_at: Timestamp(T0),
        };
        store.save_whop_membership(&membership).await?;
        assert!(
            store
                .lapsing_whop_memberships(Timestamp(T0 + 10 * DAY))
                .await?
                .is_empty()
        );
        membership.payment_at = Some(Timestamp(T0 + HOUR));
        membership.grace_deadline = Some(Timestamp(T0 + 3 * DAY));
        store.save_whop_membership(&membership).await?;
        assert_eq!(
            store.whop_membership("mem_1").await?,
            Some(membership.clone())
        );
        assert!(
            store
                .lapsing_whop_memberships(Timestamp(T0 + DAY))
                .await?
                .is_empty()
        );
        assert_eq!(
            store
                .lapsing_whop_memberships(Timestamp(T0 + 3 * DAY))
                .await?,
            [membership.clone()]
        );
        membership.lapsed = true;
        store.save_whop_membership(&membership).await?;
        assert!(
            store
                .lapsing_whop_memberships(Timestamp(T0 + 3 * DAY))
                .await?
                .is_empty()
        );
        // A membership nobody's team knows yet.
        let orphan = WhopMembership {
            membership_id: "mem_2".into(),
            team_id: None,
            active: false,
            ..membership.clone()
        };
        store.save_whop_membership(&orphan).await?;
        assert_eq!(store.team_whop_memberships(team.id).await?, [membership]);

        for (action, at) in [
            ("plan.changed", 1),
            ("monitor.paused", 2),
            ("billing.payment_failed", 3),
        ] {
            store
                .record_audit(&AuditEntry {
                    team_id: team.id,
                    actor: Actor {
                        user_id: None,
                        api_key_id: None,
                        label: "whop".into(),
                    },
                    action: action.into(),
                    target: "team".into(),
                    details: json!({}),
                    at: Timestamp(T0 + at),
                })
                .await?;
        }
        let history = store.billing_history(team.id, 10).await?;
        let actions: Vec<_> = history.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["billing.payment_failed", "plan.changed"]);
        Ok(())
    })
    .await;
}
