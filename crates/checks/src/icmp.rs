//! The ICMP ping probe (surge-ping): one echo request, latency = round trip. Uses an unprivileged
//! ICMP datagram socket where `net.ipv4.ping_group_range` allows it and a raw socket otherwise (as
//! root or with CAP_NET_RAW); where neither opens, the check says so instead of a silent DOWN.

use crate::deadline::{Deadline, Failure};
use crate::prober::Prober;
use crate::resolve;
use socket2::Type;
use std::io;
use std::net::IpAddr;
use std::time::Duration;
use surge_ping::{Client, Config, ICMP, IcmpPacket, PingIdentifier, PingSequence, SurgeError};
use tokio::sync::OnceCell;
use watchtower_core::monitor::PingSettings;
use watchtower_core::{CheckOutcome, ErrorClass};

/// The message of a check on a host where no ICMP socket can be opened.
pub(crate) const NOT_PERMITTED: &str = "ICMP not permitted on this host";
const PAYLOAD: [u8; 56] = [0; 56];
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REPLY_V6: u8 = 129;

/// One ICMP client per address family, opened on first use and shared by every ping check. A
/// failure to open is not remembered, so a host fixed later (sysctl, capability) starts working.
#[derive(Default)]
pub(crate) struct IcmpClients {
    v4: OnceCell<Client>,
    v6: OnceCell<Client>,
}

impl IcmpClients {
    async fn client(&self, v6: bool) -> Result<Client, Failure> {
        let (cell, kind) = if v6 {
            (&self.v6, ICMP::V6)
        } else {
            (&self.v4, ICMP::V4)
        };
        cell.get_or_try_init(|| async {
            // DGRAM first; surge-ping falls back to RAW by itself when DGRAM is refused.
            let config = Config::builder()
                .kind(kind)
                .sock_type_hint(Type::DGRAM)
                .build();
            Client::new(&config).map_err(|error| socket_failure(&error))
        })
        .await
        .cloned()
    }
}

/// Why no ICMP socket opened: permission problems are `NotPermitted`, anything else `Internal`.
pub(crate) fn socket_failure(error: &io::Error) -> Failure {
    tracing::warn!(%error, "no ICMP socket");
    let denied = error.kind() == io::ErrorKind::PermissionDenied
        || matches!(error.raw_os_error(), Some(1 | 13));
    if denied {
        Failure::new(ErrorClass::NotPermitted, NOT_PERMITTED)
    } else {
        Failure::new(
            ErrorClass::Internal,
            format!("could not open an ICMP socket: {error}"),
        )
    }
}

pub(crate) async fn probe_ping(
    prober: &Prober,
    settings: &PingSettings,
    deadline: &Deadline,
) -> Result<CheckOutcome, Failure> {
    let resolved = resolve::resolve(&prober.resolver, &settings.host, deadline).await?;
    let address = pick_address(prober, &resolved.addresses)?;
    let client = prober.icmp.client(address.is_ipv6()).await?;
    let mut pinger = client.pinger(address, PingIdentifier(rand::random())).await;
    pinger.timeout(deadline.remaining().max(Duration::from_millis(1)));
    let mut attempt = 0;
    let (packet, round_trip) = loop {
        // Another check may be pinging the same host with the same sequence number.
        let sequence = PingSequence(rand::random());
        match pinger.ping(sequence, &PAYLOAD).await {
            Err(SurgeError::IdenticalRequests { .. }) if attempt < 3 => attempt += 1,
            Err(SurgeError::Timeout { .. }) => {
                return Err(deadline.timed_out(&format!("an echo reply from {address}")));
            }
            Err(SurgeError::IOError(error)) => {
                return Err(match error.kind() {
                    io::ErrorKind::PermissionDenied => socket_failure(&error),
                    _ => Failure::new(
                        ErrorClass::Connect,
                        format!("could not ping {address}: {error}"),
                    ),
                });
            }
            Err(error) => {
                return Err(Failure::new(
                    ErrorClass::Connect,
                    format!("could not ping {address}: {error}"),
                ));
            }
            Ok(reply) => break reply,
        }
    };
    let (kind, code, echo) = match &packet {
        IcmpPacket::V4(packet) => (
            packet.get_icmp_type().0,
            packet.get_icmp_code().0,
            ECHO_REPLY_V4,
        ),
        IcmpPacket::V6(packet) => (
            packet.get_icmpv6_type().0,
            packet.get_icmpv6_code().0,
            ECHO_REPLY_V6,
        ),
    };
    if kind != echo {
        return Err(Failure::new(
            ErrorClass::Connect,
            format!("{address} is unreachable (ICMP type {kind}, code {code})"),
        ));
    }
    let mut outcome = deadline.up();
    outcome.latency = round_trip;
    Ok(outcome)
}

/// The first resolved address the policy allows (IPv4 first), or the refusal of the first one.
fn pick_address(prober: &Prober, addresses: &[IpAddr]) -> Result<IpAddr, Failure> {
    let mut refusal = None;
    for &address in addresses {
        match prober.address_policy.check(address) {
            Ok(()) => return Ok(address),
            Err(denied) => {
                refusal.get_or_insert(denied);
            }
        }
    }
    Err(Failure::new(
        ErrorClass::NotPermitted,
        refusal.map_or_else(
            || "no address to ping".to_owned(),
            |denied| denied.to_string(),
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_socket_is_not_permitted_with_a_clear_message() {
        for error in [
            io::Error::from(io::ErrorKind::PermissionDenied),
            io::Error::from_raw_os_error(1),
            io::Error::from_raw_os_error(13),
        ] {
            let failure = socket_failure(&error);
            assert_eq!(failure.class, ErrorClass::NotPermitted);
            assert_eq!(failure.message, NOT_PERMITTED);
        }
        let other = socket_failure(&io::Error::from_raw_os_error(97));
        assert_eq!(other.class, ErrorClass::Internal);
    }
}
