//! Whop's side of sign-in from its app frame: P-256 signing keys, user tokens (ES256 JWTs) as
//! Whop's proxy issues them, and the key set (JWKS) served over HTTP, where keys can be rotated
//! while it runs and fetches are counted.

use crate::whop::unix_now;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The issuer Whop's proxy writes in every token.
pub const ISSUER: &str = "urn:whopcom:exp-proxy";

/// One of Whop's signing keys.
pub struct FrameKey {
    pub kid: String,
    pair: rcgen::KeyPair,
}

impl FrameKey {
    pub fn generate(kid: &str) -> Self {
        Self {
            kid: kid.to_owned(),
            pair: rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
                .expect("a P-256 key"),
        }
    }

    /// The public key as a PEM `PUBLIC KEY` (what `--whop-token-key` reads).
    pub fn public_pem(&self) -> String {
        self.pair.public_key_pem()
    }

    /// The public key as a JWK with its kid.
    pub fn jwk(&self) -> Value {
        // The uncompressed point: 0x04, then x and y, 32 bytes each.
        let point = self.pair.public_key_raw();
        json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        })
    }

    /// A token with these claims, signed ES256 with this key and naming its kid.
    pub fn sign(&self, claims: &Value) -> String {
        let key = EncodingKey::from_ec_pem(self.pair.serialize_pem().as_bytes())
            .expect("the private key as PEM");
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &key).expect("signing")
    }
}

/// The claims of a fresh token for `sub` in app `app_id`, valid for five minutes.
pub fn claims(sub: &str, app_id: &str) -> Value {
    let now = unix_now();
    json!({"iss": ISSUER, "aud": app_id, "sub": sub, "iat": now, "nbf": now - 5, "exp": now + 300})
}

/// A token that claims to need no signature (`alg: none`): must always be refused.
pub fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{body}.")
}

/// The key set served at `url`; `publish` replaces it (a rotation).
pub struct WhopJwks {
    pub url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

impl WhopJwks {
    pub async fn start(keys: &[&FrameKey]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().expect("address")
        );
        let published = Arc::new(Mutex::new(Vec::new()));
        let fetches = Arc::new(AtomicUsize::new(0));
        let router = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get({
                let published = published.clone();
                let fetches = fetches.clone();
                move || async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    let keys = published.lock().expect("keys").clone();
                    axum::Json(json!({ "keys": keys }))
                }
            }),
        );
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let jwks = Self {
            url,
            keys: published,
            fetches,
            server,
        };
        jwks.publish(keys);
        jwks
    }

    pub fn publish(&self, keys: &[&FrameKey]) {
        *self.keys.lock().expect("keys") = keys.iter().map(|key| key.jwk()).collect();
    }

    /// How many times the key set was fetched.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl Drop for WhopJwks {
    fn drop(&mut self) {
        self.server.abort();
    }
}
