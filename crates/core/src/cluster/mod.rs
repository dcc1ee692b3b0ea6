//! Sharing the checks between instances on one PostgreSQL (issue 15; `docs/SCALING.md`): monitors
//! fall into a fixed number of shards, and an instance works on a shard only while it holds the
//! shard's lease. Pure rules here; the statements that apply them are `store/src/postgres/leases.rs`.

mod held;
mod lease;
mod table;

pub use held::HeldLeases;
pub use lease::{ClusterView, InstanceBeat, LeasePlan, LeaseSettings, ShardLease, plan_leases};
pub use table::{Grant, LeaseTable};

use crate::MonitorId;
use std::fmt;

/// How many shards the monitors fall into. Fixed for the life of a database: changing it would
/// move almost every monitor to another shard.
pub const SHARD_COUNT: u16 = 256;

/// One shard: the unit of work an instance leases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShardId(pub u16);

impl ShardId {
    /// The shard a monitor belongs to among `shard_count`: a stable hash of its id, so the
    /// mapping never depends on which instance asks, its build or its start order.
    pub fn of_monitor(monitor: MonitorId, shard_count: u16) -> ShardId {
        ShardId((mix(monitor.0 as u64 ^ SHARD_SALT) % u64::from(shard_count.max(1))) as u16)
    }
}

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The fencing token of a shard: it goes up by one with every grant, so a write carrying an older
/// epoch comes from an instance that lost the shard since, and the database refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Epoch(pub i64);

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One running process. A fresh id for every start, so a restarted process never mistakes its
/// previous life's leases for its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(String);

impl InstanceId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// Not the scheduler's phase seed (`scheduler/src/slots.rs`), so a monitor's shard says nothing
// about its phase in the interval.
const SHARD_SALT: u64 = 0x5851_F42D_4C95_7F2D;

/// SplitMix64's finaliser: neighbouring inputs land far apart.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// How much `instance` prefers `shard` (rendezvous hashing): instances looking at the same free
/// shards reach for different ones first, so they rarely race for the same row.
fn preference(instance: &InstanceId, shard: ShardId) -> u64 {
    // FNV-1a of the id, then mixed with the shard.
    let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
    for byte in instance.as_str().bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3);
    }
    mix(hash ^ u64::from(shard.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_monitors_shard_never_changes() {
        // Pinned: a change here moves monitors between shards on a running cluster.
        let shards: Vec<u16> = [1, 2, 3, 1000, i64::MAX]
            .into_iter()
            .map(|id| ShardId::of_monitor(MonitorId(id), SHARD_COUNT).0)
            .collect();
        assert_eq!(shards, PINNED_SHARDS);
    }

    const PINNED_SHARDS: [u16; 5] = [195, 104, 226, 209, 233];

    #[test]
    fn sequential_monitor_ids_spread_evenly_over_the_shards() {
        let mut counts = vec![0u32; usize::from(SHARD_COUNT)];
        for id in 1..=256_000 {
            counts[usize::from(ShardId::of_monitor(MonitorId(id), SHARD_COUNT).0)] += 1;
        }
        let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        // 1,000 expected in each; a fair hash stays within about 4 standard deviations (±130).
        assert!(*min >= 850 && *max <= 1150, "min {min}, max {max}");
    }
}
