//! The authorization matrix: every route of the REST API (`api/mod.rs`), called by each team role,
//! by the owner of another team, by a read-only and a read-write API key of the team, and
//! anonymously. Every expected status is derived from the rules in `watchtower_core::access`
//! (the matrix of docs/PERMISSIONS.md), so a handler that checks the wrong action, or none, shows
//! up as a cell that differs; all differing cells are reported together.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a test tells whoever runs it what it skipped or measured"
)]

#[path = "api/support.rs"]
mod support;

use anyhow::Context;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{Answer, Client, Options, PASSWORD, TestApp, each_backend, http_monitor};
use watchtower_core::access::{check_invitation, check_removal, check_role_change};
use watchtower_core::{
    Action, ApiKeyScope, CheckOutcome, DetectionPolicy, ErrorClass, IncidentId, MembershipDenied,
    MonitorId, MonitorRuntime, MonitorSpec, Plan, Role, TeamId, Timestamp, UserId,
};
use watchtower_server::auth::tokens::{TokenKind, new_token, token_hash};
use watchtower_store::{ChangeRecord, NewInvitation, ResultBatch, ResultRecord, RuntimeRecord};

/// Every team here has exactly one owner, so the last-owner rule applies to that owner.
const OWNERS: u32 = 1;
const TEAM_A: &str = "Team A";
/// A number no other call of `fill` gets, for names unique on the instance (status page slugs).
static UNIQUE: AtomicU64 = AtomicU64::new(1);
/// An account no caller is, for the sign-in row.
const SIGN_IN_EMAIL: &str = "signin@example.com";

/// Who calls: the matrix's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// A member of team A with this role.
    Person(Role),
    /// The owner of team B, using team A's ids (and `X-Team-Id: A`).
    Outsider,
    /// An API key of team A.
    Key(ApiKeyScope),
    Anonymous,
}

const CALLERS: [Caller; 8] = [
    Caller::Person(Role::Owner),
    Caller::Person(Role::Admin),
    Caller::Person(Role::Member),
    Caller::Person(Role::Viewer),
    Caller::Outsider,
    Caller::Key(ApiKeyScope::ReadOnly),
    Caller::Key(ApiKeyScope::ReadWrite),
    Caller::Anonymous,
];

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caller::Person(role) => write!(f, "{role}"),
            Caller::Outsider => f.write_str("team B's owner"),
            Caller::Key(scope) => write!(f, "{} key", scope.as_str()),
            Caller::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// Anyone, with or without credentials.
    Public(StatusCode),
    /// Any credentials, a person's or a key's; no team is involved.
    SignedIn(StatusCode),
    /// A signed-in person only; an API key gets `key`.
    PersonOnly {
        success: StatusCode,
        key: StatusCode,
    },
    /// The instance's administrators (`is_admin`) only, whatever their role in a team; none of
    /// the callers is one.
    InstanceAdmin,
    /// An action in team A, with the owner rules for memberships on top where they apply.
    Team {
        action: Action,
        success: StatusCode,
        membership: Membership,
    },
    /// Every one of several actions in team A (a monitors file with channels or rules).
    TeamAll {
        actions: &'static [Action],
        success: StatusCode,
    },
}

fn team(action: Action, success: StatusCode) -> Rule {
    membership(action, success, Membership::Unrestricted)
}

fn membership(action: Action, success: StatusCode, membership: Membership) -> Rule {
    Rule::Team {
        action,
        success,
        membership,
    }
}

/// The owner rules of `watchtower_core::access` that some membership routes add to their action.
#[derive(Debug, Clone, Copy)]
enum Membership {
    Unrestricted,
    RoleChange { from: Role, to: Role },
    Removal { target: Role },
    Invitation { role: Role },
}

impl Membership {
    fn check(self, actor: Role) -> Result<(), MembershipDenied> {
        match self {
            Membership::Unrestricted => Ok(()),
            Membership::RoleChange { from, to } => check_role_change(actor, from, to, OWNERS),
            Membership::Removal { target } => check_removal(actor, target, OWNERS),
            Membership::Invitation { role } => check_invitation(actor, role),
        }
    }
}

/// The status `caller` must get from a route with `rule`.
fn expected(rule: Rule, caller: Caller) -> StatusCode {
    match (rule, caller) {
        (Rule::Public(success), _) => success,
        (_, Caller::Anonymous) => StatusCode::UNAUTHORIZED,
        (Rule::SignedIn(success), _) => success,
        (Rule::PersonOnly { key, .. }, Caller::Key(_)) => key,
        (Rule::PersonOnly { success, .. }, _) => success,
        (Rule::InstanceAdmin, _) => StatusCode::FORBIDDEN,
        // Another team's resources are not there for the outsider, not forbidden.
        (Rule::Team { .. } | Rule::TeamAll { .. }, Caller::Outsider) => StatusCode::NOT_FOUND,
        (Rule::TeamAll { actions, success }, Caller::Key(scope)) => {
            let permitted = actions.iter().all(|a| scope.allows(Role::Admin, *a));
            team_outcome(permitted, Role::Admin, success, Membership::Unrestricted)
        }
        (Rule::TeamAll { actions, success }, Caller::Person(role)) => {
            let permitted = actions.iter().all(|a| role.allows(*a));
            team_outcome(permitted, role, success, Membership::Unrestricted)
        }
        (
            Rule::Team {
                action,
                success,
                membership,
            },
            Caller::Key(scope),
        ) => {
            // A key acts as an admin of its team, narrowed by its scope.
            let permitted = scope.allows(Role::Admin, action);
            team_outcome(permitted, Role::Admin, success, membership)
        }
        (
            Rule::Team {
                action,
                success,
                membership,
            },
            Caller::Person(role),
        ) => team_outcome(role.allows(action), role, success, membership),
    }
}

fn team_outcome(
    permitted: bool,
    role: Role,
    success: StatusCode,
    membership: Membership,
) -> StatusCode {
    if !permitted {
        return StatusCode::FORBIDDEN;
    }
    match membership.check(role) {
        Ok(()) => success,
        Err(MembershipDenied::LastOwner) => StatusCode::CONFLICT,
        Err(MembershipDenied::NotPermitted | MembershipDenied::OwnerOnly) => StatusCode::FORBIDDEN,
    }
}

enum Body {
    Empty,
    /// JSON, with the same placeholders as paths.
    Json(Value),
    Yaml(&'static str),
}

/// What a row's request may disturb, and so how much of the setup each cell gets to itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isolation {
    /// Changes nothing another cell relies on: every cell uses the one team A.
    Shared,
    /// Deletes or changes what other cells rely on: each cell gets a team A of its own.
    OwnTeam,
    /// Signs in or out: each person calls with a session of their own.
    OwnSession,
    /// Accepts an invitation: each cell gets its own, to a team no caller is in (`{token}`).
    OwnInvitation,
}

/// One route, called the same way by every caller.
struct Row {
    method: Method,
    /// `{team}`, `{monitor}`, `{incident}`, `{key}`, `{invitation}`, `{member}` and `{owner}`
    /// stand for team A's ids (`{member}` is a member no caller is, `{owner}` the owner's id).
    path: &'static str,
    body: Body,
    rule: Rule,
    isolation: Isolation,
}

fn row(method: Method, path: &'static str, body: Body, rule: Rule) -> Row {
    Row {
        method,
        path,
        body,
        rule,
        isolation: Isolation::Shared,
    }
}

impl Row {
    fn isolated(self, isolation: Isolation) -> Self {
        Self { isolation, ..self }
    }
}

const APPLIED_YAML: &str = "monitors:
  - key: from-yaml
    name: From YAML
    kind: http
    url: http://127.0.0.1:9/
    interval: 1h
";

/// A file with a channel and a rule: applying it needs what `POST /api/channels` and
/// `POST /api/alert-rules` need, besides `apply_yaml`.
const APPLIED_ALERTING_YAML: &str = "monitors: []
channels:
  - name: yaml-hook
    kind: webhook
    url: http://127.0.0.1:9/yaml-hook
alert_rules:
  - name: yaml-rule
    events: [down]
    channels: [yaml-hook]
";

/// A file with a channel only.
const APPLIED_CHANNEL_YAML: &str = "monitors: []
channels:
  - name: yaml-only-hook
    kind: webhook
    url: http://127.0.0.1:9/yaml-only-hook
";

/// Every route in `api/mod.rs`, with who may call it.
fn routes() -> Vec<Row> {
    use Action::*;
    use Body::{Empty, Yaml};
    use Isolation::*;
    use Method as M;
    use StatusCode as S;
    let json = Body::Json;
    vec![
        row(
            M::POST,
            "/api/auth/login",
            json(json!({"email": SIGN_IN_EMAIL, "password": PASSWORD})),
            Rule::Public(S::OK),
        )
        .isolated(OwnSession),
        row(
            M::POST,
            "/api/auth/logout",
            Empty,
            // A key has no session to end: 403, like every other person-only route.
            Rule::PersonOnly {
                success: S::NO_CONTENT,
                key: S::FORBIDDEN,
            },
        )
        .isolated(OwnSession),
        row(M::GET, "/api/auth/me", Empty, Rule::SignedIn(S::OK)),
        // The same password again: other sessions end, and later logins still work.
        row(
            M::POST,
            "/api/auth/password",
            json(json!({"current_password": PASSWORD, "new_password": PASSWORD})),
            Rule::PersonOnly {
                success: S::NO_CONTENT,
                key: S::FORBIDDEN,
            },
        ),
        row(M::GET, "/api/security-events", Empty, Rule::InstanceAdmin),
        row(M::GET, "/api/admin/stats", Empty, Rule::InstanceAdmin),
        row(M::GET, "/api/monitors", Empty, team(ViewMonitors, S::OK)),
        row(
            M::POST,
            "/api/monitors",
            json(http_monitor("created")),
            team(CreateMonitor, S::CREATED),
        ),
        row(
            M::GET,
            "/api/monitors/{monitor}",
            Empty,
            team(ViewMonitors, S::OK),
        ),
        row(
            M::PUT,
            "/api/monitors/{monitor}",
            json(http_monitor("web")),
            team(UpdateMonitor, S::OK),
        ),
        row(
            M::DELETE,
            "/api/monitors/{monitor}",
            Empty,
            team(DeleteMonitor, S::NO_CONTENT),
        )
        .isolated(OwnTeam),
        row(
            M::POST,
            "/api/monitors/{monitor}/pause",
            Empty,
            team(PauseMonitor, S::OK),
        ),
        row(
            M::POST,
            "/api/monitors/{monitor}/resume",
            Empty,
            team(PauseMonitor, S::OK),
        ),
        row(
            M::POST,
            "/api/monitors/{monitor}/check",
            Empty,
            team(CheckNow, S::ACCEPTED),
        ),
        row(
            M::GET,
            "/api/monitors/{monitor}/results",
            Empty,
            team(ViewResults, S::OK),
        ),
        row(
            M::GET,
            "/api/monitors/{monitor}/uptime",
            Empty,
            team(ViewResults, S::OK),
        ),
        row(M::GET, "/api/monitors/yaml", Empty, team(ExportYaml, S::OK)),
        row(
            M::PUT,
            "/api/monitors/yaml",
            Yaml(APPLIED_YAML),
            team(ApplyYaml, S::OK),
        ),
        row(
            M::PUT,
            "/api/monitors/yaml",
            Yaml(APPLIED_CHANNEL_YAML),
            Rule::TeamAll {
                actions: &[ApplyYaml, ManageChannels],
                success: S::OK,
            },
        ),
        row(
            M::PUT,
            "/api/monitors/yaml",
            Yaml(APPLIED_ALERTING_YAML),
            Rule::TeamAll {
                actions: &[ApplyYaml, ManageChannels, ManageAlertRules],
                success: S::OK,
            },
        ),
        row(
            M::PUT,
            "/api/monitors/yaml?dry_run=true",
            Yaml(APPLIED_ALERTING_YAML),
            Rule::TeamAll {
                actions: &[ApplyYaml, ManageChannels, ManageAlertRules],
                success: S::OK,
            },
        ),
        row(M::GET, "/api/incidents", Empty, team(ViewIncidents, S::OK)),
        row(
            M::GET,
            "/api/incidents/{incident}",
            Empty,
            team(ViewIncidents, S::OK),
        ),
        row(
            M::POST,
            "/api/incidents/{incident}/acknowledge",
            Empty,
            team(AcknowledgeIncident, S::OK),
        ),
        row(
            M::POST,
            "/api/incidents/{incident}/notes",
            json(json!({"body": "looking into it"})),
            team(NoteIncident, S::CREATED),
        ),
        row(M::GET, "/api/teams", Empty, Rule::SignedIn(S::OK)),
        row(
            M::POST,
            "/api/teams",
            json(json!({"name": "Side project"})),
            Rule::PersonOnly {
                success: S::CREATED,
                key: S::FORBIDDEN,
            },
        ),
        row(M::GET, "/api/teams/{team}", Empty, team(ViewTeam, S::OK)),
        row(
            M::PATCH,
            "/api/teams/{team}",
            json(json!({"name": TEAM_A})),
            team(UpdateTeam, S::OK),
        ),
        row(
            M::DELETE,
            "/api/teams/{team}",
            Empty,
            team(DeleteTeam, S::NO_CONTENT),
        )
        .isolated(OwnTeam),
        row(
            M::GET,
            "/api/teams/{team}/members",
            Empty,
            team(ViewTeam, S::OK),
        ),
        row(
            M::PATCH,
            "/api/teams/{team}/members/{member}",
            json(json!({"role": "viewer"})),
            membership(
                ChangeRole,
                S::NO_CONTENT,
                Membership::RoleChange {
                    from: Role::Member,
                    to: Role::Viewer,
                },
            ),
        )
        .isolated(OwnTeam),
        row(
            M::PATCH,
            "/api/teams/{team}/members/{member}",
            json(json!({"role": "owner"})),
            membership(
                ChangeRole,
                S::NO_CONTENT,
                Membership::RoleChange {
                    from: Role::Member,
                    to: Role::Owner,
                },
            ),
        )
        .isolated(OwnTeam),
        row(
            M::PATCH,
            "/api/teams/{team}/members/{owner}",
            json(json!({"role": "admin"})),
            membership(
                ChangeRole,
                S::NO_CONTENT,
                Membership::RoleChange {
                    from: Role::Owner,
                    to: Role::Admin,
                },
            ),
        )
        .isolated(OwnTeam),
        // Removing someone else; removing oneself is leaving, which every member may do.
        row(
            M::DELETE,
            "/api/teams/{team}/members/{member}",
            Empty,
            membership(
                RemoveMember,
                S::NO_CONTENT,
                Membership::Removal {
                    target: Role::Member,
                },
            ),
        )
        .isolated(OwnTeam),
        // For the owner this is leaving as the last owner, refused like removing the last owner.
        row(
            M::DELETE,
            "/api/teams/{team}/members/{owner}",
            Empty,
            membership(
                RemoveMember,
                S::NO_CONTENT,
                Membership::Removal {
                    target: Role::Owner,
                },
            ),
        )
        .isolated(OwnTeam),
        row(
            M::GET,
            "/api/teams/{team}/invitations",
            Empty,
            team(InviteMember, S::OK),
        ),
        row(
            M::POST,
            "/api/teams/{team}/invitations",
            json(json!({"email": "newcomer@example.com", "role": "member"})),
            membership(
                InviteMember,
                S::CREATED,
                Membership::Invitation { role: Role::Member },
            ),
        )
        .isolated(OwnTeam),
        row(
            M::POST,
            "/api/teams/{team}/invitations",
            json(json!({"email": "co-owner@example.com", "role": "owner"})),
            membership(
                InviteMember,
                S::CREATED,
                Membership::Invitation { role: Role::Owner },
            ),
        )
        .isolated(OwnTeam),
        row(
            M::DELETE,
            "/api/teams/{team}/invitations/{invitation}",
            Empty,
            team(InviteMember, S::NO_CONTENT),
        )
        .isolated(OwnTeam),
        row(
            M::POST,
            "/api/invitations/accept",
            json(json!({"token": "{token}"})),
            Rule::PersonOnly {
                success: S::OK,
                key: S::FORBIDDEN,
            },
        )
        .isolated(OwnInvitation),
        row(
            M::GET,
            "/api/teams/{team}/api-keys",
            Empty,
            team(ViewApiKeys, S::OK),
        ),
        row(
            M::POST,
            "/api/teams/{team}/api-keys",
            json(json!({"name": "ci", "scope": "read_only"})),
            team(CreateApiKey, S::CREATED),
        ),
        row(
            M::DELETE,
            "/api/teams/{team}/api-keys/{key}",
            Empty,
            team(RevokeApiKey, S::NO_CONTENT),
        )
        .isolated(OwnTeam),
        row(M::GET, "/api/plans", Empty, Rule::Public(S::OK)),
        // Whop's route answers whoever calls; this instance has no webhook secret, so a delivery
        // is a 404 before any signature is read (signed deliveries: tests/api/whop.rs).
        row(M::GET, "/api/webhooks/whop", Empty, Rule::Public(S::OK)),
        row(
            M::POST,
            "/api/webhooks/whop",
            Empty,
            Rule::Public(S::NOT_FOUND),
        ),
        row(
            M::GET,
            "/api/billing/whop/deliveries",
            Empty,
            Rule::InstanceAdmin,
        ),
        row(
            M::GET,
            "/api/teams/{team}/billing",
            Empty,
            team(ViewTeam, S::OK),
        ),
        // Without the incident's signature the link is not found, whoever follows it (the valid
        // link is tested in tests/api/alerting.rs).
        row(
            M::GET,
            "/api/teams/{team}/incidents/{incident}/acknowledge-link?token=00",
            Empty,
            Rule::Public(S::NOT_FOUND),
        ),
        row(
            M::POST,
            "/api/teams/{team}/incidents/{incident}/acknowledge-link?token=00",
            Empty,
            Rule::Public(S::NOT_FOUND),
        ),
        // The plan it already has: nothing gets paused, keys keep working.
        row(
            M::PUT,
            "/api/teams/{team}/plan",
            json(json!({"plan": "unlimited"})),
            team(ManageBilling, S::OK),
        ),
        row(
            M::GET,
            "/api/teams/{team}/audit-log",
            Empty,
            team(ViewAuditLog, S::OK),
        ),
        row(M::GET, "/api/channels", Empty, team(ViewAlerting, S::OK)),
        row(
            M::POST,
            "/api/channels",
            json(json!({"name": "ops", "kind": "webhook", "url": "http://127.0.0.1:9/hook"})),
            team(ManageChannels, S::CREATED),
        ),
        row(
            M::GET,
            "/api/channels/{channel}",
            Empty,
            team(ViewAlerting, S::OK),
        ),
        row(
            M::PUT,
            "/api/channels/{channel}",
            json(json!({"name": "renamed", "kind": "webhook", "url": "http://127.0.0.1:9/hook"})),
            team(ManageChannels, S::OK),
        ),
        row(
            M::POST,
            "/api/channels/{channel}/test",
            json(json!({})),
            team(ManageChannels, S::ACCEPTED),
        ),
        row(
            M::DELETE,
            "/api/channels/{channel}",
            Empty,
            team(ManageChannels, S::NO_CONTENT),
        )
        .isolated(OwnTeam),
        row(M::GET, "/api/alert-rules", Empty, team(ViewAlerting, S::OK)),
        row(
            M::POST,
            "/api/alert-rules",
            json(json!({"name": "r", "events": ["down"], "channel_ids": ["{channel}"]})),
            team(ManageAlertRules, S::CREATED),
        ),
        row(
            M::PUT,
            "/api/alert-rules/{rule}",
            json(json!({"name": "r2", "events": ["down", "up"], "channel_ids": ["{channel}"]})),
            team(ManageAlertRules, S::OK),
        ),
        row(
            M::DELETE,
            "/api/alert-rules/{rule}",
            Empty,
            team(ManageAlertRules, S::NO_CONTENT),
        )
        .isolated(OwnTeam),
        row(
            M::GET,
            "/api/notifications",
            Empty,
            team(ViewAlerting, S::OK),
        ),
        row(
            M::GET,
            "/api/maintenance",
            Empty,
            team(ViewMaintenance, S::OK),
        ),
        row(
            M::POST,
            "/api/maintenance",
            json(json!({"name": "weekly", "cron": "0 2 * * SUN", "duration": "2h"})),
            team(ManageMaintenance, S::CREATED),
        ),
        row(
            M::PUT,
            "/api/maintenance/{window}",
            json(json!({"name": "monthly", "cron": "0 3 * * SUN#1", "duration": "2h"})),
            team(ManageMaintenance, S::OK),
        ),
        row(
            M::DELETE,
            "/api/maintenance/{window}",
            Empty,
            team(ManageMaintenance, S::NO_CONTENT),
        )
        .isolated(OwnTeam),
        row(
            M::GET,
            "/api/escalation-policies",
            Empty,
            team(ViewAlerting, S::OK),
        ),
        row(
            M::POST,
            "/api/escalation-policies",
            json(
                json!({"name": "on-call", "steps": [{"after": "0s", "channel_ids": ["{channel}"]}]}),
            ),
            team(ManageAlertRules, S::CREATED),
        ),
        row(
            M::PUT,
            "/api/escalation-policies/{policy}",
            json(
                json!({"name": "on-call", "steps": [{"after": "5m", "channel_ids": ["{channel}"]}]}),
            ),
            team(ManageAlertRules, S::OK),
        ),
        row(
            M::DELETE,
            "/api/escalation-policies/{policy}",
            Empty,
            team(ManageAlertRules, S::NO_CONTENT),
        )
        .isolated(OwnTeam),
        row(
            M::GET,
            "/api/status-pages",
            Empty,
            team(ViewStatusPages, S::OK),
        ),
        // Slugs are unique on the instance: each cell creates its own (`{unique}`).
        row(
            M::POST,
            "/api/status-pages",
            json(json!({"slug": "cell-{unique}", "title": "Status",
                        "groups": [{"components": [{"name": "Web", "monitors": ["{monitor}"]}]}]})),
            team(ManageStatusPages, S::CREATED),
        ),
        row(
            M::GET,
            "/api/status-pages/{page}",
            Empty,
            team(ViewStatusPages, S::OK),
        ),
        row(
            M::PUT,
            "/api/status-pages/{page}",
            json(json!({"slug": "cell-{unique}", "title": "Renamed",
                        "groups": [{"components": [{"name": "Web", "monitors": ["{monitor}"]}]}]})),
            team(ManageStatusPages, S::OK),
        ),
        row(
            M::DELETE,
            "/api/status-pages/{page}",
            Empty,
            team(ManageStatusPages, S::NO_CONTENT),
        )
        .isolated(OwnTeam),
        row(
            M::GET,
            "/api/status-incident-templates",
            Empty,
            team(ViewStatusPages, S::OK),
        ),
        row(
            M::GET,
            "/api/status-pages/{page}/incidents",
            Empty,
            team(ViewStatusPages, S::OK),
        ),
        row(
            M::POST,
            "/api/status-pages/{page}/incidents",
            json(json!({"title": "Slow", "impact": "sev3",
                        "components": [{"name": "Web", "state": "degraded"}]})),
            team(PostStatusIncidents, S::CREATED),
        ),
        row(
            M::GET,
            "/api/status-pages/{page}/incidents/{post}",
            Empty,
            team(ViewStatusPages, S::OK),
        ),
        row(
            M::POST,
            "/api/status-pages/{page}/incidents/{post}/updates",
            json(json!({"status": "identified"})),
            team(PostStatusIncidents, S::CREATED),
        ),
        row(
            M::POST,
            "/api/status-pages/{page}/incidents/{post}/publish",
            Empty,
            team(PostStatusIncidents, S::OK),
        ),
        row(
            M::DELETE,
            "/api/status-pages/{page}/incidents/{post}",
            Empty,
            team(ManageStatusPages, S::NO_CONTENT),
        )
        .isolated(OwnTeam),
        row(
            M::GET,
            "/api/status-pages/{page}/subscribers",
            Empty,
            team(ManageStatusPages, S::OK),
        ),
        row(
            M::POST,
            "/api/status-pages/{page}/subscribers",
            json(json!({"kind": "webhook", "url": "http://127.0.0.1:9/{unique}"})),
            team(ManageStatusPages, S::CREATED),
        ),
        row(
            M::PUT,
            "/api/status-pages/{page}/subscriber-channel",
            json(json!({"email_channel_id": null})),
            team(ManageStatusPages, S::OK),
        ),
        row(
            M::DELETE,
            "/api/status-pages/{page}/subscribers/{subscriber}",
            Empty,
            team(ManageStatusPages, S::NO_CONTENT),
        )
        .isolated(OwnTeam),
    ]
}

/// Routes outside `/api/teams/{team}` act on the team named by `X-Team-Id`.
fn names_team_by_header(path: &str) -> bool {
    [
        "/api/monitors",
        "/api/incidents",
        "/api/channels",
        "/api/alert-rules",
        "/api/notifications",
        "/api/maintenance",
        "/api/escalation-policies",
        "/api/status-pages",
        "/api/status-incident-templates",
    ]
    .iter()
    .any(|prefix| path.starts_with(prefix))
}

struct Person {
    id: UserId,
    email: String,
    /// Signed in once; rows that sign in or out use a session of their own.
    client: Client,
}

/// Everyone the matrix needs, signed in.
struct People {
    owner: Person,
    admin: Person,
    member: Person,
    viewer: Person,
    /// The owner of team B, in no team A.
    outsider: Person,
    outsider_team: TeamId,
    /// A member of every team A who is none of the callers: the one to remove or change the role
    /// of, and the owner of the teams the invitations to accept come from.
    spare: UserId,
}

impl People {
    async fn sign_in(app: &TestApp) -> Self {
        async fn person(app: &TestApp, email: &str) -> Person {
            Person {
                id: app.user(email, false).await,
                email: email.to_owned(),
                client: app.login(email).await,
            }
        }
        app.user(SIGN_IN_EMAIL, false).await;
        let outsider = person(app, "owner@b.example").await;
        Self {
            owner: person(app, "owner@a.example").await,
            admin: person(app, "admin@a.example").await,
            member: person(app, "member@a.example").await,
            viewer: person(app, "viewer@a.example").await,
            outsider_team: app.team("Team B", Plan::Unlimited, outsider.id).await,
            outsider,
            spare: app.user("spare@a.example", false).await,
        }
    }

    fn with_role(&self, role: Role) -> &Person {
        match role {
            Role::Owner => &self.owner,
            Role::Admin => &self.admin,
            Role::Member => &self.member,
            Role::Viewer => &self.viewer,
        }
    }
}

/// A team A with everything a row may name.
struct Tenant {
    team: TeamId,
    monitor: MonitorId,
    incident: IncidentId,
    /// A key and an invitation that exist to be revoked.
    spare_key: i64,
    invitation: i64,
    /// A webhook channel (to a port nothing listens on) and a rule routing to it.
    channel: watchtower_core::ChannelId,
    rule: watchtower_core::AlertRuleId,
    /// A maintenance window (the first Sunday of each month).
    window: watchtower_core::MaintenanceWindowId,
    /// An escalation policy of one step.
    policy: watchtower_core::EscalationPolicyId,
    /// A status page showing the monitor.
    page: watchtower_core::StatusPageId,
    /// An open incident post on that page.
    post: watchtower_core::StatusIncidentId,
    /// A webhook subscriber of that page.
    subscriber: watchtower_core::StatusSubscriberId,
    read_only: Client,
    read_write: Client,
}

impl Tenant {
    /// Team A on a plan with API access: the four roles, the spare member, a monitor, an open
    /// incident, a key of each scope to call with, a spare key and a pending invitation.
    async fn build(app: &TestApp, people: &People) -> anyhow::Result<Self> {
        let team = app.team(TEAM_A, Plan::Unlimited, people.owner.id).await;
        for (person, role) in [
            (&people.admin, Role::Admin),
            (&people.member, Role::Member),
            (&people.viewer, Role::Viewer),
        ] {
            app.join(team, person.id, role).await;
        }
        app.join(team, people.spare, Role::Member).await;
        let monitor = app
            .store
            .create_monitor(team, &spec("web")?, Timestamp::now())
            .await?
            .id;
        let owner = &people.owner.client;
        let (_, read_only) = create_key(owner, team, ApiKeyScope::ReadOnly).await?;
        let (_, read_write) = create_key(owner, team, ApiKeyScope::ReadWrite).await?;
        let (spare_key, _) = create_key(owner, team, ApiKeyScope::ReadWrite).await?;
        let invited = owner
            .post(
                &format!("/api/teams/{team}/invitations"),
                json!({"email": "invitee@example.com", "role": "viewer"}),
            )
            .await;
        anyhow::ensure!(
            invited.status == StatusCode::CREATED,
            "invitation: {invited:?}"
        );
        let channel = app
            .store
            .create_channel(
                team,
                "hook",
                "webhook",
                &json!({"kind": "webhook", "url": "http://127.0.0.1:9/hook"}),
                Timestamp::now(),
            )
            .await?
            .id;
        let rule = app
            .store
            .create_rule(&watchtower_store::NewRule {
                team_id: team,
                name: "all".into(),
                monitor_id: None,
                tag: None,
                events: vec!["down".into()],
                channel_ids: vec![channel],
                remind_every: None,
                escalation_policy_id: None,
                causes: Vec::new(),
                certificate_days: None,
                created_at: Timestamp::now(),
            })
            .await?
            .id;
        let window = app
            .store
            .create_maintenance(
                team,
                &watchtower_core::maintenance::MaintenanceSpec::parse(
                    &json!({"name": "monthly", "cron": "0 2 * * SUN#1", "duration": "4h"}),
                    "",
                )
                .map_err(|problems| anyhow::anyhow!("{problems:?}"))?,
                Timestamp::now(),
            )
            .await?
            .id;
        let policy = app
            .store
            .create_escalation_policy(
                team,
                "on-call",
                &[watchtower_store::EscalationStep {
                    offset_ms: 0,
                    channel_ids: vec![channel],
                }],
                Timestamp::now(),
            )
            .await?
            .id;
        // Slugs are unique on the instance, and a team A is built per isolated cell.
        let page = app
            .store
            .create_status_page(
                team,
                &watchtower_core::StatusPageSpec::parse(
                    &json!({"slug": format!("tenant-{}", team.0), "title": "Status",
                            "groups": [{"components": [{"name": "Web", "monitors": [monitor.0]}]}]}),
                    "",
                )
                .map_err(|problems| anyhow::anyhow!("{problems:?}"))?,
                Timestamp::now(),
            )
            .await?
            .id;
        let post = app
            .store
            .create_status_incident(
                team,
                page,
                &watchtower_core::NewStatusIncident::parse(
                    &json!({"title": "Slow", "impact": "sev3",
                            "components": [{"name": "Web", "state": "degraded"}]}),
                    "",
                )
                .map_err(|problems| anyhow::anyhow!("{problems:?}"))?,
                Timestamp::now(),
            )
            .await?
            .id;
        let subscriber = match app
            .store
            .subscribe(
                team,
                page,
                &watchtower_core::NewSubscriber {
                    kind: watchtower_core::SubscriberKind::Webhook,
                    address: "http://127.0.0.1:9/subscriber".into(),
                    components: None,
                },
                Timestamp::now(),
            )
            .await?
        {
            watchtower_store::SignUpOutcome::Queued(subscriber) => subscriber.id,
            other => anyhow::bail!("subscriber: {other:?}"),
        };
        Ok(Self {
            team,
            monitor,
            page,
            post,
            subscriber,
            channel,
            rule,
            window,
            policy,
            incident: open_incident(app, team).await?,
            spare_key,
            invitation: invited.body["invitation"]["id"]
                .as_i64()
                .context("invitation id")?,
            read_only: app.with_key(&read_only),
            read_write: app.with_key(&read_write),
        })
    }

    /// `template` with this team's ids in place of the placeholders.
    fn fill(&self, template: &str, people: &People, token: &str) -> String {
        template
            .replace("{team}", &self.team.to_string())
            .replace("\"{monitor}\"", &self.monitor.to_string())
            .replace("{monitor}", &self.monitor.to_string())
            .replace("{page}", &self.page.to_string())
            .replace("{post}", &self.post.to_string())
            .replace("{subscriber}", &self.subscriber.to_string())
            .replace(
                "{unique}",
                &UNIQUE.fetch_add(1, Ordering::Relaxed).to_string(),
            )
            .replace("{incident}", &self.incident.to_string())
            .replace("{key}", &self.spare_key.to_string())
            .replace("{invitation}", &self.invitation.to_string())
            .replace("{member}", &people.spare.to_string())
            .replace("{owner}", &people.owner.id.to_string())
            .replace("\"{channel}\"", &self.channel.to_string())
            .replace("{channel}", &self.channel.to_string())
            .replace("{rule}", &self.rule.to_string())
            .replace("{window}", &self.window.to_string())
            .replace("{policy}", &self.policy.to_string())
            .replace("{token}", token)
    }
}

fn spec(name: &str) -> anyhow::Result<MonitorSpec> {
    MonitorSpec::parse(&http_monitor(name), "").map_err(|problems| anyhow::anyhow!("{problems:?}"))
}

/// Creates a key of `team` as its owner: returns the key's id and the bearer token.
async fn create_key(
    owner: &Client,
    team: TeamId,
    scope: ApiKeyScope,
) -> anyhow::Result<(i64, String)> {
    let answer = owner
        .post(
            &format!("/api/teams/{team}/api-keys"),
            json!({"name": scope.as_str(), "scope": scope.as_str()}),
        )
        .await;
    anyhow::ensure!(answer.status == StatusCode::CREATED, "API key: {answer:?}");
    let id = answer.body["api_key"]["id"].as_i64().context("key id")?;
    let token = answer.body["key"].as_str().context("key")?.to_owned();
    Ok((id, token))
}

/// An open incident on a monitor of its own that nothing schedules, written the way the result
/// writer would after one failed check (no retries) confirmed DOWN.
async fn open_incident(app: &TestApp, team: TeamId) -> anyhow::Result<IncidentId> {
    let now = Timestamp::now();
    let monitor = app
        .store
        .create_monitor(team, &spec("database")?, now)
        .await?
        .id;
    let outcome = CheckOutcome::down(
        now,
        Duration::from_secs(1),
        ErrorClass::Connect,
        "connection refused",
    );
    let mut runtime = MonitorRuntime::new(now);
    let change = runtime
        .observe(&outcome, DetectionPolicy::default())
        .context("one failure confirms DOWN")?;
    app.store
        .record_batch(&ResultBatch {
            results: vec![ResultRecord {
                team_id: team,
                monitor_id: monitor,
                outcome: outcome.clone(),
            }],
            changes: vec![ChangeRecord {
                team_id: team,
                monitor_id: monitor,
                change,
                outcome: Some(outcome),
            }],
            runtimes: vec![RuntimeRecord {
                monitor_id: monitor,
                runtime,
            }],
        })
        .await?;
    Ok(app
        .store
        .open_incident(team, monitor)
        .await?
        .context("the incident is open")?
        .id)
}

/// A pending invitation for `email` to a fresh team none of the callers is in: its token.
async fn invitation_elsewhere(
    app: &TestApp,
    people: &People,
    email: &str,
) -> anyhow::Result<String> {
    let team = app.team("Team C", Plan::Unlimited, people.spare).await;
    let token = new_token(TokenKind::Invitation);
    let now = Timestamp::now();
    app.store
        .create_invitation(&NewInvitation {
            team_id: team,
            email: email.into(),
            role: Role::Viewer,
            token_hash: token_hash(&token),
            invited_by: people.spare,
            created_at: now,
            expires_at: now.plus(Duration::from_secs(3600)),
        })
        .await?;
    Ok(token)
}

/// Sends a request with `client`'s credentials; unlike `Client::send` it can send YAML.
async fn request(
    client: &Client,
    method: Method,
    path: &str,
    body: Option<(&str, String)>,
) -> Answer {
    let mut request = client
        .http
        .request(method, client.app.url(path))
        .headers(client.headers.clone());
    if let Some((content_type, text)) = body {
        request = request.header(CONTENT_TYPE, content_type).body(text);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    Answer {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

/// What is wrong with a refusal's body, if anything. Every error has the one shape
/// `{"error": {"code", "message", "details": [...]}}`; a refusal of who is calling (401, 403,
/// 404, 409) has its status's code and lists no field details.
fn error_shape_problem(answer: &Answer) -> Option<String> {
    if answer.status.is_success() {
        return None;
    }
    let error = &answer.body["error"];
    let code = error["code"].as_str();
    if code.is_none() || !error["message"].is_string() || !error["details"].is_array() {
        return Some(format!(
            "{} is not in the error shape: {}",
            answer.status, answer.body
        ));
    }
    let refusal = match answer.status {
        StatusCode::UNAUTHORIZED => "unauthenticated",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::CONFLICT => "conflict",
        _ => return None,
    };
    let no_details = error["details"].as_array().is_some_and(Vec::is_empty);
    (code != Some(refusal) || !no_details).then(|| {
        format!(
            "{} should have code '{refusal}' and no details: {}",
            answer.status, answer.body
        )
    })
}

/// Runs `story` on every backend and fails once at the end with every backend's problems, so a
/// bug seen on SQLite does not hide what PostgreSQL shows.
async fn on_every_backend<F, Fut>(story: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = anyhow::Result<Vec<String>>>,
{
    let found = Arc::new(Mutex::new(Vec::new()));
    each_backend(Options::default(), |app| {
        let found = found.clone();
        let backend = format!("{:?}", app.store.backend());
        let run = story(app);
        async move {
            let problems = run.await?;
            let mut found = found.lock().expect("not poisoned");
            found.extend(problems.into_iter().map(|p| format!("[{backend}] {p}")));
            Ok(())
        }
    })
    .await;
    let found = found.lock().expect("not poisoned");
    assert!(
        found.is_empty(),
        "{} problems:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// The people and the shared team A every cell starts from.
struct World {
    app: TestApp,
    people: People,
    team_a: Tenant,
}

impl World {
    async fn build(app: TestApp) -> anyhow::Result<Self> {
        let people = People::sign_in(&app).await;
        let team_a = Tenant::build(&app, &people).await?;
        Ok(Self {
            app,
            people,
            team_a,
        })
    }

    /// Calls `row` as `caller`, with the isolation the row asks for.
    async fn call(&self, row: &Row, caller: Caller) -> anyhow::Result<Answer> {
        let own_team;
        let tenant = if row.isolation == Isolation::OwnTeam {
            own_team = Tenant::build(&self.app, &self.people).await?;
            &own_team
        } else {
            &self.team_a
        };
        let token = if row.isolation == Isolation::OwnInvitation {
            // Addressed to the caller, as an invitation they accept would be.
            let email = match caller {
                Caller::Person(role) => self.people.with_role(role).email.clone(),
                Caller::Outsider => self.people.outsider.email.clone(),
                _ => "guest@example.com".to_owned(),
            };
            invitation_elsewhere(&self.app, &self.people, &email).await?
        } else {
            String::new()
        };
        let mut client = self
            .client(caller, tenant, row.isolation == Isolation::OwnSession)
            .await;
        if names_team_by_header(row.path) {
            client = client.in_team(tenant.team);
        }
        let body = match &row.body {
            Body::Empty => None,
            Body::Json(value) => Some((
                "application/json",
                tenant.fill(&value.to_string(), &self.people, &token),
            )),
            Body::Yaml(text) => Some(("application/yaml", (*text).to_owned())),
        };
        let path = tenant.fill(row.path, &self.people, &token);
        Ok(request(&client, row.method.clone(), &path, body).await)
    }

    async fn client(&self, caller: Caller, tenant: &Tenant, own_session: bool) -> Client {
        let person = match caller {
            Caller::Person(role) => self.people.with_role(role),
            Caller::Outsider => &self.people.outsider,
            Caller::Key(ApiKeyScope::ReadOnly) => return tenant.read_only.clone(),
            Caller::Key(ApiKeyScope::ReadWrite) => return tenant.read_write.clone(),
            Caller::Anonymous => return self.app.anonymous(),
        };
        if own_session {
            self.app.login(&person.email).await
        } else {
            person.client.clone()
        }
    }
}

#[tokio::test]
async fn every_route_answers_each_caller_as_the_permission_rules_say() {
    on_every_backend(|app| async move {
        let world = World::build(app).await?;
        let rows = routes();
        let mut problems = Vec::new();
        for row in &rows {
            for caller in CALLERS {
                let want = expected(row.rule, caller);
                let answer = world.call(row, caller).await?;
                let cell = format!("{} {} as {caller}", row.method, row.path);
                if answer.status != want {
                    problems.push(format!(
                        "{cell}: expected {want}, got {} {}",
                        answer.status, answer.body
                    ));
                }
                if let Some(problem) = error_shape_problem(&answer) {
                    problems.push(format!("{cell}: {problem}"));
                }
            }
        }
        eprintln!(
            "{} rows × {} callers = {} cells checked",
            rows.len(),
            CALLERS.len(),
            rows.len() * CALLERS.len()
        );
        Ok(problems)
    })
    .await;
}

/// `/api/teams/{team}/members/{user}` and `/api/teams/{team}/members/{member}` are one route.
fn route_shape(method: &str, path: &str) -> String {
    let mut shape = format!("{} ", method.to_uppercase());
    let mut in_placeholder = false;
    for c in path.chars() {
        match c {
            '?' => break,
            '{' => in_placeholder = true,
            '}' => {
                in_placeholder = false;
                shape.push_str("{}");
            }
            _ if !in_placeholder => shape.push(c),
            _ => {}
        }
    }
    shape
}

/// A route added to `api/mod.rs` without a row here would escape the matrix.
#[test]
fn the_matrix_has_a_row_for_every_route_of_the_api() {
    let document = serde_json::to_value(watchtower_server::openapi_document()).expect("JSON");
    let methods = ["get", "put", "post", "delete", "patch"];
    let documented: BTreeSet<String> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            methods
                .iter()
                .filter(|method| item.get(**method).is_some())
                .map(move |method| route_shape(method, path))
        })
        .collect();
    let tested: BTreeSet<String> = routes()
        .iter()
        .map(|row| route_shape(row.method.as_str(), row.path))
        .collect();
    assert_eq!(
        documented.difference(&tested).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "routes without a row"
    );
    assert_eq!(
        tested.difference(&documented).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "rows for no route"
    );
}

/// Another team's ids answer 404 whatever the method, even to a caller who may do everything in
/// the team they act in: a 403 would tell that the id exists. Nothing changes behind the 404s.
#[tokio::test]
async fn another_teams_ids_answer_not_found_and_change_nothing() {
    on_every_backend(|app| async move {
        use Action::*;
        let people = People::sign_in(&app).await;
        let a = Tenant::build(&app, &people).await?;
        let b = people.outsider_team;
        let b_owner = &people.outsider.client;
        let (_, b_key) = create_key(b_owner, b, ApiKeyScope::ReadWrite).await?;
        let b_key = app.with_key(&b_key);
        let monitor = format!("/api/monitors/{}", a.monitor);
        let incident = format!("/api/incidents/{}", a.incident);
        let note = json!({"body": "not yours"});
        let status_page = format!("/api/status-pages/{}", a.page);
        let status_post = format!("{status_page}/incidents/{}", a.post);
        let foreign = [
            (Method::GET, monitor.clone(), None, ViewMonitors),
            (
                Method::PUT,
                monitor.clone(),
                Some(http_monitor("renamed")),
                UpdateMonitor,
            ),
            (Method::DELETE, monitor.clone(), None, DeleteMonitor),
            (Method::POST, format!("{monitor}/pause"), None, PauseMonitor),
            (
                Method::POST,
                format!("{monitor}/resume"),
                None,
                PauseMonitor,
            ),
            (Method::POST, format!("{monitor}/check"), None, CheckNow),
            (Method::GET, format!("{monitor}/results"), None, ViewResults),
            (Method::GET, format!("{monitor}/uptime"), None, ViewResults),
            (Method::GET, incident.clone(), None, ViewIncidents),
            (
                Method::POST,
                format!("{incident}/acknowledge"),
                None,
                AcknowledgeIncident,
            ),
            (
                Method::POST,
                format!("{incident}/notes"),
                Some(note),
                NoteIncident,
            ),
            (
                Method::DELETE,
                format!("/api/teams/{b}/api-keys/{}", a.spare_key),
                None,
                RevokeApiKey,
            ),
            (
                Method::DELETE,
                format!("/api/teams/{b}/invitations/{}", a.invitation),
                None,
                InviteMember,
            ),
            (
                Method::PATCH,
                format!("/api/teams/{b}/members/{}", people.spare),
                Some(json!({"role": "viewer"})),
                ChangeRole,
            ),
            (
                Method::DELETE,
                format!("/api/teams/{b}/members/{}", people.spare),
                None,
                RemoveMember,
            ),
            (Method::GET, status_page.clone(), None, ViewStatusPages),
            (
                Method::PUT,
                status_page.clone(),
                Some(json!({"slug": "taken-over", "title": "Ours now", "groups": []})),
                ManageStatusPages,
            ),
            (
                Method::GET,
                format!("{status_page}/incidents"),
                None,
                ViewStatusPages,
            ),
            (
                Method::POST,
                format!("{status_page}/incidents"),
                Some(json!({"title": "Planted", "impact": "sev1"})),
                PostStatusIncidents,
            ),
            (Method::GET, status_post.clone(), None, ViewStatusPages),
            (
                Method::POST,
                format!("{status_post}/updates"),
                Some(json!({"status": "resolved", "message": "not yours"})),
                PostStatusIncidents,
            ),
            (
                Method::POST,
                format!("{status_post}/publish"),
                None,
                PostStatusIncidents,
            ),
            (Method::DELETE, status_post.clone(), None, ManageStatusPages),
            (
                Method::GET,
                format!("{status_page}/subscribers"),
                None,
                ManageStatusPages,
            ),
            (
                Method::POST,
                format!("{status_page}/subscribers"),
                Some(json!({"kind": "webhook", "url": "http://127.0.0.1:9/planted"})),
                ManageStatusPages,
            ),
            (
                Method::PUT,
                format!("{status_page}/subscriber-channel"),
                Some(json!({"email_channel_id": null})),
                ManageStatusPages,
            ),
            (
                Method::DELETE,
                format!("{status_page}/subscribers/{}", a.subscriber),
                None,
                ManageStatusPages,
            ),
            (Method::DELETE, status_page.clone(), None, ManageStatusPages),
        ];
        let mut problems = Vec::new();
        let mut expect_not_found = |who: &str, method: &Method, path: &str, answer: Answer| {
            let cell = format!("{method} {path} as {who}");
            if answer.status != StatusCode::NOT_FOUND {
                problems.push(format!(
                    "{cell}: expected 404, got {} {}",
                    answer.status, answer.body
                ));
            }
            if let Some(problem) = error_shape_problem(&answer) {
                problems.push(format!("{cell}: {problem}"));
            }
        };
        for (method, path, body, action) in &foreign {
            let mut callers = vec![("team B's owner", b_owner.in_team(b))];
            if names_team_by_header(path) {
                callers.push(("team B's owner naming team A", b_owner.in_team(a.team)));
            }
            // A key is refused session-only actions before any lookup, whatever the id.
            if ApiKeyScope::ReadWrite.allows(Role::Admin, *action) {
                callers.push(("team B's read-write key", b_key.clone()));
            }
            for (who, client) in callers {
                let answer = client.send(method.clone(), path, body.clone()).await;
                expect_not_found(who, method, path, answer);
            }
        }

        // `X-Team-Id` naming a team the caller is not in, or no team at all.
        let no_team = TeamId(999_999);
        let header_callers = [
            ("team B's owner naming team A", b_owner.in_team(a.team)),
            (
                "team B's read-write key naming team A",
                b_key.in_team(a.team),
            ),
            ("team B's owner naming no team", b_owner.in_team(no_team)),
        ];
        for (who, client) in &header_callers {
            for (method, path, body) in [
                (Method::GET, "/api/monitors", None),
                (Method::POST, "/api/monitors", Some(http_monitor("planted"))),
                (Method::GET, "/api/incidents", None),
                (Method::GET, "/api/monitors/yaml", None),
            ] {
                let answer = client.send(method.clone(), path, body).await;
                expect_not_found(who, &method, path, answer);
            }
        }

        let store = &app.store;
        let now = Timestamp::now();
        let kept = store
            .get_monitor(a.team, a.monitor)
            .await?
            .context("monitor kept")?;
        if kept.spec.name != "web" || kept.spec.paused {
            problems.push(format!("team A's monitor changed: {:?}", kept.spec));
        }
        if store.count_monitors(a.team).await? != 2 {
            problems.push("a monitor was created in team A".into());
        }
        let incident = store
            .get_incident(a.team, a.incident)
            .await?
            .context("incident kept")?;
        if incident.acknowledged_at.is_some() {
            problems.push("team A's incident was acknowledged".into());
        }
        if !store.incident_notes(a.team, a.incident).await?.is_empty() {
            problems.push("team A's incident got a note".into());
        }
        let page = store
            .get_status_page(a.team, a.page)
            .await?
            .context("status page kept")?;
        if page.spec.title != "Status" || page.spec.groups.is_empty() {
            problems.push(format!("team A's status page changed: {:?}", page.spec));
        }
        let post = store
            .get_status_incident(a.team, a.page, a.post)
            .await?
            .context("status incident kept")?;
        let posts = store
            .page_status_incidents(
                a.page,
                watchtower_store::PagePosts::Newest(10),
                watchtower_store::PostReaders::Team,
            )
            .await?;
        if post.updates.len() != 1 || !post.is_open() || posts.len() != 1 {
            problems.push(format!("team A's incident posts changed: {posts:?}"));
        }
        let key_live = store
            .api_keys(a.team)
            .await?
            .iter()
            .any(|key| key.id.0 == a.spare_key && key.revoked_at.is_none());
        if !key_live {
            problems.push("team A's key was revoked".into());
        }
        let invitation_pending = store
            .invitations(a.team, now)
            .await?
            .iter()
            .any(|invitation| invitation.id.0 == a.invitation);
        if !invitation_pending {
            problems.push("team A's invitation was revoked".into());
        }
        if store.role_of(a.team, people.spare).await? != Some(Role::Member) {
            problems.push("team A's member was changed or removed".into());
        }
        Ok(problems)
    })
    .await;
}
