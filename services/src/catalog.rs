//! The provider catalog: bundled definitions (compiled into the binary) and custom ones
//! (admin-registered, in the database), custom shadowing bundled by name.
//!
//! Custom definitions are read from the database on every lookup rather than cached, so that
//! a change made through one replica is seen by all at once. What is kept is only the parse of
//! a document: a pure function of its contents, reused only for an equal document, so it can
//! never answer for a definition that has since changed.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

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
    parsed: ParsedDefinitions,
}

/// How many parsed custom definitions are kept; past it the set starts again empty (a
/// deployment with more custom providers than this parses the others per lookup, as before).
const PARSED_DEFINITIONS_KEPT: usize = 1_024;

/// Custom definitions already parsed, by name, each beside the document it was parsed from.
#[derive(Default)]
struct ParsedDefinitions(Mutex<HashMap<ProviderName, (ProviderDefinitionDocument, Arc<ProviderDefinition>)>>);

impl ParsedDefinitions {
    /// The parse of `document`: the kept one when it was parsed from an equal document (equal
    /// by pointer when both come from one read, else compared), else a new parse, kept.
    fn parse(&self, document: &ProviderDefinitionDocument) -> Option<Arc<ProviderDefinition>> {
        if let Some((kept_from, definition)) = self.lock().get_mut(document.name())
            && kept_from == document
        {
            // Keep the newer read so that its clones compare by pointer from now on.
            *kept_from = document.clone();
            return Some(definition.clone());
        }
        // Parsed with the lock released (a second lock on a miss): a parse takes tens of µs,
        // and every resolve of a custom provider on this replica would wait for it.
        let definition = ProviderCatalog::parse_custom(document)?;
        let mut parsed = self.lock();
        if parsed.len() >= PARSED_DEFINITIONS_KEPT {
            parsed.clear();
        }
        parsed.insert(document.name().clone(), (document.clone(), definition.clone()));
        Some(definition)
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<ProviderName, (ProviderDefinitionDocument, Arc<ProviderDefinition>)>> {
        // Every holder leaves the map whole (one get or insert), so a poisoned lock's map is good.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
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
            parsed: ParsedDefinitions::default(),
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
            return Ok(self.parsed.parse(&document));
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
            CustomDefinition::Read(Some(document)) => self.parsed.parse(&document),
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn document(display_name: &str) -> ProviderDefinitionDocument {
        let Value::Object(fields) = json!({
            "name": "acme", "display_name": display_name, "auth_type": "api_key", "flow": "api_key",
            "api_key": {"header_name": "X-Api-Key"}, "api_url": "api.acme.example"
        }) else {
            unreachable!("an object literal")
        };
        ProviderDefinitionDocument::new(fields).expect("a valid document")
    }

    #[test]
    fn a_changed_definition_is_parsed_again_never_answered_from_the_old_parse() {
        let parsed = ParsedDefinitions::default();
        let first = parsed.parse(&document("Acme")).expect("parses");
        let changed = parsed.parse(&document("Acme, renamed")).expect("parses");
        let back = parsed.parse(&document("Acme")).expect("parses");
        assert_eq!(
            (
                first.display_name.as_str(),
                changed.display_name.as_str(),
                back.display_name.as_str()
            ),
            ("Acme", "Acme, renamed", "Acme")
        );
    }

    #[test]
    fn an_equal_definition_is_answered_from_the_kept_parse() {
        let parsed = ParsedDefinitions::default();
        let read = document("Acme");
        let first = parsed.parse(&read).expect("parses");
        // A clone of the same read, and a separate read of an equal document.
        let same_read = parsed.parse(&read.clone()).expect("parses");
        let equal_read = parsed.parse(&document("Acme")).expect("parses");
        assert!(Arc::ptr_eq(&first, &same_read) && Arc::ptr_eq(&first, &equal_read));
    }

    #[test]
    fn an_unreadable_definition_is_refused_every_time() {
        let parsed = ParsedDefinitions::default();
        let Value::Object(fields) = json!({"name": "acme", "auth_type": "not a type"}) else {
            unreachable!("an object literal")
        };
        let unreadable = ProviderDefinitionDocument::new(fields).expect("a named document");
        assert!(parsed.parse(&unreadable).is_none() && parsed.parse(&unreadable).is_none());
        assert_eq!(
            parsed.parse(&document("Acme")).map(|d| d.name.clone()).as_deref(),
            Some("acme")
        );
    }

    #[test]
    fn the_kept_parses_are_bounded() {
        let parsed = ParsedDefinitions::default();
        for n in 0..PARSED_DEFINITIONS_KEPT + 10 {
            let Value::Object(fields) = json!({
                "name": format!("acme-{n}"), "display_name": "Acme", "auth_type": "api_key", "flow": "api_key",
                "api_key": {"header_name": "X-Api-Key"}
            }) else {
                unreachable!("an object literal")
            };
            parsed
                .parse(&ProviderDefinitionDocument::new(fields).expect("valid"))
                .expect("parses");
        }
        assert!(parsed.lock().len() <= PARSED_DEFINITIONS_KEPT);
    }
}
