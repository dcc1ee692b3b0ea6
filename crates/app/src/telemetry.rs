//! Structured logs on standard error, filtered by `RUST_LOG` (default `info`), as text or as one
//! JSON object per line.

use crate::cli::LogFormat;
use tracing_subscriber::EnvFilter;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,hyper=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        // Each line names the spans it was written in: a request's id, method, route, status and
        // latency reach every line the request causes (`server/src/middleware/request_trace.rs`).
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
        LogFormat::Text => builder.init(),
    }
}
