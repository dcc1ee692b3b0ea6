//! The dispatcher: claims due notifications from the outbox, builds each message, delivers it
//! through its channel, and records the attempt. A claim is a lease: if WatchTower dies while
//! delivering, the row becomes due again when the lease ends and is sent again under the same
//! idempotency key, so nothing is lost and a receiver that deduplicates sees it once.
//!
//! Each delivery runs as its own task under a hard deadline, and the loop keeps claiming while
//! deliveries are in flight, so a receiver that hangs (or a template that runs long) delays only
//! its own notification, never another channel's or another team's.

use crate::certificates::CertificateNotice;
use crate::channels::{DeliveryError, Sender};
use crate::notification::{Notification, NotificationEvent};
use crate::ops::OpsNotice;
use crate::templates::ChannelSettings;
use futures::StreamExt;
use governor::{DefaultKeyedRateLimiter, Quota};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use watchtower_core::monitor::DependencyRef;
use watchtower_core::{
    AlertEvent, ChannelId, ChannelKind, DeliveryStatus, MonitorState, TeamId, Timestamp,
};
use watchtower_store::{AttemptOutcome, DueNotification, MaintenanceWindow, MonitorTarget, Store};

#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// How soon the outbox is looked at again while deliveries are running or something is
    /// about to fall due: the shortest wait between rounds.
    pub poll_interval: Duration,
    /// The longest wait between rounds when nothing is due: an idle dispatcher reads when the
    /// next notification falls due and sleeps until then, at most this long. Whoever writes an
    /// outbox row rings `wake`; this bound only covers rows another instance wrote.
    pub idle_poll: Duration,
    /// Notifications claimed at once.
    pub batch: u32,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// How long a claimed notification stays invisible to other claims (longer than
    /// `delivery_deadline`, so a slow delivery is not sent twice).
    pub lease: Duration,
    /// The hard bound on one delivery, templates included: past it the attempt counts as a
    /// retryable failure whatever the channel is doing.
    pub delivery_deadline: Duration,
    /// On shutdown, how long deliveries in flight may finish; the rest are abandoned and their
    /// rows, still leased, are delivered again after the next start.
    pub shutdown_grace: Duration,
    /// Retries stop this long after the notification was queued; it is then marked failed.
    pub give_up_after: Duration,
    /// The first retry's delay; each further retry doubles it, up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// Where people reach WatchTower, for links in messages.
    pub public_url: Option<String>,
    /// The instance's secret for signed acknowledge links (`Store::link_secret`); without it or
    /// a public URL, messages carry no acknowledge link.
    pub link_secret: Option<String>,
    /// Rung by whoever writes outbox rows (the result writer after a batch with state changes),
    /// so a new alert is claimed at once instead of at the next poll.
    pub wake: Option<Arc<tokio::sync::Notify>>,
    /// How often certificate-expiry rules are evaluated (`certificates::queue_expiring`).
    pub certificate_sweep: Duration,
    /// How long a dependent's DOWN may wait for its dependencies' next checks.
    pub dependency_wait: Duration,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(200),
            idle_poll: Duration::from_secs(5),
            batch: 100,
            concurrency: 32,
            lease: Duration::from_secs(60),
            delivery_deadline: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(5),
            give_up_after: Duration::from_secs(24 * 3600),
            first_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(3600),
            public_url: None,
            link_secret: None,
            wake: None,
            certificate_sweep: Duration::from_secs(300),
            dependency_wait: Duration::from_secs(120),
        }
    }
}

/// Per-channel send budgets (GCRA, `governor`), kept across dispatch rounds: each service's
/// documented pace for one webhook or chat (Slack about one message a second, Discord 30 a
/// minute, Telegram 20 a minute in a group). Generic webhooks are the receiver's own service and
/// are not limited.
pub struct ChannelLimits(HashMap<ChannelKind, DefaultKeyedRateLimiter<ChannelId>>);

impl ChannelLimits {
    pub fn new() -> Self {
        let limits = ChannelKind::ALL
            .iter()
            .copied()
            .filter_map(|kind| Some((kind, Self::per_minute(kind)?)))
            .map(|(kind, per_minute)| {
                let per_minute = NonZeroU32::new(per_minute).expect("a positive pace");
                let quota = Quota::with_period(Duration::from_secs(60) / per_minute.get())
                    .expect("a positive period")
                    .allow_burst(per_minute);
                (kind, governor::RateLimiter::keyed(quota))
            })
            .collect();
        Self(limits)
    }

    /// Messages a minute one channel of `kind` is sent at most, or `None` for no limit.
    pub fn per_minute(kind: ChannelKind) -> Option<u32> {
        match kind {
            ChannelKind::Webhook => None,
            ChannelKind::Discord => Some(30),
            ChannelKind::Telegram => Some(20),
            ChannelKind::Slack | ChannelKind::Teams | ChannelKind::Sms | ChannelKind::Push => {
                Some(60)
            }
            ChannelKind::Email | ChannelKind::Pagerduty => Some(120),
        }
    }

    /// `None` when the channel may be sent to now; otherwise how long to wait.
    fn wait(&self, kind: ChannelKind, channel: ChannelId) -> Option<Duration> {
        let limiter = self.0.get(&kind)?;
        limiter.check_key(&channel).err().map(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ))
        })
    }
}

impl Default for ChannelLimits {
    fn default() -> Self {
        Self::new()
    }
}

/// Starts the dispatch loop; it stops when `stop` is cancelled (deliveries in flight get
/// `shutdown_grace` to finish).
pub fn start(
    store: Arc<dyn Store>,
    sender: Arc<Sender>,
    config: DispatcherConfig,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let shared = Arc::new(Shared {
            store,
            sender,
            config,
            limits: ChannelLimits::new(),
        });
        let config = &shared.config;
        let mut in_flight: JoinSet<()> = JoinSet::new();
        let mut last_sweep: Option<tokio::time::Instant> = None;
        loop {
            while let Some(finished) = in_flight.try_join_next() {
                log_abnormal_end(finished);
            }
            if last_sweep.is_none_or(|at| at.elapsed() >= config.certificate_sweep) {
                last_sweep = Some(tokio::time::Instant::now());
                if let Err(error) =
                    crate::certificates::queue_expiring(&*shared.store, Timestamp::now()).await
                {
                    tracing::warn!(%error, "cannot evaluate certificate-expiry rules; will retry");
                }
            }
            let free = config.concurrency.max(1).saturating_sub(in_flight.len());
            let room = u32::try_from(free).unwrap_or(u32::MAX).min(config.batch);
            let now = Timestamp::now();
            // A claim is a write transaction: an idle loop takes it only when something is due,
            // so it reads once per `idle_poll` instead of locking the outbox five times a second.
            // While deliveries run, their retries and reminders may be due: claim as before.
            let next_due = if in_flight.is_empty() {
                match shared.store.next_notification_due().await {
                    Ok(at) => at,
                    Err(error) => {
                        tracing::warn!(%error, "reading the outbox failed; claiming anyway");
                        Some(now)
                    }
                }
            } else {
                Some(now)
            };
            let due_now = next_due.is_some_and(|at| at <= now);
            let claimed = if room == 0 || !due_now {
                0
            } else {
                match claim(&shared, now, room).await {
                    Ok(claim) => {
                        let claimed = claim.items.len();
                        let windows = Arc::new(claim.windows);
                        for item in claim.items {
                            let (shared, windows) = (shared.clone(), windows.clone());
                            in_flight.spawn(async move {
                                let now = Timestamp::now();
                                handle(&shared, &windows, item, now).await;
                            });
                        }
                        claimed
                    }
                    Err(error) => {
                        tracing::warn!(%error, "claiming notifications failed; will retry");
                        0
                    }
                }
            };
            if room > 0 && claimed >= room as usize {
                continue;
            }
            let wait = round_wait(config, next_due, now, !in_flight.is_empty() || claimed > 0);
            let woken = async {
                match &config.wake {
                    Some(wake) => wake.notified().await,
                    None => std::future::pending().await,
                }
            };
            // A full house waits for a delivery to finish, not for the next poll.
            let a_slot_frees = async {
                if room == 0 {
                    if let Some(finished) = in_flight.join_next().await {
                        log_abnormal_end(finished);
                    }
                } else {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
                _ = woken => {}
                _ = a_slot_frees => {}
            }
        }
        let drained = tokio::time::timeout(config.shutdown_grace, async {
            while let Some(finished) = in_flight.join_next().await {
                log_abnormal_end(finished);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                abandoned = in_flight.len(),
                "deliveries still running at shutdown were abandoned; they are sent again after the next start"
            );
            in_flight.shutdown().await;
        }
    })
}

/// How long the loop sleeps before its next round (a ring of `wake` ends it sooner): the
/// shortest wait while deliveries run (their retries and reminders fall due soon), otherwise until
/// the next notification falls due, between the shortest and the idle wait.
fn round_wait(
    config: &DispatcherConfig,
    next_due: Option<Timestamp>,
    now: Timestamp,
    busy: bool,
) -> Duration {
    let shortest = config.poll_interval;
    let longest = config.idle_poll.max(shortest);
    if busy {
        return shortest;
    }
    match next_due {
        None => longest,
        Some(at) => at.since(now).clamp(shortest, longest),
    }
}

fn log_abnormal_end(finished: Result<(), tokio::task::JoinError>) {
    if let Err(error) = finished
        && error.is_panic()
    {
        tracing::error!(%error, "a delivery panicked; its notification is retried after its lease");
    }
}

/// What every delivery task shares.
struct Shared {
    store: Arc<dyn Store>,
    sender: Arc<Sender>,
    config: DispatcherConfig,
    limits: ChannelLimits,
}

/// Notifications claimed at once, with the maintenance windows of their teams.
struct Claim {
    items: Vec<DueNotification>,
    windows: HashMap<TeamId, Vec<MaintenanceWindow>>,
}

async fn claim(
    shared: &Shared,
    now: Timestamp,
    limit: u32,
) -> Result<Claim, watchtower_store::StoreError> {
    let items = shared
        .store
        .claim_notifications(now, now.plus(shared.config.lease), limit)
        .await?;
    let mut windows: HashMap<TeamId, Vec<MaintenanceWindow>> = HashMap::new();
    for item in &items {
        if let std::collections::hash_map::Entry::Vacant(entry) = windows.entry(item.team_id) {
            entry.insert(shared.store.maintenance_windows(item.team_id).await?);
        }
    }
    Ok(Claim { items, windows })
}

/// Claims what is due at `now` and delivers it, waiting for every delivery of the round;
/// returns how many were claimed. Tests pass the instants they want (a maintenance window's
/// end, a retry's backoff) so hours of alerting run in milliseconds; the running loop
/// (`start`) claims on the system clock and does not wait for a round to end.
pub async fn dispatch_once(
    store: &dyn Store,
    sender: &Sender,
    config: &DispatcherConfig,
    limits: &ChannelLimits,
    now: Timestamp,
) -> Result<usize, watchtower_store::StoreError> {
    let due = store
        .claim_notifications(now, now.plus(config.lease), config.batch)
        .await?;
    let claimed = due.len();
    let mut windows: HashMap<TeamId, Vec<MaintenanceWindow>> = HashMap::new();
    for item in &due {
        if let std::collections::hash_map::Entry::Vacant(entry) = windows.entry(item.team_id) {
            entry.insert(store.maintenance_windows(item.team_id).await?);
        }
    }
    let parts = Parts {
        store,
        sender,
        config,
        limits,
    };
    let (parts, windows) = (&parts, &windows);
    futures::stream::iter(due)
        .for_each_concurrent(config.concurrency, |item| async move {
            process(parts, windows, item, now).await;
        })
        .await;
    Ok(claimed)
}

/// Borrowed views of what a delivery needs, for `dispatch_once` and the loop alike.
struct Parts<'a> {
    store: &'a dyn Store,
    sender: &'a Sender,
    config: &'a DispatcherConfig,
    limits: &'a ChannelLimits,
}

async fn handle(
    shared: &Shared,
    windows: &HashMap<TeamId, Vec<MaintenanceWindow>>,
    item: DueNotification,
    now: Timestamp,
) {
    let parts = Parts {
        store: &*shared.store,
        sender: &shared.sender,
        config: &shared.config,
        limits: &shared.limits,
    };
    process(&parts, windows, item, now).await;
}

/// Decides what to do with one claimed notification, delivers it if it goes out, and records
/// the attempt (and the next reminder).
async fn process(
    parts: &Parts<'_>,
    windows: &HashMap<TeamId, Vec<MaintenanceWindow>>,
    item: DueNotification,
    now: Timestamp,
) {
    let Parts {
        store,
        sender,
        config,
        limits,
    } = *parts;
    let started = std::time::Instant::now();
    // `now` moved on by the real time spent, for what happens after a delivery.
    let later = || now.plus(started.elapsed());
    let team_windows = windows.get(&item.team_id).map_or(&[][..], Vec::as_slice);
    let held = stale_escalation(&item)
        .or_else(|| maintenance(&item, team_windows, now))
        .or_else(|| stale_reminder(&item))
        .or_else(|| unannounced_recovery(&item));
    let held = match held {
        Some(held) => Some(held),
        None => dependency_down(store, config, &item, now).await,
    };
    let outcome = match held {
        Some(held) => held,
        None => deliver(sender, config, limits, &item, now).await,
    };
    if let Some(every) = next_reminder(&item, &outcome) {
        let due = later().plus(every);
        if let Err(error) = store.enqueue_reminder(&item, due).await {
            tracing::warn!(%error, id = %item.id, "cannot queue the next reminder");
        }
    }
    if let Err(error) = store.finish_attempt(item.id, &outcome, later()).await {
        // The lease runs out and the notification is delivered again, under the same key.
        tracing::warn!(%error, id = %item.id, "cannot record a delivery attempt");
    }
}

/// What maintenance windows make of a notification, if anything: an alert while a window covering
/// the monitor is open waits for the window to close; an outage that began inside a window and
/// ended before it closed is never announced (neither its DOWN nor its recovery). An outage
/// still present when the window closes is announced then.
fn maintenance(
    item: &DueNotification,
    windows: &[MaintenanceWindow],
    now: Timestamp,
) -> Option<AttemptOutcome> {
    let monitor = item.monitor_id?;
    let tags = item.monitor.as_ref().map_or(&[][..], |m| m.tags.as_slice());
    let covering: Vec<&MaintenanceWindow> = windows
        .iter()
        .filter(|window| window.spec.applies_to(monitor, tags))
        .collect();
    // Began and ended inside one occurrence of a window: an outage that outlived the window
    // was announced when it closed, and so is its recovery.
    let contained = item
        .incident
        .as_ref()
        .and_then(|incident| Some((incident.opened_at, incident.resolved_at?)))
        .and_then(|(opened, resolved)| {
            covering.iter().find(|window| {
                window
                    .spec
                    .open_until(opened)
                    .is_some_and(|closes| resolved <= closes)
            })
        });
    if let Some(window) = contained {
        return Some(AttemptOutcome::Suppressed {
            reason: format!(
                "the outage began and ended inside maintenance window '{}'",
                window.spec.name
            ),
        });
    }
    if item.event == AlertEvent::Up {
        return None;
    }
    covering.iter().find_map(|window| {
        let until = window.spec.open_until(now)?;
        Some(AttemptOutcome::Deferred {
            until,
            reason: format!("held by maintenance window '{}'", window.spec.name),
        })
    })
}

/// A later escalation step is dropped once someone acknowledged the incident or it resolved:
/// that is what stops an escalation.
fn stale_escalation(item: &DueNotification) -> Option<AttemptOutcome> {
    if item.escalation_step.unwrap_or(0) == 0 {
        return None;
    }
    let incident = item.incident.as_ref()?;
    let reason = if incident.acknowledged_at.is_some() {
        "acknowledged before this escalation step"
    } else if incident.resolved_at.is_some() {
        "resolved before this escalation step"
    } else {
        return None;
    };
    Some(AttemptOutcome::Suppressed {
        reason: reason.into(),
    })
}

/// A reminder whose incident was resolved or acknowledged since it was queued is not sent (and
/// so queues no further reminder).
fn stale_reminder(item: &DueNotification) -> Option<AttemptOutcome> {
    if item.event != AlertEvent::Reminder {
        return None;
    }
    let incident = item.incident.as_ref()?;
    let reason = if incident.resolved_at.is_some() {
        "the incident resolved"
    } else if incident.acknowledged_at.is_some() {
        "the incident was acknowledged"
    } else {
        return None;
    };
    Some(AttemptOutcome::Suppressed {
        reason: reason.into(),
    })
}

/// After a delivered DOWN or reminder, how long until the next reminder, if the rules ask for
/// reminders and the incident is still open and unacknowledged.
fn next_reminder(item: &DueNotification, outcome: &AttemptOutcome) -> Option<Duration> {
    let delivered = matches!(outcome, AttemptOutcome::Delivered { .. });
    let announces_outage = matches!(item.event, AlertEvent::Down | AlertEvent::Reminder);
    let open = item.incident.as_ref().is_some_and(|incident| {
        incident.resolved_at.is_none() && incident.acknowledged_at.is_none()
    });
    // Later escalation steps reach more people; the reminders follow the first contact only.
    let first_contact = item.escalation_step.unwrap_or(0) == 0;
    let every = u64::try_from(item.remind_every_ms?).ok()?;
    (delivered && announces_outage && open && first_contact).then(|| Duration::from_millis(every))
}

/// A recovery whose outage was never announced on this channel (held back by maintenance or a
/// dependency) is not news either.
fn unannounced_recovery(item: &DueNotification) -> Option<AttemptOutcome> {
    let down_suppressed = item
        .incident
        .as_ref()
        .and_then(|incident| incident.down_status)
        == Some(DeliveryStatus::Suppressed);
    (item.event == AlertEvent::Up && down_suppressed).then(|| AttemptOutcome::Suppressed {
        reason: "its outage was not announced".into(),
    })
}

/// A DOWN of a monitor whose dependency is DOWN is suppressed: the dependency's own alert names
/// the real cause. The reason stays in the delivery log. A dependent is often confirmed first
/// (its check simply came sooner), so its DOWN waits, up to `dependency_wait` after the outage
/// began, until every dependency has been checked since then.
async fn dependency_down(
    store: &dyn Store,
    config: &DispatcherConfig,
    item: &DueNotification,
    now: Timestamp,
) -> Option<AttemptOutcome> {
    if item.event != AlertEvent::Down {
        return None;
    }
    let refs: &[DependencyRef] = item
        .monitor
        .as_ref()
        .map_or(&[][..], |monitor| monitor.depends_on.as_slice());
    if refs.is_empty() {
        return None;
    }
    let states = match store.dependency_states(item.team_id, refs).await {
        Ok(states) => states,
        Err(error) => {
            // Better a possibly redundant alert than a lost one.
            tracing::warn!(%error, "cannot read dependency states; alerting anyway");
            return None;
        }
    };
    if let Some(down) = states.iter().find(|d| d.state == MonitorState::Down) {
        return Some(AttemptOutcome::Suppressed {
            reason: format!("dependency '{}' is down", down.name),
        });
    }
    let began = item
        .incident
        .as_ref()
        .map(|incident| incident.opened_at)
        .or(item.change.as_ref().map(|change| change.at))?;
    let wait_until = began.plus(config.dependency_wait);
    let unchecked = states
        .iter()
        .filter(|d| d.state != MonitorState::Paused)
        .find(|d| d.last_checked_at.is_none_or(|checked| checked < began))?;
    (now < wait_until).then(|| AttemptOutcome::Deferred {
        until: now.plus(Duration::from_secs(2)).min(wait_until),
        reason: format!(
            "waiting for dependency '{}' to be checked since the outage began",
            unchecked.name
        ),
    })
}

/// Sends one notification through its channel, unless the channel's pace says to wait (then it
/// is deferred without counting an attempt).
async fn deliver(
    sender: &Sender,
    config: &DispatcherConfig,
    limits: &ChannelLimits,
    item: &DueNotification,
    now: Timestamp,
) -> AttemptOutcome {
    let ChannelSettings {
        config: channel,
        templates,
    } = match ChannelSettings::from_stored(&item.channel_config) {
        Ok(settings) => settings,
        Err(problems) => {
            return AttemptOutcome::Failed {
                status_code: None,
                error: format!("the channel's settings are invalid: {problems:?}"),
            };
        }
    };
    if let Some(wait) = limits.wait(channel.kind(), item.channel_id) {
        return AttemptOutcome::Deferred {
            until: now.plus(wait.max(Duration::from_millis(100))),
            reason: "waiting for the channel's rate limit".into(),
        };
    }
    let started = std::time::Instant::now();
    let attempt = async {
        let mut notification = notification_of(item, config);
        templates.apply(&mut notification).await;
        sender.deliver(&channel, &notification).await
    };
    let result = tokio::time::timeout(config.delivery_deadline, attempt)
        .await
        .unwrap_or_else(|_| {
            Err(DeliveryError::transient(format!(
                "the delivery did not finish within {}s",
                config.delivery_deadline.as_secs_f64()
            )))
        });
    metrics::histogram!("watchtower_notification_delivery_seconds", "channel" => channel.kind().as_str())
        .record(started.elapsed().as_secs_f64());
    match result {
        Ok(delivered) => {
            metrics::counter!("watchtower_notifications_delivered_total", "channel" => channel.kind().as_str()).increment(1);
            AttemptOutcome::Delivered {
                status_code: delivered.status_code,
            }
        }
        Err(error) => {
            tracing::info!(id = %item.id, attempt = item.attempts + 1, %error, "delivery failed");
            let outcome = after_failure(config, item, &error, now.plus(started.elapsed()));
            if matches!(outcome, AttemptOutcome::Failed { .. }) {
                metrics::counter!("watchtower_notifications_failed_total", "channel" => channel.kind().as_str()).increment(1);
            }
            outcome
        }
    }
}

/// What happens after a failed attempt: retry with exponential backoff (or the receiver's
/// `Retry-After`, if longer) until `give_up_after`, else failed.
fn after_failure(
    config: &DispatcherConfig,
    item: &DueNotification,
    error: &DeliveryError,
    now: Timestamp,
) -> AttemptOutcome {
    let backoff = config
        .first_backoff
        .saturating_mul(2u32.saturating_pow(item.attempts.min(20)))
        .min(config.max_backoff);
    let wait = error
        .retry_after
        .map_or(backoff, |after| after.max(backoff));
    let next = now.plus(wait);
    let deadline = item.created_at.plus(config.give_up_after);
    if error.retryable && next < deadline {
        AttemptOutcome::Retry {
            next_attempt_at: next,
            status_code: error.status_code,
            error: error.message.clone(),
        }
    } else {
        AttemptOutcome::Failed {
            status_code: error.status_code,
            error: error.message.clone(),
        }
    }
}

/// The message of an outbox row.
/// A monitor's URL as messages show it: without its user-info, whose password is a secret that
/// must not reach a chat room or a webhook receiver.
fn without_credentials(url: &str) -> Option<String> {
    let mut url = url::Url::parse(url).ok()?;
    // Both fail only for URLs that cannot have user-info, which then has none to remove.
    let _ = url.set_password(None);
    let _ = url.set_username("");
    Some(url.into())
}

fn notification_of(item: &DueNotification, config: &DispatcherConfig) -> Notification {
    if matches!(item.event, AlertEvent::OpsAlert | AlertEvent::OpsResolved)
        && let Some(notice) = item
            .details
            .as_ref()
            .and_then(|details| serde_json::from_value::<OpsNotice>(details.clone()).ok())
    {
        return crate::ops::notification(&notice.event, &notice.instance);
    }
    let event = item.event;
    let target = item
        .monitor
        .as_ref()
        .and_then(|monitor| match monitor.target.as_ref()? {
            MonitorTarget::Url(url) => without_credentials(url),
            MonitorTarget::Host(host) => Some(host.clone()),
        });
    let link = |path: String| {
        config
            .public_url
            .as_ref()
            .map(|base| format!("{}{path}", base.trim_end_matches('/')))
    };
    let at = item
        .change
        .as_ref()
        .map_or(item.created_at, |change| change.at);
    let certificate: Option<CertificateNotice> = item
        .details
        .as_ref()
        .filter(|_| event == NotificationEvent::CertificateExpiring)
        .and_then(|details| serde_json::from_value(details.clone()).ok());
    let incident_id = item.incident.as_ref().map(|incident| incident.id);
    let monitor_name = match &certificate {
        Some(notice) => certificate_monitors(notice),
        None => item
            .monitor
            .as_ref()
            .map_or_else(|| "WatchTower test notification".into(), |m| m.name.clone()),
    };
    Notification {
        idempotency_key: format!("watchtower-notification-{}", item.id),
        event,
        team_id: item.team_id,
        monitor_id: item.monitor_id,
        monitor_name,
        target,
        state: item
            .change
            .as_ref()
            .map_or(MonitorState::Up, |change| change.to),
        previous_state: item.change.as_ref().map(|change| change.from),
        cause: item
            .change
            .as_ref()
            .map(|change| change.cause.clone())
            .unwrap_or_default(),
        since: at,
        at,
        incident_id,
        incident_key: incident_id.map(|id| format!("watchtower-incident-{id}")),
        incident_url: incident_id.and_then(|id| link(format!("/incidents/{id}"))),
        acknowledge_url: match (&config.link_secret, incident_id, item.event) {
            (Some(secret), Some(incident), AlertEvent::Down | AlertEvent::Reminder) => link(
                crate::links::acknowledge_path(secret, item.team_id, incident),
            ),
            _ => None,
        },
        down_since: item.incident.as_ref().map(|incident| incident.opened_at),
        certificate_expires_at: certificate.as_ref().map(|notice| notice.expires_at),
        certificate,
        custom_title: None,
        custom_message: None,
        ops_signal: None,
    }
}

/// How a certificate alert names what it is about: the monitors that see the certificate.
fn certificate_monitors(notice: &CertificateNotice) -> String {
    let names: Vec<&str> = notice.monitors.iter().map(|m| m.name.as_str()).collect();
    match names.as_slice() {
        [] => notice.subject.clone(),
        [one] => (*one).to_owned(),
        [first, second] => format!("{first} and {second}"),
        [first, rest @ ..] => format!("{first} and {} more", rest.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use watchtower_core::TeamId;
    use watchtower_store::{DueChange, DueIncident, DueMonitor};

    #[test]
    fn an_idle_dispatcher_sleeps_until_the_next_due_notification_within_bounds() {
        let config = DispatcherConfig::default();
        let now = Timestamp(1_000_000);
        let wait = |next: Option<i64>, busy| round_wait(&config, next.map(Timestamp), now, busy);
        assert_eq!(wait(None, false), config.idle_poll, "nothing pending");
        assert_eq!(wait(Some(now.0 + 2_000), false), Duration::from_secs(2));
        assert_eq!(
            wait(Some(now.0 + 3_600_000), false),
            config.idle_poll,
            "far off"
        );
        assert_eq!(
            wait(Some(now.0 + 10), false),
            config.poll_interval,
            "imminent"
        );
        assert_eq!(
            wait(Some(now.0 - 10), false),
            config.poll_interval,
            "overdue"
        );
        assert_eq!(wait(None, true), config.poll_interval, "deliveries running");
    }

    fn due(attempts: u32) -> DueNotification {
        DueNotification {
            id: watchtower_core::NotificationId(7),
            team_id: TeamId(1),
            channel_id: ChannelId(1),
            channel_config: json!({}),
            event: AlertEvent::Down,
            attempts,
            created_at: Timestamp(0),
            monitor_id: None,
            monitor: Some(DueMonitor {
                name: "api".into(),
                target: Some(MonitorTarget::Url("https://api.example.com/".into())),
                tags: Vec::new(),
                depends_on: Vec::new(),
            }),
            incident: Some(DueIncident {
                id: watchtower_core::IncidentId(3),
                opened_at: Timestamp(1_000),
                resolved_at: None,
                acknowledged_at: None,
                down_status: None,
            }),
            change: Some(DueChange {
                from: MonitorState::Up,
                to: MonitorState::Down,
                at: Timestamp(1_000),
                cause: "status 503".into(),
            }),
            escalation_step: None,
            remind_every_ms: Some(600_000),
            details: None,
        }
    }

    fn incident(item: &mut DueNotification) -> &mut DueIncident {
        item.incident.as_mut().expect("the example has an incident")
    }

    fn error(retryable: bool, retry_after: Option<u64>) -> DeliveryError {
        DeliveryError {
            retryable,
            status_code: Some(503),
            message: "unavailable".into(),
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn retries_back_off_exponentially_honour_retry_after_and_stop_after_a_day() {
        let config = DispatcherConfig::default();
        let next = |attempts, error: &DeliveryError, now| match after_failure(
            &config,
            &due(attempts),
            error,
            now,
        ) {
            AttemptOutcome::Retry {
                next_attempt_at, ..
            } => Some(next_attempt_at.0 - now.0),
            _ => None,
        };
        let now = Timestamp(10_000);
        assert_eq!(next(0, &error(true, None), now), Some(5_000));
        assert_eq!(next(1, &error(true, None), now), Some(10_000));
        assert_eq!(next(3, &error(true, None), now), Some(40_000));
        assert_eq!(
            next(30, &error(true, None), now),
            Some(3_600_000),
            "capped at an hour"
        );
        assert_eq!(next(0, &error(true, Some(120)), now), Some(120_000));
        assert_eq!(next(0, &error(false, None), now), None, "not retryable");
        let a_day_later = Timestamp(24 * 3600 * 1000);
        assert_eq!(next(0, &error(true, None), a_day_later), None, "gave up");
    }

    #[test]
    fn a_row_becomes_a_message_with_a_stable_key_per_incident() {
        let config = DispatcherConfig {
            public_url: Some("https://watch.example.com/".into()),
            ..DispatcherConfig::default()
        };
        let message = notification_of(&due(2), &config);
        assert_eq!(message.idempotency_key, "watchtower-notification-7");
        assert_eq!(
            message.incident_key.as_deref(),
            Some("watchtower-incident-3")
        );
        assert_eq!(message.target.as_deref(), Some("https://api.example.com/"));
        let mut with_password = due(2);
        with_password.monitor.as_mut().unwrap().target = Some(MonitorTarget::Url(
            "https://probe:s3cret@api.example.com/health".into(),
        ));
        assert_eq!(
            notification_of(&with_password, &config).target.as_deref(),
            Some("https://api.example.com/health"),
            "a URL's password never reaches a message"
        );
        assert_eq!(
            message.incident_url.as_deref(),
            Some("https://watch.example.com/incidents/3")
        );
        assert_eq!(
            (message.event, message.state),
            (NotificationEvent::Down, MonitorState::Down)
        );
    }

    fn window(starts: i64, ends: i64) -> MaintenanceWindow {
        MaintenanceWindow {
            id: watchtower_core::MaintenanceWindowId(1),
            team_id: TeamId(1),
            spec: watchtower_core::maintenance::MaintenanceSpec {
                name: "upgrade".into(),
                monitors: Vec::new(),
                tag: None,
                schedule: watchtower_core::maintenance::WindowSchedule::Once {
                    starts_at: Timestamp(starts),
                    ends_at: Timestamp(ends),
                },
            },
            created_at: Timestamp(0),
        }
    }

    #[test]
    fn maintenance_holds_alerts_until_the_window_closes_and_drops_outages_it_contained() {
        let mut item = due(0);
        item.monitor_id = Some(watchtower_core::MonitorId(5));
        let open = [window(500, 5_000)];
        // DOWN during the window: held until it closes, without counting an attempt.
        assert_eq!(
            maintenance(&item, &open, Timestamp(2_000)),
            Some(AttemptOutcome::Deferred {
                until: Timestamp(5_000),
                reason: "held by maintenance window 'upgrade'".into()
            })
        );
        // At the close, still down: announced.
        assert_eq!(maintenance(&item, &open, Timestamp(5_000)), None);
        // Recovered inside the window: neither the DOWN nor the UP is sent.
        incident(&mut item).resolved_at = Some(Timestamp(3_000));
        assert!(matches!(
            maintenance(&item, &open, Timestamp(5_000)),
            Some(AttemptOutcome::Suppressed { .. })
        ));
        item.event = AlertEvent::Up;
        assert!(matches!(
            maintenance(&item, &open, Timestamp(3_000)),
            Some(AttemptOutcome::Suppressed { .. })
        ));
        // An outage that began before the window is announced as usual when it recovers.
        incident(&mut item).opened_at = Timestamp(100);
        assert_eq!(maintenance(&item, &open, Timestamp(3_000)), None);
        // No window, or one for another tag: nothing changes.
        item.event = AlertEvent::Down;
        assert_eq!(maintenance(&item, &[], Timestamp(2_000)), None);
        let mut tagged = window(500, 5_000);
        tagged.spec.tag = Some("db".into());
        assert_eq!(maintenance(&item, &[tagged], Timestamp(2_000)), None);
    }

    #[test]
    fn reminders_follow_a_delivered_outage_until_it_is_resolved_or_acknowledged() {
        let delivered = AttemptOutcome::Delivered {
            status_code: Some(200),
        };
        let mut item = due(0);
        assert_eq!(
            next_reminder(&item, &delivered),
            Some(Duration::from_secs(600))
        );
        let retry = AttemptOutcome::Retry {
            next_attempt_at: Timestamp(0),
            status_code: None,
            error: String::new(),
        };
        assert_eq!(next_reminder(&item, &retry), None, "only after a delivery");
        item.event = AlertEvent::Up;
        assert_eq!(next_reminder(&item, &delivered), None);
        item.event = AlertEvent::Reminder;
        assert_eq!(stale_reminder(&item), None);
        assert_eq!(
            next_reminder(&item, &delivered),
            Some(Duration::from_secs(600))
        );
        incident(&mut item).acknowledged_at = Some(Timestamp(5));
        assert!(matches!(
            stale_reminder(&item),
            Some(AttemptOutcome::Suppressed { .. })
        ));
        assert_eq!(next_reminder(&item, &delivered), None);
        item.remind_every_ms = None;
        incident(&mut item).acknowledged_at = None;
        assert_eq!(
            next_reminder(&item, &delivered),
            None,
            "the rules asked for none"
        );
    }

    #[test]
    fn later_escalation_steps_stop_at_acknowledgement_or_resolution() {
        let mut item = due(0);
        item.escalation_step = Some(2);
        assert_eq!(stale_escalation(&item), None, "still open: escalate");
        incident(&mut item).acknowledged_at = Some(Timestamp(9));
        assert!(matches!(
            stale_escalation(&item),
            Some(AttemptOutcome::Suppressed { .. })
        ));
        incident(&mut item).acknowledged_at = None;
        incident(&mut item).resolved_at = Some(Timestamp(9));
        assert!(matches!(
            stale_escalation(&item),
            Some(AttemptOutcome::Suppressed { .. })
        ));
        item.escalation_step = Some(0);
        assert_eq!(
            stale_escalation(&item),
            None,
            "the first step is the outage itself"
        );
    }

    #[test]
    fn a_channel_gets_its_burst_then_waits_while_others_go_on() {
        let limits = ChannelLimits::new();
        for _ in 0..20 {
            assert_eq!(limits.wait(ChannelKind::Telegram, ChannelId(1)), None);
        }
        let wait = limits
            .wait(ChannelKind::Telegram, ChannelId(1))
            .expect("the 21st message in a minute waits");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(3),
            "{wait:?}"
        );
        assert_eq!(
            limits.wait(ChannelKind::Telegram, ChannelId(2)),
            None,
            "another chat has its own budget"
        );
        for _ in 0..1_000 {
            assert_eq!(
                limits.wait(ChannelKind::Webhook, ChannelId(3)),
                None,
                "webhooks are not limited"
            );
        }
    }
}
