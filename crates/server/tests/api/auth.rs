//! Sessions, CSRF, logout, password changes, failed-login throttling and security events.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_session_signs_in_needs_csrf_for_changes_and_ends_at_logout() {
    each_backend(Options::default(), |app| async move {
        app.user("ana@example.com", false).await;
        let ana = app.login("ana@example.com").await;
        let me = ana.get("/api/auth/me").await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.body["user"]["email"], "ana@example.com");
        assert_eq!(me.body["teams"].as_array().unwrap().len(), 1);

        // The cookie alone does not change anything: the CSRF token must come with it.
        let mut forged = ana.clone();
        forged.headers.remove("x-csrf-token");
        let refused = forged.post("/api/monitors", http_monitor("web")).await;
        assert_eq!(
            (refused.status, refused.code()),
            (StatusCode::FORBIDDEN, "csrf")
        );
        forged
            .headers
            .insert("x-csrf-token", "0".repeat(64).parse().unwrap());
        assert_eq!(
            forged
                .post("/api/monitors", http_monitor("web"))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        // A cross-site request is refused even with the token.
        let mut cross = ana.clone();
        cross
            .headers
            .insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert_eq!(
            cross
                .post("/api/monitors", http_monitor("web"))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        // Reads need no token.
        assert_eq!(forged.get("/api/monitors").await.status, StatusCode::OK);
        assert_eq!(
            ana.post("/api/monitors", http_monitor("web")).await.status,
            StatusCode::CREATED
        );

        assert_eq!(
            ana.post("/api/auth/logout", json!({})).await.status,
            StatusCode::NO_CONTENT
        );
        let after = ana.get("/api/auth/me").await;
        assert_eq!(
            (after.status, after.code()),
            (StatusCode::UNAUTHORIZED, "unauthenticated")
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn the_session_cookie_is_http_only_same_site_and_never_stored_in_clear() {
    each_backend(Options::default(), |app| async move {
        app.user("ana@example.com", false).await;
        let response = reqwest::Client::new()
            .post(app.url("/api/auth/login"))
            .json(&json!({"email": "ANA@example.com", "password": PASSWORD}))
            .send()
            .await?;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "email is case-insensitive"
        );
        let cookie = response.headers()["set-cookie"].to_str()?.to_owned();
        assert!(cookie.starts_with("watchtower_session=wts_"), "{cookie}");
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
            assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
        }
        // Plain HTTP (no https public URL): no Secure, so browsers keep it on localhost installs.
        assert!(!cookie.contains("Secure"));
        let token = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
        let hash = watchtower_server::auth::tokens::token_hash(token);
        let now = watchtower_core::Timestamp::now();
        assert!(
            app.store.find_session(token, now).await?.is_none(),
            "the token itself is not a key"
        );
        assert!(app.store.find_session(&hash, now).await?.is_some());
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_only() {
    each_backend(Options::default(), |app| async move {
        app.user("ana@example.com", false).await;
        let laptop = app.login("ana@example.com").await;
        let phone = app.login("ana@example.com").await;
        let weak = laptop
            .post("/api/auth/password", json!({"current_password": "wrong", "new_password": "short"}))
            .await;
        assert_eq!(weak.status, StatusCode::BAD_REQUEST);
        let fields: Vec<&str> = weak.body["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&"current_password") && fields.contains(&"new_password"), "{fields:?}");

        let changed = laptop
            .post(
                "/api/auth/password",
                json!({"current_password": PASSWORD, "new_password": "a much longer passphrase 42"}),
            )
            .await;
        assert_eq!(changed.status, StatusCode::NO_CONTENT);
        assert_eq!(laptop.get("/api/auth/me").await.status, StatusCode::OK);
        assert_eq!(phone.get("/api/auth/me").await.status, StatusCode::UNAUTHORIZED);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account_and_per_address_and_recorded() {
    each_backend(Options::default(), |app| async move {
        app.user("ana@example.com", false).await;
        app.user("root@example.com", true).await;
        let client = app.anonymous();
        for attempt in 1..=10 {
            let wrong = client
                .post(
                    "/api/auth/login",
                    json!({"email": "ana@example.com", "password": format!("guess {attempt}")}),
                )
                .await;
            assert_eq!(
                (wrong.status, wrong.code()),
                (StatusCode::UNAUTHORIZED, "invalid_credentials")
            );
        }
        // The 11th attempt within five minutes is refused even with the right password.
        let throttled = client
            .post(
                "/api/auth/login",
                json!({"email": "ana@example.com", "password": PASSWORD}),
            )
            .await;
        assert_eq!(
            (throttled.status, throttled.code()),
            (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
        );
        let retry_after: u64 = throttled.headers["retry-after"].to_str()?.parse()?;
        assert!(retry_after >= 1);
        // The address is throttled too: another account from it is refused.
        let other = client
            .post(
                "/api/auth/login",
                json!({"email": "root@example.com", "password": PASSWORD}),
            )
            .await;
        assert_eq!(other.status, StatusCode::TOO_MANY_REQUESTS);

        // An unknown email fails the same way as a wrong password (no account enumeration).
        let events = app.store.security_events(None, 100).await?;
        let failed = events.iter().filter(|e| e.kind == "login_failed").count();
        let throttled = events
            .iter()
            .filter(|e| e.kind == "login_throttled")
            .count();
        assert_eq!((failed, throttled), (10, 2));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn security_events_are_for_instance_administrators() {
    each_backend(Options::default(), |app| async move {
        app.user("root@example.com", true).await;
        app.user("ana@example.com", false).await;
        let wrong = app
            .anonymous()
            .post(
                "/api/auth/login",
                json!({"email": "nobody@example.com", "password": "x"}),
            )
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        let root = app.login("root@example.com").await;
        let events = root.get("/api/security-events").await;
        assert_eq!(events.status, StatusCode::OK);
        let kinds: Vec<&str> = events.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert!(
            kinds.contains(&"login_failed") && kinds.contains(&"login_succeeded"),
            "{kinds:?}"
        );
        let ana = app.login("ana@example.com").await;
        assert_eq!(
            ana.get("/api/security-events").await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.anonymous().get("/api/security-events").await.status,
            StatusCode::UNAUTHORIZED
        );
        Ok(())
    })
    .await;
}

/// Someone holding a session but not the password cannot guess it through the password change:
/// each wrong `current_password` is a `password_change_failed` security event, and they count
/// with failed logins against the same limits (10 within 5 minutes), for the account and the
/// address.
#[tokio::test]
async fn wrong_current_passwords_are_recorded_and_throttled_like_failed_logins() {
    each_backend(Options::default(), |app| async move {
        app.user("ana@example.com", false).await;
        let ana = app.login("ana@example.com").await;
        let change = |current: String| {
            let ana = ana.clone();
            async move {
                ana.post(
                    "/api/auth/password",
                    json!({"current_password": current, "new_password": "a brand new passphrase"}),
                )
                .await
            }
        };
        for attempt in 1..=10 {
            let wrong = change(format!("guess {attempt}")).await;
            assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{:?}", wrong.body);
            assert_eq!(
                wrong.body["error"]["details"][0]["field"],
                "current_password"
            );
        }
        let throttled = change(PASSWORD.to_owned()).await;
        assert_eq!(
            (throttled.status, throttled.code()),
            (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            "the right password is refused once the limit is reached"
        );
        // Signing in as Ana is throttled as well: the guesses count as failed logins.
        let login = app
            .anonymous()
            .post(
                "/api/auth/login",
                json!({"email": "ana@example.com", "password": PASSWORD}),
            )
            .await;
        assert_eq!(login.status, StatusCode::TOO_MANY_REQUESTS);
        let events = app.store.security_events(None, 100).await?;
        let failed: Vec<_> = events
            .iter()
            .filter(|e| e.kind == "password_change_failed")
            .collect();
        assert_eq!(failed.len(), 10);
        assert_eq!(failed[0].email_key.as_deref(), Some("ana@example.com"));
        assert!(failed[0].user_id.is_some());
        Ok(())
    })
    .await;
}
