//! Alerting: what a notification says (`notification.rs`), how it is rendered (`render.rs`), and
//! how each channel delivers it (`channels/`, one file per service).

pub mod channels;
pub mod notification;
pub mod render;

pub use channels::{ChannelConfig, Delivered, DeliveryError, Sender, SenderOptions};
pub use notification::{Notification, NotificationEvent};
