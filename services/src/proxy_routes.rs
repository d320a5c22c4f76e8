//! The route table the CLI's local proxy (`authsome run`) matches outgoing requests against.

use std::collections::{BTreeSet, HashSet};

use authsome_domain::ProviderName;
use authsome_domain::provider_definition::{ApiUrls, ProviderDefinition, url_path};

use crate::ServiceError;
use crate::context::ServiceContext;
use crate::credentials::{self, VaultScope};
use crate::ownership::Caller;

/// Which providers to route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteScope {
    /// Providers the caller has a default connection for (or a global one).
    Connected,
    /// Every provider with an API address.
    Configured,
}

fn auth_endpoint_paths(definition: &ProviderDefinition) -> Vec<String> {
    let mut paths = BTreeSet::new();
    if let Some(oauth) = &definition.oauth {
        let urls = [
            Some(oauth.authorization_url.as_str()),
            Some(oauth.token_url.as_str()),
            oauth.revocation_url.as_deref(),
            oauth.device_authorization_url.as_deref(),
            definition
                .registration
                .as_ref()
                .and_then(|r| r.registration_endpoint.as_deref()),
        ];
        for url in urls.into_iter().flatten().filter(|u| !u.is_empty()) {
            paths.insert(url_path(url));
        }
    }
    paths.into_iter().collect()
}

/// One target the proxy matches outgoing requests against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyRouteEntry {
    /// Provider name.
    pub provider: String,
    /// The connection to resolve.
    pub connection: String,
    /// Host, URL or `regex:` pattern.
    pub api_url: String,
    /// Paths of the provider's auth endpoints, sorted.
    pub auth_endpoint_paths: Vec<String>,
}

impl ProxyRouteEntry {
    fn is_regex(&self) -> bool {
        self.api_url.starts_with("regex:")
    }
}

fn entries(definition: &ProviderDefinition, connection: &str, targets: &[String], routes: &mut Vec<ProxyRouteEntry>) {
    let paths = auth_endpoint_paths(definition);
    for target in targets.iter().filter(|t| !t.trim().is_empty()) {
        routes.push(ProxyRouteEntry {
            provider: definition.name.clone(),
            connection: connection.to_owned(),
            api_url: target.clone(),
            auth_endpoint_paths: paths.clone(),
        });
    }
}

fn definition_targets(definition: &ProviderDefinition) -> Vec<String> {
    match &definition.api_url {
        None => Vec::new(),
        Some(ApiUrls::One(url)) => vec![url.clone()],
        Some(ApiUrls::Many(urls)) => urls.clone(),
    }
}

/// The routes, non-regex targets first, then by provider name.
pub async fn build(
    state: &ServiceContext,
    caller: &Caller,
    scope: RouteScope,
) -> Result<Vec<ProxyRouteEntry>, ServiceError> {
    let mut routes = Vec::new();
    match scope {
        RouteScope::Connected => {
            let mut routed = HashSet::new();
            for group in credentials::list_connections(&VaultScope::of(state, caller)).await? {
                let Ok(provider) = ProviderName::parse(&group.name) else {
                    continue;
                };
                let Some(definition) = state.catalog.find(&provider).await? else {
                    continue;
                };
                if definition.api_url.is_none() {
                    continue;
                }
                let Some(default) = group.connections.iter().find(|c| c.is_default) else {
                    continue;
                };
                let targets = match &default.record.api_url {
                    Some(url) if !url.is_empty() => vec![url.clone()],
                    _ => definition_targets(&definition),
                };
                entries(&definition, &default.connection_name, &targets, &mut routes);
                routed.insert(group.name.clone());
            }
            for (pointer, record, _) in credentials::global_connection_summaries(state).await? {
                if routed.contains(pointer.target.provider.as_str()) {
                    continue;
                }
                let Some(definition) = state.catalog.find(&pointer.target.provider).await? else {
                    continue;
                };
                if definition.api_url.is_none() {
                    continue;
                }
                let targets = match &record.api_url {
                    Some(url) if !url.is_empty() => vec![url.clone()],
                    _ => definition_targets(&definition),
                };
                entries(&definition, "default", &targets, &mut routes);
                routed.insert(pointer.target.provider.as_str().to_owned());
            }
        }
        RouteScope::Configured => {
            let vault = VaultScope::of(state, caller);
            for definition in state.catalog.list().await? {
                if definition.api_url.is_none() {
                    continue;
                }
                let connection = vault.default_connection_name(&definition.name).await?;
                entries(&definition, &connection, &definition_targets(&definition), &mut routes);
            }
        }
    }
    // Stable: within a provider the definition's order stays.
    routes.sort_by(|a, b| (a.is_regex(), &a.provider).cmp(&(b.is_regex(), &b.provider)));
    Ok(routes)
}
