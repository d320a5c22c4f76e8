//! The principal registry port (`principals`).

use async_trait::async_trait;
use authsome_domain::{Email, NewPrincipal, PasswordHash, Principal, PrincipalId, Role};

use crate::RegistryError;

/// Human accounts. Emails are unique (after normalisation, which [`Email`] guarantees).
#[async_trait]
pub trait PrincipalRegistry: Send + Sync {
    /// Creates a principal with a fresh `principal_` id and `created_at == updated_at == now`.
    ///
    /// - With [`RolePolicy::FirstPrincipalIsAdmin`](authsome_domain::RolePolicy) the role MUST
    ///   be `admin` when no principal exists yet and `user` otherwise, decided atomically with
    ///   the insert: when several first principals are created at once, exactly one is admin.
    /// - With `RolePolicy::Fixed(role)` the role MUST be `role`.
    /// - MUST fail with [`Conflict::EmailTaken`](crate::Conflict::EmailTaken) when a principal
    ///   with the email exists, writing nothing.
    async fn create(&self, new: NewPrincipal) -> Result<Principal, RegistryError>;

    /// The principal with this id; MUST return `Ok(None)` when absent.
    async fn get(&self, id: &PrincipalId) -> Result<Option<Principal>, RegistryError>;

    /// The principal with this (normalised) email; MUST return `Ok(None)` when absent.
    async fn get_by_email(&self, email: &Email) -> Result<Option<Principal>, RegistryError>;

    /// Every principal, ordered by `created_at`, then id.
    async fn list(&self) -> Result<Vec<Principal>, RegistryError>;

    /// Replaces the password hash and bumps `updated_at`; returns the updated principal.
    /// MUST fail with [`Missing::Principal`](crate::Missing::Principal) when absent.
    async fn set_password(&self, id: &PrincipalId, hash: &PasswordHash) -> Result<Principal, RegistryError>;

    /// Sets the password of a principal that has none (an account created without one),
    /// atomically: MUST fail with
    /// [`Conflict::PasswordAlreadySet`](crate::Conflict::PasswordAlreadySet) when it already
    /// has a password (leaving it unchanged), and with `Missing::Principal` when absent.
    async fn set_initial_password(&self, id: &PrincipalId, hash: &PasswordHash) -> Result<Principal, RegistryError>;

    /// Changes the role and bumps `updated_at`; returns the updated principal.
    /// MUST fail with `Missing::Principal` when absent.
    async fn set_role(&self, id: &PrincipalId, role: Role) -> Result<Principal, RegistryError>;
}
