//! Request ids: every answer carries `X-Request-Id`, a sane one sent by the caller is echoed, an
//! unusable one is replaced, and error answers (made by handlers, by the router and by the
//! error-shape rewrite) carry it too.

use crate::support::{Options, TestApp, each_backend};
use reqwest::StatusCode;
use serde_json::json;
use watchtower_server::middleware::request_trace::is_sane_request_id;

fn request_id_of(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get("x-request-id")
        .expect("an X-Request-Id header")
        .to_str()
        .expect("a visible ASCII request id")
        .to_owned()
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    each_backend(Options::default(), |app: TestApp| async move {
        let anonymous = app.anonymous();
        let health = anonymous.get("/api/health").await;
        assert_eq!(health.status, StatusCode::OK);
        let first = request_id_of(&health.headers);
        assert!(is_sane_request_id(&first), "{first}");

        let again = anonymous.get("/api/health").await;
        assert_ne!(first, request_id_of(&again.headers), "a new id per request");

        // Errors: a handler's 401, the router's 404 (in and outside /api), the error-shape
        // rewrite of a 405, and an extractor's 400 / 415.
        let unauthenticated = anonymous.get("/api/monitors").await;
        assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
        let not_found = anonymous.get("/api/no-such-thing").await;
        assert_eq!(not_found.status, StatusCode::NOT_FOUND);
        assert_eq!(not_found.code(), "not_found");
        let outside_api = anonymous.get("/no-such-page").await;
        assert_eq!(outside_api.status, StatusCode::NOT_FOUND);
        let wrong_method = anonymous.delete("/api/health").await;
        assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(wrong_method.code(), "method_not_allowed");
        let bad_login = anonymous.post("/api/auth/login", json!({"email": 3})).await;
        assert_eq!(bad_login.status, StatusCode::BAD_REQUEST);
        for answer in [
            &unauthenticated,
            &not_found,
            &outside_api,
            &wrong_method,
            &bad_login,
        ] {
            let id = request_id_of(&answer.headers);
            assert!(is_sane_request_id(&id), "{id} on {}", answer.status);
        }
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_sane_request_id_is_echoed_and_another_is_replaced() {
    each_backend(Options::default(), |app: TestApp| async move {
        let send_with_id = |path: &'static str, id: String| {
            let app = app.clone();
            async move {
                let mut client = app.anonymous();
                client
                    .headers
                    .insert("x-request-id", id.parse().expect("a header value"));
                client.get(path).await
            }
        };

        let echoed = send_with_id("/api/health", "edge-7f3a.b_c-42".into()).await;
        assert_eq!(request_id_of(&echoed.headers), "edge-7f3a.b_c-42");
        let longest = "a".repeat(64);
        let echoed = send_with_id("/api/health", longest.clone()).await;
        assert_eq!(request_id_of(&echoed.headers), longest);
        // An error answer echoes it too.
        let missing = send_with_id("/api/monitors/999999", "client-chose-this".into()).await;
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
        assert_eq!(request_id_of(&missing.headers), "client-chose-this");
        let missing = send_with_id("/api/nothing/here", "and-this".into()).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_eq!(request_id_of(&missing.headers), "and-this");

        for unusable in ["a".repeat(65), "has space".into(), "semi;colon".into()] {
            let replaced = send_with_id("/api/health", unusable.clone()).await;
            let id = request_id_of(&replaced.headers);
            assert_ne!(id, unusable);
            assert!(is_sane_request_id(&id), "{id}");
        }
        Ok(())
    })
    .await;
}
