//! Plans: the instance's plans and their limits, and a team's change of plan, which fits its
//! monitors to the new limits without deleting anything.

use super::access;
use crate::AppState;
use crate::api::ApiJson;
use crate::api::monitors::team_monitors;
use crate::auth::Caller;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use watchtower_billing::{PlanChanger, whop_actor};
use watchtower_core::plan::{MonitorSummary, PauseReason, monitors_to_pause};
use watchtower_core::{Action, HumanDuration, MonitorId, Plan, PlanLimits, TeamId, Timestamp};
use watchtower_store::{Actor, AuditEntry, Team};

/// The plans and their limits as this instance enforces them.
#[utoipa::path(get, path = "/api/plans", tag = "teams", security(()),
    responses((status = 200, body = PlanList)))]
pub async fn plans(State(state): State<AppState>) -> Json<PlanList> {
    let plans = Plan::ALL
        .into_iter()
        .map(|plan| PlanInfo {
            plan,
            name: plan.display_name(),
            limits: state.plans.limits(plan).clone(),
        })
        .collect();
    Json(PlanList {
        plans,
        default_plan: state.plans.default_plan(),
    })
}

/// Every plan with its limits, and the plan new teams get.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanList {
    pub plans: Vec<PlanInfo>,
    pub default_plan: Plan,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanInfo {
    pub plan: Plan,
    pub name: &'static str,
    pub limits: PlanLimits,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PlanBody {
    /// free, starter, professional, enterprise or unlimited.
    pub plan: String,
}

/// Changes the team's plan. A downgrade deletes nothing: monitors over the new limits are
/// paused, newest first, and the answer (and the audit log) says which and why. With billing
/// (multi-tenant mode) only the instance's administrators set plans; Whop drives them.
#[utoipa::path(put, path = "/api/teams/{team}/plan", tag = "teams",
    params(("team" = i64, Path, description = "Team id")), request_body = PlanBody,
    responses((status = 200, body = PlanChanged)))]
pub async fn change_plan(
    State(state): State<AppState>,
    caller: Caller,
    Path(team): Path<i64>,
    ApiJson(body): ApiJson<PlanBody>,
) -> Result<Json<PlanChanged>, ApiError> {
    let access = access(&state, caller, team).await?;
    access.require(Action::ManageBilling)?;
    let instance_admin = access.caller.user().is_some_and(|u| u.is_admin);
    if state.multi_tenant && !instance_admin {
        return Err(ApiError::forbidden(
            "plans are bought through Whop; an instance administrator can change them",
        ));
    }
    let plan = Plan::parse(&body.plan).map_err(|p| ApiError::invalid_field("plan", p))?;
    let actor = access.caller.actor();
    let changed = apply_plan(&state, &access.team, plan, &actor, json!({})).await?;
    Ok(Json(changed))
}

/// Puts `team` on `plan` and fits its monitors to it, audited as `actor` (`details` added to
/// the `plan.changed` entry): what an administrator's change and Whop's changes both do.
pub(crate) async fn apply_plan(
    state: &AppState,
    team: &Team,
    plan: Plan,
    actor: &Actor,
    details: Value,
) -> Result<PlanChanged, ApiError> {
    let updated = state.store.set_team_plan(team.id, plan).await?;
    let (paused, slowed) = fit_monitors_to_plan(state, team.id, actor, plan).await?;
    let mut entry = json!({"from": team.plan, "to": plan, "paused": paused, "slowed": slowed});
    if let (Some(entry), Value::Object(extra)) = (entry.as_object_mut(), details) {
        entry.extend(extra);
    }
    audit(
        state,
        team.id,
        actor,
        "plan.changed",
        format!("team:{}", team.id),
        entry,
    )
    .await;
    Ok(PlanChanged {
        team: updated,
        paused_monitors: paused,
        slowed_monitors: slowed,
    })
}

async fn audit(
    state: &AppState,
    team: TeamId,
    actor: &Actor,
    action: &str,
    target: String,
    details: Value,
) {
    let entry = AuditEntry {
        team_id: team,
        actor: actor.clone(),
        action: action.to_owned(),
        target,
        details,
        at: Timestamp::now(),
    };
    if let Err(error) = state.store.record_audit(&entry).await {
        tracing::error!(%error, action, "cannot record audit entry");
    }
}

/// Whop's plan changes, made as an administrator's are (the same `apply_plan`: excess monitors
/// paused, intervals raised), audited as `whop`.
pub struct WhopPlanChanger(pub AppState);

#[async_trait::async_trait]
impl PlanChanger for WhopPlanChanger {
    async fn change_plan(&self, team: TeamId, plan: Plan, details: Value) -> Result<(), String> {
        let state = &self.0;
        let current = state
            .store
            .get_team(team)
            .await
            .map_err(|error| error.to_string())?
            .ok_or_else(|| format!("team {team} is gone"))?;
        apply_plan(state, &current, plan, &whop_actor(), details)
            .await
            .map(drop)
            .map_err(|error| format!("{}: {}", error.code, error.message))
    }
}

/// The team on its new plan, and what was changed so its monitors fit the plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanChanged {
    pub team: Team,
    pub paused_monitors: Vec<PausedMonitor>,
    pub slowed_monitors: Vec<SlowedMonitor>,
}

/// A monitor the new plan no longer allows to run, paused (nothing is deleted).
#[derive(Debug, Serialize, ToSchema)]
pub struct PausedMonitor {
    pub id: MonitorId,
    pub name: String,
    pub reason: PauseReason,
}

/// A monitor whose interval was raised to the new plan's minimum.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlowedMonitor {
    pub id: MonitorId,
    pub name: String,
    pub from: HumanDuration,
    pub to: HumanDuration,
}

/// Makes the team's monitors fit `plan` without deleting anything: pauses what the plan no
/// longer allows (`[{id, name, reason}]`) and raises intervals shorter than the plan's minimum
/// to it (`[{id, name, from, to}]`), so the plan's check rate holds from this moment.
async fn fit_monitors_to_plan(
    state: &AppState,
    team: TeamId,
    actor: &Actor,
    plan: Plan,
) -> Result<(Vec<PausedMonitor>, Vec<SlowedMonitor>), ApiError> {
    let monitors = team_monitors(state, team).await?;
    let summaries: Vec<MonitorSummary> = monitors.iter().map(MonitorSummary::of).collect();
    let mut paused = Vec::new();
    for (id, reason) in monitors_to_pause(&summaries, state.plans.limits(plan)) {
        let Some(monitor) = monitors.iter().find(|m| m.id == id) else {
            continue;
        };
        let mut spec = monitor.spec.clone();
        spec.paused = true;
        let updated = state
            .store
            .update_monitor(team, id, &spec, Timestamp::now())
            .await?;
        state.scheduler.upsert(updated).await;
        audit(
            state,
            team,
            actor,
            "monitor.paused",
            format!("monitor:{id}"),
            json!({"name": spec.name, "reason": reason}),
        )
        .await;
        paused.push(PausedMonitor {
            id,
            name: spec.name,
            reason,
        });
    }
    let min_interval = state.plans.limits(plan).min_interval;
    let mut slowed = Vec::new();
    for monitor in &monitors {
        let probed = !matches!(monitor.spec.kind, watchtower_core::MonitorKind::Push(_));
        let now_paused = paused.iter().any(|p| p.id == monitor.id);
        if !probed || now_paused || monitor.spec.interval.get() >= min_interval.get() {
            continue;
        }
        let mut spec = monitor.spec.clone();
        spec.interval = min_interval;
        let updated = state
            .store
            .update_monitor(team, monitor.id, &spec, Timestamp::now())
            .await?;
        state.scheduler.upsert(updated).await;
        let change = SlowedMonitor {
            id: monitor.id,
            name: spec.name,
            from: monitor.spec.interval,
            to: min_interval,
        };
        audit(
            state,
            team,
            actor,
            "monitor.interval_raised",
            format!("monitor:{}", monitor.id),
            json!(change),
        )
        .await;
        slowed.push(change);
    }
    Ok((paused, slowed))
}
