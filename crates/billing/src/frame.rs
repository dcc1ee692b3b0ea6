//! Sign-in from the Whop app frame. Whop's proxy adds `x-whop-user-token` to every request the
//! framed app makes: an ES256 JWT with `iss = urn:whopcom:exp-proxy`, `aud` = the app id and
//! `sub` = the Whop user id. The token alone authenticates the request, so the app works in
//! the frame without third-party cookies.
//!
//! Keys come from a configured PEM public key or from a JWKS URL. The key set is cached and
//! fetched again when a token names an unknown `kid` (Whop rotated its key), at most once per
//! `refetch_floor`, so a stream of tokens with made-up `kid`s cannot make us hammer the URL.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The header Whop's proxy sends the token in.
pub const FRAME_TOKEN_HEADER: &str = "x-whop-user-token";

/// The issuer of every frame token.
pub const FRAME_TOKEN_ISSUER: &str = "urn:whopcom:exp-proxy";

/// Where Whop publishes its keys.
pub const WHOP_JWKS_URL: &str = "https://api.whop.com/.well-known/jwks.json";

/// A token is a few hundred bytes; anything far longer is not one.
const MAX_TOKEN_BYTES: usize = 4096;

/// A key set is a few keys; a larger answer is refused unread.
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// Clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 30;

/// How long a key set fetch may take.
const JWKS_TIMEOUT: Duration = Duration::from_secs(5);

/// The default least time between two fetches of the key set.
pub const DEFAULT_REFETCH_FLOOR: Duration = Duration::from_secs(60);

/// Where the verifying keys come from.
#[derive(Clone)]
pub enum FrameKeys {
    /// One P-256 public key (PEM, `-----BEGIN PUBLIC KEY-----`).
    Pem(DecodingKey),
    /// A JWKS document, fetched when needed.
    Jwks {
        url: url::Url,
        refetch_floor: Duration,
    },
}

/// Operator settings for frame sign-in.
#[derive(Clone)]
pub struct FrameConfig {
    /// The Whop app id: the token's required audience.
    pub app_id: String,
    pub keys: FrameKeys,
}

impl std::fmt::Debug for FrameConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = match &self.keys {
            FrameKeys::Pem(_) => "a PEM key".to_owned(),
            FrameKeys::Jwks { url, .. } => format!("JWKS at {url}"),
        };
        f.debug_struct("FrameConfig")
            .field("app_id", &self.app_id)
            .field("keys", &keys)
            .finish()
    }
}

impl FrameConfig {
    /// Reads a PEM public key; the error says what is wrong with it.
    pub fn pem_key(pem: &[u8]) -> Result<FrameKeys, String> {
        DecodingKey::from_ec_pem(pem)
            .map(FrameKeys::Pem)
            .map_err(|error| format!("not a PEM P-256 public key: {error}"))
    }
}

/// Why a token was refused. The message is for logs and security events; callers answer a
/// plain 401 whatever it says.
#[derive(Debug, thiserror::Error)]
pub enum FrameTokenError {
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("the token is signed with {0:?}, not ES256")]
    WrongAlgorithm(Algorithm),
    #[error("no key with the token's kid")]
    UnknownKey,
    #[error("the token does not verify: {0}")]
    Invalid(String),
    #[error("the key set cannot be fetched: {0}")]
    KeysUnavailable(String),
}

/// The claims read from a verified token.
#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
}

/// A verified frame token: who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameUser {
    pub whop_user_id: String,
}

/// The key set as last fetched.
#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
}

/// Verifies frame tokens; one per instance, shared by every request.
pub struct FrameVerifier {
    config: FrameConfig,
    cache: Mutex<KeyCache>,
    http: reqwest::Client,
}

impl std::fmt::Debug for FrameVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameVerifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl FrameVerifier {
    pub fn new(config: FrameConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(JWKS_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            config,
            cache: Mutex::new(KeyCache::default()),
            http,
        }
    }

    /// Checks the signature (ES256 only), `iss`, `aud`, `exp` and `nbf`, and returns the user.
    pub async fn verify(&self, token: &str) -> Result<FrameUser, FrameTokenError> {
        let kid = token_kid(token)?;
        let key = self.key_for(kid.as_deref()).await?;
        verify_with(token, &key, &self.config.app_id)
    }

    async fn key_for(&self, kid: Option<&str>) -> Result<DecodingKey, FrameTokenError> {
        let (url, refetch_floor) = match &self.config.keys {
            FrameKeys::Pem(key) => return Ok(key.clone()),
            FrameKeys::Jwks { url, refetch_floor } => (url, *refetch_floor),
        };
        let kid = kid.ok_or_else(|| FrameTokenError::Malformed("no kid".into()))?;
        // One lock over lookup and fetch: concurrent requests with a new kid wait for one
        // fetch instead of each starting their own.
        let mut cache = self.cache.lock().await;
        if let Some(key) = cache.keys.get(kid) {
            return Ok(key.clone());
        }
        let may_fetch = cache
            .fetched_at
            .is_none_or(|at| at.elapsed() >= refetch_floor);
        if !may_fetch {
            return Err(FrameTokenError::UnknownKey);
        }
        cache.fetched_at = Some(Instant::now());
        cache.keys = self.fetch(url).await?;
        cache
            .keys
            .get(kid)
            .cloned()
            .ok_or(FrameTokenError::UnknownKey)
    }

    /// The key set's P-256 signing keys by kid; other keys are left out.
    async fn fetch(&self, url: &url::Url) -> Result<HashMap<String, DecodingKey>, FrameTokenError> {
        let unavailable = |error: String| FrameTokenError::KeysUnavailable(error);
        let mut response = self
            .http
            .get(url.clone())
            .send()
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("answered {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| unavailable(error.to_string()))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(unavailable("the key set is larger than 64 KiB".into()));
            }
            body.extend_from_slice(&chunk);
        }
        keys_of(&body).map_err(unavailable)
    }
}

/// The `kid` a token names, after the checks that need no key: its length, and ES256 as its
/// algorithm (`alg: none` and every other algorithm are refused here, so the header cannot
/// choose how it is checked).
pub fn token_kid(token: &str) -> Result<Option<String>, FrameTokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(FrameTokenError::Malformed("longer than 4 KiB".into()));
    }
    let header =
        decode_header(token).map_err(|error| FrameTokenError::Malformed(error.to_string()))?;
    if header.alg != Algorithm::ES256 {
        return Err(FrameTokenError::WrongAlgorithm(header.alg));
    }
    Ok(header.kid)
}

/// Verifies a token with `key`: the ES256 signature, `iss`, `aud` = `app_id`, `exp` and `nbf`
/// (with 30 s of leeway), and a `sub`.
pub fn verify_with(
    token: &str,
    key: &DecodingKey,
    app_id: &str,
) -> Result<FrameUser, FrameTokenError> {
    token_kid(token)?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[FRAME_TOKEN_ISSUER]);
    validation.set_audience(&[app_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECONDS;
    let data = decode::<Claims>(token, key, &validation)
        .map_err(|error| FrameTokenError::Invalid(error.to_string()))?;
    let whop_user_id = data.claims.sub;
    if whop_user_id.is_empty() || whop_user_id.len() > 128 {
        return Err(FrameTokenError::Malformed(
            "sub is empty or too long".into(),
        ));
    }
    Ok(FrameUser { whop_user_id })
}

/// Reads a JWKS document: each EC P-256 key with a kid.
pub fn keys_of(body: &[u8]) -> Result<HashMap<String, DecodingKey>, String> {
    let set: JwkSet = serde_json::from_slice(body).map_err(|error| error.to_string())?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let (Some(kid), AlgorithmParameters::EllipticCurve(params)) =
            (&jwk.common.key_id, &jwk.algorithm)
        else {
            continue;
        };
        if params.curve != EllipticCurve::P256 {
            continue;
        }
        if let Ok(key) = DecodingKey::from_jwk(jwk) {
            keys.insert(kid.clone(), key);
        }
    }
    Ok(keys)
}
