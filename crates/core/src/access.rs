//! Who may do what in a team: roles, the actions they allow (the one permission matrix, documented
//! in docs/PERMISSIONS.md), the rules for changing roles, and how an API key's scope narrows a role.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A member's role in one team, from least to most trusted (`Viewer < Member < Admin < Owner`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything a team has, changes nothing.
    Viewer,
    /// Runs the monitoring: monitors, incidents, maintenance windows, alert rules.
    Member,
    /// Runs the team: members, API keys, channels, status pages, audit log.
    Admin,
    /// Everything, including billing and deleting the team.
    Owner,
}

impl Role {
    /// Every role, most trusted first, as the matrix in docs/PERMISSIONS.md lists them.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Member, Role::Viewer];

    /// Parses the API spelling (`owner`, `admin`, `member`, `viewer`).
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == raw)
            .ok_or_else(|| format!("'{raw}' is not a role; use owner, admin, member or viewer"))
    }

    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    /// The permission matrix: whether this role may perform `action` in its team.
    /// Each action names the least role that may perform it; every higher role may too.
    pub fn allows(self, action: Action) -> bool {
        use Action::*;
        let least = match action {
            ViewMonitors | ViewResults | ViewIncidents | ViewMaintenance | ViewAlerting
            | ViewStatusPages | ViewTeam | ExportYaml => Role::Viewer,
            CreateMonitor | UpdateMonitor | DeleteMonitor | PauseMonitor | CheckNow
            | AcknowledgeIncident | NoteIncident | PostStatusIncidents | ManageMaintenance
            | ManageAlertRules | ApplyYaml => Role::Member,
            UpdateTeam | InviteMember | RemoveMember | ChangeRole | ViewApiKeys | CreateApiKey
            | RevokeApiKey | ManageChannels | ManageStatusPages | ViewAuditLog
            | ViewSecurityEvents => Role::Admin,
            ManageBilling | DeleteTeam => Role::Owner,
        };
        self >= least
    }

    /// Whether this role may give `role` to someone, by invitation or by a role change.
    /// Only an owner makes owners; an admin grants any other role; members and viewers none.
    pub fn can_grant(self, role: Role) -> bool {
        self.allows(Action::ChangeRole) && (role != Role::Owner || self == Role::Owner)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// A macro only so `Action::ALL` and the API names cannot miss a variant.
macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// Everything a team member can do through the API or the web interface.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Action {
            $($(#[$doc])* $variant,)*
        }

        impl Action {
            /// Every action, in the order of the matrix in docs/PERMISSIONS.md.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The snake_case name used in the API, the audit log and the docs.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }
        }
    };
}

actions! {
    /// List and read monitors and their settings.
    ViewMonitors = "view_monitors",
    /// Read check results, uptime and latency.
    ViewResults = "view_results",
    /// List and read incidents and their notes.
    ViewIncidents = "view_incidents",
    /// Read maintenance windows.
    ViewMaintenance = "view_maintenance",
    /// Read channels (secrets hidden) and alert rules.
    ViewAlerting = "view_alerting",
    /// Read status pages.
    ViewStatusPages = "view_status_pages",
    /// Read the team: its name, members, plan and usage.
    ViewTeam = "view_team",
    /// Export the team's monitors as YAML.
    ExportYaml = "export_yaml",
    /// Create a monitor.
    CreateMonitor = "create_monitor",
    /// Change a monitor's settings.
    UpdateMonitor = "update_monitor",
    /// Delete a monitor and its history.
    DeleteMonitor = "delete_monitor",
    /// Pause or resume a monitor.
    PauseMonitor = "pause_monitor",
    /// Run a monitor's check now.
    CheckNow = "check_now",
    /// Acknowledge an incident.
    AcknowledgeIncident = "acknowledge_incident",
    /// Add a note to an incident.
    NoteIncident = "note_incident",
    /// Post incidents and their updates on the team's status pages.
    PostStatusIncidents = "post_status_incidents",
    /// Create, change and delete maintenance windows.
    ManageMaintenance = "manage_maintenance",
    /// Create, change and delete alert rules (which route to channels an admin set up).
    ManageAlertRules = "manage_alert_rules",
    /// Apply a YAML file of monitors to the team.
    ApplyYaml = "apply_yaml",
    /// Rename the team.
    UpdateTeam = "update_team",
    /// Invite someone to the team.
    InviteMember = "invite_member",
    /// Remove someone from the team.
    RemoveMember = "remove_member",
    /// Change a member's role (further limited by [`check_role_change`]).
    ChangeRole = "change_role",
    /// List the team's API keys and their last use.
    ViewApiKeys = "view_api_keys",
    /// Create an API key.
    CreateApiKey = "create_api_key",
    /// Revoke an API key.
    RevokeApiKey = "revoke_api_key",
    /// Create, change and delete notification channels, which hold credentials.
    ManageChannels = "manage_channels",
    /// Create, change and delete status pages, which are public.
    ManageStatusPages = "manage_status_pages",
    /// Read the team's audit log.
    ViewAuditLog = "view_audit_log",
    /// Read security events (failed logins and the like) of the team's members.
    ViewSecurityEvents = "view_security_events",
    /// Change the team's plan and billing.
    ManageBilling = "manage_billing",
    /// Delete the team and everything it owns.
    DeleteTeam = "delete_team",
}

impl Action {
    /// Parses the API spelling, such as `create_monitor`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|action| action.as_str() == raw)
            .ok_or_else(|| format!("'{raw}' is not an action"))
    }

    /// Whether the action only reads: nothing is created, changed, run or sent.
    pub fn is_read(self) -> bool {
        use Action::*;
        matches!(
            self,
            ViewMonitors
                | ViewResults
                | ViewIncidents
                | ViewMaintenance
                | ViewAlerting
                | ViewStatusPages
                | ViewTeam
                | ExportYaml
                | ViewApiKeys
                | ViewAuditLog
                | ViewSecurityEvents
        )
    }

    /// Whether the action needs a signed-in person and is refused to every API key: a leaked
    /// key must not be able to grant lasting access (members, roles, more keys) or end the team.
    pub fn needs_session(self) -> bool {
        use Action::*;
        matches!(
            self,
            InviteMember | RemoveMember | ChangeRole | CreateApiKey | ManageBilling | DeleteTeam
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an API key may do. A key acts with a role in its team, narrowed by its scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyScope {
    /// Only read actions.
    ReadOnly,
    /// Whatever the role allows, except actions that need a session.
    ReadWrite,
}

impl ApiKeyScope {
    /// Parses the API spelling (`read_only`, `read_write`).
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "read_only" => Ok(Self::ReadOnly),
            "read_write" => Ok(Self::ReadWrite),
            _ => Err(format!(
                "'{raw}' is not a key scope; use read_only or read_write"
            )),
        }
    }

    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "read_only",
            Self::ReadWrite => "read_write",
        }
    }

    /// Whether a key of this scope, acting with `role`, may perform `action`.
    pub fn allows(self, role: Role, action: Action) -> bool {
        let scope_allows = match self {
            Self::ReadOnly => action.is_read(),
            Self::ReadWrite => !action.needs_session(),
        };
        scope_allows && role.allows(action)
    }
}

/// Why a change to someone's membership was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MembershipDenied {
    /// The actor's role does not allow the action at all (HTTP 403).
    #[error("your role does not allow changing members or their roles")]
    NotPermitted,
    /// Only an owner may grant the owner role or change or remove an owner (HTTP 403).
    #[error("only an owner can grant the owner role or change or remove an owner")]
    OwnerOnly,
    /// The change would leave the team without an owner (HTTP 409).
    #[error("a team needs at least one owner; make another member owner first")]
    LastOwner,
}

/// Checks that `actor` may change a member's role from `from` to `to`, in a team that has
/// `owners` owners now. Applies to changing one's own role too.
pub fn check_role_change(
    actor: Role,
    from: Role,
    to: Role,
    owners: u32,
) -> Result<(), MembershipDenied> {
    if !actor.allows(Action::ChangeRole) {
        return Err(MembershipDenied::NotPermitted);
    }
    if !actor.can_grant(to) || (from == Role::Owner && actor != Role::Owner) {
        return Err(MembershipDenied::OwnerOnly);
    }
    if from == Role::Owner && to != Role::Owner && owners <= 1 {
        return Err(MembershipDenied::LastOwner);
    }
    Ok(())
}

/// Checks that `actor` may remove a member whose role is `target` from a team with `owners` owners.
pub fn check_removal(actor: Role, target: Role, owners: u32) -> Result<(), MembershipDenied> {
    if !actor.allows(Action::RemoveMember) {
        return Err(MembershipDenied::NotPermitted);
    }
    if target == Role::Owner && actor != Role::Owner {
        return Err(MembershipDenied::OwnerOnly);
    }
    check_leave(target, owners)
}

/// Checks that a member with `role` may leave a team with `owners` owners: anyone may, except
/// the last owner.
pub fn check_leave(role: Role, owners: u32) -> Result<(), MembershipDenied> {
    if role == Role::Owner && owners <= 1 {
        return Err(MembershipDenied::LastOwner);
    }
    Ok(())
}

/// Checks that `actor` may invite someone with `role`.
pub fn check_invitation(actor: Role, role: Role) -> Result<(), MembershipDenied> {
    if !actor.allows(Action::InviteMember) {
        return Err(MembershipDenied::NotPermitted);
    }
    if !actor.can_grant(role) {
        return Err(MembershipDenied::OwnerOnly);
    }
    Ok(())
}

/// The actions applying a monitors file needs: `apply_yaml` for its monitors, plus the actions of
/// the API routes for whatever else it declares, so a file is never a way around them. Channels
/// hold credentials and send outside (`manage_channels`, as `POST /api/channels`); alert rules
/// need `manage_alert_rules` (as `POST /api/alert-rules`).
pub fn monitors_file_actions(declares_channels: bool, declares_rules: bool) -> Vec<Action> {
    let mut actions = vec![Action::ApplyYaml];
    if declares_channels {
        actions.push(Action::ManageChannels);
    }
    if declares_rules {
        actions.push(Action::ManageAlertRules);
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    #[test]
    fn a_monitors_file_needs_the_actions_of_everything_it_declares() {
        assert_eq!(monitors_file_actions(false, false), [ApplyYaml]);
        assert_eq!(
            monitors_file_actions(true, true),
            [ApplyYaml, ManageChannels, ManageAlertRules]
        );
        let member_may = |actions: Vec<Action>| actions.iter().all(|a| Role::Member.allows(*a));
        assert!(member_may(monitors_file_actions(false, true)));
        assert!(
            !member_may(monitors_file_actions(true, false)),
            "a member may not create or change channels through a file"
        );
    }

    /// The permission matrix, pinned. Columns: Owner, Admin, Member, Viewer; `-` means refused.
    /// A change here is a change to who may do what: update docs/PERMISSIONS.md with it.
    const MATRIX: &[(Action, &str)] = &[
        (ViewMonitors, "OAMV"),
        (ViewResults, "OAMV"),
        (ViewIncidents, "OAMV"),
        (ViewMaintenance, "OAMV"),
        (ViewAlerting, "OAMV"),
        (ViewStatusPages, "OAMV"),
        (ViewTeam, "OAMV"),
        (ExportYaml, "OAMV"),
        (CreateMonitor, "OAM-"),
        (UpdateMonitor, "OAM-"),
        (DeleteMonitor, "OAM-"),
        (PauseMonitor, "OAM-"),
        (CheckNow, "OAM-"),
        (AcknowledgeIncident, "OAM-"),
        (NoteIncident, "OAM-"),
        (PostStatusIncidents, "OAM-"),
        (ManageMaintenance, "OAM-"),
        (ManageAlertRules, "OAM-"),
        (ApplyYaml, "OAM-"),
        (UpdateTeam, "OA--"),
        (InviteMember, "OA--"),
        (RemoveMember, "OA--"),
        (ChangeRole, "OA--"),
        (ViewApiKeys, "OA--"),
        (CreateApiKey, "OA--"),
        (RevokeApiKey, "OA--"),
        (ManageChannels, "OA--"),
        (ManageStatusPages, "OA--"),
        (ViewAuditLog, "OA--"),
        (ViewSecurityEvents, "OA--"),
        (ManageBilling, "O---"),
        (DeleteTeam, "O---"),
    ];

    #[test]
    fn every_role_and_action_matches_the_pinned_matrix() {
        let listed: Vec<Action> = MATRIX.iter().map(|(action, _)| *action).collect();
        assert_eq!(
            listed,
            Action::ALL,
            "MATRIX must list every action in order"
        );
        for (action, row) in MATRIX {
            for (column, role) in Role::ALL.into_iter().enumerate() {
                let expected = row.as_bytes()[column] != b'-';
                assert_eq!(role.allows(*action), expected, "{role} × {action}");
            }
        }
    }

    #[test]
    fn a_higher_role_allows_everything_a_lower_one_does() {
        for pair in Role::ALL.windows(2) {
            assert!(pair[0] > pair[1]);
            for action in Action::ALL {
                assert!(!pair[1].allows(*action) || pair[0].allows(*action));
            }
        }
    }

    #[test]
    fn names_round_trip_and_match_serde() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Ok(*action));
            assert_eq!(serde_json::to_value(action).unwrap(), action.as_str());
        }
        for scope in [ApiKeyScope::ReadOnly, ApiKeyScope::ReadWrite] {
            assert_eq!(ApiKeyScope::parse(scope.as_str()), Ok(scope));
            assert_eq!(serde_json::to_value(scope).unwrap(), scope.as_str());
        }
        assert!(
            Role::parse("OWNER")
                .unwrap_err()
                .contains("use owner, admin")
        );
        assert!(Action::parse("fly").is_err());
        assert!(ApiKeyScope::parse("all").is_err());
    }

    #[test]
    fn a_read_only_key_allows_exactly_the_reads_its_role_allows() {
        let reads = [
            ViewMonitors,
            ViewResults,
            ViewIncidents,
            ViewMaintenance,
            ViewAlerting,
            ViewStatusPages,
            ViewTeam,
            ExportYaml,
            ViewApiKeys,
            ViewAuditLog,
            ViewSecurityEvents,
        ];
        for role in Role::ALL {
            for action in Action::ALL {
                let expected = reads.contains(action) && role.allows(*action);
                assert_eq!(
                    ApiKeyScope::ReadOnly.allows(role, *action),
                    expected,
                    "read-only {role} key × {action}"
                );
            }
        }
    }

    #[test]
    fn a_read_write_key_allows_its_role_except_team_management() {
        let session_only = [
            InviteMember,
            RemoveMember,
            ChangeRole,
            CreateApiKey,
            ManageBilling,
            DeleteTeam,
        ];
        for role in Role::ALL {
            for action in Action::ALL {
                let expected = !session_only.contains(action) && role.allows(*action);
                assert_eq!(
                    ApiKeyScope::ReadWrite.allows(role, *action),
                    expected,
                    "read-write {role} key × {action}"
                );
            }
        }
    }

    #[test]
    fn role_changes_follow_the_owner_rules() {
        use MembershipDenied::*;
        use Role::*;
        // (actor, from, to, owners now, outcome)
        let cases = [
            (Owner, Member, Admin, 1, Ok(())),
            (Owner, Admin, Owner, 1, Ok(())),
            (Owner, Owner, Admin, 2, Ok(())),
            (Owner, Owner, Viewer, 1, Err(LastOwner)),
            (Owner, Owner, Owner, 1, Ok(())),
            (Admin, Viewer, Member, 1, Ok(())),
            (Admin, Member, Admin, 1, Ok(())),
            (Admin, Admin, Viewer, 1, Ok(())),
            (Admin, Member, Owner, 1, Err(OwnerOnly)),
            (Admin, Admin, Owner, 1, Err(OwnerOnly)),
            (Admin, Owner, Member, 3, Err(OwnerOnly)),
            (Member, Viewer, Member, 1, Err(NotPermitted)),
            (Member, Member, Admin, 1, Err(NotPermitted)),
            (Viewer, Viewer, Owner, 1, Err(NotPermitted)),
        ];
        for (actor, from, to, owners, outcome) in cases {
            assert_eq!(
                check_role_change(actor, from, to, owners),
                outcome,
                "{actor} changes {from} to {to} with {owners} owners"
            );
        }
    }

    #[test]
    fn removals_leaving_and_invitations_follow_the_owner_rules() {
        use MembershipDenied::*;
        use Role::*;
        assert_eq!(check_removal(Owner, Owner, 2), Ok(()));
        assert_eq!(check_removal(Owner, Owner, 1), Err(LastOwner));
        assert_eq!(check_removal(Admin, Admin, 1), Ok(()));
        assert_eq!(check_removal(Admin, Owner, 2), Err(OwnerOnly));
        assert_eq!(check_removal(Member, Viewer, 1), Err(NotPermitted));
        assert_eq!(check_leave(Viewer, 1), Ok(()));
        assert_eq!(check_leave(Owner, 2), Ok(()));
        assert_eq!(check_leave(Owner, 1), Err(LastOwner));
        assert_eq!(check_invitation(Owner, Owner), Ok(()));
        assert_eq!(check_invitation(Admin, Admin), Ok(()));
        assert_eq!(check_invitation(Admin, Owner), Err(OwnerOnly));
        assert_eq!(check_invitation(Member, Viewer), Err(NotPermitted));
        assert!(LastOwner.to_string().contains("at least one owner"));
    }
}
