//! The REST API end to end, in process, on every backend: sessions and CSRF, login throttling,
//! plan limits and downgrades, rate-limit headers, error shapes, tenant isolation and the
//! OpenAPI snapshot. The authorization matrix is its own binary (`tests/authorization.rs`).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a test tells whoever runs it what it skipped or measured"
)]

mod admin_stats;
mod alerting;
mod auth;
mod error_reports;
mod monitors;
mod openapi;
mod parsers;
mod plans;
mod private_status_pages;
mod push;
mod request_ids;
mod secrets;
mod shapes;
mod status_incidents;
mod status_pages;
mod status_subscribers;
mod support;
mod teams;
mod web;
mod whop;
mod whop_frame;
mod whop_metrics;
