//! The store conformance suite: every story runs against SQLite (a fresh file in a temporary
//! directory) and, when `TEST_DATABASE_URL` names a PostgreSQL server, against a fresh database
//! there too. One binary, one module per feature.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a test tells whoever runs it what it skipped or measured"
)]

mod accounts;
mod alerting;
mod apply;
mod batches;
mod billing;
mod broken;
mod changes;
mod concurrency;
mod connect;
mod dashboard;
mod history;
mod leases;
mod monitors;
mod ops;
mod retention;
mod status_incidents;
mod status_pages;
mod support;
