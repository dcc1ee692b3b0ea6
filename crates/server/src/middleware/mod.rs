//! Middleware, one file each.

pub mod rate_limit;
pub mod security_headers;
