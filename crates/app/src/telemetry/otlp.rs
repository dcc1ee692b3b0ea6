//! Request spans (and the spans and events under them) exported as OpenTelemetry traces over
//! OTLP/HTTP with JSON bodies to `{endpoint}/v1/traces`, as `serve --otlp-endpoint` asks.
//!
//! The SDK's batch processor exports from a thread of its own, which has no Tokio reactor, so its
//! HTTP client hands each export to the application's runtime (`RuntimeClient`). Spans are queued
//! without blocking a request (a full queue drops them); one export runs at a time, bounded by
//! the exporter's deadline. What is exported is what the logs hold: the route template, never the
//! raw path, and no header, cookie or body.

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, Tracer};
use std::time::Duration;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

/// One export, retries included.
const EXPORT_DEADLINE: Duration = Duration::from_secs(5);
/// How long shutdown waits for the last spans to leave.
const FLUSH_DEADLINE: Duration = Duration::from_secs(5);

/// Why `endpoint` cannot be an OTLP/HTTP base URL, if it cannot.
pub fn endpoint_problem(endpoint: &str) -> Option<String> {
    match url::Url::parse(endpoint) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            (url.query().is_some() || url.fragment().is_some())
                .then(|| "must not have a query or a fragment".to_owned())
        }
        Ok(_) => Some("must be an http:// or https:// URL with a host".to_owned()),
        Err(error) => Some(format!("is not a URL ({error})")),
    }
}

/// A reqwest client (the application's rustls stack), used from the batch processor's thread
/// through the runtime's handle.
#[derive(Debug, Clone)]
struct RuntimeClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for RuntimeClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let export = async move {
            let (parts, body) = request.into_parts();
            let answer = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            let status = answer.status();
            let headers = answer.headers().clone();
            // A collector's answer is a few bytes; a bigger one is cut at the client's deadline.
            let body = answer.bytes().await?;
            let mut response = Response::builder().status(status).body(body)?;
            *response.headers_mut() = headers;
            Ok::<_, HttpError>(response)
        };
        self.runtime
            .spawn(export)
            .await
            .map_err(|error| Box::new(error) as HttpError)?
    }
}

/// Flushes the exporter when the process ends.
pub struct OtlpGuard {
    provider: SdkTracerProvider,
}

impl OtlpGuard {
    /// Sends what is queued, waiting at most the flush deadline (the SDK's call blocks, so it
    /// runs on the blocking pool while the runtime carries the export).
    pub async fn shutdown(self) {
        let provider = self.provider;
        let flushed = tokio::time::timeout(
            FLUSH_DEADLINE + Duration::from_millis(500),
            tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(FLUSH_DEADLINE)),
        )
        .await;
        match flushed {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => tracing::warn!(%error, "OTLP: the last spans were not all sent"),
            Ok(Err(error)) => tracing::warn!(%error, "OTLP: the flush failed"),
            Err(_) => tracing::warn!("OTLP: the flush did not finish in time"),
        }
    }
}

/// The tracing layer that exports to `endpoint` (checked by `endpoint_problem`), and its guard.
/// Must be called inside the Tokio runtime.
pub fn exporter<S>(
    endpoint: &str,
) -> Result<(OpenTelemetryLayer<S, Tracer>, OtlpGuard), Box<dyn std::error::Error + Send + Sync>>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    let client = reqwest::Client::builder()
        .timeout(EXPORT_DEADLINE)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(RuntimeClient {
            client,
            runtime: tokio::runtime::Handle::current(),
        })
        .with_protocol(Protocol::HttpJson)
        // Taken as it is: the signal's path is the caller's to add.
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .with_timeout(EXPORT_DEADLINE)
        .build()?;
    let batches = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(4096)
                .with_max_export_batch_size(512)
                .with_scheduled_delay(Duration::from_secs(2))
                .build(),
        )
        .build();
    // `0.1.0+1a2b3c4d5e6f`, as error reports name the release.
    let release = crate::cli::release();
    let version = release.trim_start_matches("watchtower@").to_owned();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(batches)
        .with_resource(
            Resource::builder()
                .with_service_name("watchtower")
                .with_attribute(KeyValue::new("service.version", version))
                .build(),
        )
        .build();
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("watchtower"))
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false);
    Ok((layer, OtlpGuard { provider }))
}
