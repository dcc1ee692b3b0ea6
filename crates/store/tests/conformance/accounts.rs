//! Accounts: users and credentials, sessions, teams and members, invitations, API keys, the audit
//! log, security events, and deleting a team with everything it owns.

use crate::support::*;
use serde_json::json;
use watchtower_core::{ApiKeyScope, MonitorRuntime, Plan, Role, TeamId, Timestamp, UserId};
use watchtower_store::{
    Actor, AuditEntry, FailedLogins, Membership, NewApiKey, NewInvitation, NewSession, NewUser,
    SecurityEvent, Store, StoreError, Team, User,
};

fn new_user(email: &str) -> NewUser {
    NewUser {
        email: email.to_owned(),
        email_key: email.to_lowercase(),
        name: email.split('@').next().unwrap_or_default().to_owned(),
        password_hash: format!("argon2id-of-{email}"),
        is_admin: false,
        created_at: Timestamp(T0),
    }
}

async fn user(store: &dyn Store, email: &str) -> anyhow::Result<User> {
    Ok(store.create_user(&new_user(email)).await?)
}

fn new_session(user: UserId, token_hash: &str, expires_at: i64) -> NewSession {
    NewSession {
        user_id: user,
        token_hash: token_hash.to_owned(),
        created_at: Timestamp(T0),
        expires_at: Timestamp(expires_at),
        ip: Some("192.0.2.1".into()),
        user_agent: Some("test".into()),
    }
}

fn new_invitation(team: TeamId, by: UserId, token_hash: &str, expires_at: i64) -> NewInvitation {
    NewInvitation {
        team_id: team,
        email: "invitee@example.com".into(),
        role: Role::Member,
        token_hash: token_hash.to_owned(),
        invited_by: by,
        created_at: Timestamp(T0),
        expires_at: Timestamp(expires_at),
    }
}

fn new_key(team: TeamId, by: UserId, key_hash: &str) -> NewApiKey {
    NewApiKey {
        team_id: team,
        name: format!("key {key_hash}"),
        scope: ApiKeyScope::ReadOnly,
        prefix: "wt_abcd".into(),
        key_hash: key_hash.to_owned(),
        created_by: Some(by),
        created_at: Timestamp(T0),
    }
}

fn audit(team: TeamId, action: &str, at: i64) -> AuditEntry {
    AuditEntry {
        team_id: team,
        actor: Actor {
            user_id: Some(UserId(7)),
            api_key_id: None,
            label: "ann@example.com".into(),
        },
        action: action.to_owned(),
        target: "monitor:42".into(),
        details: json!({"name": "web", "interval": 60}),
        at: Timestamp(at),
    }
}

fn login_failed(email_key: Option<&str>, ip: &str, at: i64) -> SecurityEvent {
    SecurityEvent {
        kind: "login_failed".into(),
        email_key: email_key.map(str::to_owned),
        user_id: None,
        ip: Some(ip.to_owned()),
        detail: "wrong password".into(),
        at: Timestamp(at),
    }
}

#[tokio::test]
async fn an_email_is_taken_whatever_its_case_and_signs_in_by_its_key() {
    each_backend(|store| async move {
        let ann = user(&*store, "Ann@Example.com").await?;
        assert_eq!(
            (ann.email.as_str(), ann.is_admin, ann.created_at),
            ("Ann@Example.com", false, Timestamp(T0))
        );
        let again = store.create_user(&new_user("ANN@example.COM")).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        let Err(StoreError::Conflict(conflict)) = again else {
            unreachable!()
        };
        assert_eq!(conflict.field, "email", "{conflict:?}");
        assert_eq!(store.user_count().await?, 1);

        assert_eq!(store.get_user(ann.id).await?, Some(ann.clone()));
        assert_eq!(
            store.user_by_email("ann@example.com").await?,
            Some(ann.clone())
        );
        let credentials = store
            .credentials("ann@example.com")
            .await?
            .expect("credentials");
        assert_eq!(credentials.user, ann);
        assert_eq!(credentials.password_hash, "argon2id-of-Ann@Example.com");
        assert!(store.credentials("bob@example.com").await?.is_none());
        assert!(store.get_user(UserId(ann.id.0 + 1)).await?.is_none());
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_session_lasts_until_it_expires_or_is_deleted_and_a_new_password_keeps_only_one() {
    each_backend(|store| async move {
        let ann = user(&*store, "ann@example.com").await?;
        let current = store
            .create_session(&new_session(ann.id, "current", T0 + DAY))
            .await?;
        let other = store
            .create_session(&new_session(ann.id, "other", T0 + DAY))
            .await?;
        let short = store
            .create_session(&new_session(ann.id, "short", T0 + MINUTE))
            .await?;
        let reused = store
            .create_session(&new_session(ann.id, "current", T0 + DAY))
            .await;
        assert!(matches!(reused, Err(StoreError::Conflict(_))), "{reused:?}");

        assert_eq!(
            store.find_session("current", Timestamp(T0)).await?,
            Some(current.clone())
        );
        assert_eq!(
            store.find_session("short", Timestamp(T0)).await?,
            Some(short)
        );
        assert!(
            store
                .find_session("short", Timestamp(T0 + MINUTE))
                .await?
                .is_none()
        );
        assert!(store.find_session("nobody", Timestamp(T0)).await?.is_none());
        assert_eq!(
            store.delete_expired_sessions(Timestamp(T0 + HOUR)).await?,
            1
        );

        store.delete_session(other.id).await?;
        assert!(store.find_session("other", Timestamp(T0)).await?.is_none());
        store.delete_session(other.id).await?;

        store
            .create_session(&new_session(ann.id, "elsewhere", T0 + DAY))
            .await?;
        store
            .set_password(ann.id, "argon2id-new", Some(current.id))
            .await?;
        assert!(
            store
                .find_session("current", Timestamp(T0))
                .await?
                .is_some()
        );
        assert!(
            store
                .find_session("elsewhere", Timestamp(T0))
                .await?
                .is_none()
        );
        let credentials = store.credentials("ann@example.com").await?.unwrap();
        assert_eq!(credentials.password_hash, "argon2id-new");

        store.set_password(ann.id, "argon2id-newer", None).await?;
        assert!(
            store
                .find_session("current", Timestamp(T0))
                .await?
                .is_none()
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_new_team_has_its_creator_as_owner_and_members_come_and_go() {
    each_backend(|store| async move {
        let default = store.get_team(TEAM).await?.expect("the default team");
        assert_eq!(
            (default.name.as_str(), default.plan),
            ("Default", Plan::Unlimited)
        );

        let ann = user(&*store, "ann@example.com").await?;
        let bob = user(&*store, "bob@example.com").await?;
        let team = store
            .create_team("Acme", Plan::Free, ann.id, Timestamp(T0))
            .await?;
        assert_eq!(
            (team.name.as_str(), team.plan, team.created_at),
            ("Acme", Plan::Free, Timestamp(T0))
        );
        assert_eq!(store.get_team(team.id).await?, Some(team.clone()));
        assert_eq!(
            store.teams_of(ann.id).await?,
            vec![Membership {
                team: team.clone(),
                role: Role::Owner
            }]
        );
        assert_eq!(store.role_of(team.id, ann.id).await?, Some(Role::Owner));
        assert_eq!(store.role_of(team.id, bob.id).await?, None);
        assert!(store.teams_of(bob.id).await?.is_empty());

        store
            .add_member(team.id, bob.id, Role::Member, Timestamp(T0 + 1))
            .await?;
        let twice = store
            .add_member(team.id, bob.id, Role::Viewer, Timestamp(T0 + 2))
            .await;
        assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
        let members = store.members(team.id).await?;
        assert_eq!(
            members
                .iter()
                .map(|m| (m.user_id, m.email.as_str(), m.role, m.joined_at))
                .collect::<Vec<_>>(),
            vec![
                (ann.id, "ann@example.com", Role::Owner, Timestamp(T0)),
                (bob.id, "bob@example.com", Role::Member, Timestamp(T0 + 1)),
            ]
        );

        store.set_member_role(team.id, bob.id, Role::Admin).await?;
        assert_eq!(store.role_of(team.id, bob.id).await?, Some(Role::Admin));
        let renamed = store.rename_team(team.id, "Acme Inc").await?;
        let upgraded = store.set_team_plan(team.id, Plan::Professional).await?;
        assert_eq!(
            upgraded,
            Team {
                name: "Acme Inc".into(),
                plan: Plan::Professional,
                ..team.clone()
            }
        );
        assert_eq!(renamed.plan, Plan::Free);
        assert_eq!(store.get_team(team.id).await?, Some(upgraded));

        store.remove_member(team.id, bob.id, Timestamp(T0)).await?;
        assert_eq!(store.role_of(team.id, bob.id).await?, None);
        assert!(matches!(
            store.remove_member(team.id, bob.id, Timestamp(T0)).await,
            Err(StoreError::NotFound)
        ));
        let missing = TeamId(team.id.0 + 100);
        assert!(store.get_team(missing).await?.is_none());
        assert!(matches!(
            store.rename_team(missing, "x").await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.set_team_plan(missing, Plan::Free).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store
                .add_member(missing, bob.id, Role::Member, Timestamp(T0))
                .await,
            Err(StoreError::NotFound)
        ));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn team_scoped_calls_cannot_reach_another_teams_members_keys_or_invitations() {
    each_backend(|store| async move {
        let ann = user(&*store, "ann@example.com").await?;
        let bob = user(&*store, "bob@example.com").await?;
        let ours = store
            .create_team("Ours", Plan::Free, ann.id, Timestamp(T0))
            .await?;
        let theirs = store
            .create_team("Theirs", Plan::Free, bob.id, Timestamp(T0))
            .await?;
        let key = store
            .create_api_key(&new_key(theirs.id, bob.id, "k1"))
            .await?;
        let invitation = store
            .create_invitation(&new_invitation(theirs.id, bob.id, "i1", T0 + DAY))
            .await?;

        assert!(matches!(
            store.set_member_role(ours.id, bob.id, Role::Viewer).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.remove_member(ours.id, bob.id, Timestamp(T0)).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.revoke_api_key(ours.id, key.id, Timestamp(T0)).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.revoke_invitation(ours.id, invitation.id).await,
            Err(StoreError::NotFound)
        ));
        assert!(store.api_keys(ours.id).await?.is_empty());
        assert!(store.invitations(ours.id, Timestamp(T0)).await?.is_empty());
        assert_eq!(
            store
                .members(ours.id)
                .await?
                .iter()
                .map(|m| m.user_id)
                .collect::<Vec<_>>(),
            vec![ann.id]
        );
        // Untouched in their own team.
        assert_eq!(store.role_of(theirs.id, bob.id).await?, Some(Role::Owner));
        assert!(store.find_api_key("k1").await?.is_some());
        assert!(store.find_invitation("i1", Timestamp(T0)).await?.is_some());
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn an_invitation_is_accepted_once_and_not_when_expired_revoked_or_already_a_member() {
    each_backend(|store| async move {
        let ann = user(&*store, "ann@example.com").await?;
        let bob = user(&*store, "bob@example.com").await?;
        let carol = user(&*store, "carol@example.com").await?;
        let team = store
            .create_team("Acme", Plan::Free, ann.id, Timestamp(T0))
            .await?;

        let invitation = store
            .create_invitation(&new_invitation(team.id, ann.id, "once", T0 + DAY))
            .await?;
        assert_eq!(invitation.accepted_at, None);
        assert_eq!(
            store.find_invitation("once", Timestamp(T0)).await?,
            Some(invitation.clone())
        );
        assert_eq!(
            store.invitations(team.id, Timestamp(T0)).await?,
            vec![invitation.clone()]
        );
        let accepted = store
            .accept_invitation("once", bob.id, Timestamp(T0 + 1))
            .await?;
        assert_eq!(accepted.accepted_at, Some(Timestamp(T0 + 1)));
        assert_eq!(store.role_of(team.id, bob.id).await?, Some(Role::Member));
        assert!(matches!(
            store
                .accept_invitation("once", carol.id, Timestamp(T0 + 2))
                .await,
            Err(StoreError::NotFound)
        ));
        assert!(
            store
                .find_invitation("once", Timestamp(T0))
                .await?
                .is_none()
        );
        assert!(store.invitations(team.id, Timestamp(T0)).await?.is_empty());

        store
            .create_invitation(&new_invitation(team.id, ann.id, "late", T0 + MINUTE))
            .await?;
        assert!(matches!(
            store
                .accept_invitation("late", carol.id, Timestamp(T0 + MINUTE))
                .await,
            Err(StoreError::NotFound)
        ));
        assert!(
            store
                .find_invitation("late", Timestamp(T0 + MINUTE))
                .await?
                .is_none()
        );

        let revoked = store
            .create_invitation(&new_invitation(team.id, ann.id, "revoked", T0 + DAY))
            .await?;
        store.revoke_invitation(team.id, revoked.id).await?;
        assert!(matches!(
            store.revoke_invitation(team.id, revoked.id).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store
                .accept_invitation("revoked", carol.id, Timestamp(T0 + 1))
                .await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(store.role_of(team.id, carol.id).await?, None);

        let for_a_member = store
            .create_invitation(&new_invitation(team.id, ann.id, "member", T0 + DAY))
            .await?;
        let conflict = store
            .accept_invitation("member", bob.id, Timestamp(T0 + 1))
            .await;
        assert!(
            matches!(conflict, Err(StoreError::Conflict(_))),
            "{conflict:?}"
        );
        assert_eq!(
            store.find_invitation("member", Timestamp(T0 + 1)).await?,
            Some(for_a_member),
            "a refused accept leaves the invitation pending"
        );
        assert_eq!(store.role_of(team.id, bob.id).await?, Some(Role::Member));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn two_people_racing_for_one_invitation_link_cannot_both_join() {
    each_backend(|store| async move {
        let ann = user(&*store, "ann@example.com").await?;
        let bob = user(&*store, "bob@example.com").await?;
        let carol = user(&*store, "carol@example.com").await?;
        let team = store
            .create_team("Acme", Plan::Free, ann.id, Timestamp(T0))
            .await?;
        store
            .create_invitation(&new_invitation(team.id, ann.id, "race", T0 + DAY))
            .await?;
        let (first, second) = tokio::join!(
            store.accept_invitation("race", bob.id, Timestamp(T0 + 1)),
            store.accept_invitation("race", carol.id, Timestamp(T0 + 1)),
        );
        let joined = [first.is_ok(), second.is_ok()];
        assert_eq!(joined.iter().filter(|ok| **ok).count(), 1, "{joined:?}");
        for refused in [first, second].into_iter().filter_map(Result::err) {
            assert!(matches!(refused, StoreError::NotFound), "{refused:?}");
        }
        assert_eq!(store.members(team.id).await?.len(), 2);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn an_api_key_is_found_by_its_hash_until_it_is_revoked() {
    each_backend(|store| async move {
        let ann = user(&*store, "ann@example.com").await?;
        let team = store
            .create_team("Acme", Plan::Free, ann.id, Timestamp(T0))
            .await?;
        let first = store
            .create_api_key(&new_key(team.id, ann.id, "h1"))
            .await?;
        let second = store
            .create_api_key(&new_key(team.id, ann.id, "h2"))
            .await?;
        let duplicate = store.create_api_key(&new_key(team.id, ann.id, "h1")).await;
        assert!(
            matches!(duplicate, Err(StoreError::Conflict(_))),
            "{duplicate:?}"
        );
        assert_eq!(
            (first.scope, first.created_by, first.last_used_at),
            (ApiKeyScope::ReadOnly, Some(ann.id), None)
        );
        assert_eq!(store.find_api_key("h1").await?, Some(first.clone()));
        assert!(store.find_api_key("unknown").await?.is_none());

        store.touch_api_key(first.id, Timestamp(T0 + 5)).await?;
        let touched = store.find_api_key("h1").await?.expect("still valid");
        assert_eq!(touched.last_used_at, Some(Timestamp(T0 + 5)));

        let revoked = store
            .revoke_api_key(team.id, first.id, Timestamp(T0 + 9))
            .await?;
        assert_eq!(revoked.revoked_at, Some(Timestamp(T0 + 9)));
        assert!(store.find_api_key("h1").await?.is_none());
        assert!(matches!(
            store
                .revoke_api_key(team.id, first.id, Timestamp(T0 + 10))
                .await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(
            store.api_keys(team.id).await?,
            vec![second, revoked],
            "newest first, revoked ones included"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn the_audit_log_pages_newest_first_within_one_team() {
    each_backend(|store| async move {
        let ann = user(&*store, "ann@example.com").await?;
        let team = store
            .create_team("Acme", Plan::Free, ann.id, Timestamp(T0))
            .await?;
        for i in 0..5 {
            store
                .record_audit(&audit(team.id, &format!("monitor.updated.{i}"), T0 + i))
                .await?;
            store
                .record_audit(&audit(TEAM, &format!("other.{i}"), T0 + i))
                .await?;
        }
        let actions = |page: &[watchtower_store::AuditRecord]| {
            page.iter().map(|r| r.action.clone()).collect::<Vec<_>>()
        };

        let first = store.audit_log(team.id, None, 2).await?;
        assert_eq!(actions(&first), ["monitor.updated.4", "monitor.updated.3"]);
        let second = store.audit_log(team.id, Some(first[1].id), 2).await?;
        assert_eq!(actions(&second), ["monitor.updated.2", "monitor.updated.1"]);
        let last = store.audit_log(team.id, Some(second[1].id), 2).await?;
        assert_eq!(actions(&last), ["monitor.updated.0"]);
        assert!(
            store
                .audit_log(team.id, Some(last[0].id), 2)
                .await?
                .is_empty()
        );

        let entry = &last[0];
        assert_eq!(entry.team_id, team.id);
        assert_eq!(entry.actor, audit(team.id, "", 0).actor);
        assert_eq!(
            (entry.target.as_str(), &entry.details, entry.at),
            (
                "monitor:42",
                &json!({"name": "web", "interval": 60}),
                Timestamp(T0)
            )
        );
        let everything = store.audit_log(team.id, None, 0).await?;
        assert_eq!(everything.len(), 5);
        assert!(everything.iter().all(|r| r.team_id == team.id));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn failed_logins_are_counted_by_account_and_by_ip_since_a_moment() {
    each_backend(|store| async move {
        let ann = Some("ann@example.com");
        let events = [
            login_failed(ann, "198.51.100.1", T0),
            login_failed(ann, "198.51.100.2", T0 + 2 * MINUTE),
            login_failed(Some("bob@example.com"), "198.51.100.1", T0 + 3 * MINUTE),
            SecurityEvent {
                kind: "login_succeeded".into(),
                ..login_failed(ann, "198.51.100.1", T0 + 4 * MINUTE)
            },
            login_failed(None, "198.51.100.1", T0 + 5 * MINUTE),
        ];
        for event in &events {
            store.record_security_event(event).await?;
        }

        let since_start = store
            .failed_logins_since(ann, Some("198.51.100.1"), Timestamp(T0))
            .await?;
        assert_eq!(
            since_start,
            FailedLogins {
                by_account: 2,
                by_ip: 3
            }
        );
        let recent = store
            .failed_logins_since(ann, Some("198.51.100.1"), Timestamp(T0 + MINUTE))
            .await?;
        assert_eq!(
            recent,
            FailedLogins {
                by_account: 1,
                by_ip: 2
            }
        );
        assert_eq!(
            store.failed_logins_since(None, None, Timestamp(T0)).await?,
            FailedLogins::default()
        );

        let newest = store.security_events(None, 2).await?;
        assert_eq!(
            newest.iter().map(|e| e.at).collect::<Vec<_>>(),
            [Timestamp(T0 + 5 * MINUTE), Timestamp(T0 + 4 * MINUTE)]
        );
        assert_eq!(newest[1].kind, "login_succeeded");
        assert_eq!(newest[1].email_key.as_deref(), ann);
        let older = store.security_events(Some(newest[1].id), 0).await?;
        assert_eq!(older.len(), 3);
        assert!(older.iter().all(|e| e.id < newest[1].id));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn deleting_a_team_removes_its_monitors_history_and_people_but_no_other_teams() {
    each_backend(|store| async move {
        let ann = user(&*store, "ann@example.com").await?;
        let bob = user(&*store, "bob@example.com").await?;
        let team = store
            .create_team("Doomed", Plan::Free, ann.id, Timestamp(T0))
            .await?;
        store
            .add_member(team.id, bob.id, Role::Viewer, Timestamp(T0))
            .await?;
        store
            .add_member(TEAM, bob.id, Role::Member, Timestamp(T0))
            .await?;
        let monitor = store
            .create_monitor(team.id, &http_spec("doomed", None), Timestamp(T0))
            .await?;
        let survivor = store
            .create_monitor(TEAM, &http_spec("survivor", None), Timestamp(T0))
            .await?;
        let mut runtime = MonitorRuntime::new(Timestamp(T0));
        store
            .record_batch(&observed_batch(
                monitor.id,
                &mut runtime,
                vec![down(T0 + 1000)],
            ))
            .await?;
        store.roll_up(Timestamp(T0 + DAY)).await?;
        assert!(store.open_incident(team.id, monitor.id).await?.is_some());
        store
            .create_api_key(&new_key(team.id, ann.id, "doomed-key"))
            .await?;
        store
            .create_invitation(&new_invitation(team.id, ann.id, "doomed-invite", T0 + DAY))
            .await?;
        store
            .record_audit(&audit(team.id, "team.deleted", T0))
            .await?;

        store.delete_team(team.id).await?;

        assert!(store.get_team(team.id).await?.is_none());
        assert!(store.get_monitor(team.id, monitor.id).await?.is_none());
        assert!(
            store
                .results(team.id, monitor.id, Timestamp(0), Timestamp(i64::MAX), 10)
                .await?
                .is_empty()
        );
        assert_eq!(
            store
                .uptime(team.id, monitor.id, Timestamp(T0), Timestamp(T0 + DAY))
                .await?
                .checks,
            0
        );
        assert!(
            store
                .incidents(team.id, &watchtower_store::IncidentQuery::latest(None, 10))
                .await?
                .is_empty()
        );
        assert!(store.state_events(0, 10).await?.is_empty());
        assert!(store.members(team.id).await?.is_empty());
        assert!(store.teams_of(ann.id).await?.is_empty());
        assert!(store.find_api_key("doomed-key").await?.is_none());
        assert!(store.api_keys(team.id).await?.is_empty());
        assert!(
            store
                .find_invitation("doomed-invite", Timestamp(T0))
                .await?
                .is_none()
        );
        assert!(store.audit_log(team.id, None, 0).await?.is_empty());

        assert!(store.get_monitor(TEAM, survivor.id).await?.is_some());
        assert_eq!(store.role_of(TEAM, bob.id).await?, Some(Role::Member));
        assert!(store.get_user(ann.id).await?.is_some());
        assert!(matches!(
            store.delete_team(team.id).await,
            Err(StoreError::NotFound)
        ));
        Ok(())
    })
    .await;
}

/// A member's keys end with their membership: removal revokes the keys they made for that team
/// (not their keys elsewhere, not others' keys), and a key whose creator is no longer a member
/// is not found even if it was never revoked.
#[tokio::test]
async fn a_removed_members_keys_stop_working() {
    each_backend(|store| async move {
        let ann = user(&*store, "ann@example.com").await?;
        let bob = user(&*store, "bob@example.com").await?;
        let team = store
            .create_team("Acme", Plan::Free, ann.id, Timestamp(T0))
            .await?;
        let elsewhere = store
            .create_team("Bob's", Plan::Free, bob.id, Timestamp(T0))
            .await?;
        store
            .add_member(team.id, bob.id, Role::Admin, Timestamp(T0))
            .await?;
        let bobs = store
            .create_api_key(&new_key(team.id, bob.id, "bobs"))
            .await?;
        let anns = store
            .create_api_key(&new_key(team.id, ann.id, "anns"))
            .await?;
        let own = store
            .create_api_key(&new_key(elsewhere.id, bob.id, "own"))
            .await?;
        assert!(store.find_api_key("bobs").await?.is_some());

        store
            .remove_member(team.id, bob.id, Timestamp(T0 + 5))
            .await?;
        assert!(store.find_api_key("bobs").await?.is_none(), "revoked");
        let listed = store.api_keys(team.id).await?;
        let revoked = listed.iter().find(|k| k.id == bobs.id).expect("listed");
        assert_eq!(revoked.revoked_at, Some(Timestamp(T0 + 5)));
        assert_eq!(
            store.find_api_key("anns").await?.map(|k| k.id),
            Some(anns.id)
        );
        assert_eq!(
            store.find_api_key("own").await?.map(|k| k.id),
            Some(own.id),
            "a key of another team stays"
        );

        store
            .add_member(team.id, bob.id, Role::Member, Timestamp(T0 + 6))
            .await?;
        assert!(
            store.find_api_key("bobs").await?.is_none(),
            "rejoining does not revive a revoked key"
        );
        // Defence in depth: a key whose creator is not a member (however the membership ended)
        // is not found, revoked or not.
        let carol = user(&*store, "carol@example.com").await?;
        store
            .create_api_key(&new_key(team.id, carol.id, "carols"))
            .await?;
        assert!(store.find_api_key("carols").await?.is_none());
        store
            .add_member(team.id, carol.id, Role::Admin, Timestamp(T0 + 7))
            .await?;
        assert!(store.find_api_key("carols").await?.is_some());
        let deleted = store.delete_team(elsewhere.id).await;
        assert!(deleted.is_ok(), "{deleted:?}");
        assert!(store.find_api_key("own").await?.is_none());
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn activity_is_kept_to_the_hour_and_counted_per_window() {
    each_backend(|store| async move {
        let ann = store.create_user(&new_user("ann@example.com")).await?;
        let bob = store.create_user(&new_user("bob@example.com")).await?;
        store.create_user(&new_user("cy@example.com")).await?;
        assert_eq!(store.get_user(ann.id).await?.unwrap().last_seen_at, None);

        // Ann 40 days ago, then again; Bob 10 days ago.
        let long_ago = Timestamp(T0);
        store.touch_user(ann.id, long_ago).await?;
        store.touch_user(bob.id, Timestamp(T0 + 30 * DAY)).await?;
        let now = Timestamp(T0 + 40 * DAY);
        let figures = store.instance_figures(now).await?;
        assert_eq!(
            (
                figures.users,
                figures.active_users_day,
                figures.active_users_month
            ),
            (3, 0, 1)
        );

        // A touch within the hour of the stored one changes nothing; an hour later it does.
        store.touch_user(ann.id, now).await?;
        store
            .touch_user(ann.id, Timestamp(now.0 + 59 * MINUTE))
            .await?;
        assert_eq!(
            store.get_user(ann.id).await?.unwrap().last_seen_at,
            Some(now)
        );
        store.touch_user(ann.id, Timestamp(now.0 + HOUR)).await?;
        assert_eq!(
            store.get_user(ann.id).await?.unwrap().last_seen_at,
            Some(Timestamp(now.0 + HOUR))
        );
        let figures = store.instance_figures(Timestamp(now.0 + HOUR)).await?;
        assert_eq!(
            (figures.active_users_day, figures.active_users_month),
            (1, 2)
        );
        // Nothing else was made: every count is there, at zero where nothing is.
        assert_eq!(figures.monitors, 0);
        assert_eq!(figures.open_incidents, 0);
        assert!(figures.notifications_day.is_empty());
        assert!(!store.pool_use().is_empty());
        Ok(())
    })
    .await;
}
