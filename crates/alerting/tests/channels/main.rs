//! Delivery to every channel against local receivers on loopback, email against a real SMTP
//! server process, and the parsing and redaction of channel settings.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a test tells whoever runs it what it skipped or measured"
)]

mod config;
mod email;
mod failures;
mod http_channels;
mod outbound;
mod support;
