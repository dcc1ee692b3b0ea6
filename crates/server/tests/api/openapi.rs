//! The OpenAPI document: served, 3.1, complete, and pinned by a snapshot so every API change
//! shows up in review (`cargo insta review` after an intended change).

use crate::support::*;
use reqwest::StatusCode;

#[tokio::test]
async fn the_document_is_served_lists_every_route_and_matches_the_snapshot() {
    let database = watchtower_testkit::TestDatabase::sqlite();
    let (app, _running) = TestApp::start(&database.url, Options::default()).await;
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

/// Every answer is typed: no success body is a bare `Object`, every error status points at the
/// one error schema, and the statuses every route can answer are declared (schemathesis checks
/// the real answers against this in `scripts/schemathesis.sh`).
#[test]
fn every_answer_has_a_schema_and_every_error_the_error_shape() {
    let document = serde_json::to_value(watchtower_server::openapi_document()).unwrap();
    let error_body = serde_json::json!({"$ref": "#/components/schemas/ErrorBody"});
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let responses = operation["responses"].as_object().unwrap();
            let anonymous = operation["security"]
                .as_array()
                .is_some_and(|list| list.iter().any(|r| r == &serde_json::json!({})));
            assert!(responses.contains_key("429"), "{method} {path}: no 429");
            if !anonymous {
                assert!(responses.contains_key("401"), "{method} {path}: no 401");
            }
            for (status, response) in responses {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status}: no description"
                );
                let Some(content) = response["content"].as_object() else {
                    continue;
                };
                for (kind, body) in content {
                    let schema = &body["schema"];
                    if status.starts_with('4') {
                        assert_eq!(schema, &error_body, "{method} {path} {status}");
                    } else {
                        let bare = schema["type"] == "object" && schema.get("properties").is_none();
                        // A page (the acknowledge link's confirmation) is text by nature.
                        let page = kind == "text/html" && schema["type"] == "string";
                        assert!(
                            page || (!bare && !schema.is_null() && schema["type"] != "string"),
                            "{method} {path} {status} {kind}: untyped {schema}"
                        );
                    }
                }
            }
        }
    }
    assert_eq!(operations, 81, "every operation is checked");
}

/// A plan limit's figures (`LimitValue`) are a `oneOf`: a count, a duration, a channel kind, a
/// list of kinds or a flag, and an answer must match exactly one. The duration's pattern keeps a
/// channel kind (a string too) from matching both; every duration WatchTower writes matches it.
#[test]
fn a_limit_value_matches_exactly_one_of_its_schemas() {
    use watchtower_core::{ChannelKind, HumanDuration, Plan, PlanLimits};
    let document = serde_json::to_value(watchtower_server::openapi_document()).unwrap();
    let pattern = document["components"]["schemas"]["HumanDuration"]["pattern"]
        .as_str()
        .expect("durations have a pattern");
    let pattern = regex::Regex::new(pattern).unwrap();
    for kind in ChannelKind::ALL {
        assert!(!pattern.is_match(kind.as_str()), "{}", kind.as_str());
    }
    let mut durations: Vec<String> = Plan::ALL
        .into_iter()
        .map(|plan| PlanLimits::canonical(plan).min_interval.to_string())
        .collect();
    for millis in [0, 250, 1_000, 90_000, 5_400_000, 2 * 86_400_000 + 1] {
        durations.push(HumanDuration(std::time::Duration::from_millis(millis)).to_string());
    }
    for duration in durations {
        assert!(pattern.is_match(&duration), "{duration}");
    }
}
