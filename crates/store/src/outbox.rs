//! The notification outbox rows of a batch's new state events, written once for both backends:
//! in the batch's own transaction it loads the facts rule matching needs (the teams' rules, their
//! escalation steps and channels, the monitors' tags, the earlier DOWN rows of the incidents that
//! end), lets `watchtower_core::alert::OutboxPlanner` decide the rows, and inserts them. A few
//! statements per batch that has state changes, none per change or per result.

use crate::error::StoreError;
use crate::model::ChangeRecord;
use serde::Deserialize;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Type};
use std::collections::{HashMap, HashSet};
use watchtower_core::alert::{
    AlertedChange, DownNotice, EscalationStage, MatchingRule, OutboxPlanner, TeamRules,
};
use watchtower_core::{
    AlertEvent, ChannelId, DeliveryStatus, EscalationPolicyId, IncidentId, MonitorId, TeamId,
};

/// A new state event that alerting announces.
#[derive(Debug, Clone)]
pub(crate) struct Announcement {
    /// Its `state_events` row: the outbox rows point at it, and a replayed batch, which inserts
    /// no event, announces nothing.
    pub event_id: i64,
    pub change: AlertedChange,
}

impl Announcement {
    /// The announcement of a change whose event row was just inserted, if its change is news
    /// (`AlertEvent::of`).
    pub fn of(
        event_id: i64,
        team: i64,
        record: &ChangeRecord,
        incident: Option<i64>,
    ) -> Option<Self> {
        Some(Self {
            event_id,
            change: AlertedChange {
                team: TeamId(team),
                monitor: record.monitor_id,
                event: AlertEvent::of(&record.change)?,
                incident: incident.map(IncidentId),
                cause: record.change.error_class,
                at: record.change.at,
            },
        })
    }
}

/// Ids bound in one `IN (...)` list, well under SQLite's variable limit.
const IN_CHUNK: usize = 500;
/// Outbox rows inserted by one statement (10 variables each).
const INSERT_CHUNK: usize = 500;

/// An alert rule's columns matching reads.
#[derive(Debug, FromRow)]
pub(crate) struct RuleRow {
    team_id: i64,
    monitor_id: Option<i64>,
    tag: Option<String>,
    events: String,
    channel_ids: String,
    remind_every_ms: Option<i64>,
    escalation_policy_id: Option<i64>,
    causes: Option<String>,
}

/// An earlier DOWN row of an incident that ends.
#[derive(Debug, FromRow)]
pub(crate) struct DownRow {
    incident_id: i64,
    channel_id: i64,
    escalation_step: Option<i64>,
    status: String,
}

/// The part of a stored spec matching reads.
#[derive(Debug, Default, Deserialize)]
struct SpecTags {
    #[serde(default)]
    tags: Vec<String>,
}

/// A policy's step as stored (`EscalationStep`'s JSON).
#[derive(Debug, Deserialize)]
struct StoredStep {
    offset_ms: u64,
    channel_ids: Vec<ChannelId>,
}

/// Queues the outbox rows of `announced`, in their order, on `conn` (the batch's transaction).
pub(crate) async fn enqueue<DB>(
    conn: &mut DB::Connection,
    announced: &[Announcement],
) -> Result<(), StoreError>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> Option<i64>: Encode<'t, DB> + Type<DB>,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    for<'r> RuleRow: FromRow<'r, DB::Row>,
    for<'r> DownRow: FromRow<'r, DB::Row>,
    for<'r> (i64, i64): FromRow<'r, DB::Row>,
    for<'r> (i64, String): FromRow<'r, DB::Row>,
{
    if announced.is_empty() {
        return Ok(());
    }
    let teams: Vec<i64> = distinct(announced.iter().map(|a| a.change.team.0));
    let rule_rows: Vec<RuleRow> = select_in(
        conn,
        "SELECT team_id, monitor_id, tag, CAST(events AS TEXT) AS events, \
         CAST(channel_ids AS TEXT) AS channel_ids, remind_every_ms, escalation_policy_id, \
         CAST(causes AS TEXT) AS causes FROM alert_rules WHERE team_id IN",
        &teams,
    )
    .await?;
    let ending: Vec<i64> = distinct(
        announced
            .iter()
            .filter(|a| a.change.event == AlertEvent::Up)
            .filter_map(|a| a.change.incident.map(|incident| incident.0)),
    );
    if rule_rows.is_empty() && ending.is_empty() {
        // The common case for a team without rules: one cheap query, nothing to write.
        return Ok(());
    }

    let mut team_rules: HashMap<TeamId, TeamRules> = HashMap::new();
    let mut monitor_tags = HashMap::new();
    if !rule_rows.is_empty() {
        let policies: HashMap<EscalationPolicyId, Vec<EscalationStage>> = if rule_rows
            .iter()
            .any(|rule| rule.escalation_policy_id.is_some())
        {
            let rows: Vec<(i64, String)> = select_in(
                conn,
                "SELECT id, CAST(steps AS TEXT) FROM escalation_policies WHERE team_id IN",
                &teams,
            )
            .await?;
            rows.into_iter()
                .map(|(id, steps)| Ok((EscalationPolicyId(id), stages(&steps)?)))
                .collect::<Result<_, StoreError>>()?
        } else {
            HashMap::new()
        };
        let channels: Vec<(i64, i64)> = select_in(
            conn,
            "SELECT id, team_id FROM channels WHERE team_id IN",
            &teams,
        )
        .await?;
        for (channel, team) in channels {
            team_rules
                .entry(TeamId(team))
                .or_default()
                .channels
                .insert(ChannelId(channel));
        }
        for row in rule_rows {
            let team = TeamId(row.team_id);
            let rule = matching_rule(row, &policies)?;
            team_rules.entry(team).or_default().rules.push(rule);
        }
        let monitors = distinct(announced.iter().map(|a| a.change.monitor.0));
        let specs: Vec<(i64, String)> = select_in(
            conn,
            "SELECT id, CAST(spec AS TEXT) FROM monitors WHERE id IN",
            &monitors,
        )
        .await?;
        for (monitor, spec) in specs {
            // A spec that cannot be read has no tags a rule could select it by.
            let tags = serde_json::from_str::<SpecTags>(&spec)
                .unwrap_or_default()
                .tags;
            monitor_tags.insert(MonitorId(monitor), tags);
        }
    }

    let mut downs: HashMap<IncidentId, Vec<DownNotice>> = HashMap::new();
    if !ending.is_empty() {
        let rows: Vec<DownRow> = select_in(
            conn,
            "SELECT incident_id, channel_id, escalation_step, status FROM notifications \
             WHERE event = 'down' AND incident_id IN",
            &ending,
        )
        .await?;
        for row in rows {
            let status = DeliveryStatus::parse(&row.status).ok_or_else(|| {
                StoreError::Corrupt(format!("notification status {}", row.status))
            })?;
            downs
                .entry(IncidentId(row.incident_id))
                .or_default()
                .push(DownNotice {
                    channel: ChannelId(row.channel_id),
                    escalation_step: row
                        .escalation_step
                        .map(|step| step.clamp(0, i64::from(u32::MAX)) as u32),
                    status,
                });
        }
    }

    let mut planner = OutboxPlanner::new(team_rules, monitor_tags, downs);
    let mut rows = Vec::new();
    for announcement in announced {
        for planned in planner.plan(&announcement.change) {
            rows.push((announcement, planned));
        }
    }
    for chunk in rows.chunks(INSERT_CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|row| {
                let first = row * 10;
                let p = |offset: usize| format!("${}", first + offset);
                format!(
                    "({}, {}, {}, {}, {}, {}, 'pending', 0, {}, {}, {}, {})",
                    p(1),
                    p(2),
                    p(3),
                    p(4),
                    p(5),
                    p(6),
                    p(7),
                    p(8),
                    p(9),
                    p(10)
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO notifications (team_id, channel_id, state_event_id, monitor_id, \
             incident_id, event, status, attempts, next_attempt_at, created_at, remind_every_ms, \
             escalation_step) VALUES {} ON CONFLICT DO NOTHING",
            values.join(", ")
        );
        let mut query = sqlx::query::<DB>(sqlx::AssertSqlSafe(sql));
        for (announcement, planned) in chunk {
            let change = &announcement.change;
            query = query
                .bind(change.team.0)
                .bind(planned.channel.0)
                .bind(announcement.event_id)
                .bind(change.monitor.0)
                .bind(change.incident.map(|incident| incident.0))
                .bind(planned.event.as_str())
                .bind(planned.due.0)
                .bind(change.at.0)
                .bind(planned.remind_every_ms)
                .bind(planned.escalation_step.map(i64::from));
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Runs `{select} ($1, ...)` for every chunk of `ids`.
async fn select_in<DB, Row>(
    conn: &mut DB::Connection,
    select: &str,
    ids: &[i64],
) -> Result<Vec<Row>, StoreError>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'r> Row: FromRow<'r, DB::Row> + Send + Unpin,
{
    let mut rows = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let sql = format!("{select} ({})", placeholders.join(", "));
        let mut query = sqlx::query_as::<DB, Row>(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        rows.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}

fn distinct(ids: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut seen = HashSet::new();
    ids.filter(|id| seen.insert(*id)).collect()
}

fn stages(steps: &str) -> Result<Vec<EscalationStage>, StoreError> {
    let steps: Vec<StoredStep> = serde_json::from_str(steps)
        .map_err(|e| StoreError::Corrupt(format!("escalation policy: {e}")))?;
    Ok(steps
        .into_iter()
        .map(|step| EscalationStage {
            offset_ms: step.offset_ms,
            channels: step.channel_ids,
        })
        .collect())
}

fn matching_rule(
    row: RuleRow,
    policies: &HashMap<EscalationPolicyId, Vec<EscalationStage>>,
) -> Result<MatchingRule, StoreError> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("alert rule: {e}"));
    let events: Vec<String> = serde_json::from_str(&row.events).map_err(corrupt)?;
    let channels: Vec<ChannelId> = serde_json::from_str(&row.channel_ids).map_err(corrupt)?;
    let causes: Vec<String> = match row.causes.as_deref() {
        Some(text) => serde_json::from_str(text).map_err(corrupt)?,
        None => Vec::new(),
    };
    Ok(MatchingRule {
        monitor: row.monitor_id.map(MonitorId),
        tag: row.tag,
        events: events.iter().filter_map(|e| AlertEvent::parse(e)).collect(),
        channels,
        remind_every_ms: row.remind_every_ms,
        causes,
        escalation: row
            .escalation_policy_id
            .and_then(|policy| policies.get(&EscalationPolicyId(policy)).cloned())
            .unwrap_or_default(),
    })
}
