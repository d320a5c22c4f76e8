//! An agent's proof-of-possession: the signed JWT over the exact request, its token id's
//! single use (fail closed when the replay store cannot answer) and the per-identity quota.

use std::time::Duration;

use authsome_domain::proof::{self, BoundRequest};
use authsome_domain::{DidKey, IdentityHandle, ProviderName, Timestamp};
use authsome_ports::{IdQuota, IdentityOwnership, OwnershipConfirmation, ReplayCheck, StateError};
use poem::Request;
use poem::http::StatusCode;

use super::{RawBody, state_of, unauthorized};
use crate::http::errors::ApiError;
use crate::settings::REFUSED_IDENTITY_IDS;
use crate::state::SharedState;
use authsome_services::catalog::CustomDefinition;
use authsome_services::ownership::{self, Caller};
use authsome_services::repeated_warning::RepeatedWarning;

/// The percent-decoded path plus `?` and the raw query: what the CLI signs as `htu`.
pub fn path_and_query(request: &Request) -> Option<String> {
    let path = percent_decode(request.uri().path())?;
    Some(match request.uri().query() {
        Some(query) if !query.is_empty() => format!("{path}?{query}"),
        _ => path,
    })
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            match u8::from_str_radix(hex, 16) {
                Ok(byte) => {
                    out.push(byte);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            }
        } else {
            out.push(bytes[i]);
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Verifies the request's proof-of-possession token and resolves the caller.
///
/// The order keeps the reference's messages but checks the identity (registered, with this
/// DID) before consuming the token id, so unknown agents cannot fill the replay cache.
pub async fn authenticate_pop(request: &Request) -> Result<Caller, ApiError> {
    let verified = verify_pop(request, None).await?;
    Ok(verified.consume_while(std::future::ready(())).await?.caller)
}

/// A verified token and its caller, with the token's id not yet consumed.
#[must_use = "a verified token's id must be consumed before the request has any effect"]
pub struct VerifiedPop {
    caller: Caller,
    custom_definition: CustomDefinition,
    token_id: UnconsumedTokenId,
    /// Set when the caller is what this replica remembers, still to be confirmed.
    unconfirmed: Option<Unconfirmed>,
}

/// What re-reading a remembered caller needs.
struct Unconfirmed {
    confirmation: OwnershipConfirmation,
    issuer: DidKey,
    provider: Option<ProviderName>,
}

impl VerifiedPop {
    /// The caller, as verified (for names and messages; not yet for reading anything).
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// Consumes the token's id while `read` (a read for [`caller`](Self::caller)) runs: with
    /// Redis the replay check, the ownership generation and what `read` asks of Redis share
    /// one round trip. When the caller was remembered and the generation has moved, the caller
    /// is read again from the database (and refused if it may no longer act) and what `read`
    /// returned is dropped: the caller must read again for the new caller, so nothing read
    /// for a former owner is returned.
    pub async fn consume_while<T>(self, read: impl Future<Output = T>) -> Result<Consumed<T>, ApiError> {
        let Self {
            caller,
            custom_definition,
            token_id,
            unconfirmed,
        } = self;
        // Only a remembered caller is confirmed, and only one that turns out stale is re-read.
        let reread = unconfirmed.map(|unconfirmed| (unconfirmed, token_id.state.clone(), token_id.holder.clone()));
        let still_current = async {
            match &reread {
                Some((unconfirmed, ..)) => unconfirmed.confirmation.holds().await,
                None => true,
            }
        };
        let (holds, consumed, value) = tokio::join!(still_current, token_id.consume(), read);
        consumed?;
        let Some((unconfirmed, state, handle)) = reread.filter(|_| !holds) else {
            return Ok(Consumed {
                caller,
                custom_definition,
                read: Some(value),
            });
        };
        drop(value);
        let (ownership, custom_definition) = look_up(&state, &handle, unconfirmed.provider.as_ref()).await?;
        // The id is spent: a refusal now needs no further step.
        let caller = owner_of(ownership, unconfirmed.issuer)??;
        Ok(Consumed {
            caller,
            custom_definition,
            read: None,
        })
    }
}

/// A consumed token's caller and what was read alongside.
pub struct Consumed<T> {
    /// The caller, confirmed.
    pub caller: Caller,
    /// The custom definition read with its ownership.
    pub custom_definition: CustomDefinition,
    /// What the read returned, or `None` when the caller changed meanwhile: read again for
    /// [`caller`](Self::caller).
    pub read: Option<T>,
}

/// The identity's ownership from the registries (with `provider`'s custom definition, read in
/// the same database round trip).
async fn look_up(
    state: &SharedState,
    handle: &IdentityHandle,
    provider: Option<&ProviderName>,
) -> Result<(Option<IdentityOwnership>, CustomDefinition), ApiError> {
    Ok(match provider {
        Some(provider) => match state
            .registries
            .ownership
            .lookup_with_custom_provider(handle, provider)
            .await?
        {
            Some((ownership, custom)) => (Some(ownership), CustomDefinition::Read(custom)),
            None => (None, CustomDefinition::Unread),
        },
        None => (
            state.registries.ownership.lookup(handle).await?,
            CustomDefinition::Unread,
        ),
    })
}

/// The caller an identity's ownership makes for a token signed by `issuer`: a 401 when the
/// handle is unknown or registered to another key (the token's id is not consumed), else the
/// caller or the 403 of an identity that may not act (its id must be consumed first).
fn owner_of(ownership: Option<IdentityOwnership>, issuer: DidKey) -> Result<Result<Caller, ApiError>, ApiError> {
    let Some(ownership) = ownership else {
        return Err(unauthorized("Unknown identity handle"));
    };
    if ownership.registration.did != issuer {
        return Err(unauthorized("Identity issuer does not match registered DID"));
    }
    Ok(ownership::caller_from_ownership(ownership, issuer).map_err(ApiError::from))
}

/// The id of a verified token, not yet consumed. Until [`consume`](Self::consume) succeeds
/// the request may only read: nothing may be returned or changed on its behalf.
#[must_use = "a verified token's id must be consumed before the request has any effect"]
pub struct UnconsumedTokenId {
    state: SharedState,
    jwt_id: String,
    forget_after: Timestamp,
    /// The identity that signed it, whose quota of recorded ids it counts against.
    holder: IdentityHandle,
    /// That quota: the setting for identities that may act, a small fixed one for the rest.
    quota_ids: u64,
}

/// Seconds a client refused for its identity's quota is told to wait: a fraction of the
/// quota's window (the window may end sooner or later; retrying early only costs a 429).
const OVER_QUOTA_RETRY_AFTER_SECONDS: u64 = 30;

static REPLAY_UNAVAILABLE: RepeatedWarning = RepeatedWarning::every(Duration::from_secs(10));
static OVER_QUOTA: RepeatedWarning = RepeatedWarning::every(Duration::from_secs(10));

impl UnconsumedTokenId {
    /// Stores the id in the shared replay cache, against its identity's quota; refuses a token
    /// seen before (401), a token whose identity has used up its quota (429, nothing stored:
    /// the request had no effect and may be sent again) and, when the cache cannot answer,
    /// the request (503).
    pub async fn consume(self) -> Result<(), ApiError> {
        let quota = IdQuota {
            holder: self.holder.as_str(),
            ids: self.quota_ids,
            window_seconds: self.state.settings.pop.longest_id_retention_seconds(),
        };
        match self
            .state
            .runtime
            .replay
            .check_and_store(&self.jwt_id, self.forget_after, quota)
            .await
        {
            Ok(ReplayCheck::Fresh) => Ok(()),
            Ok(ReplayCheck::Replayed) => Err(unauthorized("Proof JWT was already used")),
            Ok(ReplayCheck::OverQuota) => {
                if let Some(left_out) = OVER_QUOTA.due() {
                    tracing::warn!(
                        identity = %self.holder,
                        quota = quota.ids,
                        window_seconds = quota.window_seconds,
                        similar_left_out = left_out,
                        "an identity signed more requests than its quota of token ids: refusing them (429)"
                    );
                }
                Err(ApiError::too_many_requests(
                    format!(
                        "Identity '{}' has sent more than {} signed requests in {} s; retry later",
                        self.holder, quota.ids, quota.window_seconds
                    ),
                    OVER_QUOTA_RETRY_AFTER_SECONDS,
                ))
            }
            Err(error @ (StateError::Unavailable(_) | StateError::Full)) => {
                if let Some(left_out) = REPLAY_UNAVAILABLE.due() {
                    tracing::warn!(
                        error = %crate::error_chain(&error),
                        similar_left_out = left_out,
                        "replay protection unavailable: refusing the request"
                    );
                }
                Err(ApiError::detail(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Replay protection is unavailable, so the request was refused; try again shortly",
                ))
            }
            Err(other) => Err(other.into()),
        }
    }
}

/// Verifies the token and resolves the caller (also reading the custom definition of
/// `provider` in the same database round trip as the caller's ownership, for credential
/// resolution), leaving the token's id to be consumed. A caller this replica remembers is
/// taken without any I/O, to be confirmed when the id is consumed; a remembered refusal is
/// never acted on (the database decides).
pub(super) async fn verify_pop(request: &Request, provider: Option<&ProviderName>) -> Result<VerifiedPop, ApiError> {
    let state = state_of(request)?;
    // Two Authorization headers are refused rather than one picked: a proxy or a client library
    // that reads the other one would disagree with us about who is calling.
    let mut headers = request.headers().get_all("authorization").iter();
    let header = match (headers.next(), headers.next()) {
        (None, _) => return Err(unauthorized("Missing PoP authorization header")),
        (Some(header), None) => header,
        (Some(_), Some(_)) => return Err(unauthorized("Expected exactly one Authorization header")),
    };
    let header = header
        .to_str()
        .map_err(|_| unauthorized("Expected Authorization: PoP <jwt>"))?;
    let token = proof::token_from_header(header).map_err(|e| unauthorized(e.to_string()))?;
    let body = request.extensions().get::<RawBody>().cloned().unwrap_or_default();
    let bound_path = path_and_query(request).ok_or_else(|| unauthorized("Proof JWT URL does not match request"))?;
    let bound = BoundRequest {
        method: request.method().as_str(),
        path_and_query: &bound_path,
        body: &body.0,
    };
    let claims = proof::verify_with_keys(
        token,
        bound,
        Timestamp::now(),
        state.settings.pop,
        Some(&state.verifying_keys),
    )
    .map_err(|e| unauthorized(e.to_string()))?;

    let Ok(handle) = IdentityHandle::parse(&claims.subject) else {
        return Err(unauthorized("Unknown identity handle"));
    };
    // Remember the id until the token can no longer pass the expiry check.
    let forget_after = Timestamp::from_unix_seconds(claims.expires_at + state.settings.pop.leeway_seconds)
        .unwrap_or_else(|| Timestamp::now().plus_seconds(state.settings.pop.max_lifetime_seconds));
    let recalled = state
        .registries
        .ownership
        .recall(&handle, provider)
        .and_then(|recalled| {
            let caller = owner_of(Some(recalled.ownership), claims.issuer.clone()).ok()?.ok()?;
            Some((caller, recalled.custom_definition, recalled.confirmation))
        });
    let (caller, custom_definition, unconfirmed) = match recalled {
        Some((caller, custom_definition, confirmation)) => (
            Ok(caller),
            custom_definition.map_or(CustomDefinition::Unread, CustomDefinition::Read),
            Some(Unconfirmed {
                confirmation,
                issuer: claims.issuer,
                provider: provider.cloned(),
            }),
        ),
        None => {
            let (ownership, custom_definition) = look_up(&state, &handle, provider).await?;
            (owner_of(ownership, claims.issuer)?, custom_definition, None)
        }
    };
    let quota_ids = match &caller {
        Ok(_) => state.settings.pop_ids_per_identity,
        Err(_) => REFUSED_IDENTITY_IDS,
    };
    let token_id = UnconsumedTokenId {
        state,
        jwt_id: claims.jwt_id,
        forget_after,
        holder: handle,
        quota_ids,
    };
    match caller {
        Ok(caller) => Ok(VerifiedPop {
            caller,
            custom_definition,
            token_id,
            unconfirmed,
        }),
        // Refused for the identity's state, which can change within the token's lifetime:
        // the id is spent first, so the token cannot succeed later.
        Err(error) => {
            token_id.consume().await?;
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_decoded_and_queries_kept_raw() {
        let request = Request::builder()
            .uri(poem::http::Uri::from_static(
                "/api/connections/openai/my%20conn?x=a%20b",
            ))
            .finish();
        assert_eq!(
            path_and_query(&request).as_deref(),
            Some("/api/connections/openai/my conn?x=a%20b")
        );
        let bare = Request::builder()
            .uri(poem::http::Uri::from_static("/api/whoami"))
            .finish();
        assert_eq!(path_and_query(&bare).as_deref(), Some("/api/whoami"));
        assert_eq!(percent_decode("%zz%41%"), Some("%zzA%".to_owned()));
    }
}
