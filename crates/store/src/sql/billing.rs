//! Whop billing: deliveries and their processing state, customers and memberships.

use super::DbStore;
use crate::account_rows::{AuditRow, MAX_LOG_PAGE};
use crate::accounts::AuditRecord;
use crate::billing::*;
use crate::error::StoreError;
use crate::rows::{clamp_limit, write_error};
use async_trait::async_trait;
use watchtower_core::{Plan, TeamId, Timestamp, UserId};

const DELIVERY_COLUMNS: &str = "id, delivery_id, scheme, event_type, body, occurred_at, \
     received_at, state, attempts, next_attempt_at, last_error, outcome, team_id, processed_at";
const MEMBERSHIP_COLUMNS: &str = "membership_id, team_id, whop_user_id, plan, active, status, \
     renewal_at, state_at, payment_at, grace_deadline, lapsed, updated_at";

#[derive(Debug, sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    delivery_id: String,
    scheme: String,
    event_type: String,
    body: String,
    occurred_at: i64,
    received_at: i64,
    state: String,
    attempts: i64,
    next_attempt_at: i64,
    last_error: Option<String>,
    outcome: Option<String>,
    team_id: Option<i64>,
    processed_at: Option<i64>,
}

impl DeliveryRow {
    fn into_delivery(self) -> Result<WhopDelivery, StoreError> {
        Ok(WhopDelivery {
            id: self.id,
            delivery_id: self.delivery_id,
            scheme: self.scheme,
            event_type: self.event_type,
            body: self.body,
            occurred_at: Timestamp(self.occurred_at),
            received_at: Timestamp(self.received_at),
            state: DeliveryState::parse(&self.state)?,
            attempts: self.attempts,
            next_attempt_at: Timestamp(self.next_attempt_at),
            last_error: self.last_error,
            outcome: self.outcome,
            team_id: self.team_id.map(TeamId),
            processed_at: self.processed_at.map(Timestamp),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct MembershipRow {
    membership_id: String,
    team_id: Option<i64>,
    whop_user_id: String,
    plan: String,
    active: bool,
    status: String,
    renewal_at: Option<i64>,
    state_at: i64,
    payment_at: Option<i64>,
    grace_deadline: Option<i64>,
    lapsed: bool,
    updated_at: i64,
}

impl MembershipRow {
    fn into_membership(self) -> Result<WhopMembership, StoreError> {
        Ok(WhopMembership {
            membership_id: self.membership_id,
            team_id: self.team_id.map(TeamId),
            whop_user_id: self.whop_user_id,
            plan: Plan::parse(&self.plan).map_err(StoreError::Corrupt)?,
            active: self.active,
            status: self.status,
            renewal_at: self.renewal_at.map(Timestamp),
            state_at: Timestamp(self.state_at),
            payment_at: self.payment_at.map(Timestamp),
            grace_deadline: self.grace_deadline.map(Timestamp),
            lapsed: self.lapsed,
            updated_at: Timestamp(self.updated_at),
        })
    }
}

fn memberships(rows: Vec<MembershipRow>) -> Result<Vec<WhopMembership>, StoreError> {
    rows.into_iter()
        .map(MembershipRow::into_membership)
        .collect()
}

#[async_trait]
impl BillingStore for DbStore {
    #[tracing::instrument(name = "store.record_whop_delivery", level = "debug", skip_all)]
    async fn record_whop_delivery(&self, new: &NewWhopDelivery) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO whop_deliveries (delivery_id, scheme, event_type, body, occurred_at, \
             received_at, state, attempts, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $6) \
             ON CONFLICT (delivery_id) DO NOTHING",
        )
        .bind(&new.delivery_id)
        .bind(&new.scheme)
        .bind(&new.event_type)
        .bind(&new.body)
        .bind(new.occurred_at.0)
        .bind(new.received_at.0)
        .execute(self.writer())
        .await
        .map_err(write_error)?;
        Ok(inserted.rows_affected() == 1)
    }

    #[tracing::instrument(name = "store.due_whop_deliveries", level = "debug", skip_all)]
    async fn due_whop_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<WhopDelivery>, StoreError> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM whop_deliveries \
             WHERE state = 'pending' AND next_attempt_at <= $1 \
             ORDER BY occurred_at, id LIMIT $2"
        )))
        .bind(now.0)
        .bind(clamp_limit(limit, 1_000))
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(DeliveryRow::into_delivery).collect()
    }

    #[tracing::instrument(name = "store.finish_whop_delivery", level = "debug", skip_all)]
    async fn finish_whop_delivery(
        &self,
        id: i64,
        state: DeliveryState,
        outcome: &str,
        team: Option<TeamId>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE whop_deliveries SET state = $1, outcome = $2, team_id = $3, \
             processed_at = $4, attempts = attempts + 1, last_error = NULL WHERE id = $5",
        )
        .bind(state.as_str())
        .bind(outcome)
        .bind(team.map(|team| team.0))
        .bind(now.0)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    #[tracing::instrument(name = "store.retry_whop_delivery", level = "debug", skip_all)]
    async fn retry_whop_delivery(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        let state = if retry_at.is_some() {
            DeliveryState::Pending
        } else {
            DeliveryState::Failed
        };
        sqlx::query(
            "UPDATE whop_deliveries SET state = $1, attempts = attempts + 1, last_error = $2, \
             next_attempt_at = COALESCE($3, next_attempt_at) WHERE id = $4",
        )
        .bind(state.as_str())
        .bind(error)
        .bind(retry_at.map(|at| at.0))
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    #[tracing::instrument(name = "store.whop_deliveries", level = "debug", skip_all)]
    async fn whop_deliveries(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<WhopDelivery>, StoreError> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM whop_deliveries WHERE id < $1 ORDER BY id DESC LIMIT $2"
        )))
        .bind(before.unwrap_or(i64::MAX))
        .bind(clamp_limit(limit, MAX_LOG_PAGE))
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(DeliveryRow::into_delivery).collect()
    }

    #[tracing::instrument(name = "store.whop_customer", level = "debug", skip_all)]
    async fn whop_customer(&self, whop_user_id: &str) -> Result<Option<WhopCustomer>, StoreError> {
        let row: Option<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT whop_user_id, user_id, team_id, created_at FROM whop_customers \
             WHERE whop_user_id = $1",
        )
        .bind(whop_user_id)
        .fetch_optional(self.reader())
        .await?;
        Ok(
            row.map(|(whop_user_id, user, team, created_at)| WhopCustomer {
                whop_user_id,
                user_id: UserId(user),
                team_id: TeamId(team),
                created_at: Timestamp(created_at),
            }),
        )
    }

    #[tracing::instrument(name = "store.link_whop_customer", level = "debug", skip_all)]
    async fn link_whop_customer(&self, customer: &WhopCustomer) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO whop_customers (whop_user_id, user_id, team_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (whop_user_id) DO NOTHING",
        )
        .bind(&customer.whop_user_id)
        .bind(customer.user_id.0)
        .bind(customer.team_id.0)
        .bind(customer.created_at.0)
        .execute(self.writer())
        .await
        .map_err(write_error)?;
        Ok(())
    }

    #[tracing::instrument(name = "store.whop_membership", level = "debug", skip_all)]
    async fn whop_membership(
        &self,
        membership_id: &str,
    ) -> Result<Option<WhopMembership>, StoreError> {
        let row: Option<MembershipRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {MEMBERSHIP_COLUMNS} FROM whop_memberships WHERE membership_id = $1"
        )))
        .bind(membership_id)
        .fetch_optional(self.reader())
        .await?;
        row.map(MembershipRow::into_membership).transpose()
    }

    #[tracing::instrument(name = "store.save_whop_membership", level = "debug", skip_all)]
    async fn save_whop_membership(&self, m: &WhopMembership) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO whop_memberships (membership_id, team_id, whop_user_id, plan, active, \
             status, renewal_at, state_at, payment_at, grace_deadline, lapsed, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (membership_id) DO UPDATE SET team_id = excluded.team_id, \
             whop_user_id = excluded.whop_user_id, plan = excluded.plan, \
             active = excluded.active, status = excluded.status, \
             renewal_at = excluded.renewal_at, state_at = excluded.state_at, \
             payment_at = excluded.payment_at, grace_deadline = excluded.grace_deadline, \
             lapsed = excluded.lapsed, updated_at = excluded.updated_at",
        )
        .bind(&m.membership_id)
        .bind(m.team_id.map(|team| team.0))
        .bind(&m.whop_user_id)
        .bind(m.plan.as_str())
        .bind(m.active)
        .bind(&m.status)
        .bind(m.renewal_at.map(|at| at.0))
        .bind(m.state_at.0)
        .bind(m.payment_at.map(|at| at.0))
        .bind(m.grace_deadline.map(|at| at.0))
        .bind(m.lapsed)
        .bind(m.updated_at.0)
        .execute(self.writer())
        .await
        .map_err(write_error)?;
        Ok(())
    }

    #[tracing::instrument(name = "store.team_whop_memberships", level = "debug", skip_all)]
    async fn team_whop_memberships(&self, team: TeamId) -> Result<Vec<WhopMembership>, StoreError> {
        let rows: Vec<MembershipRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {MEMBERSHIP_COLUMNS} FROM whop_memberships WHERE team_id = $1 \
             ORDER BY state_at DESC, membership_id"
        )))
        .bind(team.0)
        .fetch_all(self.reader())
        .await?;
        memberships(rows)
    }

    #[tracing::instrument(name = "store.lapsing_whop_memberships", level = "debug", skip_all)]
    async fn lapsing_whop_memberships(
        &self,
        now: Timestamp,
    ) -> Result<Vec<WhopMembership>, StoreError> {
        let rows: Vec<MembershipRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {MEMBERSHIP_COLUMNS} FROM whop_memberships \
             WHERE grace_deadline IS NOT NULL AND NOT lapsed AND grace_deadline <= $1 AND active \
             ORDER BY grace_deadline, membership_id"
        )))
        .bind(now.0)
        .fetch_all(self.reader())
        .await?;
        memberships(rows)
    }

    #[tracing::instrument(name = "store.billing_history", level = "debug", skip_all)]
    async fn billing_history(
        &self,
        team: TeamId,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, team_id, actor_user_id, actor_api_key_id, actor_label, action, target, \
             CAST(details AS TEXT) AS details, at FROM audit_log WHERE team_id = $1 \
             AND (action = 'plan.changed' OR action LIKE 'billing.%') \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(team.0)
        .bind(clamp_limit(limit, MAX_LOG_PAGE))
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(AuditRow::into_record).collect()
    }
}
