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
}
