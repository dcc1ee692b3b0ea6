//! Alerting: channels, rules, the outbox's claims and the delivery log.

use super::{DbConnection, DbStore, dialect};
use crate::account_rows::found;
use crate::alerting::*;
use crate::alerting_rows::*;
use crate::error::StoreError;
use crate::json::JsonText;
use crate::rows::clamp_limit;
use async_trait::async_trait;
use serde_json::Value;
use watchtower_core::maintenance::MaintenanceSpec;
use watchtower_core::monitor::DependencyRef;
use watchtower_core::{
    AlertRuleId, ChannelId, EscalationPolicyId, MaintenanceWindowId, MonitorId, MonitorState,
    NotificationId, TeamId, Timestamp,
};

const MAX_PAGE: u32 = 500;

/// `NotFound` unless every one of `channels` is the team's.
async fn check_channels_owned(
    conn: &mut DbConnection,
    team: TeamId,
    channels: &[ChannelId],
) -> Result<(), StoreError> {
    for channel in channels {
        check_owned(conn, "channels", channel.0, team).await?;
    }
    Ok(())
}

/// `NotFound` unless row `id` of `table` (a fixed name, never input) is the team's.
async fn check_owned(
    conn: &mut DbConnection,
    table: &'static str,
    id: i64,
    team: TeamId,
) -> Result<(), StoreError> {
    let sql = format!("SELECT id FROM {table} WHERE id = $1 AND team_id = $2");
    let owned: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(team.0)
        .fetch_optional(conn)
        .await?;
    owned.map(|_| ()).ok_or(StoreError::NotFound)
}

/// `NotFound` unless every channel, the monitor and the escalation policy `rule` names are its
/// team's.
async fn check_rule_references(conn: &mut DbConnection, rule: &NewRule) -> Result<(), StoreError> {
    check_channels_owned(conn, rule.team_id, &rule.channel_ids).await?;
    if let Some(policy) = rule.escalation_policy_id {
        check_owned(conn, "escalation_policies", policy.0, rule.team_id).await?;
    }
    if let Some(monitor) = rule.monitor_id {
        check_owned(conn, "monitors", monitor.0, rule.team_id).await?;
    }
    Ok(())
}

/// A rule's list columns as stored: events, channel ids, and causes (`NULL` for every cause).
fn rule_lists(rule: &NewRule) -> (JsonText, JsonText, Option<JsonText>) {
    (
        JsonText(serde_json::to_string(&rule.events).expect("strings serialize")),
        JsonText(serde_json::to_string(&rule.channel_ids).expect("ids serialize")),
        (!rule.causes.is_empty())
            .then(|| JsonText(serde_json::to_string(&rule.causes).expect("strings serialize"))),
    )
}

/// Makes the team's notifications held by a maintenance window due now, so the dispatcher
/// decides them again against the windows as they are after a change.
async fn release_held(
    conn: &mut DbConnection,
    team: TeamId,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE notifications SET next_attempt_at = $1 WHERE team_id = $2 AND status = 'pending' \
         AND next_attempt_at > $3 AND last_error LIKE 'held by maintenance window%'",
    )
    .bind(now.0)
    .bind(team.0)
    .bind(now.0)
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl AlertStore for DbStore {
    #[tracing::instrument(name = "store.create_channel", level = "debug", skip_all)]
    async fn create_channel(
        &self,
        team: TeamId,
        name: &str,
        kind: &str,
        config: &Value,
        now: Timestamp,
    ) -> Result<Channel, StoreError> {
        let sql = format!(
            "INSERT INTO channels (team_id, name, kind, config, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {CHANNEL_COLUMNS}"
        );
        let row: ChannelRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(team.0)
            .bind(name)
            .bind(kind)
            .bind(JsonText(config.to_string()))
            .bind(now.0)
            .bind(now.0)
            .fetch_one(self.writer())
            .await?;
        row.into_channel()
    }

    #[tracing::instrument(name = "store.channels", level = "debug", skip_all)]
    async fn channels(&self, team: TeamId) -> Result<Vec<Channel>, StoreError> {
        let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE team_id = $1 ORDER BY id");
        let rows: Vec<ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(team.0)
            .fetch_all(self.reader())
            .await?;
        rows.into_iter().map(ChannelRow::into_channel).collect()
    }

    #[tracing::instrument(name = "store.get_channel", level = "debug", skip_all)]
    async fn get_channel(
        &self,
        team: TeamId,
        id: ChannelId,
    ) -> Result<Option<Channel>, StoreError> {
        let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1 AND team_id = $2");
        let row: Option<ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id.0)
            .bind(team.0)
            .fetch_optional(self.reader())
            .await?;
        row.map(ChannelRow::into_channel).transpose()
    }

    #[tracing::instrument(name = "store.update_channel", level = "debug", skip_all)]
    async fn update_channel(
        &self,
        team: TeamId,
        id: ChannelId,
        name: &str,
        config: &Value,
        now: Timestamp,
    ) -> Result<Channel, StoreError> {
        let sql = format!(
            "UPDATE channels SET name = $1, config = $2, updated_at = $3 WHERE id = $4 AND team_id = $5 \
             RETURNING {CHANNEL_COLUMNS}"
        );
        let row: Option<ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .bind(JsonText(config.to_string()))
            .bind(now.0)
            .bind(id.0)
            .bind(team.0)
            .fetch_optional(self.writer())
            .await?;
        row.ok_or(StoreError::NotFound)?.into_channel()
    }

    #[tracing::instrument(name = "store.delete_channel", level = "debug", skip_all)]
    async fn delete_channel(&self, team: TeamId, id: ChannelId) -> Result<(), StoreError> {
        let deleted = sqlx::query("DELETE FROM channels WHERE id = $1 AND team_id = $2")
            .bind(id.0)
            .bind(team.0)
            .execute(self.writer())
            .await?
            .rows_affected();
        found(deleted)
    }

    #[tracing::instrument(name = "store.create_escalation_policy", level = "debug", skip_all)]
    async fn create_escalation_policy(
        &self,
        team: TeamId,
        name: &str,
        steps: &[EscalationStep],
        now: Timestamp,
    ) -> Result<EscalationPolicy, StoreError> {
        let mut tx = self.begin_write().await?;
        for step in steps {
            check_channels_owned(&mut tx, team, &step.channel_ids).await?;
        }
        let row: PolicyRow = sqlx::query_as(
            "INSERT INTO escalation_policies (team_id, name, steps, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id, team_id, name, CAST(steps AS TEXT) AS steps, created_at",
        )
        .bind(team.0)
        .bind(name)
        .bind(JsonText(
            serde_json::to_string(steps).expect("steps serialize"),
        ))
        .bind(now.0)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        row.into_policy()
    }

    #[tracing::instrument(name = "store.escalation_policies", level = "debug", skip_all)]
    async fn escalation_policies(&self, team: TeamId) -> Result<Vec<EscalationPolicy>, StoreError> {
        let rows: Vec<PolicyRow> = sqlx::query_as(
            "SELECT id, team_id, name, CAST(steps AS TEXT) AS steps, created_at FROM escalation_policies \
             WHERE team_id = $1 ORDER BY id",
        )
        .bind(team.0)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(PolicyRow::into_policy).collect()
    }

    #[tracing::instrument(name = "store.update_escalation_policy", level = "debug", skip_all)]
    async fn update_escalation_policy(
        &self,
        team: TeamId,
        id: EscalationPolicyId,
        name: &str,
        steps: &[EscalationStep],
    ) -> Result<EscalationPolicy, StoreError> {
        let mut tx = self.begin_write().await?;
        for step in steps {
            check_channels_owned(&mut tx, team, &step.channel_ids).await?;
        }
        let row: Option<PolicyRow> = sqlx::query_as(
            "UPDATE escalation_policies SET name = $1, steps = $2 WHERE id = $3 AND team_id = $4 \
             RETURNING id, team_id, name, CAST(steps AS TEXT) AS steps, created_at",
        )
        .bind(name)
        .bind(JsonText(
            serde_json::to_string(steps).expect("steps serialize"),
        ))
        .bind(id.0)
        .bind(team.0)
        .fetch_optional(&mut *tx)
        .await?;
        let row = row.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        row.into_policy()
    }

    #[tracing::instrument(name = "store.delete_escalation_policy", level = "debug", skip_all)]
    async fn delete_escalation_policy(
        &self,
        team: TeamId,
        id: EscalationPolicyId,
    ) -> Result<(), StoreError> {
        let deleted = sqlx::query("DELETE FROM escalation_policies WHERE id = $1 AND team_id = $2")
            .bind(id.0)
            .bind(team.0)
            .execute(self.writer())
            .await?
            .rows_affected();
        found(deleted)
    }

    #[tracing::instrument(name = "store.create_rule", level = "debug", skip_all)]
    async fn create_rule(&self, rule: &NewRule) -> Result<AlertRule, StoreError> {
        let mut tx = self.begin_write().await?;
        check_rule_references(&mut tx, rule).await?;
        let (events, channel_ids, causes) = rule_lists(rule);
        let sql = format!(
            "INSERT INTO alert_rules (team_id, name, monitor_id, tag, events, channel_ids, created_at, \
             remind_every_ms, escalation_policy_id, causes, certificate_days) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {RULE_COLUMNS}"
        );
        let row: RuleRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(rule.team_id.0)
            .bind(&rule.name)
            .bind(rule.monitor_id.map(|m| m.0))
            .bind(rule.tag.as_deref())
            .bind(events)
            .bind(channel_ids)
            .bind(rule.created_at.0)
            .bind(rule.remind_every.map(|every| every.as_millis() as i64))
            .bind(rule.escalation_policy_id.map(|policy| policy.0))
            .bind(causes)
            .bind(rule.certificate_days.map(i64::from))
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        row.into_rule()
    }

    #[tracing::instrument(name = "store.update_rule", level = "debug", skip_all)]
    async fn update_rule(&self, id: AlertRuleId, rule: &NewRule) -> Result<AlertRule, StoreError> {
        let mut tx = self.begin_write().await?;
        check_rule_references(&mut tx, rule).await?;
        let (events, channel_ids, causes) = rule_lists(rule);
        let sql = format!(
            "UPDATE alert_rules SET name = $1, monitor_id = $2, tag = $3, events = $4, \
             channel_ids = $5, remind_every_ms = $6, escalation_policy_id = $7, causes = $8, \
             certificate_days = $9 WHERE id = $10 AND team_id = $11 RETURNING {RULE_COLUMNS}"
        );
        let row: Option<RuleRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&rule.name)
            .bind(rule.monitor_id.map(|m| m.0))
            .bind(rule.tag.as_deref())
            .bind(events)
            .bind(channel_ids)
            .bind(rule.remind_every.map(|every| every.as_millis() as i64))
            .bind(rule.escalation_policy_id.map(|policy| policy.0))
            .bind(causes)
            .bind(rule.certificate_days.map(i64::from))
            .bind(id.0)
            .bind(rule.team_id.0)
            .fetch_optional(&mut *tx)
            .await?;
        let row = row.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        row.into_rule()
    }

    #[tracing::instrument(name = "store.rules", level = "debug", skip_all)]
    async fn rules(&self, team: TeamId) -> Result<Vec<AlertRule>, StoreError> {
        let sql = format!("SELECT {RULE_COLUMNS} FROM alert_rules WHERE team_id = $1 ORDER BY id");
        let rows: Vec<RuleRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(team.0)
            .fetch_all(self.reader())
            .await?;
        rows.into_iter().map(RuleRow::into_rule).collect()
    }

    #[tracing::instrument(name = "store.delete_rule", level = "debug", skip_all)]
    async fn delete_rule(&self, team: TeamId, id: AlertRuleId) -> Result<(), StoreError> {
        let deleted = sqlx::query("DELETE FROM alert_rules WHERE id = $1 AND team_id = $2")
            .bind(id.0)
            .bind(team.0)
            .execute(self.writer())
            .await?
            .rows_affected();
        found(deleted)
    }

    #[tracing::instrument(name = "store.enqueue_test_notification", level = "debug", skip_all)]
    async fn enqueue_test_notification(
        &self,
        team: TeamId,
        channel: ChannelId,
        now: Timestamp,
    ) -> Result<NotificationId, StoreError> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO notifications (team_id, channel_id, event, status, next_attempt_at, \
             created_at) SELECT team_id, id, 'test', 'pending', $1, $2 FROM channels \
             WHERE id = $3 AND team_id = $4 RETURNING id",
        )
        .bind(now.0)
        .bind(now.0)
        .bind(channel.0)
        .bind(team.0)
        .fetch_optional(self.writer())
        .await?;
        id.map(NotificationId).ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(name = "store.enqueue_reminder", level = "debug", skip_all)]
    async fn enqueue_reminder(
        &self,
        after: &DueNotification,
        due: Timestamp,
    ) -> Result<NotificationId, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO notifications (team_id, channel_id, monitor_id, incident_id, event, status, \
             attempts, next_attempt_at, created_at, remind_every_ms) \
             VALUES ($1, $2, $3, $4, 'reminder', 'pending', 0, $5, $6, $7) RETURNING id",
        )
        .bind(after.team_id.0)
        .bind(after.channel_id.0)
        .bind(after.monitor_id.map(|m| m.0))
        .bind(after.incident.as_ref().map(|incident| incident.id.0))
        .bind(due.0)
        .bind(due.0)
        .bind(after.remind_every_ms)
        .fetch_one(self.writer())
        .await?;
        Ok(NotificationId(id))
    }

    #[tracing::instrument(name = "store.dependency_states", level = "debug", skip_all)]
    async fn dependency_states(
        &self,
        team: TeamId,
        refs: &[DependencyRef],
    ) -> Result<Vec<DependencyState>, StoreError> {
        let mut states = Vec::new();
        for reference in refs {
            let select = "SELECT m.id, m.name, s.state, s.last_checked_at FROM monitors m \
                          JOIN monitor_status s \
                          ON s.monitor_id = m.id WHERE m.team_id = $1 AND ";
            let row: Option<(i64, String, String, Option<i64>)> = match reference {
                DependencyRef::Id(id) => {
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("{select}m.id = $2")))
                        .bind(team.0)
                        .bind(id.0)
                        .fetch_optional(self.reader())
                        .await?
                }
                DependencyRef::Key(key) => {
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("{select}m.key = $2")))
                        .bind(team.0)
                        .bind(key.as_str())
                        .fetch_optional(self.reader())
                        .await?
                }
            };
            if let Some((id, name, state, last_checked_at)) = row {
                let state = MonitorState::parse(&state)
                    .ok_or_else(|| StoreError::Corrupt(format!("state {state}")))?;
                states.push(DependencyState {
                    id: MonitorId(id),
                    name,
                    state,
                    last_checked_at: last_checked_at.map(Timestamp),
                });
            }
        }
        Ok(states)
    }

    #[tracing::instrument(name = "store.next_notification_due", level = "debug", skip_all)]
    async fn next_notification_due(&self) -> Result<Option<Timestamp>, StoreError> {
        // The partial index `notifications_due` answers this from its first entry.
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM notifications WHERE status = 'pending'",
        )
        .fetch_one(self.reader())
        .await?;
        Ok(at.map(Timestamp))
    }

    #[tracing::instrument(name = "store.claim_notifications", level = "debug", skip_all)]
    async fn claim_notifications(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<DueNotification>, StoreError> {
        let mut tx = self.begin_write().await?;
        // The conditions again outside the subquery: on PostgreSQL a claimer that waited on a row
        // another instance's claimer locked re-checks only these against the row as committed,
        // so the row, now leased into the future, is not claimed a second time.
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE notifications SET next_attempt_at = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM notifications WHERE status = 'pending' \
             AND next_attempt_at <= $2 ORDER BY next_attempt_at, id LIMIT $3) \
             AND status = 'pending' AND next_attempt_at <= $2 RETURNING id",
        )
        .bind(lease_until.0)
        .bind(now.0)
        .bind(clamp_limit(limit, MAX_PAGE))
        .fetch_all(&mut *tx)
        .await?;
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let sql = format!(
            "{DUE_SELECT} WHERE n.id {} ORDER BY n.id",
            dialect::in_ids(1)
        );
        let rows: Vec<DueRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(dialect::id_list(&ids))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.into_iter().map(DueRow::into_due).collect()
    }

    #[tracing::instrument(name = "store.finish_attempt", level = "debug", skip_all)]
    async fn finish_attempt(
        &self,
        id: NotificationId,
        outcome: &AttemptOutcome,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let (status, next, delivered, code, error, not_attempted) = attempt_columns(outcome, at);
        sqlx::query(
            "UPDATE notifications SET status = $1, next_attempt_at = $2, delivered_at = $3, \
             last_status_code = $4, last_error = $5, attempts = attempts - $6 \
             WHERE id = $7 AND status = 'pending'",
        )
        .bind(status)
        .bind(next)
        .bind(delivered)
        .bind(code)
        .bind(error)
        .bind(not_attempted)
        .bind(id.0)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    #[tracing::instrument(name = "store.create_maintenance", level = "debug", skip_all)]
    async fn create_maintenance(
        &self,
        team: TeamId,
        spec: &MaintenanceSpec,
        now: Timestamp,
    ) -> Result<MaintenanceWindow, StoreError> {
        let row: WindowRow = sqlx::query_as(
            "INSERT INTO maintenance_windows (team_id, spec, created_at) VALUES ($1, $2, $3) \
             RETURNING id, team_id, CAST(spec AS TEXT) AS spec, created_at",
        )
        .bind(team.0)
        .bind(JsonText(
            serde_json::to_string(spec).expect("a window serializes"),
        ))
        .bind(now.0)
        .fetch_one(self.writer())
        .await?;
        row.into_window()
    }

    #[tracing::instrument(name = "store.maintenance_windows", level = "debug", skip_all)]
    async fn maintenance_windows(
        &self,
        team: TeamId,
    ) -> Result<Vec<MaintenanceWindow>, StoreError> {
        let rows: Vec<WindowRow> = sqlx::query_as(
            "SELECT id, team_id, CAST(spec AS TEXT) AS spec, created_at FROM maintenance_windows \
             WHERE team_id = $1 ORDER BY id",
        )
        .bind(team.0)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(WindowRow::into_window).collect()
    }

    #[tracing::instrument(name = "store.update_maintenance", level = "debug", skip_all)]
    async fn update_maintenance(
        &self,
        team: TeamId,
        id: MaintenanceWindowId,
        spec: &MaintenanceSpec,
        now: Timestamp,
    ) -> Result<MaintenanceWindow, StoreError> {
        let mut tx = self.begin_write().await?;
        let row: Option<WindowRow> = sqlx::query_as(
            "UPDATE maintenance_windows SET spec = $1 WHERE id = $2 AND team_id = $3 \
             RETURNING id, team_id, CAST(spec AS TEXT) AS spec, created_at",
        )
        .bind(JsonText(
            serde_json::to_string(spec).expect("a window serializes"),
        ))
        .bind(id.0)
        .bind(team.0)
        .fetch_optional(&mut *tx)
        .await?;
        let row = row.ok_or(StoreError::NotFound)?;
        release_held(&mut tx, team, now).await?;
        tx.commit().await?;
        row.into_window()
    }

    #[tracing::instrument(name = "store.delete_maintenance", level = "debug", skip_all)]
    async fn delete_maintenance(
        &self,
        team: TeamId,
        id: MaintenanceWindowId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM maintenance_windows WHERE id = $1 AND team_id = $2")
            .bind(id.0)
            .bind(team.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        found(deleted)?;
        release_held(&mut tx, team, now).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(name = "store.certificate_rules", level = "debug", skip_all)]
    async fn certificate_rules(&self) -> Result<Vec<AlertRule>, StoreError> {
        let sql = format!(
            "SELECT {RULE_COLUMNS} FROM alert_rules WHERE certificate_days IS NOT NULL ORDER BY id"
        );
        let rows: Vec<RuleRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.reader())
            .await?;
        rows.into_iter().map(RuleRow::into_rule).collect()
    }

    #[tracing::instrument(name = "store.monitor_certificates", level = "debug", skip_all)]
    async fn monitor_certificates(
        &self,
        team: TeamId,
    ) -> Result<Vec<MonitorCertificate>, StoreError> {
        let sql = format!(
            "SELECT m.id, m.name, CAST(m.spec AS TEXT) AS spec, \
             CAST(s.last_result AS TEXT) AS last_result \
             FROM monitors m JOIN monitor_status s ON s.monitor_id = m.id \
             WHERE m.team_id = $1 AND NOT m.paused AND {} ORDER BY m.id",
            dialect::HAS_CERTIFICATE
        );
        let rows: Vec<CertificateRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(team.0)
            .fetch_all(self.reader())
            .await?;
        let mut certificates = Vec::with_capacity(rows.len());
        for row in rows {
            certificates.extend(row.into_certificate()?);
        }
        Ok(certificates)
    }

    #[tracing::instrument(name = "store.enqueue_keyed", level = "debug", skip_all)]
    async fn enqueue_keyed(&self, notification: &KeyedNotification) -> Result<bool, StoreError> {
        let queued = sqlx::query(
            "INSERT INTO notifications (team_id, channel_id, monitor_id, event, status, attempts, \
             next_attempt_at, created_at, dedup_key, details) \
             SELECT team_id, id, $1, $2, 'pending', 0, $3, $4, $5, $6 FROM channels \
             WHERE id = $7 AND team_id = $8 ON CONFLICT DO NOTHING",
        )
        .bind(notification.monitor_id.map(|m| m.0))
        .bind(notification.event.as_str())
        .bind(notification.due.0)
        .bind(notification.due.0)
        .bind(&notification.dedup_key)
        .bind(JsonText(notification.details.to_string()))
        .bind(notification.channel_id.0)
        .bind(notification.team_id.0)
        .execute(self.writer())
        .await?
        .rows_affected();
        Ok(queued == 1)
    }

    #[tracing::instrument(name = "store.link_secret", level = "debug", skip_all)]
    async fn link_secret(&self) -> Result<String, StoreError> {
        let mut candidate = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut candidate);
        // The first instance to ask stores its candidate; everyone reads back the stored one.
        sqlx::query(
            "INSERT INTO instance_settings (name, value) VALUES ('link_secret', $1) \
             ON CONFLICT DO NOTHING",
        )
        .bind(
            candidate
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
        )
        .execute(self.writer())
        .await?;
        let secret: String =
            sqlx::query_scalar("SELECT value FROM instance_settings WHERE name = 'link_secret'")
                .fetch_one(self.writer())
                .await?;
        Ok(secret)
    }

    #[tracing::instrument(name = "store.notifications", level = "debug", skip_all)]
    async fn notifications(
        &self,
        team: TeamId,
        before: Option<NotificationId>,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let sql = format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE team_id = $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        );
        let rows: Vec<NotificationRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(team.0)
            .bind(before.map_or(i64::MAX, |id| id.0))
            .bind(clamp_limit(limit, MAX_PAGE))
            .fetch_all(self.reader())
            .await?;
        rows.into_iter().map(NotificationRecord::try_from).collect()
    }
}
