//! What `watchtower check` accepts: a URL of one of the probe schemes, or an inline monitor spec.

use serde_json::{Value, json};
use watchtower_core::{FieldError, MonitorKind, MonitorSpec};

/// Turns the command-line target into a monitor kind, or every problem with it.
pub fn parse_target(
    target: &str,
    timeout: std::time::Duration,
) -> Result<MonitorKind, Vec<String>> {
    let trimmed = target.trim();
    let mut spec = if trimmed.starts_with('{') || trimmed.contains("kind:") {
        inline_spec(trimmed)?
    } else {
        url_spec(trimmed)?
    };
    let object = spec
        .as_object_mut()
        .ok_or_else(|| vec!["the spec must be a mapping".to_owned()])?;
    object
        .entry("name")
        .or_insert_with(|| json!("command line check"));
    object.insert(
        "timeout".into(),
        json!(format!("{}ms", timeout.as_millis())),
    );
    object
        .entry("interval")
        .or_insert_with(|| json!(format!("{}ms", timeout.as_millis().max(1000))));
    MonitorSpec::parse(&spec, "")
        .map(|spec| spec.kind)
        .map_err(|errors| errors.iter().map(FieldError::to_string).collect())
}

fn inline_spec(text: &str) -> Result<Value, Vec<String>> {
    watchtower_core::monitors_file::yaml_to_json(text)
        .map_err(|problem| vec![format!("the spec is {}", problem.problem)])
}

fn url_spec(text: &str) -> Result<Value, Vec<String>> {
    let url = url::Url::parse(text).map_err(|error| {
        vec![format!("'{text}' is not a URL ({error}); use http(s)://, tcp://host:port, ping://host, dns://name or tls://host:port")]
    })?;
    let host = || {
        url.host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
    };
    let query = |name: &str| {
        url.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    Ok(match url.scheme() {
        "http" | "https" => json!({"kind": "http", "url": text}),
        "tcp" => json!({"kind": "tcp", "host": host(), "port": url.port()}),
        "ping" | "icmp" => json!({"kind": "ping", "host": host()}),
        "tls" => json!({"kind": "tls", "host": host(), "port": url.port().unwrap_or(443)}),
        "dns" => {
            json!({"kind": "dns", "host": host(), "record_type": query("type"), "resolver": query("server")})
        }
        other => {
            return Err(vec![format!(
                "'{other}' is not a scheme watchtower checks; use http, https, tcp, ping, dns or tls"
            )]);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn urls_of_every_scheme_become_kinds() {
        let timeout = Duration::from_secs(5);
        assert!(matches!(
            parse_target("https://example.com/", timeout),
            Ok(MonitorKind::Http(_))
        ));
        assert!(
            matches!(parse_target("tcp://127.0.0.1:5432", timeout), Ok(MonitorKind::Tcp(t)) if t.port == 5432)
        );
        assert!(
            matches!(parse_target("ping://[::1]", timeout), Ok(MonitorKind::Ping(p)) if p.host == "::1")
        );
        assert!(matches!(
            parse_target("dns://example.com?type=MX&server=127.0.0.1", timeout),
            Ok(MonitorKind::Dns(_))
        ));
        assert!(
            matches!(parse_target("tls://example.com", timeout), Ok(MonitorKind::Tls(t)) if t.port == 443)
        );
        assert!(matches!(
            parse_target("{kind: tcp, host: db, port: 5432}", timeout),
            Ok(MonitorKind::Tcp(_))
        ));
    }

    #[test]
    fn bad_targets_list_their_problems() {
        let timeout = Duration::from_secs(5);
        assert!(parse_target("gopher://x", timeout).unwrap_err()[0].contains("not a scheme"));
        assert!(parse_target("tcp://host", timeout).unwrap_err()[0].contains("port"));
        assert!(parse_target("not a url", timeout).is_err());
    }
}
