//! What every service runs on: the ports, the vault, the catalog and the policy values the
//! rules read, built once by the composition root.

use std::sync::Arc;
use std::time::Duration;

use authsome_ports::{ProviderEndpoints, Registries, RuntimeState};
use tokio::sync::Semaphore;

use crate::catalog::ProviderCatalog;
use crate::oauth::metrics::RefreshMetrics;
use crate::vault::Vault;

/// How many password hashes may be computed at once: each takes 64 MiB and about 0.2 s of
/// CPU, so an unbounded number of concurrent sign-ins could exhaust memory.
pub const PASSWORD_HASHING_SLOTS: usize = 2;

/// The settings the services' rules read, taken from the daemon's settings at startup (the
/// app ring owns parsing them; this crate only reads the values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePolicy {
    /// The external URL in claim, input and success links, with no trailing `/`.
    pub base_url: String,
    /// Lifetime of claim tokens.
    pub claim_ttl_seconds: i64,
    /// Lifetime of browser sessions.
    pub browser_session_ttl_seconds: i64,
    /// Lifetime of login sessions.
    pub auth_session_ttl_seconds: i64,
    /// How close to its expiry an OAuth access token is refreshed.
    pub token_near_expiry_seconds: i64,
    /// The shortest password an account may have.
    pub min_password_length: usize,
    /// Whether anyone may create an account in the browser.
    pub open_signup: bool,
    /// Failed sign-ins per email per 15 minutes before further attempts are refused.
    pub login_max_failures: u64,
    /// Identity registrations one client address may make per hour.
    pub registrations_per_hour: u64,
    /// How long one request to a provider's endpoint may take (it bounds refresh leases).
    pub outbound_timeout: Duration,
}

/// The services' shared state. Every field is a handle onto a shared backend or immutable
/// data: nothing here caches what another replica could change.
pub struct ServiceContext {
    /// The relational registries.
    pub registries: Registries,
    /// The encrypted vault.
    pub vault: Arc<Vault>,
    /// Replay cache, sessions, claim tokens, rate limits.
    pub runtime: RuntimeState,
    /// Provider definitions.
    pub catalog: ProviderCatalog,
    /// Providers' OAuth endpoints, over the network.
    pub endpoints: Arc<dyn ProviderEndpoints>,
    /// The values the rules read.
    pub policy: ServicePolicy,
    /// Bounds concurrent password hashing.
    pub password_slots: Semaphore,
    /// This replica's token refresh counters.
    pub refresh_metrics: RefreshMetrics,
}

impl ServiceContext {
    /// The context over these ports, with its own password-hashing slots and counters.
    pub fn new(
        registries: Registries,
        vault: Arc<Vault>,
        runtime: RuntimeState,
        endpoints: Arc<dyn ProviderEndpoints>,
        policy: ServicePolicy,
    ) -> Result<Self, crate::catalog::BundledDefinitionError> {
        let catalog = ProviderCatalog::new(registries.provider_definitions.clone())?;
        Ok(Self {
            registries,
            vault,
            runtime,
            catalog,
            endpoints,
            policy,
            password_slots: Semaphore::new(PASSWORD_HASHING_SLOTS),
            refresh_metrics: RefreshMetrics::default(),
        })
    }

    /// `{base}/path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.policy.base_url)
    }
}
