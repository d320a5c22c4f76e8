//! Everything a request handler needs, built once by the composition root.

use std::path::PathBuf;
use std::sync::Arc;

use authsome_ports::{Registries, RuntimeState};
use tokio::sync::Semaphore;

use crate::services::catalog::ProviderCatalog;
use crate::settings::{DeploymentEnv, ServerSettings};
use crate::vault::Vault;

/// How many password hashes may be computed at once: each takes 64 MiB and about 0.2 s of
/// CPU, so an unbounded number of concurrent sign-ins could exhaust memory.
pub const PASSWORD_HASHING_SLOTS: usize = 2;

/// Distinct agent keys kept parsed and decompressed (about 400 bytes each with the did:key text,
/// so at most about 4 MB); the map starts over beyond.
pub const VERIFYING_KEYS_CAPACITY: usize = 10_000;

/// The daemon's shared state. Every field is a handle onto a shared backend or immutable
/// data: nothing here caches what another replica could change.
pub struct AppState {
    /// Daemon settings.
    pub settings: ServerSettings,
    /// `AUTHSOME_ENV`.
    pub env: DeploymentEnv,
    /// `AUTHSOME_HOME`, reported by `whoami`.
    pub home: PathBuf,
    /// The relational registries.
    pub registries: Registries,
    /// The encrypted vault.
    pub vault: Arc<Vault>,
    /// Replay cache, sessions, claim tokens, rate limits.
    pub runtime: RuntimeState,
    /// Provider definitions.
    pub catalog: ProviderCatalog,
    /// Providers' OAuth endpoints, over the network.
    pub endpoints: Arc<dyn authsome_ports::ProviderEndpoints>,
    /// Bounds concurrent password hashing.
    pub password_slots: Semaphore,
    /// This replica's request metrics.
    pub metrics: crate::request_metrics::HttpMetrics,
    /// The agents that sign requests, by `did:key` text: the parsed DID and its decompressed
    /// public key (a pure function of the text: nothing in it can go stale).
    pub verifying_keys: authsome_domain::proof::VerifyingKeys,
    /// This replica's token refresh counters.
    pub refresh_metrics: crate::services::oauth::metrics::RefreshMetrics,
}

impl AppState {
    /// `{base}/path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.base_url)
    }
}

/// The shared state, as handlers hold it.
pub type SharedState = Arc<AppState>;
