//! The dispatcher end to end on a real store (SQLite, and PostgreSQL when `TEST_DATABASE_URL` is
//! set) and real local receivers, on a clock the test moves: state changes are recorded at chosen
//! instants and `dispatch_once` runs at chosen instants, so a Sunday-night maintenance window, a
//! retry's backoff or a certificate's last fortnight pass in milliseconds.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a test tells whoever runs it what it skipped or measured"
)]

mod certificates;
mod isolation;
mod maintenance;
mod outages;
#[allow(
    dead_code,
    reason = "shared with the channels tests, which use receivers these stories do not"
)]
#[path = "../channels/support.rs"]
mod receivers;
mod templates;
mod world;
