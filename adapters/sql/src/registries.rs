//! The registry ports on any [`SqlBackend`].

use async_trait::async_trait;
use authsome_domain::vault::DEFAULT_VAULT_HANDLE;
use authsome_domain::{
    AuditCursor, AuditEvent, AuditPage, AuditQuery, ClaimStatus, ConnectionName, DidKey, Email,
    GlobalProviderConnection, GlobalProviderConnectionTarget, IdentityClaim, IdentityHandle, IdentityRegistration,
    NewPrincipal, PasswordHash, Principal, PrincipalId, PrincipalVaultBinding, ProviderDefinitionDocument,
    ProviderName, Role, RolePolicy, ServerConfig, Timestamp, Vault, VaultId,
};
use authsome_ports::{
    AuditEventLog, Conflict, DatabaseHealth, GlobalProviderConnectionRegistry, IdentityClaimRegistry,
    IdentityOwnership, IdentityOwnershipLookup, IdentityRegistry, Missing, PrincipalRegistry,
    PrincipalVaultBindingRegistry, ProviderDefinitionRepository, Registered, RegistryError, ServerConfigRepository,
    VaultRegistry,
};
use serde_json::{Map, Value};

use crate::error_translation::{Failure, classify, translate};
use crate::row_mapping;
use crate::session::{Param, SqlBackend, SqlRow, SqlSession};
use crate::statements as sql;

/// The key of the only `server_config` row.
const SERVER_CONFIG_KEY: &str = "global";

/// Every registry port on one SQL backend.
pub struct SqlStore<B> {
    backend: B,
}

impl<B: SqlBackend> SqlStore<B> {
    /// Registries on `backend`, whose schema must already be migrated.
    pub fn new(backend: B) -> Self {
        Self { backend }
    }

    /// The backend (pool and dialect).
    pub fn backend(&self) -> &B {
        &self.backend
    }

    async fn fetch_optional<T>(
        &self,
        statement: &'static str,
        params: &[Param<'_>],
        map: fn(&B::Row) -> Result<T, RegistryError>,
    ) -> Result<Option<T>, RegistryError> {
        let row = self
            .backend
            .pooled()
            .fetch_optional(statement, params)
            .await
            .map_err(translate::<B>)?;
        row.as_ref().map(map).transpose()
    }

    async fn fetch_all<T>(
        &self,
        statement: &'static str,
        params: &[Param<'_>],
        map: fn(&B::Row) -> Result<T, RegistryError>,
    ) -> Result<Vec<T>, RegistryError> {
        let rows = self
            .backend
            .pooled()
            .fetch_all(statement, params)
            .await
            .map_err(translate::<B>)?;
        rows.iter().map(map).collect()
    }

    async fn execute(&self, statement: &'static str, params: &[Param<'_>]) -> Result<(), RegistryError> {
        self.backend
            .pooled()
            .execute(statement, params)
            .await
            .map_err(translate::<B>)
    }

    /// Runs a `... RETURNING` write and reports whether it changed a row.
    async fn changed(&self, statement: &'static str, params: &[Param<'_>]) -> Result<bool, RegistryError> {
        let row = self
            .backend
            .pooled()
            .fetch_optional(statement, params)
            .await
            .map_err(translate::<B>)?;
        Ok(row.is_some())
    }

    async fn principal_exists(&self, id: &PrincipalId) -> Result<bool, RegistryError> {
        let row = self
            .backend
            .pooled()
            .fetch_optional(sql::PRINCIPAL_EXISTS, &[Param::Text(id.as_str())])
            .await
            .map_err(translate::<B>)?;
        Ok(row.is_some())
    }

    /// After a foreign-key violation: which of the referenced rows is missing.
    async fn missing_owner(&self, principal_id: &PrincipalId, vault_id: &VaultId) -> RegistryError {
        match self.principal_exists(principal_id).await {
            Ok(false) => Missing::Principal(principal_id.clone()).into(),
            Ok(true) => Missing::Vault(vault_id.clone()).into(),
            Err(error) => error,
        }
    }
}

fn now_text() -> (Timestamp, String) {
    let now = Timestamp::now();
    (now, now.to_isoformat())
}

#[async_trait]
impl<B: SqlBackend> DatabaseHealth for SqlStore<B> {
    async fn ping(&self) -> Result<(), RegistryError> {
        self.backend
            .pooled()
            .fetch_optional(sql::PING, &[])
            .await
            .map(|_| ())
            .map_err(translate::<B>)
    }

    fn backend_name(&self) -> &'static str {
        B::NAME
    }
}

#[async_trait]
impl<B: SqlBackend> IdentityRegistry for SqlStore<B> {
    async fn register(&self, handle: &IdentityHandle, did: &DidKey) -> Result<Registered, RegistryError> {
        let (_, now) = now_text();
        // Insert-if-absent first: the database decides the race, then we explain the outcome.
        let inserted = self
            .changed(
                sql::IDENTITY_INSERT_IF_ABSENT,
                &[
                    Param::Text(handle.as_str()),
                    Param::Text(did.as_str()),
                    Param::Text(&now),
                ],
            )
            .await?;
        let by_handle = IdentityRegistry::get(self, handle).await?;
        match by_handle {
            Some(existing) if existing.did == *did => Ok(Registered {
                registration: existing,
                created: inserted,
            }),
            Some(_) => Err(Conflict::HandleTaken(handle.clone()).into()),
            None => match IdentityRegistry::get_by_did(self, did).await? {
                Some(owner) => Err(Conflict::DidTaken(owner.handle).into()),
                // Registrations are never deleted, so a row that refused the insert is still there.
                None => Err(RegistryError::Backend(
                    format!("registration of {handle} neither inserted (inserted: {inserted}) nor found").into(),
                )),
            },
        }
    }

    async fn get(&self, handle: &IdentityHandle) -> Result<Option<IdentityRegistration>, RegistryError> {
        self.fetch_optional(
            sql::IDENTITY_BY_HANDLE,
            &[Param::Text(handle.as_str())],
            row_mapping::identity,
        )
        .await
    }

    async fn get_by_did(&self, did: &DidKey) -> Result<Option<IdentityRegistration>, RegistryError> {
        self.fetch_optional(
            sql::IDENTITY_BY_DID,
            &[Param::Text(did.as_str())],
            row_mapping::identity,
        )
        .await
    }
}

#[async_trait]
impl<B: SqlBackend> IdentityOwnershipLookup for SqlStore<B> {
    async fn lookup(&self, handle: &IdentityHandle) -> Result<Option<IdentityOwnership>, RegistryError> {
        let params = [Param::Text(handle.as_str())];
        self.fetch_optional(sql::IDENTITY_OWNERSHIP, &params, row_mapping::identity_ownership)
            .await
    }

    async fn lookup_with_custom_provider(
        &self,
        handle: &IdentityHandle,
        provider: &ProviderName,
    ) -> Result<Option<(IdentityOwnership, Option<ProviderDefinitionDocument>)>, RegistryError> {
        let params = [Param::Text(handle.as_str()), Param::Text(provider.as_str())];
        self.fetch_optional(
            sql::IDENTITY_OWNERSHIP_WITH_PROVIDER,
            &params,
            row_mapping::identity_ownership_with_custom_provider,
        )
        .await
    }
}

#[async_trait]
impl<B: SqlBackend> PrincipalRegistry for SqlStore<B> {
    async fn create(&self, new: NewPrincipal) -> Result<Principal, RegistryError> {
        let id = PrincipalId::generate();
        let (_, now) = now_text();
        let hash = new.password_hash.as_ref().map(PasswordHash::as_phc);
        let result = match new.role {
            RolePolicy::Fixed(role) => {
                let params = [
                    Param::Text(id.as_str()),
                    Param::Text(new.email.as_str()),
                    Param::NullableText(hash),
                    Param::Text(role.as_str()),
                    Param::Text(&now),
                ];
                self.backend
                    .pooled()
                    .fetch_optional(sql::PRINCIPAL_INSERT, &params)
                    .await
            }
            RolePolicy::FirstPrincipalIsAdmin => {
                let params = [
                    Param::Text(id.as_str()),
                    Param::Text(new.email.as_str()),
                    Param::NullableText(hash),
                    Param::Text(&now),
                ];
                create_first_is_admin(&self.backend, &params).await
            }
        };
        match result {
            Ok(Some(row)) => row_mapping::principal(&row),
            Ok(None) => Err(RegistryError::Backend("principal insert returned no row".into())),
            Err(error) => match classify::<B>(error) {
                Failure::UniqueViolation(_) => Err(Conflict::EmailTaken(new.email).into()),
                Failure::ForeignKeyViolation(error) => Err(RegistryError::Backend(Box::new(error))),
                Failure::Other(error) => Err(error),
            },
        }
    }

    async fn get(&self, id: &PrincipalId) -> Result<Option<Principal>, RegistryError> {
        self.fetch_optional(
            sql::PRINCIPAL_BY_ID,
            &[Param::Text(id.as_str())],
            row_mapping::principal,
        )
        .await
    }

    async fn get_by_email(&self, email: &Email) -> Result<Option<Principal>, RegistryError> {
        self.fetch_optional(
            sql::PRINCIPAL_BY_EMAIL,
            &[Param::Text(email.as_str())],
            row_mapping::principal,
        )
        .await
    }

    async fn list(&self) -> Result<Vec<Principal>, RegistryError> {
        self.fetch_all(sql::PRINCIPAL_LIST, &[], row_mapping::principal).await
    }

    async fn set_password(&self, id: &PrincipalId, hash: &PasswordHash) -> Result<Principal, RegistryError> {
        let (_, now) = now_text();
        let params = [Param::Text(hash.as_phc()), Param::Text(&now), Param::Text(id.as_str())];
        self.fetch_optional(sql::PRINCIPAL_SET_PASSWORD, &params, row_mapping::principal)
            .await?
            .ok_or_else(|| Missing::Principal(id.clone()).into())
    }

    async fn set_initial_password(&self, id: &PrincipalId, hash: &PasswordHash) -> Result<Principal, RegistryError> {
        let (_, now) = now_text();
        let params = [Param::Text(hash.as_phc()), Param::Text(&now), Param::Text(id.as_str())];
        if let Some(updated) = self
            .fetch_optional(sql::PRINCIPAL_SET_INITIAL_PASSWORD, &params, row_mapping::principal)
            .await?
        {
            return Ok(updated);
        }
        match PrincipalRegistry::get(self, id).await? {
            Some(existing) => Err(Conflict::PasswordAlreadySet(existing.email).into()),
            None => Err(Missing::Principal(id.clone()).into()),
        }
    }

    async fn set_role(&self, id: &PrincipalId, role: Role) -> Result<Principal, RegistryError> {
        let (_, now) = now_text();
        let params = [Param::Text(role.as_str()), Param::Text(&now), Param::Text(id.as_str())];
        self.fetch_optional(sql::PRINCIPAL_SET_ROLE, &params, row_mapping::principal)
            .await?
            .ok_or_else(|| Missing::Principal(id.clone()).into())
    }
}

/// Inserts a principal whose role depends on whether any principal exists, in a write
/// transaction serialised against every other such insert.
async fn create_first_is_admin<B: SqlBackend>(
    backend: &B,
    params: &[Param<'_>],
) -> Result<Option<B::Row>, sqlx::Error> {
    let mut transaction = backend.begin_write().await?;
    if let Some(lock) = B::SERIALIZE_PRINCIPAL_CREATION_SQL {
        transaction.execute(lock, &[]).await?;
    }
    let row = transaction
        .fetch_optional(sql::PRINCIPAL_INSERT_FIRST_IS_ADMIN, params)
        .await?;
    B::commit(transaction).await?;
    Ok(row)
}

#[async_trait]
impl<B: SqlBackend> VaultRegistry for SqlStore<B> {
    async fn create(&self) -> Result<Vault, RegistryError> {
        let id = VaultId::generate();
        let (_, now) = now_text();
        let params = [
            Param::Text(id.as_str()),
            Param::Text(DEFAULT_VAULT_HANDLE),
            Param::Text(&now),
        ];
        self.fetch_optional(sql::VAULT_INSERT, &params, row_mapping::vault)
            .await?
            .ok_or_else(|| RegistryError::Backend("vault insert returned no row".into()))
    }

    async fn get(&self, id: &VaultId) -> Result<Option<Vault>, RegistryError> {
        self.fetch_optional(sql::VAULT_BY_ID, &[Param::Text(id.as_str())], row_mapping::vault)
            .await
    }

    async fn list(&self) -> Result<Vec<Vault>, RegistryError> {
        self.fetch_all(sql::VAULT_LIST, &[], row_mapping::vault).await
    }
}

/// The outcome of the default-binding transaction, decided while the principal row is locked.
enum DefaultBindingStep<Row> {
    PrincipalMissing,
    VaultMissing,
    Existing(Row),
    Bound(Row),
}

impl<B: SqlBackend> SqlStore<B> {
    /// Runs the default-binding steps in one write transaction with the principal row locked,
    /// so that concurrent callers for the same principal are serialised.
    ///
    /// With `vault_id` set, binds that vault; with `None`, creates a new vault.
    async fn default_binding_transaction(
        &self,
        principal_id: &PrincipalId,
        vault_id: Option<&VaultId>,
    ) -> Result<DefaultBindingStep<B::Row>, sqlx::Error> {
        let mut tx = self.backend.begin_write().await?;
        if tx
            .fetch_optional(B::LOCK_PRINCIPAL_SQL, &[Param::Text(principal_id.as_str())])
            .await?
            .is_none()
        {
            return Ok(DefaultBindingStep::PrincipalMissing);
        }
        let pid = Param::Text(principal_id.as_str());
        if let Some(existing) = tx.fetch_optional(sql::BINDING_DEFAULT, &[pid]).await? {
            return Ok(DefaultBindingStep::Existing(existing));
        }
        let (_, now) = now_text();
        let new_vault_id;
        let vault_id = match vault_id {
            Some(id) => {
                if tx
                    .fetch_optional(sql::VAULT_BY_ID, &[Param::Text(id.as_str())])
                    .await?
                    .is_none()
                {
                    return Ok(DefaultBindingStep::VaultMissing);
                }
                id
            }
            None => {
                new_vault_id = VaultId::generate();
                let params = [
                    Param::Text(new_vault_id.as_str()),
                    Param::Text(DEFAULT_VAULT_HANDLE),
                    Param::Text(&now),
                ];
                tx.execute(sql::VAULT_INSERT, &params).await?;
                &new_vault_id
            }
        };
        let params = [
            pid,
            Param::Text(vault_id.as_str()),
            Param::Bool(true),
            Param::Text(&now),
        ];
        let bound = tx.fetch_optional(sql::BINDING_UPSERT_DEFAULT, &params).await?;
        B::commit(tx).await?;
        bound
            .map(DefaultBindingStep::Bound)
            .ok_or_else(|| sqlx::Error::Protocol("binding upsert returned no row".to_owned()))
    }
}

#[async_trait]
impl<B: SqlBackend> PrincipalVaultBindingRegistry for SqlStore<B> {
    async fn list_for_principal(
        &self,
        principal_id: &PrincipalId,
    ) -> Result<Vec<PrincipalVaultBinding>, RegistryError> {
        self.fetch_all(
            sql::BINDING_LIST_FOR_PRINCIPAL,
            &[Param::Text(principal_id.as_str())],
            row_mapping::binding,
        )
        .await
    }

    async fn get_default(&self, principal_id: &PrincipalId) -> Result<Option<PrincipalVaultBinding>, RegistryError> {
        let params = [Param::Text(principal_id.as_str())];
        self.fetch_optional(sql::BINDING_DEFAULT, &params, row_mapping::binding)
            .await
    }

    async fn bind_default(
        &self,
        principal_id: &PrincipalId,
        vault_id: &VaultId,
    ) -> Result<PrincipalVaultBinding, RegistryError> {
        match self
            .default_binding_transaction(principal_id, Some(vault_id))
            .await
            .map_err(translate::<B>)?
        {
            DefaultBindingStep::PrincipalMissing => Err(Missing::Principal(principal_id.clone()).into()),
            DefaultBindingStep::VaultMissing => Err(Missing::Vault(vault_id.clone()).into()),
            DefaultBindingStep::Bound(row) => row_mapping::binding(&row),
            DefaultBindingStep::Existing(row) => {
                let existing = row_mapping::binding(&row)?;
                if existing.vault_id == *vault_id {
                    Ok(existing)
                } else {
                    Err(Conflict::DefaultVaultExists(principal_id.clone()).into())
                }
            }
        }
    }

    async fn ensure_default_vault(&self, principal_id: &PrincipalId) -> Result<PrincipalVaultBinding, RegistryError> {
        // The common case (a default exists) needs no write transaction.
        if let Some(existing) = self.get_default(principal_id).await? {
            return Ok(existing);
        }
        match self
            .default_binding_transaction(principal_id, None)
            .await
            .map_err(translate::<B>)?
        {
            DefaultBindingStep::PrincipalMissing => Err(Missing::Principal(principal_id.clone()).into()),
            DefaultBindingStep::Existing(row) | DefaultBindingStep::Bound(row) => row_mapping::binding(&row),
            DefaultBindingStep::VaultMissing => Err(RegistryError::Backend("the new vault vanished".into())),
        }
    }
}

#[async_trait]
impl<B: SqlBackend> IdentityClaimRegistry for SqlStore<B> {
    async fn get(&self, handle: &IdentityHandle) -> Result<Option<IdentityClaim>, RegistryError> {
        self.fetch_optional(
            sql::CLAIM_BY_HANDLE,
            &[Param::Text(handle.as_str())],
            row_mapping::claim,
        )
        .await
    }

    async fn list_accepted_for_principal(
        &self,
        principal_id: &PrincipalId,
    ) -> Result<Vec<IdentityClaim>, RegistryError> {
        let params = [
            Param::Text(principal_id.as_str()),
            Param::Text(ClaimStatus::Accepted.as_str()),
        ];
        self.fetch_all(sql::CLAIM_LIST_BY_STATUS_FOR_PRINCIPAL, &params, row_mapping::claim)
            .await
    }

    async fn claim(&self, handle: &IdentityHandle, principal_id: &PrincipalId) -> Result<IdentityClaim, RegistryError> {
        let (_, now) = now_text();
        let params = [
            Param::Text(handle.as_str()),
            Param::Text(principal_id.as_str()),
            Param::Text(ClaimStatus::Pending.as_str()),
            Param::Text(&now),
        ];
        if let Err(error) = self
            .backend
            .pooled()
            .execute(sql::CLAIM_INSERT_IF_ABSENT, &params)
            .await
        {
            return Err(match classify::<B>(error) {
                Failure::ForeignKeyViolation(_) => Missing::Principal(principal_id.clone()).into(),
                Failure::UniqueViolation(error) => RegistryError::Backend(Box::new(error)),
                Failure::Other(error) => error,
            });
        }
        match IdentityClaimRegistry::get(self, handle).await? {
            Some(claim) if claim.principal_id == *principal_id => Ok(claim),
            Some(_) => Err(Conflict::AlreadyClaimed(handle.clone()).into()),
            None => Err(RegistryError::Backend(
                format!("claim of {handle} neither inserted nor found").into(),
            )),
        }
    }

    async fn accept(&self, handle: &IdentityHandle) -> Result<IdentityClaim, RegistryError> {
        set_claim_status(self, handle, ClaimStatus::Accepted).await
    }

    async fn reject(&self, handle: &IdentityHandle) -> Result<IdentityClaim, RegistryError> {
        set_claim_status(self, handle, ClaimStatus::Rejected).await
    }

    async fn claim_accepted(
        &self,
        handle: &IdentityHandle,
        principal_id: &PrincipalId,
    ) -> Result<IdentityClaim, RegistryError> {
        let (_, now) = now_text();
        let params = [
            Param::Text(handle.as_str()),
            Param::Text(principal_id.as_str()),
            Param::Text(ClaimStatus::Accepted.as_str()),
            Param::Text(&now),
        ];
        match self
            .backend
            .pooled()
            .fetch_optional(sql::CLAIM_UPSERT_ACCEPTED, &params)
            .await
        {
            Ok(Some(row)) => row_mapping::claim(&row),
            // The claim exists and belongs to another principal.
            Ok(None) => Err(Conflict::AlreadyClaimed(handle.clone()).into()),
            Err(error) => Err(match classify::<B>(error) {
                Failure::ForeignKeyViolation(_) => Missing::Principal(principal_id.clone()).into(),
                Failure::UniqueViolation(error) => RegistryError::Backend(Box::new(error)),
                Failure::Other(error) => error,
            }),
        }
    }
}

async fn set_claim_status<B: SqlBackend>(
    store: &SqlStore<B>,
    handle: &IdentityHandle,
    status: ClaimStatus,
) -> Result<IdentityClaim, RegistryError> {
    let (_, now) = now_text();
    let params = [
        Param::Text(status.as_str()),
        Param::Text(&now),
        Param::Text(handle.as_str()),
    ];
    store
        .fetch_optional(sql::CLAIM_SET_STATUS, &params, row_mapping::claim)
        .await?
        .ok_or_else(|| Missing::Claim(handle.clone()).into())
}

#[async_trait]
impl<B: SqlBackend> GlobalProviderConnectionRegistry for SqlStore<B> {
    async fn get(&self, provider: &ProviderName) -> Result<Option<GlobalProviderConnection>, RegistryError> {
        self.fetch_optional(
            sql::GLOBAL_BY_PROVIDER,
            &[Param::Text(provider.as_str())],
            row_mapping::global_connection,
        )
        .await
    }

    async fn list(&self) -> Result<Vec<GlobalProviderConnection>, RegistryError> {
        self.fetch_all(sql::GLOBAL_LIST, &[], row_mapping::global_connection)
            .await
    }

    async fn upsert(&self, target: &GlobalProviderConnectionTarget) -> Result<GlobalProviderConnection, RegistryError> {
        let (_, now) = now_text();
        let params = [
            Param::Text(target.provider.as_str()),
            Param::Text(target.owner_principal_id.as_str()),
            Param::Text(target.owner_vault_id.as_str()),
            Param::Text(target.connection_name.as_str()),
            Param::NullableText(target.created_by_identity.as_ref().map(IdentityHandle::as_str)),
            Param::Text(&now),
        ];
        match self.backend.pooled().fetch_optional(sql::GLOBAL_UPSERT, &params).await {
            Ok(Some(row)) => row_mapping::global_connection(&row),
            Ok(None) => Err(RegistryError::Backend(
                "global connection upsert returned no row".into(),
            )),
            Err(error) => match classify::<B>(error) {
                Failure::ForeignKeyViolation(_) => Err(self
                    .missing_owner(&target.owner_principal_id, &target.owner_vault_id)
                    .await),
                Failure::UniqueViolation(error) => Err(RegistryError::Backend(Box::new(error))),
                Failure::Other(error) => Err(error),
            },
        }
    }

    async fn delete(&self, provider: &ProviderName) -> Result<bool, RegistryError> {
        self.changed(sql::GLOBAL_DELETE, &[Param::Text(provider.as_str())])
            .await
    }

    async fn delete_if_target(
        &self,
        provider: &ProviderName,
        owner_vault_id: &VaultId,
        connection_name: &ConnectionName,
        expected_updated_at: Option<Timestamp>,
    ) -> Result<bool, RegistryError> {
        let target = [
            Param::Text(provider.as_str()),
            Param::Text(owner_vault_id.as_str()),
            Param::Text(connection_name.as_str()),
        ];
        match expected_updated_at {
            None => self.changed(sql::GLOBAL_DELETE_IF_TARGET, &target).await,
            Some(updated_at) => {
                let updated_at = updated_at.to_isoformat();
                let params = [target[0], target[1], target[2], Param::Text(&updated_at)];
                self.changed(sql::GLOBAL_DELETE_IF_TARGET_UNCHANGED, &params).await
            }
        }
    }
}

impl<B: SqlBackend> SqlStore<B> {
    /// The stored configuration and the exact text it was read from (what a compare-and-swap
    /// compares), storing the default first when there is none.
    async fn load_server_config(&self) -> Result<(ServerConfig, String), RegistryError> {
        let key = [Param::Text(SERVER_CONFIG_KEY)];
        let read = |row: &B::Row| -> Result<(ServerConfig, String), RegistryError> {
            let text = row.text("config_json").map_err(crate::error_translation::unexpected)?;
            let config = ServerConfig::from_json(&text).map_err(|source| RegistryError::Corrupt {
                what: "server config",
                source,
            })?;
            Ok((config, text))
        };
        if let Some(stored) = self.fetch_optional(sql::SERVER_CONFIG_GET, &key, read).await? {
            return Ok(stored);
        }
        let default = ServerConfig::default();
        let (json, (_, now)) = (default.to_json(), now_text());
        let params = [Param::Text(SERVER_CONFIG_KEY), Param::Text(&json), Param::Text(&now)];
        self.execute(sql::SERVER_CONFIG_INSERT_IF_ABSENT, &params).await?;
        // Whoever inserted first, everyone returns the stored document.
        self.fetch_optional(sql::SERVER_CONFIG_GET, &key, read)
            .await?
            .ok_or_else(|| RegistryError::Backend("server config row vanished".into()))
    }
}

/// How many times an update re-reads after losing a race before it gives up (each loss means
/// another writer succeeded, so this bounds only a storm of concurrent writers).
const SERVER_CONFIG_UPDATE_ATTEMPTS: usize = 32;

#[async_trait]
impl<B: SqlBackend> ServerConfigRepository for SqlStore<B> {
    async fn load(&self) -> Result<ServerConfig, RegistryError> {
        Ok(self.load_server_config().await?.0)
    }

    async fn update(
        &self,
        change: &(dyn for<'c> Fn(&'c mut ServerConfig) + Send + Sync),
    ) -> Result<ServerConfig, RegistryError> {
        for _ in 0..SERVER_CONFIG_UPDATE_ATTEMPTS {
            let (mut config, read_text) = self.load_server_config().await?;
            change(&mut config);
            let json = config.to_json();
            if json == read_text {
                return Ok(config);
            }
            let (_, now) = now_text();
            let params = [
                Param::Text(SERVER_CONFIG_KEY),
                Param::Text(&json),
                Param::Text(&read_text),
                Param::Text(&now),
            ];
            if self.changed(sql::SERVER_CONFIG_REPLACE_IF_UNCHANGED, &params).await? {
                return Ok(config);
            }
        }
        Err(RegistryError::Backend(
            "the server configuration kept changing under this update".into(),
        ))
    }

    async fn save(&self, config: &ServerConfig) -> Result<(), RegistryError> {
        let (json, (_, now)) = (config.to_json(), now_text());
        let params = [Param::Text(SERVER_CONFIG_KEY), Param::Text(&json), Param::Text(&now)];
        self.execute(sql::SERVER_CONFIG_UPSERT, &params).await
    }
}

fn provider_definition<R: SqlRow>(row: &R) -> Result<ProviderDefinitionDocument, RegistryError> {
    let text = row
        .text("definition_json")
        .map_err(crate::error_translation::unexpected)?;
    ProviderDefinitionDocument::from_json(&text).map_err(|source| RegistryError::Corrupt {
        what: "custom provider definition",
        source,
    })
}

#[async_trait]
impl<B: SqlBackend> ProviderDefinitionRepository for SqlStore<B> {
    async fn get(&self, name: &ProviderName) -> Result<Option<ProviderDefinitionDocument>, RegistryError> {
        self.fetch_optional(
            sql::PROVIDER_BY_NAME,
            &[Param::Text(name.as_str())],
            provider_definition,
        )
        .await
    }

    async fn list(&self) -> Result<Vec<ProviderDefinitionDocument>, RegistryError> {
        self.fetch_all(sql::PROVIDER_LIST, &[], provider_definition).await
    }

    async fn insert(&self, definition: &ProviderDefinitionDocument) -> Result<(), RegistryError> {
        let (json, (_, now)) = (definition.to_json(), now_text());
        let params = [
            Param::Text(definition.name().as_str()),
            Param::Text(&json),
            Param::Text(&now),
        ];
        if self.changed(sql::PROVIDER_INSERT_IF_ABSENT, &params).await? {
            Ok(())
        } else {
            Err(Conflict::ProviderExists(definition.name().clone()).into())
        }
    }

    async fn update(&self, definition: &ProviderDefinitionDocument) -> Result<(), RegistryError> {
        let (json, (_, now)) = (definition.to_json(), now_text());
        let params = [
            Param::Text(definition.name().as_str()),
            Param::Text(&json),
            Param::Text(&now),
        ];
        if self.changed(sql::PROVIDER_UPDATE, &params).await? {
            Ok(())
        } else {
            Err(Missing::ProviderDefinition(definition.name().clone()).into())
        }
    }

    async fn upsert(&self, definition: &ProviderDefinitionDocument) -> Result<(), RegistryError> {
        let (json, (_, now)) = (definition.to_json(), now_text());
        let params = [
            Param::Text(definition.name().as_str()),
            Param::Text(&json),
            Param::Text(&now),
        ];
        self.execute(sql::PROVIDER_UPSERT, &params).await
    }

    async fn delete(&self, name: &ProviderName) -> Result<bool, RegistryError> {
        self.changed(sql::PROVIDER_DELETE, &[Param::Text(name.as_str())]).await
    }
}

#[async_trait]
impl<B: SqlBackend> AuditEventLog for SqlStore<B> {
    async fn append(&self, events: &[AuditEvent]) -> Result<(), RegistryError> {
        if events.is_empty() {
            return Ok(());
        }
        let (_, created_at) = now_text();
        let rows: Vec<_> = events
            .iter()
            .map(|event| {
                let payload = Value::Object(event.flattened_payload()).to_string();
                (event, event.timestamp.to_sortable(), payload)
            })
            .collect();
        let write = async {
            let mut tx = self.backend.begin_write().await?;
            for (event, timestamp, payload) in &rows {
                let params = [
                    Param::Text(event.event_id.as_str()),
                    Param::Text(timestamp),
                    Param::Text(&event.event),
                    Param::Text(event.source.as_str()),
                    Param::NullableText(event.principal_id.as_ref().map(PrincipalId::as_str)),
                    Param::NullableText(event.identity.as_ref().map(IdentityHandle::as_str)),
                    Param::NullableText(event.provider.as_deref()),
                    Param::NullableText(event.connection.as_deref()),
                    Param::Text(payload),
                    Param::Text(&created_at),
                ];
                tx.execute(sql::AUDIT_INSERT_IF_ABSENT, &params).await?;
            }
            B::commit(tx).await
        };
        write.await.map_err(translate::<B>)
    }

    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, RegistryError> {
        let limit = query.limit();
        let params = [
            Param::NullableText(query.principal_id.as_ref().map(PrincipalId::as_str)),
            Param::NullableText(query.identity.as_deref()),
            Param::NullableText(query.after.as_ref().map(|c| c.timestamp.as_str())),
            Param::NullableText(query.after.as_ref().map(|c| c.event_id.as_str())),
            Param::Int(i64::from(limit) + 1),
            Param::NullableText(query.provider.as_deref()),
            Param::NullableText(query.event.as_deref()),
        ];
        let rows = self
            .backend
            .pooled()
            .fetch_all(sql::AUDIT_PAGE, &params)
            .await
            .map_err(translate::<B>)?;
        let has_more = rows.len() > limit as usize;
        let visible = &rows[..rows.len().min(limit as usize)];
        let mut entries = Vec::with_capacity(visible.len());
        for row in visible {
            let payload = row.text("payload_json").map_err(crate::error_translation::unexpected)?;
            match serde_json::from_str::<Map<String, Value>>(&payload) {
                Ok(entry) => entries.push(entry),
                // One unreadable row must not hide the rest of the log.
                Err(error) => {
                    tracing::warn!(%error, "skipping an audit event whose payload is not a JSON object")
                }
            }
        }
        let next_cursor = match visible.last() {
            Some(last) if has_more => Some(AuditCursor {
                timestamp: last.text("timestamp").map_err(crate::error_translation::unexpected)?,
                event_id: last.text("event_id").map_err(crate::error_translation::unexpected)?,
            }),
            _ => None,
        };
        Ok(AuditPage { entries, next_cursor })
    }
}
