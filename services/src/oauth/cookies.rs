//! Browser-cookie logins (`browser`): the CLI reads the person's own browser cookies for the
//! provider's domains and hands them over; they are stored as the connection and sent as a
//! `Cookie` header (and the headers the definition extracts from them).

use authsome_domain::credential_records::ConnectionRecord;
use authsome_domain::provider_definition::AuthType;
use authsome_domain::{AuthSession, AuthSessionState, Timestamp};
use serde_json::{Map, Value, json};

use super::failed;
use crate::ServiceError;
use crate::context::ServiceContext;

/// The reserved credential the CLI adds with the expiry (Unix seconds) of the cookie the
/// definition names in `ttl_from_cookie`.
pub const COOKIE_EXPIRES_AT: &str = "__cookie_expires_at__";

/// The most cookies, and the longest value, a login may hand over.
const MAX_COOKIES: usize = 64;
const MAX_COOKIE_BYTES: usize = 8 * 1024;

/// Begins the login: the session says where the person signs in and which cookies count, as
/// the CLI's `next_action` of type `browser` reads it.
pub async fn begin(state: &ServiceContext, session: &mut AuthSession) -> Result<(), ServiceError> {
    let definition = state.catalog.get(&session.provider).await?;
    let Some(browser) = &definition.browser else {
        return Err(failed(session, "Provider missing 'browser' configuration"));
    };
    session.payload.insert("browser_login".to_owned(), Value::Bool(true));
    session.payload.insert("entry_url".to_owned(), json!(browser.entry_url));
    session.payload.insert("domains".to_owned(), json!(browser.domains));
    session
        .payload
        .insert("auth_cookies".to_owned(), json!(browser.auth_cookies));
    session
        .payload
        .insert("ttl_from_cookie".to_owned(), json!(browser.ttl_from_cookie));
    session.payload.insert("ttl_hours".to_owned(), json!(browser.ttl_hours));
    session.state = AuthSessionState::WaitingForUser;
    Ok(state.runtime.auth_sessions.save(session).await?)
}

/// The `browser` action the CLI acts on.
pub fn capture(session: &AuthSession) -> CookieCapture {
    let text = |name: &str| session.payload.get(name).and_then(Value::as_str).map(str::to_owned);
    let list = |name: &str| -> Vec<String> {
        session
            .payload
            .get(name)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    CookieCapture {
        entry_url: text("entry_url"),
        domains: list("domains"),
        auth_cookies: list("auth_cookies"),
        ttl_from_cookie: text("ttl_from_cookie"),
        ttl_hours: session.payload.get("ttl_hours").and_then(Value::as_i64),
    }
}

/// What the CLI needs to capture a browser login's cookies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieCapture {
    /// Where the person signs in.
    pub entry_url: Option<String>,
    /// The cookie domains.
    pub domains: Vec<String>,
    /// The cookies that make up the session.
    pub auth_cookies: Vec<String>,
    /// The cookie whose expiry is the session's.
    pub ttl_from_cookie: Option<String>,
    /// The session lifetime in hours, when no cookie gives it.
    pub ttl_hours: Option<i64>,
}

/// Finishes the login with the cookies the CLI read (`{"credentials": {name: value}}`):
/// every cookie the definition requires must be there and non-empty; the expiry is the one
/// the CLI read from the `ttl_from_cookie` cookie, else `ttl_hours` from now.
pub async fn resume(
    state: &ServiceContext,
    session: &mut AuthSession,
    data: &Map<String, Value>,
) -> Result<(), ServiceError> {
    let definition = state.catalog.get(&session.provider).await?;
    let Some(browser) = &definition.browser else {
        return Err(failed(session, "Provider missing 'browser' configuration"));
    };
    let Some(Value::Object(credentials)) = data.get("credentials") else {
        return Err(failed(session, "no browser cookies were sent ('credentials')"));
    };
    if credentials.len() > MAX_COOKIES + 1 {
        return Err(failed(session, "too many cookies"));
    }
    let mut cookies = Map::new();
    let mut expires_at = None;
    for (name, value) in credentials {
        let Some(text) = value.as_str() else {
            return Err(failed(
                session,
                format!("cookie '{}' is not text", name.chars().take(64).collect::<String>()),
            ));
        };
        if name == COOKIE_EXPIRES_AT {
            expires_at = text.trim().parse::<i64>().ok().and_then(Timestamp::from_unix_seconds);
            continue;
        }
        if text.len() > MAX_COOKIE_BYTES || name.len() > 256 {
            return Err(failed(session, "a cookie is too large"));
        }
        cookies.insert(name.clone(), Value::String(text.to_owned()));
    }
    let missing: Vec<&str> = browser
        .auth_cookies
        .iter()
        .filter(|name| {
            cookies
                .get(name.as_str())
                .and_then(Value::as_str)
                .is_none_or(|v| v.trim().is_empty())
        })
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(failed(
            session,
            format!(
                "the browser has no {} cookie: sign in at {} first",
                missing.join(", "),
                browser.entry_url
            ),
        ));
    }
    let mut record = ConnectionRecord::connected(
        session.provider.as_str(),
        session.connection_name.as_str(),
        AuthType::Browser,
    );
    record.credentials = Some(cookies);
    record.expires_at =
        Some(expires_at.unwrap_or_else(|| Timestamp::now().plus_seconds(browser.ttl_hours.max(1) * 3600)));
    crate::auth_sessions::save_login_connection(state, session, record).await
}
