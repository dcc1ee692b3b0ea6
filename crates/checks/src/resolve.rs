//! Finding and dialling a probe's target: host names resolved with hickory using the system's
//! configuration (resolv.conf and /etc/hosts, so `localhost` works), then a TCP connection to the
//! first address the [`AddressPolicy`] allows, trying each in turn within the deadline.
//!
//! Why hickory and not `tokio::net::lookup_host`: `lookup_host` runs the blocking `getaddrinfo` on
//! tokio's blocking pool, where a lookup that outlives its check cannot be cancelled and keeps a
//! thread busy (thousands of monitors against a slow resolver pile up threads); it also folds every
//! failure into one opaque error. hickory is async and cancellable at the deadline, and tells a
//! name that does not exist from a resolver that timed out.

use crate::address_policy::AddressPolicy;
use crate::deadline::{Deadline, Failure};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;
use watchtower_core::ErrorClass;

/// The resolver for probe targets: the system's configuration, the hosts file, and no cache, so
/// every check measures (and can fail on) a real lookup; the system's own resolver may still cache.
pub(crate) struct TargetResolver {
    /// `Err` holds why no resolver could be built; checks of host names then fail with it.
    resolver: Result<TokioResolver, String>,
}

impl TargetResolver {
    pub fn from_system() -> Self {
        let (config, mut options) = match hickory_resolver::system_conf::read_system_conf() {
            Ok(system) => system,
            Err(error) => {
                tracing::warn!(%error, "no system DNS configuration; only the hosts file resolves");
                (
                    ResolverConfig::from_name_servers(Vec::new()),
                    ResolverOpts::default(),
                )
            }
        };
        options.cache_size = 0;
        options.use_hosts_file = ResolveHosts::Always;
        let mut builder =
            TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        *builder.options_mut() = options;
        let resolver = builder
            .build()
            .map_err(|error| format!("no DNS resolver: {error}"));
        if let Err(error) = &resolver {
            tracing::warn!(%error, "host names cannot be resolved");
        }
        Self { resolver }
    }
}

/// The addresses a host resolved to, IPv4 first, and how long the lookup took (`None` for an IP
/// literal, which needs no lookup).
#[derive(Debug)]
pub(crate) struct Resolved {
    pub addresses: Vec<IpAddr>,
    pub dns_time: Option<Duration>,
}

/// Resolves `host` (a name, an IP literal, or a bracketed IPv6 literal from a URL).
pub(crate) async fn resolve(
    resolver: &TargetResolver,
    host: &str,
    deadline: &Deadline,
) -> Result<Resolved, Failure> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(address) = bare.parse::<IpAddr>() {
        return Ok(Resolved {
            addresses: vec![address],
            dns_time: None,
        });
    }
    let resolver = resolver
        .resolver
        .as_ref()
        .map_err(|error| Failure::new(ErrorClass::Dns, error.clone()))?;
    let started = Instant::now();
    let lookup = deadline
        .run(
            &format!("the DNS answer for {bare}"),
            resolver.lookup_ip(bare),
        )
        .await?
        .map_err(|error| lookup_failure(bare, &error))?;
    let dns_time = started.elapsed();
    let mut addresses: Vec<IpAddr> = lookup.iter().collect();
    if addresses.is_empty() {
        return Err(Failure::new(
            ErrorClass::Dns,
            format!("{bare} has no A or AAAA records"),
        ));
    }
    addresses.sort_by_key(IpAddr::is_ipv6);
    addresses.dedup();
    Ok(Resolved {
        addresses,
        dns_time: Some(dns_time),
    })
}

fn lookup_failure(host: &str, error: &NetError) -> Failure {
    let message = if error.is_nx_domain() {
        format!("{host} does not resolve: the name does not exist (NXDOMAIN)")
    } else if error.is_no_records_found() {
        format!("{host} does not resolve: no A or AAAA records")
    } else if matches!(error, NetError::Timeout) {
        format!("{host} does not resolve: the DNS server did not answer in time")
    } else {
        format!("{host} does not resolve: {error}")
    };
    Failure::new(ErrorClass::Dns, message)
}

/// Connects to `port` on the first address that the policy allows and that accepts, giving each
/// address an equal share of the time left so one black hole cannot starve the others. Returns
/// the stream, the address connected to and the time spent connecting.
pub(crate) async fn connect(
    addresses: &[IpAddr],
    port: u16,
    policy: AddressPolicy,
    deadline: &Deadline,
) -> Result<(TcpStream, SocketAddr, Duration), Failure> {
    let mut allowed = Vec::with_capacity(addresses.len());
    let mut first_denied = None;
    for &address in addresses {
        match policy.check(address) {
            Ok(()) => allowed.push(SocketAddr::new(address, port)),
            Err(denied) => {
                first_denied.get_or_insert(denied);
            }
        }
    }
    if allowed.is_empty() {
        let message = first_denied.map_or_else(
            || "no address to connect to".to_owned(),
            |denied| denied.to_string(),
        );
        return Err(Failure::new(ErrorClass::NotPermitted, message));
    }
    let started = Instant::now();
    let mut errors = Vec::new();
    let mut timed_out = false;
    for (index, &address) in allowed.iter().enumerate() {
        let left = (allowed.len() - index) as u32;
        let share = deadline.remaining() / left;
        match tokio::time::timeout(share, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => {
                // Small requests go out at once; a failure here changes nothing about the check.
                let _ = stream.set_nodelay(true);
                return Ok((stream, address, started.elapsed()));
            }
            Ok(Err(error)) => errors.push(format!("{address}: {error}")),
            Err(_) => {
                timed_out = true;
                errors.push(format!("{address}: no answer"));
            }
        }
    }
    if timed_out && deadline.remaining().is_zero() {
        let last = allowed[allowed.len() - 1];
        return Err(deadline.timed_out(&format!("the connection to {last}")));
    }
    Err(Failure::new(
        ErrorClass::Connect,
        format!("could not connect to {}", errors.join("; ")),
    ))
}
