//! The server configuration port (`server_config`, row `global`).

use async_trait::async_trait;
use authsome_domain::ServerConfig;

use crate::RegistryError;

/// The server-wide configuration document.
#[async_trait]
pub trait ServerConfigRepository: Send + Sync {
    /// The stored configuration. When none is stored, MUST store `ServerConfig::default()`
    /// and return it; concurrent first loads MUST all succeed and return the same document.
    async fn load(&self) -> Result<ServerConfig, RegistryError>;

    /// Stores `config`, replacing the document; MUST keep the row's `created_at`.
    async fn save(&self, config: &ServerConfig) -> Result<(), RegistryError>;

    /// Applies `change` to the stored document (loaded as [`load`](Self::load) does) and stores
    /// the result, atomically: when another writer stored the document in between, MUST apply
    /// `change` again to what that writer stored, so that concurrent updates (two replicas
    /// each adding an invitation) never lose one another's changes. `change` may therefore run
    /// more than once and must only depend on the document it is given. Returns the document
    /// as stored; a `change` that alters nothing stores nothing.
    async fn update(
        &self,
        change: &(dyn for<'c> Fn(&'c mut ServerConfig) + Send + Sync),
    ) -> Result<ServerConfig, RegistryError>;
}
