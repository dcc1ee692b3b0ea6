//! Real servers on loopback for the probe tests: an HTTP app (hyper), the same app over TLS with
//! certificates from a test CA (rcgen), raw TCP servers for odd behaviour, and helpers to build
//! monitor kinds the way users write them.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use watchtower_checks::{Prober, ProberOptions};
use watchtower_core::{MonitorKind, MonitorSpec};

/// A server task on 127.0.0.1, stopped when dropped.
pub struct Server {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Server {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://127.0.0.1:{}{path}", self.port())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accepts connections forever, handing each to `handler` on its own task.
pub async fn serve_raw<F, Fut>(handler: F) -> Server
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let handler = Arc::new(handler);
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(handler(stream));
        }
    });
    Server { addr, task }
}

/// The test app over plain HTTP (HTTP/1.1).
pub async fn serve_http() -> Server {
    serve_raw(|stream| async move {
        let _ = auto::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(stream), service_fn(app))
            .await;
    })
    .await
}

/// The test app over TLS with `certificate`, offering `alpn` (h2 and/or http/1.1).
pub async fn serve_https(certificate: &ServerCertificate, alpn: &[&[u8]]) -> Server {
    let acceptor = tls_acceptor(certificate, alpn);
    serve_raw(move |stream| {
        let acceptor = acceptor.clone();
        async move {
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service_fn(app))
                .await;
        }
    })
    .await
}

/// A TLS acceptor presenting `certificate` and offering `alpn`.
pub fn tls_acceptor(certificate: &ServerCertificate, alpn: &[&[u8]]) -> TlsAcceptor {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(certificate.chain.clone(), certificate.key.clone_key())
    .expect("server certificate");
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    TlsAcceptor::from(Arc::new(config))
}

/// The routes the HTTP tests probe.
async fn app(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("-")
            .to_owned()
    };
    let host = header("host");
    let summary = format!(
        "method: {}\nversion: {:?}\nhost: {host}\nuser-agent: {}\nauthorization: {}\nconnection: {}\nx-probe: {}\n",
        request.method(),
        request.version(),
        header("user-agent"),
        header("authorization"),
        header("connection"),
        header("x-probe"),
    );
    let method = request.method().to_string();
    let body = request
        .into_body()
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let reply = |status: u16, body: Bytes| {
        Response::builder()
            .status(status)
            .body(Full::new(body))
            .expect("response")
    };
    let redirect = |status: u16, location: String| {
        Response::builder()
            .status(status)
            .header("location", location)
            .body(Full::new(Bytes::new()))
            .expect("response")
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let response = match segments.as_slice() {
        ["ok"] => reply(200, Bytes::from_static(b"all systems ok")),
        ["status", code] => reply(code.parse().unwrap_or(500), Bytes::from_static(b"status")),
        ["json"] => reply(
            200,
            Bytes::from(
                json!({"status": "ok", "checks": {"db": {"latency_ms": 12}}, "tags": ["a", "b"]})
                    .to_string(),
            ),
        ),
        ["redirect", left] => match left.parse::<u32>().unwrap_or(0) {
            0 => reply(200, Bytes::from_static(b"landed")),
            n => redirect(302, format!("/redirect/{}", n - 1)),
        },
        ["relative", "a"] => redirect(302, "../relative/b".into()),
        ["relative", "b"] => redirect(307, "c?x=1".into()),
        ["relative", "c"] => reply(200, Bytes::from_static(b"relative landed")),
        ["absolute"] => redirect(301, format!("http://{host}/ok")),
        ["elsewhere", port] => redirect(302, format!("http://127.0.0.1:{port}/echo")),
        ["same-origin"] => redirect(302, "/echo".into()),
        ["loop"] => redirect(302, "/loop".into()),
        ["see-other"] => redirect(303, "/echo".into()),
        ["echo"] => reply(
            200,
            Bytes::from(format!(
                "{summary}body: {}\n",
                String::from_utf8_lossy(&body)
            )),
        ),
        ["method"] => reply(200, Bytes::from(method)),
        ["big"] => {
            let mut big = vec![b'a'; 2 * 1024 * 1024];
            big.extend_from_slice(b"needle");
            reply(200, Bytes::from(big))
        }
        ["slow"] => {
            tokio::time::sleep(Duration::from_millis(400)).await;
            reply(200, Bytes::from_static(b"slow but fine"))
        }
        _ => reply(
            StatusCode::NOT_FOUND.as_u16(),
            Bytes::from_static(b"not found"),
        ),
    };
    Ok(response)
}

/// A test certificate authority.
pub struct TestCa {
    pub certificate: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

/// A leaf certificate chain and its key, for a server.
pub struct ServerCertificate {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub not_after: time::OffsetDateTime,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(365);
        params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(3650);
        let certificate = params.self_signed(&key).expect("CA certificate");
        Self {
            certificate: certificate.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A prober that trusts this CA.
    pub fn prober(&self) -> Prober {
        prober_trusting(std::slice::from_ref(&self.certificate))
    }

    /// A certificate for `localhost` and 127.0.0.1 valid from `from_days` to `until_days`
    /// (relative to now, may be negative).
    pub fn leaf(&self, from_days: i64, until_days: i64) -> ServerCertificate {
        let key = KeyPair::generate().expect("leaf key");
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now + time::Duration::days(from_days);
        params.not_after = now + time::Duration::days(until_days);
        let certificate = params
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        ServerCertificate {
            chain: vec![certificate.der().clone(), self.certificate.clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            not_after: params.not_after,
        }
    }
}

/// A prober that allows every address and trusts `roots` on top of the webpki roots.
pub fn prober_trusting(roots: &[CertificateDer<'static>]) -> Prober {
    Prober::new(ProberOptions {
        extra_root_certificates: roots.to_vec(),
        ..ProberOptions::default()
    })
}

/// A prober with default options.
pub fn prober() -> Prober {
    Prober::new(ProberOptions::default())
}

/// Builds a monitor kind from the JSON a user would write (`name` is filled in).
pub fn kind(mut spec: Value) -> MonitorKind {
    spec["name"] = json!("test");
    match MonitorSpec::parse(&spec, "monitor") {
        Ok(parsed) => parsed.kind,
        Err(problems) => panic!("{spec} is not a valid monitor: {problems:?}"),
    }
}

/// A port on 127.0.0.1 with nothing listening.
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}
