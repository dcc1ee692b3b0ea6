//! The [`Prober`]: state shared by every check (TLS configurations, the DNS resolver, ICMP sockets,
//! the address policy, the user agent) and the one entry point that runs a check of any kind.

use crate::address_policy::AddressPolicy;
use crate::deadline::{Deadline, Failure};
use crate::icmp::IcmpClients;
use crate::resolve::TargetResolver;
use crate::tls::TlsConfigs;
use crate::whop::WhopApi;
use crate::{dns, http, icmp, tcp, tls, whop};
use ::http::HeaderValue;
use futures::FutureExt;
use rustls::pki_types::CertificateDer;
use std::panic::AssertUnwindSafe;
use std::time::Duration;
use watchtower_core::{CheckOutcome, ErrorClass, HumanDuration, MonitorKind};

/// How long past its deadline a check may take to hand back its verdict.
const GRACE: Duration = Duration::from_millis(50);

/// How a [`Prober`] behaves.
#[derive(Debug, Clone)]
pub struct ProberOptions {
    /// Sent as `User-Agent` unless a monitor sets its own.
    pub user_agent: String,
    /// Which addresses checks may connect to.
    pub address_policy: AddressPolicy,
    /// The most body bytes an HTTP check reads; the rest is not downloaded.
    pub max_body_bytes: usize,
    /// Roots trusted in addition to the webpki (Mozilla) roots, e.g. a private CA.
    pub extra_root_certificates: Vec<CertificateDer<'static>>,
    /// Where Whop metric monitors read memberships and payments: the operator's setting, never
    /// a monitor's, so a tenant cannot point the API key anywhere else.
    pub whop_api: url::Url,
}

impl Default for ProberOptions {
    fn default() -> Self {
        Self {
            user_agent: format!("WatchTower/{} (uptime monitor)", env!("CARGO_PKG_VERSION")),
            address_policy: AddressPolicy::AllowAll,
            max_body_bytes: 1024 * 1024,
            extra_root_certificates: Vec::new(),
            whop_api: url::Url::parse(crate::whop::DEFAULT_WHOP_API)
                .expect("the default Whop API address is a URL"),
        }
    }
}

/// Shared, reusable state for running checks: TLS configs (verifying with webpki roots, and a
/// non-verifying one for `verify_tls: false`), a DNS resolver, ICMP clients, the address policy
/// and the user agent. Build one and share it (it is `Send + Sync`).
pub struct Prober {
    pub(crate) user_agent: HeaderValue,
    pub(crate) address_policy: AddressPolicy,
    pub(crate) max_body_bytes: usize,
    pub(crate) tls: TlsConfigs,
    pub(crate) resolver: TargetResolver,
    pub(crate) icmp: IcmpClients,
    pub(crate) whop: WhopApi,
}

impl std::fmt::Debug for Prober {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prober")
            .field("user_agent", &self.user_agent)
            .field("address_policy", &self.address_policy)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl Prober {
    /// Builds the shared state. Reads the system's DNS configuration once; ICMP sockets are opened
    /// on the first ping check.
    pub fn new(options: ProberOptions) -> Self {
        let user_agent = HeaderValue::from_str(&options.user_agent).unwrap_or_else(|_| {
            tracing::warn!(user_agent = %options.user_agent, "not a valid header value; using the default");
            HeaderValue::from_static("WatchTower (uptime monitor)")
        });
        Self {
            user_agent,
            address_policy: options.address_policy,
            max_body_bytes: options.max_body_bytes,
            tls: TlsConfigs::new(&options.extra_root_certificates),
            resolver: TargetResolver::from_system(),
            icmp: IcmpClients::default(),
            whop: WhopApi::new(options.whop_api, &options.user_agent),
        }
    }

    /// Runs one check of `kind` with an overall deadline of `timeout`; never panics, never hangs
    /// past the deadline (+ a few ms). A push monitor is not probed: it is DOWN with `Internal`.
    pub async fn check(&self, kind: &MonitorKind, timeout: Duration) -> CheckOutcome {
        let deadline = Deadline::new(timeout);
        let probe = async {
            match kind {
                MonitorKind::Http(settings) => http::probe_http(self, settings, &deadline).await,
                MonitorKind::Tcp(settings) => {
                    deadline.finish(tcp::probe_tcp(self, settings, &deadline).await)
                }
                MonitorKind::Ping(settings) => {
                    deadline.finish(icmp::probe_ping(self, settings, &deadline).await)
                }
                MonitorKind::Dns(settings) => {
                    deadline.finish(dns::probe_dns(self, settings, &deadline).await)
                }
                MonitorKind::Tls(settings) => {
                    deadline.finish(tls::probe_tls(self, settings, &deadline).await)
                }
                MonitorKind::Whop(settings) => {
                    whop::probe_whop(&self.whop, settings, &deadline).await
                }
                MonitorKind::Push(_) => deadline.down(Failure::new(
                    ErrorClass::Internal,
                    "push monitors are not probed: the scheduler watches their pings",
                )),
            }
        };
        let guarded = AssertUnwindSafe(probe).catch_unwind();
        match tokio::time::timeout_at(deadline.at() + GRACE, guarded).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_panic)) => {
                tracing::error!(kind = kind.name(), "a probe panicked");
                deadline.down(Failure::new(
                    ErrorClass::Internal,
                    "the probe failed unexpectedly",
                ))
            }
            Err(_) => deadline.down(Failure::new(
                ErrorClass::Timeout,
                format!("timed out after {}", HumanDuration(timeout)),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prober_is_built_outside_a_runtime_and_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>(_: &T) {}
        let prober = Prober::new(ProberOptions::default());
        assert_send_sync(&prober);
        assert_eq!(prober.max_body_bytes, 1024 * 1024);
    }

    #[test]
    fn an_invalid_user_agent_falls_back_to_the_default() {
        let prober = Prober::new(ProberOptions {
            user_agent: "bad\nagent".into(),
            ..ProberOptions::default()
        });
        assert_eq!(prober.user_agent, "WatchTower (uptime monitor)");
    }
}
