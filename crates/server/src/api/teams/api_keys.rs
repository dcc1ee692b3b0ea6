//! A team's API keys: the list (never the keys), a new key (shown once, only its hash kept),
//! and revocation.

use super::access;
use crate::AppState;
use crate::api::ApiJson;
use crate::auth::Caller;
use crate::auth::tokens::{TokenKind, new_token, token_hash};
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use watchtower_core::{Action, ApiKeyId, ApiKeyScope, Demand, Timestamp};
use watchtower_store::{ApiKey, NewApiKey};

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    pub api_keys: Vec<ApiKey>,
}

/// The team's API keys with their last use (never the keys themselves).
#[utoipa::path(get, path = "/api/teams/{team}/api-keys", tag = "teams",
    params(("team" = i64, Path, description = "Team id")),
    responses((status = 200, body = ApiKeyList)))]
pub async fn api_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(team): Path<i64>,
) -> Result<Json<ApiKeyList>, ApiError> {
    let access = access(&state, caller, team).await?;
    access.require(Action::ViewApiKeys)?;
    let api_keys = state.store.api_keys(access.team.id).await?;
    Ok(Json(ApiKeyList { api_keys }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewKeyBody {
    pub name: String,
    /// read_only or read_write.
    pub scope: String,
}

/// Creates an API key. The key is in this answer only; WatchTower keeps just its hash.
#[utoipa::path(post, path = "/api/teams/{team}/api-keys", tag = "teams",
    params(("team" = i64, Path, description = "Team id")), request_body = NewKeyBody,
    responses((status = 201, body = ApiKeyCreated), (status = 402, description = "The plan has no API access")))]
pub async fn create_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(team): Path<i64>,
    ApiJson(body): ApiJson<NewKeyBody>,
) -> Result<(StatusCode, Json<ApiKeyCreated>), ApiError> {
    let access = access(&state, caller, team).await?;
    access.require(Action::CreateApiKey)?;
    let mut problems = Vec::new();
    let name = crate::api::display_name(&body.name, &mut problems);
    let scope = ApiKeyScope::parse(&body.scope)
        .map_err(|p| {
            problems.push(watchtower_core::FieldError {
                field: "scope".into(),
                problem: p,
            });
        })
        .ok();
    let Some(scope) = scope.filter(|_| problems.is_empty()) else {
        return Err(ApiError::invalid(problems));
    };
    state
        .plans
        .check(access.team.plan, Demand::ApiAccess)
        .map_err(|exceeded| access.plan_limit(&state, &exceeded))?;
    let token = new_token(TokenKind::ApiKey);
    let key = state
        .store
        .create_api_key(&NewApiKey {
            team_id: access.team.id,
            name: name.to_owned(),
            scope,
            prefix: token.chars().take(12).collect(),
            key_hash: token_hash(&token),
            created_by: access.caller.user().map(|u| u.id),
            created_at: Timestamp::now(),
        })
        .await?;
    access
        .audit(
            &state,
            "api_key.created",
            format!("api_key:{}", key.id),
            json!({"name": key.name, "scope": key.scope}),
        )
        .await;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyCreated {
            api_key: key,
            key: token,
        }),
    ))
}

/// A new API key: `key` is in this answer only.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreated {
    pub api_key: ApiKey,
    /// The key to send as `Authorization: Bearer <key>`.
    pub key: String,
}

/// Revokes an API key at once.
#[utoipa::path(delete, path = "/api/teams/{team}/api-keys/{id}", tag = "teams",
    params(("team" = i64, Path, description = "Team id"), ("id" = i64, Path, description = "Key id")),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path((team, id)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    let access = access(&state, caller, team).await?;
    access.require(Action::RevokeApiKey)?;
    let key = state
        .store
        .revoke_api_key(access.team.id, ApiKeyId(id), Timestamp::now())
        .await?;
    access
        .audit(
            &state,
            "api_key.revoked",
            format!("api_key:{id}"),
            json!({"name": key.name}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
