//! Security headers on every response: a strict Content-Security-Policy, no framing (but by
//! WatchTower itself, and by Whop when the app runs in Whop's frame), no MIME sniffing, and no
//! referrer leaking to other origins.

use http::{HeaderName, HeaderValue, header};
use tower::ServiceBuilder;
use tower::layer::util::{Identity, Stack};
use tower::util::Either;
use tower_http::set_header::SetResponseHeaderLayer;

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                   object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'";

/// The same policy when Whop frames the app: its origins may be the frame's ancestors.
const CSP_IN_WHOP_FRAME: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
     object-src 'none'; base-uri 'self'; form-action 'self'; \
     frame-ancestors 'self' https://whop.com https://*.whop.com";

type Headers = Stack<
    SetResponseHeaderLayer<HeaderValue>,
    Stack<
        SetResponseHeaderLayer<HeaderValue>,
        Stack<
            Either<SetResponseHeaderLayer<HeaderValue>, Identity>,
            Stack<SetResponseHeaderLayer<HeaderValue>, Identity>,
        >,
    >,
>;

fn always(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// The layer that adds the headers (handlers may set a stricter value first). With
/// `in_whop_frame`, Whop's origins may frame the pages, and `X-Frame-Options` (which cannot
/// name them) is left out.
pub fn layer(in_whop_frame: bool) -> ServiceBuilder<Headers> {
    let (csp, frame_options) = if in_whop_frame {
        (CSP_IN_WHOP_FRAME, None)
    } else {
        (CSP, Some(always(header::X_FRAME_OPTIONS, "SAMEORIGIN")))
    };
    ServiceBuilder::new()
        .layer(always(header::CONTENT_SECURITY_POLICY, csp))
        .option_layer(frame_options)
        .layer(always(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(always(
            header::REFERRER_POLICY,
            "strict-origin-when-cross-origin",
        ))
}
