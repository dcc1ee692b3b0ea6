//! Building each request of an HTTP check (method, headers, auth, body, user agent) and working
//! out where a redirect leads.

use crate::deadline::Failure;
use base64::Engine;
use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use url::{Position, Url};
use watchtower_core::ErrorClass;
use watchtower_core::monitor::{HttpAuth, HttpSettings};

/// Headers that belong to one HTTP/1 connection and are not allowed in HTTP/2.
const CONNECTION_SPECIFIC: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// Where one hop of the check goes and with what.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub url: Url,
    pub method: Method,
    pub body: Option<String>,
    /// Same origin as the monitor's URL: only then are the monitor's auth and its own headers
    /// sent (any of them may carry a credential: `X-Api-Key`, `Private-Token`, ...).
    pub same_origin: bool,
}

impl Target {
    pub fn first(settings: &HttpSettings) -> Result<Self, Failure> {
        let method = Method::from_bytes(settings.method.as_bytes()).map_err(|_| {
            Failure::new(
                ErrorClass::Internal,
                format!("'{}' is not an HTTP method", settings.method),
            )
        })?;
        let mut url = settings.url.clone();
        url.set_fragment(None);
        Ok(Self {
            url,
            method,
            body: settings.body.clone(),
            same_origin: true,
        })
    }

    /// The next hop after a redirect `status` with `location`: relative locations resolve
    /// against this URL; 303 (and 301/302 after a POST) turn into a GET without a body.
    pub fn redirected(
        &self,
        status: StatusCode,
        location: &HeaderValue,
        original: &Url,
    ) -> Result<Self, Failure> {
        let protocol = |message: String| Failure::new(ErrorClass::Protocol, message);
        let location = location
            .to_str()
            .map_err(|_| protocol("a redirect's Location header is not valid text".into()))?;
        let mut url = self.url.join(location).map_err(|error| {
            protocol(format!(
                "a redirect's Location '{location}' is not a valid URL: {error}"
            ))
        })?;
        url.set_fragment(None);
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(protocol(format!(
                "a redirect leads to {url}, which is not an http(s) URL"
            )));
        }
        let becomes_get = match status {
            StatusCode::SEE_OTHER => self.method != Method::HEAD,
            StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => self.method == Method::POST,
            _ => false,
        };
        let (method, body) = if becomes_get {
            (Method::GET, None)
        } else {
            (self.method.clone(), self.body.clone())
        };
        Ok(Self {
            same_origin: url.origin() == original.origin(),
            url,
            method,
            body,
        })
    }

    /// The request for this hop. HTTP/1 gets an origin-form URI, `Host` and `Connection: close`;
    /// HTTP/2 an absolute URI (hyper sends it as `:authority`) and no connection-specific headers.
    pub fn request(
        &self,
        settings: &HttpSettings,
        user_agent: &HeaderValue,
        h2: bool,
    ) -> Result<Request<Full<Bytes>>, Failure> {
        let internal = |message: String| Failure::new(ErrorClass::Internal, message);
        let mut absolute = self.url.clone();
        // Credentials in the URL become basic auth below, never part of the request target.
        let _ = absolute.set_username("");
        let _ = absolute.set_password(None);
        let uri = if h2 {
            absolute.as_str()
        } else {
            match &self.url[Position::BeforePath..Position::AfterQuery] {
                "" => "/",
                path => path,
            }
        };
        let body = self.body.clone().map(Bytes::from).unwrap_or_default();
        let mut request = Request::builder()
            .method(self.method.clone())
            .uri(uri)
            .body(Full::new(body))
            .map_err(|error| internal(format!("could not build the request: {error}")))?;
        let headers = request.headers_mut();
        if !h2 {
            let host = match (self.url.host_str(), self.url.port()) {
                (Some(host), Some(port)) => format!("{host}:{port}"),
                (Some(host), None) => host.to_owned(),
                (None, _) => String::new(),
            };
            let host = HeaderValue::from_str(&host)
                .map_err(|_| internal(format!("'{host}' is not a valid Host header")))?;
            headers.insert(header::HOST, host);
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        headers.insert(header::USER_AGENT, user_agent.clone());
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        if !self.same_origin {
            // Another origin gets none of what the monitor configured, as curl and browsers drop
            // credentials on a cross-origin redirect.
            return Ok(request);
        }
        for (name, value) in &settings.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| internal(format!("'{name}' is not a valid header name")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| internal(format!("the value of {name} is not a valid header")))?;
            if h2 && CONNECTION_SPECIFIC.contains(&name.as_str()) {
                continue;
            }
            headers.insert(name, value);
        }
        if let Some(auth) = settings.auth.clone().or_else(|| url_credentials(&self.url)) {
            headers.insert(header::AUTHORIZATION, authorization(&auth)?);
        }
        Ok(request)
    }
}

/// `http://user:pass@host/` as basic auth, percent-decoded.
fn url_credentials(url: &Url) -> Option<HttpAuth> {
    if url.username().is_empty() {
        return None;
    }
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    Some(HttpAuth::Basic {
        username: decode(url.username()),
        password: decode(url.password().unwrap_or_default()),
    })
}

fn authorization(auth: &HttpAuth) -> Result<HeaderValue, Failure> {
    let value = match auth {
        HttpAuth::Basic { username, password } => {
            let pair = format!("{username}:{password}");
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        }
        HttpAuth::Bearer(token) => format!("Bearer {token}"),
    };
    let mut value = HeaderValue::from_str(&value).map_err(|_| {
        Failure::new(
            ErrorClass::Internal,
            "the credentials are not a valid header value",
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str, method: Method) -> Target {
        Target {
            url: Url::parse(url).unwrap(),
            method,
            body: Some("x=1".into()),
            same_origin: true,
        }
    }

    #[test]
    fn relative_locations_resolve_and_303_becomes_get() {
        let original = Url::parse("http://a.test/start").unwrap();
        let first = target("http://a.test/dir/page?q=1", Method::POST);
        let next = first
            .redirected(
                StatusCode::SEE_OTHER,
                &HeaderValue::from_static("../other#frag"),
                &original,
            )
            .unwrap();
        assert_eq!(next.url.as_str(), "http://a.test/other");
        assert_eq!(next.method, Method::GET);
        assert_eq!(next.body, None);
        assert!(next.same_origin);
        let kept = first
            .redirected(
                StatusCode::TEMPORARY_REDIRECT,
                &HeaderValue::from_static("https://b.test/x"),
                &original,
            )
            .unwrap();
        assert_eq!(kept.method, Method::POST);
        assert_eq!(kept.body.as_deref(), Some("x=1"));
        assert!(!kept.same_origin);
    }

    #[test]
    fn redirects_to_other_schemes_are_refused() {
        let original = Url::parse("http://a.test/").unwrap();
        let error = target("http://a.test/", Method::GET)
            .redirected(
                StatusCode::FOUND,
                &HeaderValue::from_static("ftp://a.test/file"),
                &original,
            )
            .unwrap_err();
        assert_eq!(error.class, ErrorClass::Protocol);
    }
}
