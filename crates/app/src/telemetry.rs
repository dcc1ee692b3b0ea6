//! Structured logs on standard error, filtered by `RUST_LOG` (default `info`), as text or as one
//! JSON object per line; and, with `serve --otlp-endpoint`, the same spans exported as
//! OpenTelemetry traces (`otlp.rs`).

mod otlp;

pub use otlp::{OtlpGuard, endpoint_problem};

use crate::cli::LogFormat;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Installs the logger, and the trace exporter when `otlp_endpoint` is a good URL (a bad one is
/// reported with `serve`'s other flag problems). Must run inside the Tokio runtime, whose tasks
/// send the exports; the guard flushes them at the end.
pub fn init(format: LogFormat, otlp_endpoint: Option<&str>) -> Option<OtlpGuard> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,hyper=warn,opentelemetry=warn"));
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match format {
        // Each line names the spans it was written in: a request's id, method, route, status and
        // latency reach every line the request causes (`server/src/middleware/request_trace.rs`).
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .boxed(),
        LogFormat::Text => logs.boxed(),
    };
    let exporter = otlp_endpoint
        .filter(|endpoint| endpoint_problem(endpoint).is_none())
        .and_then(|endpoint| match otlp::exporter(endpoint) {
            Ok(exporter) => Some(exporter),
            Err(error) => {
                eprintln!("error: the OTLP exporter cannot start: {error}");
                None
            }
        });
    let (traces, guard) = match exporter {
        Some((layer, guard)) => (Some(layer), Some(guard)),
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(logs)
        .with(filter)
        // The exporter's own complaints go to the log, never into the traces they would send.
        .with(traces.map(|layer| {
            layer.with_filter(filter_fn(|meta| {
                !meta.target().starts_with("opentelemetry")
            }))
        }))
        .init();
    guard
}
