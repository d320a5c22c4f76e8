//! An agent's proof-of-possession: the signed JWT over the exact request, its token id's
//! single use (fail closed when the replay store cannot answer) and the per-identity quota.

use std::time::Duration;

use authsome_domain::proof::{self, BoundRequest};
use authsome_domain::{IdentityHandle, ProviderName, Timestamp};
use authsome_ports::{IdQuota, ReplayCheck, StateError};
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
    let (caller, _, token_id) = verify_pop(request, None).await?;
    token_id.consume().await?;
    Ok(caller)
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
/// resolution), leaving the token's id to be consumed.
pub(super) async fn verify_pop(
    request: &Request,
    provider: Option<&ProviderName>,
) -> Result<(Caller, CustomDefinition, UnconsumedTokenId), ApiError> {
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
    let (ownership, custom_definition) = match provider {
        Some(provider) => match state
            .registries
            .ownership
            .lookup_with_custom_provider(&handle, provider)
            .await?
        {
            Some((ownership, custom)) => (Some(ownership), CustomDefinition::Read(custom)),
            None => (None, CustomDefinition::Unread),
        },
        None => (
            state.registries.ownership.lookup(&handle).await?,
            CustomDefinition::Unread,
        ),
    };
    let Some(ownership) = ownership else {
        return Err(unauthorized("Unknown identity handle"));
    };
    if ownership.registration.did != claims.issuer {
        return Err(unauthorized("Identity issuer does not match registered DID"));
    }
    // Remember the id until the token can no longer pass the expiry check.
    let forget_after = Timestamp::from_unix_seconds(claims.expires_at + state.settings.pop.leeway_seconds)
        .unwrap_or_else(|| Timestamp::now().plus_seconds(state.settings.pop.max_lifetime_seconds));
    let caller = ownership::caller_from_ownership(ownership, claims.issuer);
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
        Ok(caller) => Ok((caller, custom_definition, token_id)),
        // Refused for the identity's state, which can change within the token's lifetime:
        // the id is spent first, so the token cannot succeed later.
        Err(error) => {
            token_id.consume().await?;
            Err(ApiError::from(error))
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
