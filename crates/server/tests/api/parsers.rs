//! What user input can do to the parsers and the stored rows: JSONPath queries kept exactly as
//! written through every route, a row the store cannot read listed as broken and still
//! replaceable or deletable, and input nested deep enough to overflow a recursive parser
//! refused with the limit. These run on ordinary test threads: before the limits, the deep
//! inputs aborted the whole process.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;
use watchtower_core::{Plan, TeamId};
use watchtower_store::Backend;

async fn owner(app: &TestApp) -> (Client, TeamId) {
    let owner = app.user("owner@example.com", false).await;
    let team = app.team("Ops", Plan::Unlimited, owner).await;
    (app.login("owner@example.com").await.in_team(team), team)
}

async fn yaml(
    client: &Client,
    method: reqwest::Method,
    path: &str,
    body: &str,
) -> (StatusCode, String) {
    let response = client
        .http
        .request(method, client.app.url(path))
        .headers(client.headers.clone())
        .body(body.to_owned())
        .send()
        .await
        .expect("request");
    (response.status(), response.text().await.unwrap_or_default())
}

/// Paths whose parsed form printed differently; main stored that form and could not read it back.
const PATHS: [&str; 7] = [
    "$..status",
    "$..*",
    "$..a.b",
    "$.a..b",
    r#"$["it's"]"#,
    r#"$[?@.a=="it's"]"#,
    r#"$["\u0000"]"#,
];

#[tokio::test]
async fn json_paths_are_kept_as_written_through_every_route() {
    each_backend(Options::default(), |app| async move {
        let (owner, _) = owner(&app).await;
        for (index, path) in PATHS.into_iter().enumerate() {
            let mut body = http_monitor(&format!("path {index}"));
            body["key"] = json!(format!("path-{index}"));
            body["json_path"] = json!({"path": path});
            let created = owner.post("/api/monitors", body.clone()).await;
            assert_eq!(
                created.status,
                StatusCode::CREATED,
                "{path}: {:?}",
                created.body
            );
            assert_eq!(created.body["json_path"]["path"], path);
            let id = created.body["id"].as_i64().unwrap();

            let read = owner.get(&format!("/api/monitors/{id}")).await;
            assert_eq!(read.status, StatusCode::OK, "{path}: {:?}", read.body);
            assert_eq!(read.body["json_path"]["path"], path);

            body["name"] = json!(format!("path {index} renamed"));
            let replaced = owner.put(&format!("/api/monitors/{id}"), body).await;
            assert_eq!(
                replaced.status,
                StatusCode::OK,
                "{path}: {:?}",
                replaced.body
            );
            assert_eq!(replaced.body["json_path"]["path"], path);
        }
        let list = owner.get("/api/monitors").await;
        assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
        let listed: Vec<&str> = list.body["monitors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["json_path"]["path"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(listed, PATHS);

        let (status, exported) = yaml(&owner, reqwest::Method::GET, "/api/monitors/yaml", "").await;
        assert_eq!(status, StatusCode::OK, "{exported}");
        let (status, applied) = yaml(
            &owner,
            reqwest::Method::PUT,
            "/api/monitors/yaml",
            &exported,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{applied}");
        let applied: Value = serde_json::from_str(&applied)?;
        assert_eq!(
            applied["unchanged"].as_array().map(Vec::len),
            Some(PATHS.len()),
            "{applied}"
        );

        for monitor in list.body["monitors"].as_array().unwrap() {
            let id = monitor["id"].as_i64().unwrap();
            assert_eq!(
                owner.delete(&format!("/api/monitors/{id}")).await.status,
                StatusCode::NO_CONTENT
            );
        }
        Ok(())
    })
    .await;
}

/// Rewrites a monitor's stored spec so it cannot be decoded: the `$...status` main wrote.
async fn break_spec(app: &TestApp, id: i64) -> anyhow::Result<()> {
    let rule = json!({"path": "$...status", "op": "exists"}).to_string();
    match app.store.backend() {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&app.database_url).await?;
            sqlx::query(
                "UPDATE monitors SET spec = json_set(spec, '$.json_path', json($1)) WHERE id = $2",
            )
            .bind(rule)
            .bind(id)
            .execute(&mut conn)
            .await?;
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&app.database_url).await?;
            sqlx::query("UPDATE monitors SET spec = jsonb_set(spec, '{json_path}', $1::jsonb) WHERE id = $2")
                .bind(rule)
                .bind(id)
                .execute(&mut conn)
                .await?;
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_monitor_that_cannot_be_read_is_listed_as_broken_and_can_be_replaced_or_deleted() {
    each_backend(Options::default(), |app| async move {
        let (owner, _) = owner(&app).await;
        let good = owner.post("/api/monitors", http_monitor("good")).await.body["id"]
            .as_i64()
            .unwrap();
        let mut bad_body = http_monitor("bad");
        bad_body["key"] = json!("bad");
        let bad = owner.post("/api/monitors", bad_body.clone()).await.body["id"]
            .as_i64()
            .unwrap();
        break_spec(&app, bad).await?;

        let list = owner.get("/api/monitors").await;
        assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
        let monitors = list.body["monitors"].as_array().unwrap();
        assert_eq!(monitors.len(), 2);
        assert_eq!(monitors[0]["id"], good);
        assert_eq!(
            (
                &monitors[1]["id"],
                &monitors[1]["broken"],
                &monitors[1]["name"],
                &monitors[1]["key"]
            ),
            (&json!(bad), &json!(true), &json!("bad"), &json!("bad"))
        );
        assert!(
            monitors[1]["error"].as_str().unwrap().contains("JSONPath"),
            "{}",
            monitors[1]
        );
        let with_uptime = owner.get("/api/monitors?uptime=24h").await;
        assert_eq!(with_uptime.status, StatusCode::OK, "{:?}", with_uptime.body);

        let read = owner.get(&format!("/api/monitors/{bad}")).await;
        assert_eq!(read.status, StatusCode::OK, "{:?}", read.body);
        assert_eq!(read.body["broken"], true);
        let paused = owner
            .post(&format!("/api/monitors/{bad}/pause"), json!({}))
            .await;
        assert_eq!(
            (paused.status, paused.code()),
            (StatusCode::CONFLICT, "monitor_broken")
        );
        assert!(
            paused.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("replace it with PUT"),
            "{:?}",
            paused.body
        );

        let (status, exported) = yaml(&owner, reqwest::Method::GET, "/api/monitors/yaml", "").await;
        assert_eq!(status, StatusCode::OK, "{exported}");
        assert!(
            exported.starts_with(&format!("# Not exported: monitor {bad} (bad, key bad)")),
            "{exported}"
        );

        let replaced = owner.put(&format!("/api/monitors/{bad}"), bad_body).await;
        assert_eq!(replaced.status, StatusCode::OK, "{:?}", replaced.body);
        let read = owner.get(&format!("/api/monitors/{bad}")).await;
        assert_eq!(
            (read.status, &read.body["name"]),
            (StatusCode::OK, &json!("bad"))
        );
        assert!(read.body.get("broken").is_none(), "{:?}", read.body);

        break_spec(&app, bad).await?;
        assert_eq!(
            owner.delete(&format!("/api/monitors/{bad}")).await.status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            owner.get(&format!("/api/monitors/{bad}")).await.status,
            StatusCode::NOT_FOUND
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn deep_input_is_refused_with_the_limit_instead_of_overflowing_the_stack() {
    each_backend(Options::default(), |app| async move {
        let (owner, _) = owner(&app).await;
        // 5,000 levels of block nesting in about 10 KB.
        let file = format!("x:\n{}a\n", "- ".repeat(5000));
        let (status, answer) = yaml(
            &owner,
            reqwest::Method::PUT,
            "/api/monitors/yaml?dry_run=true",
            &file,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        let answer: Value = serde_json::from_str(&answer)?;
        let detail = &answer["error"]["details"][0];
        assert_eq!(detail["field"], "line 2:63", "{answer}");
        assert!(
            detail["problem"]
                .as_str()
                .unwrap()
                .contains("the limit is 32"),
            "{answer}"
        );

        for (depth, limit) in [(1000, "the limit is 1024"), (500, "more than 32 deep")] {
            let mut body = http_monitor("deep");
            let path = format!("$[?{}@.a{}]", "(".repeat(depth), ")".repeat(depth));
            body["json_path"] = json!({"path": path});
            let refused = owner.post("/api/monitors", body).await;
            assert_eq!(
                refused.status,
                StatusCode::BAD_REQUEST,
                "{:?}",
                refused.body
            );
            let detail = &refused.body["error"]["details"][0];
            assert_eq!(detail["field"], "json_path.path");
            assert!(
                detail["problem"].as_str().unwrap().contains(limit),
                "{detail}"
            );
        }

        // serde_json stops at 128 levels, so a deep JSON body is a 400, not a crash.
        let deep_json = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        let response = owner
            .http
            .post(app.url("/api/monitors"))
            .headers(owner.headers.clone())
            .header("content-type", "application/json")
            .body(deep_json)
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
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
