//! Notification channels: each service's settings (`ChannelConfig`, parsed with every problem
//! listed, stored whole, answered redacted) and the `Sender` that delivers a `Notification` to one,
//! telling a retryable failure from a permanent one. One file per service.

pub mod discord;
pub mod email;
mod fields;
pub mod guard;
pub mod ntfy;
pub mod pagerduty;
pub mod slack;
pub mod sms;
pub mod teams;
pub mod telegram;
pub mod webhook;

use crate::notification::Notification;
use fields::Fields;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use serde_json::{Map, Value};
use std::fmt;
use std::time::Duration;
use url::Url;
use watchtower_core::{ChannelKind, FieldError};

pub use discord::DiscordConfig;
pub use email::{EmailConfig, SmtpSecurity};
pub use ntfy::NtfyConfig;
pub use pagerduty::PagerdutyConfig;
pub use slack::SlackConfig;
pub use sms::SmsConfig;
pub use teams::TeamsConfig;
pub use telegram::TelegramConfig;
pub use webhook::{WebhookConfig, WebhookSecret};

/// What API answers show in place of a secret: the same marker as monitors' credentials.
pub const REDACTED: &str = watchtower_core::monitor::REDACTED;

/// What one service's file provides: how its settings are read, stored and shown, and how a
/// notification reaches it. A service is added by implementing this in its own file and naming
/// it once in `channel_services!` below.
pub(crate) trait ChannelService: Sized {
    /// The `kind` field's spelling.
    const KIND_NAME: &'static str;
    /// The plan's name for this kind (ntfy counts as `push`); its rate limit follows from it.
    const PLAN_KIND: ChannelKind;

    /// Reads the settings; each problem is left in `fields`.
    fn parse(fields: &mut Fields<'_>) -> Option<Self>;
    /// Every setting, secrets included, defaults spelled out: for storage.
    fn to_value(&self) -> Map<String, Value>;
    /// The settings with every secret replaced by `REDACTED`.
    fn redacted(&self) -> Map<String, Value>;
    /// The host a delivery connects to (for the multi-tenant address rule).
    fn endpoint_host(&self) -> Option<String>;
    /// Sends one notification; safe to call again after a retryable error.
    async fn deliver(&self, sender: &Sender, n: &Notification) -> Result<Delivered, DeliveryError>;
}

/// The registry of services: `Variant(Config)` per service, in the order messages list them.
/// It declares `ChannelConfig` and routes each of its methods to the service's `ChannelService`
/// impl, so every `match` over the services is written here once and a service without an impl
/// does not compile.
macro_rules! channel_services {
    ($($variant:ident($config:ty)),+ $(,)?) => {
        /// A channel's settings, one variant per service. JSON shape: `{"kind": "slack", ...fields}`.
        /// Its `Debug` shows the redacted form, so logging one leaks nothing.
        #[derive(Clone, PartialEq)]
        pub enum ChannelConfig {
            $($variant($config),)+
        }

        impl ChannelConfig {
            /// Every service's `kind` spelling.
            pub const KIND_NAMES: &'static [&'static str] =
                &[$(<$config as ChannelService>::KIND_NAME),+];

            /// The settings of the service named `kind`; `None` when no service has that name.
            fn parse_kind(kind: &str, fields: &mut Fields<'_>) -> Option<Option<Self>> {
                $(
                    if kind == <$config as ChannelService>::KIND_NAME {
                        return Some(<$config as ChannelService>::parse(fields).map(Self::$variant));
                    }
                )+
                None
            }

            /// The plan's name for this kind; ntfy counts as `push`.
            pub fn kind(&self) -> ChannelKind {
                match self {
                    $(Self::$variant(_) => <$config as ChannelService>::PLAN_KIND,)+
                }
            }

            /// The `kind` field's spelling.
            pub fn kind_name(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => <$config as ChannelService>::KIND_NAME,)+
                }
            }

            /// The host a delivery connects to (for the multi-tenant address rule).
            pub fn endpoint_host(&self) -> Option<String> {
                match self {
                    $(Self::$variant(config) => config.endpoint_host(),)+
                }
            }

            /// Every setting, secrets included, defaults spelled out: for storage. `parse` reads
            /// it back.
            pub fn to_value(&self) -> Value {
                let fields = match self {
                    $(Self::$variant(config) => config.to_value(),)+
                };
                self.with_kind(fields)
            }

            /// The settings for API answers: every secret replaced by `REDACTED`; URLs that embed
            /// a token keep only their scheme and host, so a person can still tell which one it is.
            pub fn redacted(&self) -> Value {
                let fields = match self {
                    $(Self::$variant(config) => config.redacted(),)+
                };
                self.with_kind(fields)
            }

            async fn deliver_to_service(
                &self,
                sender: &Sender,
                notification: &Notification,
            ) -> Result<Delivered, DeliveryError> {
                match self {
                    $(Self::$variant(config) => config.deliver(sender, notification).await,)+
                }
            }
        }
    };
}

channel_services! {
    Email(EmailConfig),
    Slack(SlackConfig),
    Discord(DiscordConfig),
    Teams(TeamsConfig),
    Telegram(TelegramConfig),
    Pagerduty(PagerdutyConfig),
    Ntfy(NtfyConfig),
    Sms(SmsConfig),
    Webhook(WebhookConfig),
}

impl ChannelConfig {
    /// Parses `{"kind": ..., ...}`; `prefix` is its path in the request (`channels[0]`) so each
    /// problem names its field (`channels[0].webhook_url`). Every problem is returned at once.
    pub fn parse(value: &Value, prefix: &str) -> Result<Self, Vec<FieldError>> {
        let Value::Object(map) = value else {
            return Err(vec![FieldError {
                field: prefix.to_owned(),
                problem: "must be a mapping".into(),
            }]);
        };
        let mut fields = Fields::new(map, prefix);
        let config = match fields.required_string("kind").as_deref() {
            Some(kind) => match Self::parse_kind(kind, &mut fields) {
                Some(config) => config,
                None => {
                    fields.problem(
                        "kind",
                        format!(
                            "'{kind}' is not a channel kind; use {}",
                            watchtower_core::validation::choices(Self::KIND_NAMES)
                        ),
                    );
                    // The other fields cannot be judged without a kind: report only this.
                    return Err(fields.problems.list);
                }
            },
            None => return Err(fields.problems.list),
        };
        let problems = fields.finish();
        match config {
            Some(config) if problems.is_empty() => Ok(config),
            _ => Err(problems.list),
        }
    }

    fn with_kind(&self, fields: Map<String, Value>) -> Value {
        let mut map = Map::new();
        map.insert("kind".into(), Value::from(self.kind_name()));
        map.extend(fields);
        Value::Object(map)
    }
}

impl fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChannelConfig({})", self.redacted())
    }
}

/// A URL whose path or query holds a token, shown as its origin only: `https://hooks.slack.com/********`.
pub(crate) fn redact_url(url: &Url) -> String {
    format!("{}/{REDACTED}", url.origin().ascii_serialization())
}

/// Turns `json!({...})` into its map; the channel files build their fields with it.
pub(crate) fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// How the sender talks to services.
#[derive(Debug, Clone)]
pub struct SenderOptions {
    /// The bound on one delivery: an HTTP request, or a whole SMTP conversation.
    pub timeout: Duration,
    pub user_agent: String,
    /// Which addresses notifications may go to: `PublicOnly` in multi-tenant mode.
    pub address_policy: watchtower_checks::AddressPolicy,
    /// The HTTP proxy the operator chose (`serve --outbound-proxy`); `None` connects directly.
    /// Proxy environment variables (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`) are never read:
    /// they would hand requests to a proxy that the address policy cannot see past.
    pub proxy: Option<Url>,
}

impl Default for SenderOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            user_agent: format!("WatchTower/{}", env!("CARGO_PKG_VERSION")),
            address_policy: watchtower_checks::AddressPolicy::AllowAll,
            proxy: None,
        }
    }
}

/// A successful delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The HTTP status, or the SMTP reply code for email.
    pub status_code: Option<u16>,
    /// What the service answered, shortened, for the delivery log.
    pub detail: String,
}

/// A failed delivery and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    /// Connection errors, timeouts, 408, 429, 5xx and SMTP 4xx: yes. Other 4xx, SMTP 5xx and bad
    /// settings: no.
    pub retryable: bool,
    pub status_code: Option<u16>,
    /// Never holds a secret: request URLs (which may embed tokens) are left out.
    pub message: String,
    /// How long the service asked us to wait (`Retry-After`).
    pub retry_after: Option<Duration>,
}

impl DeliveryError {
    /// A failure that retrying will not fix, such as settings the service refuses.
    pub(crate) fn permanent(message: impl Into<String>) -> Self {
        Self {
            retryable: false,
            status_code: None,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn transient(message: impl Into<String>) -> Self {
        Self {
            retryable: true,
            ..Self::permanent(message)
        }
    }
}

/// Delivers notifications; cheap to share, one per process.
#[derive(Debug, Clone)]
pub struct Sender {
    http: reqwest::Client,
    options: SenderOptions,
}

/// How much of a service's answer is read: enough for an error message, bounded against a
/// receiver that streams forever.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
const DETAIL_CHARS: usize = 300;

impl Sender {
    /// A user agent that is not a valid header value is replaced by the default one.
    ///
    /// # Panics
    /// When the proxy URL is not one reqwest can use (see [`Sender::try_new`]).
    pub fn new(options: SenderOptions) -> Self {
        Self::try_new(options).expect("the HTTP client builds with a valid proxy URL")
    }

    /// Like [`Sender::new`], saying why a proxy URL cannot be used instead of panicking.
    pub fn try_new(options: SenderOptions) -> Result<Self, String> {
        let user_agent = HeaderValue::from_str(&options.user_agent).unwrap_or_else(|_| {
            HeaderValue::from_str(&SenderOptions::default().user_agent)
                .expect("the default user agent is ASCII")
        });
        let builder = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .user_agent(user_agent)
            // A redirect would replay the body, token and signature to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            // Without this reqwest reads HTTP_PROXY and friends from the environment.
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(guard::PolicyResolver::new(
                options.address_policy,
                options.proxy.as_ref(),
            )));
        let builder = match &options.proxy {
            Some(proxy) => {
                builder.proxy(reqwest::Proxy::all(proxy.as_str()).map_err(|error| {
                    format!("the outbound proxy {proxy} cannot be used: {error}")
                })?)
            }
            None => builder,
        };
        let http = builder
            .build()
            .map_err(|error| format!("the HTTP client cannot be built: {error}"))?;
        Ok(Self { http, options })
    }

    /// Sends one notification to one channel. Safe to call again with the same notification
    /// after a retryable error: see each channel's file for what the receiver sees then.
    pub async fn deliver(
        &self,
        channel: &ChannelConfig,
        notification: &Notification,
    ) -> Result<Delivered, DeliveryError> {
        guard::check_endpoint(
            self.options.address_policy,
            channel.endpoint_host().as_deref(),
        )
        .map_err(|refused| DeliveryError {
            retryable: false,
            status_code: None,
            message: refused,
            retry_after: None,
        })?;
        channel.deliver_to_service(self, notification).await
    }

    pub(crate) fn options(&self) -> &SenderOptions {
        &self.options
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends an HTTP request and classifies the answer: 2xx delivered; 408, 429 and 5xx
    /// retryable; anything else permanent.
    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<Delivered, DeliveryError> {
        let request = request
            .build()
            .map_err(|error| self.transport_error(error))?;
        if self.options.proxy.is_some() {
            // The proxy resolves and dials the destination, out of the resolver's sight: judge
            // the destination here first.
            guard::check_destination(self.options.address_policy, request.url())
                .await
                .map_err(DeliveryError::permanent)?;
        }
        let mut response = self
            .http
            .execute(request)
            .await
            .map_err(|error| self.transport_error(error))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let mut answer = Vec::new();
        while answer.len() < MAX_ANSWER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => answer.extend_from_slice(&chunk),
                // A broken or slow body after the status line does not change the verdict.
                Ok(None) | Err(_) => break,
            }
        }
        let answer = String::from_utf8_lossy(&answer);
        classify(status, retry_after, &answer)
    }

    fn transport_error(&self, error: reqwest::Error) -> DeliveryError {
        // The URL may embed a token (Telegram, Slack): never let it into a stored message.
        let error = error.without_url();
        if error.is_builder() {
            DeliveryError::permanent(format!("the request could not be built: {}", chain(&error)))
        } else if error.is_timeout() {
            DeliveryError::transient(format!(
                "no answer within {}s",
                self.options.timeout.as_secs_f64()
            ))
        } else if error.is_connect() {
            DeliveryError::transient(format!("could not connect: {}", chain(&error)))
        } else {
            DeliveryError::transient(format!("the request failed: {}", chain(&error)))
        }
    }
}

fn classify(
    status: StatusCode,
    retry_after: Option<Duration>,
    answer: &str,
) -> Result<Delivered, DeliveryError> {
    let excerpt = excerpt(answer);
    let described = if excerpt.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {excerpt}")
    };
    if status.is_success() {
        return Ok(Delivered {
            status_code: Some(status.as_u16()),
            detail: described,
        });
    }
    let retryable = status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error();
    let message = if status.is_redirection() {
        format!("{described} (redirects are not followed: configure the final URL)")
    } else {
        described
    };
    let retry_after = match retry_after {
        Some(wait) => Some(wait),
        // Telegram says how long to wait in its JSON answer.
        None if status == StatusCode::TOO_MANY_REQUESTS => serde_json::from_str::<Value>(answer)
            .ok()
            .and_then(|body| body["parameters"]["retry_after"].as_u64())
            .map(Duration::from_secs),
        None => None,
    };
    Err(DeliveryError {
        retryable,
        status_code: Some(status.as_u16()),
        message,
        retry_after: retry_after.filter(|_| retryable),
    })
}

/// `Retry-After` as seconds (Discord sends fractions) or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let date = jiff::fmt::rfc2822::parse(text).ok()?.timestamp();
    let wait = date.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// An error and its causes on one line, without repeats.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The start of an answer on one line.
fn excerpt(answer: &str) -> String {
    let one_line = answer.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::render::truncate(&one_line, DETAIL_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).unwrap());
        headers
    }

    #[test]
    fn retry_after_reads_seconds_fractions_and_dates() {
        assert_eq!(retry_after(&headers("7")), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after(&headers("1.5")),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(&headers("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers("soon")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn statuses_are_classified_by_whether_retrying_can_help() {
        let verdict = |code: u16| classify(StatusCode::from_u16(code).unwrap(), None, "");
        assert!(verdict(200).is_ok());
        assert!(verdict(204).is_ok());
        for code in [408, 429, 500, 502, 503] {
            assert!(verdict(code).unwrap_err().retryable, "{code}");
        }
        for code in [301, 400, 401, 403, 404, 410, 422] {
            assert!(!verdict(code).unwrap_err().retryable, "{code}");
        }
    }

    #[test]
    fn telegram_flood_control_reads_the_wait_from_the_body() {
        let answer = r#"{"ok":false,"error_code":429,"parameters":{"retry_after":12}}"#;
        let error = classify(StatusCode::TOO_MANY_REQUESTS, None, answer).unwrap_err();
        assert_eq!(error.retry_after, Some(Duration::from_secs(12)));
    }

    #[test]
    fn an_unknown_kind_is_the_only_problem_reported() {
        let problems = ChannelConfig::parse(
            &serde_json::json!({"kind": "pigeon", "wings": 2}),
            "channels[1]",
        )
        .unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "channels[1].kind");
        assert_eq!(
            problems[0].problem,
            "'pigeon' is not a channel kind; use email, slack, discord, teams, telegram, \
             pagerduty, ntfy, sms or webhook"
        );
    }

    #[test]
    fn every_registered_kind_name_is_parsed_by_its_service() {
        for name in ChannelConfig::KIND_NAMES {
            let problems = ChannelConfig::parse(&serde_json::json!({ "kind": name }), "c")
                .expect_err("no settings given");
            assert!(
                problems.iter().all(|problem| problem.field != "c.kind"),
                "{name}: {problems:?}"
            );
        }
    }
}
