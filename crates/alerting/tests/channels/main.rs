//! Delivery to every channel against local receivers on loopback, email against a real SMTP
//! server process, and the parsing and redaction of channel settings.

mod config;
mod email;
mod failures;
mod http_channels;
mod outbound;
mod support;
