//! The clock of one check: when it started, when it must end, and the failure a probe stops with.

use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;
use watchtower_core::{CheckOutcome, ErrorClass, HumanDuration, Timestamp};

/// Why a probe stopped: the class alert rules group by and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct Failure {
    pub class: ErrorClass,
    pub message: String,
}

impl Failure {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
        }
    }
}

/// The overall deadline of one check. Every phase runs against what is left of it, so a phase
/// that stalls costs one timeout in total and names itself in the message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    checked_at: Timestamp,
    started: Instant,
    at: Instant,
    budget: Duration,
}

impl Deadline {
    pub fn new(budget: Duration) -> Self {
        let started = Instant::now();
        Self {
            checked_at: Timestamp::now(),
            started,
            at: started + budget,
            budget,
        }
    }

    pub fn at(&self) -> Instant {
        self.at
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Runs one phase; past the deadline it fails with `Timeout` "… waiting for {waiting_for}".
    pub async fn run<F: Future>(&self, waiting_for: &str, phase: F) -> Result<F::Output, Failure> {
        tokio::time::timeout_at(self.at, phase)
            .await
            .map_err(|_| self.timed_out(waiting_for))
    }

    pub fn timed_out(&self, waiting_for: &str) -> Failure {
        Failure::new(
            ErrorClass::Timeout,
            format!(
                "timed out after {} waiting for {waiting_for}",
                HumanDuration(self.budget)
            ),
        )
    }

    /// A working outcome stamped with this check's start and elapsed time.
    pub fn up(&self) -> CheckOutcome {
        CheckOutcome::up(self.checked_at, self.elapsed())
    }

    /// A failed outcome stamped with this check's start and elapsed time.
    pub fn down(&self, failure: Failure) -> CheckOutcome {
        CheckOutcome::down(
            self.checked_at,
            self.elapsed(),
            failure.class,
            failure.message,
        )
    }

    /// The outcome of a probe that either built its own outcome or stopped with a failure.
    pub fn finish(&self, result: Result<CheckOutcome, Failure>) -> CheckOutcome {
        result.unwrap_or_else(|failure| self.down(failure))
    }
}
