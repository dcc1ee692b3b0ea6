//! Teams through the API: invitations that work once, role rules, API keys shown once and stored
//! hashed, revocation, several teams per person, and the audit log of it all.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;
use watchtower_core::{Plan, Role, TeamId};

async fn team_with_owner(app: &TestApp) -> (Client, TeamId) {
    let owner = app.user("owner@example.com", false).await;
    let team = app.team("Ops", Plan::Unlimited, owner).await;
    (app.login("owner@example.com").await.in_team(team), team)
}

#[tokio::test]
async fn an_invitation_link_works_once_for_a_signed_in_person() {
    each_backend(Options::default(), |app| async move {
        let (owner, team) = team_with_owner(&app).await;
        let invited = owner
            .post(
                &format!("/api/teams/{team}/invitations"),
                json!({"email": "bo@example.com", "role": "member"}),
            )
            .await;
        assert_eq!(invited.status, StatusCode::CREATED, "{:?}", invited.body);
        let token = invited.body["token"].as_str().unwrap().to_owned();
        assert!(token.starts_with("wti_"));
        let pending = owner.get(&format!("/api/teams/{team}/invitations")).await;
        assert_eq!(pending.body["invitations"].as_array().unwrap().len(), 1);
        assert!(
            !pending.body.to_string().contains(&token),
            "the token is shown once"
        );

        assert_eq!(
            app.anonymous()
                .post("/api/invitations/accept", json!({"token": token}))
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        app.user("eve@example.com", false).await;
        let eve = app.login("eve@example.com").await;
        let stolen = eve
            .post("/api/invitations/accept", json!({"token": token}))
            .await;
        assert_eq!(
            stolen.status,
            StatusCode::FORBIDDEN,
            "the link is for Bo's address only"
        );
        app.user("bo@example.com", false).await;
        let bo = app.login("bo@example.com").await;
        let joined = bo
            .post("/api/invitations/accept", json!({"token": token}))
            .await;
        assert_eq!(joined.status, StatusCode::OK, "{:?}", joined.body);
        assert_eq!(joined.body["role"], "member");
        let again = bo
            .post("/api/invitations/accept", json!({"token": token}))
            .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND, "a link works once");
        let teams = bo.get("/api/teams").await.body["teams"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(teams, 2, "Bo now belongs to two teams");
        let members = owner.get(&format!("/api/teams/{team}/members")).await;
        assert_eq!(members.body["members"].as_array().unwrap().len(), 2);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn roles_change_by_the_owner_rules_and_the_last_owner_stays() {
    each_backend(Options::default(), |app| async move {
        let (owner, team) = team_with_owner(&app).await;
        let admin_id = app.user("ada@example.com", false).await;
        app.join(team, admin_id, Role::Admin).await;
        let viewer_id = app.user("vi@example.com", false).await;
        app.join(team, viewer_id, Role::Viewer).await;
        let owner_id = app
            .store
            .user_by_email("owner@example.com")
            .await?
            .unwrap()
            .id;
        let admin = app.login("ada@example.com").await.in_team(team);

        let path = |user: watchtower_core::UserId| format!("/api/teams/{team}/members/{user}");
        let promote = admin
            .send(
                reqwest::Method::PATCH,
                &path(viewer_id),
                Some(json!({"role": "member"})),
            )
            .await;
        assert_eq!(promote.status, StatusCode::NO_CONTENT);
        let to_owner = admin
            .send(
                reqwest::Method::PATCH,
                &path(viewer_id),
                Some(json!({"role": "owner"})),
            )
            .await;
        assert_eq!(
            to_owner.status,
            StatusCode::FORBIDDEN,
            "only an owner makes owners"
        );
        let demote_owner = owner
            .send(
                reqwest::Method::PATCH,
                &path(owner_id),
                Some(json!({"role": "admin"})),
            )
            .await;
        assert_eq!(
            demote_owner.status,
            StatusCode::CONFLICT,
            "the last owner stays"
        );
        let leave = owner.delete(&path(owner_id)).await;
        assert_eq!(leave.status, StatusCode::CONFLICT);
        let bad = owner
            .send(
                reqwest::Method::PATCH,
                &path(viewer_id),
                Some(json!({"role": "boss"})),
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            admin.delete(&path(viewer_id)).await.status,
            StatusCode::NO_CONTENT
        );

        let audit = owner.get(&format!("/api/teams/{team}/audit-log")).await;
        let actions: Vec<&str> = audit.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["member.removed", "member.role_changed"]);
        assert_eq!(
            audit.body["entries"][1]["actor"]["label"],
            "ada@example.com"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn an_api_key_is_shown_once_stored_hashed_tracked_and_revocable() {
    each_backend(Options::default(), |app| async move {
        let (owner, team) = team_with_owner(&app).await;
        let created = owner
            .post(
                &format!("/api/teams/{team}/api-keys"),
                json!({"name": "deploy", "scope": "read_write"}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED);
        let key = created.body["key"].as_str().unwrap().to_owned();
        let id = created.body["api_key"]["id"].as_i64().unwrap();
        assert!(key.starts_with("wtk_"));
        assert!(
            app.store.find_api_key(&key).await?.is_none(),
            "stored only as a hash"
        );

        let ci = app.with_key(&key);
        let monitor = ci.post("/api/monitors", http_monitor("from CI")).await;
        assert_eq!(
            monitor.status,
            StatusCode::CREATED,
            "keys need no CSRF token"
        );
        let listed = owner.get(&format!("/api/teams/{team}/api-keys")).await;
        let entry = &listed.body["api_keys"][0];
        assert!(entry["last_used_at"].is_i64(), "{entry}");
        assert!(!listed.body.to_string().contains(&key));
        let audit = owner.get(&format!("/api/teams/{team}/audit-log")).await;
        assert_eq!(audit.body["entries"][0]["actor"]["label"], "key:deploy");

        assert_eq!(
            owner
                .delete(&format!("/api/teams/{team}/api-keys/{id}"))
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        let after = ci.get("/api/monitors").await;
        assert_eq!(
            (after.status, after.code()),
            (StatusCode::UNAUTHORIZED, "unauthenticated")
        );
        let bogus = app.with_key("wtk_not-a-key").get("/api/monitors").await;
        assert_eq!(bogus.status, StatusCode::UNAUTHORIZED);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn incidents_are_acknowledged_and_annotated_with_who_did_it() {
    each_backend(Options::default(), |app| async move {
        let (owner, _team) = team_with_owner(&app).await;
        let created = owner
            .post("/api/monitors", json!({"name": "down", "kind": "tcp", "host": "127.0.0.1", "port": 9, "interval": "1h", "retries": 0}))
            .await;
        let id = created.body["id"].as_i64().unwrap();
        owner.post(&format!("/api/monitors/{id}/check"), json!({})).await;
        let mut incident = serde_json::Value::Null;
        for _ in 0..200 {
            let page = owner.get(&format!("/api/incidents?monitor={id}&open=true")).await;
            if let Some(first) = page.body["incidents"].get(0) {
                incident = first.clone();
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let incident_id = incident["id"].as_i64().expect("an incident opens within 10 s");
        let acknowledged = owner.post(&format!("/api/incidents/{incident_id}/acknowledge"), json!({})).await;
        assert_eq!(acknowledged.status, StatusCode::OK);
        assert_eq!(acknowledged.body["acknowledged_by"], "owner@example.com");
        let note = owner
            .post(&format!("/api/incidents/{incident_id}/notes"), json!({"body": "port 9 is discard; expected"}))
            .await;
        assert_eq!(note.status, StatusCode::CREATED);
        let empty = owner.post(&format!("/api/incidents/{incident_id}/notes"), json!({"body": "  "})).await;
        assert_eq!(empty.status, StatusCode::BAD_REQUEST);
        let read = owner.get(&format!("/api/incidents/{incident_id}")).await;
        assert_eq!(read.body["notes"][0]["author"], "owner@example.com");
        Ok(())
    })
    .await;
}

/// An invitation proves nothing about the address it names, and the inviter holds its token: so
/// it never creates an account or sets a password. The invited person signs in to an account of
/// that address (made by an instance administrator when they have none) and accepts.
#[tokio::test]
async fn an_invitation_never_creates_an_account_only_its_signed_in_address_accepts() {
    each_backend(Options::default(), |app| async move {
        let (owner, team) = team_with_owner(&app).await;
        let invited = owner
            .post(
                &format!("/api/teams/{team}/invitations"),
                json!({"email": "new@example.com", "role": "viewer"}),
            )
            .await;
        let token = invited.body["token"].as_str().unwrap().to_owned();
        let anonymous = app.anonymous();
        let takeover = anonymous
            .post(
                "/api/invitations/accept",
                json!({"token": token, "password": PASSWORD, "name": "Newt"}),
            )
            .await;
        assert_eq!(
            takeover.status,
            StatusCode::UNAUTHORIZED,
            "{:?}",
            takeover.body
        );
        assert_eq!(takeover.code(), "unauthenticated");
        assert!(
            app.store.user_by_email("new@example.com").await?.is_none(),
            "no account was created for an address nobody proved"
        );
        // The owner, who holds the token, cannot accept for the address either.
        let as_owner = owner
            .post("/api/invitations/accept", json!({"token": token}))
            .await;
        assert_eq!(as_owner.status, StatusCode::FORBIDDEN);

        // An instance administrator creates the account; its owner signs in and accepts.
        app.user("new@example.com", false).await;
        let newt = app.login("new@example.com").await;
        let joined = newt
            .post("/api/invitations/accept", json!({"token": token}))
            .await;
        assert_eq!(joined.status, StatusCode::OK, "{:?}", joined.body);
        let teams = newt.get("/api/teams").await.body["teams"]
            .as_array()
            .unwrap()
            .clone();
        let joined_team = teams
            .iter()
            .find(|t| t["id"] == json!(team.0))
            .expect("the inviting team is listed");
        assert_eq!(joined_team["role"], "viewer");
        Ok(())
    })
    .await;
}

/// A member's API keys stop when the membership ends: removed by an admin, or leaving.
#[tokio::test]
async fn a_removed_or_departed_members_api_keys_stop_working() {
    each_backend(Options::default(), |app| async move {
        let (owner, team) = team_with_owner(&app).await;
        let mut keys = Vec::new();
        for email in ["removed@example.com", "leaver@example.com"] {
            let id = app.user(email, false).await;
            app.join(team, id, Role::Admin).await;
            let person = app.login(email).await.in_team(team);
            let created = person
                .post(
                    &format!("/api/teams/{team}/api-keys"),
                    json!({"name": email, "scope": "read_write"}),
                )
                .await;
            assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
            let key = app.with_key(created.body["key"].as_str().unwrap());
            assert_eq!(key.get("/api/monitors").await.status, StatusCode::OK);
            keys.push((id, person, key));
        }
        let (removed_id, _, removed_key) = &keys[0];
        let removal = owner
            .delete(&format!("/api/teams/{team}/members/{removed_id}"))
            .await;
        assert_eq!(removal.status, StatusCode::NO_CONTENT);
        assert_eq!(
            removed_key.get("/api/monitors").await.status,
            StatusCode::UNAUTHORIZED
        );
        let (leaver_id, leaver, leaver_key) = &keys[1];
        let left = leaver
            .delete(&format!("/api/teams/{team}/members/{leaver_id}"))
            .await;
        assert_eq!(left.status, StatusCode::NO_CONTENT);
        assert_eq!(
            leaver_key.get("/api/monitors").await.status,
            StatusCode::UNAUTHORIZED
        );
        let listed = owner.get(&format!("/api/teams/{team}/api-keys")).await;
        let revoked = listed.body["api_keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| !k["revoked_at"].is_null())
            .count();
        assert_eq!(revoked, 2, "{}", listed.body);
        Ok(())
    })
    .await;
}
