//! The provider catalog: bundled definitions (compiled into the binary) and custom ones
//! (admin-registered, in the database), custom shadowing bundled by name.
//!
//! Custom definitions are read from the database on every lookup rather than cached, so that
//! a change made through one replica is seen by all at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use authsome_domain::provider_definition::ProviderDefinition;
use authsome_domain::{ProviderDefinitionDocument, ProviderName};
use authsome_ports::{Missing, ProviderDefinitionRepository, RegistryError};
use serde_json::Value;

use crate::{AuthsomeError, ServiceError};

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled_providers.rs"));
}

/// A bundled definition file that does not parse or validate (a build-time mistake).
#[derive(Debug, thiserror::Error)]
#[error("bundled provider definition {file} is invalid: {reason}")]
pub struct BundledDefinitionError {
    file: &'static str,
    reason: String,
}

/// Bundled and custom provider definitions.
pub struct ProviderCatalog {
    bundled: BTreeMap<String, Arc<ProviderDefinition>>,
    // The bundled definitions as the API returns them, built once (they never change).
    bundled_documents: Arc<[Value]>,
    custom: Arc<dyn ProviderDefinitionRepository>,
}

/// The custom definition of one provider, when the caller has already read it (together with
/// the identity's ownership, in one round trip: see `IdentityOwnershipLookup`).
#[derive(Debug, Clone)]
pub enum CustomDefinition {
    /// Not read yet: the catalog reads it.
    Unread,
    /// Read: the custom definition, or `None` when there is none.
    Read(Option<ProviderDefinitionDocument>),
}

/// Both lists, each sorted by name.
pub struct ProvidersBySource {
    /// Every bundled definition (including those a custom one shadows), as documents.
    pub bundled: Arc<[Value]>,
    /// Every custom definition.
    pub custom: Vec<Arc<ProviderDefinition>>,
}

impl ProviderCatalog {
    /// The catalog with the embedded definitions, each parsed and validated.
    pub fn new(custom: Arc<dyn ProviderDefinitionRepository>) -> Result<Self, BundledDefinitionError> {
        let mut bundled = BTreeMap::new();
        for (file, text) in bundled::BUNDLED_PROVIDERS {
            let invalid = |reason: String| BundledDefinitionError { file, reason };
            let value: Value = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
            let definition = ProviderDefinition::from_value(value).map_err(|e| invalid(e.to_string()))?;
            definition.validate().map_err(|e| invalid(e.to_string()))?;
            bundled.insert(definition.name.clone(), Arc::new(definition));
        }
        let bundled_documents = bundled.values().map(|d| d.to_value()).collect::<Vec<_>>().into();
        Ok(Self {
            bundled,
            bundled_documents,
            custom,
        })
    }

    /// How many bundled definitions there are.
    pub fn bundled_count(&self) -> usize {
        self.bundled.len()
    }

    fn parse_custom(document: &ProviderDefinitionDocument) -> Option<Arc<ProviderDefinition>> {
        match ProviderDefinition::from_value(Value::Object(document.document().clone())) {
            Ok(definition) => Some(Arc::new(definition)),
            Err(error) => {
                tracing::warn!(provider = %document.name(), %error, "skipping an unreadable custom provider definition");
                None
            }
        }
    }

    /// The definition named `name` (custom first); `Ok(None)` when there is none.
    pub async fn find(&self, name: &ProviderName) -> Result<Option<Arc<ProviderDefinition>>, RegistryError> {
        if let Some(document) = self.custom.get(name).await? {
            return Ok(Self::parse_custom(&document));
        }
        Ok(self.bundled.get(name.as_str()).cloned())
    }

    /// The definition named `name`, or `ProviderNotFoundError`.
    pub async fn get(&self, name: &ProviderName) -> Result<Arc<ProviderDefinition>, ServiceError> {
        self.get_with(name, CustomDefinition::Unread).await
    }

    /// Like [`get`](Self::get), using `custom` when it was already read.
    pub async fn get_with(
        &self,
        name: &ProviderName,
        custom: CustomDefinition,
    ) -> Result<Arc<ProviderDefinition>, ServiceError> {
        let found = match custom {
            CustomDefinition::Unread => self.find(name).await?,
            CustomDefinition::Read(Some(document)) => Self::parse_custom(&document),
            CustomDefinition::Read(None) => self.bundled.get(name.as_str()).cloned(),
        };
        found.ok_or_else(|| AuthsomeError::provider_not_found(name.as_str()).into())
    }

    /// Every definition (custom shadowing bundled), sorted by name.
    pub async fn list(&self) -> Result<Vec<Arc<ProviderDefinition>>, RegistryError> {
        Ok(self
            .list_marking_custom()
            .await?
            .into_iter()
            .map(|(definition, _)| definition)
            .collect())
    }

    /// Every definition (a custom one in place of a bundled one of the same name), each with
    /// whether it is custom, from one read of the custom definitions.
    pub async fn list_marking_custom(&self) -> Result<Vec<(Arc<ProviderDefinition>, bool)>, RegistryError> {
        let mut all: BTreeMap<String, (Arc<ProviderDefinition>, bool)> = self
            .bundled
            .iter()
            .map(|(name, definition)| (name.clone(), (definition.clone(), false)))
            .collect();
        for document in self.custom.list().await? {
            if let Some(definition) = Self::parse_custom(&document) {
                all.insert(definition.name.clone(), (definition, true));
            }
        }
        Ok(all.into_values().collect())
    }

    /// Bundled and custom definitions, separately.
    pub async fn list_by_source(&self) -> Result<ProvidersBySource, RegistryError> {
        let custom = self
            .custom
            .list()
            .await?
            .iter()
            .filter_map(Self::parse_custom)
            .collect();
        Ok(ProvidersBySource {
            bundled: self.bundled_documents.clone(),
            custom,
        })
    }

    /// An existing provider (bundled or custom) whose name differs from `name` only in letter
    /// case (`OpenAI` beside `openai`): two such names would look like one provider.
    pub async fn case_twin(&self, name: &str) -> Result<Option<String>, RegistryError> {
        let twin = |other: &str| other != name && other.eq_ignore_ascii_case(name);
        if let Some(bundled) = self.bundled.keys().find(|other| twin(other)) {
            return Ok(Some(bundled.clone()));
        }
        Ok(self
            .custom
            .list()
            .await?
            .iter()
            .filter_map(Self::parse_custom)
            .map(|definition| definition.name.clone())
            .find(|other| twin(other)))
    }

    /// Whether a custom definition named `name` exists.
    pub async fn is_custom(&self, name: &ProviderName) -> Result<bool, RegistryError> {
        Ok(self.custom.get(name).await?.is_some())
    }

    fn document(definition: &ProviderDefinition) -> Result<ProviderDefinitionDocument, ServiceError> {
        ProviderDefinitionDocument::new(definition.to_stored_document())
            .map_err(|e| AuthsomeError::invalid_schema(&e.to_string(), Some(&definition.name)).into())
    }

    /// Stores a custom definition; without `force`, an existing one is a
    /// `ProviderAlreadyRegisteredError`.
    pub async fn save_custom(&self, definition: &ProviderDefinition, force: bool) -> Result<(), ServiceError> {
        let document = Self::document(definition)?;
        if force {
            return Ok(self.custom.upsert(&document).await?);
        }
        match self.custom.insert(&document).await {
            Ok(()) => Ok(()),
            Err(RegistryError::Conflict(_)) => Err(AuthsomeError::already_registered(
                format!("Provider '{}' already registered", definition.name),
                &definition.name,
            )
            .into()),
            Err(other) => Err(other.into()),
        }
    }

    /// Replaces an existing custom definition, or `ProviderNotFoundError`.
    pub async fn update_custom(&self, definition: &ProviderDefinition) -> Result<(), ServiceError> {
        match self.custom.update(&Self::document(definition)?).await {
            Ok(()) => Ok(()),
            Err(RegistryError::NotFound(Missing::ProviderDefinition(_))) => {
                Err(AuthsomeError::provider_not_found(&definition.name).into())
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Removes a custom definition; returns whether there was one.
    pub async fn delete_custom(&self, name: &ProviderName) -> Result<bool, RegistryError> {
        self.custom.delete(name).await
    }
}
