//! Where notifications may be sent in multi-tenant mode: the same rule as checks
//! (`watchtower_checks::AddressPolicy`), applied to the addresses actually dialled. Names go
//! through [`PolicyResolver`], which drops every address the policy refuses, so a webhook host
//! that resolves (or rebinds) to an internal address cannot be reached; literal addresses in a
//! channel's URL never reach a resolver and are checked by [`check_endpoint`].

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use watchtower_checks::AddressPolicy;

/// A DNS resolver for the notification client that only returns allowed addresses.
#[derive(Debug, Clone, Copy)]
pub struct PolicyResolver(pub AddressPolicy);

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn names_resolving_to_internal_addresses_are_refused_in_public_only_mode() {
        let public_only = PolicyResolver(AddressPolicy::PublicOnly);
        let name: Name = "localhost".parse().unwrap();
        let refused = public_only.resolve(name).await.err().expect("refused");
        assert!(refused.to_string().contains("not allowed"), "{refused}");
        let allow_all = PolicyResolver(AddressPolicy::AllowAll);
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
