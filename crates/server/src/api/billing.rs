//! Whop billing over HTTP: the webhook route (`POST /api/webhooks/whop`: verified over the raw
//! bytes, recorded once by delivery id and answered at once, processed later by the billing
//! worker; a bad signature is a 401 and a security event and nothing else), its probe (`GET`,
//! 200), the instance administrators' view of received deliveries, and a team's billing view
//! (plan, where it comes from, renewal, grace deadline, history).

use crate::AppState;
use crate::auth::{Caller, ClientIp, TeamAccess};
use crate::error::ApiError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use watchtower_billing::event::{event_time_of, event_type_of};
use watchtower_billing::verify::MAX_BODY_BYTES;
use watchtower_billing::{BillingConfig, SignatureHeaders, verify};
use watchtower_core::{Action, Plan, TeamId, Timestamp};
use watchtower_store::{AuditRecord, NewWhopDelivery, SecurityEvent, WhopDelivery, WhopMembership};

/// Whop billing as the handlers see it: the operator's settings and the worker's bell.
#[derive(Debug, Clone, Default)]
pub struct BillingState {
    pub config: Arc<BillingConfig>,
    /// Rung after a delivery is recorded, so the worker processes it at once.
    pub wake: Arc<tokio::sync::Notify>,
    /// Sign-in from the Whop frame, when an app id is configured.
    pub frame: Option<Arc<watchtower_billing::FrameVerifier>>,
}

/// The webhook route is there.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookProbe {
    /// Always `ok`.
    pub status: &'static str,
    /// Whether a webhook secret is configured (deliveries are refused without one).
    pub configured: bool,
}

/// Answers 200, so the operations guide's health routine can check the route exists.
#[utoipa::path(get, path = "/api/webhooks/whop", tag = "billing", security(()),
    responses((status = 200, body = WebhookProbe)))]
pub async fn webhook_probe(State(state): State<AppState>) -> Json<WebhookProbe> {
    Json(WebhookProbe {
        status: "ok",
        configured: !state.billing.config.secrets.is_empty(),
    })
}

/// A delivery was accepted.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAccepted {
    /// The delivery's key (`webhook-id`, or for the legacy scheme a digest of the body).
    pub delivery_id: String,
    /// `false` when the same delivery was recorded before (a redelivery changes nothing).
    pub recorded: bool,
}

/// Receives a Whop webhook delivery: Standard Webhooks headers (`webhook-id`,
/// `webhook-timestamp`, `webhook-signature`) or the legacy `x-whop-signature`, verified over
/// the raw body against every configured secret within 5 minutes of the signature's time. A
/// verified delivery is recorded once and answered 200 at once; it is processed afterwards, with
/// retries. A bad signature is a 401.
#[utoipa::path(post, path = "/api/webhooks/whop", tag = "billing", security(()),
    request_body(content = String, content_type = "application/json",
        description = "A Whop event, exactly as Whop signed it"),
    responses((status = 200, body = WebhookAccepted),
        (status = 401, description = "The signature is missing, wrong or stale"),
        (status = 404, description = "This instance takes no Whop webhooks (no secret is configured)")))]
pub async fn webhook(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookAccepted>, ApiError> {
    let config = &state.billing.config;
    if config.secrets.is_empty() {
        // A setting, not an outage: nothing here could verify a delivery, so the route is as
        // good as absent (and a 5xx would read as the instance failing).
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Whop webhooks are not configured on this instance",
        ));
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("a Whop delivery is at most {MAX_BODY_BYTES} bytes"),
        ));
    }
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let signature = SignatureHeaders {
        webhook_id: header("webhook-id"),
        webhook_timestamp: header("webhook-timestamp"),
        webhook_signature: header("webhook-signature"),
        x_whop_signature: header("x-whop-signature"),
    };
    let now = Timestamp::now();
    let verified = match verify(&config.secrets, signature, &body, now) {
        Ok(verified) => verified,
        Err(error) => {
            tracing::warn!(%error, "refused a Whop webhook delivery");
            let event = SecurityEvent {
                kind: "whop_webhook_rejected".into(),
                email_key: None,
                user_id: None,
                ip: ip.map(|ip| ip.to_string()),
                detail: error.to_string(),
                at: now,
            };
            if let Err(error) = state.store.record_security_event(&event).await {
                tracing::error!(%error, "cannot record security event");
            }
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_signature",
                "the Whop signature is missing, wrong or stale",
            ));
        }
    };
    // Recorded as received; reading the event is the worker's (an unreadable one is recorded
    // and ignored there, so the sender is not made to retry what can never be read).
    let text = String::from_utf8_lossy(&body).into_owned();
    let event_type = event_type_of(&body).unwrap_or_else(|| "unreadable".into());
    let occurred_at = event_time_of(&body).unwrap_or(verified.signed_at);
    let recorded = state
        .store
        .record_whop_delivery(&NewWhopDelivery {
            delivery_id: verified.delivery_id.clone(),
            scheme: verified.scheme.as_str().into(),
            event_type,
            body: text,
            occurred_at,
            received_at: now,
        })
        .await?;
    if recorded {
        state.billing.wake.notify_one();
    }
    Ok(Json(WebhookAccepted {
        delivery_id: verified.delivery_id,
        recorded,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DeliveryPage {
    /// Deliveries with an id below this (the previous page's `next_before`).
    pub before: Option<i64>,
    /// 1 to 500; 100 when absent.
    pub limit: Option<u32>,
}

/// Received Whop deliveries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhopDeliveries {
    pub deliveries: Vec<WhopDelivery>,
    pub next_before: Option<i64>,
}

/// Received Whop deliveries and their processing state: for the instance's administrators.
#[utoipa::path(get, path = "/api/billing/whop/deliveries", tag = "billing", params(DeliveryPage),
    responses((status = 200, body = WhopDeliveries), (status = 403, description = "Not an instance administrator")))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Query(page): Query<DeliveryPage>,
) -> Result<Json<WhopDeliveries>, ApiError> {
    if !caller.user().is_some_and(|user| user.is_admin) {
        return Err(ApiError::forbidden(
            "Whop deliveries are for the instance's administrators",
        ));
    }
    let limit = page.limit.unwrap_or(100).clamp(1, 500);
    let deliveries = state.store.whop_deliveries(page.before, limit).await?;
    let next_before = (deliveries.len() == limit as usize)
        .then(|| deliveries.last().map(|d| d.id))
        .flatten();
    Ok(Json(WhopDeliveries {
        deliveries,
        next_before,
    }))
}

/// Where a team's plan comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanSource {
    /// A Whop membership (or the end of one) set it.
    Whop,
    /// The instance's default or an administrator set it.
    Instance,
}

/// A team's billing: its plan, where it comes from, when it renews, any grace deadline after a
/// failed payment, the upgrade links, its Whop memberships and the history of changes.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamBilling {
    pub team_id: TeamId,
    pub plan: Plan,
    pub source: PlanSource,
    /// When the membership granting the plan renews (or ends).
    pub renewal_at: Option<Timestamp>,
    /// After a failed payment: when the plan lapses unless a payment succeeds.
    pub grace_deadline: Option<Timestamp>,
    /// Each paid plan above the team's with its Whop checkout link, the team named in it.
    pub upgrades: Vec<UpgradeLink>,
    pub memberships: Vec<WhopMembership>,
    /// `plan.changed` and `billing.*` audit entries, newest first (at most 100).
    pub history: Vec<AuditRecord>,
}

/// A plan the team can buy, and where.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpgradeLink {
    pub plan: Plan,
    pub checkout_url: String,
}

/// The team's billing view.
#[utoipa::path(get, path = "/api/teams/{team}/billing", tag = "billing",
    params(("team" = i64, Path, description = "Team id")),
    responses((status = 200, body = TeamBilling)))]
pub async fn team_billing(
    State(state): State<AppState>,
    caller: Caller,
    Path(team): Path<i64>,
) -> Result<Json<TeamBilling>, ApiError> {
    let access = TeamAccess::resolve(&state, caller, Some(TeamId(team))).await?;
    access.require(Action::ViewTeam)?;
    let team = &access.team;
    let memberships = state.store.team_whop_memberships(team.id).await?;
    let granting = memberships
        .iter()
        .filter(|m| m.active && !m.lapsed)
        .max_by_key(|m| (m.plan, m.state_at));
    let history = state.store.billing_history(team.id, 100).await?;
    let upgrades = Plan::LADDER
        .into_iter()
        .filter(|plan| *plan > team.plan)
        .filter_map(|plan| {
            let checkout_url = state.billing.config.checkout_url(plan, team.id)?;
            Some(UpgradeLink { plan, checkout_url })
        })
        .collect();
    Ok(Json(TeamBilling {
        team_id: team.id,
        plan: team.plan,
        source: if memberships.is_empty() {
            PlanSource::Instance
        } else {
            PlanSource::Whop
        },
        renewal_at: granting.and_then(|m| m.renewal_at),
        grace_deadline: granting.and_then(|m| m.grace_deadline),
        upgrades,
        memberships,
        history,
    }))
}
