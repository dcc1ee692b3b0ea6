//! `/metrics` in the Prometheus text format. Labels stay bounded: kinds and results, never URLs.

use crate::AppState;
use crate::auth::tokens::{constant_time_eq, token_hash};
use axum::extract::State;
use axum::http::header;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// How often histogram samples are drained into their buckets when nobody scrapes.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The bounds, in seconds, of every `_seconds` histogram (and of the per-route figures).
pub(crate) const LATENCY_BUCKETS: [f64; 13] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Installs the process-wide metrics recorder once and returns its handle (later calls, e.g. from
/// several test servers in one process, share it).
pub fn install_metrics_recorder() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
            }
            // Histogram samples wait in the recorder until drained; a scrape drains them, and
            // without a scraper this does, so tens of thousands of requests a second cannot pile
            // them up.
            let upkeep = handle.clone();
            let started = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                });
            if let Err(error) = started {
                tracing::warn!(%error, "cannot start the metrics upkeep thread");
            }
            handle
        })
        .clone()
}

pub(crate) async fn render(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // People and teams by plan are business figures: with `--metrics-token`, only its bearer
    // reads them (compared as hashes, in constant time).
    if let Some(expected) = &state.auth.metrics_token_hash {
        let offered = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(token_hash)
            .unwrap_or_default();
        if !constant_time_eq(offered.as_bytes(), expected.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a metrics token is required\n",
            )
                .into_response();
        }
    }
    // Gauges read on demand, so a scrape always sees current values.
    crate::health::database(&state).await;
    let stats = state
        .scheduler
        .stats
        .snapshot(state.scheduler.clock().now());
    metrics::gauge!("watchtower_scheduler_monitors").set(stats.monitors as f64);
    metrics::gauge!("watchtower_open_incidents").set(stats.open_incidents as f64);
    if let Some(p99) = stats.lag_p99_ms {
        metrics::gauge!("watchtower_scheduler_lag_p99_seconds").set(f64::from(p99) / 1000.0);
    }
    if let Some(backups) = &state.backups {
        backups.export_metrics(state.scheduler.clock().now());
    }
    match crate::instance_stats::gather(&state).await {
        Ok(stats) => crate::instance_stats::export_gauges(&stats),
        // The database's own gauges above say it is away; the rest of the scrape still answers.
        Err(error) => tracing::warn!(%error, "metrics: cannot read the instance's figures"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
