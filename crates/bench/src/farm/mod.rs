//! The target farm: in-process HTTP/1.1, HTTPS and raw TCP endpoints spread over many loopback
//! addresses (127.0.0.2 onwards) and several ports each, so checks never run out of ephemeral
//! ports. Each monitor hits its own path `/m/<index>`, so the farm knows when every monitor was
//! first and last checked. Latency, failure rate and a scripted outage are configurable, and
//! `/webhook` timestamps every alert it receives.

mod latency;
mod server;
mod tls;

pub use latency::Latency;

use serde::Serialize;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// Webhook receipts kept at most.
const MAX_WEBHOOKS: usize = 100_000;

/// What kind of endpoint a monitor checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Http,
    Https,
    Tcp,
}

/// A stretch of time, counted from [`Farm::set_outage_origin`], during which a chosen share of the
/// HTTP(S) targets answers 503.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Outage {
    pub fraction: f64,
    pub start: Duration,
    pub length: Duration,
}

/// How the farm is laid out and how its targets behave.
#[derive(Debug, Clone)]
pub struct FarmConfig {
    /// Loopback addresses used, from 127.0.0.2 on.
    pub addresses: u16,
    /// Listening ports per address and per kind.
    pub ports_per_address: u16,
    /// The first port; HTTP uses the first `ports_per_address`, then HTTPS, then TCP.
    pub base_port: u16,
    pub https_fraction: f64,
    pub tcp_fraction: f64,
    pub latency: Latency,
    /// Share of HTTP(S) answers that are 503 at random.
    pub failure_rate: f64,
    pub outage: Option<Outage>,
    /// The farm stops serving after this long whatever happens.
    pub lifetime: Duration,
}

/// The endpoint one monitor checks.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub kind: TargetKind,
    pub endpoint: SocketAddr,
}

#[derive(Debug, Default)]
pub(crate) struct MonitorHits {
    count: AtomicU32,
    /// Milliseconds since the origin plus one; zero means never.
    first_ms: AtomicU64,
    last_ms: AtomicU64,
}

/// One alert the webhook receiver got, with the fields of its Standard Webhooks payload that
/// the latency figures need (absent when the body is not such a payload).
#[derive(Debug, Clone, Serialize)]
pub struct WebhookReceipt {
    /// Milliseconds since the farm's origin.
    pub at_ms: u64,
    /// Wall clock (epoch milliseconds), comparable with watchtower's timestamps on this machine.
    pub wall_ms: i64,
    pub bytes: usize,
    /// `type`, e.g. `monitor.down`.
    pub kind: Option<String>,
    pub monitor_id: Option<i64>,
    pub idempotency_key: Option<String>,
    /// `data.at`: when the state change happened (the failing check's start).
    pub event_at_ms: Option<i64>,
}

impl WebhookReceipt {
    fn parse(at_ms: u64, wall_ms: i64, body: &[u8]) -> Self {
        let payload: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let data = &payload["data"];
        Self {
            at_ms,
            wall_ms,
            bytes: body.len(),
            kind: payload["type"].as_str().map(str::to_owned),
            monitor_id: data["monitor_id"].as_i64(),
            idempotency_key: data["idempotency_key"].as_str().map(str::to_owned),
            event_at_ms: data["at"].as_i64(),
        }
    }
}

/// State shared by every endpoint.
#[derive(Debug)]
pub(crate) struct FarmState {
    origin: Instant,
    config: FarmConfig,
    hits: Vec<MonitorHits>,
    requests: AtomicU64,
    failures_served: AtomicU64,
    unknown_paths: AtomicU64,
    tcp_connections: AtomicU64,
    /// Milliseconds since the origin plus one at which the outage clock starts; zero: not yet.
    outage_origin_ms: AtomicU64,
    webhooks: Mutex<Vec<WebhookReceipt>>,
}

impl FarmState {
    fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64 + 1
    }

    pub(crate) fn record_hit(&self, index: usize) -> bool {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let Some(hits) = self.hits.get(index) else {
            self.unknown_paths.fetch_add(1, Ordering::Relaxed);
            return false;
        };
        let now = self.now_ms();
        hits.count.fetch_add(1, Ordering::Relaxed);
        let _ = hits
            .first_ms
            .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
        hits.last_ms.fetch_max(now, Ordering::Relaxed);
        true
    }

    /// Whether monitor `index` should fail now: in the scripted outage, or at random.
    pub(crate) fn should_fail(&self, index: usize) -> bool {
        let failing = self.in_outage_now(index) || rand::random::<f64>() < self.config.failure_rate;
        if failing {
            self.failures_served.fetch_add(1, Ordering::Relaxed);
        }
        failing
    }

    fn in_outage_now(&self, index: usize) -> bool {
        let Some(outage) = self.config.outage else {
            return false;
        };
        let origin = self.outage_origin_ms.load(Ordering::Relaxed);
        if origin == 0 || !in_outage_set(index, outage.fraction) {
            return false;
        }
        let since = self.now_ms().saturating_sub(origin);
        let start = outage.start.as_millis() as u64;
        (start..start + outage.length.as_millis() as u64).contains(&since)
    }

    pub(crate) fn record_tcp(&self) {
        self.tcp_connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_unknown(&self) {
        self.unknown_paths.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_webhook(&self, body: &[u8]) {
        let at_ms = self.now_ms() - 1;
        let receipt = WebhookReceipt::parse(at_ms, watchtower_core::Timestamp::now().0, body);
        let mut webhooks = self.webhooks.lock().expect("webhook lock");
        if webhooks.len() < MAX_WEBHOOKS {
            webhooks.push(receipt);
        }
    }

    pub(crate) fn latency(&self) -> Latency {
        self.config.latency
    }
}

/// A stable pseudo-random spread of monitor indexes over `0..10_000`.
fn spread(index: usize, salt: u64) -> u64 {
    let mut x = (index as u64) ^ salt;
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (x ^ (x >> 31)) % 10_000
}

/// Whether monitor `index` is among the `fraction` of targets the outage takes down.
pub fn in_outage_set(index: usize, fraction: f64) -> bool {
    (spread(index, 0x5EED) as f64) < fraction * 10_000.0
}

/// The `n`-th loopback address of the farm: 127.0.0.2 … 127.0.0.251, then 127.0.1.2 …
fn loopback(n: u16) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, (n / 250) as u8, (2 + n % 250) as u8)
}

/// A running farm.
pub struct Farm {
    state: Arc<FarmState>,
    http: Vec<SocketAddr>,
    https: Vec<SocketAddr>,
    tcp: Vec<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

impl Farm {
    /// Binds every endpoint and starts serving; `monitors` is how many `/m/<index>` paths exist.
    pub async fn start(
        config: FarmConfig,
        monitors: usize,
        origin: Instant,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            (1..=1000).contains(&config.addresses) && (1..=100).contains(&config.ports_per_address),
            "the farm takes 1 to 1000 addresses and 1 to 100 ports per address"
        );
        let deadline = tokio::time::Instant::now() + config.lifetime;
        let state = Arc::new(FarmState {
            origin,
            hits: (0..monitors).map(|_| MonitorHits::default()).collect(),
            requests: AtomicU64::new(0),
            failures_served: AtomicU64::new(0),
            unknown_paths: AtomicU64::new(0),
            tcp_connections: AtomicU64::new(0),
            outage_origin_ms: AtomicU64::new(0),
            webhooks: Mutex::new(Vec::new()),
            config: config.clone(),
        });
        let ports = config.ports_per_address;
        let endpoints = |kind_offset: u16| -> Vec<SocketAddr> {
            let mut list = Vec::new();
            for port in 0..ports {
                for address in 0..config.addresses {
                    let port = config.base_port + kind_offset * ports + port;
                    list.push(SocketAddr::from((loopback(address), port)));
                }
            }
            list
        };
        let http = endpoints(0);
        let https = if config.https_fraction > 0.0 {
            endpoints(1)
        } else {
            Vec::new()
        };
        let tcp = if config.tcp_fraction > 0.0 {
            endpoints(2)
        } else {
            Vec::new()
        };

        let mut tasks = Vec::new();
        for &address in &http {
            let listener = server::bind(address).await?;
            tasks.push(tokio::spawn(server::serve_http(
                listener,
                state.clone(),
                None,
                deadline,
            )));
        }
        if !https.is_empty() {
            let acceptor = tls::self_signed_acceptor()?;
            for &address in &https {
                let listener = server::bind(address).await?;
                let acceptor = Some(acceptor.clone());
                tasks.push(tokio::spawn(server::serve_http(
                    listener,
                    state.clone(),
                    acceptor,
                    deadline,
                )));
            }
        }
        for &address in &tcp {
            let listener = server::bind(address).await?;
            tasks.push(tokio::spawn(server::serve_tcp(
                listener,
                state.clone(),
                deadline,
            )));
        }
        Ok(Self {
            state,
            http,
            https,
            tcp,
            tasks,
        })
    }

    /// The endpoint monitor `index` checks: its kind by a stable hash, its address round-robin.
    pub fn target(&self, index: usize) -> Target {
        let share = spread(index, 0xC0FFEE) as f64 / 10_000.0;
        let cfg = &self.state.config;
        let (kind, list) = if share < cfg.https_fraction {
            (TargetKind::Https, &self.https)
        } else if share < cfg.https_fraction + cfg.tcp_fraction {
            (TargetKind::Tcp, &self.tcp)
        } else {
            (TargetKind::Http, &self.http)
        };
        Target {
            kind,
            endpoint: list[index % list.len()],
        }
    }

    /// Starts the outage clock (call it once every monitor is loaded).
    pub fn set_outage_origin(&self) {
        let now = self.state.now_ms();
        self.state.outage_origin_ms.store(now, Ordering::Relaxed);
    }

    /// Milliseconds since the origin now (plus one, as stored).
    pub fn now_ms(&self) -> u64 {
        self.state.now_ms()
    }

    /// HTTP(S) requests and TCP connections served so far.
    pub fn checks_seen(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
            + self.state.tcp_connections.load(Ordering::Relaxed)
    }

    /// Monitors whose target records hits per monitor (HTTP and HTTPS; TCP cannot tell monitors apart).
    pub fn tracked(&self, count: usize) -> impl Iterator<Item = usize> + '_ {
        (0..count).filter(|&i| self.target(i).kind != TargetKind::Tcp)
    }

    /// How many tracked monitors were checked at or after `since_ms`.
    pub fn monitors_hit_since(&self, count: usize, since_ms: u64) -> usize {
        self.tracked(count)
            .filter(|&i| self.state.hits[i].last_ms.load(Ordering::Relaxed) >= since_ms)
            .count()
    }

    /// When the last tracked monitor was first checked, if every one has been.
    pub fn all_first_hits_ms(&self, count: usize) -> Option<u64> {
        let mut latest = 0;
        for i in self.tracked(count) {
            let first = self.state.hits[i].first_ms.load(Ordering::Relaxed);
            if first == 0 {
                return None;
            }
            latest = latest.max(first - 1);
        }
        Some(latest)
    }

    /// Every webhook received so far (up to 100,000), in order of arrival.
    pub fn webhooks(&self) -> Vec<WebhookReceipt> {
        self.state.webhooks.lock().expect("webhook lock").clone()
    }

    /// The farm's own counters.
    pub fn summary(&self, count: usize) -> FarmSummary {
        let per_monitor: Vec<u32> = self
            .tracked(count)
            .map(|i| self.state.hits[i].count.load(Ordering::Relaxed))
            .collect();
        FarmSummary {
            http_endpoints: self.http.len(),
            https_endpoints: self.https.len(),
            tcp_endpoints: self.tcp.len(),
            http_requests: self.state.requests.load(Ordering::Relaxed),
            tcp_connections: self.state.tcp_connections.load(Ordering::Relaxed),
            failures_served: self.state.failures_served.load(Ordering::Relaxed),
            unknown_paths: self.state.unknown_paths.load(Ordering::Relaxed),
            tracked_monitors: per_monitor.len(),
            monitors_never_hit: per_monitor.iter().filter(|&&n| n == 0).count(),
            min_hits_per_monitor: per_monitor.iter().copied().min().unwrap_or(0),
            max_hits_per_monitor: per_monitor.iter().copied().max().unwrap_or(0),
            webhooks_received: self.state.webhooks.lock().expect("webhook lock").len(),
        }
    }

    /// Stops every endpoint.
    pub fn stop(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

/// What the farm saw.
#[derive(Debug, Clone, Serialize)]
pub struct FarmSummary {
    pub http_endpoints: usize,
    pub https_endpoints: usize,
    pub tcp_endpoints: usize,
    pub http_requests: u64,
    pub tcp_connections: u64,
    pub failures_served: u64,
    pub unknown_paths: u64,
    pub tracked_monitors: usize,
    pub monitors_never_hit: usize,
    pub min_hits_per_monitor: u32,
    pub max_hits_per_monitor: u32,
    pub webhooks_received: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses_stay_in_127_slash_8() {
        assert_eq!(loopback(0), Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(loopback(249), Ipv4Addr::new(127, 0, 0, 251));
        assert_eq!(loopback(250), Ipv4Addr::new(127, 0, 1, 2));
        assert!((0..1000).all(|n| loopback(n).is_loopback()));
    }

    #[test]
    fn webhook_payloads_are_read_for_latency() {
        let body = br#"{"version":1,"type":"monitor.down","timestamp":1,"data":{"idempotency_key":"k-7","event":"down","monitor_id":7,"at":1700000000123}}"#;
        let receipt = WebhookReceipt::parse(5, 1_700_000_000_456, body);
        assert_eq!(receipt.kind.as_deref(), Some("monitor.down"));
        assert_eq!(receipt.monitor_id, Some(7));
        assert_eq!(receipt.idempotency_key.as_deref(), Some("k-7"));
        assert_eq!(receipt.event_at_ms, Some(1_700_000_000_123));
        let junk = WebhookReceipt::parse(5, 6, b"not json");
        assert_eq!((junk.monitor_id, junk.bytes), (None, 8));
    }

    #[test]
    fn outage_set_is_about_the_requested_share() {
        let down = (0..10_000).filter(|&i| in_outage_set(i, 0.1)).count();
        assert!((800..1200).contains(&down), "{down}");
        assert_eq!((0..1000).filter(|&i| in_outage_set(i, 0.0)).count(), 0);
    }
}
