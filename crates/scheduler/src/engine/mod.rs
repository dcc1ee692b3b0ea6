//! The scheduler loop. One task owns every monitor's entry and a min-heap of due times, so an idle
//! monitor costs a heap entry and a few words, never a task or a timer. Due checks are spawned
//! as short tasks that wait for a per-host and a global permit, so a slow target delays only itself.

mod heartbeat;

use crate::SchedulerConfig;
use crate::checker::Checker;
use crate::clock::Clock;
use crate::cluster::{Membership, RelayMessage};
use crate::slots::{CATCH_UP_WINDOW, first_slot, next_slot, slot_after_gap};
use crate::stats::Stats;
use crate::writer::WriteItem;
use futures::FutureExt;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::Instrument;
use watchtower_core::cluster::ShardId;
use watchtower_core::monitor::PushSettings;
use watchtower_core::{
    CheckOutcome, ErrorClass, Monitor, MonitorId, MonitorKind, MonitorRuntime, MonitorState,
    TeamId, Timestamp,
};
use watchtower_store::{
    ChangeRecord, ClusterStore, ResultRecord, RuntimeRecord, ScheduledMonitor, StoreError,
};

/// What a heartbeat ping says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingKind {
    /// The job ran and succeeded.
    Success,
    /// The job ran and failed (`/fail`).
    Fail,
    /// The job started (`/start`); the next success reports its duration.
    Start,
}

enum Command {
    Upsert(Box<Monitor>),
    Remove(MonitorId),
    Ping {
        monitor: MonitorId,
        kind: PingKind,
        at: Timestamp,
    },
    CheckNow(MonitorId),
    /// The monitors of shards this instance just took, with their stored state.
    Adopt(Vec<ScheduledMonitor>),
    /// Shards this instance no longer holds: their monitors leave the engine. `lost`: taken or
    /// run out rather than given up, so nothing made under the old lease may be written.
    DropShards {
        shards: Vec<ShardId>,
        lost: bool,
    },
    Shutdown,
}

/// How a clustered scheduler reaches the instance that checks a monitor it does not.
#[derive(Clone)]
struct Relay {
    membership: Arc<Membership>,
    cluster: Arc<dyn ClusterStore>,
}

impl Relay {
    /// Publishes `message` unless this instance checks the monitor itself (`Ok(false)`).
    async fn elsewhere(&self, message: RelayMessage) -> Result<bool, StoreError> {
        if self.membership.checks(message.monitor()) {
            return Ok(false);
        }
        self.cluster.publish(&message.encode()).await?;
        Ok(true)
    }
}

type PushTokens = Arc<RwLock<HashMap<String, (TeamId, MonitorId)>>>;

/// A cheap, cloneable handle to the running scheduler.
#[derive(Clone)]
pub struct SchedulerHandle {
    commands: mpsc::Sender<Command>,
    pub stats: Arc<Stats>,
    push_tokens: PushTokens,
    clock: Clock,
    relay: Option<Relay>,
}

impl SchedulerHandle {
    /// Starts scheduling a new monitor, or applies a changed one (pause and resume included). In
    /// a cluster, the instance holding the monitor's shard does, told through the database.
    pub async fn upsert(&self, monitor: Monitor) {
        self.stats.forget_broken(monitor.id);
        let message = RelayMessage::Changed {
            team: monitor.team_id,
            monitor: monitor.id,
        };
        if !self.relayed(message).await {
            self.upsert_here(monitor).await;
        }
    }

    pub async fn remove(&self, id: MonitorId) {
        self.stats.forget_broken(id);
        // Every instance forgets it: a shard can move while the message travels.
        self.relayed(RelayMessage::Removed { monitor: id }).await;
        self.remove_here(id).await;
    }

    /// Runs a monitor's check as soon as possible.
    pub async fn check_now(&self, id: MonitorId) {
        if !self.relayed(RelayMessage::CheckNow { monitor: id }).await {
            self.check_now_here(id).await;
        }
    }

    /// Whether another instance was told (this one does not check the monitor). A message that
    /// cannot be published is logged: the change is in the database, and the owner reads it
    /// when it next takes the shard.
    async fn relayed(&self, message: RelayMessage) -> bool {
        let Some(relay) = &self.relay else {
            return false;
        };
        match relay.elsewhere(message).await {
            Ok(elsewhere) => elsewhere,
            Err(error) => {
                tracing::warn!(%error, monitor = %message.monitor(), "cannot tell the instance that checks this monitor");
                true
            }
        }
    }

    pub(crate) async fn upsert_here(&self, monitor: Monitor) {
        let _ = self.commands.send(Command::Upsert(Box::new(monitor))).await;
    }

    pub(crate) async fn remove_here(&self, id: MonitorId) {
        let _ = self.commands.send(Command::Remove(id)).await;
    }

    pub(crate) async fn check_now_here(&self, id: MonitorId) {
        let _ = self.commands.send(Command::CheckNow(id)).await;
    }

    pub(crate) async fn ping_here(
        &self,
        monitor: MonitorId,
        kind: PingKind,
        at: Timestamp,
    ) -> bool {
        self.commands
            .send(Command::Ping { monitor, kind, at })
            .await
            .is_ok()
    }

    pub(crate) async fn adopt(&self, monitors: Vec<ScheduledMonitor>) {
        let _ = self.commands.send(Command::Adopt(monitors)).await;
    }

    pub(crate) async fn drop_shards(&self, shards: Vec<ShardId>, lost: bool) {
        let _ = self
            .commands
            .send(Command::DropShards { shards, lost })
            .await;
    }

    /// Whether this scheduler checks only its cluster shards' monitors.
    pub fn is_clustered(&self) -> bool {
        self.relay.is_some()
    }

    /// The monitor a push token belongs to, without touching the database.
    pub fn push_target(&self, token: &str) -> Option<(TeamId, MonitorId)> {
        self.push_tokens
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(token)
            .copied()
    }

    /// Records a heartbeat ping now. Returns false when the scheduler has stopped, or in a cluster
    /// when the instance checking the monitor cannot be told.
    pub async fn ping(&self, monitor: MonitorId, kind: PingKind) -> bool {
        let at = self.clock.now();
        let message = RelayMessage::Ping { monitor, kind, at };
        match &self.relay {
            Some(relay) => match relay.elsewhere(message).await {
                Ok(true) => true,
                Ok(false) => self.ping_here(monitor, kind, at).await,
                Err(error) => {
                    tracing::warn!(%error, %monitor, "cannot pass a ping to the instance that checks this monitor");
                    false
                }
            },
            None => self.ping_here(monitor, kind, at).await,
        }
    }

    /// Stops dispatching, waits briefly for running checks, and hands every result to the writer.
    pub async fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown).await;
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }
}

/// Starts schedulers.
pub struct Scheduler;

impl Scheduler {
    /// Starts the loop with the monitors stored so far; every result and state change goes to
    /// `output` (the result writer, or a test). The returned task ends after `shutdown`.
    pub fn start(
        config: SchedulerConfig,
        clock: Clock,
        checker: Arc<dyn Checker>,
        output: mpsc::Sender<WriteItem>,
        monitors: Vec<ScheduledMonitor>,
    ) -> (SchedulerHandle, JoinHandle<()>) {
        Self::start_with(config, clock, checker, output, monitors, None)
    }

    /// Starts a loop that checks only the monitors of the shards `membership` holds: it starts
    /// empty, and the cluster task (`cluster::Cluster::start`) hands it each shard's monitors as
    /// it takes the shard. Changes for monitors it does not check go to their owner through
    /// `cluster`.
    pub fn start_clustered(
        config: SchedulerConfig,
        clock: Clock,
        checker: Arc<dyn Checker>,
        output: mpsc::Sender<WriteItem>,
        membership: Arc<Membership>,
        cluster: Arc<dyn ClusterStore>,
    ) -> (SchedulerHandle, JoinHandle<()>) {
        let relay = Relay {
            membership,
            cluster,
        };
        Self::start_with(config, clock, checker, output, Vec::new(), Some(relay))
    }

    fn start_with(
        config: SchedulerConfig,
        clock: Clock,
        checker: Arc<dyn Checker>,
        output: mpsc::Sender<WriteItem>,
        monitors: Vec<ScheduledMonitor>,
        relay: Option<Relay>,
    ) -> (SchedulerHandle, JoinHandle<()>) {
        let (commands, command_receiver) = mpsc::channel(65_536);
        let stats = Arc::new(Stats::default());
        let push_tokens = PushTokens::default();
        let (completions, completion_receiver) = mpsc::unbounded_channel();
        let mut engine = Engine {
            global: Arc::new(Semaphore::new(config.max_concurrent_checks)),
            config,
            clock,
            checker,
            output,
            entries: HashMap::with_capacity(monitors.len()),
            queue: BinaryHeap::with_capacity(monitors.len()),
            hosts: HashMap::new(),
            completions,
            stats: stats.clone(),
            push_tokens: push_tokens.clone(),
            running_checks: 0,
            membership: relay.as_ref().map(|relay| relay.membership.clone()),
            removed: Default::default(),
        };
        let startup_items = engine.take_in(monitors, CATCH_UP_WINDOW);
        let join = tokio::spawn(async move {
            for item in startup_items {
                engine.emit(item).await;
            }
            engine.run(command_receiver, completion_receiver).await;
        });
        (
            SchedulerHandle {
                commands,
                stats,
                push_tokens,
                clock,
                relay,
            },
            join,
        )
    }
}

/// How long a catch-up after taking over `count` monitors is spread over: at most 2,000 checks a
/// second, within 1 to 5 s.
fn adoption_window(count: usize) -> Duration {
    Duration::from_millis((count as u64 / 2).clamp(1_000, CATCH_UP_WINDOW.as_millis() as u64))
}

struct PushTrack {
    /// The last ping, or the expected slot last missed, or when watching began.
    last_seen: Timestamp,
    started_at: Option<Timestamp>,
    /// The last ping that became a result, and whether it reported a failure (see
    /// `heartbeat::PING_RESULT_SPACING`).
    last_recorded: Option<(Timestamp, bool)>,
}

impl PushTrack {
    fn new(last_seen: Timestamp) -> Self {
        Self {
            last_seen,
            started_at: None,
            last_recorded: None,
        }
    }
}

struct Entry {
    monitor: Arc<Monitor>,
    runtime: MonitorRuntime,
    /// Bumped when the spec changes: results of checks started before are dropped.
    spec_version: u32,
    /// Bumped at every scheduling: only the newest heap entry of a monitor is live.
    slot_token: u32,
    running: bool,
    /// Its shard was given up while its check ran: the result is written (the lease is released
    /// a tick later), then the entry goes. Otherwise the next owner, seeing no result for the
    /// slot, would check it again at once.
    leaving: bool,
    push: Option<PushTrack>,
}

struct Completion {
    monitor: MonitorId,
    spec_version: u32,
    outcome: CheckOutcome,
}

struct Engine {
    config: SchedulerConfig,
    clock: Clock,
    checker: Arc<dyn Checker>,
    output: mpsc::Sender<WriteItem>,
    entries: HashMap<MonitorId, Entry>,
    queue: BinaryHeap<Reverse<(Instant, MonitorId, u32)>>,
    global: Arc<Semaphore>,
    hosts: HashMap<String, Arc<Semaphore>>,
    completions: mpsc::UnboundedSender<Completion>,
    stats: Arc<Stats>,
    push_tokens: PushTokens,
    running_checks: usize,
    /// In a cluster: checks run only for monitors whose shard lease is believed held.
    membership: Option<Arc<Membership>>,
    /// In a cluster: monitors removed while not in the engine, so a shard's monitors read from
    /// the database just before the removal do not bring one back. Emptied at each adoption.
    removed: std::collections::HashSet<MonitorId>,
}

impl Engine {
    /// Schedules stored monitors (at start, or a shard's taken over) from their saved runtimes;
    /// returns what must be written first: a file applied meanwhile may have paused or resumed
    /// one.
    fn take_in(&mut self, monitors: Vec<ScheduledMonitor>, catch_up: Duration) -> Vec<WriteItem> {
        let mut items = Vec::new();
        let removed = std::mem::take(&mut self.removed);
        for scheduled in monitors {
            let ScheduledMonitor {
                mut monitor,
                mut runtime,
                last_checked_at,
            } = scheduled;
            if removed.contains(&monitor.id) {
                continue;
            }
            // A change relayed while the shard's monitors were being read is newer than them.
            if let Some(entry) = self.entries.get(&monitor.id)
                && entry.monitor.updated_at > monitor.updated_at
            {
                monitor = Monitor::clone(&entry.monitor);
            }
            let now = self.clock.now();
            let change = match (monitor.spec.paused, runtime.state == MonitorState::Paused) {
                (true, false) => runtime.pause(now),
                (false, true) => runtime.resume(now),
                _ => None,
            };
            if let Some(change) = change {
                let (team_id, monitor_id) = (monitor.team_id, monitor.id);
                items.push(WriteItem::Change(ChangeRecord {
                    team_id,
                    monitor_id,
                    change,
                    outcome: None,
                }));
                items.push(WriteItem::Runtime(RuntimeRecord {
                    monitor_id,
                    runtime: runtime.clone(),
                }));
            }
            // Taken over again: the checks of the entry's earlier life are dropped.
            let spec_version = self
                .entries
                .get(&monitor.id)
                .map_or(0, |old| old.spec_version.wrapping_add(1));
            self.forget(monitor.id);
            self.stats
                .adjust_open_incidents(i64::from(runtime.incident_open));
            let id = monitor.id;
            self.insert(monitor, runtime, last_checked_at, catch_up);
            if let Some(entry) = self.entries.get_mut(&id) {
                entry.spec_version = spec_version;
            }
        }
        self.stats.set_monitors(self.entries.len());
        items
    }

    /// Whether this instance checks `id` now (always, outside a cluster).
    fn checks(&self, id: MonitorId) -> bool {
        self.membership
            .as_ref()
            .is_none_or(|membership| membership.checks(id))
    }

    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut completions: mpsc::UnboundedReceiver<Completion>,
    ) {
        loop {
            let next_due = self.queue.peek().map(|Reverse((at, _, _))| *at);
            tokio::select! {
                biased;
                Some(done) = completions.recv() => self.on_completion(done).await,
                command = commands.recv() => match command {
                    Some(Command::Shutdown) | None => break,
                    Some(command) => self.on_command(command).await,
                },
                _ = tokio::time::sleep_until(next_due.unwrap_or_else(Instant::now)), if next_due.is_some() => {
                    self.dispatch_due().await;
                }
            }
        }
        // Let running checks finish briefly so their results are not lost.
        let deadline = Instant::now() + self.config.shutdown_grace;
        while self.running_checks > 0 {
            match tokio::time::timeout_at(deadline, completions.recv()).await {
                Ok(Some(done)) => self.on_completion(done).await,
                _ => break,
            }
        }
        if self.running_checks > 0 {
            tracing::warn!(
                running = self.running_checks,
                "shutting down with checks still running; their results are dropped"
            );
        }
    }

    fn insert(
        &mut self,
        monitor: Monitor,
        runtime: MonitorRuntime,
        last_checked_at: Option<Timestamp>,
        catch_up: Duration,
    ) {
        let now = self.clock.now();
        let push = matches!(monitor.spec.kind, MonitorKind::Push(_))
            .then(|| PushTrack::new(last_checked_at.unwrap_or(now).min(now)));
        self.register_token(&monitor);
        let id = monitor.id;
        self.entries.insert(
            id,
            Entry {
                monitor: Arc::new(monitor),
                runtime,
                spec_version: 0,
                slot_token: 0,
                running: false,
                leaving: false,
                push,
            },
        );
        if self.entries[&id].push.is_some() {
            self.schedule_first(id);
        } else if !self.entries[&id].monitor.spec.paused {
            let interval = self.entries[&id].monitor.spec.interval.get();
            self.schedule_at(
                id,
                slot_after_gap(id, interval, last_checked_at, now, catch_up),
            );
        }
    }

    fn register_token(&self, monitor: &Monitor) {
        if let MonitorKind::Push(PushSettings {
            token: Some(token), ..
        }) = &monitor.spec.kind
        {
            let mut tokens = self
                .push_tokens
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            tokens.insert(token.clone(), (monitor.team_id, monitor.id));
        }
    }

    fn unregister_token(&self, monitor: &Monitor) {
        if let MonitorKind::Push(PushSettings {
            token: Some(token), ..
        }) = &monitor.spec.kind
        {
            self.push_tokens
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(token);
        }
    }

    /// Puts a monitor's next event on the heap: its first slot, or its heartbeat deadline.
    fn schedule_first(&mut self, id: MonitorId) {
        let now = self.clock.now();
        let Some(entry) = self.entries.get(&id) else {
            return;
        };
        if entry.monitor.spec.paused {
            return;
        }
        let at = match (&entry.monitor.spec.kind, &entry.push) {
            (MonitorKind::Push(settings), Some(track)) => settings.deadline_after(track.last_seen),
            _ => first_slot(id, entry.monitor.spec.interval.get(), now),
        };
        self.schedule_at(id, at);
    }

    fn schedule_at(&mut self, id: MonitorId, at: Timestamp) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        entry.slot_token = entry.slot_token.wrapping_add(1);
        self.queue
            .push(Reverse((self.clock.instant_at(at), id, entry.slot_token)));
    }

    async fn dispatch_due(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((due, id, token))) = self.queue.peek().copied() {
            if due > now {
                break;
            }
            self.queue.pop();
            let live = self
                .entries
                .get(&id)
                .is_some_and(|e| e.slot_token == token && !e.monitor.spec.paused);
            if !live {
                continue;
            }
            // A shard whose lease is not believed now: the lease task drops its monitors, or the
            // belief comes back with a renewal; looked at again in a second meanwhile.
            if !self.checks(id) {
                self.schedule_at(id, self.clock.now().plus(Duration::from_secs(1)));
                continue;
            }
            if self.entries[&id].push.is_some() {
                self.check_push_deadline(id).await;
            } else if self.entries[&id].running {
                // Still running from the last slot: skip this slot rather than pile up.
                self.stats.record_skip();
                let interval = self.entries[&id].monitor.spec.interval.get();
                self.schedule_at(id, next_slot(id, interval, self.clock.now()));
            } else {
                self.spawn_check(id, due);
            }
        }
    }

    fn spawn_check(&mut self, id: MonitorId, due: Instant) {
        let entry = self.entries.get_mut(&id).expect("checked by caller");
        entry.running = true;
        self.running_checks += 1;
        let monitor = entry.monitor.clone();
        let spec_version = entry.spec_version;
        let host_permits = monitor.spec.kind.target_host().map(|host| {
            self.hosts
                .entry(host.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.config.max_checks_per_host)))
                .clone()
        });
        let (global, checker, stats, clock, done) = (
            self.global.clone(),
            self.checker.clone(),
            self.stats.clone(),
            self.clock,
            self.completions.clone(),
        );
        let margin = self.config.hard_deadline_margin;
        tokio::spawn(async move {
            let _host = match host_permits {
                Some(permits) => permits.acquire_owned().await.ok(),
                None => None,
            };
            let _global = global.acquire_owned().await;
            let started = Instant::now();
            let started_wall = clock.wall_at(started);
            stats.record_start(started_wall, started.saturating_duration_since(due));
            let timeout = monitor.spec.timeout.get();
            // DEBUG: free when disabled, which the default `info` filter does on this hot path.
            let probe_span = tracing::debug_span!(
                "probe",
                monitor = %monitor.id,
                kind = monitor.spec.kind.name(),
            );
            let check = AssertUnwindSafe(
                checker
                    .check(&monitor.spec.kind, timeout)
                    .instrument(probe_span),
            )
            .catch_unwind();
            let mut outcome = match tokio::time::timeout(timeout + margin, check).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(_)) => CheckOutcome::down(
                    started_wall,
                    started.elapsed(),
                    ErrorClass::Internal,
                    "the check panicked (a bug; please report it)",
                ),
                Err(_) => CheckOutcome::down(
                    started_wall,
                    started.elapsed(),
                    ErrorClass::Timeout,
                    format!("no result within {}; check abandoned", monitor.spec.timeout),
                ),
            };
            outcome.checked_at = started_wall;
            let _ = done.send(Completion {
                monitor: monitor.id,
                spec_version,
                outcome,
            });
        });
    }

    async fn on_completion(&mut self, done: Completion) {
        self.running_checks -= 1;
        let now = self.clock.now();
        self.stats
            .record_completion(now, done.outcome.status.is_success());
        let Some(entry) = self.entries.get_mut(&done.monitor) else {
            return;
        };
        if entry.spec_version != done.spec_version {
            return;
        }
        entry.running = false;
        let kind = entry.monitor.spec.kind.name();
        metrics::counter!("watchtower_checks_total", "kind" => kind, "result" => done.outcome.status.as_str()).increment(1);
        metrics::histogram!("watchtower_check_duration_seconds", "kind" => kind)
            .record(done.outcome.latency.as_secs_f64());
        let started = done.outcome.checked_at;
        self.observe(done.monitor, done.outcome).await;
        // A failure being confirmed is retried soon; anything else goes back to the cadence.
        let Some(entry) = self.entries.get(&done.monitor) else {
            return;
        };
        if entry.leaving {
            self.forget(done.monitor);
            return;
        }
        if entry.monitor.spec.paused {
            return;
        }
        let spec = &entry.monitor.spec;
        let next = if entry.runtime.is_retrying() {
            now.plus(spec.retry_interval.get())
        } else {
            // Half an interval at least after this check began: a check off the cadence (a
            // catch-up after a start or a shard taken over, a "check now") is not followed by
            // its slot a moment later.
            let interval = spec.interval.get();
            next_slot(done.monitor, interval, started.plus(interval / 2).max(now))
        };
        self.schedule_at(done.monitor, next);
    }

    /// Runs a result through the state machine and hands result, change and runtime to the writer.
    async fn observe(&mut self, id: MonitorId, outcome: CheckOutcome) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        let policy = entry.monitor.spec.detection_policy();
        let change = entry.runtime.observe(&outcome, policy);
        if let Some(change) = &change {
            self.stats.adjust_open_incidents(
                i64::from(change.opens_incident) - i64::from(change.resolves_incident),
            );
        }
        let team_id = entry.monitor.team_id;
        let runtime = entry.runtime.clone();
        if let Some(change) = &change {
            tracing::info!(monitor = %id, from = %change.from, to = %change.to, cause = %change.cause, "state changed");
        }
        self.emit(WriteItem::Result(ResultRecord {
            team_id,
            monitor_id: id,
            outcome: outcome.clone(),
        }))
        .await;
        if let Some(change) = change {
            self.emit(WriteItem::Change(ChangeRecord {
                team_id,
                monitor_id: id,
                change,
                outcome: Some(outcome),
            }))
            .await;
        }
        self.emit(WriteItem::Runtime(RuntimeRecord {
            monitor_id: id,
            runtime,
        }))
        .await;
    }

    async fn emit(&self, item: WriteItem) {
        if self.output.send(item).await.is_err() {
            tracing::error!("result writer is gone; a result was not stored");
        }
    }

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::Upsert(monitor) => self.upsert(*monitor).await,
            Command::Remove(id) => {
                if self.entries.contains_key(&id) {
                    self.forget(id);
                } else if self.membership.is_some() {
                    self.removed.insert(id);
                }
            }
            Command::Ping { monitor, kind, at } => {
                if self.checks(monitor) {
                    self.on_ping(monitor, kind, at).await;
                }
            }
            Command::CheckNow(id) => {
                if self.checks(id)
                    && self
                        .entries
                        .get(&id)
                        .is_some_and(|e| !e.running && !e.monitor.spec.paused && e.push.is_none())
                {
                    self.spawn_check(id, Instant::now());
                }
            }
            Command::Adopt(monitors) => {
                let window = adoption_window(monitors.len());
                for item in self.take_in(monitors, window) {
                    self.emit(item).await;
                }
            }
            Command::DropShards { shards, lost } => {
                self.drop_shards(&shards, lost);
                if lost {
                    self.emit(WriteItem::ShardsLost(shards)).await;
                }
            }
            Command::Shutdown => {}
        }
        self.stats.set_monitors(self.entries.len());
    }

    fn drop_shards(&mut self, shards: &[ShardId], lost: bool) {
        let Some(membership) = self.membership.clone() else {
            return;
        };
        let leaving: Vec<MonitorId> = self
            .entries
            .keys()
            .copied()
            .filter(|id| shards.contains(&membership.shard_of(*id)))
            .collect();
        for id in leaving {
            match self.entries.get_mut(&id) {
                // Given up: the running check's result is still written under the lease.
                Some(entry) if entry.running && !lost => entry.leaving = true,
                _ => self.forget(id),
            }
        }
    }

    fn forget(&mut self, id: MonitorId) {
        if let Some(entry) = self.entries.remove(&id) {
            self.unregister_token(&entry.monitor);
            self.stats
                .adjust_open_incidents(-i64::from(entry.runtime.incident_open));
        }
    }

    async fn upsert(&mut self, monitor: Monitor) {
        let now = self.clock.now();
        let id = monitor.id;
        // Another instance checks it; a change that raced a shard's move is read from the
        // database when the shard is taken.
        if !self.checks(id) {
            return;
        }
        let Some(entry) = self.entries.get_mut(&id) else {
            let runtime = if monitor.spec.paused {
                MonitorRuntime::new_paused(now)
            } else {
                MonitorRuntime::new(now)
            };
            self.insert(monitor, runtime, None, CATCH_UP_WINDOW);
            return;
        };
        let old = std::mem::replace(&mut entry.monitor, Arc::new(monitor));
        entry.spec_version = entry.spec_version.wrapping_add(1);
        entry.running = false;
        let change = match (
            entry.monitor.spec.paused,
            entry.runtime.state == MonitorState::Paused,
        ) {
            (true, false) => entry.runtime.pause(now),
            (false, true) => entry.runtime.resume(now),
            _ => None,
        };
        entry.push = matches!(entry.monitor.spec.kind, MonitorKind::Push(_)).then(|| {
            PushTrack::new(match (&entry.push, &change) {
                (Some(track), None) => track.last_seen,
                _ => now,
            })
        });
        let (team_id, runtime) = (entry.monitor.team_id, entry.runtime.clone());
        let monitor = entry.monitor.clone();
        self.unregister_token(&old);
        self.register_token(&monitor);
        if let Some(change) = change {
            self.stats
                .adjust_open_incidents(-i64::from(change.resolves_incident));
            self.emit(WriteItem::Change(ChangeRecord {
                team_id,
                monitor_id: id,
                change,
                outcome: None,
            }))
            .await;
            self.emit(WriteItem::Runtime(RuntimeRecord {
                monitor_id: id,
                runtime,
            }))
            .await;
        }
        self.schedule_first(id);
    }
}
