//! TLS for the probes and the TLS-certificate monitor: client configurations (verifying against
//! the webpki roots plus any extra roots, and accepting any certificate for `verify_tls: false`),
//! the timed handshake, and reading the presented chain into a [`CertificateInfo`].

use crate::assertions::{self, ExpiryWarning};
use crate::deadline::{Deadline, Failure};
use crate::prober::Prober;
use crate::resolve;
use rustls::client::Resumption;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use watchtower_core::monitor::TlsSettings;
use watchtower_core::{CertificateInfo, CheckOutcome, ErrorClass, Timestamp};

/// The client configurations every check shares. Session resumption is off: each check does a
/// full handshake, so it is timed honestly and sees the certificate the server presents now.
pub(crate) struct TlsConfigs {
    http_verifying: Arc<ClientConfig>,
    http_accepting: Arc<ClientConfig>,
    plain_verifying: Arc<ClientConfig>,
    plain_accepting: Arc<ClientConfig>,
}

impl TlsConfigs {
    pub fn new(extra_roots: &[CertificateDer<'static>]) -> Self {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for root in extra_roots {
            if let Err(error) = roots.add(root.clone()) {
                tracing::warn!(%error, "an extra root certificate was not added");
            }
        }
        let roots = Arc::new(roots);
        let build = |verify: bool, alpn: bool| {
            let builder = ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .expect("aws-lc-rs supports the default TLS versions");
            let mut config = if verify {
                builder
                    .with_root_certificates(roots.clone())
                    .with_no_client_auth()
            } else {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(
                        provider.clone(),
                    )))
                    .with_no_client_auth()
            };
            config.resumption = Resumption::disabled();
            if alpn {
                config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            }
            Arc::new(config)
        };
        Self {
            http_verifying: build(true, true),
            http_accepting: build(false, true),
            plain_verifying: build(true, false),
            plain_accepting: build(false, false),
        }
    }

    /// For HTTPS: offers h2 and http/1.1 by ALPN.
    pub fn http(&self, verify: bool) -> Arc<ClientConfig> {
        if verify {
            self.http_verifying.clone()
        } else {
            self.http_accepting.clone()
        }
    }

    /// For the TLS monitor, which may watch any TLS service: no ALPN.
    pub fn plain(&self, verify: bool) -> Arc<ClientConfig> {
        if verify {
            self.plain_verifying.clone()
        } else {
            self.plain_accepting.clone()
        }
    }
}

/// Accepts any certificate (`verify_tls: false`) but still checks the handshake signatures, so
/// the connection is really with the holder of the presented certificate.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The name to present by SNI and verify against: a DNS name, or an IP address (no SNI is sent).
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, Failure> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_owned()).map_err(|_| {
        Failure::new(
            ErrorClass::Tls,
            format!("'{bare}' is not a valid TLS server name"),
        )
    })
}

/// A failed handshake; `certificate_rejected` when the server's certificate was refused (then
/// the certificate is worth fetching again without verification, to report it).
pub(crate) struct HandshakeError {
    pub failure: Failure,
    pub certificate_rejected: bool,
}

/// Runs the TLS handshake on `tcp` within the deadline; returns the stream and its duration.
pub(crate) async fn handshake(
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
    tcp: TcpStream,
    deadline: &Deadline,
) -> Result<(TlsStream<TcpStream>, Duration), HandshakeError> {
    let started = Instant::now();
    let connecting = TlsConnector::from(config).connect(server_name, tcp);
    match deadline.run("the TLS handshake", connecting).await {
        Err(failure) => Err(HandshakeError {
            failure,
            certificate_rejected: false,
        }),
        Ok(Ok(stream)) => Ok((stream, started.elapsed())),
        Ok(Err(error)) => {
            let rustls_error = error
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>());
            let (message, certificate_rejected) = match rustls_error {
                Some(rustls_error) => (
                    rustls_error.to_string(),
                    matches!(
                        rustls_error,
                        rustls::Error::InvalidCertificate(_)
                            | rustls::Error::NoCertificatesPresented
                    ),
                ),
                None if error.kind() == std::io::ErrorKind::UnexpectedEof => {
                    ("the server closed the connection".to_owned(), false)
                }
                None => (error.to_string(), false),
            };
            Err(HandshakeError {
                failure: Failure::new(ErrorClass::Tls, format!("TLS handshake failed: {message}")),
                certificate_rejected,
            })
        }
    }
}

/// After a rejected certificate: connects again to `address` without verification, within what is
/// left of the deadline, only to report the certificate that was rejected.
pub(crate) async fn fetch_rejected_certificate(
    config: Arc<ClientConfig>,
    address: SocketAddr,
    server_name: ServerName<'static>,
    deadline: &Deadline,
) -> Option<CertificateInfo> {
    let tcp = deadline
        .run("the connection", TcpStream::connect(address))
        .await
        .ok()?
        .ok()?;
    let (stream, _) = handshake(config, server_name, tcp, deadline).await.ok()?;
    certificate_info(stream.get_ref().1.peer_certificates()?)
}

/// Reads the presented chain: subject, issuer and SANs of the leaf, its SHA-256 fingerprint and
/// expiry, and the earliest expiry of any certificate in the chain. `None` when the leaf cannot be
/// parsed.
pub(crate) fn certificate_info(chain: &[CertificateDer<'_>]) -> Option<CertificateInfo> {
    let leaf_der = chain.first()?;
    let (_, leaf) = x509_parser::parse_x509_certificate(leaf_der).ok()?;
    let leaf_expires_at = Timestamp(leaf.validity().not_after.timestamp().saturating_mul(1000));
    let expires_at = chain
        .iter()
        .skip(1)
        .filter_map(|der| x509_parser::parse_x509_certificate(der).ok())
        .map(|(_, cert)| Timestamp(cert.validity().not_after.timestamp().saturating_mul(1000)))
        .fold(leaf_expires_at, std::cmp::min);
    let dns_names = match leaf.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                x509_parser::extensions::GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Some(CertificateInfo {
        subject: leaf.subject().to_string(),
        issuer: leaf.issuer().to_string(),
        expires_at,
        leaf_expires_at,
        fingerprint_sha256: hex::encode(Sha256::digest(leaf_der.as_ref())),
        dns_names,
    })
}

/// The TLS monitor: connect, handshake with verification (SNI = `server_name` or `host`), report
/// the certificate. A certificate that fails verification (expired, unknown issuer, wrong name) is
/// DOWN with class `Tls`, and still reported; expiring within `warn_days` is DEGRADED.
pub(crate) async fn probe_tls(
    prober: &Prober,
    settings: &TlsSettings,
    deadline: &Deadline,
) -> Result<CheckOutcome, Failure> {
    let resolved = resolve::resolve(&prober.resolver, &settings.host, deadline).await?;
    let (tcp, address, _) = resolve::connect(
        &resolved.addresses,
        settings.port,
        prober.address_policy,
        deadline,
    )
    .await?;
    let name = server_name(settings.server_name.as_deref().unwrap_or(&settings.host))?;
    let stream = match handshake(prober.tls.plain(true), name.clone(), tcp, deadline).await {
        Ok((stream, _)) => stream,
        Err(error) => {
            let mut outcome = deadline.down(error.failure);
            if error.certificate_rejected {
                outcome.certificate =
                    fetch_rejected_certificate(prober.tls.plain(false), address, name, deadline)
                        .await;
            }
            return Ok(outcome);
        }
    };
    let certificate = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(certificate_info)
        .ok_or_else(|| {
            Failure::new(
                ErrorClass::Tls,
                "the server's certificate could not be parsed",
            )
        })?;
    let mut outcome = deadline.up();
    // An expired certificate that verification relied on already failed the handshake; one that
    // passed is an extra chain certificate the path did not need (like the expired cross-signed
    // root many servers kept sending in 2021): worth a warning, not an outage.
    if let Some(ExpiryWarning::Expired(message) | ExpiryWarning::ExpiresSoon(message)) =
        assertions::certificate_expiry(&certificate, settings.warn_days, Timestamp::now())
    {
        outcome.degrade(ErrorClass::CertificateExpiry, message);
    }
    outcome.certificate = Some(certificate);
    Ok(outcome)
}
