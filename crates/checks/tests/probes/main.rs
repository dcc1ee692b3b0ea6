//! The probes against real servers started on loopback by each test: one binary, a module per
//! probe.

mod dns;
mod endless;
mod http;
mod https;
mod icmp;
mod policy;
mod redirects;
mod slow_servers;
mod support;
mod tcp;
