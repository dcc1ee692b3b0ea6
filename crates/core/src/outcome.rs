//! What one check found: the verdict, how long it took phase by phase, and why it failed.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Up,
    /// Reachable and correct, but slow or close to a limit (response time, certificate expiry).
    Degraded,
    Down,
}

impl CheckStatus {
    /// Up and degraded both count as the target working.
    pub fn is_success(self) -> bool {
        !matches!(self, CheckStatus::Down)
    }

    /// The compact code stored with each raw result.
    pub fn code(self) -> i16 {
        match self {
            CheckStatus::Up => 1,
            CheckStatus::Degraded => 2,
            CheckStatus::Down => 0,
        }
    }

    pub fn from_code(code: i16) -> Self {
        match code {
            1 => CheckStatus::Up,
            2 => CheckStatus::Degraded,
            _ => CheckStatus::Down,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Up => "up",
            CheckStatus::Degraded => "degraded",
            CheckStatus::Down => "down",
        }
    }
}

/// Why a check failed, in classes that alert rules and dashboards can group by.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    Dns,
    Connect,
    Tls,
    Timeout,
    Protocol,
    StatusCode,
    Keyword,
    Regex,
    JsonPath,
    ResponseTime,
    CertificateExpiry,
    DnsMismatch,
    TcpExpect,
    MissedPing,
    FailPing,
    NotPermitted,
    Internal,
    /// The monitor's settings were refused where they are used (a Whop API key answered 401).
    Configuration,
    /// A business metric broke its condition (below, above, or off its weekday baseline).
    Metric,
    /// The source a metric is read from could not answer (Whop's 429 or 5xx): the check says
    /// nothing about the metric, so it moves no state (see [`CheckOutcome::is_inconclusive`]).
    SourceUnavailable,
}

impl ErrorClass {
    /// Every class, in the order the enum declares them (derived, so none can be missing).
    pub const ALL: &'static [ErrorClass] = <ErrorClass as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Dns => "dns",
            ErrorClass::Connect => "connect",
            ErrorClass::Tls => "tls",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Protocol => "protocol",
            ErrorClass::StatusCode => "status_code",
            ErrorClass::Keyword => "keyword",
            ErrorClass::Regex => "regex",
            ErrorClass::JsonPath => "json_path",
            ErrorClass::ResponseTime => "response_time",
            ErrorClass::CertificateExpiry => "certificate_expiry",
            ErrorClass::DnsMismatch => "dns_mismatch",
            ErrorClass::TcpExpect => "tcp_expect",
            ErrorClass::MissedPing => "missed_ping",
            ErrorClass::FailPing => "fail_ping",
            ErrorClass::NotPermitted => "not_permitted",
            ErrorClass::Internal => "internal",
            ErrorClass::Configuration => "configuration",
            ErrorClass::Metric => "metric",
            ErrorClass::SourceUnavailable => "source_unavailable",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
    }
}

/// Time spent in each phase of an HTTP check, in microseconds. A phase that did not happen (no
/// DNS for an IP literal, no TLS for plain HTTP) is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HttpPhases {
    #[serde(with = "opt_micros")]
    #[schema(value_type = Option<u64>)]
    pub dns: Option<Duration>,
    #[serde(with = "opt_micros")]
    #[schema(value_type = Option<u64>)]
    pub connect: Option<Duration>,
    #[serde(with = "opt_micros")]
    #[schema(value_type = Option<u64>)]
    pub tls: Option<Duration>,
    #[serde(with = "opt_micros")]
    #[schema(value_type = Option<u64>)]
    pub first_byte: Option<Duration>,
    #[serde(with = "opt_micros")]
    #[schema(value_type = Option<u64>)]
    pub download: Option<Duration>,
}

/// The certificate seen on a TLS connection. `expires_at` is the earliest expiry in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CertificateInfo {
    pub subject: String,
    pub issuer: String,
    pub expires_at: Timestamp,
    /// The leaf certificate's own expiry (may be later than `expires_at` when an intermediate
    /// expires first).
    pub leaf_expires_at: Timestamp,
    /// SHA-256 of the leaf certificate, hex: lets alerting send one alert per certificate.
    pub fingerprint_sha256: String,
    pub dns_names: Vec<String>,
}

/// The full result of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckOutcome {
    pub status: CheckStatus,
    pub checked_at: Timestamp,
    /// Wall time of the whole check, from start to verdict, in microseconds.
    #[serde(with = "micros")]
    #[schema(value_type = u64)]
    pub latency: Duration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phases: Option<HttpPhases>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Bytes of response body read (HTTP) or received (TCP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_class: Option<ErrorClass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl CheckOutcome {
    pub fn up(checked_at: Timestamp, latency: Duration) -> Self {
        Self {
            status: CheckStatus::Up,
            checked_at,
            latency,
            phases: None,
            http_status: None,
            size: None,
            certificate: None,
            error_class: None,
            message: None,
        }
    }

    pub fn down(
        checked_at: Timestamp,
        latency: Duration,
        class: ErrorClass,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status: CheckStatus::Down,
            error_class: Some(class),
            message: Some(message.into()),
            ..Self::up(checked_at, latency)
        }
    }

    /// A check that learned nothing about its target because the source it reads could not
    /// answer. Stored as DEGRADED (it is no outage of the target) and ignored by the state
    /// machine, so it neither confirms nor clears a failure.
    pub fn inconclusive(
        checked_at: Timestamp,
        latency: Duration,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status: CheckStatus::Degraded,
            error_class: Some(ErrorClass::SourceUnavailable),
            message: Some(message.into()),
            ..Self::up(checked_at, latency)
        }
    }

    pub fn is_inconclusive(&self) -> bool {
        self.error_class == Some(ErrorClass::SourceUnavailable)
    }

    /// Marks a working check as degraded, keeping the first reason found.
    pub fn degrade(&mut self, class: ErrorClass, message: impl Into<String>) {
        if self.status == CheckStatus::Up {
            self.status = CheckStatus::Degraded;
            self.error_class = Some(class);
            self.message = Some(message.into());
        }
    }

    /// Marks the check as failed, keeping the first failure found.
    pub fn fail(&mut self, class: ErrorClass, message: impl Into<String>) {
        if self.status != CheckStatus::Down {
            self.status = CheckStatus::Down;
            self.error_class = Some(class);
            self.message = Some(message.into());
        }
    }
}

mod micros {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(value.as_micros() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_micros(u64::deserialize(d)?))
    }
}

mod opt_micros {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_some(&(d.as_micros() as u64)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_micros))
    }
}
