//! Alerting through the API, one file per resource:
//! - `channels`: channels (secrets never answered back) and a test notification per channel;
//! - `rules`: alert rules;
//! - `notifications`: the delivery log.

pub mod channels;
pub mod notifications;
pub mod rules;
