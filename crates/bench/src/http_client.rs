//! A minimal HTTP/1.1 client (hyper) for reading watchtower's `/api/health` and `/metrics`, and the
//! keep-alive connection the push clients and the API client reuse.

use anyhow::Context;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::Duration;

/// One keep-alive HTTP/1.1 connection.
pub struct Connection {
    address: SocketAddr,
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    pub async fn open(address: SocketAddr) -> anyhow::Result<Self> {
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .with_context(|| format!("connecting to {address}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Self { address, sender })
    }

    /// GET `path`; returns the status and the body.
    pub async fn get(&mut self, path: &str) -> anyhow::Result<(u16, Bytes)> {
        let response = self
            .send(http::Method::GET, path, &[], Bytes::new())
            .await?;
        Ok((response.status().as_u16(), response.into_body()))
    }

    /// Any request with `headers` and `body`; the whole response.
    pub async fn send(
        &mut self,
        method: http::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> anyhow::Result<Response<Bytes>> {
        self.sender.ready().await?;
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, self.address.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self
            .sender
            .send_request(request.body(Full::new(body))?)
            .await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Response::from_parts(parts, body))
    }
}

/// One GET on a new connection, within `deadline`.
pub async fn get(
    address: SocketAddr,
    path: &str,
    deadline: Duration,
) -> anyhow::Result<(u16, String)> {
    let fetch = async {
        let mut connection = Connection::open(address).await?;
        let (status, body) = connection.get(path).await?;
        anyhow::Ok((status, String::from_utf8_lossy(&body).into_owned()))
    };
    tokio::time::timeout(deadline, fetch)
        .await
        .with_context(|| format!("GET {path} took over {deadline:?}"))?
}

/// GET a JSON document.
pub async fn get_json(address: SocketAddr, path: &str) -> anyhow::Result<serde_json::Value> {
    let (status, body) = get(address, path, Duration::from_secs(30)).await?;
    anyhow::ensure!(status == 200, "GET {path} answered {status}: {body}");
    Ok(serde_json::from_str(&body)?)
}

/// What one keep-alive client of a load loop saw.
#[derive(Debug, Default, serde::Serialize)]
pub struct LoopTally {
    /// Answers with status 200.
    pub ok: u64,
    /// Answers with another status.
    pub other: u64,
    /// Failed connections and requests (the connection is opened again).
    pub errors: u64,
    /// Body bytes of the 200 answers.
    pub bytes: u64,
    /// Every `sample_every`-th request's latency.
    pub latencies_ms: Vec<f64>,
}

impl LoopTally {
    pub fn add(&mut self, other: LoopTally) {
        self.ok += other.ok;
        self.other += other.other;
        self.errors += other.errors;
        self.bytes += other.bytes;
        self.latencies_ms.extend(other.latencies_ms);
    }
}

/// One keep-alive client sending GETs with `headers` until `deadline`, at most `max_requests`:
/// the n-th to `path(n)`. A request may run 5 s past the deadline; a failed one reopens the
/// connection.
pub async fn get_loop(
    address: SocketAddr,
    deadline: tokio::time::Instant,
    max_requests: u64,
    sample_every: u64,
    headers: &[(&str, &str)],
    path: impl Fn(u64) -> String,
) -> LoopTally {
    let mut tally = LoopTally::default();
    let mut connection = None;
    for sent in 0..max_requests {
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        if connection.is_none() {
            match Connection::open(address).await {
                Ok(opened) => connection = Some(opened),
                Err(_) => {
                    tally.errors += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let Some(open) = connection.as_mut() else {
            continue;
        };
        let asked = std::time::Instant::now();
        let path = path(sent);
        let request = open.send(http::Method::GET, &path, headers, Bytes::new());
        match tokio::time::timeout_at(deadline + Duration::from_secs(5), request).await {
            Ok(Ok(response)) if response.status() == 200 => {
                tally.ok += 1;
                tally.bytes += response.body().len() as u64;
            }
            Ok(Ok(_)) => tally.other += 1,
            Ok(Err(_)) | Err(_) => {
                tally.errors += 1;
                connection = None;
            }
        }
        if sent % sample_every == 0 {
            tally
                .latencies_ms
                .push(asked.elapsed().as_secs_f64() * 1000.0);
        }
    }
    tally
}
