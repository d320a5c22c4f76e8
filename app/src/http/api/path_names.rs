//! Provider and connection names taken from a request (its path or body), parsed once at the
//! edge; the services take only parsed names.
//!
//! One answer for every route: a name that is not a valid name names nothing, so it is
//! answered exactly as an unknown one would be (404 `ProviderNotFoundError` or
//! `ConnectionNotFoundError`; for resolve, which looks in the vault before the catalog, an
//! unknown provider is a missing connection, so an invalid one is too). The name is echoed shortened and with anything but printable
//! ASCII escaped, so an error never carries look-alike or invisible text.

use authsome_domain::validation::excerpt;
use authsome_domain::visible_text::{Reading, visible};
use authsome_domain::{ConnectionName, ProviderName};

use crate::http::errors::ApiError;
use authsome_services::AuthsomeError;
use authsome_services::ownership::Caller;

fn shown(text: &str) -> String {
    visible(&excerpt(text), Reading::Identifier)
}

/// The provider a path names.
pub fn provider(text: &str) -> Result<ProviderName, ApiError> {
    ProviderName::parse(text).map_err(|_| AuthsomeError::provider_not_found(&shown(text)).into())
}

/// The connection a path names, of `provider`, looked up for `caller`.
pub fn connection(provider: &ProviderName, text: &str, caller: &Caller) -> Result<ConnectionName, ApiError> {
    ConnectionName::parse(text)
        .map_err(|_| AuthsomeError::connection_not_found(provider.as_str(), &shown(text), caller.actor()).into())
}

/// The provider and connection a resolve request names (`None`: the provider's default).
/// Resolve answers an unknown provider with `ConnectionNotFoundError` (the vault is read
/// first), so an invalid provider or connection name gets that answer too.
pub fn resolve_target(
    provider: &str,
    connection: Option<&str>,
    caller: &Caller,
) -> Result<(ProviderName, Option<ConnectionName>), ApiError> {
    let missing = || {
        let named = connection.unwrap_or(ConnectionName::DEFAULT);
        ApiError::from(AuthsomeError::connection_not_found(
            &shown(provider),
            &shown(named),
            caller.actor(),
        ))
    };
    let provider = ProviderName::parse(provider).map_err(|_| missing())?;
    let connection = connection
        .map(ConnectionName::parse)
        .transpose()
        .map_err(|_| missing())?;
    Ok((provider, connection))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_name_is_not_found_and_echoed_safely() {
        assert_eq!(
            provider("openai").map(|p| p.as_str().to_owned()).ok().as_deref(),
            Some("openai")
        );
        let refused = provider("Open\u{200B}AI/..").expect_err("invalid");
        assert_eq!(refused.status().as_u16(), 404);
        let message = refused.message().unwrap_or_default().to_owned();
        assert!(message.contains("\\u{200B}"), "{message}");
        assert!(!message.contains('\u{200B}'), "{message}");
        let long = "x".repeat(10_000) + "!";
        let refused = provider(&long).expect_err("invalid");
        assert!(refused.message().unwrap_or_default().len() < 300);
    }
}
