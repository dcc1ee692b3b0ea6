//! Monitors through the API: every bad field at once, paging and filters, isolation, results,
//! uptime, YAML round trips, the SSRF rule in multi-tenant mode, and the error shapes of 404,
//! 413 and 415 with rate-limit headers on every answer.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use watchtower_core::{Plan, TeamId};
use watchtower_testkit::TargetServer;

async fn owner(app: &TestApp) -> (Client, TeamId) {
    let owner = app.user("owner@example.com", false).await;
    let team = app.team("Ops", Plan::Unlimited, owner).await;
    (app.login("owner@example.com").await.in_team(team), team)
}

/// Waits (bounded) until the monitor has a last result, and returns the monitor.
async fn first_result(client: &Client, id: i64) -> Value {
    for _ in 0..200 {
        let monitor = client.get(&format!("/api/monitors/{id}")).await.body;
        if !monitor["status"]["last_result"].is_null() {
            return monitor;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("monitor {id} has no result after 10 s");
}

#[tokio::test]
async fn a_bad_monitor_lists_every_problem_at_once() {
    each_backend(Options::default(), |app| async move {
        let (owner, _) = owner(&app).await;
        let bad = owner
            .post(
                "/api/monitors",
                json!({"kind": "http", "url": "not a url", "interval": "soon", "colour": "red"}),
            )
            .await;
        assert_eq!(
            (bad.status, bad.code()),
            (StatusCode::BAD_REQUEST, "invalid_request")
        );
        let fields: Vec<&str> = bad.body["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        for field in ["name", "url", "interval", "colour"] {
            assert!(fields.contains(&field), "{field} missing from {fields:?}");
        }
        assert!(
            owner.get("/api/monitors").await.body["monitors"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn lists_page_by_cursor_filter_and_stay_inside_the_team() {
    each_backend(Options::default(), |app| async move {
        let (owner, _) = owner(&app).await;
        for i in 0..7 {
            let mut body = http_monitor(&format!("site {i}"));
            body["tags"] = json!([if i % 2 == 0 { "even" } else { "odd" }]);
            assert_eq!(
                owner.post("/api/monitors", body).await.status,
                StatusCode::CREATED
            );
        }
        let mut seen = Vec::new();
        let mut path = "/api/monitors?limit=3".to_owned();
        loop {
            let page = owner.get(&path).await.body;
            seen.extend(
                page["monitors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["name"].clone()),
            );
            match page["next_after"].as_i64() {
                Some(after) => path = format!("/api/monitors?limit=3&after={after}"),
                None => break,
            }
        }
        assert_eq!(seen.len(), 7);
        let even = owner
            .get("/api/monitors?tag=even&search=SITE&state=pending")
            .await
            .body;
        assert_eq!(even["monitors"].as_array().unwrap().len(), 4);
        let bad = owner
            .get("/api/monitors?state=sleepy&kind=carrier-pigeon&limit=0")
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad.body["error"]["details"].as_array().unwrap().len(), 3);

        // Someone in another team sees none of them, and their ids answer 404.
        app.user("eve@example.com", false).await;
        let eve = app.login("eve@example.com").await;
        assert!(
            eve.get("/api/monitors").await.body["monitors"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        let id = owner.get("/api/monitors?limit=1").await.body["monitors"][0]["id"]
            .as_i64()
            .unwrap();
        for method in [Method::GET, Method::PUT, Method::DELETE] {
            let body = (method == Method::PUT).then(|| http_monitor("mine now"));
            let answer = eve
                .send(method.clone(), &format!("/api/monitors/{id}"), body)
                .await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{method}");
        }
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn check_now_results_and_uptime_come_back_through_the_api() {
    each_backend(Options::default(), |app| async move {
        let (owner, _) = owner(&app).await;
        let target = TargetServer::start(0).await?;
        let created = owner
            .post(
                "/api/monitors",
                json!({"name": "local", "kind": "http", "url": target.url(), "interval": "1h"}),
            )
            .await;
        let id = created.body["id"].as_i64().unwrap();
        assert_eq!(
            owner
                .post(&format!("/api/monitors/{id}/check"), json!({}))
                .await
                .status,
            StatusCode::ACCEPTED
        );
        let monitor = first_result(&owner, id).await;
        assert_eq!(monitor["status"]["last_result"]["status"], "up");
        let results = owner.get(&format!("/api/monitors/{id}/results")).await;
        assert_eq!(results.status, StatusCode::OK);
        assert!(!results.body["results"].as_array().unwrap().is_empty());
        let uptime = owner
            .get(&format!("/api/monitors/{id}/uptime?period=7d"))
            .await;
        assert_eq!(uptime.body["uptime"], 1.0);
        let bad = owner
            .get(&format!("/api/monitors/{id}/uptime?period=1y"))
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        // The list carries the same uptime on request: a dashboard page in one call.
        let listed = owner.get("/api/monitors?uptime=7d").await;
        assert_eq!(listed.status, StatusCode::OK);
        let entry = &listed.body["monitors"][0];
        assert_eq!(entry["id"], id);
        for field in ["checks", "up", "degraded", "uptime", "latency_avg_ms"] {
            assert_eq!(entry["uptime"][field], uptime.body[field], "{field}");
        }
        assert!(entry["uptime"]["from"].as_i64() < entry["uptime"]["to"].as_i64());
        let plain = owner.get("/api/monitors").await;
        assert!(plain.body["monitors"][0].get("uptime").is_none());
        let bad = owner.get("/api/monitors?uptime=1y").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad.body["error"]["details"][0]["field"], "uptime");
        target.stop().await;
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn multi_tenant_checks_may_not_reach_a_name_that_resolves_to_loopback() {
    let target = TargetServer::start(0).await.expect("target");
    let port = target
        .url()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    for (multi_tenant, expected) in [(true, "down"), (false, "up")] {
        let options = Options {
            multi_tenant,
            ..Options::default()
        };
        let port = port.clone();
        each_backend(options, move |app| {
            let port = port.clone();
            async move {
                let (owner, _) = owner(&app).await;
                let url = format!("http://localhost:{port}/");
                let created = owner
                    .post(
                        "/api/monitors",
                        json!({"name": "internal", "kind": "http", "url": url, "interval": "1h"}),
                    )
                    .await;
                let id = created.body["id"].as_i64().unwrap();
                owner
                    .post(&format!("/api/monitors/{id}/check"), json!({}))
                    .await;
                let result = first_result(&owner, id).await["status"]["last_result"].clone();
                assert_eq!(
                    result["status"], expected,
                    "multi-tenant {multi_tenant}: {result}"
                );
                if multi_tenant {
                    assert_eq!(result["error_class"], "not_permitted");
                }
                Ok(())
            }
        })
        .await;
    }
    target.stop().await;
}

#[tokio::test]
async fn yaml_export_applies_back_unchanged() {
    each_backend(Options::default(), |app| async move {
        let (owner, _) = owner(&app).await;
        let file = "monitors:\n  - {key: api, name: API, kind: http, url: 'http://127.0.0.1:9/', interval: 1h, tags: [prod]}\n  - {key: beat, name: Backup, kind: push, period: 1d, grace: 1h}\n";
        let put = |body: String| {
            owner
                .http
                .put(app.url("/api/monitors/yaml"))
                .headers(owner.headers.clone())
                .body(body)
                .send()
        };
        let first: Value = put(file.into()).await?.json().await?;
        assert_eq!(first["created"], json!(["api", "beat"]));
        let exported = owner
            .http
            .get(app.url("/api/monitors/yaml"))
            .headers(owner.headers.clone())
            .send()
            .await?
            .text()
            .await?;
        let again: Value = put(exported).await?.json().await?;
        assert_eq!(again["unchanged"], json!(["api", "beat"]), "{again}");
        let broken = put("monitors:\n  - {key: x, kind: http}\n".into()).await?;
        assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
        let body: Value = broken.json().await?;
        assert!(body["error"]["details"][0]["field"].as_str().unwrap().contains("line 2"), "{body}");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn errors_share_one_shape_and_every_api_answer_has_rate_limit_headers() {
    each_backend(Options::default(), |app| async move {
        let (owner, _) = owner(&app).await;
        // `curl -I /api/monitors` from the operations guide: 401 without credentials, with headers.
        let head = app
            .anonymous()
            .send(Method::HEAD, "/api/monitors", None)
            .await;
        assert_eq!(head.status, StatusCode::UNAUTHORIZED);
        for answer in [
            head,
            owner.get("/api/monitors").await,
            owner.get("/api/no-such-thing").await,
        ] {
            for header in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
                assert!(
                    answer.headers.contains_key(header),
                    "{header} missing ({})",
                    answer.status
                );
            }
        }
        let missing = owner.get("/api/no-such-thing").await;
        assert_eq!(
            (missing.status, missing.code()),
            (StatusCode::NOT_FOUND, "not_found")
        );
        assert!(missing.body["error"]["details"].is_array());

        let not_json = owner
            .http
            .post(app.url("/api/monitors"))
            .headers(owner.headers.clone())
            .body("name=web")
            .send()
            .await?;
        assert_eq!(not_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let body: Value = not_json.json().await?;
        assert_eq!(body["error"]["code"], "unsupported_media_type");

        let huge = json!({"name": "x".repeat(2 << 20), "kind": "push", "period": "1h"});
        let too_large = owner.post("/api/monitors", huge).await;
        assert_eq!(
            (too_large.status, too_large.code()),
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_caller_over_the_limit_gets_429_with_retry_after() {
    let options = Options {
        rate_limits: watchtower_server::middleware::rate_limit::RateLimitConfig {
            per_ip: 3,
            ..Options::default().rate_limits
        },
        ..Options::default()
    };
    each_backend(options, |app| async move {
        let anonymous = app.anonymous();
        for _ in 0..3 {
            assert_eq!(anonymous.get("/api/plans").await.status, StatusCode::OK);
        }
        let refused = anonymous.get("/api/plans").await;
        assert_eq!(
            (refused.status, refused.code()),
            (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
        );
        assert!(refused.headers["retry-after"].to_str()?.parse::<u64>()? >= 1);
        assert_eq!(refused.headers["ratelimit-remaining"], "0");
        Ok(())
    })
    .await;
}

/// A made-up `Authorization: Bearer` or session cookie does not move a client out of the
/// anonymous allowance; a real key, found in the store, has its own bucket.
#[tokio::test]
async fn made_up_credentials_get_the_anonymous_allowance_and_real_keys_their_own() {
    let options = Options {
        rate_limits: watchtower_server::middleware::rate_limit::RateLimitConfig {
            per_ip: 3,
            ..Options::default().rate_limits
        },
        ..Options::default()
    };
    each_backend(options, |app| async move {
        // Signing in is anonymous: one of the three.
        let (owner, team) = owner(&app).await;
        for n in 0..2 {
            let forged = app.with_key(&format!("wtk_made-up-{n}"));
            assert_eq!(forged.get("/api/plans").await.status, StatusCode::OK);
        }
        let forged = app.with_key("wtk_made-up-2").get("/api/plans").await;
        assert_eq!(
            forged.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{:?}",
            forged.body
        );
        let mut cookie = app.anonymous();
        cookie.headers.insert(
            "cookie",
            reqwest::header::HeaderValue::from_static("watchtower_session=made-up"),
        );
        assert_eq!(
            cookie.get("/api/plans").await.status,
            StatusCode::TOO_MANY_REQUESTS
        );
        // The owner's session and a key of the team are real: their own buckets.
        assert_eq!(owner.get("/api/plans").await.status, StatusCode::OK);
        let created = owner
            .post(
                &format!("/api/teams/{team}/api-keys"),
                json!({"name": "ci", "scope": "read_only"}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        let key = app.with_key(created.body["key"].as_str().unwrap());
        for _ in 0..5 {
            assert_eq!(key.get("/api/plans").await.status, StatusCode::OK);
        }
        Ok(())
    })
    .await;
}

/// A second monitor with a key the team already uses is a 409 that names the field in the one
/// error shape, with no database message (`UNIQUE constraint failed: ...`) in it.
#[tokio::test]
async fn a_taken_key_is_a_conflict_on_the_key_field_without_database_words() {
    each_backend(Options::default(), |app| async move {
        let (owner, _) = owner(&app).await;
        let mut body = http_monitor("first");
        body["key"] = json!("shop");
        assert_eq!(
            owner.post("/api/monitors", body.clone()).await.status,
            StatusCode::CREATED
        );
        body["name"] = json!("second");
        let clash = owner.post("/api/monitors", body).await;
        assert_eq!(clash.status, StatusCode::CONFLICT, "{:?}", clash.body);
        assert_eq!(clash.code(), "conflict");
        assert_eq!(
            clash.body["error"]["details"][0]["field"], "key",
            "{}",
            clash.body
        );
        let text = clash.body.to_string();
        for raw in [
            "UNIQUE",
            "constraint",
            "monitors.",
            "team_id",
            "duplicate key",
        ] {
            assert!(!text.contains(raw), "'{raw}' in {text}");
        }
        Ok(())
    })
    .await;
}
