//! Middleware, one file each.

pub mod security_headers;
