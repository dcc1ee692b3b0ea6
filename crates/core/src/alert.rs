//! The path from a state change to its notifications, as pure decisions: the event a change
//! announces (`AlertEvent::of`), which of a team's rules match it and which outbox rows follow
//! (`OutboxPlanner`), and the status an outbox row is in (`DeliveryStatus`). The store loads the
//! facts and writes the rows in the change's transaction; only this module decides.

use crate::ids::{ChannelId, IncidentId, MonitorId, TeamId};
use crate::incident::StateChange;
use crate::outcome::ErrorClass;
use crate::state::MonitorState;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// What a notification announces. Stored as its `as_str` spelling in the outbox's `event`
/// column and named so in alert rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::VariantArray)]
#[serde(rename_all = "snake_case")]
pub enum AlertEvent {
    /// A monitor's DOWN was confirmed (an incident opened).
    Down,
    /// The monitor is back UP (the incident resolved).
    Up,
    /// Checks pass but slowly (DEGRADED).
    Degraded,
    /// A certificate expires within the rule's days.
    CertificateExpiring,
    /// Still DOWN: a reminder.
    Reminder,
    /// "Send a test notification" from the API.
    Test,
    /// The instance's own alert (an ops episode began), to the operators' channel.
    OpsAlert,
    /// An ops episode ended.
    OpsResolved,
}

impl AlertEvent {
    /// Every event (derived from the enum).
    pub const ALL: &'static [AlertEvent] = <AlertEvent as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Down => "down",
            Self::Up => "up",
            Self::Degraded => "degraded",
            Self::CertificateExpiring => "certificate_expiring",
            Self::Reminder => "reminder",
            Self::Test => "test",
            Self::OpsAlert => "ops_alert",
            Self::OpsResolved => "ops_resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|event| event.as_str() == text)
    }

    /// The event a state change announces, if any: a confirmed DOWN, the recovery from DOWN,
    /// and a change to DEGRADED.
    pub fn of(change: &StateChange) -> Option<Self> {
        let recovered = matches!(change.to, MonitorState::Up | MonitorState::Degraded);
        if change.opens_incident {
            Some(Self::Down)
        } else if change.resolves_incident && recovered {
            Some(Self::Up)
        } else if change.to == MonitorState::Degraded {
            Some(Self::Degraded)
        } else {
            None
        }
    }
}

/// Where an outbox row is. Stored as its `as_str` spelling in the `status` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or its first).
    Pending,
    Delivered,
    /// Given up: not retryable, or retried for too long.
    Failed,
    /// Not sent, on purpose (recovered during maintenance, or its DOWN was not sent either).
    Suppressed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Suppressed => "suppressed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Delivered,
            Self::Failed,
            Self::Suppressed,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// One step of an escalation policy as matching sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationStage {
    /// After the outage is confirmed.
    pub offset_ms: u64,
    pub channels: Vec<ChannelId>,
}

/// An alert rule as matching sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MatchingRule {
    /// Only this monitor's events.
    pub monitor: Option<MonitorId>,
    /// Only events of monitors with this tag.
    pub tag: Option<String>,
    /// The events it names; a name no event has (a newer version's) matches nothing.
    pub events: Vec<AlertEvent>,
    pub channels: Vec<ChannelId>,
    pub remind_every_ms: Option<i64>,
    /// `ErrorClass` names; empty for every cause. A DOWN matches when its cause is one of them;
    /// an UP goes only to the channels that heard that incident's DOWN; nothing else matches.
    pub causes: Vec<String>,
    /// Its escalation policy's steps; empty without a policy.
    pub escalation: Vec<EscalationStage>,
}

/// The change being announced, with what matching needs of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertedChange {
    pub team: TeamId,
    pub monitor: MonitorId,
    pub event: AlertEvent,
    /// The incident it opens or resolves.
    pub incident: Option<IncidentId>,
    pub cause: Option<ErrorClass>,
    pub at: Timestamp,
}

/// An outbox row of an incident's DOWN, as queued earlier (or earlier in the same batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownNotice {
    pub channel: ChannelId,
    pub escalation_step: Option<u32>,
    pub status: DeliveryStatus,
}

/// An outbox row to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedNotification {
    pub channel: ChannelId,
    pub event: AlertEvent,
    /// When it may first be sent: the change's time, plus the step's offset for an escalation.
    pub due: Timestamp,
    /// The shortest reminder interval of the rules that queued it.
    pub remind_every_ms: Option<i64>,
    /// Its step, when an escalation policy queued it (0 is the first).
    pub escalation_step: Option<u32>,
}

/// A team's rules and the channels that still exist (a rule may name a deleted one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamRules {
    pub rules: Vec<MatchingRule>,
    pub channels: HashSet<ChannelId>,
}

/// Decides the outbox rows of a batch's changes, in the batch's order, from the facts the store
/// loaded in the batch's transaction. It remembers the DOWN rows it planned, so an UP later in
/// the same batch sees them as the database would.
#[derive(Debug, Clone, Default)]
pub struct OutboxPlanner {
    teams: HashMap<TeamId, TeamRules>,
    /// The tags of each announced monitor that still exists; a deleted one gets no rule's rows.
    monitor_tags: HashMap<MonitorId, Vec<String>>,
    downs: HashMap<IncidentId, Vec<DownNotice>>,
}

impl OutboxPlanner {
    pub fn new(
        teams: HashMap<TeamId, TeamRules>,
        monitor_tags: HashMap<MonitorId, Vec<String>>,
        downs: HashMap<IncidentId, Vec<DownNotice>>,
    ) -> Self {
        Self {
            teams,
            monitor_tags,
            downs,
        }
    }

    /// The outbox rows of one change: one per channel of every rule that matches it (team-wide,
    /// this monitor, or one of its tags; for a DOWN its cause), with the shortest reminder
    /// interval of those rules; for a DOWN also every step of every matching rule's escalation
    /// policy, due at its offset; for an UP also whoever an escalation of that incident reached.
    /// One row per channel and step, however many rules match: direct rows by channel, then
    /// escalation rows by step and channel, then escalation recoveries by channel.
    pub fn plan(&mut self, change: &AlertedChange) -> Vec<PlannedNotification> {
        let empty = TeamRules::default();
        let team = self.teams.get(&change.team).unwrap_or(&empty);
        let downs = change
            .incident
            .and_then(|incident| self.downs.get(&incident))
            .map_or(&[][..], Vec::as_slice);
        let mut planned = Vec::new();
        if let Some(tags) = self.monitor_tags.get(&change.monitor) {
            let matching: Vec<&MatchingRule> = team
                .rules
                .iter()
                .filter(|rule| rule.selects(change, tags))
                .collect();
            planned.extend(direct_rows(change, &matching, &team.channels, downs));
            if change.event == AlertEvent::Down {
                planned.extend(escalation_rows(change, &matching, &team.channels));
            }
        }
        if change.event == AlertEvent::Up && change.incident.is_some() {
            planned.extend(escalation_recoveries(change, downs));
        }
        let mut seen = HashSet::new();
        planned.retain(|row| seen.insert((row.channel, row.escalation_step)));
        if let (AlertEvent::Down, Some(incident)) = (change.event, change.incident) {
            self.downs
                .entry(incident)
                .or_default()
                .extend(planned.iter().map(|row| DownNotice {
                    channel: row.channel,
                    escalation_step: row.escalation_step,
                    status: DeliveryStatus::Pending,
                }));
        }
        planned
    }
}

impl MatchingRule {
    /// Whether the rule names the change's event and covers its monitor; its causes are judged
    /// per channel (`allows`).
    fn selects(&self, change: &AlertedChange, tags: &[String]) -> bool {
        self.events.contains(&change.event)
            && self.monitor.is_none_or(|monitor| monitor == change.monitor)
            && self
                .tag
                .as_ref()
                .is_none_or(|tag| tags.iter().any(|have| have == tag))
    }

    /// Whether a DOWN with this cause is one the rule's causes name (any, when it names none).
    fn covers_cause(&self, cause: Option<ErrorClass>) -> bool {
        self.causes.is_empty()
            || cause.is_some_and(|cause| self.causes.iter().any(|named| named == cause.as_str()))
    }

    /// Whether the rule's causes let the change reach `channel`.
    fn allows(&self, change: &AlertedChange, channel: ChannelId, downs: &[DownNotice]) -> bool {
        if self.causes.is_empty() {
            return true;
        }
        match change.event {
            AlertEvent::Down => self.covers_cause(change.cause),
            // Only where the outage was announced: a recovery from an outage a channel never
            // heard of is not news to it.
            AlertEvent::Up => downs.iter().any(|down| down.channel == channel),
            _ => false,
        }
    }
}

fn direct_rows(
    change: &AlertedChange,
    matching: &[&MatchingRule],
    channels: &HashSet<ChannelId>,
    downs: &[DownNotice],
) -> Vec<PlannedNotification> {
    // Channel → the shortest reminder interval of the rules reaching it.
    let mut reached: BTreeMap<ChannelId, Option<i64>> = BTreeMap::new();
    for rule in matching {
        for channel in &rule.channels {
            if channels.contains(channel) && rule.allows(change, *channel, downs) {
                let remind = reached.entry(*channel).or_default();
                *remind = shortest(*remind, rule.remind_every_ms);
            }
        }
    }
    reached
        .into_iter()
        .map(|(channel, remind_every_ms)| PlannedNotification {
            channel,
            event: change.event,
            due: change.at,
            remind_every_ms,
            escalation_step: None,
        })
        .collect()
}

fn escalation_rows(
    change: &AlertedChange,
    matching: &[&MatchingRule],
    channels: &HashSet<ChannelId>,
) -> Vec<PlannedNotification> {
    // (step, channel) → (the earliest offset, the shortest reminder interval).
    let mut reached: BTreeMap<(u32, ChannelId), (u64, Option<i64>)> = BTreeMap::new();
    for rule in matching {
        if !rule.covers_cause(change.cause) {
            continue;
        }
        for (step, stage) in (0u32..).zip(&rule.escalation) {
            for channel in stage.channels.iter().filter(|c| channels.contains(*c)) {
                let (offset, remind) = reached
                    .entry((step, *channel))
                    .or_insert((stage.offset_ms, None));
                *offset = (*offset).min(stage.offset_ms);
                *remind = shortest(*remind, rule.remind_every_ms);
            }
        }
    }
    reached
        .into_iter()
        .map(
            |((step, channel), (offset_ms, remind_every_ms))| PlannedNotification {
                channel,
                event: AlertEvent::Down,
                due: Timestamp(
                    change
                        .at
                        .0
                        .saturating_add(i64::try_from(offset_ms).unwrap_or(i64::MAX)),
                ),
                remind_every_ms,
                escalation_step: Some(step),
            },
        )
        .collect()
}

/// Whoever an escalation of the incident reached hears that it is over.
fn escalation_recoveries(change: &AlertedChange, downs: &[DownNotice]) -> Vec<PlannedNotification> {
    let reached: std::collections::BTreeSet<ChannelId> = downs
        .iter()
        .filter(|down| down.escalation_step.is_some() && down.status == DeliveryStatus::Delivered)
        .map(|down| down.channel)
        .collect();
    reached
        .into_iter()
        .map(|channel| PlannedNotification {
            channel,
            event: AlertEvent::Up,
            due: change.at,
            remind_every_ms: None,
            escalation_step: None,
        })
        .collect()
}

fn shortest(current: Option<i64>, candidate: Option<i64>) -> Option<i64> {
    match (current, candidate) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests;
