//! What a recorded delivery does: membership events grant or withdraw a plan (the user and team
//! made on first sight), payment events open and close a grace period, and the grace sweep lapses
//! memberships whose period passed. An event older than what a membership already reflects
//! changes nothing, so reordered deliveries never undo a newer state. A team's plan is always
//! recomputed from its memberships (the best plan of the active, unlapsed ones; Free when none)
//! and changed through [`PlanChanger`], which applies the instance's downgrade rules.

use crate::config::BillingConfig;
use crate::event::{EventKind, MembershipData, PaymentData, WhopEvent};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::sync::Arc;
use watchtower_core::{Plan, Role, TeamId, Timestamp};
use watchtower_store::{
    Actor, AuditEntry, DeliveryState, NewUser, Store, StoreError, User, WhopCustomer, WhopDelivery,
    WhopMembership,
};

/// Changes a team's plan the way an administrator's change does (monitors over the new limits
/// paused, intervals raised; nothing deleted), audited as Whop's doing. The server implements
/// it, since the scheduler must hear of paused monitors.
#[async_trait]
pub trait PlanChanger: Send + Sync {
    async fn change_plan(&self, team: TeamId, plan: Plan, details: Value) -> Result<(), String>;
}

/// The actor Whop's changes are audited as.
pub fn whop_actor() -> Actor {
    Actor {
        user_id: None,
        api_key_id: None,
        label: "whop".into(),
    }
}

/// The time processing reads: the system's, or a test's.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> Timestamp + Send + Sync>);

impl Clock {
    pub fn system() -> Self {
        Self(Arc::new(Timestamp::now))
    }

    /// A clock that reads `now` (a test moves it).
    pub fn from_fn(now: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    pub fn now(&self) -> Timestamp {
        (self.0)()
    }
}

/// What processing one delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `Processed` or `Ignored`.
    pub state: DeliveryState,
    pub note: String,
    pub team: Option<TeamId>,
}

impl Outcome {
    fn processed(note: impl Into<String>, team: Option<TeamId>) -> Self {
        Self {
            state: DeliveryState::Processed,
            note: note.into(),
            team,
        }
    }

    fn ignored(note: impl Into<String>, team: Option<TeamId>) -> Self {
        Self {
            state: DeliveryState::Ignored,
            note: note.into(),
            team,
        }
    }
}

/// A failure worth retrying: the store or the plan change failed.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("changing the plan failed: {0}")]
    PlanChange(String),
}

/// Turns recorded deliveries into plan changes.
pub struct Processor {
    pub store: Arc<dyn Store>,
    pub config: Arc<BillingConfig>,
    pub plans: Arc<dyn PlanChanger>,
    pub clock: Clock,
}

impl Processor {
    /// Processes one delivery. An unreadable body is ignored (retrying cannot fix it).
    pub async fn process(&self, delivery: &WhopDelivery) -> Result<Outcome, ProcessError> {
        let event = match WhopEvent::parse(delivery.body.as_bytes()) {
            Ok(event) => event,
            Err(error) => return Ok(Outcome::ignored(format!("unreadable: {error}"), None)),
        };
        let at = delivery.occurred_at;
        match event.kind {
            EventKind::MembershipActivated(m) => self.activated(&event.event_type, &m, at).await,
            EventKind::MembershipDeactivated(m) => {
                self.deactivated(&event.event_type, &m, at).await
            }
            EventKind::PaymentFailed(p) => self.payment_failed(&p, at).await,
            EventKind::PaymentSucceeded(p) => self.payment_succeeded(&p, at).await,
            EventKind::Other => Ok(Outcome::ignored(
                format!("'{}' is not an event WatchTower acts on", event.event_type),
                None,
            )),
        }
    }

    async fn activated(
        &self,
        event_type: &str,
        m: &MembershipData,
        at: Timestamp,
    ) -> Result<Outcome, ProcessError> {
        let Some(plan) = self
            .config
            .plan_for(m.product_id.as_deref(), m.plan_id.as_deref())
        else {
            return Ok(Outcome::ignored(
                format!(
                    "product {} / plan {} is not mapped to a WatchTower plan",
                    m.product_id.as_deref().unwrap_or("-"),
                    m.plan_id.as_deref().unwrap_or("-")
                ),
                None,
            ));
        };
        let existing = self.store.whop_membership(&m.id).await?;
        if let Some(stale) = older_than_known(existing.as_ref(), at) {
            return Ok(stale);
        }
        let known_team = match existing.as_ref().and_then(|known| known.team_id) {
            Some(team) if self.store.get_team(team).await?.is_some() => Some(team),
            _ => None,
        };
        let team = match known_team {
            Some(team) => team,
            None => self.team_for(m).await?,
        };
        let now = self.clock.now();
        let membership = WhopMembership {
            membership_id: m.id.clone(),
            team_id: Some(team),
            whop_user_id: m.user_id.clone(),
            plan,
            active: true,
            status: m.status.clone().unwrap_or_else(|| "active".into()),
            renewal_at: m.renewal_period_end,
            state_at: at,
            payment_at: existing.as_ref().and_then(|known| known.payment_at),
            grace_deadline: existing.as_ref().and_then(|known| known.grace_deadline),
            lapsed: existing.as_ref().is_some_and(|known| known.lapsed),
            updated_at: now,
        };
        self.store.save_whop_membership(&membership).await?;
        self.audit(
            team,
            "billing.membership_activated",
            &m.id,
            json!({"event": event_type, "plan": plan, "whop_user": m.user_id,
                   "product": m.product_id, "renewal_at": m.renewal_period_end}),
        )
        .await;
        let changed = self.recompute(team, event_type, &m.id).await?;
        Ok(Outcome::processed(
            format!("membership {} grants {plan}{changed}", m.id),
            Some(team),
        ))
    }

    async fn deactivated(
        &self,
        event_type: &str,
        m: &MembershipData,
        at: Timestamp,
    ) -> Result<Outcome, ProcessError> {
        let existing = self.store.whop_membership(&m.id).await?;
        if let Some(stale) = older_than_known(existing.as_ref(), at) {
            return Ok(stale);
        }
        let team = match existing.as_ref().and_then(|known| known.team_id) {
            Some(team) => Some(team),
            None => match self.store.whop_customer(&m.user_id).await? {
                Some(customer) => Some(customer.team_id),
                None => None,
            },
        };
        let plan = self
            .config
            .plan_for(m.product_id.as_deref(), m.plan_id.as_deref())
            .or(existing.as_ref().map(|known| known.plan))
            .unwrap_or(Plan::Free);
        let membership = WhopMembership {
            membership_id: m.id.clone(),
            team_id: team,
            whop_user_id: m.user_id.clone(),
            plan,
            active: false,
            status: m.status.clone().unwrap_or_else(|| "canceled".into()),
            renewal_at: m.renewal_period_end,
            state_at: at,
            payment_at: existing.as_ref().and_then(|known| known.payment_at),
            grace_deadline: None,
            lapsed: existing.as_ref().is_some_and(|known| known.lapsed),
            updated_at: self.clock.now(),
        };
        self.store.save_whop_membership(&membership).await?;
        let Some(team) = team else {
            // Remembered, so an older activation arriving later cannot grant anything.
            return Ok(Outcome::processed(
                format!("membership {} recorded as ended; no team knows it", m.id),
                None,
            ));
        };
        self.audit(
            team,
            "billing.membership_deactivated",
            &m.id,
            json!({"event": event_type, "plan": plan, "whop_user": m.user_id}),
        )
        .await;
        let changed = self.recompute(team, event_type, &m.id).await?;
        Ok(Outcome::processed(
            format!("membership {} ended{changed}", m.id),
            Some(team),
        ))
    }

    /// The membership a payment is about, unless it is unknown or the payment is not newer than
    /// the last one applied.
    async fn payment_membership(
        &self,
        p: &PaymentData,
        at: Timestamp,
    ) -> Result<Result<(WhopMembership, TeamId), Outcome>, ProcessError> {
        let Some(membership_id) = &p.membership_id else {
            return Ok(Err(Outcome::ignored(
                format!("payment {} names no membership", p.id),
                None,
            )));
        };
        let Some(known) = self.store.whop_membership(membership_id).await? else {
            return Ok(Err(Outcome::ignored(
                format!(
                    "payment {} is for membership {membership_id}, which is unknown",
                    p.id
                ),
                None,
            )));
        };
        let Some(team) = known.team_id else {
            return Ok(Err(Outcome::ignored(
                format!("membership {membership_id} has no team"),
                None,
            )));
        };
        // As for membership events, the same time again is applied again (retries).
        if known.payment_at.is_some_and(|last| at < last) {
            return Ok(Err(Outcome::ignored(
                format!("older than membership {membership_id}'s last payment event"),
                Some(team),
            )));
        }
        Ok(Ok((known, team)))
    }

    async fn payment_failed(
        &self,
        p: &PaymentData,
        at: Timestamp,
    ) -> Result<Outcome, ProcessError> {
        let (mut membership, team) = match self.payment_membership(p, at).await? {
            Ok(found) => found,
            Err(outcome) => return Ok(outcome),
        };
        let deadline = membership
            .grace_deadline
            .unwrap_or_else(|| at.plus(self.config.grace_period));
        membership.payment_at = Some(at);
        membership.grace_deadline = Some(deadline);
        membership.updated_at = self.clock.now();
        self.store.save_whop_membership(&membership).await?;
        // The owners are told on every dashboard page while the grace period runs (the server's
        // `billing_notice`), and through the audit log and billing view; WatchTower has no
        // per-person email outside alert channels yet.
        let owners: Vec<String> = self
            .store
            .members(team)
            .await?
            .into_iter()
            .filter(|member| member.role == Role::Owner)
            .map(|member| member.email)
            .collect();
        tracing::warn!(team = %team, membership = %membership.membership_id, grace_deadline = %deadline, "a Whop payment failed; the plan lapses at the deadline unless a payment succeeds");
        self.audit(
            team,
            "billing.payment_failed",
            &membership.membership_id,
            json!({"payment": p.id, "grace_deadline": deadline, "owners": owners}),
        )
        .await;
        Ok(Outcome::processed(
            format!(
                "payment {} failed; membership {} lapses at {deadline} without a payment",
                p.id, membership.membership_id
            ),
            Some(team),
        ))
    }

    async fn payment_succeeded(
        &self,
        p: &PaymentData,
        at: Timestamp,
    ) -> Result<Outcome, ProcessError> {
        let (mut membership, team) = match self.payment_membership(p, at).await? {
            Ok(found) => found,
            Err(outcome) => return Ok(outcome),
        };
        let was_lapsed = membership.lapsed;
        membership.payment_at = Some(at);
        membership.grace_deadline = None;
        membership.lapsed = false;
        membership.updated_at = self.clock.now();
        self.store.save_whop_membership(&membership).await?;
        self.audit(
            team,
            "billing.payment_succeeded",
            &membership.membership_id,
            json!({"payment": p.id, "restored": was_lapsed}),
        )
        .await;
        let changed = self
            .recompute(team, "payment.succeeded", &membership.membership_id)
            .await?;
        Ok(Outcome::processed(
            format!("payment {} succeeded{changed}", p.id),
            Some(team),
        ))
    }

    /// Lapses the memberships whose grace period passed by now; returns how many.
    pub async fn lapse_due(&self) -> Result<usize, ProcessError> {
        let now = self.clock.now();
        let due = self.store.lapsing_whop_memberships(now).await?;
        for mut membership in due.iter().cloned() {
            membership.lapsed = true;
            membership.updated_at = now;
            self.store.save_whop_membership(&membership).await?;
            let Some(team) = membership.team_id else {
                continue;
            };
            self.audit(
                team,
                "billing.grace_expired",
                &membership.membership_id,
                json!({"grace_deadline": membership.grace_deadline}),
            )
            .await;
            if let Err(error) = self
                .recompute(team, "grace_expired", &membership.membership_id)
                .await
            {
                // Not lapsed after all, so the next sweep tries again.
                membership.lapsed = false;
                self.store.save_whop_membership(&membership).await?;
                return Err(error);
            }
        }
        Ok(due.len())
    }

    /// Puts the team on the best plan its memberships grant; returns words for the outcome.
    async fn recompute(
        &self,
        team: TeamId,
        cause: &str,
        membership: &str,
    ) -> Result<String, ProcessError> {
        let memberships = self.store.team_whop_memberships(team).await?;
        let plan = memberships
            .iter()
            .filter(|m| m.active && !m.lapsed)
            .map(|m| m.plan)
            .max()
            .unwrap_or(Plan::Free);
        let Some(current) = self.store.get_team(team).await? else {
            return Ok("; the team is gone".into());
        };
        if current.plan == plan {
            return Ok(format!("; team {team} stays on {plan}"));
        }
        self.plans
            .change_plan(
                team,
                plan,
                json!({"source": "whop", "cause": cause, "membership": membership}),
            )
            .await
            .map_err(ProcessError::PlanChange)?;
        Ok(format!(
            "; team {team} moved from {} to {plan}",
            current.plan
        ))
    }

    /// The team a first-seen membership belongs to: the team its checkout link named, else the
    /// team of the Whop user seen before, else the first team owned by the user with the same
    /// email, else a new user and team.
    async fn team_for(&self, m: &MembershipData) -> Result<TeamId, ProcessError> {
        if let Some(team) = m.team
            && self.store.get_team(team).await?.is_some()
        {
            return Ok(team);
        }
        let person = WhopPerson {
            user_id: &m.user_id,
            email: m.email.as_deref(),
            name: m.name.as_deref(),
            username: m.username.as_deref(),
        };
        Ok(customer_of(&*self.store, self.clock.now(), &person)
            .await?
            .team)
    }

    async fn audit(&self, team: TeamId, action: &str, target: &str, details: Value) {
        let entry = AuditEntry {
            team_id: team,
            actor: whop_actor(),
            action: action.to_owned(),
            target: format!("whop:{target}"),
            details,
            at: self.clock.now(),
        };
        if let Err(error) = self.store.record_audit(&entry).await {
            tracing::error!(%error, action, "cannot record audit entry");
        }
    }
}

/// An event older than the membership's known state changes nothing: it is ignored. One as old
/// as the state is applied again, since a retry after a failure half-way must finish the job and
/// doing it twice changes nothing.
fn older_than_known(known: Option<&WhopMembership>, at: Timestamp) -> Option<Outcome> {
    let known = known.filter(|known| at < known.state_at)?;
    Some(Outcome::ignored(
        format!("older than membership {}'s state", known.membership_id),
        known.team_id,
    ))
}

/// What Whop tells of a person (a membership's user, or a frame token's `sub` alone).
pub struct WhopPerson<'a> {
    pub user_id: &'a str,
    pub email: Option<&'a str>,
    pub name: Option<&'a str>,
    pub username: Option<&'a str>,
}

/// A Whop user as they are here.
pub struct Customer {
    pub user: User,
    /// The team their purchases apply to (one they own).
    pub team: TeamId,
}

/// The user and team linked to a Whop user, made on first sight: a user without a password
/// (the Whop frame signs them in; an existing account with the same email is used instead) and
/// a team on Free they own (audited as `billing.customer_created`), then linked so the next
/// sight finds them.
pub async fn customer_of(
    store: &dyn Store,
    now: Timestamp,
    person: &WhopPerson<'_>,
) -> Result<Customer, ProcessError> {
    if let Some(link) = store.whop_customer(person.user_id).await?
        && store.get_team(link.team_id).await?.is_some()
        && let Some(user) = store.get_user(link.user_id).await?
    {
        return Ok(Customer {
            user,
            team: link.team_id,
        });
    }
    let email = person.email.map_or_else(
        || format!("{}@users.whop.invalid", person.user_id),
        str::to_owned,
    );
    let email_key = email.trim().to_lowercase();
    let user = match store.user_by_email(&email_key).await? {
        Some(user) => user,
        None => {
            let name = person
                .name
                .or(person.username)
                .unwrap_or(person.user_id)
                .to_owned();
            store
                .create_user(&NewUser {
                    email: email.clone(),
                    email_key,
                    name,
                    // Not an argon2 hash: nobody can sign in with a password until one is
                    // set; the Whop frame signs them in.
                    password_hash: "!whop".into(),
                    is_admin: false,
                    created_at: now,
                })
                .await?
        }
    };
    let owned = store
        .teams_of(user.id)
        .await?
        .into_iter()
        .find(|membership| membership.role == Role::Owner)
        .map(|membership| membership.team.id);
    let team = match owned {
        Some(team) => team,
        None => {
            let label = person.username.unwrap_or(&user.name);
            let team = store
                .create_team(&format!("{label}'s team"), Plan::Free, user.id, now)
                .await?;
            let entry = AuditEntry {
                team_id: team.id,
                actor: whop_actor(),
                action: "billing.customer_created".into(),
                target: format!("whop:{}", person.user_id),
                details: json!({"user": user.id, "email": user.email}),
                at: now,
            };
            if let Err(error) = store.record_audit(&entry).await {
                tracing::error!(%error, "cannot record audit entry");
            }
            team.id
        }
    };
    store
        .link_whop_customer(&WhopCustomer {
            whop_user_id: person.user_id.to_owned(),
            user_id: user.id,
            team_id: team,
            created_at: now,
        })
        .await?;
    Ok(Customer { user, team })
}
