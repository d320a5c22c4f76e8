//! A snapshot of the process environment with case-insensitive lookup.

use std::collections::BTreeMap;

/// Every variable this program reads (upper case), for the unknown-variable warning.
pub const KNOWN_VARIABLES: &[&str] = &[
    "AUTHSOME_ENV",
    "AUTHSOME_HOME",
    "AUTHSOME_BASE_URL",
    "AUTHSOME_VERSION",
    "AUTHSOME_DATABASE_URL",
    "AUTHSOME_POSTGRES_POOL_MIN_SIZE",
    "AUTHSOME_POSTGRES_POOL_MAX_SIZE",
    "AUTHSOME_LOG",
    "AUTHSOME_LOG_FORMAT",
    "AUTHSOME_HOST",
    "AUTHSOME_PORT",
    "AUTHSOME_UI_BOOTSTRAP_TTL_SECONDS",
    "AUTHSOME_UI_SESSION_TTL_SECONDS",
    "AUTHSOME_AUTH_SESSION_TTL_SECONDS",
    "AUTHSOME_TOKEN_NEAR_EXPIRY_SECONDS",
    "AUTHSOME_MIN_PASSWORD_LENGTH",
    "AUTHSOME_OPEN_SIGNUP",
    "AUTHSOME_POP_MAX_LIFETIME_SECONDS",
    "AUTHSOME_POP_LEEWAY_SECONDS",
    "AUTHSOME_API_DOCS",
    "AUTHSOME_METRICS",
    "AUTHSOME_SHUTDOWN_GRACE_SECONDS",
    "AUTHSOME_LOGIN_MAX_FAILURES",
    "AUTHSOME_POP_IDS_PER_IDENTITY",
    "AUTHSOME_REGISTRATIONS_PER_HOUR",
    "AUTHSOME_HTTP_HEADER_TIMEOUT_SECONDS",
    "AUTHSOME_HTTP_BODY_TIMEOUT_SECONDS",
    "AUTHSOME_HTTP_IDLE_TIMEOUT_SECONDS",
    "AUTHSOME_MAX_CONNECTIONS",
    "AUTHSOME_TRUSTED_PROXIES",
    "AUTHSOME_OUTBOUND_TIMEOUT_SECONDS",
    "AUTHSOME_OUTBOUND_CONNECT_TIMEOUT_SECONDS",
    "AUTHSOME_OUTBOUND_ALLOW_HTTP",
    "AUTHSOME_OUTBOUND_CA_FILE",
    "AUTHSOME_OUTBOUND_PROXY",
    "AUTHSOME_ADMIN_EMAIL",
    // Read by the reference server but without effect here (analytics are not sent).
    "AUTHSOME_POSTHOG_API_KEY",
    "AUTHSOME_POSTHOG_HOST",
    "AUTHSOME_DO_NOT_TRACK",
    "AUTHSOME_UI_SESSION_KEY",
    "AUTHSOME_UI_SESSION_KEY_FILE",
    "AUTHSOME_REDIS_URL",
    "AUTHSOME_REDIS_KEY_PREFIX",
    "AUTHSOME_REDIS_CA_FILE",
    "AUTHSOME_REMEMBER_OWNERSHIP",
    "AUTHSOME_VAULT_BACKEND",
    "AUTHSOME_VAULT_WRITE_VERSION",
    "AUTHSOME_REDIS_LISTING_INDEX",
    "AUTHSOME_MASTER_KEY",
    "AUTHSOME_MASTER_KEY_FILE",
    "AUTHSOME_MASTER_KEY_PREVIOUS",
    "AUTHSOME_NEW_MASTER_KEY",
    "AUTHSOME_KEYRING",
    // Read by the reference CLI, not by the server; listed so they cause no warning.
    "AUTHSOME_IDENTITY",
    "AUTHSOME_IDENTITY_PRIVATE_KEY",
    "AUTHSOME_PROXY_MODE",
    // Used only by the test suites.
    "AUTHSOME_TEST_DATABASE_URL",
    "AUTHSOME_TEST_REDIS_URL",
];

/// A snapshot of the environment, with case-insensitive lookup.
#[derive(Clone, Default)]
pub struct EnvironmentVariables {
    by_upper_name: BTreeMap<String, String>,
}

impl EnvironmentVariables {
    /// The current process environment (variables that are not valid Unicode are ignored).
    pub fn from_process() -> Self {
        Self::from_pairs(std::env::vars())
    }

    /// These variables with `name` set to `value` (a command-line flag that stands for a
    /// variable, such as `serve --port`, wins over the environment).
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.by_upper_name.insert(name.to_ascii_uppercase(), value.into());
        self
    }

    /// A given set of variables (for tests and embedding).
    pub fn from_pairs<K: AsRef<str>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self {
            by_upper_name: pairs
                .into_iter()
                .map(|(k, v)| (k.as_ref().to_ascii_uppercase(), v.into()))
                .collect(),
        }
    }

    /// The value of `name`, when set and not blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.by_upper_name
            .get(&name.to_ascii_uppercase())
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// `AUTHSOME_*` variables this program does not know (likely typos), sorted.
    pub fn unknown_authsome_variables(&self) -> Vec<&str> {
        self.by_upper_name
            .keys()
            .filter(|k| k.starts_with("AUTHSOME_") && !KNOWN_VARIABLES.contains(&k.as_str()))
            .map(String::as_str)
            .collect()
    }
}
