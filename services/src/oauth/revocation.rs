//! Token revocation at the provider (RFC 7009) when a connection is logged out or its provider
//! revoked: the refresh token first (at most servers that ends the whole grant), then the access
//! token, each with a short bound, so that a provider that does not answer delays a logout by
//! seconds, not minutes. The connection is removed locally whatever the provider says; what it
//! said is recorded in the audit log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use authsome_domain::credential_records::ConnectionRecord;
use authsome_domain::oauth::expand_base_url;
use authsome_domain::provider_definition::{AuthType, ProviderDefinition};
use authsome_ports::{EndpointBody, EndpointRequest};

use super::client::ProviderSetup;
use crate::audit::{self, AuditEventExt};
use crate::context::ServiceContext;
use crate::ownership::Caller;

/// How long each revocation request may take.
pub const REVOCATION_TIMEOUT: Duration = Duration::from_secs(5);

/// What the provider said to a revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// Nothing to do: not an OAuth connection, no token, or no revocation endpoint.
    NotOffered,
    /// Every token sent was accepted (RFC 7009 answers 200 even for a token already invalid).
    Revoked,
    /// At least one was not: why, in words (never a token).
    Failed(String),
}

/// Revokes `record`'s tokens at the provider, when its definition names a revocation endpoint.
pub async fn revoke_tokens(
    state: &ServiceContext,
    definition: &Arc<ProviderDefinition>,
    record: &ConnectionRecord,
) -> Revocation {
    let Some(template) = definition.oauth.as_ref().and_then(|o| o.revocation_url.as_deref()) else {
        return Revocation::NotOffered;
    };
    if record.auth_type != AuthType::Oauth2 {
        return Revocation::NotOffered;
    }
    let tokens: Vec<(&str, &str)> = [
        (record.refresh_token.as_deref(), "refresh_token"),
        (record.access_token.as_deref(), "access_token"),
    ]
    .into_iter()
    .filter_map(|(token, hint)| token.filter(|t| !t.is_empty()).map(|t| (t, hint)))
    .collect();
    if tokens.is_empty() {
        return Revocation::NotOffered;
    }
    let setup = match ProviderSetup::load(state, definition.clone()).await {
        Ok(setup) => setup,
        Err(error) => return Revocation::Failed(format!("the provider's OAuth client could not be read: {error}")),
    };
    let client = setup.configured_client();
    let basic = setup.stored_client_uses_basic();
    let url = expand_base_url(template, record.base_url.as_deref());
    let mut failures = Vec::new();
    for (token, hint) in tokens {
        let mut form = vec![("token", token), ("token_type_hint", hint)];
        let basic_auth = client.as_ref().and_then(|c| c.authenticate(basic, &mut form));
        let started = Instant::now();
        let sent = tokio::time::timeout(
            REVOCATION_TIMEOUT,
            state.endpoints.send(&EndpointRequest {
                url: &url,
                body: EndpointBody::Form(&form),
                basic_auth,
            }),
        )
        .await;
        state
            .refresh_metrics
            .upstream(&record.provider, "revocation", started.elapsed());
        match sent {
            Ok(Ok(reply)) if (200..300).contains(&reply.status) => {}
            Ok(Ok(reply)) => {
                let answer = reply.answer();
                let why = answer
                    .oauth_error()
                    .map_or_else(|| format!("HTTP {}", reply.status), |(error, _)| error);
                failures.push(format!("{hint}: the provider answered {why}"));
            }
            Ok(Err(error)) => failures.push(format!("{hint}: {error}")),
            Err(_) => failures.push(format!(
                "{hint}: the provider did not answer within {} s",
                REVOCATION_TIMEOUT.as_secs()
            )),
        }
    }
    if failures.is_empty() {
        Revocation::Revoked
    } else {
        Revocation::Failed(failures.join("; "))
    }
}

/// Records what the provider said to a logout's revocation (`provider.token_revoked`), best
/// effort: the connection is already gone either way.
pub async fn record(state: &ServiceContext, actor: &Caller, record: &ConnectionRecord, outcome: &Revocation) {
    let event = audit::event_by("provider.token_revoked", actor)
        .provider(&record.provider)
        .connection(&record.connection_name);
    let event = match outcome {
        Revocation::NotOffered => return,
        Revocation::Revoked => event.status("success"),
        Revocation::Failed(reason) => {
            tracing::warn!(
                provider = %record.provider,
                connection = %record.connection_name,
                %reason,
                "the provider did not confirm a logout's token revocation; the connection was removed here"
            );
            event.status("failure").with("error", reason.clone())
        }
    };
    let event = match &record.vault_id {
        Some(vault) => event.with("vault_id", vault.clone()),
        None => event,
    };
    audit::record(state, event).await;
}
