//! Security headers on every response: a strict Content-Security-Policy, no framing, no MIME
//! sniffing, and no referrer leaking to other origins.

use http::{HeaderName, HeaderValue, header};
use tower::ServiceBuilder;
use tower::layer::util::{Identity, Stack};
use tower_http::set_header::SetResponseHeaderLayer;

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                   object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'";

type Headers = Stack<
    SetResponseHeaderLayer<HeaderValue>,
    Stack<
        SetResponseHeaderLayer<HeaderValue>,
        Stack<
            SetResponseHeaderLayer<HeaderValue>,
            Stack<SetResponseHeaderLayer<HeaderValue>, Identity>,
        >,
    >,
>;

fn always(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// The layer that adds the headers (handlers may set a stricter value first).
pub fn layer() -> ServiceBuilder<Headers> {
    ServiceBuilder::new()
        .layer(always(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(always(header::X_FRAME_OPTIONS, "SAMEORIGIN"))
        .layer(always(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(always(
            header::REFERRER_POLICY,
            "strict-origin-when-cross-origin",
        ))
}
