//! The store conformance suite: every story runs against SQLite (a fresh file in a temporary
//! directory) and, when `TEST_DATABASE_URL` names a PostgreSQL server, against a fresh database
//! there too. One binary, one module per feature.

mod accounts;
mod alerting;
mod apply;
mod batches;
mod broken;
mod changes;
mod concurrency;
mod connect;
mod history;
mod monitors;
mod retention;
mod support;
