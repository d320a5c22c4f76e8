//! The authorization request (RFC 6749 §4.1.1 with PKCE): the URL the person's browser opens.

use serde_json::{Map, Value};

/// What goes into an authorization URL.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizationRequest<'a> {
    /// The provider's authorization endpoint (templates already expanded).
    pub endpoint: &'a str,
    /// The definition's `authorization_params` (such as `access_type=offline`), sent first.
    /// Logins with a dynamically registered client leave them out, as the reference does.
    pub extra: &'a Map<String, Value>,
    /// The client.
    pub client_id: &'a str,
    /// Where the provider sends the person back (`{base}/api/auth/callback/oauth`).
    pub redirect_uri: &'a str,
    /// The single-use `state` that finds the login again on the callback.
    pub state: &'a str,
    /// The PKCE S256 challenge.
    pub code_challenge: &'a str,
    /// Scopes, joined with spaces; none means the parameter is left out.
    pub scopes: &'a [String],
}

fn parameter_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The authorization URL: the endpoint's own query kept, then the extra parameters, then
/// `response_type=code`, `client_id`, `redirect_uri`, `state`, `code_challenge`,
/// `code_challenge_method=S256` and `scope`, in the reference's order.
pub fn authorization_url(request: &AuthorizationRequest<'_>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in request.extra {
        if !value.is_null() {
            query.append_pair(name, &parameter_text(value));
        }
    }
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", request.client_id)
        .append_pair("redirect_uri", request.redirect_uri)
        .append_pair("state", request.state)
        .append_pair("code_challenge", request.code_challenge)
        .append_pair("code_challenge_method", "S256");
    let scope = request.scopes.join(" ");
    if !scope.is_empty() {
        query.append_pair("scope", &scope);
    }
    let separator = if request.endpoint.contains('?') { '&' } else { '?' };
    format!("{}{separator}{}", request.endpoint, query.finish())
}

/// `template` with `{base_url}` replaced by `base_url` (without a trailing `/`), for
/// self-hosted providers such as GitHub Enterprise.
pub fn expand_base_url(template: &str, base_url: Option<&str>) -> String {
    match base_url {
        Some(base) => template.replace("{base_url}", base.trim_end_matches('/')),
        None => template.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parameters_come_in_the_references_order_and_are_encoded() {
        let extra = json!({"access_type": "offline", "prompt": "consent"});
        let scopes = vec!["openid".to_owned(), "api:read".to_owned()];
        let url = authorization_url(&AuthorizationRequest {
            endpoint: "https://auth.example.com/authorize",
            extra: extra.as_object().expect("object"),
            client_id: "client 1",
            redirect_uri: "http://127.0.0.1:7998/api/auth/callback/oauth",
            state: "st",
            code_challenge: "ch",
            scopes: &scopes,
        });
        assert_eq!(
            url,
            "https://auth.example.com/authorize?access_type=offline&prompt=consent&response_type=code&client_id=client+1\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A7998%2Fapi%2Fauth%2Fcallback%2Foauth&state=st&code_challenge=ch\
             &code_challenge_method=S256&scope=openid+api%3Aread"
        );
        let bare = authorization_url(&AuthorizationRequest {
            endpoint: "https://auth.example.com/authorize?tenant=x",
            extra: &Map::new(),
            client_id: "c",
            redirect_uri: "r",
            state: "s",
            code_challenge: "h",
            scopes: &[],
        });
        assert_eq!(
            bare,
            "https://auth.example.com/authorize?tenant=x&response_type=code&client_id=c&redirect_uri=r&state=s\
             &code_challenge=h&code_challenge_method=S256"
        );
    }

    #[test]
    fn base_url_templates_expand() {
        assert_eq!(
            expand_base_url("{base_url}/login/oauth/authorize", Some("https://ghe.example.com/")),
            "https://ghe.example.com/login/oauth/authorize"
        );
        assert_eq!(expand_base_url("https://x/y", None), "https://x/y");
    }
}
