//! The lease rules under faults, on a simulated clock: several instances run `plan_leases`
//! against the lease table's rules (`LeaseTable`, what PostgreSQL applies) through thousands of
//! random schedules of pauses longer than a lease, crashes, clean stops, restarts, slow round
//! trips and instance clocks that run fast or slow from different offsets; the database's clock
//! is the one truth. Every instance writes results for the shards it believes it holds, and a
//! write prepared before a pause is sent after it. Checked at every step:
//!
//! - never two unfenced writers: per shard, accepted writes come in epoch order and each epoch
//!   from one instance (a write from an instance that lost the shard is refused by the fence);
//! - an instance that is running believes it holds only leases the database says it holds;
//! - every shard is owned again within the lease time while any instance runs.

#![allow(
    clippy::print_stderr,
    reason = "the simulation reports what it measured to whoever runs it"
)]

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::time::Duration;
use watchtower_core::Timestamp;
use watchtower_core::cluster::{
    Epoch, HeldLeases, InstanceId, LeasePlan, LeaseSettings, LeaseTable, ShardId, plan_leases,
};

/// The simulation's resolution, in milliseconds of the database's clock.
const STEP_MS: i64 = 100;
/// The database clock at step 0 (far from zero, like a real clock).
const DB_START_MS: i64 = 1_767_225_600_000;

#[derive(Debug, Clone)]
struct Setup {
    /// How fast this instance's monotonic clock runs, in parts per million off the database's.
    drift_ppm: i64,
    /// Where its clock stands when the database's reads `DB_START_MS` (processes start apart).
    offset_ms: i64,
    /// Steps between reading the view and the statements arriving (a slow network or database).
    latency_steps: u32,
    /// The step at which the process starts.
    start_step: u32,
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// SIGSTOP for this many steps, then SIGCONT.
    Pause(u32),
    /// kill -9, restarted after this many steps.
    Crash(u32),
    /// SIGTERM (release everything), restarted after this many steps.
    Stop(u32),
}

#[derive(Debug, Clone)]
struct Schedule {
    shards: u16,
    instances: Vec<Setup>,
    faults: Vec<(u32, usize, Fault)>,
    steps: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    Running,
    Paused { until: u32 },
    Down { until: u32 },
}

/// Whether the database checks writes against the lease (the design), or accepts whatever the
/// writer believes (the control: shows the checks can catch a double writer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fencing {
    Database,
    WriterBelief,
}

struct PendingRound {
    apply_at: u32,
    plan: LeasePlan,
}

struct Instance {
    setup: Setup,
    index: usize,
    incarnation: u32,
    id: InstanceId,
    life: Life,
    held: HeldLeases,
    next_round_at: Duration,
    pending_round: Option<PendingRound>,
    /// Results prepared for the shards believed held, sent at the next running step.
    pending_write: Option<Vec<(ShardId, Epoch)>>,
}

impl Instance {
    fn new(index: usize, setup: Setup) -> Self {
        let life = if setup.start_step == 0 {
            Life::Running
        } else {
            Life::Down {
                until: setup.start_step,
            }
        };
        Self {
            setup,
            index,
            incarnation: 0,
            id: InstanceId::new(format!("i{index}.0")),
            life,
            held: HeldLeases::default(),
            next_round_at: Duration::ZERO,
            pending_round: None,
            pending_write: None,
        }
    }

    /// This instance's monotonic clock at `step`.
    fn local(&self, step: u32) -> Duration {
        let db_elapsed = i64::from(step) * STEP_MS;
        let local =
            self.setup.offset_ms + db_elapsed * (1_000_000 + self.setup.drift_ppm) / 1_000_000;
        Duration::from_millis(local as u64)
    }

    fn restart(&mut self, step: u32) {
        self.incarnation += 1;
        self.id = InstanceId::new(format!("i{}.{}", self.index, self.incarnation));
        self.life = Life::Running;
        self.held.clear();
        self.next_round_at = self.local(step);
        self.pending_round = None;
        self.pending_write = None;
    }
}

struct Sim {
    settings: LeaseSettings,
    fencing: Fencing,
    table: LeaseTable,
    instances: Vec<Instance>,
    faults: Vec<(u32, usize, Fault)>,
    step: u32,
    /// Per shard: the last accepted write's epoch and writer.
    last_write: Vec<Option<(Epoch, InstanceId)>>,
    /// Per shard: how long it has been unowned while some instance was running.
    orphaned_ms: Vec<i64>,
    report: Report,
}

#[derive(Debug, Default)]
struct Report {
    accepted: u64,
    refused: u64,
    grants: u64,
    max_orphaned_ms: i64,
    violations: Vec<String>,
}

impl Sim {
    fn new(schedule: &Schedule, settings: LeaseSettings, fencing: Fencing) -> Self {
        let shards = usize::from(schedule.shards);
        let mut faults = schedule.faults.clone();
        faults.sort_by_key(|(step, _, _)| *step);
        Self {
            settings: LeaseSettings {
                shard_count: schedule.shards,
                ..settings
            },
            fencing,
            table: LeaseTable::new(schedule.shards),
            instances: (schedule.instances.iter().cloned().enumerate())
                .map(|(index, setup)| Instance::new(index, setup))
                .collect(),
            faults,
            step: 0,
            last_write: vec![None; shards],
            orphaned_ms: vec![0; shards],
            report: Report::default(),
        }
    }

    fn now(&self) -> Timestamp {
        Timestamp(DB_START_MS + i64::from(self.step) * STEP_MS)
    }

    fn run(&mut self, steps: u32) {
        for _ in 0..steps {
            self.advance();
        }
    }

    /// One step of the database's clock.
    fn advance(&mut self) {
        let step = self.step;
        let now = self.now();
        let due: Vec<(u32, usize, Fault)> = self
            .faults
            .iter()
            .filter(|(at, _, _)| *at == step)
            .copied()
            .collect();
        for (_, index, fault) in due {
            self.inject(index, fault);
        }
        for instance in &mut self.instances {
            match instance.life {
                Life::Paused { until } if until <= step => instance.life = Life::Running,
                Life::Down { until } if until <= step => instance.restart(step),
                _ => {}
            }
        }
        // A different order each step, so no instance always wins the races.
        let count = self.instances.len();
        for offset in 0..count {
            let index = (offset + step as usize) % count;
            if self.instances[index].life == Life::Running {
                self.run_instance(index, now);
            }
        }
        self.check_ownership(now);
        self.step += 1;
    }

    fn inject(&mut self, index: usize, fault: Fault) {
        let step = self.step;
        let now = self.now();
        if self.instances[index].life != Life::Running {
            return;
        }
        match fault {
            Fault::Pause(steps) => {
                self.instances[index].life = Life::Paused {
                    until: step + steps,
                }
            }
            Fault::Crash(steps) => {
                self.instances[index].life = Life::Down {
                    until: step + steps,
                }
            }
            Fault::Stop(steps) => {
                // The shutdown order: the writer's last flush, then the leases go.
                self.send_pending_write(index, now);
                let instance = &mut self.instances[index];
                let plan = plan_leases(&instance.id, &self.table.view(now), &self.settings, true);
                self.table.release(&instance.id, &plan.release, now);
                self.table.deregister(&instance.id);
                instance.held.clear();
                instance.life = Life::Down {
                    until: step + steps,
                };
            }
        }
    }

    fn run_instance(&mut self, index: usize, now: Timestamp) {
        let step = self.step;
        self.send_pending_write(index, now);
        let instance = &mut self.instances[index];
        let local = instance.local(step);
        if instance.pending_round.is_none() && local >= instance.next_round_at {
            // One statement: the heartbeat, and the view it reads.
            self.table.heartbeat(&instance.id, now);
            let plan = plan_leases(&instance.id, &self.table.view(now), &self.settings, false);
            instance.pending_round = Some(PendingRound {
                apply_at: step + instance.setup.latency_steps,
                plan,
            });
            instance.next_round_at = local + self.settings.tick;
        }
        if instance
            .pending_round
            .as_ref()
            .is_some_and(|round| round.apply_at <= step)
        {
            let plan = instance.pending_round.take().expect("checked").plan;
            let lease = self.settings.lease;
            let released = self.table.release(&instance.id, &plan.release, now);
            let renewed = self.table.renew(&instance.id, &plan.renew, now, lease);
            let granted = self.table.acquire(&instance.id, &plan.acquire, now, lease);
            self.report.grants += granted.len() as u64;
            debug_assert!(released.len() <= plan.release.len());
            // Whatever was meant to go is gone, and a refused renewal means the lease is lost.
            instance
                .held
                .forget(plan.release.iter().map(|(shard, _)| *shard));
            instance.held.forget(
                plan.renew
                    .iter()
                    .map(|(shard, _)| *shard)
                    .filter(|shard| !renewed.iter().any(|grant| grant.shard == *shard)),
            );
            instance.held.record(local, &renewed, &self.settings);
            instance.held.record(local, &granted, &self.settings);
        }
        let tokens = instance.held.tokens(local);
        for (shard, epoch) in &tokens {
            let row = self.table.row(*shard).expect("shard in range");
            if row.owner.as_ref() != Some(&instance.id)
                || row.epoch != *epoch
                || row.expires_at <= now
            {
                self.report.violations.push(format!(
                    "step {step}: {} believes it holds shard {shard} at epoch {epoch}, the database \
                     has {:?} at epoch {} until {}",
                    instance.id,
                    row.owner,
                    row.epoch,
                    row.expires_at.0 - now.0
                ));
            }
        }
        if !tokens.is_empty() {
            instance.pending_write = Some(tokens);
        }
    }

    fn send_pending_write(&mut self, index: usize, now: Timestamp) {
        let instance = &mut self.instances[index];
        let Some(tokens) = instance.pending_write.take() else {
            return;
        };
        let accepted = match self.fencing {
            Fencing::Database => self.table.fence(&instance.id, &tokens, now).is_ok(),
            Fencing::WriterBelief => true,
        };
        if !accepted {
            self.report.refused += 1;
            return;
        }
        self.report.accepted += 1;
        for (shard, epoch) in tokens {
            let last = &mut self.last_write[usize::from(shard.0)];
            if let Some((last_epoch, last_writer)) = last
                && (epoch < *last_epoch || (epoch == *last_epoch && *last_writer != instance.id))
            {
                self.report.violations.push(format!(
                    "step {}: shard {shard} written by {} at epoch {epoch} after {last_writer} at \
                     epoch {last_epoch}",
                    self.step, instance.id
                ));
            }
            *last = Some((epoch, instance.id.clone()));
        }
    }

    fn check_ownership(&mut self, now: Timestamp) {
        let anyone_running = self.instances.iter().any(|i| i.life == Life::Running);
        let limit = self.settings.lease.as_millis() as i64;
        for shard in 0..self.settings.shard_count {
            let row = self.table.row(ShardId(shard)).expect("shard in range");
            let orphaned = &mut self.orphaned_ms[usize::from(shard)];
            if row.owner.is_some() && row.expires_at > now {
                *orphaned = 0;
            } else if anyone_running {
                *orphaned += STEP_MS;
                self.report.max_orphaned_ms = self.report.max_orphaned_ms.max(*orphaned);
                if *orphaned > limit {
                    self.report.violations.push(format!(
                        "step {}: shard {shard} unowned for {orphaned} ms while instances run",
                        self.step
                    ));
                }
            }
        }
    }

    /// How many shards each instance holds at the database now.
    fn holdings(&self) -> Vec<usize> {
        let now = self.now();
        self.instances
            .iter()
            .map(|instance| {
                (0..self.settings.shard_count)
                    .filter_map(|shard| self.table.row(ShardId(shard)))
                    .filter(|row| row.owner.as_ref() == Some(&instance.id) && row.expires_at > now)
                    .count()
            })
            .collect()
    }
}

fn simulate(schedule: &Schedule, fencing: Fencing) -> Report {
    let mut sim = Sim::new(schedule, LeaseSettings::default(), fencing);
    sim.run(schedule.steps);
    sim.report
}

fn setup() -> impl Strategy<Value = Setup> {
    (-50_000i64..=50_000, 0i64..10_000_000, 0u32..=3, 0u32..100).prop_map(
        |(drift_ppm, offset_ms, latency_steps, start_step)| Setup {
            drift_ppm,
            offset_ms,
            latency_steps,
            start_step,
        },
    )
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        // Up to 40 s: past a 15 s lease, often.
        3 => (1u32..=400).prop_map(Fault::Pause),
        1 => (1u32..=300).prop_map(Fault::Crash),
        1 => (1u32..=300).prop_map(Fault::Stop),
    ]
}

const STEPS: u32 = 1_800; // three minutes of the database's clock

fn schedule() -> impl Strategy<Value = Schedule> {
    (
        prop::sample::select(vec![1u16, 7, 32]),
        prop::collection::vec(setup(), 1..=5),
    )
        .prop_flat_map(|(shards, instances)| {
            let count = instances.len();
            let faults = prop::collection::vec((0..STEPS, 0..count, fault()), 0..=12);
            (Just(shards), Just(instances), faults)
        })
        .prop_map(|(shards, instances, faults)| Schedule {
            shards,
            instances,
            faults,
            steps: STEPS,
        })
}

/// How many schedules to run: `LEASE_SIMULATION_CASES` or 2,000.
fn cases() -> u32 {
    std::env::var("LEASE_SIMULATION_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(2_000)
}

#[test]
fn random_schedules_never_have_two_unfenced_writers_and_never_leave_a_shard_orphaned() {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let totals = std::sync::Mutex::new(Report::default());
    let outcome = runner.run(&schedule(), |schedule| {
        let report = simulate(&schedule, Fencing::Database);
        let mut totals = totals.lock().expect("not poisoned");
        totals.accepted += report.accepted;
        totals.refused += report.refused;
        totals.grants += report.grants;
        totals.max_orphaned_ms = totals.max_orphaned_ms.max(report.max_orphaned_ms);
        prop_assert!(report.violations.is_empty(), "{:#?}", report.violations);
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    let totals = totals.into_inner().expect("not poisoned");
    eprintln!(
        "{} schedules: {} writes accepted, {} refused by the fence, {} grants, longest orphan \
         {} ms",
        cases(),
        totals.accepted,
        totals.refused,
        totals.grants,
        totals.max_orphaned_ms
    );
    // The schedules must produce stale writers, or the fence was never put to the test.
    assert!(totals.refused > 0, "no write was ever refused");
}

#[test]
fn without_the_fence_the_same_schedules_produce_a_second_writer() {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&schedule(), |schedule| {
        let report = simulate(&schedule, Fencing::WriterBelief);
        prop_assert!(report.violations.is_empty());
        Ok(())
    });
    assert!(
        outcome.is_err(),
        "the checks never caught a stale writer without the fence"
    );
}

fn steady(count: usize, start_steps: &[u32]) -> Vec<Setup> {
    (0..count)
        .map(|index| Setup {
            drift_ppm: 0,
            offset_ms: 1_000 * index as i64,
            latency_steps: 1,
            start_step: start_steps.get(index).copied().unwrap_or(0),
        })
        .collect()
}

/// The longest any shard is unowned over the next `steps`.
fn longest_gap_ms(sim: &mut Sim, steps: u32) -> i64 {
    let mut gaps = vec![0i64; usize::from(sim.settings.shard_count)];
    let mut longest = 0;
    for _ in 0..steps {
        sim.advance();
        let now = Timestamp(sim.now().0 - STEP_MS);
        for (shard, gap) in gaps.iter_mut().enumerate() {
            let row = sim.table.row(ShardId(shard as u16)).expect("in range");
            if row.owner.is_some() && row.expires_at > now {
                *gap = 0;
            } else {
                *gap += STEP_MS;
                longest = longest.max(*gap);
            }
        }
    }
    longest
}

#[test]
fn a_new_instance_takes_its_share_without_a_restart_of_the_others() {
    let schedule = Schedule {
        shards: 256,
        instances: steady(4, &[0, 0, 0, 300]),
        faults: vec![],
        steps: 0,
    };
    let mut sim = Sim::new(&schedule, LeaseSettings::default(), Fencing::Database);
    sim.run(300);
    let before = sim.holdings();
    assert_eq!(before[3], 0);
    assert!(
        before[..3].iter().all(|held| (84..=86).contains(held)),
        "{before:?}"
    );

    let gap = longest_gap_ms(&mut sim, 100);
    let after = sim.holdings();
    eprintln!("3 instances {before:?} → 4 {after:?}; longest unowned {gap} ms");
    assert!(
        after.iter().all(|held| (63..=65).contains(held)),
        "{after:?}"
    );
    assert!(
        sim.instances[..3].iter().all(|i| i.incarnation == 0),
        "nobody restarted"
    );
    assert!(gap <= 2_000, "a shard waited {gap} ms for the newcomer");
    assert!(
        sim.report.violations.is_empty(),
        "{:#?}",
        sim.report.violations
    );
}

#[test]
fn sigterm_hands_every_shard_over_within_two_seconds() {
    let schedule = Schedule {
        shards: 256,
        instances: steady(3, &[]),
        faults: vec![(300, 0, Fault::Stop(100_000))],
        steps: 0,
    };
    let mut sim = Sim::new(&schedule, LeaseSettings::default(), Fencing::Database);
    sim.run(300);
    let gap = longest_gap_ms(&mut sim, 100);
    let after = sim.holdings();
    eprintln!("SIGTERM of 1 of 3: longest unowned {gap} ms, then {after:?}");
    assert!(gap < 2_000, "handoff gap {gap} ms");
    assert_eq!(after, vec![0, 128, 128]);
    assert!(
        sim.report.violations.is_empty(),
        "{:#?}",
        sim.report.violations
    );
}

#[test]
fn after_kill_9_every_shard_is_owned_again_within_the_lease_and_a_tick() {
    let schedule = Schedule {
        shards: 256,
        instances: steady(3, &[]),
        faults: vec![(300, 0, Fault::Crash(100_000))],
        steps: 0,
    };
    let mut sim = Sim::new(&schedule, LeaseSettings::default(), Fencing::Database);
    sim.run(300);
    let orphaned: Vec<u16> = (0..256)
        .filter(|shard| sim.holdings_of(0, ShardId(*shard)))
        .collect();
    let mut owned_again_after = None;
    for step in 1..=300 {
        sim.advance();
        if orphaned
            .iter()
            .all(|shard| sim.held_by_a_running_instance(ShardId(*shard)))
        {
            owned_again_after = Some(i64::from(step) * STEP_MS);
            break;
        }
    }
    let after = owned_again_after.expect("owned again within 30 s");
    eprintln!(
        "kill -9 of 1 of 3: its {} shards owned again {after} ms later",
        orphaned.len()
    );
    let bound = (sim.settings.lease + sim.settings.tick * 2).as_millis() as i64;
    assert!(after <= bound, "{after} ms");
    assert!(
        sim.report.violations.is_empty(),
        "{:#?}",
        sim.report.violations
    );
}

#[test]
fn a_paused_holders_late_write_is_refused_after_another_took_the_shard() {
    // One shard, two instances: the holder stops for 30 s with a write prepared.
    let schedule = Schedule {
        shards: 1,
        instances: steady(2, &[0, 20]),
        faults: vec![(100, 0, Fault::Pause(300))],
        steps: 0,
    };
    let mut sim = Sim::new(&schedule, LeaseSettings::default(), Fencing::Database);
    sim.run(99);
    assert!(
        sim.holdings_of(0, ShardId(0)),
        "the first instance holds the shard"
    );
    sim.run(500);
    assert!(sim.holdings_of(1, ShardId(0)), "the second took it over");
    assert!(sim.report.refused >= 1, "the late write was refused");
    assert!(
        sim.report.violations.is_empty(),
        "{:#?}",
        sim.report.violations
    );
}

impl Sim {
    fn holdings_of(&self, index: usize, shard: ShardId) -> bool {
        let row = self.table.row(shard).expect("in range");
        row.owner.as_ref() == Some(&self.instances[index].id) && row.expires_at > self.now()
    }

    fn held_by_a_running_instance(&self, shard: ShardId) -> bool {
        (0..self.instances.len()).any(|index| {
            self.instances[index].life == Life::Running && self.holdings_of(index, shard)
        })
    }
}
