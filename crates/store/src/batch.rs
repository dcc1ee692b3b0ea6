//! What a `ResultBatch` becomes before either backend writes it: raw rows, one status row per
//! monitor, and the changes in order, all limited to monitors that still exist.

use crate::model::{ChangeRecord, ResultBatch};
use crate::rows::RawColumns;
use std::collections::{BTreeMap, HashMap};
use watchtower_core::{MonitorRuntime, MonitorState};

/// Rows per multi-row INSERT of raw results (12 parameters each, far below SQLite's limit).
pub(crate) const RAW_CHUNK: usize = 500;
/// Rows per multi-row status upsert.
pub(crate) const STATUS_CHUNK: usize = 500;

/// The new `monitor_status` content of one monitor.
#[derive(Debug, Clone)]
pub(crate) struct StatusUpdate {
    pub monitor_id: i64,
    pub team_id: i64,
    /// Absent when the batch carries only results for this monitor: its runtime is left alone.
    pub runtime: Option<MonitorRuntime>,
    pub last_checked_at: Option<i64>,
    pub last_result: Option<String>,
}

impl StatusUpdate {
    /// The runtime columns to insert when the monitor has no status row yet.
    pub fn runtime_or_pending(&self) -> MonitorRuntime {
        self.runtime.clone().unwrap_or_else(|| MonitorRuntime {
            state: MonitorState::Pending,
            ..MonitorRuntime::new(watchtower_core::Timestamp(
                self.last_checked_at.unwrap_or(0),
            ))
        })
    }
}

/// A batch ready to write.
#[derive(Debug, Default)]
pub(crate) struct PreparedBatch<'a> {
    pub raw: Vec<RawColumns>,
    pub with_runtime: Vec<StatusUpdate>,
    pub results_only: Vec<StatusUpdate>,
    /// Each change with the team its monitor really belongs to.
    pub changes: Vec<(i64, &'a ChangeRecord)>,
}

/// Every monitor id the batch mentions.
pub(crate) fn monitor_ids(batch: &ResultBatch) -> Vec<i64> {
    let mut ids: Vec<i64> = batch.monitors().map(|monitor| monitor.0).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Splits the batch into rows, dropping monitors missing from `teams` (deleted meanwhile) and
/// taking each monitor's team from the database rather than from the record.
pub(crate) fn prepare<'a>(batch: &'a ResultBatch, teams: &HashMap<i64, i64>) -> PreparedBatch<'a> {
    let mut prepared = PreparedBatch::default();
    let mut status: BTreeMap<i64, StatusUpdate> = BTreeMap::new();
    for record in &batch.results {
        let Some(&team) = teams.get(&record.monitor_id.0) else {
            continue;
        };
        let columns = RawColumns::new(
            watchtower_core::TeamId(team),
            record.monitor_id,
            &record.outcome,
        );
        let entry = status
            .entry(columns.monitor_id)
            .or_insert_with(|| StatusUpdate {
                monitor_id: columns.monitor_id,
                team_id: team,
                runtime: None,
                last_checked_at: None,
                last_result: None,
            });
        if entry
            .last_checked_at
            .is_none_or(|at| columns.checked_at >= at)
        {
            entry.last_checked_at = Some(columns.checked_at);
            entry.last_result = Some(
                serde_json::to_string(&record.outcome).expect("a check outcome always serializes"),
            );
        }
        prepared.raw.push(columns);
    }
    for record in &batch.runtimes {
        let Some(&team) = teams.get(&record.monitor_id.0) else {
            continue;
        };
        let entry = status
            .entry(record.monitor_id.0)
            .or_insert_with(|| StatusUpdate {
                monitor_id: record.monitor_id.0,
                team_id: team,
                runtime: None,
                last_checked_at: None,
                last_result: None,
            });
        // The last runtime of a monitor in the batch is its state after the batch.
        entry.runtime = Some(record.runtime.clone());
    }
    for update in status.into_values() {
        if update.runtime.is_some() {
            prepared.with_runtime.push(update);
        } else {
            prepared.results_only.push(update);
        }
    }
    prepared.changes = batch
        .changes
        .iter()
        .filter_map(|change| Some((*teams.get(&change.monitor_id.0)?, change)))
        .collect();
    prepared
}
