//! Alerting: what a notification says (`notification.rs`), how it is rendered (`render.rs`), how
//! each channel delivers it (`channels/`, one file per service), and the dispatcher that delivers
//! the outbox (`dispatcher.rs`), which also queues certificate-expiry alerts (`certificates.rs`).
//! `subscribers.rs` sends status page subscribers their messages from their own outbox.
//! `ops/` decides and delivers the instance's own alerts. `alerting_file.rs` applies a monitors
//! file's channels and rules to a team by name.

pub mod alerting_file;
pub mod certificates;
pub mod channels;
pub mod dispatcher;
pub mod links;
pub mod notification;
pub mod ops;
pub mod render;
pub mod subscribers;
pub mod templates;

pub use channels::{ChannelConfig, Delivered, DeliveryError, Sender, SenderOptions};
pub use notification::{Notification, NotificationEvent};
pub use templates::{ChannelSettings, MessageTemplates};
