//! `TeamAccess`: the team a request acts on, the caller's role in it, and the permission check.
//! A team the caller does not belong to answers 404, exactly like a team that does not exist.

use super::caller::{Caller, Principal, api_access_denied};
use crate::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde_json::Value;
use watchtower_core::{
    Action, ApiKeyScope, PlanLimitExceeded, PlanLimits, Role, TeamId, Timestamp,
};
use watchtower_store::{AuditEntry, Team};

/// Names the team for routes outside `/api/teams/{team}`. Without it, an API key acts on its own
/// team and a person on the first team they joined.
pub const TEAM_HEADER: &str = "x-team-id";

#[derive(Debug, Clone)]
pub struct TeamAccess {
    pub caller: Caller,
    pub team: Team,
    pub role: Role,
    /// Set when the caller is an API key.
    pub scope: Option<ApiKeyScope>,
}

impl TeamAccess {
    /// The caller's access to `team` (or their default team). 404 when they have none.
    pub async fn resolve(
        state: &AppState,
        caller: Caller,
        team: Option<TeamId>,
    ) -> Result<Self, ApiError> {
        let (team_id, role, scope) = match &caller.principal {
            Principal::Key(key) => {
                if team.is_some_and(|team| team != key.team_id) {
                    return Err(ApiError::not_found());
                }
                // A key acts with the admin role narrowed by its scope; what only an owner may
                // do (billing, deleting the team) needs a session anyway.
                (key.team_id, Role::Admin, Some(key.scope))
            }
            Principal::User { user, .. } => match team {
                Some(team) => {
                    let role = state
                        .store
                        .role_of(team, user.id)
                        .await?
                        .ok_or_else(ApiError::not_found)?;
                    (team, role, None)
                }
                None => {
                    let first = state
                        .store
                        .teams_of(user.id)
                        .await?
                        .into_iter()
                        .next()
                        .ok_or_else(ApiError::not_found)?;
                    (first.team.id, first.role, None)
                }
            },
        };
        let team = state
            .store
            .get_team(team_id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        if scope.is_some()
            && let Some(denied) = api_access_denied(state, team.plan)
        {
            return Err(denied);
        }
        Ok(Self {
            caller,
            team,
            role,
            scope,
        })
    }

    /// Whether the caller may perform `action` in this team (its role, narrowed by a key's scope).
    pub fn allows(&self, action: Action) -> bool {
        match self.scope {
            Some(scope) => scope.allows(self.role, action),
            None => self.role.allows(action),
        }
    }

    /// 403 unless the caller may perform `action` in this team.
    pub fn require(&self, action: Action) -> Result<(), ApiError> {
        if self.allows(action) {
            return Ok(());
        }
        let message = if self.scope.is_some() && action.needs_session() {
            format!("'{action}' needs a signed-in person; API keys may not do it")
        } else if self.scope == Some(ApiKeyScope::ReadOnly) {
            format!("this API key is read-only; '{action}' changes something")
        } else {
            format!("the {} role may not '{action}'", self.role)
        };
        Err(ApiError::forbidden(message))
    }

    pub fn limits<'a>(&self, state: &'a AppState) -> &'a PlanLimits {
        state.plans.limits(self.team.plan)
    }

    /// The 402 for a request the team's plan does not allow, with the Whop checkout link of the
    /// plan that would allow it (the team named in the link) when one is configured.
    pub fn plan_limit(&self, state: &AppState, exceeded: &PlanLimitExceeded) -> ApiError {
        let link = exceeded
            .upgrade_to
            .and_then(|plan| state.billing.config.checkout_url(plan, self.team.id));
        ApiError {
            checkout_url: link,
            ..ApiError::plan_limit(exceeded)
        }
    }

    /// Records what the caller did in the team's audit log. A failure to record is logged, not
    /// answered: the change itself has been made.
    pub async fn audit(&self, state: &AppState, action: &str, target: String, details: Value) {
        let entry = AuditEntry {
            team_id: self.team.id,
            actor: self.caller.actor(),
            action: action.to_owned(),
            target,
            details,
            at: Timestamp::now(),
        };
        if let Err(error) = state.store.record_audit(&entry).await {
            tracing::error!(%error, action, "cannot record audit entry");
        }
    }
}

/// For routes without a team in the path: the team named by `X-Team-Id`, or the default one.
impl FromRequestParts<AppState> for TeamAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let team = match parts.headers.get(TEAM_HEADER) {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .ok()
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    .map(TeamId)
                    .ok_or_else(|| {
                        ApiError::invalid_field("X-Team-Id", "must be a team id (an integer)")
                    })?,
            ),
        };
        Self::resolve(state, caller, team).await
    }
}
