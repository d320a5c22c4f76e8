//! Who is calling: a proof-of-possession identity resolved to its principal and vault, or a
//! principal signed in through a browser session. Resolved from the shared stores on every
//! request; nothing is cached in the process (another replica may change a claim or a role).

use authsome_domain::{BrowserSession, ClaimStatus, DidKey, Email, IdentityHandle, PrincipalId, Role, VaultId};
use authsome_ports::IdentityOwnership;
use secrecy::SecretString;

use crate::ServiceError;
use crate::context::ServiceContext;

/// How the caller authenticated.
#[derive(Clone)]
pub enum Authentication {
    /// A proof-of-possession token signed by an identity's key.
    Pop {
        /// The identity's DID.
        did: DidKey,
    },
    /// A browser session cookie.
    Browser {
        /// The session's CSRF token, which state-changing requests must echo.
        csrf_token: SecretString,
    },
}

/// An authenticated caller with its authorisation context.
#[derive(Clone)]
pub struct Caller {
    /// The identity handle (PoP callers only).
    pub identity: Option<IdentityHandle>,
    /// The principal acting.
    pub principal_id: PrincipalId,
    /// The principal's email (browser callers).
    pub email: Option<Email>,
    /// The principal's default vault.
    pub vault_id: VaultId,
    /// The principal's role.
    pub role: Role,
    /// How the caller authenticated.
    pub authentication: Authentication,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("identity", &self.identity)
            .field("principal_id", &self.principal_id)
            .field("vault_id", &self.vault_id)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl Caller {
    /// Whether the caller is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The identity handle text, or `None`.
    pub fn identity_str(&self) -> Option<&str> {
        self.identity.as_ref().map(IdentityHandle::as_str)
    }

    /// Who the caller is in error messages: the handle, else the principal id.
    pub fn actor(&self) -> &str {
        self.identity_str().unwrap_or(self.principal_id.as_str())
    }

    /// The DID of a PoP caller.
    pub fn did(&self) -> Option<&DidKey> {
        match &self.authentication {
            Authentication::Pop { did } => Some(did),
            Authentication::Browser { .. } => None,
        }
    }

    /// 403 unless the caller is an admin.
    pub fn require_admin(&self) -> Result<(), ServiceError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ServiceError::admin_required())
        }
    }
}

/// The 403 messages of the reference when an identity may not act.
pub fn caller_from_ownership(ownership: IdentityOwnership, did: DidKey) -> Result<Caller, ServiceError> {
    let handle = ownership.registration.handle;
    let forbidden = |message: String| ServiceError::Forbidden(message);
    let Some(claim) = ownership.claim else {
        return Err(forbidden(format!("Identity '{handle}' is not claimed")));
    };
    match claim.status {
        ClaimStatus::Accepted => {}
        ClaimStatus::Rejected => return Err(forbidden(format!("Identity '{handle}' claim has been rejected"))),
        ClaimStatus::Pending => {
            return Err(forbidden(format!(
                "Identity '{handle}' claim is pending principal approval"
            )));
        }
    }
    let Some((role, _email)) = ownership.principal else {
        return Err(forbidden(format!("Principal '{}' not found", claim.principal_id)));
    };
    let Some(vault_id) = ownership.default_vault else {
        return Err(forbidden(format!(
            "Principal '{}' has no default vault",
            claim.principal_id
        )));
    };
    Ok(Caller {
        identity: Some(handle),
        principal_id: claim.principal_id,
        email: None,
        vault_id,
        role,
        authentication: Authentication::Pop { did },
    })
}

/// The caller behind a browser session; `None` when its principal or default vault is gone.
pub async fn caller_from_browser_session(
    state: &ServiceContext,
    session: &BrowserSession,
) -> Result<Option<Caller>, ServiceError> {
    let Some(principal) = state.registries.principals.get(&session.principal_id).await? else {
        return Ok(None);
    };
    let Some(binding) = state.registries.bindings.get_default(&principal.id).await? else {
        return Ok(None);
    };
    Ok(Some(Caller {
        identity: None,
        principal_id: principal.id,
        email: Some(principal.email),
        vault_id: binding.vault_id,
        role: principal.role,
        authentication: Authentication::Browser {
            csrf_token: session.csrf_token.clone(),
        },
    }))
}
