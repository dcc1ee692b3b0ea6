//! Which addresses a check may connect to. The policy is applied to the address actually dialled
//! (after DNS), never to the name, so a name that resolves to an internal address is refused even
//! when it rebinds between checks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Which addresses a check may connect to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AddressPolicy {
    /// Any address: a self-hosted instance monitors its own network.
    #[default]
    AllowAll,
    /// Public unicast addresses only: a multi-tenant instance must not let tenants reach its
    /// loopback, private networks, link-local, CGNAT, unique-local, cloud metadata, multicast,
    /// broadcast, unspecified, documentation or benchmarking ranges, nor IPv4 hidden in IPv6.
    PublicOnly,
}

/// A refusal by [`AddressPolicy::PublicOnly`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("address {address} is not allowed in multi-tenant mode ({reason})")]
pub struct DeniedAddress {
    /// The address that was refused.
    pub address: IpAddr,
    /// The kind of range it is in, such as `loopback` or `private`.
    pub reason: &'static str,
}

impl AddressPolicy {
    /// `Ok` when a check may connect to `address`.
    pub fn check(self, address: IpAddr) -> Result<(), DeniedAddress> {
        match self {
            AddressPolicy::AllowAll => Ok(()),
            AddressPolicy::PublicOnly => match non_public_reason(address) {
                None => Ok(()),
                Some(reason) => Err(DeniedAddress { address, reason }),
            },
        }
    }
}

/// IPv4 ranges that are not public unicast, most specific first so the reason is precise.
const V4_DENIED: &[(Ipv4Addr, u8, &str)] = &[
    (Ipv4Addr::new(169, 254, 169, 254), 32, "cloud metadata"),
    (Ipv4Addr::new(255, 255, 255, 255), 32, "broadcast"),
    (Ipv4Addr::new(0, 0, 0, 0), 8, "unspecified"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "private"),
    (Ipv4Addr::new(100, 64, 0, 0), 10, "carrier-grade NAT"),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "link-local"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "private"),
    (Ipv4Addr::new(192, 0, 0, 0), 24, "IETF protocol assignments"),
    (Ipv4Addr::new(192, 0, 2, 0), 24, "documentation"),
    (Ipv4Addr::new(192, 88, 99, 0), 24, "6to4 relay anycast"),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "private"),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "benchmarking"),
    (Ipv4Addr::new(198, 51, 100, 0), 24, "documentation"),
    (Ipv4Addr::new(203, 0, 113, 0), 24, "documentation"),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast"),
    (Ipv4Addr::new(240, 0, 0, 0), 4, "reserved"),
];

/// IPv6 ranges that are not public unicast. Ranges that embed an IPv4 address (mapped, NAT64,
/// 6to4) are judged by that address instead, in [`v6_reason`].
const V6_DENIED: &[(Ipv6Addr, u8, &str)] = &[
    (Ipv6Addr::UNSPECIFIED, 128, "unspecified"),
    (Ipv6Addr::LOCALHOST, 128, "loopback"),
    (
        Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254),
        128,
        "cloud metadata",
    ),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 96, "IPv4-compatible"),
    (
        Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0),
        48,
        "local-use NAT64",
    ),
    (
        Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0),
        64,
        "discard-only",
    ),
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 32, "Teredo"),
    (
        Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0),
        48,
        "benchmarking",
    ),
    (Ipv6Addr::new(0x2001, 0x10, 0, 0, 0, 0, 0, 0), 28, "ORCHID"),
    (Ipv6Addr::new(0x2001, 0x20, 0, 0, 0, 0, 0, 0), 28, "ORCHID"),
    (
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),
        32,
        "documentation",
    ),
    (
        Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),
        20,
        "documentation",
    ),
    (
        Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),
        7,
        "unique-local",
    ),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, "link-local"),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, "site-local"),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, "multicast"),
];

/// Why `address` is not a public unicast address, or `None` when it is one.
pub(crate) fn non_public_reason(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v4_reason(address: Ipv4Addr) -> Option<&'static str> {
    let bits = u32::from(address);
    V4_DENIED.iter().find_map(|&(network, prefix, reason)| {
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        (bits & mask == u32::from(network) & mask).then_some(reason)
    })
}

fn v6_reason(address: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(address);
    let segments = address.segments();
    // IPv4-mapped (::ffff:a.b.c.d) and the well-known NAT64 prefix (64:ff9b::/96) reach the
    // embedded IPv4 address; 6to4 (2002::/16) carries one in bits 16..48.
    if let Some(v4) = address.to_ipv4_mapped() {
        return v4_reason(v4);
    }
    if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return v4_reason(Ipv4Addr::from(bits as u32));
    }
    if segments[0] == 0x2002 {
        return v4_reason(Ipv4Addr::from((bits >> 80) as u32));
    }
    V6_DENIED.iter().find_map(|&(network, prefix, reason)| {
        let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
        (bits & mask == u128::from(network) & mask).then_some(reason)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denied(text: &str) -> Option<&'static str> {
        let address: IpAddr = text.parse().unwrap();
        AddressPolicy::PublicOnly
            .check(address)
            .err()
            .map(|denied| denied.reason)
    }

    #[test]
    fn every_non_public_ipv4_range_is_refused() {
        let cases = [
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("10.1.2.3", "private"),
            ("100.64.0.1", "carrier-grade NAT"),
            ("100.127.255.254", "carrier-grade NAT"),
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("169.254.169.254", "cloud metadata"),
            ("169.254.1.1", "link-local"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.0.0.8", "IETF protocol assignments"),
            ("192.0.2.10", "documentation"),
            ("192.88.99.1", "6to4 relay anycast"),
            ("192.168.1.1", "private"),
            ("198.18.0.1", "benchmarking"),
            ("198.19.255.1", "benchmarking"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.5", "documentation"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("240.0.0.1", "reserved"),
            ("255.255.255.255", "broadcast"),
        ];
        for (address, reason) in cases {
            assert_eq!(denied(address), Some(reason), "{address}");
        }
    }

    #[test]
    fn every_non_public_ipv6_range_is_refused() {
        let cases = [
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("fd00:ec2::254", "cloud metadata"),
            ("fd12:3456::1", "unique-local"),
            ("fc00::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("fec0::1", "site-local"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "documentation"),
            ("3fff::1", "documentation"),
            ("2001:2::1", "benchmarking"),
            ("2001:0:4136:e378::1", "Teredo"),
            ("100::1", "discard-only"),
            ("64:ff9b:1::1", "local-use NAT64"),
            ("::7f00:1", "IPv4-compatible"),
        ];
        for (address, reason) in cases {
            assert_eq!(denied(address), Some(reason), "{address}");
        }
    }

    #[test]
    fn ipv4_hidden_in_ipv6_is_judged_by_the_ipv4_address() {
        assert_eq!(denied("::ffff:127.0.0.1"), Some("loopback"));
        assert_eq!(denied("::ffff:169.254.169.254"), Some("cloud metadata"));
        assert_eq!(denied("::ffff:10.0.0.1"), Some("private"));
        assert_eq!(denied("64:ff9b::192.168.0.1"), Some("private"));
        assert_eq!(denied("2002:7f00:0001::1"), Some("loopback"));
        assert_eq!(denied("::ffff:8.8.8.8"), None);
        assert_eq!(denied("64:ff9b::8.8.8.8"), None);
        assert_eq!(denied("2002:0808:0808::1"), None);
    }

    #[test]
    fn public_addresses_pass() {
        for address in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "2001:4860:4860::8888",
        ] {
            assert_eq!(denied(address), None, "{address}");
        }
    }

    #[test]
    fn allow_all_allows_everything() {
        for address in ["127.0.0.1", "::1", "169.254.169.254", "10.0.0.1"] {
            assert!(
                AddressPolicy::AllowAll
                    .check(address.parse().unwrap())
                    .is_ok()
            );
        }
    }

    #[test]
    fn the_refusal_names_the_address() {
        let error = AddressPolicy::PublicOnly
            .check("127.0.0.1".parse().unwrap())
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "address 127.0.0.1 is not allowed in multi-tenant mode (loopback)"
        );
    }
}
