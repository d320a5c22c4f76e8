//! Rows to domain entities. Every column is parsed into its validated type; a row that does
//! not parse is reported as corrupt rather than passed on half-valid.

use authsome_domain::{
    ClaimStatus, ConnectionName, DidKey, Email, GlobalProviderConnection, GlobalProviderConnectionTarget,
    IdentityClaim, IdentityHandle, IdentityRegistration, PasswordHash, Principal, PrincipalId, PrincipalVaultBinding,
    ProviderDefinitionDocument, ProviderName, Role, Timestamp, ValidationError, Vault, VaultId,
};
use authsome_ports::{IdentityOwnership, RegistryError};

use crate::error_translation::unexpected;
use crate::session::SqlRow;

/// A column read: the backend error is an unexpected database failure; the parse error makes
/// the row corrupt.
fn parsed<R: SqlRow, T>(
    row: &R,
    what: &'static str,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, ValidationError>,
) -> Result<T, RegistryError> {
    let text = row.text(column).map_err(unexpected)?;
    parse(&text).map_err(|source| RegistryError::Corrupt { what, source })
}

fn parsed_optional<R: SqlRow, T>(
    row: &R,
    what: &'static str,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, ValidationError>,
) -> Result<Option<T>, RegistryError> {
    match row.nullable_text(column).map_err(unexpected)? {
        None => Ok(None),
        Some(text) => parse(&text)
            .map(Some)
            .map_err(|source| RegistryError::Corrupt { what, source }),
    }
}

fn timestamps<R: SqlRow>(row: &R, what: &'static str) -> Result<(Timestamp, Timestamp), RegistryError> {
    Ok((
        parsed(row, what, "created_at", Timestamp::parse)?,
        parsed(row, what, "updated_at", Timestamp::parse)?,
    ))
}

pub(crate) fn identity<R: SqlRow>(row: &R) -> Result<IdentityRegistration, RegistryError> {
    const WHAT: &str = "identity registration";
    let (created_at, updated_at) = timestamps(row, WHAT)?;
    Ok(IdentityRegistration {
        handle: parsed(row, WHAT, "handle", IdentityHandle::parse)?,
        did: parsed(row, WHAT, "did", DidKey::parse)?,
        created_at,
        updated_at,
    })
}

pub(crate) fn principal<R: SqlRow>(row: &R) -> Result<Principal, RegistryError> {
    const WHAT: &str = "principal";
    let (created_at, updated_at) = timestamps(row, WHAT)?;
    Ok(Principal {
        id: parsed(row, WHAT, "principal_id", PrincipalId::parse)?,
        email: parsed(row, WHAT, "email", Email::from_stored)?,
        role: parsed(row, WHAT, "role", Role::parse)?,
        password_hash: parsed_optional(row, WHAT, "password_hash", PasswordHash::from_phc)?,
        created_at,
        updated_at,
    })
}

pub(crate) fn vault<R: SqlRow>(row: &R) -> Result<Vault, RegistryError> {
    const WHAT: &str = "vault";
    let (created_at, updated_at) = timestamps(row, WHAT)?;
    Ok(Vault {
        id: parsed(row, WHAT, "vault_id", VaultId::parse)?,
        handle: row.text("handle").map_err(unexpected)?,
        created_at,
        updated_at,
    })
}

pub(crate) fn binding<R: SqlRow>(row: &R) -> Result<PrincipalVaultBinding, RegistryError> {
    const WHAT: &str = "principal vault binding";
    let (created_at, updated_at) = timestamps(row, WHAT)?;
    Ok(PrincipalVaultBinding {
        principal_id: parsed(row, WHAT, "principal_id", PrincipalId::parse)?,
        vault_id: parsed(row, WHAT, "vault_id", VaultId::parse)?,
        is_default: row.boolean("is_default").map_err(unexpected)?,
        created_at,
        updated_at,
    })
}

pub(crate) fn claim<R: SqlRow>(row: &R) -> Result<IdentityClaim, RegistryError> {
    const WHAT: &str = "identity claim";
    let (created_at, updated_at) = timestamps(row, WHAT)?;
    Ok(IdentityClaim {
        identity_handle: parsed(row, WHAT, "identity_handle", IdentityHandle::parse)?,
        principal_id: parsed(row, WHAT, "principal_id", PrincipalId::parse)?,
        status: parsed(row, WHAT, "claim_status", ClaimStatus::parse)?,
        created_at,
        updated_at,
    })
}

pub(crate) fn global_connection<R: SqlRow>(row: &R) -> Result<GlobalProviderConnection, RegistryError> {
    const WHAT: &str = "global provider connection";
    let (created_at, updated_at) = timestamps(row, WHAT)?;
    Ok(GlobalProviderConnection {
        target: GlobalProviderConnectionTarget {
            provider: parsed(row, WHAT, "provider", ProviderName::parse)?,
            owner_principal_id: parsed(row, WHAT, "owner_principal_id", PrincipalId::parse)?,
            owner_vault_id: parsed(row, WHAT, "owner_vault_id", VaultId::parse)?,
            connection_name: parsed(row, WHAT, "connection_name", ConnectionName::parse)?,
            created_by_identity: parsed_optional(row, WHAT, "created_by_identity", IdentityHandle::parse)?,
        },
        created_at,
        updated_at,
    })
}

/// A row of `IDENTITY_OWNERSHIP`: the identity, its claim, the principal, the default vault.
pub fn identity_ownership<R: SqlRow>(row: &R) -> Result<IdentityOwnership, RegistryError> {
    const WHAT: &str = "identity ownership";
    let registration = identity(row)?;
    let claim = match parsed_optional(row, WHAT, "claim_principal_id", PrincipalId::parse)? {
        None => None,
        Some(principal_id) => Some(IdentityClaim {
            identity_handle: registration.handle.clone(),
            principal_id,
            status: parsed(row, WHAT, "claim_status", ClaimStatus::parse)?,
            created_at: parsed(row, WHAT, "claim_created_at", Timestamp::parse)?,
            updated_at: parsed(row, WHAT, "claim_updated_at", Timestamp::parse)?,
        }),
    };
    let role = parsed_optional(row, WHAT, "principal_role", Role::parse)?;
    let email = parsed_optional(row, WHAT, "principal_email", Email::from_stored)?;
    Ok(IdentityOwnership {
        registration,
        claim,
        principal: role.zip(email),
        default_vault: parsed_optional(row, WHAT, "default_vault_id", VaultId::parse)?,
    })
}

/// A row of `IDENTITY_OWNERSHIP_WITH_PROVIDER`: the ownership and the custom definition.
pub fn identity_ownership_with_custom_provider<R: SqlRow>(
    row: &R,
) -> Result<(IdentityOwnership, Option<ProviderDefinitionDocument>), RegistryError> {
    let ownership = identity_ownership(row)?;
    let custom = row
        .nullable_text("custom_provider_json")
        .map_err(unexpected)?
        .map(|text| {
            ProviderDefinitionDocument::from_json(&text).map_err(|source| RegistryError::Corrupt {
                what: "custom provider definition",
                source,
            })
        })
        .transpose()?;
    Ok((ownership, custom))
}
