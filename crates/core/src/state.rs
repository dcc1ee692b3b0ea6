//! The monitor state machine: retries confirm DOWN, a success threshold confirms the way back up,
//! and a monitor has an open incident exactly while it is confirmed DOWN.

use crate::incident::StateChange;
use crate::outcome::{CheckOutcome, CheckStatus};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// What a monitor is known to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MonitorState {
    /// Not yet checked, or resumed and not yet checked again.
    Pending,
    Up,
    Degraded,
    Down,
    Paused,
    Maintenance,
}

impl MonitorState {
    pub fn as_str(self) -> &'static str {
        match self {
            MonitorState::Pending => "PENDING",
            MonitorState::Up => "UP",
            MonitorState::Degraded => "DEGRADED",
            MonitorState::Down => "DOWN",
            MonitorState::Paused => "PAUSED",
            MonitorState::Maintenance => "MAINTENANCE",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "PENDING" => MonitorState::Pending,
            "UP" => MonitorState::Up,
            "DEGRADED" => MonitorState::Degraded,
            "DOWN" => MonitorState::Down,
            "PAUSED" => MonitorState::Paused,
            "MAINTENANCE" => MonitorState::Maintenance,
            _ => return None,
        })
    }

    fn from_success(status: CheckStatus) -> Self {
        if status == CheckStatus::Degraded {
            MonitorState::Degraded
        } else {
            MonitorState::Up
        }
    }
}

impl std::fmt::Display for MonitorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many results confirm a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectionPolicy {
    /// Failed checks tolerated (and retried) before DOWN is confirmed: DOWN needs `retries + 1`
    /// failures in a row.
    pub retries: u32,
    /// Successful checks in a row needed to leave DOWN.
    pub success_threshold: u32,
}

impl Default for DetectionPolicy {
    fn default() -> Self {
        Self {
            retries: 0,
            success_threshold: 1,
        }
    }
}

/// The state of one monitor between checks: enough to decide the next transition, and stored so a
/// restart continues where it stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorRuntime {
    pub state: MonitorState,
    pub since: Timestamp,
    pub consecutive_failures: u32,
    pub consecutive_successes: u32,
    pub incident_open: bool,
}

impl MonitorRuntime {
    pub fn new(at: Timestamp) -> Self {
        Self {
            state: MonitorState::Pending,
            since: at,
            consecutive_failures: 0,
            consecutive_successes: 0,
            incident_open: false,
        }
    }

    /// A paused monitor starts in PAUSED.
    pub fn new_paused(at: Timestamp) -> Self {
        Self {
            state: MonitorState::Paused,
            ..Self::new(at)
        }
    }

    /// True while failures are being retried: the next check should come at the retry interval.
    pub fn is_retrying(&self) -> bool {
        self.consecutive_failures > 0 && self.state != MonitorState::Down
    }

    /// Takes one check result; returns the confirmed change it causes, if any.
    pub fn observe(
        &mut self,
        outcome: &CheckOutcome,
        policy: DetectionPolicy,
    ) -> Option<StateChange> {
        // An inconclusive check (the metric's source was unavailable) is neither a success nor
        // a failure: counting it either way would raise or clear an alert on no evidence.
        if self.state == MonitorState::Paused || outcome.is_inconclusive() {
            return None;
        }
        let at = outcome.checked_at;
        if outcome.status.is_success() {
            self.consecutive_failures = 0;
            self.consecutive_successes = self.consecutive_successes.saturating_add(1);
            let target = MonitorState::from_success(outcome.status);
            match self.state {
                MonitorState::Down
                    if self.consecutive_successes < policy.success_threshold.max(1) =>
                {
                    None
                }
                current if current == target => None,
                _ => Some(self.move_to(target, at, outcome)),
            }
        } else {
            self.consecutive_successes = 0;
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            if self.state == MonitorState::Down || self.consecutive_failures <= policy.retries {
                None
            } else {
                Some(self.move_to(MonitorState::Down, at, outcome))
            }
        }
    }

    /// Pausing stops checks; an open incident is resolved so none is left dangling.
    pub fn pause(&mut self, at: Timestamp) -> Option<StateChange> {
        (self.state != MonitorState::Paused)
            .then(|| self.move_to_without_result(MonitorState::Paused, at, "paused"))
    }

    /// Resuming starts again from PENDING.
    pub fn resume(&mut self, at: Timestamp) -> Option<StateChange> {
        (self.state == MonitorState::Paused)
            .then(|| self.move_to_without_result(MonitorState::Pending, at, "resumed"))
    }

    fn move_to(&mut self, to: MonitorState, at: Timestamp, outcome: &CheckOutcome) -> StateChange {
        let mut change =
            self.move_to_without_result(to, at, outcome.message.as_deref().unwrap_or(""));
        change.error_class = outcome.error_class;
        change
    }

    fn move_to_without_result(
        &mut self,
        to: MonitorState,
        at: Timestamp,
        cause: &str,
    ) -> StateChange {
        let from = self.state;
        let opens_incident = to == MonitorState::Down && !self.incident_open;
        let resolves_incident = to != MonitorState::Down && self.incident_open;
        self.incident_open = to == MonitorState::Down;
        self.state = to;
        self.since = at;
        if to == MonitorState::Pending || to == MonitorState::Paused {
            self.consecutive_failures = 0;
            self.consecutive_successes = 0;
        }
        StateChange {
            from,
            to,
            at,
            opens_incident,
            resolves_incident,
            cause: cause.to_owned(),
            error_class: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::ErrorClass;
    use proptest::prelude::*;
    use std::time::Duration;

    fn result(status: CheckStatus, at: i64) -> CheckOutcome {
        let mut outcome = CheckOutcome::up(Timestamp(at), Duration::from_millis(5));
        match status {
            CheckStatus::Up => {}
            CheckStatus::Degraded => outcome.degrade(ErrorClass::ResponseTime, "slow"),
            CheckStatus::Down => outcome.fail(ErrorClass::Connect, "refused"),
        }
        outcome
    }

    #[test]
    fn an_inconclusive_check_neither_confirms_nor_clears_a_failure() {
        let policy = DetectionPolicy {
            retries: 1,
            success_threshold: 1,
        };
        let unavailable = |at| {
            CheckOutcome::inconclusive(Timestamp(at), Duration::from_millis(5), "Whop answered 503")
        };
        let mut runtime = MonitorRuntime::new(Timestamp(0));
        assert!(
            runtime
                .observe(&result(CheckStatus::Up, 1), policy)
                .is_some()
        );
        // One failure, then the source is unavailable: the failure is still one of two.
        assert_eq!(runtime.observe(&result(CheckStatus::Down, 2), policy), None);
        assert_eq!(runtime.observe(&unavailable(3), policy), None);
        assert_eq!(runtime.consecutive_failures, 1);
        let down = runtime
            .observe(&result(CheckStatus::Down, 4), policy)
            .unwrap();
        assert_eq!(down.to, MonitorState::Down);
        // While DOWN, unavailability does not count as the success that would resolve it.
        for at in 5..10 {
            assert_eq!(runtime.observe(&unavailable(at), policy), None);
        }
        assert_eq!(runtime.state, MonitorState::Down);
        assert!(runtime.incident_open);
    }

    #[test]
    fn retries_confirm_down_and_the_threshold_confirms_up() {
        let policy = DetectionPolicy {
            retries: 2,
            success_threshold: 2,
        };
        let mut runtime = MonitorRuntime::new(Timestamp(0));
        assert_eq!(
            runtime
                .observe(&result(CheckStatus::Up, 1), policy)
                .unwrap()
                .to,
            MonitorState::Up
        );
        assert!(
            runtime
                .observe(&result(CheckStatus::Down, 2), policy)
                .is_none()
        );
        assert!(runtime.is_retrying());
        assert!(
            runtime
                .observe(&result(CheckStatus::Down, 3), policy)
                .is_none()
        );
        let down = runtime
            .observe(&result(CheckStatus::Down, 4), policy)
            .unwrap();
        assert_eq!(
            (down.to, down.opens_incident, down.cause.as_str()),
            (MonitorState::Down, true, "refused")
        );
        assert!(
            runtime
                .observe(&result(CheckStatus::Down, 5), policy)
                .is_none()
        );
        assert!(
            runtime
                .observe(&result(CheckStatus::Up, 6), policy)
                .is_none()
        );
        let up = runtime
            .observe(&result(CheckStatus::Up, 7), policy)
            .unwrap();
        assert_eq!((up.to, up.resolves_incident), (MonitorState::Up, true));
    }

    #[test]
    fn a_failure_between_successes_resets_the_threshold() {
        let policy = DetectionPolicy {
            retries: 0,
            success_threshold: 2,
        };
        let mut runtime = MonitorRuntime::new(Timestamp(0));
        runtime
            .observe(&result(CheckStatus::Down, 1), policy)
            .unwrap();
        assert!(
            runtime
                .observe(&result(CheckStatus::Up, 2), policy)
                .is_none()
        );
        assert!(
            runtime
                .observe(&result(CheckStatus::Down, 3), policy)
                .is_none()
        );
        assert!(
            runtime
                .observe(&result(CheckStatus::Up, 4), policy)
                .is_none()
        );
        assert!(
            runtime
                .observe(&result(CheckStatus::Degraded, 5), policy)
                .unwrap()
                .resolves_incident
        );
        assert_eq!(runtime.state, MonitorState::Degraded);
    }

    #[test]
    fn pausing_a_down_monitor_resolves_its_incident() {
        let mut runtime = MonitorRuntime::new(Timestamp(0));
        runtime
            .observe(&result(CheckStatus::Down, 1), DetectionPolicy::default())
            .unwrap();
        let pause = runtime.pause(Timestamp(2)).unwrap();
        assert!(pause.resolves_incident);
        assert!(
            runtime
                .observe(&result(CheckStatus::Down, 3), DetectionPolicy::default())
                .is_none()
        );
        assert_eq!(
            runtime.resume(Timestamp(4)).unwrap().to,
            MonitorState::Pending
        );
    }

    fn any_step() -> impl Strategy<Value = u8> {
        0u8..5
    }

    proptest! {
        /// Any sequence of results, pauses and resumes keeps at most one open incident, and every
        /// incident opened is resolved exactly once.
        #[test]
        fn incidents_open_and_resolve_exactly_once(
            steps in proptest::collection::vec(any_step(), 0..200),
            retries in 0u32..4,
            success_threshold in 1u32..4,
        ) {
            let policy = DetectionPolicy { retries, success_threshold };
            let mut runtime = MonitorRuntime::new(Timestamp(0));
            let mut open = 0i32;
            let (mut opened, mut resolved) = (0, 0);
            for (i, step) in steps.iter().enumerate() {
                let at = i as i64 + 1;
                let change = match step {
                    0 | 1 => runtime.observe(&result(CheckStatus::Down, at), policy),
                    2 => runtime.observe(&result(CheckStatus::Up, at), policy),
                    3 => runtime.observe(&result(CheckStatus::Degraded, at), policy),
                    _ if i % 2 == 0 => runtime.pause(Timestamp(at)),
                    _ => runtime.resume(Timestamp(at)),
                };
                if let Some(change) = change {
                    prop_assert_ne!(change.from, change.to);
                    if change.opens_incident { open += 1; opened += 1; }
                    if change.resolves_incident { open -= 1; resolved += 1; }
                }
                prop_assert!(open == 0 || open == 1, "open incidents: {}", open);
                prop_assert_eq!(open == 1, runtime.state == MonitorState::Down);
                prop_assert_eq!(runtime.incident_open, open == 1);
            }
            prop_assert!(opened - resolved == open);
        }
    }
}
