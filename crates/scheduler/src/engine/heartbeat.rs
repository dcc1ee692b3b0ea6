//! Heartbeat (push) monitors inside the loop: a ping is a result (at most one a second of each
//! kind), and a deadline that passes without one is a DOWN result of class `missed_ping`.

use super::{Engine, PingKind};
use std::time::Duration;
use watchtower_core::{CheckOutcome, ErrorClass, MonitorId, MonitorKind, Timestamp};

/// Pings of the same kind (success or failure) closer than this to the last recorded one only
/// move the deadline: a job, or anyone holding its URL, pinging in a loop costs no rows.
pub const PING_RESULT_SPACING: Duration = Duration::from_secs(1);

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
        // The missed slot becomes the reference for the next deadline, and the next ping is
        // recorded whenever it comes, so it can end the DOWN at once.
        track.last_seen = expected;
        track.last_recorded = None;
        let next_deadline = settings
            .deadline_after(expected)
            .max(now.plus(Duration::from_millis(1)));
        let outcome = CheckOutcome::down(now, Duration::ZERO, ErrorClass::MissedPing, message);
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
        let failed = match kind {
            PingKind::Start => {
                track.started_at = Some(at);
                return;
            }
            PingKind::Success => false,
            PingKind::Fail => true,
        };
        if let Some((recorded_at, recorded_failed)) = track.last_recorded
            && recorded_failed == failed
            && at >= recorded_at
            && at.since(recorded_at) < PING_RESULT_SPACING
        {
            // The heap entry stays at the earlier deadline, which re-arms itself from
            // `last_seen` when it comes (`check_push_deadline`).
            track.last_seen = track.last_seen.max(at);
            track.started_at = None;
            metrics::counter!("watchtower_push_pings_coalesced_total").increment(1);
            return;
        }
        let duration = track
            .started_at
            .take()
            .map(|started| at.since(started))
            .unwrap_or_default();
        // Results are keyed by (monitor, millisecond): a burst of pings in one millisecond gets
        // consecutive milliseconds so that every ping is stored.
        let at = if at <= track.last_seen {
            Timestamp(track.last_seen.0 + 1)
        } else {
            at
        };
        track.last_seen = at;
        track.last_recorded = Some((at, failed));
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
