//! Provider definitions: how to authenticate to a third-party service and where its API is.
//!
//! The JSON shape is the reference daemon's (`ProviderDefinition`, extra keys allowed at every
//! level and kept). [`ProviderDefinition::validate`] applies the reference's rules with its
//! messages; anything that fails is an `InvalidProviderSchemaError` (HTTP 400).

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::provider::ProviderName;

/// How a provider authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthType {
    /// OAuth 2 tokens.
    Oauth2,
    /// An API key.
    ApiKey,
    /// Browser cookies.
    Browser,
}

impl AuthType {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oauth2 => "oauth2",
            Self::ApiKey => "api_key",
            Self::Browser => "browser",
        }
    }
}

/// The login flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowType {
    /// OAuth authorization code with PKCE.
    Pkce,
    /// OAuth device code.
    DeviceCode,
    /// OAuth dynamic client registration, then PKCE.
    DcrPkce,
    /// An API key typed or imported.
    ApiKey,
    /// Cookies read from a browser.
    Browser,
}

impl FlowType {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pkce => "pkce",
            Self::DeviceCode => "device_code",
            Self::DcrPkce => "dcr_pkce",
            Self::ApiKey => "api_key",
            Self::Browser => "browser",
        }
    }

    /// Parses the wire form.
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(Value::String(text.to_owned())).ok()
    }

    fn valid_for(self, auth_type: AuthType) -> bool {
        matches!(
            (auth_type, self),
            (AuthType::Oauth2, Self::Pkce | Self::DeviceCode | Self::DcrPkce)
                | (AuthType::ApiKey, Self::ApiKey)
                | (AuthType::Browser, Self::Browser)
        )
    }
}

fn default_schema_version() -> i64 {
    1
}
fn default_header_name() -> String {
    "Authorization".to_owned()
}
fn default_header_prefix() -> Option<String> {
    Some("Bearer".to_owned())
}
fn default_true() -> bool {
    true
}
fn default_ttl_hours() -> i64 {
    24
}
fn default_device_token_request() -> String {
    "oauth2_form".to_owned()
}
fn default_authorization_method() -> String {
    "body".to_owned()
}

/// OAuth 2 settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct OAuthConfig {
    pub authorization_url: String,
    pub token_url: String,
    #[serde(default)]
    pub revocation_url: Option<String>,
    #[serde(default)]
    pub device_authorization_url: Option<String>,
    #[serde(default = "default_device_token_request")]
    pub device_token_request: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub authorization_params: Map<String, Value>,
    #[serde(default = "default_true")]
    pub pkce: bool,
    #[serde(default)]
    pub supports_device_code: bool,
    #[serde(default)]
    pub supports_dcr: bool,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default = "default_authorization_method")]
    pub authorization_method: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Dynamic client registration settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct RegistrationConfig {
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// API-key settings: the header the key goes in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyConfig {
    /// The header (default `Authorization`).
    #[serde(default = "default_header_name")]
    pub header_name: String,
    /// Put before the key with a space (default `Bearer`; null or empty for the bare key).
    #[serde(default = "default_header_prefix")]
    pub header_prefix: Option<String>,
    /// A regular expression a key must match entirely.
    #[serde(default)]
    pub key_pattern: Option<String>,
    /// The message shown when a key does not match.
    #[serde(default)]
    pub key_pattern_hint: Option<String>,
    /// Everything else (`env_var`, read by the CLI's onboard scan, lives here).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Environment variable names for exports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportConfig {
    /// Field name (`api_key`, `access_token`, a cookie name) to variable name.
    #[serde(default)]
    pub env: Map<String, Value>,
    /// Extra keys: variable name to source (`BASE_URL`, `API_URL`, `ACCESS_TOKEN`, `API_TOKEN`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One cookie copied into one header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ExtractRule {
    pub cookie: String,
    pub header: String,
    #[serde(default)]
    pub prefix: String,
}

/// Browser-cookie settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct BrowserConfig {
    pub entry_url: String,
    pub domains: Vec<String>,
    pub auth_cookies: Vec<String>,
    #[serde(default)]
    pub validate_url: Option<String>,
    #[serde(default)]
    pub extra_headers: Map<String, Value>,
    #[serde(default = "default_ttl_hours")]
    pub ttl_hours: i64,
    #[serde(default)]
    pub ttl_from_cookie: Option<String>,
    #[serde(default)]
    pub extract: Vec<ExtractRule>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `api_url`: one target or a list (hosts, host+path, URLs, or `regex:<host pattern>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ApiUrls {
    /// One target.
    One(String),
    /// Several targets.
    Many(Vec<String>),
}

/// A provider definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ProviderDefinition {
    #[serde(default = "default_schema_version")]
    pub schema_version: i64,
    pub name: String,
    pub display_name: String,
    #[serde(default)]
    pub logo: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, rename = "type")]
    pub provider_type: Option<String>,
    pub auth_type: AuthType,
    pub flow: FlowType,
    #[serde(default)]
    pub oauth: Option<OAuthConfig>,
    #[serde(default)]
    pub registration: Option<RegistrationConfig>,
    #[serde(default)]
    pub api_key: Option<ApiKeyConfig>,
    #[serde(default)]
    pub browser: Option<BrowserConfig>,
    #[serde(default)]
    pub export: Option<ExportConfig>,
    #[serde(default)]
    pub docs_url: Option<String>,
    #[serde(default)]
    pub api_url: Option<ApiUrls>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Why a definition is refused; `Display` is the reference's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid provider schema: {0}")]
pub struct ProviderSchemaError(pub String);

impl ProviderDefinition {
    /// Parses a definition document; missing or mistyped required fields are schema errors.
    pub fn from_value(value: Value) -> Result<Self, ProviderSchemaError> {
        serde_json::from_value(value).map_err(|e| ProviderSchemaError(e.to_string()))
    }

    /// The document, with every field present (null when unset), as the reference returns it.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The document to store: like [`to_value`](Self::to_value) without null fields (the
    /// reference stores `exclude_none`).
    pub fn to_stored_document(&self) -> Map<String, Value> {
        match self.to_value() {
            Value::Object(map) => map.into_iter().filter(|(_, v)| !v.is_null()).collect(),
            _ => Map::new(),
        }
    }

    /// The API targets, non-blank.
    pub fn api_urls(&self) -> Vec<&str> {
        match &self.api_url {
            None => Vec::new(),
            Some(ApiUrls::One(url)) => vec![url.as_str()],
            Some(ApiUrls::Many(urls)) => urls
                .iter()
                .map(String::as_str)
                .filter(|u| !u.trim().is_empty())
                .collect(),
        }
    }

    /// The first API target.
    pub fn primary_api_url(&self) -> Option<&str> {
        self.api_urls().first().copied()
    }

    /// The reference's schema rules, with its messages.
    pub fn validate(&self) -> Result<(), ProviderSchemaError> {
        let fail = |message: String| Err(ProviderSchemaError(message));
        if ProviderName::parse(&self.name).is_err() {
            return fail(format!("Provider name '{}' is not filesystem-safe", self.name));
        }
        if !self.flow.valid_for(self.auth_type) {
            let valid: &[&str] = match self.auth_type {
                AuthType::Oauth2 => &["pkce", "device_code", "dcr_pkce"],
                AuthType::ApiKey => &["api_key"],
                AuthType::Browser => &["browser"],
            };
            return fail(format!(
                "Flow '{}' is not valid for auth_type '{}'. Valid flows: {valid:?}",
                self.flow.as_str(),
                self.auth_type.as_str()
            ));
        }
        match self.auth_type {
            AuthType::Oauth2 if self.oauth.is_none() => {
                return fail("auth_type 'oauth2' requires an 'oauth' configuration section".to_owned());
            }
            AuthType::ApiKey if self.api_key.is_none() => {
                return fail("auth_type 'api_key' requires an 'api_key' configuration section".to_owned());
            }
            AuthType::Browser if self.browser.is_none() => {
                return fail("auth_type 'browser' requires a 'browser' configuration section".to_owned());
            }
            _ => {}
        }
        for target in self.api_url_entries() {
            check_api_target(target)?;
        }
        check_optional_url(self.docs_url.as_deref(), "docs_url", false)?;
        if let Some(oauth) = &self.oauth {
            check_optional_url(Some(&oauth.authorization_url), "authorization_url", true)?;
            check_optional_url(Some(&oauth.token_url), "token_url", true)?;
            check_optional_url(oauth.revocation_url.as_deref(), "revocation_url", true)?;
            check_optional_url(
                oauth.device_authorization_url.as_deref(),
                "device_authorization_url",
                true,
            )?;
            check_optional_url(oauth.base_url.as_deref(), "base_url", true)?;
        }
        if let Some(registration) = &self.registration {
            check_optional_url(
                registration.registration_endpoint.as_deref(),
                "registration.registration_endpoint",
                false,
            )?;
        }
        if let Some(browser) = &self.browser {
            check_optional_url(Some(&browser.entry_url), "browser.entry_url", false)?;
            check_optional_url(browser.validate_url.as_deref(), "browser.validate_url", false)?;
        }
        if let Some(pattern) = self.api_key.as_ref().and_then(|k| k.key_pattern.as_deref()) {
            key_pattern_regex(pattern).map_err(|_| ProviderSchemaError(format!("Invalid key_pattern: {pattern}")))?;
        }
        Ok(())
    }

    /// Every `api_url` entry, including blank ones (which validation refuses).
    fn api_url_entries(&self) -> Vec<&str> {
        match &self.api_url {
            None => Vec::new(),
            Some(ApiUrls::One(url)) => vec![url.as_str()],
            Some(ApiUrls::Many(urls)) => urls.iter().map(String::as_str).collect(),
        }
    }

    /// Checks an API key against `api_key.key_pattern` (whole-string match); `Err` holds the
    /// message for the person who typed it.
    pub fn check_api_key(&self, key: &str) -> Result<(), String> {
        let Some(config) = &self.api_key else { return Ok(()) };
        let Some(pattern) = config.key_pattern.as_deref() else {
            return Ok(());
        };
        let matches = key_pattern_regex(pattern).map(|re| re.is_match(key)).unwrap_or(false);
        if matches {
            Ok(())
        } else {
            Err(config
                .key_pattern_hint
                .clone()
                .unwrap_or_else(|| format!("API key for {} doesn't match the expected format.", self.display_name)))
        }
    }
}

/// A pattern anchored at both ends, like Python's `re.fullmatch`. The size limit keeps an
/// admin-supplied pattern from costing the server memory.
fn key_pattern_regex(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
}

fn check_api_target(target: &str) -> Result<(), ProviderSchemaError> {
    let invalid = || ProviderSchemaError(format!("Invalid API target for 'api_url': {target}"));
    let cleaned = target.trim();
    if cleaned.is_empty() || cleaned.chars().any(char::is_whitespace) {
        return Err(invalid());
    }
    if let Some(pattern) = cleaned.strip_prefix("regex:") {
        return regex::RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .build()
            .map(|_| ())
            .map_err(|_| invalid());
    }
    let url = if cleaned.contains("://") {
        cleaned.to_owned()
    } else {
        format!("https://{cleaned}")
    };
    if http_host(&url).is_some() {
        Ok(())
    } else {
        Err(invalid())
    }
}

fn check_optional_url(
    url: Option<&str>,
    field: &str,
    allow_base_url_template: bool,
) -> Result<(), ProviderSchemaError> {
    let Some(url) = url.filter(|u| !u.is_empty()) else {
        return Ok(());
    };
    if url.contains("{base_url}") {
        return if allow_base_url_template {
            Ok(())
        } else {
            Err(ProviderSchemaError(format!("Invalid URL for '{field}': {url}")))
        };
    }
    if http_host(url).is_some() {
        Ok(())
    } else {
        Err(ProviderSchemaError(format!("Invalid URL for '{field}': {url}")))
    }
}

/// The host of an `http` or `https` URL, when it has one.
pub fn http_host(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    (!host.is_empty()).then_some(host)
}

/// The path of an OAuth endpoint URL (`/` when it has none), as the proxy route table lists it.
pub fn url_path(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    match after_scheme.find('/') {
        Some(i) => {
            let path = &after_scheme[i..];
            path.split(['?', '#']).next().unwrap_or("/").to_owned()
        }
        None => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn openai() -> Value {
        json!({
            "name": "openai", "display_name": "OpenAI", "auth_type": "api_key", "flow": "api_key",
            "api_key": {"header_name": "Authorization", "env_var": "OPENAI_API_KEY", "key_pattern": "sk-[A-Za-z0-9_-]{20,}"},
            "api_url": "api.openai.com", "x-custom": {"kept": true}
        })
    }

    #[test]
    fn reads_defaults_and_keeps_extra_keys() {
        let def = ProviderDefinition::from_value(openai()).expect("valid");
        assert_eq!(def.schema_version, 1);
        let api_key = def.api_key.as_ref().expect("api key");
        assert_eq!(api_key.header_prefix.as_deref(), Some("Bearer"));
        assert_eq!(api_key.extra["env_var"], "OPENAI_API_KEY");
        let out = def.to_value();
        assert_eq!(out["x-custom"]["kept"], true);
        assert_eq!(out["logo"], Value::Null, "unset fields are present as null");
        assert!(!def.to_stored_document().contains_key("logo"), "stored without nulls");
        def.validate().expect("valid");
    }

    #[test]
    fn an_explicit_null_prefix_means_the_bare_key() {
        let mut value = openai();
        value["api_key"]["header_prefix"] = Value::Null;
        let def = ProviderDefinition::from_value(value).expect("valid");
        assert_eq!(def.api_key.expect("api key").header_prefix, None);
    }

    #[test]
    fn schema_rules_give_the_reference_messages() {
        let cases = [
            (
                json!({"flow": "pkce"}),
                "Invalid provider schema: Flow 'pkce' is not valid for auth_type 'api_key'. Valid flows: [\"api_key\"]",
            ),
            (
                json!({"api_key": null}),
                "Invalid provider schema: auth_type 'api_key' requires an 'api_key' configuration section",
            ),
            (
                json!({"api_url": "has space.com"}),
                "Invalid provider schema: Invalid API target for 'api_url': has space.com",
            ),
            (
                json!({"api_url": ["ok.com", "regex:("]}),
                "Invalid provider schema: Invalid API target for 'api_url': regex:(",
            ),
            (
                json!({"docs_url": "ftp://x"}),
                "Invalid provider schema: Invalid URL for 'docs_url': ftp://x",
            ),
            (
                json!({"name": "../etc"}),
                "Invalid provider schema: Provider name '../etc' is not filesystem-safe",
            ),
        ];
        for (patch, message) in cases {
            let mut value = openai();
            for (k, v) in patch.as_object().expect("object") {
                value[k] = v.clone();
            }
            let def = ProviderDefinition::from_value(value).expect("parses");
            assert_eq!(def.validate().expect_err(message).to_string(), message);
        }
        assert!(
            ProviderDefinition::from_value(json!({"name": "x"})).is_err(),
            "missing required fields"
        );
    }

    #[test]
    fn key_patterns_match_whole_keys() {
        let def = ProviderDefinition::from_value(openai()).expect("valid");
        assert!(def.check_api_key("sk-abcdefghijklmnopqrstuvwxyz").is_ok());
        assert_eq!(
            def.check_api_key("xsk-abcdefghijklmnopqrstuvwxyz").expect_err("prefix"),
            "API key for OpenAI doesn't match the expected format."
        );
        assert!(def.check_api_key("sk-short").is_err());
    }

    #[test]
    fn url_helpers() {
        assert_eq!(http_host("https://api.example.com/v1"), Some("api.example.com"));
        assert_eq!(http_host("ftp://x"), None);
        assert_eq!(url_path("https://auth.example.com/oauth/token?x=1"), "/oauth/token");
        assert_eq!(url_path("https://auth.example.com"), "/");
    }
}
