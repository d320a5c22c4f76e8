//! `/api/identities/*`: agent registration, claim status, and the caller's agents.

use authsome_domain::DidKey;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use crate::http::api::ApiTags;
use crate::http::api::wire_enums::{ClaimStatus, Registered, RegistrationStatus};
use crate::http::caller::AnyCaller;
use crate::http::client_address::client_address;
use crate::http::errors::{ApiError, Detail, ValidationReport};
use crate::state::SharedState;
use authsome_services::identities::{self, IdentityStatus, RegistrationError};

/// `POST /api/identities/register` body.
#[derive(Object)]
pub struct RegisterIdentity {
    /// The handle the agent chose (`^[a-z0-9][a-z0-9-]*[a-z0-9]$`).
    #[oai(deserialize_with = "crate::http::api::strict_json::text")]
    pub handle: String,
    /// The agent's `did:key` (Ed25519).
    #[oai(deserialize_with = "crate::http::api::strict_json::text")]
    pub did: String,
}

/// An identity's registration and claim status.
#[derive(Object)]
pub struct RegistrationView {
    /// `registered` (only in the register response).
    #[oai(skip_serializing_if_is_none)]
    pub status: Option<Registered>,
    /// The handle.
    pub identity: String,
    /// The DID.
    pub did: String,
    /// Where the claim stands. (The reference also named the claiming principal here, to
    /// anyone who asked; no client reads it, and the owner sees it in `whoami` and the agent
    /// detail.)
    pub registration_status: RegistrationStatus,
    /// Where a person claims the agent. Only in the response of the request that registered
    /// the identity (never to later status polls).
    #[oai(skip_serializing_if_is_none)]
    pub claim_url: Option<String>,
}

fn registration_view(status: IdentityStatus, include_status: bool) -> RegistrationView {
    RegistrationView {
        status: include_status.then_some(Registered::Registered),
        identity: status.registration.handle.as_str().to_owned(),
        did: status.registration.did.as_str().to_owned(),
        registration_status: status.status.into(),
        claim_url: status.claim_url,
    }
}

/// `GET /api/identities/by-did/{did}`.
#[derive(Object)]
pub struct IdentityByDid {
    /// The handle.
    pub identity: String,
    /// The DID.
    pub did: String,
}

/// One of the caller's agents.
#[derive(Object)]
pub struct OwnedIdentity {
    /// The handle.
    pub handle: String,
    /// Always `accepted`.
    pub status: ClaimStatus,
}

/// `GET /api/identities`.
#[derive(Object)]
pub struct OwnedIdentities {
    /// The caller's accepted agents, by handle.
    pub identities: Vec<OwnedIdentity>,
}

/// `GET /api/identities/{handle}/detail`.
#[derive(Object)]
pub struct AgentDetail {
    /// The handle.
    pub handle: String,
    /// The DID.
    pub did: String,
    /// Where the claim stands.
    pub registration_status: RegistrationStatus,
    /// The claim's status; null when nobody has claimed it.
    #[oai(nullable)]
    pub claim_status: Option<ClaimStatus>,
    /// The claiming principal; null when unclaimed.
    #[oai(nullable)]
    pub principal_id: Option<String>,
    /// The claiming principal's email; null when unclaimed.
    #[oai(nullable)]
    pub principal_email: Option<String>,
    /// Whether this is the calling agent.
    pub is_active: bool,
    /// Registration time.
    pub created_at: String,
    /// Registration change time.
    pub updated_at: String,
    /// Claim time; null when unclaimed.
    #[oai(nullable)]
    pub claimed_at: Option<String>,
}

/// `POST /api/identities/{handle}/claim-link` response.
#[derive(Object)]
pub struct ClaimLink {
    /// The handle.
    pub identity: String,
    /// A fresh claim link.
    pub claim_url: String,
}

/// `GET /api/claim/{token}`: what a claim link is for.
#[derive(Object)]
pub struct ClaimLinkStatus {
    /// The token asked about.
    pub token: String,
    /// The agent's handle (empty when the link is expired or unknown).
    pub identity: String,
    /// Whether the request carries a live browser session.
    pub authenticated: bool,
    /// The signed-in person's email (empty when not signed in; absent when expired).
    #[oai(skip_serializing_if_is_none)]
    pub email: Option<String>,
    /// Whether the link is unusable (used, expired or unknown).
    pub expired: bool,
}

operation_success! {
    /// What `POST /api/identities/register` answers.
    RegisterSuccess {
        /// Registered (or already registered with this DID); the claim link only when this
        /// request created the registration.
        200 Registered(RegistrationView),
    }
}

operation_failures! {
    /// Why `POST /api/identities/register` can fail.
    RegisterFailure public_limited {
        /// The handle or the DID is not valid.
        400 BadRequest(Detail),
        /// The handle is taken by another DID, or the DID is registered under another handle.
        409 Conflict(Detail),
        /// The body is not `{"handle", "did"}`.
        422 Invalid(ValidationReport),
        /// The body is larger than the server accepts (1 MiB).
        413 TooLarge(Detail),
    }
}

operation_success! {
    /// What `GET /api/identities/by-did/{did}` answers.
    ByDidSuccess {
        /// The handle registered for the DID.
        200 Found(IdentityByDid),
    }
}

operation_failures! {
    /// Why `GET /api/identities/by-did/{did}` can fail.
    ByDidFailure public {
        /// No identity is registered for the DID (or it is not a DID).
        404 NotFound(Detail),
    }
}

operation_success! {
    /// What `GET /api/identities` answers.
    OwnedIdentitiesSuccess {
        /// The caller's agents.
        200 Listed(OwnedIdentities),
    }
}

operation_failures! {
    /// Why `GET /api/identities` can fail.
    OwnedIdentitiesFailure authenticated {}
}

operation_success! {
    /// What `GET /api/identities/{handle}/detail` answers.
    AgentDetailSuccess {
        /// The agent.
        200 Detail(AgentDetail),
    }
}

operation_failures! {
    /// Why `GET /api/identities/{handle}/detail` can fail.
    AgentDetailFailure authenticated {
        /// No such agent, or not one of the caller's (unless admin).
        404 NotFound(Detail),
    }
}

operation_success! {
    /// What `POST /api/identities/{handle}/claim-link` answers.
    ClaimLinkSuccess {
        /// A fresh claim link.
        200 Issued(ClaimLink),
    }
}

operation_failures! {
    /// Why `POST /api/identities/{handle}/claim-link` can fail (403 also when the caller is not
    /// an admin).
    ClaimLinkFailure authenticated {
        /// No such agent.
        404 NotFound(Detail),
        /// The agent is already claimed.
        409 Conflict(Detail),
    }
}

operation_success! {
    /// What `GET /api/claim/{token}` answers.
    ClaimStatusSuccess {
        /// What the link is for (or that it is expired) and who is signed in.
        200 Status(ClaimLinkStatus),
    }
}

operation_failures! {
    /// Why `GET /api/claim/{token}` can fail.
    ClaimStatusFailure public {}
}

operation_success! {
    /// What `GET /api/identities/{handle}` answers.
    IdentityStatusSuccess {
        /// The registration and where its claim stands.
        200 Status(RegistrationView),
    }
}

operation_failures! {
    /// Why `GET /api/identities/{handle}` can fail.
    IdentityStatusFailure public {
        /// The handle is not valid.
        400 BadRequest(Detail),
        /// No identity has the handle.
        404 NotFound(Detail),
    }
}

/// Agent identities.
pub struct IdentitiesApi;

fn identity_not_found() -> ApiError {
    ApiError::detail(StatusCode::NOT_FOUND, "Identity not found")
}

impl IdentitiesApi {
    async fn owned(
        state: &SharedState,
        caller: &authsome_services::ownership::Caller,
    ) -> Result<OwnedIdentitiesSuccess, OwnedIdentitiesFailure> {
        let claims = state
            .registries
            .claims
            .list_accepted_for_principal(&caller.principal_id)
            .await?;
        Ok(OwnedIdentitiesSuccess::Listed(Json(OwnedIdentities {
            identities: claims
                .into_iter()
                .map(|c| OwnedIdentity {
                    handle: c.identity_handle.as_str().to_owned(),
                    status: c.status.into(),
                })
                .collect(),
        })))
    }
}

#[OpenApi(tag = "ApiTags::Identities")]
impl IdentitiesApi {
    /// Registers an agent's handle and key (no authentication: the agent has no claim yet).
    /// Idempotent for the same pair; the response to the request that created the
    /// registration carries the claim link.
    #[oai(
        path = "/api/identities/register",
        method = "post",
        operation_id = "register_identity"
    )]
    async fn register(
        &self,
        state: Data<&SharedState>,
        request: &poem::Request,
        body: Json<RegisterIdentity>,
    ) -> Result<RegisterSuccess, RegisterFailure> {
        let client = client_address(request, &state.0.settings);
        match identities::register(state.0, &body.handle, &body.did, client).await {
            Ok(status) => Ok(RegisterSuccess::Registered(Json(registration_view(status, true)))),
            Err(RegistrationError::TooMany) => Err(ApiError::too_many_requests(
                RegistrationError::TooMany.to_string(),
                identities::REGISTRATION_WINDOW_SECONDS.unsigned_abs(),
            )
            .into()),
            Err(RegistrationError::Service(error)) => Err(error.into()),
        }
    }

    /// The agent's handle registered for a DID.
    #[oai(
        path = "/api/identities/by-did/:did",
        method = "get",
        operation_id = "identity_by_did"
    )]
    async fn by_did(&self, state: Data<&SharedState>, did: Path<String>) -> Result<ByDidSuccess, ByDidFailure> {
        let Ok(did) = DidKey::parse(&did.0) else {
            return Err(identity_not_found().into());
        };
        match state.0.registries.identities.get_by_did(&did).await? {
            Some(registration) => Ok(ByDidSuccess::Found(Json(IdentityByDid {
                identity: registration.handle.as_str().to_owned(),
                did: registration.did.as_str().to_owned(),
            }))),
            None => Err(identity_not_found().into()),
        }
    }

    /// The caller's agents (accepted claims), ordered by handle.
    #[oai(path = "/api/identities", method = "get", operation_id = "list_owned_identities")]
    async fn list(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
    ) -> Result<OwnedIdentitiesSuccess, OwnedIdentitiesFailure> {
        Self::owned(state.0, &caller.0).await
    }

    /// Same as `GET /api/identities`.
    #[oai(path = "/api/identities/", method = "get", hidden)]
    async fn list_slash(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
    ) -> Result<OwnedIdentitiesSuccess, OwnedIdentitiesFailure> {
        Self::owned(state.0, &caller.0).await
    }

    /// An agent's details: the caller's own agents, or any agent for an admin.
    #[oai(
        path = "/api/identities/:handle/detail",
        method = "get",
        operation_id = "agent_detail"
    )]
    async fn detail(
        &self,
        state: Data<&SharedState>,
        handle: Path<String>,
        caller: AnyCaller,
    ) -> Result<AgentDetailSuccess, AgentDetailFailure> {
        let caller = caller.0;
        let detail = identities::agent_detail(state.0, &caller, &handle.0).await?;
        let registration_status = detail.registration_status().into();
        let identities::AgentDetail {
            registration,
            claim,
            principal_email,
            ..
        } = detail;
        Ok(AgentDetailSuccess::Detail(Json(AgentDetail {
            is_active: caller.identity.as_ref() == Some(&registration.handle),
            handle: registration.handle.as_str().to_owned(),
            did: registration.did.as_str().to_owned(),
            registration_status,
            claim_status: claim.as_ref().map(|c| c.status.into()),
            principal_id: claim.as_ref().map(|c| c.principal_id.as_str().to_owned()),
            principal_email: principal_email.map(|e| e.as_str().to_owned()),
            created_at: registration.created_at.to_json_form(),
            updated_at: registration.updated_at.to_json_form(),
            claimed_at: claim.as_ref().map(|c| c.created_at.to_json_form()),
        })))
    }

    /// Issues a fresh claim link for an unclaimed agent (admin only): the recovery path when
    /// the link from registration was lost or expired.
    #[oai(
        path = "/api/identities/:handle/claim-link",
        method = "post",
        operation_id = "issue_claim_link"
    )]
    async fn claim_link(
        &self,
        state: Data<&SharedState>,
        handle: Path<String>,
        caller: AnyCaller,
    ) -> Result<ClaimLinkSuccess, ClaimLinkFailure> {
        let (identity, url) = identities::recover_claim_link(state.0, &caller.0, &handle.0).await?;
        Ok(ClaimLinkSuccess::Issued(Json(ClaimLink {
            identity: identity.as_str().to_owned(),
            claim_url: url,
        })))
    }

    /// What a claim link is for and whether the browser is signed in (the claim page's data).
    #[oai(path = "/api/claim/:token", method = "get", operation_id = "claim_link_status")]
    async fn claim_status(
        &self,
        state: Data<&SharedState>,
        request: &poem::Request,
        token: Path<String>,
    ) -> Result<ClaimStatusSuccess, ClaimStatusFailure> {
        let Some(pending) = identities::pending_claim(state.0, &token.0).await? else {
            return Ok(ClaimStatusSuccess::Status(Json(ClaimLinkStatus {
                token: token.0,
                identity: String::new(),
                authenticated: false,
                email: None,
                expired: true,
            })));
        };
        let person = crate::http::caller::browser_caller(request).await?;
        Ok(ClaimStatusSuccess::Status(Json(ClaimLinkStatus {
            token: token.0,
            identity: pending.identity.as_str().to_owned(),
            authenticated: person.is_some(),
            email: Some(
                person
                    .and_then(|p| p.email)
                    .map(|e| e.as_str().to_owned())
                    .unwrap_or_default(),
            ),
            expired: false,
        })))
    }

    /// An agent's registration and claim status (no authentication, as the CLI polls it
    /// before it can sign). Never carries a claim link.
    #[oai(path = "/api/identities/:handle", method = "get", operation_id = "identity_status")]
    async fn status(
        &self,
        state: Data<&SharedState>,
        handle: Path<String>,
    ) -> Result<IdentityStatusSuccess, IdentityStatusFailure> {
        match identities::status(state.0, &handle.0).await? {
            Some(status) => Ok(IdentityStatusSuccess::Status(Json(registration_view(status, false)))),
            None => Err(identity_not_found().into()),
        }
    }
}
