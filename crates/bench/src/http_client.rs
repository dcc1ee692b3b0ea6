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
