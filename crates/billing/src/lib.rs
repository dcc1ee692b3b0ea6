//! Plans in force from Whop: webhook verification in both of Whop's schemes (`verify`), the event
//! parser (`event`), the operator's settings (`config`), what a recorded delivery does
//! (`process`) and the worker that processes deliveries with retries and lapses memberships whose
//! grace period passed (`worker`). The HTTP route that records deliveries is the server's.

pub mod config;
pub mod event;
pub mod process;
pub mod verify;
pub mod worker;

pub use config::{BillingConfig, DEFAULT_GRACE_PERIOD};
pub use process::{Clock, Outcome, PlanChanger, ProcessError, Processor, whop_actor};
pub use verify::{Scheme, SignatureHeaders, Verified, VerifyError, WebhookSecret, verify};
pub use worker::{PassReport, WorkerConfig, run_once};
