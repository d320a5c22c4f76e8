//! Token responses (RFC 6749 §5.1 and §5.2), from the authorization-code, refresh and device
//! grants alike.

use secrecy::SecretString;

use super::{ProviderAnswer, integer, short, text};

/// The tokens a grant returned. Secret values never print.
pub struct TokenGrant {
    /// The access token.
    pub access_token: SecretString,
    /// The refresh token, when the provider issued one.
    pub refresh_token: Option<SecretString>,
    /// `token_type`, `Bearer` when the provider names none (as the reference assumes).
    pub token_type: String,
    /// Seconds the access token lives, when the provider says.
    pub expires_in: Option<i64>,
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenGrant")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

/// Why a token answer gave no token. `Display` is meant for the person (the session's error,
/// the success page): it names the provider's error code and description, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenAnswerError {
    /// An RFC 6749 §5.2 error (`invalid_grant`, `invalid_client`, `access_denied`, ...).
    #[error("the provider refused: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused {
        /// The `error` code.
        error: String,
        /// Its `error_description`.
        description: Option<String>,
    },
    /// The answer was not a JSON object: an HTML error page, a proxy's answer.
    #[error("the provider answered HTTP {status} with {content} instead of a JSON token response")]
    NotJson {
        /// The status.
        status: u16,
        /// What came instead.
        content: String,
    },
    /// A JSON answer with neither a token nor an error code.
    #[error("the provider answered HTTP {status} without an access_token")]
    NoAccessToken {
        /// The status.
        status: u16,
    },
}

impl TokenAnswerError {
    /// The provider's `error` code, when it sent one.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Self::Refused { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl TokenGrant {
    /// Reads a token endpoint's answer.
    pub fn from_answer(answer: &ProviderAnswer<'_>) -> Result<Self, TokenAnswerError> {
        if let Some((error, description)) = answer.oauth_error() {
            return Err(TokenAnswerError::Refused { error, description });
        }
        let Some(body) = answer.json else {
            return Err(TokenAnswerError::NotJson {
                status: answer.status,
                content: answer.described(),
            });
        };
        match text(body, "access_token") {
            Some(access_token) if answer.is_success() => Ok(Self {
                access_token: SecretString::from(access_token.to_owned()),
                refresh_token: text(body, "refresh_token").map(|t| SecretString::from(t.to_owned())),
                token_type: text(body, "token_type").map_or_else(|| "Bearer".to_owned(), short),
                expires_in: integer(body, "expires_in").filter(|seconds| *seconds > 0),
            }),
            _ => Err(TokenAnswerError::NoAccessToken { status: answer.status }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use serde_json::{Map, Value, json};

    fn answer<'a>(status: u16, body: &'a Value) -> ProviderAnswer<'a> {
        ProviderAnswer {
            status,
            json: body.as_object(),
            content_type: Some("application/json"),
        }
    }

    #[test]
    fn a_token_answer_gives_its_tokens_with_bearer_by_default() {
        let body = json!({"access_token": "at-1", "refresh_token": "rt-1", "expires_in": "3600"});
        let grant = TokenGrant::from_answer(&answer(200, &body)).expect("tokens");
        assert_eq!(grant.access_token.expose_secret(), "at-1");
        assert_eq!(
            grant
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned())
                .as_deref(),
            Some("rt-1")
        );
        assert_eq!((grant.token_type.as_str(), grant.expires_in), ("Bearer", Some(3600)));
        assert!(!format!("{grant:?}").contains("at-1"));
        let typed = json!({"access_token": "x", "token_type": "bearer", "expires_in": 0});
        let grant = TokenGrant::from_answer(&answer(200, &typed)).expect("tokens");
        assert_eq!((grant.token_type.as_str(), grant.expires_in), ("bearer", None));
    }

    #[test]
    fn refusals_and_other_answers_say_what_came() {
        let refused = json!({"error": "invalid_grant", "error_description": "grant request is invalid"});
        assert_eq!(
            TokenGrant::from_answer(&answer(400, &refused))
                .expect_err("refused")
                .to_string(),
            "the provider refused: invalid_grant (grant request is invalid)"
        );
        // Some providers answer 200 with an error (GitHub does).
        let github = json!({"error": "bad_verification_code"});
        assert_eq!(
            TokenGrant::from_answer(&answer(200, &github))
                .expect_err("refused")
                .error_code(),
            Some("bad_verification_code")
        );
        let html = ProviderAnswer {
            status: 502,
            json: None,
            content_type: Some("text/html; charset=utf-8"),
        };
        assert_eq!(
            TokenGrant::from_answer(&html).expect_err("html").to_string(),
            "the provider answered HTTP 502 with text/html instead of a JSON token response"
        );
        let empty = Value::Object(Map::new());
        assert_eq!(
            TokenGrant::from_answer(&answer(200, &empty)).expect_err("empty"),
            TokenAnswerError::NoAccessToken { status: 200 }
        );
        // A description cannot reverse or hide the text around it where it is shown.
        let reversing = json!({"error": "access_denied", "error_description": "no\u{202E}ti evorppa"});
        assert_eq!(
            TokenGrant::from_answer(&answer(400, &reversing))
                .expect_err("refused")
                .to_string(),
            "the provider refused: access_denied (no\\u{202E}ti evorppa)"
        );
        let long = json!({"error": "x".repeat(5_000)});
        assert!(
            TokenGrant::from_answer(&answer(400, &long))
                .expect_err("long")
                .to_string()
                .len()
                < 300
        );
    }
}
