//! Plans in force from Whop: webhook verification in both of Whop's schemes (`verify`), the event
//! parser (`event`), the operator's settings (`config`), what a recorded delivery does
//! (`process`), the worker that processes deliveries with retries and lapses memberships whose
//! grace period passed (`worker`), and the verification of the Whop frame's user tokens
//! (`frame`). The HTTP route that records deliveries, and the sign-in, are the server's.

pub mod config;
pub mod event;
pub mod frame;
pub mod process;
pub mod verify;
pub mod worker;

pub use config::{BillingConfig, DEFAULT_GRACE_PERIOD};
pub use frame::{FrameConfig, FrameKeys, FrameTokenError, FrameUser, FrameVerifier};
pub use process::{
    Clock, Customer, Outcome, PlanChanger, ProcessError, Processor, WhopPerson, customer_of,
    whop_actor,
};
pub use verify::{Scheme, SignatureHeaders, Verified, VerifyError, WebhookSecret, verify};
pub use worker::{PassReport, WorkerConfig, run_once};
