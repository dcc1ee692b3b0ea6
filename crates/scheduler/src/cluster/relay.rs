//! Changes made on one instance for a monitor another instance checks: published through the
//! database (`ClusterStore::publish`) and applied by whichever instance holds the monitor's shard.
//! A message names the monitor; the owner reads the monitor itself from the database, so a
//! message carries nothing a listener must trust beyond an id.

use crate::PingKind;
use watchtower_core::{MonitorId, TeamId, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RelayMessage {
    /// Created, edited, paused or resumed: the owner reads it again.
    Changed {
        team: TeamId,
        monitor: MonitorId,
    },
    Removed {
        monitor: MonitorId,
    },
    CheckNow {
        monitor: MonitorId,
    },
    Ping {
        monitor: MonitorId,
        kind: PingKind,
        at: Timestamp,
    },
}

impl RelayMessage {
    pub(crate) fn monitor(&self) -> MonitorId {
        match *self {
            Self::Changed { monitor, .. }
            | Self::Removed { monitor }
            | Self::CheckNow { monitor }
            | Self::Ping { monitor, .. } => monitor,
        }
    }

    pub(crate) fn encode(&self) -> String {
        match self {
            Self::Changed { team, monitor } => format!("changed {} {}", team.0, monitor.0),
            Self::Removed { monitor } => format!("removed {}", monitor.0),
            Self::CheckNow { monitor } => format!("check {}", monitor.0),
            Self::Ping { monitor, kind, at } => {
                let kind = match kind {
                    PingKind::Success => "success",
                    PingKind::Fail => "fail",
                    PingKind::Start => "start",
                };
                format!("ping {} {kind} {}", monitor.0, at.0)
            }
        }
    }

    /// `None` for anything else (another version's message, or noise on the channel).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        if text.len() > 200 {
            return None;
        }
        let words: Vec<&str> = text.split(' ').collect();
        let id = |word: &str| word.parse::<i64>().ok();
        match words.as_slice() {
            ["changed", team, monitor] => Some(Self::Changed {
                team: TeamId(id(team)?),
                monitor: MonitorId(id(monitor)?),
            }),
            ["removed", monitor] => Some(Self::Removed {
                monitor: MonitorId(id(monitor)?),
            }),
            ["check", monitor] => Some(Self::CheckNow {
                monitor: MonitorId(id(monitor)?),
            }),
            ["ping", monitor, kind, at] => Some(Self::Ping {
                monitor: MonitorId(id(monitor)?),
                kind: match *kind {
                    "success" => PingKind::Success,
                    "fail" => PingKind::Fail,
                    "start" => PingKind::Start,
                    _ => return None,
                },
                at: Timestamp(id(at)?),
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_reads_back_as_written() {
        let messages = [
            RelayMessage::Changed {
                team: TeamId(3),
                monitor: MonitorId(42),
            },
            RelayMessage::Removed {
                monitor: MonitorId(7),
            },
            RelayMessage::CheckNow {
                monitor: MonitorId(i64::MAX),
            },
            RelayMessage::Ping {
                monitor: MonitorId(9),
                kind: PingKind::Fail,
                at: Timestamp(1_765_000_000_000),
            },
        ];
        for message in messages {
            assert_eq!(RelayMessage::parse(&message.encode()), Some(message));
        }
    }

    #[test]
    fn anything_else_is_ignored() {
        for text in [
            "",
            "changed 1",
            "changed x 2",
            "ping 1 maybe 5",
            "removed 1 2",
            "check  1",
            &"check 1".repeat(100),
        ] {
            assert_eq!(RelayMessage::parse(text), None, "{text:?}");
        }
    }
}
