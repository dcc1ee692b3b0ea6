//! Teams and who is in them: teams, members and roles, invitations, API keys, plans and the
//! audit log. Everything here lives under `/api/teams/{team}`; another team answers 404. This
//! module holds what the routes share; the routes live in one file per action group:
//! - `crud`: the caller's teams, create, read, rename, delete;
//! - `members`: members and their roles, removal and leaving;
//! - `invitations`: invite, list, withdraw, accept;
//! - `api_keys`: list, create (the key shown once), revoke;
//! - `plans`: the instance's plans and a team's change of plan;
//! - `audit`: the audit log.

pub mod api_keys;
pub mod audit;
pub mod crud;
pub mod invitations;
pub mod members;
pub mod plans;

use crate::AppState;
use crate::auth::{Caller, TeamAccess};
use crate::error::ApiError;
use watchtower_core::{MembershipDenied, Role, TeamId};
use watchtower_store::Member;

fn denied(reason: MembershipDenied) -> ApiError {
    match reason {
        MembershipDenied::LastOwner => ApiError::conflict(reason.to_string()),
        _ => ApiError::forbidden(reason.to_string()),
    }
}

async fn access(state: &AppState, caller: Caller, team: i64) -> Result<TeamAccess, ApiError> {
    TeamAccess::resolve(state, caller, Some(TeamId(team))).await
}

fn owners(members: &[Member]) -> u32 {
    members.iter().filter(|m| m.role == Role::Owner).count() as u32
}
