//! Accounts and teams as people type them: email addresses, the password policy and team names,
//! each parsed once at the edge into a type that cannot hold a bad value.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An email address: trimmed, with one `@`, its domain lowercased. Quoted local parts and
/// comments are not accepted. A dot in the domain is not required (`admin@localhost` works for a
/// self-hosted instance).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// The longest address (RFC 5321's path limit less the angle brackets).
    pub const MAX_LEN: usize = 254;
    const MAX_LOCAL_LEN: usize = 64;

    /// Parses an address as typed, returning what is wrong with it.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        if text.is_empty() {
            return Err("is required".into());
        }
        if text.len() > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must not contain spaces or control characters".into());
        }
        let (local, domain) = match text.split_once('@') {
            Some((local, domain)) if !domain.contains('@') => (local, domain),
            _ => {
                return Err("must hold exactly one '@', as in name@example.com".into());
            }
        };
        if local.is_empty() || local.len() > Self::MAX_LOCAL_LEN {
            return Err(format!(
                "must have 1 to {} characters before the '@'",
                Self::MAX_LOCAL_LEN
            ));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err("must not start or end with '.' or hold '..' before the '@'".into());
        }
        let domain = domain.to_lowercase();
        let valid_label = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if !domain.split('.').all(valid_label) {
            return Err(format!(
                "'{domain}' is not a domain name; write one like example.com"
            ));
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    /// The address as stored and shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map_or("", |(local, _)| local)
    }

    /// The form used to find an account and keep addresses unique: wholly lowercased, since
    /// people do not retype case consistently and mail providers ignore it.
    pub fn lookup_key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a new password must be. Lengths count characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_chars: usize,
    /// An upper bound keeps hashing cost bounded for every request.
    pub max_chars: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl PasswordPolicy {
    /// 10 to 128 characters.
    pub const DEFAULT: PasswordPolicy = PasswordPolicy {
        min_chars: 10,
        max_chars: 128,
    };

    /// Every problem with `password` for the account of `email`; empty when it is acceptable.
    /// A password may not be one character repeated, nor the address or the part before its
    /// `@` in any case.
    pub fn check(&self, password: &str, email: Option<&Email>) -> Vec<String> {
        let mut problems = Vec::new();
        let length = password.chars().count();
        if length < self.min_chars || length > self.max_chars {
            problems.push(format!(
                "must be {} to {} characters",
                self.min_chars, self.max_chars
            ));
        }
        let mut chars = password.chars();
        if let Some(first) = chars.next()
            && chars.all(|c| c == first)
        {
            problems.push("must not be one character repeated".into());
        }
        if let Some(email) = email {
            let lowered = password.to_lowercase();
            if lowered == email.lookup_key() || lowered == email.local_part().to_lowercase() {
                problems.push("must not be your email address".into());
            }
        }
        problems
    }
}

/// A team's name: trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TeamName(String);

impl TeamName {
    pub const MAX_CHARS: usize = 100;

    /// Parses a name as typed, returning what is wrong with it.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > Self::MAX_CHARS {
            return Err(format!("must be 1 to {} characters", Self::MAX_CHARS));
        }
        if name.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TeamName {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TeamName> for String {
    fn from(name: TeamName) -> Self {
        name.0
    }
}

impl fmt::Display for TeamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_trimmed_and_its_domain_lowercased() {
        let email = Email::parse("  Jane.Doe+alerts@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "Jane.Doe+alerts@example.com");
        assert_eq!(email.local_part(), "Jane.Doe+alerts");
        assert_eq!(email.lookup_key(), "jane.doe+alerts@example.com");
        assert_eq!(
            Email::parse("admin@localhost").unwrap().as_str(),
            "admin@localhost"
        );
        assert!(Email::parse("ops@bücher.de").is_ok());
    }

    #[test]
    fn a_bad_email_says_what_is_wrong() {
        let cases = [
            ("", "is required"),
            ("   ", "is required"),
            ("jane.example.com", "exactly one '@'"),
            ("a@b@example.com", "exactly one '@'"),
            ("@example.com", "before the '@'"),
            ("jane@", "is not a domain name"),
            ("jane@example..com", "is not a domain name"),
            ("jane@-example.com", "is not a domain name"),
            ("jane@exa_mple.com", "is not a domain name"),
            ("ja ne@example.com", "spaces"),
            (".jane@example.com", "'..'"),
            ("jane..doe@example.com", "'..'"),
        ];
        for (raw, expected) in cases {
            let problem = Email::parse(raw).unwrap_err();
            assert!(problem.contains(expected), "{raw:?}: {problem}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(Email::parse(&long_local).unwrap_err().contains("1 to 64"));
        let long = format!("a@{}.com", "b".repeat(250));
        assert!(Email::parse(&long).unwrap_err().contains("at most 254"));
    }

    #[test]
    fn an_email_round_trips_through_serde_and_is_checked_there() {
        let email: Email = serde_json::from_str("\"Ops@Example.com\"").unwrap();
        assert_eq!(
            serde_json::to_string(&email).unwrap(),
            "\"Ops@example.com\""
        );
        assert!(serde_json::from_str::<Email>("\"nope\"").is_err());
    }

    #[test]
    fn the_password_policy_lists_every_problem() {
        let policy = PasswordPolicy::default();
        let email = Email::parse("Jane.Doe1@example.com").unwrap();
        assert!(policy.check("correct horse", Some(&email)).is_empty());
        assert!(policy.check(&"x1".repeat(5), None).is_empty(), "exactly 10");
        assert_eq!(
            policy.check("short", None),
            ["must be 10 to 128 characters"]
        );
        assert_eq!(policy.check(&"ab".repeat(64), None), Vec::<String>::new());
        assert_eq!(policy.check(&"a".repeat(129), None).len(), 2);
        assert_eq!(
            policy.check("aaaaaaaaaaaa", None),
            ["must not be one character repeated"]
        );
        assert_eq!(
            policy.check("JANE.DOE1@EXAMPLE.COM", Some(&email)),
            ["must not be your email address"]
        );
        assert_eq!(
            policy.check("jane.doe1x", Some(&email)),
            Vec::<String>::new()
        );
        assert_eq!(policy.check("Jane.Doe1", Some(&email)).len(), 2);
        // Characters, not bytes: ten accented letters are long enough.
        assert!(policy.check("éèêëéèêëéè", None).is_empty());
    }

    #[test]
    fn a_team_name_is_trimmed_and_bounded() {
        assert_eq!(TeamName::parse("  Ops team ").unwrap().as_str(), "Ops team");
        assert!(TeamName::parse(" ").unwrap_err().contains("1 to 100"));
        assert!(TeamName::parse(&"x".repeat(101)).is_err());
        assert!(TeamName::parse(&"é".repeat(100)).is_ok());
        assert!(TeamName::parse("a\u{7}b").unwrap_err().contains("control"));
        let name: TeamName = serde_json::from_str("\" Ops \"").unwrap();
        assert_eq!(name.to_string(), "Ops");
    }
}
