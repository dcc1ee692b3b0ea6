//! Probes that check a monitor's target for real: HTTP(S) with phase timings, TCP, ICMP ping, DNS
//! records, TLS certificates and Whop business metrics, one module per probe, all run through one shared [`Prober`].

mod address_policy;
mod assertions;
mod deadline;
mod dns;
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod icmp;
mod prober;
mod resolve;
mod tcp;
mod tls;
mod whop;

pub use address_policy::{AddressPolicy, DeniedAddress};
pub use dns::SYSTEM_RESOLVER_REFUSED;
pub use prober::{Prober, ProberOptions};
/// A DER certificate, as [`ProberOptions::extra_root_certificates`] takes it.
pub use rustls::pki_types::CertificateDer;
pub use whop::DEFAULT_WHOP_API;
