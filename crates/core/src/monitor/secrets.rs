//! A monitor's credentials (URL password, header values, bearer token, basic-auth password, push
//! token): replaced by [`REDACTED`] or a `${NAME}` reference wherever a spec is shown, and put
//! back from the stored spec when an update sends the marker or a reference instead of a value.

use super::{MonitorKind, MonitorSpec};
use crate::validation::FieldError;
use percent_encoding::percent_decode_str;
use serde_json::Value;

/// What answers and exports show in place of a secret; sent back, it keeps the stored secret.
pub const REDACTED: &str = "********";

/// One secret of a monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretField {
    /// The password in the URL's user-info (`https://user:password@host/`).
    UrlPassword,
    /// A custom request header's value: every one is treated as a secret, since a name does not
    /// tell whether its value is one (`X-Api-Key`, `X-Probe`).
    Header(String),
    Bearer,
    BasicPassword,
    /// The secret part of a push monitor's ping URL.
    PushToken,
    /// A Whop monitor's API key.
    WhopApiKey,
}

impl SecretField {
    /// The field's path in a monitor, as parse problems name it.
    pub fn path(&self) -> String {
        match self {
            Self::UrlPassword => "url".into(),
            Self::Header(name) => format!("headers.{name}"),
            Self::Bearer => "auth.bearer".into(),
            Self::BasicPassword => "auth.basic.password".into(),
            Self::PushToken => "token".into(),
            Self::WhopApiKey => "api_key".into(),
        }
    }

    /// The environment variable an export names for this field of the monitor `key`:
    /// `WATCHTOWER_SECRET_<KEY>_<FIELD>`, upper case, anything but letters and digits as `_`.
    pub fn env_name(&self, key: &str) -> String {
        let field = match self {
            Self::UrlPassword => "URL_PASSWORD".to_owned(),
            Self::Header(name) => format!("HEADER_{name}"),
            Self::Bearer => "BEARER".into(),
            Self::BasicPassword => "BASIC_PASSWORD".into(),
            Self::PushToken => "TOKEN".into(),
            Self::WhopApiKey => "WHOP_API_KEY".into(),
        };
        format!("WATCHTOWER_SECRET_{key}_{field}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect()
    }
}

/// Whether a secret's value asks to keep the stored one: the marker, or a whole `${NAME}`
/// reference (an export written with placeholders and uploaded as it is, where nothing resolves
/// references).
pub fn keeps_stored(value: &str) -> bool {
    value == REDACTED
        || value
            .strip_prefix("${")
            .and_then(|rest| rest.strip_suffix('}'))
            .is_some_and(|name| {
                name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
}

impl MonitorSpec {
    /// Calls `visit` with every secret the spec holds; a URL password is given percent-encoded,
    /// as the URL holds it, and is written back the same way.
    fn visit_secrets(&mut self, mut visit: impl FnMut(SecretField, &mut String)) {
        match &mut self.kind {
            MonitorKind::Http(http) => {
                if let Some(password) = http.url.password() {
                    let mut value = password.to_owned();
                    visit(SecretField::UrlPassword, &mut value);
                    if value != password {
                        // `set_password` fails only for URLs that cannot have one; ours has one.
                        let _ = http.url.set_password(Some(&value));
                    }
                }
                for (name, value) in &mut http.headers {
                    visit(SecretField::Header(name.clone()), value);
                }
                match &mut http.auth {
                    Some(super::HttpAuth::Bearer(token)) => visit(SecretField::Bearer, token),
                    Some(super::HttpAuth::Basic { password, .. }) => {
                        visit(SecretField::BasicPassword, password);
                    }
                    None => {}
                }
            }
            MonitorKind::Push(push) => {
                if let Some(token) = &mut push.token {
                    visit(SecretField::PushToken, token);
                }
            }
            MonitorKind::Whop(whop) => visit(SecretField::WhopApiKey, &mut whop.api_key),
            MonitorKind::Tcp(_)
            | MonitorKind::Ping(_)
            | MonitorKind::Dns(_)
            | MonitorKind::Tls(_) => {}
        }
    }

    /// Every secret of the spec with its field (URL passwords percent-encoded).
    pub fn secrets(&self) -> Vec<(SecretField, String)> {
        let mut found = Vec::new();
        self.clone()
            .visit_secrets(|field, value| found.push((field, value.clone())));
        found
    }

    /// Whether any secret asks to keep the stored one (see [`Self::restore_secrets`]).
    pub fn keeps_any_secret(&self) -> bool {
        self.secrets().iter().any(|(field, value)| match field {
            SecretField::UrlPassword => {
                keeps_stored(&percent_decode_str(value).decode_utf8_lossy())
            }
            _ => keeps_stored(value),
        })
    }

    /// The spec's JSON shape with each secret `replace` answers for replaced by that text (and
    /// left as it is where it answers `None`).
    pub fn value_with_secrets(&self, replace: impl Fn(&SecretField) -> Option<String>) -> Value {
        let mut spec = self.clone();
        // Each replaced secret first becomes a unique token that no URL encoding changes, then
        // the token becomes the replacement in the JSON text, which may hold `${`, `}` or `*`.
        let mut replacements = Vec::new();
        spec.visit_secrets(|field, value| {
            if let Some(text) = replace(&field) {
                let token = format!("wtsecretslot{}x", replacements.len());
                *value = token.clone();
                replacements.push((token, text));
            }
        });
        let mut shown = spec.to_value();
        replace_in_strings(&mut shown, &replacements);
        shown
    }

    /// The spec as API answers show it: every secret replaced by [`REDACTED`], except the push
    /// token when `show_push_token` (for callers who may edit the monitor and need its URL).
    pub fn redacted_value(&self, show_push_token: bool) -> Value {
        self.value_with_secrets(|field| {
            (!(show_push_token && *field == SecretField::PushToken)).then(|| REDACTED.to_owned())
        })
    }

    /// Puts the stored secrets back where this spec (an update) sends [`REDACTED`] or a `${NAME}`
    /// reference. A secret is kept only for the same field, and only while an HTTP monitor's URL
    /// keeps its origin: a stored credential is never sent to a place its owner did not choose.
    /// A kept field with nothing to keep (a new monitor, a new header) is a problem.
    pub fn restore_secrets(
        &mut self,
        stored: Option<&MonitorSpec>,
        prefix: &str,
    ) -> Result<(), Vec<FieldError>> {
        let stored_secrets = stored.map(MonitorSpec::secrets).unwrap_or_default();
        let same_origin = match (&self.kind, stored.map(|s| &s.kind)) {
            (MonitorKind::Http(new), Some(MonitorKind::Http(old))) => {
                new.url.origin() == old.url.origin()
            }
            (MonitorKind::Push(_), Some(MonitorKind::Push(_))) => true,
            // The key only ever goes to the operator's Whop API; it stays with its company.
            (MonitorKind::Whop(new), Some(MonitorKind::Whop(old))) => {
                new.company_id == old.company_id
            }
            _ => false,
        };
        let mut problems = Vec::new();
        self.visit_secrets(|field, value| {
            let asked = match field {
                SecretField::UrlPassword => percent_decode_str(value).decode_utf8_lossy(),
                _ => value.as_str().into(),
            };
            if !keeps_stored(&asked) {
                return;
            }
            let found = stored_secrets
                .iter()
                .find(|(stored, _)| match (stored, &field) {
                    (SecretField::Header(old), SecretField::Header(new)) => {
                        old.eq_ignore_ascii_case(new)
                    }
                    (old, new) => old == new,
                });
            let problem = match found {
                Some((_, secret)) if same_origin => {
                    *value = secret.clone();
                    return;
                }
                Some(_) => {
                    "keeps the stored secret, but the URL now points elsewhere (scheme, host or \
                     port changed): give the secret itself so it is only sent where you intend"
                }
                None => {
                    "is the redaction marker '********' or a ${NAME} reference, but no secret is \
                     stored for this field: give the secret itself"
                }
            };
            problems.push(FieldError {
                field: crate::validation::join_path(prefix, &field.path()),
                problem: problem.into(),
            });
        });
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

fn replace_in_strings(value: &mut Value, replacements: &[(String, String)]) {
    if replacements.is_empty() {
        return;
    }
    match value {
        Value::String(text) => {
            for (token, replacement) in replacements {
                if text.contains(token.as_str()) {
                    *text = text.replace(token.as_str(), replacement);
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| replace_in_strings(item, replacements)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|item| replace_in_strings(item, replacements)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(value: Value) -> MonitorSpec {
        MonitorSpec::parse(&value, "").unwrap_or_else(|e| panic!("{value}: {e:?}"))
    }

    fn with_every_secret() -> MonitorSpec {
        spec(json!({"key": "api-1", "name": "api", "kind": "http",
            "url": "https://probe:url-s3cret@api.example.com/health",
            "headers": {"X-Api-Key": "header-s3cret"}, "auth": {"bearer": "bearer-s3cret"}}))
    }

    #[test]
    fn redaction_hides_every_secret_and_keeps_the_rest() {
        let shown = with_every_secret().redacted_value(false).to_string();
        for secret in ["url-s3cret", "header-s3cret", "bearer-s3cret"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("https://probe:********@api.example.com/health"),
            "{shown}"
        );
        assert!(shown.contains(r#""X-Api-Key":"********""#), "{shown}");
        let basic = spec(json!({"name": "b", "kind": "http", "url": "http://h/",
            "auth": {"basic": {"username": "ann", "password": "basic-s3cret"}}}));
        let shown = basic.redacted_value(true).to_string();
        assert!(
            !shown.contains("basic-s3cret") && shown.contains("ann"),
            "{shown}"
        );
    }

    #[test]
    fn the_push_token_is_shown_only_when_asked() {
        let push = spec(json!({"name": "beat", "kind": "push", "period": "5m",
            "token": "push-token-s3cret-0123"}));
        assert!(
            !push
                .redacted_value(false)
                .to_string()
                .contains("push-token-s3cret")
        );
        assert_eq!(push.redacted_value(true)["token"], "push-token-s3cret-0123");
    }

    #[test]
    fn a_redacted_spec_sent_back_gets_its_secrets_again() {
        let stored = with_every_secret();
        for shown in [
            stored.redacted_value(false),
            stored.value_with_secrets(|field| Some(format!("${{{}}}", field.env_name("api-1")))),
        ] {
            let mut update = spec(shown.clone());
            update.restore_secrets(Some(&stored), "").unwrap();
            assert_eq!(update, stored, "{shown}");
        }
        let push = spec(json!({"name": "beat", "kind": "push", "period": "5m",
            "token": "push-token-s3cret-0123"}));
        let mut update = spec(push.redacted_value(false));
        update.restore_secrets(Some(&push), "").unwrap();
        assert_eq!(update, push);
    }

    #[test]
    fn a_kept_secret_is_refused_when_the_url_moves_or_nothing_is_stored() {
        let stored = with_every_secret();
        let mut moved = stored.redacted_value(false);
        moved["url"] = json!("https://probe:********@attacker.example.net/health");
        let problems = spec(moved).restore_secrets(Some(&stored), "").unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["url", "headers.X-Api-Key", "auth.bearer"]);
        assert!(!stored.keeps_any_secret());
        assert!(spec(stored.redacted_value(false)).keeps_any_secret());
        let problems = spec(stored.redacted_value(false))
            .restore_secrets(None, "monitors[2]")
            .unwrap_err();
        assert_eq!(problems[0].field, "monitors[2].url");
        assert!(problems[0].problem.contains("no secret is stored"));
    }

    #[test]
    fn new_secrets_replace_stored_ones() {
        let stored = with_every_secret();
        let mut update = stored.clone();
        let MonitorKind::Http(http) = &mut update.kind else {
            unreachable!()
        };
        http.auth = Some(super::super::HttpAuth::Bearer("rotated".into()));
        let wanted = update.clone();
        update.restore_secrets(Some(&stored), "").unwrap();
        assert_eq!(update, wanted);
    }

    #[test]
    fn env_names_are_valid_variable_names() {
        assert_eq!(
            SecretField::Header("X-Api-Key".into()).env_name("shop-api"),
            "WATCHTOWER_SECRET_SHOP_API_HEADER_X_API_KEY"
        );
        assert!(keeps_stored("${WATCHTOWER_SECRET_A_TOKEN}"));
        assert!(!keeps_stored("${not closed") && !keeps_stored("${1A}") && !keeps_stored("x"));
    }
}
