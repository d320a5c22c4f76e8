//! Registering identities and reporting whether they are claimed.
//!
//! A claim link is handed out only to the request that created the registration (and, on
//! an admin's request, for recovery). The reference minted a fresh link for anyone who asked
//! about an unclaimed handle, which let a stranger claim someone else's agent.

use std::time::Duration;

use authsome_domain::{
    ClaimStatus, ClientAddress, DidKey, IdentityHandle, IdentityRegistration, PendingClaim, PrincipalId,
};
use authsome_ports::{Conflict, RegistryError};

use crate::ServiceError;
use crate::audit::{self, AuditEventExt};
use crate::context::ServiceContext;
use crate::repeated_warning::RepeatedWarning;

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
    ServiceError::Invalid(message.into())
}

async fn status_of(state: &ServiceContext, registration: IdentityRegistration) -> Result<IdentityStatus, ServiceError> {
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
pub async fn issue_claim_url(state: &ServiceContext, handle: &IdentityHandle) -> Result<String, ServiceError> {
    let claim = state
        .runtime
        .pending_claims
        .create(handle, state.policy.claim_ttl_seconds)
        .await?;
    Ok(state.url(&format!("/claim?token={}", claim.token)))
}

/// Registrations are counted per client over this window.
pub const REGISTRATION_WINDOW_SECONDS: i64 = 3600;

static REGISTRATIONS_THROTTLED: RepeatedWarning = RepeatedWarning::every(Duration::from_secs(60));

/// Why a registration was not made.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// The client has registered too many identities in the last hour.
    #[error("Too many identities registered from this address; try again in an hour")]
    TooMany,
    /// Anything else.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Counts a registration attempt from `client` (every attempt, so that concurrent bursts
/// cannot slip past the count); refuses it past the hourly limit. Anyone can register an
/// identity, and each one is a database row and a small replay-cache quota, so the number a
/// client can make is what bounds them.
async fn admit_registration(state: &ServiceContext, client: Option<ClientAddress>) -> Result<(), RegistrationError> {
    let Some(client) = client else {
        return Ok(());
    };
    let key = format!("identity-registrations:address:{client}");
    let attempts = state
        .runtime
        .rate_limiter
        .hit(&key, REGISTRATION_WINDOW_SECONDS)
        .await
        .map_err(ServiceError::from)?;
    if attempts > state.policy.registrations_per_hour {
        if let Some(left_out) = REGISTRATIONS_THROTTLED.due() {
            tracing::warn!(
                %client,
                limit = state.policy.registrations_per_hour,
                similar_left_out = left_out,
                "a client registered more identities than allowed per hour: refusing (429)"
            );
        }
        return Err(RegistrationError::TooMany);
    }
    Ok(())
}

/// `POST /api/identities/register` from `client` (when known).
#[tracing::instrument(level = "debug", skip_all, fields(handle = %handle))]
pub async fn register(
    state: &ServiceContext,
    handle: &str,
    did: &str,
    client: Option<ClientAddress>,
) -> Result<IdentityStatus, RegistrationError> {
    let handle = IdentityHandle::parse(handle).map_err(|e| bad_request(e.to_string()))?;
    let did = DidKey::parse(did).map_err(|e| bad_request(e.to_string()))?;
    admit_registration(state, client).await?;
    let registered = match state.registries.identities.register(&handle, &did).await {
        Ok(registered) => registered,
        Err(RegistryError::Conflict(conflict @ (Conflict::HandleTaken(_) | Conflict::DidTaken(_)))) => {
            return Err(ServiceError::Conflict(conflict.to_string()).into());
        }
        Err(other) => return Err(ServiceError::from(other).into()),
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
pub async fn status(state: &ServiceContext, handle: &str) -> Result<Option<IdentityStatus>, ServiceError> {
    let Ok(handle) = IdentityHandle::parse(handle) else {
        return Ok(None);
    };
    match state.registries.identities.get(&handle).await? {
        None => Ok(None),
        Some(registration) => Ok(Some(status_of(state, registration).await?)),
    }
}

/// The live claim link for `token`; `None` when unknown, used or expired.
pub async fn pending_claim(state: &ServiceContext, token: &str) -> Result<Option<PendingClaim>, ServiceError> {
    if !PendingClaim::is_token_shaped(token) {
        return Ok(None);
    }
    Ok(state.runtime.pending_claims.get(token).await?)
}

/// Why a claim link was not used.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The link was used already, has expired or never existed.
    #[error("the claim link was used, has expired or is not valid")]
    LinkExpired,
    /// Another account has claimed the identity.
    #[error("the identity is claimed by another account")]
    ClaimedByAnother,
    /// Anything else.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Claims the agent behind claim link `token` for `principal_id`. The link is consumed only
/// once the claim can succeed, so a refused claim leaves it usable; the principal's default
/// vault is created when missing; the claim is in the audit log before it is accepted.
#[tracing::instrument(level = "debug", skip_all, fields(principal = %principal_id))]
pub async fn confirm_claim(state: &ServiceContext, token: &str, principal_id: &PrincipalId) -> Result<(), ClaimError> {
    let Some(pending) = pending_claim(state, token).await? else {
        return Err(ClaimError::LinkExpired);
    };
    let current = state
        .registries
        .claims
        .get(&pending.identity)
        .await
        .map_err(ServiceError::from)?;
    if current.is_some_and(|claim| claim.principal_id != *principal_id) {
        return Err(ClaimError::ClaimedByAnother);
    }
    let mut event = authsome_domain::AuditEvent::new("identity.claimed").status("success");
    event.identity = Some(pending.identity.clone());
    event.principal_id = Some(principal_id.clone());
    audit::recorded(state, event, async {
        if state
            .runtime
            .pending_claims
            .consume(token)
            .await
            .map_err(ServiceError::from)?
            .is_none()
        {
            return Err(ClaimError::LinkExpired);
        }
        state
            .registries
            .bindings
            .ensure_default_vault(principal_id)
            .await
            .map_err(ServiceError::from)?;
        match state
            .registries
            .claims
            .claim_accepted(&pending.identity, principal_id)
            .await
        {
            Ok(_) => Ok(()),
            Err(RegistryError::Conflict(Conflict::AlreadyClaimed(_))) => Err(ClaimError::ClaimedByAnother),
            Err(error) => Err(ServiceError::from(error).into()),
        }
    })
    .await
}

/// A fresh claim link for an agent nobody claimed (admins only): the recovery path when the
/// link from registration was lost or expired. An unknown or invalid handle is `NotFound`, a
/// claimed one `Conflict`. Returns the handle and the link.
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor(), handle = %handle))]
pub async fn recover_claim_link(
    state: &ServiceContext,
    caller: &crate::ownership::Caller,
    handle: &str,
) -> Result<(IdentityHandle, String), ServiceError> {
    caller.require_admin()?;
    let not_found = || ServiceError::NotFound("Identity not found".to_owned());
    let registered = match status(state, handle).await {
        Ok(Some(registered)) => registered,
        Ok(None) | Err(ServiceError::Invalid(_)) => return Err(not_found()),
        Err(other) => return Err(other),
    };
    if registered.principal_id.is_some() {
        return Err(ServiceError::Conflict(format!(
            "Identity '{handle}' is already claimed"
        )));
    }
    let url = issue_claim_url(state, &registered.registration.handle).await?;
    Ok((registered.registration.handle, url))
}

/// An agent as its detail view shows it.
#[derive(Debug, Clone)]
pub struct AgentDetail {
    /// The registration.
    pub registration: IdentityRegistration,
    /// Its claim, when someone claimed it (in any state).
    pub claim: Option<authsome_domain::IdentityClaim>,
    /// The claiming principal's email.
    pub principal_email: Option<authsome_domain::Email>,
    /// The vault the agent's credentials live in (its owner's default vault).
    pub vault_id: Option<authsome_domain::VaultId>,
}

impl AgentDetail {
    /// Where the claim stands.
    pub fn registration_status(&self) -> RegistrationStatus {
        match self.claim.as_ref().map(|c| c.status) {
            None => RegistrationStatus::ClaimRequired,
            Some(ClaimStatus::Accepted) => RegistrationStatus::Claimed,
            Some(ClaimStatus::Pending) => RegistrationStatus::Pending,
            Some(ClaimStatus::Rejected) => RegistrationStatus::Rejected,
        }
    }
}

/// An agent's detail, for its owner or an admin. Anyone else is told it does not exist (the
/// same answer as for an unknown or invalid handle), so handles cannot be probed.
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor(), handle = %handle))]
pub async fn agent_detail(
    state: &ServiceContext,
    caller: &crate::ownership::Caller,
    handle: &str,
) -> Result<AgentDetail, ServiceError> {
    let not_found = || ServiceError::NotFound("Identity not found".to_owned());
    let Ok(handle) = IdentityHandle::parse(handle) else {
        return Err(not_found());
    };
    let Some(registration) = state.registries.identities.get(&handle).await? else {
        return Err(not_found());
    };
    let claim = state.registries.claims.get(&handle).await?;
    if !caller.is_admin() && claim.as_ref().is_none_or(|c| c.principal_id != caller.principal_id) {
        return Err(not_found());
    }
    let principal_email = match &claim {
        Some(claim) => state
            .registries
            .principals
            .get(&claim.principal_id)
            .await?
            .map(|p| p.email),
        None => None,
    };
    let vault_id = match &claim {
        Some(claim) => state
            .registries
            .bindings
            .get_default(&claim.principal_id)
            .await?
            .map(|binding| binding.vault_id),
        None => None,
    };
    Ok(AgentDetail {
        registration,
        claim,
        principal_email,
        vault_id,
    })
}

/// An agent as a listing shows it: its accepted claim and who owns it.
#[derive(Debug, Clone)]
pub struct AgentSummary {
    /// The accepted claim (handle, owner, when).
    pub claim: authsome_domain::IdentityClaim,
    /// The owner's email.
    pub owner_email: authsome_domain::Email,
}

/// The claimed agents `caller` may see, by handle: their own, or everyone's for an admin.
/// (Registrations nobody claimed are not listed: the registry is read by handle only.)
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor()))]
pub async fn agents_for(
    state: &ServiceContext,
    caller: &crate::ownership::Caller,
) -> Result<Vec<AgentSummary>, ServiceError> {
    let owners = if caller.is_admin() {
        state.registries.principals.list().await?
    } else {
        state
            .registries
            .principals
            .get(&caller.principal_id)
            .await?
            .into_iter()
            .collect()
    };
    let mut agents = Vec::new();
    for owner in owners {
        for claim in state.registries.claims.list_accepted_for_principal(&owner.id).await? {
            agents.push(AgentSummary {
                claim,
                owner_email: owner.email.clone(),
            });
        }
    }
    agents.sort_by(|a, b| a.claim.identity_handle.cmp(&b.claim.identity_handle));
    Ok(agents)
}
