//! The DNS monitor (hickory-resolver): asks for one record type at the configured nameserver or the
//! system's, with no cache and no hosts file, and compares the answer with the expected values.
//!
//! In multi-tenant mode (`AddressPolicy::PublicOnly`) a DNS monitor must name its resolver, and
//! that address must be public: the system's resolver answers for the instance's internal names,
//! so a tenant could map the private network through it. Addresses in answers that are not
//! public are never shown in a multi-tenant check's message (matching them still works).

use crate::address_policy::AddressPolicy;
use crate::deadline::{Deadline, Failure};
use crate::prober::Prober;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts, ServerOrderingStrategy,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::rr::{Name, RData, RecordType as WireType};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use watchtower_core::monitor::{DnsSettings, RecordType};
use watchtower_core::{CheckOutcome, ErrorClass};

/// Why a multi-tenant DNS monitor without a resolver is not run.
pub const SYSTEM_RESOLVER_REFUSED: &str = "in multi-tenant mode a DNS monitor must name a public \
     resolver (such as 1.1.1.1 or 8.8.8.8): the system resolver is not available";

pub(crate) async fn probe_dns(
    prober: &Prober,
    settings: &DnsSettings,
    deadline: &Deadline,
) -> Result<CheckOutcome, Failure> {
    match settings.resolver {
        Some(nameserver) => prober
            .address_policy
            .check(nameserver.ip())
            .map_err(|denied| Failure::new(ErrorClass::NotPermitted, denied.to_string()))?,
        None if prober.address_policy == AddressPolicy::PublicOnly => {
            return Err(Failure::new(
                ErrorClass::NotPermitted,
                SYSTEM_RESOLVER_REFUSED,
            ));
        }
        None => {}
    }
    let resolver = build_resolver(settings.resolver, deadline.remaining())?;
    let name = query_name(&settings.host)?;
    let wire_type = wire_type(settings.record_type);
    let kind = record_type_name(settings.record_type);
    let lookup = deadline
        .run(
            &format!("the {kind} answer for {}", settings.host),
            resolver.lookup(name, wire_type),
        )
        .await?
        .map_err(|error| lookup_failure(&settings.host, kind, &error, deadline))?;
    let found: Vec<String> = lookup
        .answers()
        .iter()
        .filter(|record| record.record_type() == wire_type)
        .filter_map(|record| render(&record.data))
        .collect();
    if found.is_empty() {
        return Err(Failure::new(
            ErrorClass::Dns,
            format!("no {kind} records for {}", settings.host),
        ));
    }
    let mut outcome = deadline.up();
    let missing: Vec<&String> = settings
        .expected
        .iter()
        .filter(|expected| !found.iter().any(|value| same_value(value, expected)))
        .collect();
    if !missing.is_empty() {
        let missing: Vec<&str> = missing.iter().map(|value| value.as_str()).collect();
        let found: Vec<String> = found
            .iter()
            .map(|value| shown(prober.address_policy, value))
            .collect();
        outcome.fail(
            ErrorClass::DnsMismatch,
            format!(
                "expected {kind} {} for {}, found {}",
                missing.join(", "),
                settings.host,
                found.join(", ")
            ),
        );
    }
    Ok(outcome)
}

/// An answer's value as a check's message may show it: in multi-tenant mode an address that is
/// not public is not named.
fn shown(policy: AddressPolicy, value: &str) -> String {
    match value.parse::<IpAddr>() {
        Ok(address) if policy.check(address).is_err() => "(an address that is not public)".into(),
        _ => value.to_owned(),
    }
}

/// A resolver for one query: the given nameserver (or the system's), no cache, no hosts file,
/// and a retry that fits in the deadline.
fn build_resolver(
    nameserver: Option<SocketAddr>,
    remaining: Duration,
) -> Result<TokioResolver, Failure> {
    let (config, mut options) = match nameserver {
        Some(address) => {
            let mut server = NameServerConfig::udp_and_tcp(address.ip());
            for connection in &mut server.connections {
                connection.port = address.port();
            }
            (
                ResolverConfig::from_name_servers(vec![server]),
                ResolverOpts::default(),
            )
        }
        None => hickory_resolver::system_conf::read_system_conf().map_err(|error| {
            Failure::new(
                ErrorClass::Dns,
                format!("no system DNS configuration: {error}"),
            )
        })?,
    };
    options.cache_size = 0;
    options.use_hosts_file = ResolveHosts::Never;
    // Two tries, the second starting at 60% of the budget: a lost UDP packet is retried, and a
    // silent server runs into the check's deadline (one clear timeout) before hickory gives up.
    options.attempts = 2;
    options.timeout = remaining.mul_f64(0.6).max(Duration::from_millis(50));
    options.server_ordering_strategy = ServerOrderingStrategy::UserProvidedOrder;
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    *builder.options_mut() = options;
    builder
        .build()
        .map_err(|error| Failure::new(ErrorClass::Dns, format!("no DNS resolver: {error}")))
}

/// The name to ask for, fully qualified so no search domain is tried; an IP address becomes its
/// reverse name (for PTR).
fn query_name(host: &str) -> Result<Name, Failure> {
    if let Ok(address) = host.parse::<IpAddr>() {
        return Ok(Name::from(address));
    }
    let mut name = Name::from_utf8(host).map_err(|error| {
        Failure::new(
            ErrorClass::Dns,
            format!("'{host}' is not a domain name: {error}"),
        )
    })?;
    name.set_fqdn(true);
    Ok(name)
}

fn lookup_failure(host: &str, kind: &str, error: &NetError, deadline: &Deadline) -> Failure {
    match error {
        _ if error.is_nx_domain() => {
            Failure::new(ErrorClass::Dns, format!("{host} does not exist (NXDOMAIN)"))
        }
        NetError::Dns(DnsError::NoRecordsFound(no_records)) => Failure::new(
            ErrorClass::Dns,
            format!(
                "no {kind} records for {host} (response {})",
                no_records.response_code
            ),
        ),
        NetError::Timeout => deadline.timed_out(&format!("the {kind} answer for {host}")),
        other => Failure::new(
            ErrorClass::Dns,
            format!("the {kind} query for {host} failed: {other}"),
        ),
    }
}

/// The value of one answer record as users write it: addresses, host names (MX: the exchange,
/// SRV: the target, SOA: the primary nameserver), TXT strings joined, CAA values.
fn render(data: &RData) -> Option<String> {
    let name = |name: &Name| name.to_utf8();
    Some(match data {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(aaaa) => aaaa.0.to_string(),
        RData::CNAME(target) => name(&target.0),
        RData::NS(target) => name(&target.0),
        RData::PTR(target) => name(&target.0),
        RData::MX(mx) => name(&mx.exchange),
        RData::SRV(srv) => name(&srv.target),
        RData::SOA(soa) => name(&soa.mname),
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|part| String::from_utf8_lossy(part))
            .collect(),
        RData::CAA(caa) => String::from_utf8_lossy(&caa.value).into_owned(),
        _ => return None,
    })
}

/// Case-insensitive, trailing dot ignored; IP addresses compare as addresses (`::1` = `0::1`).
fn same_value(found: &str, expected: &str) -> bool {
    let normalize = |text: &str| text.trim().trim_end_matches('.').to_lowercase();
    let (found, expected) = (normalize(found), normalize(expected));
    match (found.parse::<IpAddr>(), expected.parse::<IpAddr>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => found == expected,
    }
}

fn wire_type(record_type: RecordType) -> WireType {
    match record_type {
        RecordType::A => WireType::A,
        RecordType::AAAA => WireType::AAAA,
        RecordType::CNAME => WireType::CNAME,
        RecordType::MX => WireType::MX,
        RecordType::NS => WireType::NS,
        RecordType::TXT => WireType::TXT,
        RecordType::SOA => WireType::SOA,
        RecordType::SRV => WireType::SRV,
        RecordType::CAA => WireType::CAA,
        RecordType::PTR => WireType::PTR,
    }
}

fn record_type_name(record_type: RecordType) -> &'static str {
    match record_type {
        RecordType::A => "A",
        RecordType::AAAA => "AAAA",
        RecordType::CNAME => "CNAME",
        RecordType::MX => "MX",
        RecordType::NS => "NS",
        RecordType::TXT => "TXT",
        RecordType::SOA => "SOA",
        RecordType::SRV => "SRV",
        RecordType::CAA => "CAA",
        RecordType::PTR => "PTR",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_compare_loosely() {
        assert!(same_value("Mail.Example.com.", "mail.example.com"));
        assert!(same_value("::1", "0:0::1"));
        assert!(same_value("v=spf1 -all", "V=SPF1 -ALL"));
        assert!(!same_value("10.0.0.1", "10.0.0.2"));
    }

    #[test]
    fn multi_tenant_messages_do_not_name_addresses_that_are_not_public() {
        assert_eq!(
            shown(AddressPolicy::PublicOnly, "10.1.2.3"),
            "(an address that is not public)"
        );
        assert_eq!(shown(AddressPolicy::PublicOnly, "8.8.8.8"), "8.8.8.8");
        assert_eq!(
            shown(AddressPolicy::PublicOnly, "mail.example.com."),
            "mail.example.com."
        );
        assert_eq!(shown(AddressPolicy::AllowAll, "10.1.2.3"), "10.1.2.3");
    }

    #[test]
    fn ip_hosts_become_reverse_names() {
        let name = query_name("127.0.0.1").unwrap();
        assert_eq!(name.to_utf8(), "1.0.0.127.in-addr.arpa.");
        assert!(query_name("example.com").unwrap().is_fqdn());
    }
}
