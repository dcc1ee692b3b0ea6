//! `/healthz` for load balancers (200, or 503 when the database does not answer) and
//! `/api/health` with the figures an operator checks daily.

use crate::AppState;
use crate::system::{MemoryReport, memory};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use std::sync::atomic::Ordering;
use std::time::Duration;
use watchtower_scheduler::SchedulerStats;
use watchtower_store::Backend;

const DATABASE_DEADLINE: Duration = Duration::from_secs(2);

#[derive(Serialize)]
pub(crate) struct DatabaseReport {
    status: &'static str,
    backend: &'static str,
    latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct WriterReport {
    healthy: bool,
    buffered_results: u64,
    written_results: u64,
    dropped_results: u64,
}

#[derive(Serialize)]
pub(crate) struct SystemReport {
    memory: MemoryReport,
}

#[derive(Serialize)]
pub(crate) struct HealthReport {
    status: &'static str,
    version: &'static str,
    uptime_seconds: u64,
    database: DatabaseReport,
    scheduler: SchedulerStats,
    writer: WriterReport,
    system: SystemReport,
    /// Scheduled backups (`serve --backup-dir`); absent without them.
    #[serde(skip_serializing_if = "Option::is_none")]
    backups: Option<crate::backups::BackupReport>,
}

/// Asks the database for a round trip within the deadline.
pub(crate) async fn database(state: &AppState) -> DatabaseReport {
    let backend = match state.store.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let outcome = tokio::time::timeout(DATABASE_DEADLINE, state.store.ping()).await;
    let (status, latency, error) = match outcome {
        Ok(Ok(latency)) => ("ok", Some(latency), None),
        Ok(Err(error)) => {
            // The cause (host names, the driver's words) is for the log; this answer is public.
            tracing::warn!(%error, "database ping failed");
            (
                "unavailable",
                None,
                Some("the database did not answer".to_owned()),
            )
        }
        Err(_) => (
            "unavailable",
            None,
            Some(format!("no answer within {}s", DATABASE_DEADLINE.as_secs())),
        ),
    };
    if let Some(latency) = latency {
        metrics::gauge!("watchtower_database_latency_seconds").set(latency.as_secs_f64());
    } else {
        metrics::counter!("watchtower_database_errors_total").increment(1);
    }
    DatabaseReport {
        status,
        backend,
        latency_ms: latency.map(|l| l.as_secs_f64() * 1000.0),
        error,
    }
}

/// 200 when the database answers and accepts the writer's batches; 503 otherwise (results then
/// wait in the writer's bounded buffer).
pub(crate) async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if database(&state).await.status != "ok" {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
    } else if !state.writer.healthy.load(Ordering::Relaxed) {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "database refuses writes; results are buffered\n",
        )
    } else {
        (StatusCode::OK, "ok\n")
    }
}

pub(crate) async fn report(State(state): State<AppState>) -> (StatusCode, Json<HealthReport>) {
    let database = database(&state).await;
    let writer = WriterReport {
        healthy: state.writer.healthy.load(Ordering::Relaxed),
        buffered_results: state.writer.buffered_results.load(Ordering::Relaxed),
        written_results: state.writer.written_results.load(Ordering::Relaxed),
        dropped_results: state.writer.dropped_results.load(Ordering::Relaxed),
    };
    let healthy = database.status == "ok" && writer.healthy;
    let report = HealthReport {
        status: if healthy { "ok" } else { "degraded" },
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: state.started.elapsed().as_secs(),
        database,
        scheduler: state
            .scheduler
            .stats
            .snapshot(state.scheduler.clock().now()),
        writer,
        system: SystemReport { memory: memory() },
        backups: state
            .backups
            .as_ref()
            .map(|backups| backups.report(state.scheduler.clock().now())),
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report))
}
