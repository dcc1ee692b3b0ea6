//! The OpenAPI document: served, 3.1, complete, and pinned by a snapshot so every API change
//! shows up in review (`cargo insta review` after an intended change).

use crate::support::*;
use reqwest::StatusCode;

#[tokio::test]
async fn the_document_is_served_lists_every_route_and_matches_the_snapshot() {
    let database = watchtower_testkit::TestDatabase::sqlite();
    let app = TestApp::start(&database.url, Options::default()).await;
    let served = app.anonymous().get("/api/openapi.json").await;
    assert_eq!(served.status, StatusCode::OK);
    let document = served.body;
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().expect("paths");
    for path in [
        "/api/auth/login",
        "/api/auth/me",
        "/api/monitors",
        "/api/monitors/{id}",
        "/api/monitors/{id}/results",
        "/api/monitors/{id}/uptime",
        "/api/monitors/yaml",
        "/api/incidents/{id}/acknowledge",
        "/api/teams/{team}/members/{user}",
        "/api/teams/{team}/api-keys",
        "/api/teams/{team}/audit-log",
        "/api/plans",
        "/api/security-events",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    assert_eq!(
        document,
        serde_json::to_value(watchtower_server::openapi_document()).unwrap(),
        "the served document is the generated one"
    );
    insta::assert_json_snapshot!("openapi", document);
}
