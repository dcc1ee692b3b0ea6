//! Escalation policies through the API. A policy is ordered steps, each a set of channels and how
//! long after the outage's confirmation it is reached; acknowledging the incident (or its
//! resolution) stops the steps not reached yet. The operations guide's path is one policy:
//! on-call engineer at once, technical lead after 15m, engineering manager after 30m, CTO after 1h.

use crate::AppState;
use crate::api::{ApiJson, TeamHeader};
use crate::auth::TeamAccess;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use watchtower_core::{
    Action, ChannelId, EscalationPolicyId, FieldError, HumanDuration, Timestamp,
};
use watchtower_store::{EscalationPolicy, EscalationStep};

#[derive(Debug, Deserialize, ToSchema)]
pub struct StepBody {
    /// How long after the outage is confirmed this step is reached (`0s` for at once).
    pub after: String,
    pub channel_ids: Vec<ChannelId>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PolicyBody {
    pub name: String,
    /// 1 to 10 steps, later steps later.
    pub steps: Vec<StepBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyList {
    pub policies: Vec<EscalationPolicy>,
}

/// The team's escalation policies.
#[utoipa::path(get, path = "/api/escalation-policies", tag = "alerting", params(TeamHeader),
    responses((status = 200, body = PolicyList)))]
pub async fn list(
    State(state): State<AppState>,
    access: TeamAccess,
) -> Result<Json<PolicyList>, ApiError> {
    access.require(Action::ViewAlerting)?;
    let policies = state.store.escalation_policies(access.team.id).await?;
    Ok(Json(PolicyList { policies }))
}

/// The name and steps `body` describes, every problem listed at once.
fn policy_of(body: &PolicyBody) -> Result<(&str, Vec<EscalationStep>), ApiError> {
    let mut problems = Vec::new();
    let name = crate::api::display_name(&body.name, &mut problems);
    if !(1..=10).contains(&body.steps.len()) {
        problems.push(FieldError {
            field: "steps".into(),
            problem: "needs 1 to 10 steps".into(),
        });
    }
    let mut steps = Vec::new();
    let mut previous = None;
    for (index, step) in body.steps.iter().enumerate() {
        let field = |name: &str| format!("steps[{index}].{name}");
        if step.channel_ids.is_empty() {
            problems.push(FieldError {
                field: field("channel_ids"),
                problem: "needs at least one channel".into(),
            });
        }
        let after = if step.after.trim() == "0" {
            Ok(std::time::Duration::ZERO)
        } else {
            HumanDuration::parse(&step.after).map(HumanDuration::get)
        };
        match after {
            Ok(after) if previous.is_some_and(|before| after <= before) => {
                problems.push(FieldError {
                    field: field("after"),
                    problem: "must be later than the step before".into(),
                });
            }
            Ok(after) => {
                previous = Some(after);
                steps.push(EscalationStep {
                    offset_ms: after.as_millis() as u64,
                    channel_ids: step.channel_ids.clone(),
                });
            }
            Err(problem) => problems.push(FieldError {
                field: field("after"),
                problem,
            }),
        }
    }
    if problems.is_empty() {
        Ok((name, steps))
    } else {
        Err(ApiError::invalid(problems))
    }
}

/// Creates a policy; a rule uses it through `escalation_policy_id`.
#[utoipa::path(post, path = "/api/escalation-policies", tag = "alerting", params(TeamHeader), request_body = PolicyBody,
    responses((status = 201, body = EscalationPolicy), (status = 404, description = "A channel is not the team's")))]
pub async fn create(
    State(state): State<AppState>,
    access: TeamAccess,
    ApiJson(body): ApiJson<PolicyBody>,
) -> Result<(StatusCode, Json<EscalationPolicy>), ApiError> {
    access.require(Action::ManageAlertRules)?;
    let (name, steps) = policy_of(&body)?;
    let policy = state
        .store
        .create_escalation_policy(access.team.id, name, &steps, Timestamp::now())
        .await?;
    access
        .audit(
            &state,
            "escalation_policy.created",
            format!("escalation_policy:{}", policy.id),
            json!({"name": policy.name}),
        )
        .await;
    Ok((StatusCode::CREATED, Json(policy)))
}

/// Replaces a policy's name and steps; outages already escalating follow the new steps from
/// their next one.
#[utoipa::path(put, path = "/api/escalation-policies/{id}", tag = "alerting",
    params(("id" = i64, Path, description = "Policy id"), TeamHeader), request_body = PolicyBody,
    responses((status = 200, body = EscalationPolicy), (status = 404, description = "The policy or a channel is not the team's")))]
pub async fn update(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<EscalationPolicyId>,
    ApiJson(body): ApiJson<PolicyBody>,
) -> Result<Json<EscalationPolicy>, ApiError> {
    access.require(Action::ManageAlertRules)?;
    let (name, steps) = policy_of(&body)?;
    let policy = state
        .store
        .update_escalation_policy(access.team.id, id, name, &steps)
        .await?;
    access
        .audit(
            &state,
            "escalation_policy.updated",
            format!("escalation_policy:{id}"),
            json!({"name": policy.name}),
        )
        .await;
    Ok(Json(policy))
}

/// Deletes a policy; rules that used it keep their direct channels.
#[utoipa::path(delete, path = "/api/escalation-policies/{id}", tag = "alerting",
    params(("id" = i64, Path, description = "Policy id"), TeamHeader),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<EscalationPolicyId>,
) -> Result<StatusCode, ApiError> {
    access.require(Action::ManageAlertRules)?;
    state
        .store
        .delete_escalation_policy(access.team.id, id)
        .await?;
    access
        .audit(
            &state,
            "escalation_policy.deleted",
            format!("escalation_policy:{id}"),
            json!({}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
