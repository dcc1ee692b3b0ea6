//! Requests by route: counts by status class and latency, per route template (never the raw path,
//! which can hold a push token), kept in this instance for `GET /api/admin/stats` and exported to
//! `/metrics` as `watchtower_http_requests_total{route,status}` and
//! `watchtower_http_request_duration_seconds{route}`.
//!
//! A route's figures and its metric handles are made on its first request, so a request costs a
//! read lock, one hash of the template and a few atomic adds; the routes are the router's
//! templates, so the map stays small.

use crate::metrics::LATENCY_BUCKETS;
use crate::middleware::request_trace::UNMATCHED_ROUTE;
use http::StatusCode;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

/// `1xx` to `5xx`.
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Every route's figures since the instance started.
#[derive(Debug, Default)]
pub struct RouteFigures {
    routes: RwLock<HashMap<Box<str>, Arc<Route>>>,
}

#[derive(Debug)]
struct Route {
    by_class: [AtomicU64; CLASSES.len()],
    latency_micros: AtomicU64,
    /// Requests at or under each of `LATENCY_BUCKETS` (not cumulative), the last slot above all.
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    counters: [metrics::Counter; CLASSES.len()],
    histogram: metrics::Histogram,
}

/// One route's figures, as `GET /api/admin/stats` shows them.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct RouteStats {
    /// The route template (`/api/monitors/{id}`), or `(unmatched)`.
    pub route: String,
    pub requests: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    /// 5xx answers as a share of requests.
    pub error_rate: f64,
    pub mean_ms: f64,
    /// The upper bound of the latency bucket holding the 95th and 99th percentile (`null` when
    /// beyond the largest bucket, 30 s).
    pub p95_ms_at_most: Option<f64>,
    pub p99_ms_at_most: Option<f64>,
}

impl Route {
    fn new(route: &str) -> Self {
        Route {
            by_class: Default::default(),
            latency_micros: AtomicU64::new(0),
            latency_buckets: Default::default(),
            counters: CLASSES.map(|class| {
                metrics::counter!("watchtower_http_requests_total", "route" => route.to_owned(), "status" => class)
            }),
            histogram: metrics::histogram!("watchtower_http_request_duration_seconds", "route" => route.to_owned()),
        }
    }

    fn record(&self, status: StatusCode, elapsed: Duration) {
        let class = usize::from(status.as_u16() / 100)
            .saturating_sub(1)
            .min(CLASSES.len() - 1);
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        self.counters[class].increment(1);
        let seconds = elapsed.as_secs_f64();
        self.histogram.record(seconds);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros.fetch_add(micros, Ordering::Relaxed);
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
    }

    fn stats(&self, route: &str) -> RouteStats {
        let by_class = self.by_class.each_ref().map(|n| n.load(Ordering::Relaxed));
        let requests: u64 = by_class.iter().sum();
        let buckets = self
            .latency_buckets
            .each_ref()
            .map(|n| n.load(Ordering::Relaxed));
        let at_most = |share: f64| -> Option<f64> {
            let rank = (requests as f64 * share).ceil() as u64;
            let mut seen = 0;
            for (index, count) in buckets.iter().enumerate() {
                seen += count;
                if seen >= rank.max(1) {
                    return LATENCY_BUCKETS.get(index).map(|bound| bound * 1000.0);
                }
            }
            None
        };
        let per_request = |total: f64| {
            if requests == 0 {
                0.0
            } else {
                total / requests as f64
            }
        };
        RouteStats {
            route: route.to_owned(),
            requests,
            client_errors: by_class[3],
            server_errors: by_class[4],
            error_rate: per_request(by_class[4] as f64),
            mean_ms: per_request(self.latency_micros.load(Ordering::Relaxed) as f64 / 1000.0),
            p95_ms_at_most: if requests == 0 { None } else { at_most(0.95) },
            p99_ms_at_most: if requests == 0 { None } else { at_most(0.99) },
        }
    }
}

impl RouteFigures {
    /// Counts one answer of `route`, a route template (`None`: no route matched).
    pub fn record(&self, route: Option<&str>, status: StatusCode, elapsed: Duration) {
        let template = route.unwrap_or(UNMATCHED_ROUTE);
        let known = self
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(template)
            .cloned();
        let figures = known.unwrap_or_else(|| {
            self.routes
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(template.into())
                .or_insert_with(|| Arc::new(Route::new(template)))
                .clone()
        });
        figures.record(status, elapsed);
    }

    /// Every route seen, busiest first.
    pub fn snapshot(&self) -> Vec<RouteStats> {
        let mut stats: Vec<RouteStats> = self
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(route, figures)| figures.stats(route))
            .collect();
        stats.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.route.cmp(&b.route)));
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_class_and_places_percentiles_in_their_buckets() {
        let figures = RouteFigures::default();
        for i in 0..100 {
            // 90 fast answers, 9 slow ones, one very slow server error.
            let (status, elapsed) = match i {
                0..90 => (StatusCode::OK, Duration::from_millis(3)),
                90..99 => (StatusCode::NOT_FOUND, Duration::from_millis(200)),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, Duration::from_secs(3)),
            };
            figures.record(Some("/api/monitors/{id}"), status, elapsed);
        }
        figures.record(None, StatusCode::NOT_FOUND, Duration::from_millis(1));
        let stats = figures.snapshot();
        assert_eq!(stats.len(), 2);
        let monitors = &stats[0];
        assert_eq!(monitors.route, "/api/monitors/{id}");
        assert_eq!(monitors.requests, 100);
        assert_eq!(monitors.client_errors, 9);
        assert_eq!(monitors.server_errors, 1);
        assert!((monitors.error_rate - 0.01).abs() < 1e-9);
        // (90 × 3 + 9 × 200 + 3000) / 100 ms.
        assert!(
            (monitors.mean_ms - 50.7).abs() < 1e-6,
            "{}",
            monitors.mean_ms
        );
        assert_eq!(monitors.p95_ms_at_most, Some(250.0));
        assert_eq!(monitors.p99_ms_at_most, Some(250.0));
        assert_eq!(stats[1].route, UNMATCHED_ROUTE);
        assert_eq!(stats[1].requests, 1);
    }
}
