//! Settings of the TCP, ICMP ping, DNS and TLS-certificate monitors.

use super::fields::Fields;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TcpSettings {
    pub host: String,
    pub port: u16,
    /// Bytes sent once connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send: Option<String>,
    /// Text that must appear in what the server sends back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PingSettings {
    pub host: String,
}

/// DNS record types a DNS monitor can query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum RecordType {
    A,
    AAAA,
    CNAME,
    MX,
    NS,
    TXT,
    SOA,
    SRV,
    CAA,
    PTR,
}

impl RecordType {
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_ascii_uppercase())).ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DnsSettings {
    /// The name to resolve.
    pub host: String,
    pub record_type: RecordType,
    /// A nameserver to ask instead of the system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub resolver: Option<SocketAddr>,
    /// Values every one of which must be in the answer (case-insensitive, trailing dot ignored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TlsSettings {
    pub host: String,
    pub port: u16,
    /// SNI name to send, when it differs from `host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// A certificate expiring within this many days marks the check DEGRADED.
    pub warn_days: u32,
}

/// A host name or IP literal: letters, digits, `-`, `.`, `:` (IPv6), at most 253 characters.
fn host(fields: &mut Fields<'_>, name: &str) -> Option<String> {
    let raw = fields.required_string(name)?;
    let bare = raw.trim_start_matches('[').trim_end_matches(']');
    let valid = bare.len() <= 253
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:".contains(c));
    if valid {
        Some(bare.to_owned())
    } else {
        fields.problem(name, "must be a host name or an IP address");
        None
    }
}

fn port(fields: &mut Fields<'_>, default: Option<u16>) -> Option<u16> {
    match (fields.raw("port"), default) {
        (None, Some(port)) => Some(port),
        (None, None) => {
            fields.problem("port", "is required");
            None
        }
        (Some(value), _) => match value.as_u64() {
            Some(port @ 1..=65535) => Some(port as u16),
            _ => {
                fields.problem("port", "must be a whole number from 1 to 65535");
                None
            }
        },
    }
}

pub(crate) fn parse_tcp(fields: &mut Fields<'_>) -> Option<TcpSettings> {
    let host = host(fields, "host");
    let port = port(fields, None);
    let send = fields.string("send");
    let expect = fields.string("expect");
    Some(TcpSettings {
        host: host?,
        port: port?,
        send,
        expect,
    })
}

pub(crate) fn parse_ping(fields: &mut Fields<'_>) -> Option<PingSettings> {
    Some(PingSettings {
        host: host(fields, "host")?,
    })
}

pub(crate) fn parse_dns(fields: &mut Fields<'_>) -> Option<DnsSettings> {
    let host = host(fields, "host");
    let record_type = match fields.string("record_type") {
        None => Some(RecordType::A),
        Some(text) => RecordType::parse(&text).or_else(|| {
            fields.problem(
                "record_type",
                "must be one of A, AAAA, CNAME, MX, NS, TXT, SOA, SRV, CAA, PTR",
            );
            None
        }),
    };
    let resolver = fields.string("resolver").and_then(|text| {
        let parsed = text.parse::<SocketAddr>().or_else(|_| {
            text.parse::<std::net::IpAddr>()
                .map(|ip| SocketAddr::new(ip, 53))
        });
        parsed
            .map_err(|_| fields.problem("resolver", "must be an IP address, optionally with :port"))
            .ok()
    });
    let expected = fields.string_list("expected");
    Some(DnsSettings {
        host: host?,
        record_type: record_type?,
        resolver,
        expected,
    })
}

pub(crate) fn parse_tls(fields: &mut Fields<'_>) -> Option<TlsSettings> {
    let host = host(fields, "host");
    let port = port(fields, Some(443));
    let server_name = fields.string("server_name");
    let warn_days = fields.number("warn_days", 14, 0, 365) as u32;
    Some(TlsSettings {
        host: host?,
        port: port?,
        server_name,
        warn_days,
    })
}
