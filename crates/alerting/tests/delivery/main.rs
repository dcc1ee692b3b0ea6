//! The dispatcher end to end on a real store (SQLite, and PostgreSQL when `TEST_DATABASE_URL` is
//! set) and real local receivers, on a clock the test moves: state changes are recorded at chosen
//! instants and `dispatch_once` runs at chosen instants, so a Sunday-night maintenance window, a
//! retry's backoff or a certificate's last fortnight pass in milliseconds.

mod certificates;
mod isolation;
mod maintenance;
mod outages;
#[allow(dead_code)]
#[path = "../channels/support.rs"]
mod receivers;
mod templates;
mod world;
