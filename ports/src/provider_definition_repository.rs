//! The custom provider definition port (`custom_provider_definitions`).

use async_trait::async_trait;
use authsome_domain::{ProviderDefinitionDocument, ProviderName};

use crate::RegistryError;

/// Provider definitions added by admins (they shadow bundled definitions of the same name).
#[async_trait]
pub trait ProviderDefinitionRepository: Send + Sync {
    /// The definition named `name`; MUST return `Ok(None)` when absent.
    async fn get(&self, name: &ProviderName) -> Result<Option<ProviderDefinitionDocument>, RegistryError>;

    /// Every definition, ordered by name.
    async fn list(&self) -> Result<Vec<ProviderDefinitionDocument>, RegistryError>;

    /// Stores a new definition. MUST fail with
    /// [`Conflict::ProviderExists`](crate::Conflict::ProviderExists) when one with the name
    /// exists, leaving it unchanged; when several callers insert the same name at once,
    /// exactly one succeeds.
    async fn insert(&self, definition: &ProviderDefinitionDocument) -> Result<(), RegistryError>;

    /// Replaces an existing definition (keeping its `created_at`). MUST fail with
    /// [`Missing::ProviderDefinition`](crate::Missing::ProviderDefinition) when absent.
    async fn update(&self, definition: &ProviderDefinitionDocument) -> Result<(), RegistryError>;

    /// Stores the definition whether or not one exists (keeping an existing `created_at`).
    async fn upsert(&self, definition: &ProviderDefinitionDocument) -> Result<(), RegistryError>;

    /// Removes the definition; MUST return whether one was removed.
    async fn delete(&self, name: &ProviderName) -> Result<bool, RegistryError>;
}
