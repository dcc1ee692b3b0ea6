//! Where notifications may be sent in multi-tenant mode: the same rule as checks
//! (`watchtower_checks::AddressPolicy`), applied to the addresses actually dialled. Names go
//! through [`PolicyResolver`], which drops every address the policy refuses, so a webhook host
//! that resolves (or rebinds) to an internal address cannot be reached; literal addresses in a
//! channel's URL never reach a resolver and are checked by [`check_endpoint`].
//!
//! Through an operator's proxy (`serve --outbound-proxy`) the proxy dials the destination, so
//! [`check_destination`] judges it before the request is handed over: every address the name
//! has must be allowed, since the proxy may pick any of them. The proxy's own host is the
//! operator's choice and is not judged.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use watchtower_checks::AddressPolicy;

/// A DNS resolver for the notification client that only returns allowed addresses.
#[derive(Debug, Clone)]
pub struct PolicyResolver {
    policy: AddressPolicy,
    /// The operator's proxy host, resolved without judgement.
    proxy_host: Option<String>,
}

impl PolicyResolver {
    pub fn new(policy: AddressPolicy, proxy: Option<&url::Url>) -> Self {
        Self {
            policy,
            proxy_host: proxy.and_then(|url| url.host_str()).map(str::to_owned),
        }
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let trusted = self.proxy_host.as_deref() == Some(name.as_str());
        let policy = if trusted {
            AddressPolicy::AllowAll
        } else {
            self.policy
        };
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|address| policy.check(address.ip()).is_ok())
                .collect();
            if allowed.is_empty() {
                let refused = found
                    .first()
                    .and_then(|address| policy.check(address.ip()).err())
                    .map_or_else(
                        || format!("{host} has no address"),
                        |denied| denied.to_string(),
                    );
                return Err(refused.into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// Refuses a channel endpoint whose host is a literal address the policy does not allow.
pub fn check_endpoint(policy: AddressPolicy, host: Option<&str>) -> Result<(), String> {
    let Some(host) = host else { return Ok(()) };
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    match literal.parse::<IpAddr>() {
        Ok(address) => policy.check(address).map_err(|denied| denied.to_string()),
        Err(_) => Ok(()),
    }
}

/// Judges the destination of a request that a proxy will dial: its host, resolved here, must
/// have only addresses the policy allows.
pub async fn check_destination(policy: AddressPolicy, url: &url::Url) -> Result<(), String> {
    if policy == AddressPolicy::AllowAll {
        return Ok(());
    }
    let host = url.host_str().ok_or("the URL has no host")?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let found: Vec<IpAddr> = match bare.parse::<IpAddr>() {
        Ok(address) => vec![address],
        Err(_) => tokio::net::lookup_host((bare, url.port_or_known_default().unwrap_or(0)))
            .await
            .map_err(|error| format!("{host} does not resolve: {error}"))?
            .map(|address| address.ip())
            .collect(),
    };
    if found.is_empty() {
        return Err(format!("{host} has no address"));
    }
    found
        .into_iter()
        .try_for_each(|address| policy.check(address))
        .map_err(|denied| denied.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn names_resolving_to_internal_addresses_are_refused_in_public_only_mode() {
        let public_only = PolicyResolver::new(AddressPolicy::PublicOnly, None);
        let name: Name = "localhost".parse().unwrap();
        let refused = public_only.resolve(name).await.err().expect("refused");
        assert!(refused.to_string().contains("not allowed"), "{refused}");
        let allow_all = PolicyResolver::new(AddressPolicy::AllowAll, None);
        let name: Name = "localhost".parse().unwrap();
        assert!(allow_all.resolve(name).await.is_ok());
    }

    #[test]
    fn literal_internal_endpoints_are_refused_in_public_only_mode() {
        assert!(check_endpoint(AddressPolicy::PublicOnly, Some("127.0.0.1")).is_err());
        assert!(check_endpoint(AddressPolicy::PublicOnly, Some("[::1]")).is_err());
        assert!(check_endpoint(AddressPolicy::PublicOnly, Some("169.254.169.254")).is_err());
        assert!(check_endpoint(AddressPolicy::PublicOnly, Some("hooks.example.com")).is_ok());
        assert!(check_endpoint(AddressPolicy::AllowAll, Some("127.0.0.1")).is_ok());
    }
}
