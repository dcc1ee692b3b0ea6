//! Middleware, one file each.

pub mod error_reports;
pub mod error_shape;
pub mod rate_limit;
pub mod request_trace;
pub mod security_headers;
