//! Test-only helpers: fresh databases on every backend, local target servers that can be stopped
//! and started again on the same port, a real SMTP server (aiosmtpd), the `watchtower` process run for real, and a fake Whop
//! that signs webhook deliveries in both of Whop's schemes and issues frame user tokens with
//! their key set.

pub mod database;
pub mod process;
pub mod sentry;
pub mod smtp;
pub mod target;
pub mod whop;
pub mod whop_api;
pub mod whop_frame;

pub use database::TestDatabase;
pub use process::WatchtowerProcess;
pub use sentry::FakeSentry;
pub use smtp::SmtpServer;
pub use target::TargetServer;
pub use whop::FakeWhop;

/// A free TCP port on 127.0.0.1 (bound, then released for the caller to use).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("the loopback interface has free ports")
}
