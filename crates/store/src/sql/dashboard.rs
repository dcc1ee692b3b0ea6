//! What the dashboard reads beyond lists: state counts, each listed monitor's newest checks, and
//! a monitor's history as a series of steps. Each read is bounded by what one page shows.

use super::DbStore;
use crate::alerting::NotificationRecord;
use crate::alerting_rows::{NOTIFICATION_COLUMNS, NotificationRow};
use crate::error::StoreError;
use crate::history::{self, Level, Source};
use crate::model::{RecentCheck, SeriesPoint, SeriesStep, StateCounts, StateEvent};
use crate::rows::EventRow;
use std::collections::HashMap;
use std::time::Duration;
use watchtower_core::{CheckStatus, IncidentId, MonitorId, MonitorState, TeamId, Timestamp};

/// The most checks a status strip asks for per monitor.
const MAX_RECENT: u32 = 100;

pub(super) async fn state_counts(store: &DbStore, team: TeamId) -> Result<StateCounts, StoreError> {
    // A monitor without a status row has never been checked: pending.
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT COALESCE(s.state, 'PENDING') AS state, COUNT(*) FROM monitors m \
         LEFT JOIN monitor_status s ON s.monitor_id = m.id WHERE m.team_id = $1 \
         GROUP BY COALESCE(s.state, 'PENDING')",
    )
    .bind(team.0)
    .fetch_all(store.reader())
    .await?;
    let mut by_state: Vec<(MonitorState, u64)> = rows
        .into_iter()
        .filter_map(|(state, count)| {
            Some((MonitorState::parse(&state)?, u64::try_from(count).ok()?))
        })
        .collect();
    by_state.sort_by_key(|(state, _)| state.as_str());
    Ok(StateCounts { by_state })
}

pub(super) async fn recent_checks(
    store: &DbStore,
    team: TeamId,
    monitors: &[MonitorId],
    per_monitor: u32,
) -> Result<HashMap<MonitorId, Vec<RecentCheck>>, StoreError> {
    let mut out: HashMap<MonitorId, Vec<RecentCheck>> = HashMap::with_capacity(monitors.len());
    if monitors.is_empty() || per_monitor == 0 {
        return Ok(out);
    }
    // One subquery per monitor, each walking that monitor's primary key backwards and stopping
    // after `per_monitor` rows: the cost is the rows shown, not the monitor's check rate.
    let parts: Vec<String> = (0..monitors.len())
        .map(|index| {
            format!(
                "SELECT * FROM (SELECT monitor_id, checked_at, status, latency_us FROM results \
                 WHERE monitor_id = ${} AND team_id = $1 ORDER BY checked_at DESC LIMIT $2) AS r{index}",
                index + 3
            )
        })
        .collect();
    let sql = parts.join(" UNION ALL ");
    let mut query = sqlx::query_as::<_, (i64, i64, i16, i32)>(sqlx::AssertSqlSafe(sql))
        .bind(team.0)
        .bind(i64::from(per_monitor.min(MAX_RECENT)));
    for id in monitors {
        query = query.bind(id.0);
    }
    for (monitor, checked_at, status, latency_us) in query.fetch_all(store.reader()).await? {
        out.entry(MonitorId(monitor))
            .or_default()
            .push(RecentCheck {
                checked_at: Timestamp(checked_at),
                status: CheckStatus::from_code(status),
                latency: Duration::from_micros(u64::try_from(latency_us).unwrap_or(0)),
            });
    }
    for checks in out.values_mut() {
        checks.sort_by_key(|check| std::cmp::Reverse(check.checked_at));
    }
    Ok(out)
}

fn level_of(step: SeriesStep) -> Level {
    match step {
        SeriesStep::Minute => Level::Minute,
        SeriesStep::Hour => Level::Hour,
        SeriesStep::Day => Level::Day,
    }
}

pub(super) async fn series(
    store: &DbStore,
    team: TeamId,
    monitor: MonitorId,
    step: SeriesStep,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<SeriesPoint>, StoreError> {
    let level = level_of(step);
    let width = level.width();
    let from = history::floor(from.0, width);
    let to = to.0;
    if from >= to {
        return Ok(Vec::new());
    }
    // One snapshot, so the watermarks and the rows they point at agree.
    let mut tx = store.begin_snapshot().await?;
    let marks = super::history::watermarks(&mut tx).await?;
    // Finished steps come from this level's own table; after its watermark, the same split an
    // uptime query makes (finer rollups, then raw results) fills the steps not yet rolled.
    let done = marks.of(level).clamp(from, to);
    let mut pieces = vec![(Source::Rollup(level), from, done)];
    pieces.extend(history::plan_uptime(done, to, marks));
    let buckets = super::history::read_pieces(&mut tx, team, monitor, &pieces).await?;
    tx.commit().await?;
    Ok(history::summarize_by_width(&buckets, width)
        .into_iter()
        .map(|(start, summary)| SeriesPoint {
            start: Timestamp(start),
            summary,
        })
        .collect())
}

/// The most rows an incident's timeline reads of each kind: a flapping outage with reminders
/// can make many, and a page shows the first of them.
const TIMELINE_ROWS: i64 = 500;

pub(super) async fn incident_events(
    store: &DbStore,
    team: TeamId,
    incident: IncidentId,
) -> Result<Vec<StateEvent>, StoreError> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT id, team_id, monitor_id, from_state, to_state, at, incident_id, cause \
         FROM state_events WHERE incident_id = $1 AND team_id = $2 ORDER BY at, id LIMIT $3",
    )
    .bind(incident.0)
    .bind(team.0)
    .bind(TIMELINE_ROWS)
    .fetch_all(store.reader())
    .await?;
    rows.into_iter().map(EventRow::into_event).collect()
}

pub(super) async fn incident_notifications(
    store: &DbStore,
    team: TeamId,
    incident: IncidentId,
) -> Result<Vec<NotificationRecord>, StoreError> {
    let sql = format!(
        "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE incident_id = $1 AND team_id = $2 \
         ORDER BY id LIMIT $3"
    );
    let rows: Vec<NotificationRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(incident.0)
        .bind(team.0)
        .bind(TIMELINE_ROWS)
        .fetch_all(store.reader())
        .await?;
    rows.into_iter().map(NotificationRecord::try_from).collect()
}
