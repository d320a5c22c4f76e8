//! Everything a request handler needs, built once by the composition root: the services'
//! context and what only the HTTP ring uses.

use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::Arc;

use authsome_services::ServiceContext;

use crate::settings::{DeploymentEnv, ServerSettings};

/// Distinct agent keys kept parsed and decompressed (about 400 bytes each with the did:key text,
/// so at most about 4 MB); the map starts over beyond.
pub const VERIFYING_KEYS_CAPACITY: usize = 10_000;

/// The daemon's shared state: the services' context (which it dereferences to, so that a
/// handler hands `&state` to a service) and the HTTP ring's own parts. Every field is a
/// handle onto a shared backend or immutable data: nothing here caches what another replica
/// could change.
pub struct AppState {
    /// What the services run on.
    pub services: ServiceContext,
    /// Daemon settings (the services read their values from `services.policy`).
    pub settings: ServerSettings,
    /// `AUTHSOME_ENV`.
    pub env: DeploymentEnv,
    /// `AUTHSOME_HOME`, reported by `whoami`.
    pub home: PathBuf,
    /// This replica's request metrics.
    pub metrics: crate::request_metrics::HttpMetrics,
    /// The agents that sign requests, by `did:key` text: the parsed DID and its decompressed
    /// public key (a pure function of the text: nothing in it can go stale).
    pub verifying_keys: authsome_domain::proof::VerifyingKeys,
}

impl AppState {
    /// The state over `services`, with this replica's own metrics and key cache.
    pub fn new(services: ServiceContext, settings: ServerSettings, env: DeploymentEnv, home: PathBuf) -> Self {
        Self {
            services,
            settings,
            env,
            home,
            metrics: Default::default(),
            verifying_keys: authsome_domain::proof::VerifyingKeys::new(VERIFYING_KEYS_CAPACITY),
        }
    }
}

impl Deref for AppState {
    type Target = ServiceContext;

    fn deref(&self) -> &ServiceContext {
        &self.services
    }
}

impl DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut ServiceContext {
        &mut self.services
    }
}

impl AsRef<ServiceContext> for AppState {
    fn as_ref(&self) -> &ServiceContext {
        &self.services
    }
}

/// The shared state, as handlers hold it.
pub type SharedState = Arc<AppState>;
