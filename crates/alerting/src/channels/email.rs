//! Email over SMTP with lettre: a multipart/alternative message (text and HTML), the subject
//! being the title, sent with STARTTLS (required, never downgraded), implicit TLS or, for a
//! local relay, plain. The SMTP password is the secret.
//!
//! The host is resolved here and every address is judged by the address policy; the transport
//! connects to the checked address (TLS still verifies the configured host name), so a name or a
//! numeric form such as `127.1` or `2130706433` cannot reach the instance's own network in
//! multi-tenant mode. Errors shown to users name what failed and the reply code, never the
//! server's own words (a banner could describe another internal service): those are logged.
//!
//! On a retried send the receiver gets a second copy with the same `Message-ID` (derived from the
//! idempotency key) and the same `Date`; mail clients that deduplicate on Message-ID show one.

use super::fields::Fields;
use super::{ChannelService, Delivered, DeliveryError, REDACTED, Sender, SenderOptions, object};
use crate::notification::Notification;
use crate::render;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::time::{Duration, SystemTime};
use watchtower_checks::AddressPolicy;
use watchtower_core::ChannelKind;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS; fails rather than continue unencrypted.
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
    /// No encryption: only for a relay on the same host or network.
    None,
}

impl SmtpSecurity {
    fn as_str(self) -> &'static str {
        match self {
            SmtpSecurity::Starttls => "starttls",
            SmtpSecurity::Tls => "tls",
            SmtpSecurity::None => "none",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmailConfig {
    pub host: String,
    /// Defaults to 587, or 465 with implicit TLS.
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
}

impl ChannelService for EmailConfig {
    const KIND_NAME: &'static str = "email";
    const PLAN_KIND: ChannelKind = ChannelKind::Email;

    fn parse(fields: &mut Fields<'_>) -> Option<Self> {
        let host = fields.required_string("host");
        if host
            .as_ref()
            .is_some_and(|host| host.contains("://") || host.contains(char::is_whitespace))
        {
            fields.problem(
                "host",
                "must be a host name such as smtp.example.com, without a scheme",
            );
        }
        let security = match fields.string("security").as_deref() {
            None | Some("starttls") => Some(SmtpSecurity::Starttls),
            Some("tls") => Some(SmtpSecurity::Tls),
            Some("none") => Some(SmtpSecurity::None),
            Some(_) => {
                fields.problem("security", "must be starttls, tls or none");
                None
            }
        };
        let default_port = if security == Some(SmtpSecurity::Tls) {
            465
        } else {
            587
        };
        let port = fields.number("port", default_port, 1, 65_535) as u16;
        let username = fields.string("username");
        let password = fields.exact_string("password");
        if password.is_some() && username.is_none() {
            fields.problem("password", "needs a username");
        }
        let from = fields
            .required_string("from")
            .and_then(|text| mailbox(fields, "from", &text));
        let to = fields.required_list("to", mailbox);
        Some(Self {
            host: host?,
            port,
            security: security?,
            username,
            password,
            from: from?,
            to: to?,
        })
    }

    fn to_value(&self) -> Map<String, Value> {
        let mut map = object(json!({
            "host": self.host,
            "port": self.port,
            "security": self.security.as_str(),
            "from": self.from.to_string(),
            "to": self.to.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }));
        if let Some(username) = &self.username {
            map.insert("username".into(), Value::from(username.as_str()));
        }
        if let Some(password) = &self.password {
            map.insert("password".into(), Value::from(password.as_str()));
        }
        map
    }

    fn redacted(&self) -> Map<String, Value> {
        let mut map = self.to_value();
        if self.password.is_some() {
            map.insert("password".into(), Value::from(REDACTED));
        }
        map
    }

    fn endpoint_host(&self) -> Option<String> {
        Some(self.host.clone())
    }

    async fn deliver(&self, sender: &Sender, n: &Notification) -> Result<Delivered, DeliveryError> {
        deliver(&sender.options, self, n).await
    }
}

fn mailbox(fields: &mut Fields<'_>, path: &str, text: &str) -> Option<Mailbox> {
    text.parse::<Mailbox>()
        .map_err(|_| fields.problem(path, format!("'{text}' is not an email address")))
        .ok()
}

/// `<key@sender-domain>`: the key itself when it is a valid message-id part, else its SHA-256.
pub(crate) fn message_id(config: &EmailConfig, n: &Notification) -> String {
    let key = &n.idempotency_key;
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let dot_atom = !key.is_empty()
        && key
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(atext));
    let left = if dot_atom {
        key.clone()
    } else {
        hex::encode(Sha256::digest(key.as_bytes()))
    };
    format!("<{left}@{}>", config.from.email.domain())
}

pub(crate) fn message(config: &EmailConfig, n: &Notification) -> Result<Message, DeliveryError> {
    let mut builder = Message::builder()
        .from(config.from.clone())
        .subject(render::title(n))
        .message_id(Some(message_id(config, n)))
        // The event's time, not the attempt's, so a retried copy is identical.
        .date(SystemTime::UNIX_EPOCH + Duration::from_millis(n.at.as_millis().max(0) as u64));
    for to in &config.to {
        builder = builder.to(to.clone());
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            render::text_body(n),
            render::html_body(n),
        ))
        .map_err(|error| DeliveryError::permanent(format!("the email could not be built: {error}")))
}

pub(crate) async fn deliver(
    options: &SenderOptions,
    config: &EmailConfig,
    n: &Notification,
) -> Result<Delivered, DeliveryError> {
    send(options, config, message(config, n)?).await
}

/// Sends a built message through `config`'s SMTP server (its `to` list is the message's own).
pub(crate) async fn send(
    options: &SenderOptions,
    config: &EmailConfig,
    message: Message,
) -> Result<Delivered, DeliveryError> {
    // The whole conversation shares one bound, like an HTTP request: the lookup included.
    let sent = tokio::time::timeout(options.timeout, async {
        let address = checked_address(options.address_policy, &config.host, config.port).await?;
        let transport = transport(options, config, address)?;
        let sent = transport.send(message).await;
        transport.shutdown().await;
        sent.map_err(|error| smtp_error(&config.host, error))
    })
    .await;
    let response = match sent {
        Err(_) => {
            return Err(DeliveryError::transient(format!(
                "the SMTP server did not finish within {}s",
                options.timeout.as_secs_f64()
            )));
        }
        Ok(result) => result?,
    };
    let code = u16::from(response.code());
    tracing::debug!(
        host = %config.host,
        code,
        reply = %response.message().collect::<Vec<_>>().join(" "),
        "the SMTP server accepted the message"
    );
    Ok(Delivered {
        status_code: Some(code),
        detail: format!("SMTP {code}: accepted"),
    })
}

/// Resolves `host` and returns the first address the policy allows (IPv4 first), refusing the
/// delivery when there is none. Numeric forms (`127.1`, `2130706433`, `0x7f000001`) resolve to
/// the address they stand for and are judged as that address.
async fn checked_address(
    policy: AddressPolicy,
    host: &str,
    port: u16,
) -> Result<IpAddr, DeliveryError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let mut found: Vec<IpAddr> = match bare.parse::<IpAddr>() {
        Ok(address) => vec![address],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|error| {
                tracing::info!(%host, %error, "the SMTP host does not resolve");
                DeliveryError::transient(format!("the SMTP host {host} does not resolve"))
            })?
            .map(|address| address.ip())
            .collect(),
    };
    found.sort_by_key(IpAddr::is_ipv6);
    let mut refused = None;
    for address in found {
        match policy.check(address) {
            Ok(()) => return Ok(address),
            Err(denied) => {
                refused.get_or_insert(denied);
            }
        }
    }
    Err(match refused {
        Some(denied) => DeliveryError::permanent(format!("the SMTP host {host}: {denied}")),
        None => DeliveryError::transient(format!("the SMTP host {host} has no address")),
    })
}

/// A transport to `address`, with TLS verifying the configured host name.
fn transport(
    options: &SenderOptions,
    config: &EmailConfig,
    address: IpAddr,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, DeliveryError> {
    let tls = |config: &EmailConfig| {
        TlsParameters::new(config.host.clone()).map_err(|error| smtp_error(&config.host, error))
    };
    let tls = match config.security {
        SmtpSecurity::Starttls => Tls::Required(tls(config)?),
        SmtpSecurity::Tls => Tls::Wrapper(tls(config)?),
        SmtpSecurity::None => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(address.to_string())
        .port(config.port)
        .tls(tls)
        .timeout(Some(options.timeout));
    if let Some(username) = &config.username {
        builder = builder.credentials(Credentials::new(
            username.clone(),
            config.password.clone().unwrap_or_default(),
        ));
    }
    Ok(builder.build())
}

/// 4xx replies, timeouts and broken connections may pass later; 5xx replies, TLS failures
/// (certificates) and malformed exchanges will not. The message says which, with the reply code;
/// the server's own text goes to the log only.
fn smtp_error(host: &str, error: lettre::transport::smtp::Error) -> DeliveryError {
    let retryable = error.is_transient()
        || error.is_timeout()
        || !(error.is_permanent() || error.is_client() || error.is_tls() || error.is_response());
    let status_code = error.status().map(u16::from);
    let code = status_code.map_or_else(String::new, |code| format!(" (reply {code})"));
    let message = if error.is_timeout() {
        "the SMTP server did not answer in time".to_owned()
    } else if error.is_tls() {
        format!(
            "the TLS handshake with the SMTP server failed (certificate for {host} or protocol)"
        )
    } else if error.is_permanent() {
        format!("the SMTP server refused the message{code}")
    } else if error.is_transient() {
        format!("the SMTP server deferred the message{code}")
    } else if error.is_response() || error.is_client() {
        format!("the SMTP exchange failed{code}")
    } else {
        "could not connect to the SMTP server or the connection broke".to_owned()
    };
    tracing::warn!(%host, error = %chain(&error), "SMTP delivery failed: {message}");
    DeliveryError {
        retryable,
        status_code,
        message: format!("SMTP: {message}"),
        retry_after: None,
    }
}

/// The error and its causes on one line, for the log.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::NotificationEvent;
    use watchtower_core::{MonitorState, TeamId, Timestamp};

    fn config() -> EmailConfig {
        EmailConfig {
            host: "smtp.example.com".into(),
            port: 587,
            security: SmtpSecurity::Starttls,
            username: None,
            password: None,
            from: "alerts@wt.example".parse().unwrap(),
            to: vec!["ops@example.com".parse().unwrap()],
        }
    }

    fn notification(key: &str) -> Notification {
        Notification {
            idempotency_key: key.into(),
            event: NotificationEvent::Test,
            team_id: TeamId(1),
            monitor_id: None,
            monitor_name: "Checkout API".into(),
            target: None,
            state: MonitorState::Up,
            previous_state: None,
            cause: String::new(),
            since: Timestamp(0),
            at: Timestamp(0),
            down_since: None,
            certificate_expires_at: None,
            certificate: None,
            custom_title: None,
            custom_message: None,
            ops_signal: None,
            incident_id: None,
            incident_key: None,
            incident_url: None,
            acknowledge_url: None,
        }
    }

    #[test]
    fn the_message_id_is_the_key_when_it_can_be_and_its_hash_otherwise() {
        assert_eq!(
            message_id(&config(), &notification("outbox.17")),
            "<outbox.17@wt.example>"
        );
        let hashed = message_id(&config(), &notification("team 1/<17>"));
        assert_eq!(hashed.len(), "<@wt.example>".len() + 64, "{hashed}");
        assert_eq!(hashed, message_id(&config(), &notification("team 1/<17>")));
        assert_ne!(hashed, message_id(&config(), &notification("team 1/<18>")));
    }
}
