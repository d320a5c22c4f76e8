//! Dynamic client registration (RFC 7591) and finding the registration endpoint through
//! discovery (OpenID Connect Discovery, then RFC 8414).

use secrecy::SecretString;
use serde_json::{Map, Value, json};

use super::token::TokenAnswerError;
use super::{ProviderAnswer, short, text};

/// The registration request for `provider`'s login through this server, as the reference
/// sends it: a confidential client (`client_secret_post`) for the code and refresh grants,
/// PKCE S256.
pub fn registration_request(provider: &str, redirect_uri: &str, scopes: &[String]) -> Value {
    let mut request = json!({
        "client_name": format!("authsome-{provider}"),
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_post",
        "code_challenge_methods_supported": ["S256"],
    });
    if !scopes.is_empty()
        && let Some(object) = request.as_object_mut()
    {
        object.insert("scope".to_owned(), Value::from(scopes.join(" ")));
    }
    request
}

/// A client the provider registered for us.
pub struct RegisteredClient {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`, when issued.
    pub client_secret: Option<SecretString>,
}

impl RegisteredClient {
    /// Reads the registration endpoint's answer (201, or any 2xx).
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
        match text(body, "client_id") {
            Some(client_id) if answer.is_success() => Ok(Self {
                client_id: short(client_id),
                client_secret: text(body, "client_secret").map(|s| SecretString::from(s.to_owned())),
            }),
            _ => Err(TokenAnswerError::Refused {
                error: "invalid_registration".to_owned(),
                description: Some(format!("HTTP {} without a client_id", answer.status)),
            }),
        }
    }
}

/// `scheme://host[:port]` of `url`.
fn origin(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "https" | "http") || rest.is_empty() {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&url[..scheme.len() + 3 + end])
}

/// Where to look for the registration endpoint of the server that hosts `authorization_url`:
/// its OpenID Connect discovery document, then its RFC 8414 metadata (the reference's order).
pub fn discovery_urls(authorization_url: &str) -> Option<[String; 2]> {
    let origin = origin(authorization_url)?;
    Some([
        format!("{origin}/.well-known/openid-configuration"),
        format!("{origin}/.well-known/oauth-authorization-server"),
    ])
}

/// The `registration_endpoint` of a discovery document, when it is a web address.
pub fn registration_endpoint(document: &Map<String, Value>) -> Option<String> {
    text(document, "registration_endpoint")
        .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn the_request_is_the_references_and_the_answer_gives_the_client() {
        let request = registration_request("notion-mcp", "http://127.0.0.1:7998/api/auth/callback/oauth", &[]);
        assert_eq!(request["client_name"], "authsome-notion-mcp");
        assert_eq!(request["token_endpoint_auth_method"], "client_secret_post");
        assert!(request.get("scope").is_none());
        let body = json!({"client_id": "c-1", "client_secret": "s-1"});
        let answer = ProviderAnswer {
            status: 201,
            json: body.as_object(),
            content_type: Some("application/json"),
        };
        let client = RegisteredClient::from_answer(&answer).expect("client");
        assert_eq!(client.client_id, "c-1");
        assert_eq!(
            client.client_secret.map(|s| s.expose_secret().to_owned()).as_deref(),
            Some("s-1")
        );
    }

    #[test]
    fn discovery_looks_at_the_authorization_servers_origin() {
        assert_eq!(
            discovery_urls("https://mcp.notion.com/authorize?x=1"),
            Some([
                "https://mcp.notion.com/.well-known/openid-configuration".to_owned(),
                "https://mcp.notion.com/.well-known/oauth-authorization-server".to_owned(),
            ])
        );
        assert_eq!(
            discovery_urls("http://127.0.0.1:4455/auth").map(|urls| urls[0].clone()),
            Some("http://127.0.0.1:4455/.well-known/openid-configuration".to_owned())
        );
        assert_eq!(discovery_urls("ftp://x/y"), None);
        let document = json!({"registration_endpoint": "javascript:x"});
        assert_eq!(registration_endpoint(document.as_object().expect("object")), None);
    }
}
