//! Per-caller rate limiting for the `/api` router: GCRA buckets (`governor`) keyed by API key,
//! session or client IP, with `RateLimit-*` headers on every answer and a 429 in the one JSON
//! error shape when a bucket is empty.
//!
//! It is an axum `from_fn_with_state` middleware rather than a tower `Layer` because it only
//! needs the request before and the response after, and that style reads as a plain function:
//!
//! ```
//! # use std::{sync::Arc, time::Duration};
//! # use axum::{Router, routing::get};
//! use watchtower_server::middleware::rate_limit::{self, RateLimitConfig, RateLimiter};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let limiter = Arc::new(RateLimiter::new(RateLimitConfig::default()));
//! limiter.spawn_cleanup(Duration::from_secs(60));
//! let api: Router = Router::new()
//!     .route("/monitors", get(|| async { "[]" }))
//!     .layer(axum::middleware::from_fn_with_state(limiter, rate_limit::middleware));
//! # }
//! ```
//!
//! Anyone can invent a token, so a bearer token or session cookie earns its own bucket only once
//! a [`CredentialCheck`] has found it real (an unrevoked key, a live session); until then the
//! request is anonymous and spends the address's anonymous bucket. Every request carrying a
//! credential is also counted against its address with the higher allowance first, which bounds
//! the lookups a client can cause and stops rotating real keys from escaping the per-address
//! limit. A refused request neither spends the credential's allowance nor adds an entry for a
//! made-up token. Without a check (tests of the limiter alone), no credential is trusted.
//!
//! Heartbeat pings skip this middleware; `/api/push/{token}` asks [`RateLimiter::unknown_push_token`]
//! for each token it does not know (a small bucket per address, so tokens cannot be guessed
//! quickly) and [`RateLimiter::push_refusal`] for each one it knows: while an address is refused,
//! every ping from it is answered with the same 429, so the answer never tells a right guess from
//! a wrong one (a known token's ping is still recorded).

use crate::error::ApiError;
use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use governor::clock::Clock;
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota};
use http::header::{AUTHORIZATION, RETRY_AFTER};
use http::{HeaderMap, HeaderName, StatusCode};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

const LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("ratelimit-reset");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Session cookie names, the `__Host-` one (set over HTTPS) first.
const SESSION_COOKIES: [&str; 2] = ["__Host-watchtower_session", "watchtower_session"];

/// Heartbeat pings from cron jobs must never be throttled: a missed ping raises a false alarm.
const EXEMPT_PREFIX: &str = "/api/push/";
/// Whop's webhook deliveries come in bursts from Whop's few addresses; each is verified by its
/// signature (an HMAC, cheap) before anything is written, so they are not throttled either.
const EXEMPT_WHOP_WEBHOOK: &str = "/api/webhooks/whop";

/// Each limit means "N requests per `window`", with bursts of up to N.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitConfig {
    pub per_api_key: u32,
    pub per_session: u32,
    /// Requests without a credential.
    pub per_ip: u32,
    /// Requests with a credential, counted against their IP as well as their credential.
    pub per_ip_authenticated: u32,
    /// Push pings with a token nobody has, per address (pings with a known token never count).
    pub per_ip_unknown_push_token: u32,
    pub window: Duration,
    /// Take the client from the right-most `X-Forwarded-For` entry: the address the one trusted
    /// proxy in front saw and appended. Entries left of it are the client's own words.
    pub trust_forwarded_for: bool,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_api_key: 600,
            per_session: 300,
            per_ip: 120,
            per_ip_authenticated: 1200,
            per_ip_unknown_push_token: 10,
            window: Duration::from_secs(60),
            trust_forwarded_for: false,
        }
    }
}

/// The buckets of every caller. Share it in an `Arc`; entries for idle callers are dropped by
/// [`RateLimiter::retain_recent`].
pub struct RateLimiter {
    per_api_key: Bucket,
    per_session: Bucket,
    per_ip: Bucket,
    per_ip_authenticated: Bucket,
    unknown_push_token: Bucket,
    /// Addresses whose unknown-token allowance is spent, and until when they are refused.
    push_refused_until: Mutex<HashMap<String, Instant>>,
    trust_forwarded_for: bool,
    credential_check: Option<Arc<dyn CredentialCheck>>,
}

/// Whether a credential is real, by the SHA-256 (hex) of its token, as the store keeps them.
#[async_trait::async_trait]
pub trait CredentialCheck: Send + Sync {
    /// An unrevoked API key whose creator is still a member.
    async fn is_api_key(&self, key_hash: &str) -> bool;
    /// A live session.
    async fn is_session(&self, token_hash: &str) -> bool;
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> Self {
        let window = config.window;
        Self {
            per_api_key: Bucket::new("key", config.per_api_key, window),
            per_session: Bucket::new("session", config.per_session, window),
            per_ip: Bucket::new("ip", config.per_ip, window),
            per_ip_authenticated: Bucket::new("ip", config.per_ip_authenticated, window),
            unknown_push_token: Bucket::new("push", config.per_ip_unknown_push_token, window),
            push_refused_until: Mutex::new(HashMap::new()),
            trust_forwarded_for: config.trust_forwarded_for,
            credential_check: None,
        }
    }

    /// Gives credentials that pass `check` their own buckets (see the module docs).
    pub fn with_credential_check(mut self, check: Arc<dyn CredentialCheck>) -> Self {
        self.credential_check = Some(check);
        self
    }

    /// Forgets callers whose bucket is full again (they are indistinguishable from new ones), so
    /// memory follows the number of recently active callers, not every caller ever seen.
    pub fn retain_recent(&self) {
        for bucket in self.buckets() {
            bucket.limiter.retain_recent();
            bucket.limiter.shrink_to_fit();
        }
        let now = Instant::now();
        self.refused_pushes().retain(|_, until| *until > now);
    }

    /// Calls [`Self::retain_recent`] every `every` (at least 1 ms) until the limiter is dropped.
    pub fn spawn_cleanup(self: &Arc<Self>, every: Duration) -> JoinHandle<()> {
        let limiter = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every.max(Duration::from_millis(1)));
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match limiter.upgrade() {
                    Some(limiter) => limiter.retain_recent(),
                    None => return,
                }
            }
        })
    }

    /// The fullest `/api` bucket since the last call (and starts the next period): which kind,
    /// its allowance, and the share any one caller spent of it. Push-token guessing has its own
    /// bucket and is not counted.
    pub fn take_peak_use(&self) -> (&'static str, u32, f64) {
        [
            &self.per_api_key,
            &self.per_session,
            &self.per_ip,
            &self.per_ip_authenticated,
        ]
        .into_iter()
        .map(|bucket| {
            let spent = bucket.peak_spent.swap(0, Ordering::Relaxed);
            let share = f64::from(spent) / f64::from(bucket.limit.max(1));
            (bucket.kind, bucket.limit, share)
        })
        .fold(("ip", self.per_ip.limit, 0.0), |fullest, next| {
            if next.2 > fullest.2 { next } else { fullest }
        })
    }

    fn buckets(&self) -> [&Bucket; 5] {
        [
            &self.per_api_key,
            &self.per_session,
            &self.per_ip,
            &self.per_ip_authenticated,
            &self.unknown_push_token,
        ]
    }

    fn refused_pushes(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.push_refused_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Who sends a ping, for [`Self::unknown_push_token`] and [`Self::push_refusal`]: its
    /// address (or /64), as the other per-address buckets see it.
    pub fn push_client(&self, request: &Request) -> PushClient {
        PushClient(ip_key(self.client_ip(request)))
    }

    /// Spends one ping with an unknown token from the client's allowance: `Some` is the 429 to
    /// answer once it is spent; from then on [`Self::push_refusal`] refuses the client's known
    /// tokens alike.
    pub fn unknown_push_token(&self, client: &PushClient) -> Option<Response> {
        let refused = self.unknown_push_token.check(&client.0).err()?;
        let until = Instant::now() + refused.retry_after;
        self.refused_pushes().insert(client.0.clone(), until);
        metrics::counter!("watchtower_rate_limited_total", "bucket" => "push").increment(1);
        Some(refused.into_response())
    }

    /// The 429 a ping with a known token gets while its client is refused for guessing (the
    /// ping itself is still recorded), so that a right guess is answered like a wrong one.
    pub fn push_refusal(&self, client: &PushClient) -> Option<Response> {
        let until = *self.refused_pushes().get(&client.0)?;
        let retry_after = until.checked_duration_since(Instant::now())?;
        let bucket = &self.unknown_push_token;
        Some(
            Refused {
                kind: bucket.kind,
                retry_after,
                status: Status {
                    limit: bucket.limit,
                    remaining: 0,
                    reset: retry_after + bucket.interval * (bucket.limit - 1),
                },
            }
            .into_response(),
        )
    }

    /// Spends one request from the caller's buckets. On success, the state of the bucket that
    /// names the caller (its credential's if any); on refusal, the state of the empty bucket.
    /// Takes the address and credential out of the request first: a `&Request` (its body is not
    /// `Sync`) must not be held across the credential lookup.
    async fn check(&self, ip: String, credential: Option<Credential>) -> Result<Status, Refused> {
        let Some(credential) = credential else {
            return self.per_ip.check(&ip);
        };
        self.per_ip_authenticated.check(&ip)?;
        if !self.is_real(&credential).await {
            return self.per_ip.check(&ip);
        }
        match credential {
            Credential::ApiKey(hash) => self.per_api_key.check(&format!("key:{hash}")),
            Credential::Session(hash) => self.per_session.check(&format!("session:{hash}")),
        }
    }

    async fn is_real(&self, credential: &Credential) -> bool {
        let Some(check) = &self.credential_check else {
            return false;
        };
        match credential {
            Credential::ApiKey(hash) => check.is_api_key(hash).await,
            Credential::Session(hash) => check.is_session(hash).await,
        }
    }

    /// The peer address, or the right-most forwarded one when the proxy is trusted. `None` when
    /// the server was started without connect info; such requests then share one bucket.
    fn client_ip(&self, request: &Request) -> Option<IpAddr> {
        let forwarded = self
            .trust_forwarded_for
            .then(|| rightmost_forwarded(request.headers()))
            .flatten();
        forwarded.or_else(|| {
            request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip())
        })
    }
}

/// The bucket key of a ping's sender (see [`RateLimiter::push_client`]).
pub struct PushClient(String);

/// Rate-limits a request and labels the answer. See the module docs for how to mount it.
pub async fn middleware(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    if is_exempt(&request) {
        return next.run(request).await;
    }
    let ip = ip_key(limiter.client_ip(&request));
    let credential = credential(request.headers());
    match limiter.check(ip, credential).await {
        Ok(status) => {
            let mut response = next.run(request).await;
            status.write(response.headers_mut());
            response
        }
        Err(refused) => {
            metrics::counter!("watchtower_rate_limited_total", "bucket" => refused.kind)
                .increment(1);
            refused.into_response()
        }
    }
}

/// Inside `Router::nest` the URI has lost its prefix, so prefer the one the client sent.
fn is_exempt(request: &Request) -> bool {
    let path = match request.extensions().get::<OriginalUri>() {
        Some(OriginalUri(uri)) => uri.path(),
        None => request.uri().path(),
    };
    path.starts_with(EXEMPT_PREFIX) || path == EXEMPT_WHOP_WEBHOOK
}

/// One keyed GCRA limiter and the numbers needed to describe it in headers.
struct Bucket {
    kind: &'static str,
    limit: u32,
    /// Time to earn back one request: `window / limit`.
    interval: Duration,
    limiter: DefaultKeyedRateLimiter<String, StateInformationMiddleware>,
    /// The most any caller has spent of this bucket since the ops watch last asked (requests,
    /// a refused one counting the whole allowance): the ops alert on rate limits reads it.
    peak_spent: AtomicU32,
}

impl Bucket {
    /// Zero limits or windows are raised to the smallest valid value rather than refusing to
    /// start; a limiter that refuses everything is never what was meant.
    fn new(kind: &'static str, limit: u32, window: Duration) -> Self {
        let quota = quota(NonZeroU32::new(limit).unwrap_or(NonZeroU32::MIN), window);
        Self {
            kind,
            limit: quota.burst_size().get(),
            interval: quota.replenish_interval(),
            limiter: governor::RateLimiter::keyed(quota).with_middleware(),
            peak_spent: AtomicU32::new(0),
        }
    }

    fn check(&self, key: &String) -> Result<Status, Refused> {
        let outcome = self.check_key(key);
        let spent = match &outcome {
            Ok(status) => self.limit.saturating_sub(status.remaining),
            Err(_) => self.limit,
        };
        self.peak_spent.fetch_max(spent, Ordering::Relaxed);
        outcome
    }

    fn check_key(&self, key: &String) -> Result<Status, Refused> {
        match self.limiter.check_key(key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                // The snapshot hides the exact refill time; it lies within one interval below this.
                let reset = self.interval * self.limit.saturating_sub(remaining);
                Ok(Status {
                    limit: self.limit,
                    remaining,
                    reset,
                })
            }
            Err(not_until) => {
                let retry_after = not_until.wait_time_from(self.limiter.clock().now());
                let reset = retry_after + self.interval * (self.limit - 1);
                Err(Refused {
                    kind: self.kind,
                    retry_after,
                    status: Status {
                        limit: self.limit,
                        remaining: 0,
                        reset,
                    },
                })
            }
        }
    }
}

/// N per window with bursts of N. Not `Quota::per_minute` and friends, which fix the window, and
/// whose `per_second(n)` means n per second, not one per n seconds.
fn quota(limit: NonZeroU32, window: Duration) -> Quota {
    let interval = (window / limit.get()).max(Duration::from_nanos(1));
    Quota::with_period(interval)
        .expect("the period is at least one nanosecond")
        .allow_burst(limit)
}

/// What the `RateLimit-*` headers say about one bucket.
struct Status {
    limit: u32,
    remaining: u32,
    reset: Duration,
}

impl Status {
    fn write(&self, headers: &mut HeaderMap) {
        headers.insert(LIMIT, self.limit.into());
        headers.insert(REMAINING, self.remaining.into());
        headers.insert(RESET, ceil_secs(self.reset).into());
    }
}

struct Refused {
    kind: &'static str,
    retry_after: Duration,
    status: Status,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let seconds = ceil_secs(self.retry_after).max(1);
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests; retry after {seconds} seconds"),
        )
        .into_response();
        let headers = response.headers_mut();
        headers.insert(RETRY_AFTER, seconds.into());
        self.status.write(headers);
        response
    }
}

fn ceil_secs(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// A credential by the SHA-256 (hex) of its token, so no token is kept in memory in clear; the
/// store finds keys and sessions by the same digest.
enum Credential {
    ApiKey(String),
    Session(String),
}

fn credential(headers: &HeaderMap) -> Option<Credential> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty());
    if let Some(token) = bearer {
        return Some(Credential::ApiKey(sha256_hex(token)));
    }
    let jar = CookieJar::from_headers(headers);
    SESSION_COOKIES
        .iter()
        .filter_map(|name| jar.get(name))
        .map(axum_extra::extract::cookie::Cookie::value)
        .find(|value| !value.is_empty())
        .map(|value| Credential::Session(sha256_hex(value)))
}

fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The right-most `X-Forwarded-For` entry: the one the trusted proxy appended. With several
/// headers, the last one's (a proxy appends to, or adds after, what the client sent).
pub fn rightmost_forwarded(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .next_back()?
        .to_str()
        .ok()?
        .rsplit(',')
        .next()?
        .trim();
    last.parse::<IpAddr>()
        .ok()
        .or_else(|| last.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
}

/// An IPv6 client usually holds a whole /64, so one address per /64 keeps it to one bucket.
fn ip_key(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V4(v4)) => format!("ip:{v4}"),
        Some(IpAddr::V6(v6)) => {
            let prefix = Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX));
            format!("ip:{prefix}/64")
        }
        None => "ip:unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    const PEER: [u8; 4] = [192, 0, 2, 1];

    fn small() -> RateLimitConfig {
        RateLimitConfig {
            per_api_key: 3,
            per_session: 3,
            per_ip: 3,
            per_ip_authenticated: 5,
            per_ip_unknown_push_token: 3,
            window: Duration::from_secs(60),
            trust_forwarded_for: false,
        }
    }

    /// The credentials these tests treat as real: two keys and the session secrets.
    struct KnownCredentials;

    #[async_trait::async_trait]
    impl CredentialCheck for KnownCredentials {
        async fn is_api_key(&self, key_hash: &str) -> bool {
            ["alice-token", "bob-token", "secret-1"]
                .iter()
                .any(|token| sha256_hex(token) == key_hash)
        }

        async fn is_session(&self, token_hash: &str) -> bool {
            ["secret-1", "secret-2"]
                .iter()
                .any(|token| sha256_hex(token) == token_hash)
        }
    }

    fn app(config: RateLimitConfig) -> Router {
        let limiter =
            Arc::new(RateLimiter::new(config).with_credential_check(Arc::new(KnownCredentials)));
        Router::new()
            .route("/api/ok", get(|| async { "ok" }))
            .route("/api/missing", get(|| async { ApiError::not_found() }))
            .route("/api/denied", get(|| async { StatusCode::UNAUTHORIZED }))
            .route("/api/push/{token}", get(|| async { "pong" }))
            .layer(axum::middleware::from_fn_with_state(limiter, middleware))
    }

    fn request(path: &str, peer: impl Into<IpAddr>, headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::get(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let mut request = builder.body(Body::empty()).unwrap();
        let peer = SocketAddr::new(peer.into(), 40_000);
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    }

    async fn status(app: &Router, request: Request) -> StatusCode {
        app.clone().oneshot(request).await.unwrap().status()
    }

    fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
        response.headers().get(name).map(|v| v.to_str().unwrap())
    }

    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    #[test]
    fn quota_is_n_per_window_with_bursts_of_n() {
        let quota = quota(NonZeroU32::new(3).unwrap(), Duration::from_secs(60));
        assert_eq!(quota.burst_size().get(), 3);
        assert_eq!(quota.replenish_interval(), Duration::from_secs(20));
        assert_eq!(quota.burst_size_replenished_in(), Duration::from_secs(60));
        // The gotcha this module avoids: in governor 0.10 `per_second(n)` is n per second.
        let per_second = Quota::per_second(NonZeroU32::new(4).unwrap());
        assert_eq!(per_second.replenish_interval(), Duration::from_millis(250));
    }

    #[tokio::test]
    async fn the_fullest_bucket_since_the_last_look_is_reported_once() {
        let limiter = Arc::new(RateLimiter::new(RateLimitConfig {
            per_ip: 10,
            ..small()
        }));
        let app = Router::new()
            .route("/api/ok", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(
                limiter.clone(),
                middleware,
            ));
        assert_eq!(limiter.take_peak_use().2, 0.0);
        for _ in 0..9 {
            status(&app, request("/api/ok", PEER, &[])).await;
        }
        status(&app, request("/api/ok", [192, 0, 2, 9], &[])).await;
        let (bucket, limit, share) = limiter.take_peak_use();
        assert_eq!((bucket, limit), ("ip", 10));
        assert!((share - 0.9).abs() < 1e-9, "{share}");
        assert_eq!(
            limiter.take_peak_use().2,
            0.0,
            "the next period starts empty"
        );
        for _ in 0..12 {
            status(&app, request("/api/ok", PEER, &[])).await;
        }
        assert_eq!(limiter.take_peak_use().2, 1.0, "a refusal is a full bucket");
    }

    #[tokio::test]
    async fn headers_on_success_and_on_handler_errors() {
        let app = app(small());
        for path in ["/api/ok", "/api/missing", "/api/denied"] {
            let response = app.clone().oneshot(request(path, PEER, &[])).await.unwrap();
            assert!(header(&response, "ratelimit-limit").is_some(), "{path}");
            assert!(header(&response, "ratelimit-remaining").is_some(), "{path}");
            assert!(header(&response, "ratelimit-reset").is_some(), "{path}");
            assert!(header(&response, "retry-after").is_none(), "{path}");
        }
    }

    #[tokio::test]
    async fn remaining_counts_down_and_reset_counts_up() {
        let app = app(small());
        for (remaining, reset) in [("2", "20"), ("1", "40"), ("0", "60")] {
            let response = app
                .clone()
                .oneshot(request("/api/missing", PEER, &[]))
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::NOT_FOUND);
            assert_eq!(header(&response, "ratelimit-limit"), Some("3"));
            assert_eq!(header(&response, "ratelimit-remaining"), Some(remaining));
            assert_eq!(header(&response, "ratelimit-reset"), Some(reset));
        }
    }

    #[tokio::test]
    async fn request_past_the_limit_is_429_in_the_error_shape() {
        let app = app(small());
        for _ in 0..3 {
            assert_eq!(
                status(&app, request("/api/ok", PEER, &[])).await,
                StatusCode::OK
            );
        }
        let response = app
            .clone()
            .oneshot(request("/api/ok", PEER, &[]))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = header(&response, "retry-after").unwrap().parse().unwrap();
        assert!((1..=20).contains(&retry), "retry-after {retry}");
        assert_eq!(header(&response, "ratelimit-limit"), Some("3"));
        assert_eq!(header(&response, "ratelimit-remaining"), Some("0"));
        let reset: u64 = header(&response, "ratelimit-reset")
            .unwrap()
            .parse()
            .unwrap();
        assert!((retry..=60).contains(&reset), "reset {reset}");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "rate_limited");
        assert_eq!(
            body["error"]["message"],
            format!("too many requests; retry after {retry} seconds")
        );
    }

    #[tokio::test]
    async fn api_keys_have_independent_buckets() {
        let app = app(small());
        let (alice, bob) = (bearer("alice-token"), bearer("bob-token"));
        for _ in 0..3 {
            let ok = request("/api/ok", PEER, &[("authorization", &alice)]);
            assert_eq!(status(&app, ok).await, StatusCode::OK);
        }
        let refused = request("/api/ok", PEER, &[("authorization", &alice)]);
        assert_eq!(status(&app, refused).await, StatusCode::TOO_MANY_REQUESTS);
        let other = request("/api/ok", PEER, &[("authorization", &bob)]);
        assert_eq!(status(&app, other).await, StatusCode::OK);
    }

    #[tokio::test]
    async fn api_key_bucket_follows_the_key_across_ips() {
        let app = app(small());
        let key = bearer("alice-token");
        for last in 1..=3 {
            let ok = request("/api/ok", [198, 51, 100, last], &[("authorization", &key)]);
            assert_eq!(status(&app, ok).await, StatusCode::OK);
        }
        let moved = request("/api/ok", [198, 51, 100, 9], &[("authorization", &key)]);
        assert_eq!(status(&app, moved).await, StatusCode::TOO_MANY_REQUESTS);
    }

    #[tokio::test]
    async fn session_cookies_have_their_own_buckets() {
        let app = app(small());
        // A different peer each round, so only the session bucket can refuse.
        for (round, name) in (1..).zip(SESSION_COOKIES) {
            let cookie = format!("theme=dark; {name}=secret-{round}");
            let peer = [198, 51, 100, round];
            for _ in 0..3 {
                let ok = request("/api/ok", peer, &[("cookie", &cookie)]);
                assert_eq!(status(&app, ok).await, StatusCode::OK, "{name}");
            }
            let refused = request("/api/ok", peer, &[("cookie", &cookie)]);
            assert_eq!(
                status(&app, refused).await,
                StatusCode::TOO_MANY_REQUESTS,
                "{name}"
            );
        }
        // The same secret as a bearer token is a different bucket.
        let key = request("/api/ok", PEER, &[("authorization", "Bearer secret-1")]);
        assert_eq!(status(&app, key).await, StatusCode::OK);
    }

    /// A made-up bearer token or session cookie is anonymous: it gets the address's anonymous
    /// allowance (3 here), not the authenticated one (5), however often it changes.
    #[tokio::test]
    async fn made_up_credentials_count_as_anonymous() {
        let app = app(small());
        for n in 0..3 {
            let token = bearer(&format!("random-{n}"));
            let ok = request("/api/ok", PEER, &[("authorization", &token)]);
            assert_eq!(status(&app, ok).await, StatusCode::OK);
        }
        let token = bearer("random-3");
        let response = app
            .clone()
            .oneshot(request("/api/ok", PEER, &[("authorization", &token)]))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(header(&response, "ratelimit-limit"), Some("3"));
        let cookie = format!("{}=made-up", SESSION_COOKIES[1]);
        let session = request("/api/ok", PEER, &[("cookie", &cookie)]);
        assert_eq!(status(&app, session).await, StatusCode::TOO_MANY_REQUESTS);
        let anonymous = request("/api/ok", PEER, &[]);
        assert_eq!(status(&app, anonymous).await, StatusCode::TOO_MANY_REQUESTS);
        // Without a check nothing is trusted, not even a well-formed key.
        let unchecked = Router::new()
            .route("/api/ok", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(RateLimiter::new(small())),
                middleware,
            ));
        for expected in [StatusCode::OK, StatusCode::OK, StatusCode::OK] {
            let key = request(
                "/api/ok",
                PEER,
                &[("authorization", &bearer("alice-token"))],
            );
            assert_eq!(status(&unchecked, key).await, expected);
        }
        let key = request(
            "/api/ok",
            PEER,
            &[("authorization", &bearer("alice-token"))],
        );
        assert_eq!(status(&unchecked, key).await, StatusCode::TOO_MANY_REQUESTS);
    }

    #[tokio::test]
    async fn authenticated_ip_allowance_stops_key_rotation() {
        let app = app(small());
        for n in 0..5 {
            let token = bearer(if n % 2 == 0 {
                "alice-token"
            } else {
                "bob-token"
            });
            let ok = request("/api/ok", PEER, &[("authorization", &token)]);
            assert_eq!(status(&app, ok).await, StatusCode::OK);
        }
        let response = app
            .clone()
            .oneshot(request(
                "/api/ok",
                PEER,
                &[("authorization", &bearer("bob-token"))],
            ))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(header(&response, "ratelimit-limit"), Some("5"));
    }

    #[tokio::test]
    async fn ip_refusal_does_not_spend_the_key() {
        let app = app(small());
        for n in 0..5 {
            let token = bearer(if n % 2 == 0 { "bob-token" } else { "secret-1" });
            let ok = request("/api/ok", PEER, &[("authorization", &token)]);
            assert_eq!(status(&app, ok).await, StatusCode::OK);
        }
        let key = bearer("alice-token");
        for _ in 0..3 {
            let refused = request("/api/ok", PEER, &[("authorization", &key)]);
            assert_eq!(status(&app, refused).await, StatusCode::TOO_MANY_REQUESTS);
        }
        for _ in 0..3 {
            let elsewhere = request("/api/ok", [198, 51, 100, 1], &[("authorization", &key)]);
            assert_eq!(status(&app, elsewhere).await, StatusCode::OK);
        }
    }

    #[tokio::test]
    async fn push_paths_are_never_limited() {
        let app = app(small());
        for _ in 0..10 {
            let response = app
                .clone()
                .oneshot(request("/api/push/abc", PEER, &[]))
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert!(header(&response, "ratelimit-limit").is_none());
            assert!(header(&response, "ratelimit-remaining").is_none());
        }
        // Pings spent nothing from the caller's own bucket.
        let response = app
            .clone()
            .oneshot(request("/api/ok", PEER, &[]))
            .await
            .unwrap();
        assert_eq!(header(&response, "ratelimit-remaining"), Some("2"));
    }

    #[tokio::test]
    async fn push_paths_are_exempt_inside_a_nested_router() {
        let limiter = Arc::new(RateLimiter::new(small()));
        let api = Router::new()
            .route("/push/{token}", get(|| async { "pong" }))
            .layer(axum::middleware::from_fn_with_state(limiter, middleware));
        let app = Router::new().nest("/api", api);
        for _ in 0..5 {
            let response = app
                .clone()
                .oneshot(request("/api/push/abc", PEER, &[]))
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert!(header(&response, "ratelimit-limit").is_none());
        }
    }

    #[tokio::test]
    async fn forwarded_for_is_ignored_unless_trusted() {
        let app = app(small());
        for client in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
            let ok = request("/api/ok", PEER, &[("x-forwarded-for", client)]);
            assert_eq!(status(&app, ok).await, StatusCode::OK);
        }
        let spoofed = request("/api/ok", PEER, &[("x-forwarded-for", "203.0.113.4")]);
        assert_eq!(status(&app, spoofed).await, StatusCode::TOO_MANY_REQUESTS);
    }

    /// The proxy appends the address it saw; whatever the client put before it is ignored, so
    /// rotating a forged left-most entry cannot earn fresh buckets.
    #[tokio::test]
    async fn forwarded_for_rightmost_is_the_client_when_trusted() {
        let app = app(RateLimitConfig {
            trust_forwarded_for: true,
            ..small()
        });
        for forged in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
            let chain = format!("{forged}, 203.0.113.7");
            let ok = request("/api/ok", PEER, &[("x-forwarded-for", &chain)]);
            assert_eq!(status(&app, ok).await, StatusCode::OK);
        }
        let same = request("/api/ok", PEER, &[("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(status(&app, same).await, StatusCode::TOO_MANY_REQUESTS);
        let rotated = "198.51.100.9, 203.0.113.7";
        let rotated = request("/api/ok", PEER, &[("x-forwarded-for", rotated)]);
        assert_eq!(status(&app, rotated).await, StatusCode::TOO_MANY_REQUESTS);
        let other = request("/api/ok", PEER, &[("x-forwarded-for", "198.51.100.2")]);
        assert_eq!(status(&app, other).await, StatusCode::OK);
        // Without a usable header the peer address still counts.
        let plain = request("/api/ok", PEER, &[("x-forwarded-for", "unknown")]);
        assert_eq!(status(&app, plain).await, StatusCode::OK);
    }

    #[test]
    fn bucket_keys_hash_credentials_and_group_ipv6() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, "bearer  tok3n ".parse().unwrap());
        let Some(Credential::ApiKey(key)) = credential(&headers) else {
            panic!("no api key");
        };
        assert_eq!(key, sha256_hex("tok3n"));
        assert!(!key.contains("tok3n"));

        let v6 = |s: &str| ip_key(Some(s.parse().unwrap()));
        assert_eq!(v6("2001:db8::1"), "ip:2001:db8::/64");
        assert_eq!(v6("2001:db8::1"), v6("2001:db8::ffff:1"));
        assert_ne!(v6("2001:db8::1"), v6("2001:db8:0:1::1"));
        assert_eq!(v6("::ffff:192.0.2.1"), "ip:192.0.2.1");
        assert_eq!(ip_key(None), "ip:unknown");
    }

    #[tokio::test]
    async fn cleanup_keeps_active_callers_and_stops_with_the_limiter() {
        let limiter = Arc::new(RateLimiter::new(small()));
        let app = Router::new()
            .route("/api/ok", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(
                limiter.clone(),
                middleware,
            ));
        assert_eq!(
            status(&app, request("/api/ok", PEER, &[])).await,
            StatusCode::OK
        );
        limiter.retain_recent();
        assert_eq!(limiter.per_ip.limiter.len(), 1);

        let cleanup = limiter.spawn_cleanup(Duration::from_millis(1));
        drop(app);
        drop(limiter);
        tokio::time::timeout(Duration::from_secs(10), cleanup)
            .await
            .expect("the cleanup task ends once the limiter is gone")
            .unwrap();
    }
}
