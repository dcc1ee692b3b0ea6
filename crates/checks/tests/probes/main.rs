//! The probes against real servers started on loopback by each test: one binary, a module per
//! probe.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a test tells whoever runs it what it skipped or measured"
)]

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
mod whop;
