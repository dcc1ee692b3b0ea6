//! One HTTP exchange on a fresh connection (hyper 1 client connection API): resolve, connect,
//! TLS, request → response head, body; each phase timed and bounded by the check's deadline.

use crate::deadline::{Deadline, Failure};
use crate::prober::Prober;
use crate::{resolve, tls};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use url::Url;
use watchtower_core::{CertificateInfo, ErrorClass, HttpPhases};

/// What one hop has measured so far; kept when the hop fails, so a failure still reports the
/// phases that completed and the certificate that was presented.
#[derive(Debug, Default)]
pub(super) struct Hop {
    pub phases: HttpPhases,
    pub certificate: Option<CertificateInfo>,
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

enum Sender {
    H1(http1::SendRequest<Full<Bytes>>),
    H2(http2::SendRequest<Full<Bytes>>),
}

/// Ends the task driving the connection when the exchange is over or abandoned, so a check that
/// times out leaves nothing behind.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// An open connection, ready for one request.
pub(super) struct Connection {
    sender: Sender,
    _driver: AbortOnDrop,
}

impl Connection {
    /// Resolves and connects to the URL's host (TLS for https, h2 when ALPN picks it), filling
    /// the DNS, connect and TLS phases of `hop`.
    pub async fn open(
        prober: &Prober,
        url: &Url,
        verify_tls: bool,
        deadline: &Deadline,
        hop: &mut Hop,
    ) -> Result<Self, Failure> {
        let host = url
            .host_str()
            .ok_or_else(|| Failure::new(ErrorClass::Internal, format!("{url} has no host")))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| Failure::new(ErrorClass::Internal, format!("{url} has no port")))?;
        let resolved = resolve::resolve(&prober.resolver, host, deadline).await?;
        hop.phases.dns = resolved.dns_time;
        let (tcp, address, connect_time) =
            resolve::connect(&resolved.addresses, port, prober.address_policy, deadline).await?;
        hop.phases.connect = Some(connect_time);
        let (io, h2): (Box<dyn Io>, bool) = if url.scheme() == "https" {
            let name = tls::server_name(host)?;
            match tls::handshake(prober.tls.http(verify_tls), name.clone(), tcp, deadline).await {
                Ok((stream, took)) => {
                    hop.phases.tls = Some(took);
                    let session = stream.get_ref().1;
                    hop.certificate = session.peer_certificates().and_then(tls::certificate_info);
                    let h2 = session.alpn_protocol() == Some(b"h2".as_slice());
                    (Box::new(stream), h2)
                }
                Err(error) => {
                    if error.certificate_rejected {
                        hop.certificate = tls::fetch_rejected_certificate(
                            prober.tls.http(false),
                            address,
                            name,
                            deadline,
                        )
                        .await;
                    }
                    return Err(error.failure);
                }
            }
        } else {
            (Box::new(tcp), false)
        };
        let io = TokioIo::new(io);
        let (sender, driver) = if h2 {
            let (sender, connection) = deadline
                .run(
                    "the HTTP/2 handshake",
                    http2::handshake(TokioExecutor::new(), io),
                )
                .await?
                .map_err(request_failure)?;
            let driver = tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "HTTP/2 connection ended");
                }
            });
            (Sender::H2(sender), driver)
        } else {
            let (sender, connection) = deadline
                .run("the HTTP handshake", http1::handshake(io))
                .await?
                .map_err(request_failure)?;
            let driver = tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "HTTP/1 connection ended");
                }
            });
            (Sender::H1(sender), driver)
        };
        Ok(Self {
            sender,
            _driver: AbortOnDrop(driver),
        })
    }

    /// Whether the connection speaks HTTP/2 (requests then carry an absolute URI and no
    /// connection-specific headers).
    pub fn is_h2(&self) -> bool {
        matches!(self.sender, Sender::H2(_))
    }

    /// Sends the request and waits for the response head, timing the first-byte phase.
    pub async fn send(
        &mut self,
        request: Request<Full<Bytes>>,
        deadline: &Deadline,
        hop: &mut Hop,
    ) -> Result<Response<Incoming>, Failure> {
        let started = Instant::now();
        let exchange = async {
            match &mut self.sender {
                Sender::H1(sender) => {
                    sender.ready().await?;
                    sender.send_request(request).await
                }
                Sender::H2(sender) => {
                    sender.ready().await?;
                    sender.send_request(request).await
                }
            }
        };
        let response = deadline
            .run("the first byte", exchange)
            .await?
            .map_err(request_failure)?;
        hop.phases.first_byte = Some(started.elapsed());
        Ok(response)
    }
}

/// The body as read: at most `limit` bytes, and whether there was more.
pub(super) struct ReadBody {
    pub bytes: Vec<u8>,
    pub truncated: bool,
}

/// Reads at most `limit` bytes of the body, timing the download phase, then stops reading (the
/// connection is dropped with the rest). Not `http_body_util::Limited`: it turns the overflow into
/// an error and drops the frame that crossed the limit, where a monitor wants the first `limit`
/// bytes and to treat a big body as a big body, not a failure.
pub(super) async fn read_body(
    response: Response<Incoming>,
    limit: usize,
    deadline: &Deadline,
    hop: &mut Hop,
) -> Result<ReadBody, Failure> {
    let close_delimited = is_close_delimited(&response);
    let mut body = response.into_body();
    let started = Instant::now();
    let mut bytes = Vec::new();
    let mut truncated = false;
    let reading = async {
        while let Some(frame) = body.frame().await {
            let Ok(chunk) = frame?.into_data() else {
                continue;
            };
            let room = limit - bytes.len();
            if chunk.len() > room {
                bytes.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok::<(), hyper::Error>(())
    };
    match deadline.run("the response body", reading).await? {
        Ok(()) => {}
        // Many servers close a TLS connection without close_notify; for a body that ends when
        // the connection does, that is its end, not a truncation (curl and browsers agree).
        Err(error) if close_delimited && ends_without_close_notify(&error) => {}
        Err(error) => {
            return Err(Failure::new(
                ErrorClass::Protocol,
                format!("the response body was cut short: {}", describe(&error)),
            ));
        }
    }
    hop.phases.download = Some(started.elapsed());
    Ok(ReadBody { bytes, truncated })
}

/// An HTTP/1 body with neither a length nor chunked encoding: it ends when the connection closes.
fn is_close_delimited(response: &Response<Incoming>) -> bool {
    let headers = response.headers();
    response.version() < hyper::Version::HTTP_2
        && !headers.contains_key(hyper::header::CONTENT_LENGTH)
        && !headers
            .get_all(hyper::header::TRANSFER_ENCODING)
            .iter()
            .any(|value| value.as_bytes().eq_ignore_ascii_case(b"chunked"))
}

fn ends_without_close_notify(error: &hyper::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::UnexpectedEof;
        }
        source = cause.source();
    }
    false
}

fn request_failure(error: hyper::Error) -> Failure {
    let message = if error.is_parse() || error.is_parse_status() {
        format!("malformed response: {}", describe(&error))
    } else if error.is_incomplete_message() {
        "the server closed the connection before a complete response".to_owned()
    } else {
        format!("the request failed: {}", describe(&error))
    };
    Failure::new(ErrorClass::Protocol, message)
}

/// The error and its causes, joined: hyper's own message is often only the outermost layer.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
