//! Remembering ownership between requests without ever answering from state another replica
//! has changed (docs/architecture.md, "Remembering ownership").
//!
//! Every proof-of-possession request needs its identity's owner: registration, claim,
//! principal role and default vault (and, for a credential resolution, the custom provider
//! definition it names). On Postgres that is one statement per request, which sets the
//! ceiling of the whole fleet. [`remember_ownership`] wraps the registries so that each
//! replica keeps what it read, tagged with the shared [`OwnershipGeneration`]:
//!
//! - a reader reads the generation, then the database, and tags what it read with the
//!   generation it read *first*; a remembered answer is used only while the generation is
//!   still that one, and for at most [`MAX_AGE`];
//! - a request may also take a remembered answer *unconfirmed*
//!   ([`IdentityOwnershipLookup::recall`]) and read the generation in the same Redis round
//!   trip as its replay check and vault read; when the generation has moved it reads the
//!   database and redoes what it read with the old answer;
//! - every write that can change an answer (a registration, a claim and its status, a new
//!   principal or role, a default vault, a custom provider definition) raises the generation
//!   before its commit and again after it.
//!
//! A reader that overlaps a write either read the generation before the write's second bump
//! (so its answer is tagged with an older generation and is dropped on its next use) or after
//! it (so it read the database after the commit). A writer that dies between its commit and
//! its second bump can leave an answer read during its write tagged with the current
//! generation: [`MAX_AGE`] bounds how long any replica can use it. When the generation cannot
//! be read (Redis down), nothing remembered is used and the database answers.
//!
//! Unknown handles are never remembered (a flood of invented handles cannot fill the map,
//! and a registration is seen at once); the map holds at most [`CAPACITY`] identities and is
//! emptied when full.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use authsome_domain::{
    DidKey, IdentityClaim, IdentityHandle, IdentityRegistration, NewPrincipal, PasswordHash, Principal, PrincipalId,
    PrincipalVaultBinding, ProviderDefinitionDocument, ProviderName, Role, VaultId,
};
use authsome_ports::{
    IdentityClaimRegistry, IdentityOwnership, IdentityOwnershipLookup, IdentityRegistry, OwnershipConfirmation,
    OwnershipGeneration, PrincipalRegistry, PrincipalVaultBindingRegistry, ProviderDefinitionRepository,
    RecalledOwnership, Registered, Registries, RegistryError,
};

/// The longest a remembered answer is used, whatever the generation says: the bound on a
/// stale answer after a writer died between its commit and its second bump.
pub const MAX_AGE: Duration = Duration::from_secs(2);
/// The most identities (and custom definitions) a replica remembers.
pub const CAPACITY: usize = 100_000;

/// The registries with ownership remembered on this replica and every ownership-changing
/// write announced through `generation`.
pub fn remember_ownership(registries: Registries, generation: Arc<dyn OwnershipGeneration>) -> Registries {
    let announcer = Announcer(generation.clone());
    Registries {
        ownership: Arc::new(RememberedOwnership::new(registries.ownership.clone(), generation)),
        identities: Arc::new(Announced {
            inner: registries.identities.clone(),
            announcer: announcer.clone(),
        }),
        claims: Arc::new(Announced {
            inner: registries.claims.clone(),
            announcer: announcer.clone(),
        }),
        principals: Arc::new(Announced {
            inner: registries.principals.clone(),
            announcer: announcer.clone(),
        }),
        bindings: Arc::new(Announced {
            inner: registries.bindings.clone(),
            announcer: announcer.clone(),
        }),
        provider_definitions: Arc::new(Announced {
            inner: registries.provider_definitions.clone(),
            announcer,
        }),
        ..registries
    }
}

struct Remembered<T> {
    value: T,
    generation: u64,
    read_at: Instant,
}

impl<T: Clone> Remembered<T> {
    fn usable(&self, generation: u64) -> Option<T> {
        (self.generation == generation && self.read_at.elapsed() < MAX_AGE).then(|| self.value.clone())
    }

    /// The value and the generation it was read under, while it is young enough to confirm.
    fn unconfirmed(&self) -> Option<(T, u64)> {
        (self.read_at.elapsed() < MAX_AGE).then(|| (self.value.clone(), self.generation))
    }
}

/// [`IdentityOwnershipLookup`] that remembers answers while the generation holds.
pub struct RememberedOwnership {
    inner: Arc<dyn IdentityOwnershipLookup>,
    generation: Arc<dyn OwnershipGeneration>,
    owners: Mutex<HashMap<IdentityHandle, Remembered<IdentityOwnership>>>,
    definitions: Mutex<HashMap<ProviderName, Remembered<Option<ProviderDefinitionDocument>>>>,
}

fn remember<K: std::hash::Hash + Eq, V>(map: &Mutex<HashMap<K, Remembered<V>>>, key: K, value: V, generation: u64) {
    let mut map = map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if map.len() >= CAPACITY && !map.contains_key(&key) {
        map.clear();
    }
    map.insert(
        key,
        Remembered {
            value,
            generation,
            read_at: Instant::now(),
        },
    );
}

fn recall_unconfirmed<K: std::hash::Hash + Eq, V: Clone>(
    map: &Mutex<HashMap<K, Remembered<V>>>,
    key: &K,
) -> Option<(V, u64)> {
    map.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(key)
        .and_then(Remembered::unconfirmed)
}

fn recall<K: std::hash::Hash + Eq, V: Clone>(
    map: &Mutex<HashMap<K, Remembered<V>>>,
    key: &K,
    generation: u64,
) -> Option<V> {
    map.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(key)
        .and_then(|remembered| remembered.usable(generation))
}

impl RememberedOwnership {
    /// Remembers what `inner` answers, tagged with `generation`.
    pub fn new(inner: Arc<dyn IdentityOwnershipLookup>, generation: Arc<dyn OwnershipGeneration>) -> Self {
        Self {
            inner,
            generation,
            owners: Mutex::new(HashMap::new()),
            definitions: Mutex::new(HashMap::new()),
        }
    }

    /// The generation, or `None` when it cannot be read (then nothing remembered is used).
    async fn generation(&self) -> Option<u64> {
        self.generation.current().await.ok()
    }
}

#[async_trait]
impl IdentityOwnershipLookup for RememberedOwnership {
    async fn lookup(&self, handle: &IdentityHandle) -> Result<Option<IdentityOwnership>, RegistryError> {
        let Some(generation) = self.generation().await else {
            return self.inner.lookup(handle).await;
        };
        if let Some(owner) = recall(&self.owners, handle, generation) {
            return Ok(Some(owner));
        }
        let read = self.inner.lookup(handle).await?;
        if let Some(owner) = &read {
            remember(&self.owners, handle.clone(), owner.clone(), generation);
        }
        Ok(read)
    }

    async fn lookup_with_custom_provider(
        &self,
        handle: &IdentityHandle,
        provider: &ProviderName,
    ) -> Result<Option<(IdentityOwnership, Option<ProviderDefinitionDocument>)>, RegistryError> {
        let Some(generation) = self.generation().await else {
            return self.inner.lookup_with_custom_provider(handle, provider).await;
        };
        if let (Some(owner), Some(definition)) = (
            recall(&self.owners, handle, generation),
            recall(&self.definitions, provider, generation),
        ) {
            return Ok(Some((owner, definition)));
        }
        let read = self.inner.lookup_with_custom_provider(handle, provider).await?;
        if let Some((owner, definition)) = &read {
            remember(&self.owners, handle.clone(), owner.clone(), generation);
            remember(&self.definitions, provider.clone(), definition.clone(), generation);
        }
        Ok(read)
    }

    fn recall(&self, handle: &IdentityHandle, provider: Option<&ProviderName>) -> Option<RecalledOwnership> {
        let (ownership, read_under) = recall_unconfirmed(&self.owners, handle)?;
        let custom_definition = match provider {
            None => None,
            // Both must have been read under one generation, or one of them is surely stale.
            Some(provider) => match recall_unconfirmed(&self.definitions, provider)? {
                (definition, generation) if generation == read_under => Some(definition),
                _ => return None,
            },
        };
        Some(RecalledOwnership {
            ownership,
            custom_definition,
            confirmation: OwnershipConfirmation::new(self.generation.clone(), read_under),
        })
    }
}

/// Raises the generation around a write.
#[derive(Clone)]
struct Announcer(Arc<dyn OwnershipGeneration>);

impl Announcer {
    /// Runs `write` between two bumps. When the first bump fails the write is refused
    /// (unavailable, nothing written): replicas could not be told. When the second fails the
    /// write stands (it is committed) and remembered answers age out within [`MAX_AGE`].
    async fn around<T>(
        &self,
        write: impl std::future::Future<Output = Result<T, RegistryError>> + Send,
    ) -> Result<T, RegistryError> {
        self.0
            .bump()
            .await
            .map_err(|error| RegistryError::Unavailable(Box::new(error)))?;
        let written = write.await;
        if let Err(error) = self.0.bump().await {
            tracing::warn!(
                error = %crate::error_chain(&error),
                "could not announce an ownership change after its commit; replicas may answer from what they remember for up to 2 s"
            );
        }
        written
    }
}

/// A registry whose writes are announced.
struct Announced<T: ?Sized> {
    inner: Arc<T>,
    announcer: Announcer,
}

#[async_trait]
impl IdentityRegistry for Announced<dyn IdentityRegistry> {
    async fn register(&self, handle: &IdentityHandle, did: &DidKey) -> Result<Registered, RegistryError> {
        self.announcer.around(self.inner.register(handle, did)).await
    }
    async fn get(&self, handle: &IdentityHandle) -> Result<Option<IdentityRegistration>, RegistryError> {
        self.inner.get(handle).await
    }
    async fn get_by_did(&self, did: &DidKey) -> Result<Option<IdentityRegistration>, RegistryError> {
        self.inner.get_by_did(did).await
    }
}

#[async_trait]
impl IdentityClaimRegistry for Announced<dyn IdentityClaimRegistry> {
    async fn get(&self, handle: &IdentityHandle) -> Result<Option<IdentityClaim>, RegistryError> {
        self.inner.get(handle).await
    }
    async fn list_accepted_for_principal(
        &self,
        principal_id: &PrincipalId,
    ) -> Result<Vec<IdentityClaim>, RegistryError> {
        self.inner.list_accepted_for_principal(principal_id).await
    }
    async fn claim(&self, handle: &IdentityHandle, principal_id: &PrincipalId) -> Result<IdentityClaim, RegistryError> {
        self.announcer.around(self.inner.claim(handle, principal_id)).await
    }
    async fn accept(&self, handle: &IdentityHandle) -> Result<IdentityClaim, RegistryError> {
        self.announcer.around(self.inner.accept(handle)).await
    }
    async fn reject(&self, handle: &IdentityHandle) -> Result<IdentityClaim, RegistryError> {
        self.announcer.around(self.inner.reject(handle)).await
    }
    async fn claim_accepted(
        &self,
        handle: &IdentityHandle,
        principal_id: &PrincipalId,
    ) -> Result<IdentityClaim, RegistryError> {
        self.announcer
            .around(self.inner.claim_accepted(handle, principal_id))
            .await
    }
}

#[async_trait]
impl PrincipalRegistry for Announced<dyn PrincipalRegistry> {
    async fn create(&self, new: NewPrincipal) -> Result<Principal, RegistryError> {
        self.announcer.around(self.inner.create(new)).await
    }
    async fn get(&self, id: &PrincipalId) -> Result<Option<Principal>, RegistryError> {
        self.inner.get(id).await
    }
    async fn get_by_email(&self, email: &authsome_domain::Email) -> Result<Option<Principal>, RegistryError> {
        self.inner.get_by_email(email).await
    }
    async fn list(&self) -> Result<Vec<Principal>, RegistryError> {
        self.inner.list().await
    }
    // A password is not part of ownership: no announcement.
    async fn set_password(&self, id: &PrincipalId, hash: &PasswordHash) -> Result<Principal, RegistryError> {
        self.inner.set_password(id, hash).await
    }
    async fn set_initial_password(&self, id: &PrincipalId, hash: &PasswordHash) -> Result<Principal, RegistryError> {
        self.inner.set_initial_password(id, hash).await
    }
    async fn set_role(&self, id: &PrincipalId, role: Role) -> Result<Principal, RegistryError> {
        self.announcer.around(self.inner.set_role(id, role)).await
    }
}

#[async_trait]
impl PrincipalVaultBindingRegistry for Announced<dyn PrincipalVaultBindingRegistry> {
    async fn list_for_principal(
        &self,
        principal_id: &PrincipalId,
    ) -> Result<Vec<PrincipalVaultBinding>, RegistryError> {
        self.inner.list_for_principal(principal_id).await
    }
    async fn get_default(&self, principal_id: &PrincipalId) -> Result<Option<PrincipalVaultBinding>, RegistryError> {
        self.inner.get_default(principal_id).await
    }
    async fn bind_default(
        &self,
        principal_id: &PrincipalId,
        vault_id: &VaultId,
    ) -> Result<PrincipalVaultBinding, RegistryError> {
        self.announcer
            .around(self.inner.bind_default(principal_id, vault_id))
            .await
    }
    async fn ensure_default_vault(&self, principal_id: &PrincipalId) -> Result<PrincipalVaultBinding, RegistryError> {
        self.announcer
            .around(self.inner.ensure_default_vault(principal_id))
            .await
    }
}

#[async_trait]
impl ProviderDefinitionRepository for Announced<dyn ProviderDefinitionRepository> {
    async fn get(&self, name: &ProviderName) -> Result<Option<ProviderDefinitionDocument>, RegistryError> {
        self.inner.get(name).await
    }
    async fn list(&self) -> Result<Vec<ProviderDefinitionDocument>, RegistryError> {
        self.inner.list().await
    }
    async fn insert(&self, definition: &ProviderDefinitionDocument) -> Result<(), RegistryError> {
        self.announcer.around(self.inner.insert(definition)).await
    }
    async fn update(&self, definition: &ProviderDefinitionDocument) -> Result<(), RegistryError> {
        self.announcer.around(self.inner.update(definition)).await
    }
    async fn upsert(&self, definition: &ProviderDefinitionDocument) -> Result<(), RegistryError> {
        self.announcer.around(self.inner.upsert(definition)).await
    }
    async fn delete(&self, name: &ProviderName) -> Result<bool, RegistryError> {
        self.announcer.around(self.inner.delete(name)).await
    }
}
