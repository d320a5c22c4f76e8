//! The pure rules of `resolve`: which headers authenticate a request to a provider with a
//! stored API key, an OAuth access token or a browser session's cookies, as the provider's
//! definition says.

use serde_json::{Map, Value};

use crate::provider_definition::{ApiKeyConfig, BrowserConfig};

/// The header an API key goes in: the definition's name and prefix (a missing or empty prefix
/// sends the bare key), else `Authorization: Bearer <key>`.
pub fn api_key_header(config: Option<&ApiKeyConfig>, key: String) -> (String, String) {
    match config {
        Some(config) => match config.header_prefix.as_deref().filter(|p| !p.is_empty()) {
            Some(prefix) => (config.header_name.clone(), format!("{prefix} {key}")),
            None => (config.header_name.clone(), key),
        },
        None => ("Authorization".to_owned(), bearer(&key)),
    }
}

/// `Bearer <token>`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The headers a browser session's `cookies` give: each of the definition's extraction rules
/// whose cookie is present (its prefix, then the value), the definition's extra headers, and
/// a `Cookie` header with every cookie in stored order. A value that is not a string is sent
/// as its JSON text, as the reference does.
pub fn browser_headers(config: Option<&BrowserConfig>, cookies: &Map<String, Value>) -> Map<String, Value> {
    let value_of = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let mut headers = Map::new();
    if let Some(config) = config {
        for rule in &config.extract {
            if let Some(cookie) = cookies.get(&rule.cookie) {
                headers.insert(
                    rule.header.clone(),
                    Value::String(format!("{}{}", rule.prefix, value_of(cookie))),
                );
            }
        }
        for (name, value) in &config.extra_headers {
            headers.insert(name.clone(), value.clone());
        }
    }
    let cookie_header: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={}", value_of(v))).collect();
    headers.insert("Cookie".to_owned(), Value::String(cookie_header.join("; ")));
    headers
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::provider_definition::ExtractRule;

    fn api_key_config(prefix: Option<&str>) -> ApiKeyConfig {
        serde_json::from_value(json!({"header_name": "X-Api-Key", "header_prefix": prefix})).expect("config")
    }

    #[test]
    fn an_api_key_goes_where_the_definition_says() {
        assert_eq!(
            api_key_header(None, "k".to_owned()),
            ("Authorization".to_owned(), "Bearer k".to_owned())
        );
        assert_eq!(
            api_key_header(Some(&api_key_config(Some("Token"))), "k".to_owned()),
            ("X-Api-Key".to_owned(), "Token k".to_owned())
        );
        for bare in [None, Some("")] {
            assert_eq!(
                api_key_header(Some(&api_key_config(bare)), "k".to_owned()),
                ("X-Api-Key".to_owned(), "k".to_owned())
            );
        }
    }

    #[test]
    fn browser_cookies_become_the_extracted_headers_and_a_cookie_header() {
        let mut config: BrowserConfig = serde_json::from_value(json!({
            "entry_url": "https://example.com", "domains": ["example.com"], "auth_cookies": ["sid"],
            "extra_headers": {"X-Requested-With": "XMLHttpRequest"}
        }))
        .expect("config");
        config.extract.push(ExtractRule {
            cookie: "csrf".to_owned(),
            header: "X-Csrf".to_owned(),
            prefix: "t=".to_owned(),
        });
        let cookies = json!({"sid": "s1", "csrf": "c1", "n": 5});
        let headers = browser_headers(Some(&config), cookies.as_object().expect("object"));
        assert_eq!(headers["X-Csrf"], "t=c1");
        assert_eq!(headers["X-Requested-With"], "XMLHttpRequest");
        let cookie = headers["Cookie"].as_str().expect("text");
        let mut parts: Vec<&str> = cookie.split("; ").collect();
        parts.sort_unstable();
        assert_eq!(parts, ["csrf=c1", "n=5", "sid=s1"]);
        let plain = browser_headers(None, cookies.as_object().expect("object"));
        assert_eq!(plain.len(), 1);
    }
}
