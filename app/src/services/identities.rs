//! Registering identities and reporting whether they are claimed.
//!
//! A claim link is handed out only to the request that created the registration (and, on
//! an admin's request, for recovery). The reference minted a fresh link for anyone who asked
//! about an unclaimed handle, which let a stranger claim someone else's agent.

use authsome_domain::{ClaimStatus, DidKey, IdentityHandle, IdentityRegistration, PrincipalId};
use authsome_ports::{Conflict, RegistryError};
use poem::http::StatusCode;

use crate::services::ServiceError;
use crate::services::audit::{self, AuditEventExt};
use crate::state::AppState;

/// Where an identity stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationStatus {
    /// Registered, nobody has claimed it.
    ClaimRequired,
    /// Claimed and accepted.
    Claimed,
    /// Claimed, not yet accepted.
    Pending,
    /// Claim rejected.
    Rejected,
}

impl RegistrationStatus {
    /// The wire form.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ClaimRequired => "claim_required",
            Self::Claimed => "claimed",
            Self::Pending => "pending",
            Self::Rejected => "rejected",
        }
    }
}

/// An identity's status.
#[derive(Debug, Clone)]
pub struct IdentityStatus {
    /// The registration.
    pub registration: IdentityRegistration,
    /// Where it stands.
    pub status: RegistrationStatus,
    /// The claiming principal, when claimed (in any state).
    pub principal_id: Option<PrincipalId>,
    /// A claim link, only for the request that registered the identity.
    pub claim_url: Option<String>,
}

fn bad_request(message: impl Into<String>) -> ServiceError {
    ServiceError::detail(StatusCode::BAD_REQUEST, message)
}

async fn status_of(state: &AppState, registration: IdentityRegistration) -> Result<IdentityStatus, ServiceError> {
    let claim = state.registries.claims.get(&registration.handle).await?;
    let (status, principal_id) = match claim {
        None => (RegistrationStatus::ClaimRequired, None),
        Some(claim) => (
            match claim.status {
                ClaimStatus::Accepted => RegistrationStatus::Claimed,
                ClaimStatus::Pending => RegistrationStatus::Pending,
                ClaimStatus::Rejected => RegistrationStatus::Rejected,
            },
            Some(claim.principal_id),
        ),
    };
    Ok(IdentityStatus {
        registration,
        status,
        principal_id,
        claim_url: None,
    })
}

/// A fresh claim link for `handle`.
pub async fn issue_claim_url(state: &AppState, handle: &IdentityHandle) -> Result<String, ServiceError> {
    let claim = state
        .runtime
        .pending_claims
        .create(handle, state.settings.claim_ttl_seconds)
        .await?;
    Ok(state.url(&format!("/claim?token={}", claim.token)))
}

/// `POST /api/identities/register`.
pub async fn register(state: &AppState, handle: &str, did: &str) -> Result<IdentityStatus, ServiceError> {
    let handle = IdentityHandle::parse(handle).map_err(|e| bad_request(e.to_string()))?;
    let did = DidKey::parse(did).map_err(|e| bad_request(e.to_string()))?;
    let registered = match state.registries.identities.register(&handle, &did).await {
        Ok(registered) => registered,
        Err(RegistryError::Conflict(conflict @ (Conflict::HandleTaken(_) | Conflict::DidTaken(_)))) => {
            return Err(ServiceError::Detail(StatusCode::CONFLICT, conflict.to_string()));
        }
        Err(other) => return Err(other.into()),
    };
    let mut status = status_of(state, registered.registration).await?;
    if registered.created && status.status == RegistrationStatus::ClaimRequired {
        status.claim_url = Some(issue_claim_url(state, &handle).await?);
    }
    let mut event = authsome_domain::AuditEvent::new("identity.created").status(status.status.as_str());
    event.identity = Some(handle);
    event.principal_id = status.principal_id.clone();
    audit::record(state, event).await;
    Ok(status)
}

/// `GET /api/identities/{handle}`: `None` when unknown (including malformed handles).
pub async fn status(state: &AppState, handle: &str) -> Result<Option<IdentityStatus>, ServiceError> {
    let Ok(handle) = IdentityHandle::parse(handle) else {
        return Ok(None);
    };
    match state.registries.identities.get(&handle).await? {
        None => Ok(None),
        Some(registration) => Ok(Some(status_of(state, registration).await?)),
    }
}
