//! Account rows as both backends read them, and their conversion to the models in `accounts`: the
//! one place that knows how a role, a key scope or a plan is spelled in a column.

use crate::accounts::{
    Actor, ApiKey, AuditRecord, Credentials, Invitation, Member, Membership, SecurityEventRecord,
    Session, Team, User,
};
use crate::error::{Conflict, StoreError};
use crate::rows::write_error;
use watchtower_core::{
    ApiKeyId, ApiKeyScope, InvitationId, Plan, Role, SessionId, TeamId, Timestamp, UserId,
};

/// Audit and security event pages are at most this long (a `limit` of 0 asks for this many).
pub(crate) const MAX_LOG_PAGE: u32 = 1_000;

// Column lists in the order of the row structs below, the same text for both backends.
pub(crate) const USER_COLUMNS: &str = "id, email, name, is_admin, created_at, last_seen_at";
pub(crate) const SESSION_COLUMNS: &str = "id, user_id, created_at, expires_at";
pub(crate) const TEAM_COLUMNS: &str = "id, name, plan, created_at";
pub(crate) const INVITATION_COLUMNS: &str =
    "id, team_id, email, role, invited_by, created_at, expires_at, accepted_at";
pub(crate) const API_KEY_COLUMNS: &str =
    "id, team_id, name, scope, prefix, created_by, created_at, last_used_at, revoked_at";
/// A key works only while the person who created it is still a member of its team (keys made
/// without a person, by the CLI, have no creator). Removal revokes such keys too; this holds
/// even for a key a removal missed.
pub(crate) const CREATOR_IS_MEMBER: &str = "(api_keys.created_by IS NULL OR EXISTS (SELECT 1 \
     FROM memberships m WHERE m.team_id = api_keys.team_id AND m.user_id = api_keys.created_by))";

pub(crate) const SECURITY_EVENT_COLUMNS: &str = "id, kind, email_key, user_id, ip, detail, at";

/// `NotFound` when a write that names one row changed none.
pub(crate) fn found(rows_affected: u64) -> Result<(), StoreError> {
    if rows_affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// [`write_error`], with the conflict told as this write's `field` and `problem`.
pub(crate) fn conflict_means(
    field: &'static str,
    problem: &'static str,
) -> impl Fn(sqlx::Error) -> StoreError {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(Conflict::new(field, problem))
        }
        _ => write_error(error),
    }
}

pub(crate) fn parse_role(text: &str) -> Result<Role, StoreError> {
    Role::parse(text).map_err(StoreError::Corrupt)
}

fn parse_plan(text: &str) -> Result<Plan, StoreError> {
    Plan::parse(text).map_err(StoreError::Corrupt)
}

fn parse_scope(text: &str) -> Result<ApiKeyScope, StoreError> {
    ApiKeyScope::parse(text).map_err(StoreError::Corrupt)
}

/// A `users` row without the password hash.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct UserRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: UserId(row.id),
            email: row.email,
            name: row.name,
            is_admin: row.is_admin,
            created_at: Timestamp(row.created_at),
            last_seen_at: row.last_seen_at.map(Timestamp),
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CredentialsRow {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub password_hash: String,
}

impl From<CredentialsRow> for Credentials {
    fn from(row: CredentialsRow) -> Self {
        Credentials {
            user: row.user.into(),
            password_hash: row.password_hash,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

impl From<SessionRow> for Session {
    fn from(row: SessionRow) -> Self {
        Session {
            id: SessionId(row.id),
            user_id: UserId(row.user_id),
            created_at: Timestamp(row.created_at),
            expires_at: Timestamp(row.expires_at),
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TeamRow {
    pub id: i64,
    pub name: String,
    pub plan: String,
    pub created_at: i64,
}

impl TeamRow {
    pub fn into_team(self) -> Result<Team, StoreError> {
        Ok(Team {
            id: TeamId(self.id),
            name: self.name,
            plan: parse_plan(&self.plan)?,
            created_at: Timestamp(self.created_at),
        })
    }
}

/// A team joined with one member's `memberships` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct MembershipRow {
    #[sqlx(flatten)]
    pub team: TeamRow,
    pub role: String,
}

impl MembershipRow {
    pub fn into_membership(self) -> Result<Membership, StoreError> {
        Ok(Membership {
            role: parse_role(&self.role)?,
            team: self.team.into_team()?,
        })
    }
}

/// A `memberships` row joined with its user.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct MemberRow {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub joined_at: i64,
}

impl MemberRow {
    pub fn into_member(self) -> Result<Member, StoreError> {
        Ok(Member {
            user_id: UserId(self.user_id),
            email: self.email,
            name: self.name,
            role: parse_role(&self.role)?,
            joined_at: Timestamp(self.joined_at),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct InvitationRow {
    pub id: i64,
    pub team_id: i64,
    pub email: String,
    pub role: String,
    pub invited_by: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
}

impl InvitationRow {
    pub fn into_invitation(self) -> Result<Invitation, StoreError> {
        Ok(Invitation {
            id: InvitationId(self.id),
            team_id: TeamId(self.team_id),
            email: self.email,
            role: parse_role(&self.role)?,
            invited_by: UserId(self.invited_by),
            created_at: Timestamp(self.created_at),
            expires_at: Timestamp(self.expires_at),
            accepted_at: self.accepted_at.map(Timestamp),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ApiKeyRow {
    pub id: i64,
    pub team_id: i64,
    pub name: String,
    pub scope: String,
    pub prefix: String,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl ApiKeyRow {
    pub fn into_api_key(self) -> Result<ApiKey, StoreError> {
        Ok(ApiKey {
            id: ApiKeyId(self.id),
            team_id: TeamId(self.team_id),
            name: self.name,
            scope: parse_scope(&self.scope)?,
            prefix: self.prefix,
            created_by: self.created_by.map(UserId),
            created_at: Timestamp(self.created_at),
            last_used_at: self.last_used_at.map(Timestamp),
            revoked_at: self.revoked_at.map(Timestamp),
        })
    }
}

/// An `audit_log` row, `details` read as JSON text.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AuditRow {
    pub id: i64,
    pub team_id: i64,
    pub actor_user_id: Option<i64>,
    pub actor_api_key_id: Option<i64>,
    pub actor_label: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub at: i64,
}

impl AuditRow {
    pub fn into_record(self) -> Result<AuditRecord, StoreError> {
        Ok(AuditRecord {
            id: self.id,
            team_id: TeamId(self.team_id),
            actor: Actor {
                user_id: self.actor_user_id.map(UserId),
                api_key_id: self.actor_api_key_id.map(ApiKeyId),
                label: self.actor_label,
            },
            action: self.action,
            target: self.target,
            details: serde_json::from_str(&self.details)
                .map_err(|e| StoreError::Corrupt(format!("audit details: {e}")))?,
            at: Timestamp(self.at),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SecurityEventRow {
    pub id: i64,
    pub kind: String,
    pub email_key: Option<String>,
    pub user_id: Option<i64>,
    pub ip: Option<String>,
    pub detail: String,
    pub at: i64,
}

impl From<SecurityEventRow> for SecurityEventRecord {
    fn from(row: SecurityEventRow) -> Self {
        SecurityEventRecord {
            id: row.id,
            kind: row.kind,
            email_key: row.email_key,
            user_id: row.user_id.map(UserId),
            ip: row.ip,
            detail: row.detail,
            at: Timestamp(row.at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_role_scope_or_plan_the_code_does_not_know_is_corrupt() {
        let member = MemberRow {
            user_id: 1,
            email: "a@example.com".into(),
            name: "A".into(),
            role: "superuser".into(),
            joined_at: 0,
        };
        assert!(matches!(member.into_member(), Err(StoreError::Corrupt(_))));
        let team = TeamRow {
            id: 1,
            name: "T".into(),
            plan: "gold".into(),
            created_at: 0,
        };
        assert!(matches!(team.into_team(), Err(StoreError::Corrupt(_))));
        assert!(matches!(parse_scope("admin"), Err(StoreError::Corrupt(_))));
    }
}
