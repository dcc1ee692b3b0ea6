//! Heartbeat (push) monitors inside the loop: a ping is a result, and a deadline that passes
//! without one is a DOWN result of class `missed_ping`.

use super::{Engine, PingKind};
use watchtower_core::{CheckOutcome, ErrorClass, MonitorId, MonitorKind, Timestamp};

impl Engine {
    pub(super) async fn check_push_deadline(&mut self, id: MonitorId) {
        let now = self.clock.now();
        let entry = self.entries.get_mut(&id).expect("checked by caller");
        let (MonitorKind::Push(settings), Some(track)) =
            (&entry.monitor.spec.kind, &mut entry.push)
        else {
            return;
        };
        let deadline = settings.deadline_after(track.last_seen);
        if now < deadline {
            self.schedule_at(id, deadline);
            return;
        }
        let expected = deadline.minus(settings.grace.get());
        let message = format!(
            "no ping received; one was expected by {expected} (grace {})",
            settings.grace
        );
        // The missed slot becomes the reference for the next deadline.
        track.last_seen = expected;
        let next_deadline = settings
            .deadline_after(expected)
            .max(now.plus(std::time::Duration::from_millis(1)));
        let outcome = CheckOutcome::down(
            now,
            std::time::Duration::ZERO,
            ErrorClass::MissedPing,
            message,
        );
        self.observe(id, outcome).await;
        self.schedule_at(id, next_deadline);
    }

    pub(super) async fn on_ping(&mut self, id: MonitorId, kind: PingKind, at: Timestamp) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        if entry.monitor.spec.paused {
            return;
        }
        let Some(track) = entry.push.as_mut() else {
            return;
        };
        let duration = match kind {
            PingKind::Start => {
                track.started_at = Some(at);
                return;
            }
            _ => track
                .started_at
                .take()
                .map(|started| at.since(started))
                .unwrap_or_default(),
        };
        // Results are keyed by (monitor, millisecond): a burst of pings in one millisecond gets
        // consecutive milliseconds so that every ping is stored.
        let at = if at <= track.last_seen {
            Timestamp(track.last_seen.0 + 1)
        } else {
            at
        };
        track.last_seen = at;
        let outcome = match kind {
            PingKind::Fail => CheckOutcome::down(
                at,
                duration,
                ErrorClass::FailPing,
                "the job reported a failure",
            ),
            _ => CheckOutcome::up(at, duration),
        };
        self.observe(id, outcome).await;
        self.schedule_first(id);
    }
}
