//! People and their access: users, sessions, teams and memberships, invitations, API keys, the
//! audit log and security events. Secrets never reach the store: sessions, invitations and API
//! keys are found by the SHA-256 of their token (hex), passwords are argon2id hashes made by the
//! caller.

use crate::error::StoreError;
use async_trait::async_trait;
use serde::Serialize;
use watchtower_core::{
    ApiKeyId, ApiKeyScope, InvitationId, Plan, Role, SessionId, TeamId, Timestamp, UserId,
};

/// A person who signs in. `email` is stored as given; `email_key` (lowercased) is what is unique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    /// An instance administrator: reads security events and manages every team's plan.
    pub is_admin: bool,
    pub created_at: Timestamp,
    /// When the person last made a request, to the hour (`InstanceStore::touch_user`).
    pub last_seen_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    /// `Email::lookup_key()`; unique across the instance.
    pub email_key: String,
    pub name: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub created_at: Timestamp,
}

/// A user with the hash to verify a password against.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub user_id: UserId,
    pub token_hash: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub plan: Plan,
    pub created_at: Timestamp,
}

/// A team as one of its members sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    pub team: Team,
    pub role: Role,
}

/// A member as the team sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub joined_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub team_id: TeamId,
    pub email: String,
    pub role: Role,
    pub token_hash: String,
    pub invited_by: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Invitation {
    pub id: InvitationId,
    pub team_id: TeamId,
    pub email: String,
    pub role: Role,
    pub invited_by: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub team_id: TeamId,
    pub name: String,
    pub scope: ApiKeyScope,
    /// The first characters of the key, shown in lists so people can tell keys apart.
    pub prefix: String,
    pub key_hash: String,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub team_id: TeamId,
    pub name: String,
    pub scope: ApiKeyScope,
    pub prefix: String,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// Who did something: a user (by session) or an API key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub api_key_id: Option<ApiKeyId>,
    /// The user's email or `key:<name>`, kept so the entry still reads after the actor is gone.
    pub label: String,
}

/// One audit entry to record. `action` is a dotted name such as `monitor.created`.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub team_id: TeamId,
    pub actor: Actor,
    pub action: String,
    /// What it was done to, e.g. `monitor:42` or `user:7`.
    pub target: String,
    pub details: serde_json::Value,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditRecord {
    pub id: i64,
    pub team_id: TeamId,
    pub actor: Actor,
    pub action: String,
    pub target: String,
    pub details: serde_json::Value,
    pub at: Timestamp,
}

/// Instance-wide security events; `kind` is e.g. `login_failed`, `login_throttled`,
/// `login_succeeded`, `password_changed`, `password_change_failed` (a wrong current password),
/// `session_revoked`.
#[derive(Debug, Clone)]
pub struct SecurityEvent {
    pub kind: String,
    /// The email typed at login, lowercased (`Email::lookup_key`) when it parses.
    pub email_key: Option<String>,
    pub user_id: Option<UserId>,
    pub ip: Option<String>,
    pub detail: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SecurityEventRecord {
    pub id: i64,
    pub kind: String,
    pub email_key: Option<String>,
    pub user_id: Option<UserId>,
    pub ip: Option<String>,
    pub detail: String,
    pub at: Timestamp,
}

/// Failed logins counted since a moment, for throttling.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FailedLogins {
    pub by_account: u32,
    pub by_ip: u32,
}

/// Everything about people and access. Team-scoped reads and writes take the `TeamId`; a row of
/// another team is `NotFound`, exactly as a missing one.
#[async_trait]
pub trait AccountStore: Send + Sync {
    // ---- users ----

    /// `Conflict` when the email key is taken.
    async fn create_user(&self, new: &NewUser) -> Result<User, StoreError>;
    async fn user_count(&self) -> Result<u64, StoreError>;
    async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError>;
    async fn user_by_email(&self, email_key: &str) -> Result<Option<User>, StoreError>;
    async fn credentials(&self, email_key: &str) -> Result<Option<Credentials>, StoreError>;
    /// Sets a new password hash and, in the same transaction, deletes every session of the user
    /// except `keep` (the session that changed it).
    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        keep: Option<SessionId>,
    ) -> Result<(), StoreError>;

    // ---- sessions ----

    async fn create_session(&self, new: &NewSession) -> Result<Session, StoreError>;
    /// The session a token hash names, unless it expired by `now` or was deleted.
    async fn find_session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Session>, StoreError>;
    /// Deletes one session (logout). Deleting a missing session is not an error.
    async fn delete_session(&self, id: SessionId) -> Result<(), StoreError>;
    /// Deletes sessions that expired before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError>;

    // ---- teams and members ----

    /// Creates a team with `owner` as its first OWNER, in one transaction.
    async fn create_team(
        &self,
        name: &str,
        plan: Plan,
        owner: UserId,
        now: Timestamp,
    ) -> Result<Team, StoreError>;
    async fn get_team(&self, id: TeamId) -> Result<Option<Team>, StoreError>;
    async fn rename_team(&self, id: TeamId, name: &str) -> Result<Team, StoreError>;
    async fn set_team_plan(&self, id: TeamId, plan: Plan) -> Result<Team, StoreError>;
    /// Deletes a team and everything it owns: monitors, results, rollups, incidents, events,
    /// memberships, invitations, keys and its audit log.
    async fn delete_team(&self, id: TeamId) -> Result<(), StoreError>;
    /// The teams a user belongs to, by team id.
    async fn teams_of(&self, user: UserId) -> Result<Vec<Membership>, StoreError>;
    async fn role_of(&self, team: TeamId, user: UserId) -> Result<Option<Role>, StoreError>;
    /// A team's members, oldest first.
    async fn members(&self, team: TeamId) -> Result<Vec<Member>, StoreError>;
    /// `Conflict` when the user is already a member.
    async fn add_member(
        &self,
        team: TeamId,
        user: UserId,
        role: Role,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    async fn set_member_role(
        &self,
        team: TeamId,
        user: UserId,
        role: Role,
    ) -> Result<(), StoreError>;
    /// Ends a membership and, in the same transaction, revokes (at `now`) the team's API keys
    /// that member created: a key must not outlive its creator's access.
    async fn remove_member(
        &self,
        team: TeamId,
        user: UserId,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    // ---- invitations ----

    async fn create_invitation(&self, new: &NewInvitation) -> Result<Invitation, StoreError>;
    /// Pending invitations (not accepted, not expired by `now`), newest first.
    async fn invitations(
        &self,
        team: TeamId,
        now: Timestamp,
    ) -> Result<Vec<Invitation>, StoreError>;
    async fn revoke_invitation(&self, team: TeamId, id: InvitationId) -> Result<(), StoreError>;
    /// A pending invitation by token hash (for checking limits before accepting).
    async fn find_invitation(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Invitation>, StoreError>;
    /// Marks the invitation accepted and adds `user` with its role, in one transaction, so a link
    /// works once. `NotFound` when unknown, used, revoked or expired; `Conflict` when the user is
    /// already a member (the invitation stays pending).
    async fn accept_invitation(
        &self,
        token_hash: &str,
        user: UserId,
        now: Timestamp,
    ) -> Result<Invitation, StoreError>;

    // ---- API keys ----

    async fn create_api_key(&self, new: &NewApiKey) -> Result<ApiKey, StoreError>;
    /// The unrevoked key a hash names, while its creator is still a member of its team.
    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError>;
    async fn touch_api_key(&self, id: ApiKeyId, now: Timestamp) -> Result<(), StoreError>;
    /// A team's keys, revoked ones included, newest first.
    async fn api_keys(&self, team: TeamId) -> Result<Vec<ApiKey>, StoreError>;
    /// `NotFound` when missing, another team's, or already revoked.
    async fn revoke_api_key(
        &self,
        team: TeamId,
        id: ApiKeyId,
        now: Timestamp,
    ) -> Result<ApiKey, StoreError>;

    // ---- audit log and security events ----

    async fn record_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// A team's audit entries with an id below `before`, newest first.
    async fn audit_log(
        &self,
        team: TeamId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError>;
    async fn record_security_event(&self, event: &SecurityEvent) -> Result<(), StoreError>;
    /// Security events with an id below `before`, newest first.
    async fn security_events(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<SecurityEventRecord>, StoreError>;
    /// Wrong passwords since `since` for the account and for the IP: `login_failed` and
    /// `password_change_failed` events, which are guesses alike.
    async fn failed_logins_since(
        &self,
        email_key: Option<&str>,
        ip: Option<&str>,
        since: Timestamp,
    ) -> Result<FailedLogins, StoreError>;
}
