//! Monitor credentials through the API: never in an answer or an export for any caller (the
//! push token only for those who may edit the monitor), kept when an update or a re-applied
//! export sends them back redacted, and never re-sent to a URL whose origin changed.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use watchtower_core::{MonitorId, MonitorKind, MonitorSpec, Plan, Role, TeamId};

const URL_PASSWORD: &str = "url-s3cret-1";
const HEADER_VALUE: &str = "header-s3cret-2";
const BEARER: &str = "bearer-s3cret-3";
const BASIC_PASSWORD: &str = "basic-s3cret-4";
const PUSH_TOKEN: &str = "push-s3cret-token-5555";
const CREDENTIALS: [&str; 4] = [URL_PASSWORD, HEADER_VALUE, BEARER, BASIC_PASSWORD];

/// A monitors file holding every kind of secret.
fn secret_file() -> String {
    format!(
        "monitors:\n\
         \x20 - {{key: api, name: API, kind: http, interval: 1h, url: 'http://probe:{URL_PASSWORD}@127.0.0.1:9/',\n\
         \x20     headers: {{X-Api-Key: {HEADER_VALUE}}}, auth: {{bearer: {BEARER}}}}}\n\
         \x20 - {{key: admin, name: Admin, kind: http, interval: 1h, url: 'http://127.0.0.1:9/admin',\n\
         \x20     auth: {{basic: {{username: ann, password: {BASIC_PASSWORD}}}}}}}\n\
         \x20 - {{key: beat, name: Beat, kind: push, period: 1h, token: {PUSH_TOKEN}}}\n"
    )
}

/// An owner (session) in a new team, with the secret monitors applied.
async fn team_with_secrets(app: &TestApp) -> (Client, TeamId) {
    let owner = app.user("owner@example.com", false).await;
    let team = app.team("Ops", Plan::Unlimited, owner).await;
    let client = app.login("owner@example.com").await.in_team(team);
    let applied = put_yaml(&client, secret_file(), false).await;
    assert_eq!(applied.0, StatusCode::OK, "{}", applied.1);
    (client, team)
}

async fn put_yaml(client: &Client, body: String, dry_run: bool) -> (StatusCode, String) {
    let response = client
        .http
        .put(
            client
                .app
                .url(&format!("/api/monitors/yaml?dry_run={dry_run}")),
        )
        .headers(client.headers.clone())
        .body(body)
        .send()
        .await
        .expect("request");
    (response.status(), response.text().await.expect("body"))
}

async fn get_text(client: &Client, path: &str) -> (StatusCode, String) {
    let response = client
        .http
        .get(client.app.url(path))
        .headers(client.headers.clone())
        .send()
        .await
        .expect("request");
    (response.status(), response.text().await.expect("body"))
}

fn all() -> watchtower_store::PageRequest {
    watchtower_store::PageRequest {
        limit: 100,
        ..Default::default()
    }
}

async fn stored(app: &TestApp, team: TeamId, key: &str) -> MonitorSpec {
    let listed = app.store.list_monitors(team, &all()).await.expect("list");
    listed
        .into_iter()
        .map(|l| l.monitor.spec)
        .find(|spec| spec.key.as_ref().is_some_and(|k| k.as_str() == key))
        .expect("stored monitor")
}

async fn id_of(app: &TestApp, team: TeamId, key: &str) -> MonitorId {
    let listed = app.store.list_monitors(team, &all()).await.expect("list");
    listed
        .into_iter()
        .find(|l| {
            l.monitor
                .spec
                .key
                .as_ref()
                .is_some_and(|k| k.as_str() == key)
        })
        .expect("stored monitor")
        .monitor
        .id
}

/// Every answer a caller can read about the team's monitors, as one text.
async fn everything_readable(client: &Client, app: &TestApp, team: TeamId) -> String {
    let mut seen = String::new();
    for path in [
        "/api/monitors",
        "/api/monitors?search=s3cret",
        "/api/monitors/yaml",
        "/api/monitors/yaml?secrets=env",
        "/api/incidents",
    ] {
        let (status, text) = get_text(client, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {text}");
        seen.push_str(&text);
    }
    for key in ["api", "admin", "beat"] {
        let id = id_of(app, team, key).await;
        let (status, text) = get_text(client, &format!("/api/monitors/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        seen.push_str(&text);
    }
    seen
}

#[tokio::test]
async fn no_caller_reads_monitor_credentials() {
    each_backend(Options::default(), |app| async move {
        let (owner, team) = team_with_secrets(&app).await;
        for (email, role) in [
            ("viewer@example.com", Role::Viewer),
            ("member@example.com", Role::Member),
        ] {
            let user = app.user(email, false).await;
            app.join(team, user, role).await;
        }
        let key = owner
            .post(
                &format!("/api/teams/{team}/api-keys"),
                json!({"name": "dashboard", "scope": "read_only"}),
            )
            .await;
        assert_eq!(key.status, StatusCode::CREATED, "{:?}", key.body);
        let read_only = app
            .with_key(key.body["key"].as_str().unwrap())
            .in_team(team);
        let viewer = app.login("viewer@example.com").await.in_team(team);
        let member = app.login("member@example.com").await.in_team(team);

        for (who, client, sees_push_token) in [
            ("viewer", &viewer, false),
            ("read-only key", &read_only, false),
            ("member", &member, true),
            ("owner", &owner, true),
        ] {
            let seen = everything_readable(client, &app, team).await;
            for secret in CREDENTIALS {
                assert!(!seen.contains(secret), "{who} read {secret}");
            }
            assert_eq!(
                seen.contains(PUSH_TOKEN),
                sees_push_token,
                "the push token for the {who}"
            );
            assert!(seen.contains("********"), "{who}: nothing redacted");
        }
        // Exports never carry the push token, even for its editors.
        let (_, export) = get_text(&owner, "/api/monitors/yaml").await;
        assert!(!export.contains(PUSH_TOKEN), "{export}");
        let (_, as_env) = get_text(&owner, "/api/monitors/yaml?secrets=env").await;
        for reference in [
            "${WATCHTOWER_SECRET_API_URL_PASSWORD}",
            "${WATCHTOWER_SECRET_API_HEADER_X_API_KEY}",
            "${WATCHTOWER_SECRET_API_BEARER}",
            "${WATCHTOWER_SECRET_ADMIN_BASIC_PASSWORD}",
            "${WATCHTOWER_SECRET_BEAT_TOKEN}",
        ] {
            assert!(as_env.contains(reference), "{reference} missing: {as_env}");
        }
        // A dry run of a file with new secrets answers none of them.
        let (status, dry) = put_yaml(&member, secret_file(), true).await;
        assert_eq!(status, StatusCode::OK, "{dry}");
        for secret in CREDENTIALS.iter().chain([&PUSH_TOKEN]) {
            assert!(!dry.contains(secret), "the dry run answered {secret}");
        }
        let (status, _) = get_text(&owner, "/api/monitors/yaml?secrets=clear").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn an_update_sent_back_redacted_keeps_the_stored_secrets() {
    each_backend(Options::default(), |app| async move {
        let (owner, team) = team_with_secrets(&app).await;
        let before = stored(&app, team, "api").await;
        let id = id_of(&app, team, "api").await;
        // What a client reads, changed and sent back as it is.
        let mut shown = owner.get(&format!("/api/monitors/{id}")).await.body;
        for field in ["id", "created_at", "updated_at", "status"] {
            shown.as_object_mut().unwrap().remove(field);
        }
        shown["name"] = json!("API (renamed)");
        let updated = owner
            .put(&format!("/api/monitors/{id}"), shown.clone())
            .await;
        assert_eq!(updated.status, StatusCode::OK, "{:?}", updated.body);
        let after = stored(&app, team, "api").await;
        assert_eq!(after.name, "API (renamed)");
        assert_eq!(after.kind, before.kind, "every secret kept");

        // Moved to another host, the stored secrets are not sent along.
        let mut moved = shown.clone();
        moved["url"] = json!("http://probe:********@127.0.0.2:9/");
        let refused = owner.put(&format!("/api/monitors/{id}"), moved).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{:?}",
            refused.body
        );
        let fields: Vec<&str> = refused.body["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["url", "headers.X-Api-Key", "auth.bearer"]);
        assert_eq!(stored(&app, team, "api").await.kind, before.kind);

        // A new monitor has nothing stored to keep.
        let mut copy = shown.clone();
        copy.as_object_mut().unwrap().remove("key");
        let created = owner.post("/api/monitors", copy).await;
        assert_eq!(
            created.status,
            StatusCode::BAD_REQUEST,
            "{:?}",
            created.body
        );
        assert!(
            created.body.to_string().contains("no secret is stored"),
            "{:?}",
            created.body
        );

        // The push token sent back redacted is kept, so the job's URL keeps working.
        let beat = id_of(&app, team, "beat").await;
        let mut push = owner.get(&format!("/api/monitors/{beat}")).await.body;
        for field in ["id", "created_at", "updated_at", "status"] {
            push.as_object_mut().unwrap().remove(field);
        }
        push["token"] = json!("********");
        let kept = owner.put(&format!("/api/monitors/{beat}"), push).await;
        assert_eq!(kept.status, StatusCode::OK, "{:?}", kept.body);
        let MonitorKind::Push(settings) = stored(&app, team, "beat").await.kind else {
            panic!("not a push monitor")
        };
        assert_eq!(settings.token.as_deref(), Some(PUSH_TOKEN));
        let ping = app
            .anonymous()
            .get(&format!("/api/push/{PUSH_TOKEN}"))
            .await;
        assert_eq!(ping.status, StatusCode::OK);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn an_export_applied_again_keeps_every_secret() {
    each_backend(Options::default(), |app| async move {
        let (owner, team) = team_with_secrets(&app).await;
        let mut before = Vec::new();
        for key in ["api", "admin", "beat"] {
            before.push(stored(&app, team, key).await);
        }
        for query in ["", "?secrets=env"] {
            let (_, export) = get_text(&owner, &format!("/api/monitors/yaml{query}")).await;
            let (status, dry) = put_yaml(&owner, export.clone(), true).await;
            assert_eq!(status, StatusCode::OK, "{dry}");
            let (status, applied) = put_yaml(&owner, export.clone(), false).await;
            assert_eq!(status, StatusCode::OK, "{applied}");
            let applied: Value = serde_json::from_str(&applied).unwrap();
            assert_eq!(
                applied["unchanged"],
                json!(["api", "admin", "beat"]),
                "{export}\n{applied}"
            );
            for (key, spec) in ["api", "admin", "beat"].into_iter().zip(&before) {
                assert_eq!(&stored(&app, team, key).await, spec, "{key} after {query}");
            }
        }
        Ok(())
    })
    .await;
}
