//! Accounts: users, sessions, teams and members, invitations, API keys, the audit log
//! and security events.

use super::DbStore;
use crate::account_rows::*;
use crate::accounts::*;
use crate::error::StoreError;
use crate::json::JsonText;
use crate::rows::{clamp_limit, write_error};
use async_trait::async_trait;
use watchtower_core::{ApiKeyId, InvitationId, Plan, Role, SessionId, TeamId, Timestamp, UserId};

#[async_trait]
impl AccountStore for DbStore {
    #[tracing::instrument(name = "store.create_user", level = "debug", skip_all)]
    async fn create_user(&self, new: &NewUser) -> Result<User, StoreError> {
        let row: UserRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO users (email, email_key, name, password_hash, is_admin, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {USER_COLUMNS}"
        )))
        .bind(&new.email)
        .bind(&new.email_key)
        .bind(&new.name)
        .bind(&new.password_hash)
        .bind(new.is_admin)
        .bind(new.created_at.0)
        .fetch_one(self.writer())
        .await
        .map_err(conflict_means("email", "an account with this email exists"))?;
        Ok(row.into())
    }

    #[tracing::instrument(name = "store.user_count", level = "debug", skip_all)]
    async fn user_count(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(self.reader())
            .await?;
        Ok(count as u64)
    }

    #[tracing::instrument(name = "store.get_user", level = "debug", skip_all)]
    async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(self.reader())
        .await?;
        Ok(row.map(User::from))
    }

    #[tracing::instrument(name = "store.user_by_email", level = "debug", skip_all)]
    async fn user_by_email(&self, email_key: &str) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email_key = $1"
        )))
        .bind(email_key)
        .fetch_optional(self.reader())
        .await?;
        Ok(row.map(User::from))
    }

    #[tracing::instrument(name = "store.credentials", level = "debug", skip_all)]
    async fn credentials(&self, email_key: &str) -> Result<Option<Credentials>, StoreError> {
        let row: Option<CredentialsRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE email_key = $1"
        )))
        .bind(email_key)
        .fetch_optional(self.reader())
        .await?;
        Ok(row.map(Credentials::from))
    }

    #[tracing::instrument(name = "store.set_password", level = "debug", skip_all)]
    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        keep: Option<SessionId>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        found(updated.rows_affected())?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id IS DISTINCT FROM $2")
            .bind(user.0)
            .bind(keep.map(|session| session.0))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(name = "store.create_session", level = "debug", skip_all)]
    async fn create_session(&self, new: &NewSession) -> Result<Session, StoreError> {
        let row: SessionRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {SESSION_COLUMNS}"
        )))
        .bind(&new.token_hash)
        .bind(new.user_id.0)
        .bind(new.created_at.0)
        .bind(new.expires_at.0)
        .bind(&new.ip)
        .bind(&new.user_agent)
        .fetch_one(self.writer())
        .await
        .map_err(write_error)?;
        Ok(row.into())
    }

    #[tracing::instrument(name = "store.find_session", level = "debug", skip_all)]
    async fn find_session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Session>, StoreError> {
        let row: Option<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1 AND expires_at > $2"
        )))
        .bind(token_hash)
        .bind(now.0)
        .fetch_optional(self.reader())
        .await?;
        Ok(row.map(Session::from))
    }

    #[tracing::instrument(name = "store.delete_session", level = "debug", skip_all)]
    async fn delete_session(&self, id: SessionId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.0)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    #[tracing::instrument(name = "store.delete_expired_sessions", level = "debug", skip_all)]
    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        let deleted = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now.0)
            .execute(self.writer())
            .await?;
        Ok(deleted.rows_affected())
    }

    #[tracing::instrument(name = "store.create_team", level = "debug", skip_all)]
    async fn create_team(
        &self,
        name: &str,
        plan: Plan,
        owner: UserId,
        now: Timestamp,
    ) -> Result<Team, StoreError> {
        let mut tx = self.begin_write().await?;
        let row: TeamRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO teams (name, plan, created_at) VALUES ($1, $2, $3) RETURNING {TEAM_COLUMNS}"
        )))
        .bind(name)
        .bind(plan.as_str())
        .bind(now.0)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO memberships (team_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(row.id)
        .bind(owner.0)
        .bind(Role::Owner.as_str())
        .bind(now.0)
        .execute(&mut *tx)
        .await
        .map_err(write_error)?;
        tx.commit().await?;
        row.into_team()
    }

    #[tracing::instrument(name = "store.get_team", level = "debug", skip_all)]
    async fn get_team(&self, id: TeamId) -> Result<Option<Team>, StoreError> {
        let row: Option<TeamRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {TEAM_COLUMNS} FROM teams WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(self.reader())
        .await?;
        row.map(TeamRow::into_team).transpose()
    }

    #[tracing::instrument(name = "store.rename_team", level = "debug", skip_all)]
    async fn rename_team(&self, id: TeamId, name: &str) -> Result<Team, StoreError> {
        let row: Option<TeamRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE teams SET name = $1 WHERE id = $2 RETURNING {TEAM_COLUMNS}"
        )))
        .bind(name)
        .bind(id.0)
        .fetch_optional(self.writer())
        .await?;
        row.ok_or(StoreError::NotFound)?.into_team()
    }

    #[tracing::instrument(name = "store.set_team_plan", level = "debug", skip_all)]
    async fn set_team_plan(&self, id: TeamId, plan: Plan) -> Result<Team, StoreError> {
        let row: Option<TeamRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE teams SET plan = $1 WHERE id = $2 RETURNING {TEAM_COLUMNS}"
        )))
        .bind(plan.as_str())
        .bind(id.0)
        .fetch_optional(self.writer())
        .await?;
        row.ok_or(StoreError::NotFound)?.into_team()
    }

    #[tracing::instrument(name = "store.delete_team", level = "debug", skip_all)]
    async fn delete_team(&self, id: TeamId) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        // Raw results and rollups have no foreign key: delete them through the team's monitors
        // (their primary keys lead with monitor_id; a team_id filter would scan whole tables).
        // Everything else goes with the team by cascade: monitors with their status, incidents
        // and events, then memberships, invitations, keys and the audit log.
        for sql in [
            "DELETE FROM results WHERE monitor_id IN (SELECT id FROM monitors WHERE team_id = $1)",
            "DELETE FROM rollups_minute WHERE monitor_id IN (SELECT id FROM monitors WHERE team_id = $1)",
            "DELETE FROM rollups_hour WHERE monitor_id IN (SELECT id FROM monitors WHERE team_id = $1)",
            "DELETE FROM rollups_day WHERE monitor_id IN (SELECT id FROM monitors WHERE team_id = $1)",
        ] {
            sqlx::query(sql).bind(id.0).execute(&mut *tx).await?;
        }
        let deleted = sqlx::query("DELETE FROM teams WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        found(deleted.rows_affected())?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(name = "store.teams_of", level = "debug", skip_all)]
    async fn teams_of(&self, user: UserId) -> Result<Vec<Membership>, StoreError> {
        let rows: Vec<MembershipRow> = sqlx::query_as(
            "SELECT t.id, t.name, t.plan, t.created_at, m.role FROM memberships m \
             JOIN teams t ON t.id = m.team_id WHERE m.user_id = $1 ORDER BY t.id",
        )
        .bind(user.0)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(MembershipRow::into_membership)
            .collect()
    }

    #[tracing::instrument(name = "store.role_of", level = "debug", skip_all)]
    async fn role_of(&self, team: TeamId, user: UserId) -> Result<Option<Role>, StoreError> {
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM memberships WHERE team_id = $1 AND user_id = $2")
                .bind(team.0)
                .bind(user.0)
                .fetch_optional(self.reader())
                .await?;
        role.as_deref().map(parse_role).transpose()
    }

    #[tracing::instrument(name = "store.members", level = "debug", skip_all)]
    async fn members(&self, team: TeamId) -> Result<Vec<Member>, StoreError> {
        let rows: Vec<MemberRow> = sqlx::query_as(
            "SELECT u.id AS user_id, u.email, u.name, m.role, m.joined_at FROM memberships m \
             JOIN users u ON u.id = m.user_id WHERE m.team_id = $1 ORDER BY m.joined_at, u.id",
        )
        .bind(team.0)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(MemberRow::into_member).collect()
    }

    #[tracing::instrument(name = "store.add_member", level = "debug", skip_all)]
    async fn add_member(
        &self,
        team: TeamId,
        user: UserId,
        role: Role,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO memberships (team_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(team.0)
        .bind(user.0)
        .bind(role.as_str())
        .bind(now.0)
        .execute(self.writer())
        .await
        .map_err(conflict_means("user", "already a member of this team"))?;
        Ok(())
    }

    #[tracing::instrument(name = "store.set_member_role", level = "debug", skip_all)]
    async fn set_member_role(
        &self,
        team: TeamId,
        user: UserId,
        role: Role,
    ) -> Result<(), StoreError> {
        let updated =
            sqlx::query("UPDATE memberships SET role = $1 WHERE team_id = $2 AND user_id = $3")
                .bind(role.as_str())
                .bind(team.0)
                .bind(user.0)
                .execute(self.writer())
                .await?;
        found(updated.rows_affected())
    }

    #[tracing::instrument(name = "store.remove_member", level = "debug", skip_all)]
    async fn remove_member(
        &self,
        team: TeamId,
        user: UserId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM memberships WHERE team_id = $1 AND user_id = $2")
            .bind(team.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        found(deleted.rows_affected())?;
        sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 \
             WHERE team_id = $2 AND created_by = $3 AND revoked_at IS NULL",
        )
        .bind(now.0)
        .bind(team.0)
        .bind(user.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(name = "store.create_invitation", level = "debug", skip_all)]
    async fn create_invitation(&self, new: &NewInvitation) -> Result<Invitation, StoreError> {
        let row: InvitationRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO invitations (team_id, email, role, token_hash, invited_by, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {INVITATION_COLUMNS}"
        )))
        .bind(new.team_id.0)
        .bind(&new.email)
        .bind(new.role.as_str())
        .bind(&new.token_hash)
        .bind(new.invited_by.0)
        .bind(new.created_at.0)
        .bind(new.expires_at.0)
        .fetch_one(self.writer())
        .await
        .map_err(write_error)?;
        row.into_invitation()
    }

    #[tracing::instrument(name = "store.invitations", level = "debug", skip_all)]
    async fn invitations(
        &self,
        team: TeamId,
        now: Timestamp,
    ) -> Result<Vec<Invitation>, StoreError> {
        let rows: Vec<InvitationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE team_id = $1 \
             AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2 ORDER BY id DESC"
        )))
        .bind(team.0)
        .bind(now.0)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(InvitationRow::into_invitation)
            .collect()
    }

    #[tracing::instrument(name = "store.revoke_invitation", level = "debug", skip_all)]
    async fn revoke_invitation(&self, team: TeamId, id: InvitationId) -> Result<(), StoreError> {
        let revoked = sqlx::query(
            "UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND team_id = $3 \
             AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        // The contract passes no time here; revoked_at is only a record, nothing compares it.
        .bind(Timestamp::now().0)
        .bind(id.0)
        .bind(team.0)
        .execute(self.writer())
        .await?;
        found(revoked.rows_affected())
    }

    #[tracing::instrument(name = "store.find_invitation", level = "debug", skip_all)]
    async fn find_invitation(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Invitation>, StoreError> {
        let row: Option<InvitationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE token_hash = $1 \
             AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2"
        )))
        .bind(token_hash)
        .bind(now.0)
        .fetch_optional(self.reader())
        .await?;
        row.map(InvitationRow::into_invitation).transpose()
    }

    #[tracing::instrument(name = "store.accept_invitation", level = "debug", skip_all)]
    async fn accept_invitation(
        &self,
        token_hash: &str,
        user: UserId,
        now: Timestamp,
    ) -> Result<Invitation, StoreError> {
        let mut tx = self.begin_write().await?;
        // Claiming the invitation and checking it is still pending is one statement, so a link
        // clicked twice at once is used once (on PostgreSQL the second UPDATE waits for the
        // first's row lock, then finds accepted_at set).
        let claimed: Option<InvitationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE invitations SET accepted_at = $1 WHERE token_hash = $2 \
             AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3 \
             RETURNING {INVITATION_COLUMNS}"
        )))
        .bind(now.0)
        .bind(token_hash)
        .bind(now.0)
        .fetch_optional(&mut *tx)
        .await?;
        let invitation = claimed.ok_or(StoreError::NotFound)?.into_invitation()?;
        // On a conflict the transaction is dropped, so the invitation stays pending.
        sqlx::query(
            "INSERT INTO memberships (team_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(invitation.team_id.0)
        .bind(user.0)
        .bind(invitation.role.as_str())
        .bind(now.0)
        .execute(&mut *tx)
        .await
        .map_err(conflict_means("user", "already a member of this team"))?;
        tx.commit().await?;
        Ok(invitation)
    }

    #[tracing::instrument(name = "store.create_api_key", level = "debug", skip_all)]
    async fn create_api_key(&self, new: &NewApiKey) -> Result<ApiKey, StoreError> {
        let row: ApiKeyRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO api_keys (team_id, name, scope, prefix, key_hash, created_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {API_KEY_COLUMNS}"
        )))
        .bind(new.team_id.0)
        .bind(&new.name)
        .bind(new.scope.as_str())
        .bind(&new.prefix)
        .bind(&new.key_hash)
        .bind(new.created_by.map(|user| user.0))
        .bind(new.created_at.0)
        .fetch_one(self.writer())
        .await
        .map_err(write_error)?;
        row.into_api_key()
    }

    #[tracing::instrument(name = "store.find_api_key", level = "debug", skip_all)]
    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let row: Option<ApiKeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL \
             AND {CREATOR_IS_MEMBER}"
        )))
        .bind(key_hash)
        .fetch_optional(self.reader())
        .await?;
        row.map(ApiKeyRow::into_api_key).transpose()
    }

    #[tracing::instrument(name = "store.touch_api_key", level = "debug", skip_all)]
    async fn touch_api_key(&self, id: ApiKeyId, now: Timestamp) -> Result<(), StoreError> {
        let touched = sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
            .bind(now.0)
            .bind(id.0)
            .execute(self.writer())
            .await?;
        found(touched.rows_affected())
    }

    #[tracing::instrument(name = "store.api_keys", level = "debug", skip_all)]
    async fn api_keys(&self, team: TeamId) -> Result<Vec<ApiKey>, StoreError> {
        let rows: Vec<ApiKeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE team_id = $1 ORDER BY id DESC"
        )))
        .bind(team.0)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(ApiKeyRow::into_api_key).collect()
    }

    #[tracing::instrument(name = "store.revoke_api_key", level = "debug", skip_all)]
    async fn revoke_api_key(
        &self,
        team: TeamId,
        id: ApiKeyId,
        now: Timestamp,
    ) -> Result<ApiKey, StoreError> {
        let row: Option<ApiKeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND team_id = $3 \
             AND revoked_at IS NULL RETURNING {API_KEY_COLUMNS}"
        )))
        .bind(now.0)
        .bind(id.0)
        .bind(team.0)
        .fetch_optional(self.writer())
        .await?;
        row.ok_or(StoreError::NotFound)?.into_api_key()
    }

    #[tracing::instrument(name = "store.record_audit", level = "debug", skip_all)]
    async fn record_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (team_id, actor_user_id, actor_api_key_id, actor_label, \
             action, target, details, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(entry.team_id.0)
        .bind(entry.actor.user_id.map(|user| user.0))
        .bind(entry.actor.api_key_id.map(|key| key.0))
        .bind(&entry.actor.label)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(JsonText(entry.details.to_string()))
        .bind(entry.at.0)
        .execute(self.writer())
        .await
        .map_err(write_error)?;
        Ok(())
    }

    #[tracing::instrument(name = "store.audit_log", level = "debug", skip_all)]
    async fn audit_log(
        &self,
        team: TeamId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, team_id, actor_user_id, actor_api_key_id, actor_label, action, target, \
             CAST(details AS TEXT) AS details, at FROM audit_log WHERE team_id = $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(team.0)
        .bind(before.unwrap_or(i64::MAX))
        .bind(clamp_limit(limit, MAX_LOG_PAGE))
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(AuditRow::into_record).collect()
    }

    #[tracing::instrument(name = "store.record_security_event", level = "debug", skip_all)]
    async fn record_security_event(&self, event: &SecurityEvent) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO security_events (kind, email_key, user_id, ip, detail, at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&event.kind)
        .bind(&event.email_key)
        .bind(event.user_id.map(|user| user.0))
        .bind(&event.ip)
        .bind(&event.detail)
        .bind(event.at.0)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    #[tracing::instrument(name = "store.security_events", level = "debug", skip_all)]
    async fn security_events(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<SecurityEventRecord>, StoreError> {
        let rows: Vec<SecurityEventRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {SECURITY_EVENT_COLUMNS} FROM security_events WHERE id < $1 \
             ORDER BY id DESC LIMIT $2"
        )))
        .bind(before.unwrap_or(i64::MAX))
        .bind(clamp_limit(limit, MAX_LOG_PAGE))
        .fetch_all(self.reader())
        .await?;
        Ok(rows.into_iter().map(SecurityEventRecord::from).collect())
    }

    #[tracing::instrument(name = "store.failed_logins_since", level = "debug", skip_all)]
    async fn failed_logins_since(
        &self,
        email_key: Option<&str>,
        ip: Option<&str>,
        since: Timestamp,
    ) -> Result<FailedLogins, StoreError> {
        // The kind is written out so the planner can use the partial indexes; `= NULL` counts
        // nothing.
        let (by_account, by_ip): (i64, i64) = sqlx::query_as(
            "SELECT \
             (SELECT COUNT(*) FROM security_events \
              WHERE kind IN ('login_failed', 'password_change_failed') AND email_key = $1 AND at >= $2), \
             (SELECT COUNT(*) FROM security_events \
              WHERE kind IN ('login_failed', 'password_change_failed') AND ip = $3 AND at >= $2)",
        )
        .bind(email_key)
        .bind(since.0)
        .bind(ip)
        .fetch_one(self.reader())
        .await?;
        Ok(FailedLogins {
            by_account: u32::try_from(by_account).unwrap_or(u32::MAX),
            by_ip: u32::try_from(by_ip).unwrap_or(u32::MAX),
        })
    }
}
