//! # authsome-domain
//!
//! The entities, validated newtypes, errors and pure rules of authsome-rs: identity handles
//! and `did:key` identifiers, principals, vaults, identity claims, principal-vault bindings,
//! provider pointers and definitions, server configuration and audit events.
//!
//! Every value that crosses a trust boundary is parsed into one of these types once, at the
//! edge, so that the rest of the program never sees an unvalidated handle, id or email.
//!
//! This crate must stay pure: it must not depend on sqlx, redis, poem, tokio or anything
//! else that performs I/O. Randomness (for new ids) is the only contact with the outside.

pub mod audit;
pub mod auth_session;
pub mod browser_session;
pub mod claim;
pub mod client_address;
pub mod credential_export;
pub mod credential_headers;
pub mod credential_records;
pub mod did_key;
pub mod hex;
pub mod identity;
pub mod oauth;
pub mod password;
pub mod pending_claim;
mod prefixed_id;
pub mod principal;
pub mod proof;
pub mod provider;
pub mod provider_definition;
pub mod python_json;
pub mod random_token;
pub mod return_path;
pub mod server_config;
pub mod timestamp;
pub mod validation;
pub mod vault;
pub mod vault_crypto;
pub mod vault_entry;
pub mod visible_text;

pub use audit::{AuditCursor, AuditEvent, AuditEventId, AuditPage, AuditQuery, AuditSource};
pub use auth_session::{AuthSession, AuthSessionId, AuthSessionState, SessionSecrets};
pub use browser_session::{BrowserSession, BrowserSessionToken};
pub use claim::{ClaimStatus, IdentityClaim};
pub use client_address::{ClientAddress, TrustedProxies};
pub use did_key::DidKey;
pub use identity::{IdentityHandle, IdentityRegistration};
pub use pending_claim::PendingClaim;
pub use principal::{Email, NewPrincipal, PasswordHash, Principal, PrincipalId, Role, RolePolicy};
pub use provider::{
    ConnectionName, GlobalProviderConnection, GlobalProviderConnectionTarget, ProviderDefinitionDocument, ProviderName,
};
pub use server_config::ServerConfig;
pub use timestamp::Timestamp;
pub use validation::ValidationError;
pub use vault::{PrincipalVaultBinding, Vault, VaultId};
