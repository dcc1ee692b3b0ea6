//! Alert rules: which events of which monitors go to which channels. List, create, replace,
//! delete.

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
use watchtower_core::alert_rule::RuleTerms;
use watchtower_core::{
    Action, AlertRuleId, ChannelId, Demand, EscalationPolicyId, FieldError, MonitorId, Timestamp,
};
use watchtower_store::{AlertRule, NewRule};

#[derive(Debug, Deserialize, ToSchema)]
pub struct RuleBody {
    pub name: String,
    /// Only this monitor's events.
    pub monitor_id: Option<MonitorId>,
    /// Only monitors with this tag.
    pub tag: Option<String>,
    /// Any of `down`, `up`, `degraded`, `certificate_expiring`.
    pub events: Vec<String>,
    /// Channels told at once; may be empty when an escalation policy is given.
    #[serde(default)]
    pub channel_ids: Vec<ChannelId>,
    /// Remind while the incident stays open and unacknowledged, this often (at least 1m).
    pub remind_every: Option<String>,
    /// Escalate outages through this policy's steps (besides `channel_ids`).
    pub escalation_policy_id: Option<EscalationPolicyId>,
    /// Only outages with one of these causes, e.g. `["keyword", "status_code"]` (every cause
    /// when absent).
    // Strings, not `ErrorClass`, so that every bad name is listed with its field
    // (`RuleTerms::parse`); the document lists the accepted names.
    #[serde(default)]
    #[schema(value_type = Vec<watchtower_core::ErrorClass>)]
    pub causes: Vec<String>,
    /// With `certificate_expiring`: alert when a certificate expires within this many days
    /// (1-365, default 14). One alert per certificate, however many monitors share it.
    pub certificate_days: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleList {
    pub rules: Vec<AlertRule>,
}

/// The team's alert rules.
#[utoipa::path(get, path = "/api/alert-rules", tag = "alerting", params(TeamHeader),
    responses((status = 200, body = RuleList)))]
pub async fn list_rules(
    State(state): State<AppState>,
    access: TeamAccess,
) -> Result<Json<RuleList>, ApiError> {
    access.require(Action::ViewAlerting)?;
    Ok(Json(RuleList {
        rules: state.store.rules(access.team.id).await?,
    }))
}

/// The rule `body` describes for `access`'s team, every problem listed at once.
fn new_rule(access: &TeamAccess, body: &RuleBody) -> Result<NewRule, ApiError> {
    let mut problems = Vec::new();
    let name = crate::api::display_name(&body.name, &mut problems);
    let terms = RuleTerms::parse(
        &body.events,
        body.remind_every.as_deref(),
        &body.causes,
        body.certificate_days,
        "",
    );
    if let Err(terms_problems) = &terms {
        problems.extend(terms_problems.list.iter().cloned());
    }
    if body.channel_ids.is_empty() && body.escalation_policy_id.is_none() {
        problems.push(FieldError {
            field: "channel_ids".into(),
            problem: "needs at least one channel, or an escalation_policy_id".into(),
        });
    }
    if body.monitor_id.is_some() && body.tag.is_some() {
        problems.push(FieldError {
            field: "tag".into(),
            problem: "give a monitor_id or a tag, not both".into(),
        });
    }
    let terms = match terms {
        Ok(terms) if problems.is_empty() => terms,
        _ => return Err(ApiError::invalid(problems)),
    };
    Ok(NewRule {
        team_id: access.team.id,
        name: name.to_owned(),
        monitor_id: body.monitor_id,
        tag: body.tag.clone().filter(|t| !t.is_empty()),
        events: terms.events,
        channel_ids: body.channel_ids.clone(),
        remind_every: terms.remind_every,
        escalation_policy_id: body.escalation_policy_id,
        causes: terms.causes,
        certificate_days: terms.certificate_days,
        created_at: Timestamp::now(),
    })
}

/// Creates a rule: which events of which monitors go to which channels.
#[utoipa::path(post, path = "/api/alert-rules", tag = "alerting", params(TeamHeader), request_body = RuleBody,
    responses((status = 201, body = AlertRule), (status = 402, description = "The plan's rule limit"), (status = 404, description = "A channel or monitor is not the team's")))]
pub async fn create_rule(
    State(state): State<AppState>,
    access: TeamAccess,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<(StatusCode, Json<AlertRule>), ApiError> {
    access.require(Action::ManageAlertRules)?;
    let wanted = new_rule(&access, &body)?;
    let current = state.store.rules(access.team.id).await?.len();
    state
        .plans
        .check(access.team.plan, Demand::AlertRules((current + 1) as u32))
        .map_err(|exceeded| access.plan_limit(&state, &exceeded))?;
    let rule = state.store.create_rule(&wanted).await?;
    access
        .audit(
            &state,
            "alert_rule.created",
            format!("alert_rule:{}", rule.id),
            json!({"name": rule.name}),
        )
        .await;
    Ok((StatusCode::CREATED, Json(rule)))
}

/// Replaces a rule with the body (the same fields as creating one); its id stays.
#[utoipa::path(put, path = "/api/alert-rules/{id}", tag = "alerting",
    params(("id" = i64, Path, description = "Rule id"), TeamHeader), request_body = RuleBody,
    responses((status = 200, body = AlertRule), (status = 404, description = "The rule, a channel, the monitor or the policy is not the team's")))]
pub async fn update_rule(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<AlertRuleId>,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<Json<AlertRule>, ApiError> {
    access.require(Action::ManageAlertRules)?;
    let wanted = new_rule(&access, &body)?;
    let rule = state.store.update_rule(id, &wanted).await?;
    access
        .audit(
            &state,
            "alert_rule.updated",
            format!("alert_rule:{id}"),
            json!({"name": rule.name}),
        )
        .await;
    Ok(Json(rule))
}

/// Deletes a rule.
#[utoipa::path(delete, path = "/api/alert-rules/{id}", tag = "alerting",
    params(("id" = i64, Path, description = "Rule id"), TeamHeader),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_rule(
    State(state): State<AppState>,
    access: TeamAccess,
    Path(id): Path<AlertRuleId>,
) -> Result<StatusCode, ApiError> {
    access.require(Action::ManageAlertRules)?;
    state.store.delete_rule(access.team.id, id).await?;
    access
        .audit(
            &state,
            "alert_rule.deleted",
            format!("alert_rule:{id}"),
            json!({}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
