//! Sign-in from the Whop frame, on every backend: a valid user token is enough on every request
//! (API and dashboard) and makes the user and their team once; expired, not-yet-valid, wrong
//! audience, wrong issuer, unknown-key, `alg: none` and garbage tokens are refused; keys rotate
//! through the JWKS with a floor on refetches; a configured PEM key works alone; Whop may frame
//! the pages only when frame sign-in is on; and what changes something must be same-origin.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;
use watchtower_billing::{BillingConfig, FrameConfig, FrameKeys};
use watchtower_testkit::TestDatabase;
use watchtower_testkit::whop::unix_now;
use watchtower_testkit::whop_frame::{self, FrameKey, WhopJwks};

const APP_ID: &str = "app_watchtower_test";
const HEADER: &str = "x-whop-user-token";

fn frame_options(keys: FrameKeys) -> Options {
    Options {
        billing: BillingConfig {
            frame: Some(FrameConfig {
                app_id: APP_ID.into(),
                keys,
            }),
            ..BillingConfig::default()
        },
        ..Options::default()
    }
}

fn jwks(url: &str, refetch_floor: Duration) -> FrameKeys {
    FrameKeys::Jwks {
        url: url.parse().unwrap(),
        refetch_floor,
    }
}

/// `GET /api/auth/me` with a frame token: the status and the body.
async fn me(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let answer = reqwest::Client::new()
        .get(app.url("/api/auth/me"))
        .header(HEADER, token)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_frame_token_signs_in_makes_the_user_once_and_bad_tokens_are_refused() {
    let key = FrameKey::generate("k1");
    let stranger = FrameKey::generate("k1");
    let jwks_server = WhopJwks::start(&[&key]).await;
    let options = frame_options(jwks(&jwks_server.url, Duration::ZERO));
    each_backend(options, |app| {
        let key = &key;
        let stranger = &stranger;
        async move {
            let token = key.sign(&whop_frame::claims("user_frame1", APP_ID));
            let (status, first) = me(&app, &token).await;
            assert_eq!(status, StatusCode::OK, "{first}");
            assert_eq!(first["user"]["email"], "user_frame1@users.whop.invalid");
            assert_eq!(first["teams"].as_array().unwrap().len(), 1);
            assert_eq!(first["teams"][0]["role"], "owner");
            // No session: nothing to expire, no CSRF token to hand out.
            assert!(first["session_expires_at"].is_null());
            let (_, again) = me(&app, &key.sign(&whop_frame::claims("user_frame1", APP_ID))).await;
            assert_eq!(again["user"]["id"], first["user"]["id"], "the same user");
            assert_eq!(again["teams"], first["teams"], "no second team");

            let now = unix_now();
            let with = |change: &dyn Fn(&mut Value)| {
                let mut claims = whop_frame::claims("user_frame2", APP_ID);
                change(&mut claims);
                claims
            };
            let refused = [
                (
                    "expired",
                    key.sign(&with(&|c| c["exp"] = (now - 120).into())),
                ),
                (
                    "not yet valid",
                    key.sign(&with(&|c| c["nbf"] = (now + 600).into())),
                ),
                (
                    "wrong audience",
                    key.sign(&with(&|c| c["aud"] = "app_other".into())),
                ),
                (
                    "wrong issuer",
                    key.sign(&with(&|c| c["iss"] = "urn:someone:else".into())),
                ),
                (
                    "no expiry",
                    key.sign(&with(&|c| {
                        c.as_object_mut().unwrap().remove("exp");
                    })),
                ),
                (
                    "unknown key",
                    stranger.sign(&whop_frame::claims("user_frame2", APP_ID)),
                ),
                (
                    "alg none",
                    whop_frame::unsigned(&whop_frame::claims("user_frame2", APP_ID)),
                ),
                ("garbage", "not.a.token".to_owned()),
                ("oversized", "a".repeat(10_000)),
            ];
            for (what, token) in refused {
                let (status, body) = me(&app, &token).await;
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
                assert_eq!(body["error"]["code"], "unauthenticated", "{what}");
            }
            assert!(
                app.store
                    .user_by_email("user_frame2@users.whop.invalid")
                    .await?
                    .is_none(),
                "a refused token makes nobody"
            );

            // The dashboard works on the token alone; a change must come from the page itself.
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?;
            let token = key.sign(&whop_frame::claims("user_frame1", APP_ID));
            let page = http.get(app.url("/")).header(HEADER, &token).send().await?;
            assert_eq!(page.status(), StatusCode::OK);
            let csp = page.headers()["content-security-policy"]
                .to_str()?
                .to_owned();
            assert!(
                csp.contains("frame-ancestors 'self' https://whop.com https://*.whop.com"),
                "{csp}"
            );
            assert!(page.headers().get("x-frame-options").is_none());
            let form = [
                ("name", "Framed"),
                ("kind", "tcp"),
                ("host", "127.0.0.1"),
                ("port", "9"),
                ("interval", "1h"),
            ];
            let forged = http
                .post(app.url("/monitors/new"))
                .header(HEADER, &token)
                .form(&form)
                .send()
                .await?;
            assert_eq!(forged.status(), StatusCode::FORBIDDEN, "no Sec-Fetch-Site");
            let cross = http
                .post(app.url("/monitors/new"))
                .header(HEADER, &token)
                .header("sec-fetch-site", "cross-site")
                .form(&form)
                .send()
                .await?;
            assert_eq!(cross.status(), StatusCode::FORBIDDEN);
            let own = http
                .post(app.url("/monitors/new"))
                .header(HEADER, &token)
                .header("sec-fetch-site", "same-origin")
                .form(&form)
                .send()
                .await?;
            assert_eq!(own.status(), StatusCode::SEE_OTHER);
            let team = watchtower_core::TeamId(first["teams"][0]["id"].as_i64().unwrap());
            assert_eq!(app.store.count_monitors(team).await?, 1);
            Ok(())
        }
    })
    .await;
}

#[tokio::test]
async fn frame_keys_rotate_through_the_jwks_and_unknown_kids_wait_for_the_floor() {
    let old = FrameKey::generate("2026-old");
    let new = FrameKey::generate("2026-new");
    let jwks_server = WhopJwks::start(&[&old]).await;
    let database = TestDatabase::sqlite();
    let (app, running) = TestApp::start(
        &database.url,
        frame_options(jwks(&jwks_server.url, Duration::ZERO)),
    )
    .await;
    let (status, _) = me(&app, &old.sign(&whop_frame::claims("user_rot", APP_ID))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(jwks_server.fetches(), 1);
    let (status, _) = me(&app, &old.sign(&whop_frame::claims("user_rot", APP_ID))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        jwks_server.fetches(),
        1,
        "a known kid is served from the cache"
    );
    // Whop rotates: the new kid is unknown, so the set is fetched again; the retired key stops
    // working once the set no longer has it.
    jwks_server.publish(&[&new]);
    let (status, _) = me(&app, &new.sign(&whop_frame::claims("user_rot", APP_ID))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(jwks_server.fetches(), 2);
    let (status, _) = me(&app, &old.sign(&whop_frame::claims("user_rot", APP_ID))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    running.shutdown().await;

    // With a floor, a stream of made-up kids costs one fetch, not one each.
    let database = TestDatabase::sqlite();
    let (app, running) = TestApp::start(
        &database.url,
        frame_options(jwks(&jwks_server.url, Duration::from_secs(3600))),
    )
    .await;
    let fetched = jwks_server.fetches();
    let (status, _) = me(&app, &new.sign(&whop_frame::claims("user_rot", APP_ID))).await;
    assert_eq!(status, StatusCode::OK);
    for n in 0..20 {
        let made_up = FrameKey::generate(&format!("made-up-{n}"));
        let (status, _) = me(&app, &made_up.sign(&whop_frame::claims("user_rot", APP_ID))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(jwks_server.fetches(), fetched + 1);
    running.shutdown().await;
}

#[tokio::test]
async fn a_pem_key_verifies_alone_and_without_frame_sign_in_the_header_means_nothing() {
    let key = FrameKey::generate("pem");
    let other = FrameKey::generate("pem");
    let pem = FrameConfig::pem_key(key.public_pem().as_bytes()).expect("PEM");
    let database = TestDatabase::sqlite();
    let (app, running) = TestApp::start(&database.url, frame_options(pem)).await;
    let (status, _) = me(&app, &key.sign(&whop_frame::claims("user_pem", APP_ID))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = me(&app, &other.sign(&whop_frame::claims("user_pem", APP_ID))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    running.shutdown().await;
    assert!(
        FrameConfig::pem_key(b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
            .is_err()
    );

    let database = TestDatabase::sqlite();
    let (app, running) = TestApp::start(&database.url, Options::default()).await;
    let (status, _) = me(&app, &key.sign(&whop_frame::claims("user_pem", APP_ID))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let login = reqwest::get(app.url("/login")).await.unwrap();
    let csp = login.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.ends_with("frame-ancestors 'self'"), "{csp}");
    assert_eq!(login.headers()["x-frame-options"], "SAMEORIGIN");
    running.shutdown().await;
}
