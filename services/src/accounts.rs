//! Browser accounts: sign-up, sign-in (throttled), password change, and one-time setup links
//! for accounts an operator creates (`authsome init --admin-email`).

use authsome_domain::{
    BrowserSession, BrowserSessionToken, ClientAddress, Email, NewPrincipal, PasswordHash, Principal, Role, RolePolicy,
    Timestamp,
};
use authsome_ports::{Conflict, RegistryError};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::ServiceError;
use crate::audit::{self, AuditEventExt};
use crate::context::ServiceContext;

/// A failed sign-in window: failures per email are counted over this many seconds.
const FAILURE_WINDOW_SECONDS: i64 = 15 * 60;
/// Failures per client address in the window (a bound on password guessing across emails).
const MAX_FAILURES_PER_ADDRESS: u64 = 100;
/// The `server_config` key holding unused setup links (token hash -> email and expiry).
const SETUP_TOKENS_KEY: &str = "account_setup_tokens";

/// A refusal shown to the person on the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRefusal(pub String);

/// What an account operation can end with.
#[derive(Debug)]
pub enum AccountError {
    /// The person did something the form explains.
    Refused(AccountRefusal),
    /// The server failed.
    Service(ServiceError),
}

impl<E: Into<ServiceError>> From<E> for AccountError {
    fn from(error: E) -> Self {
        Self::Service(error.into())
    }
}

fn refuse<T>(message: impl Into<String>) -> Result<T, AccountError> {
    Err(AccountError::Refused(AccountRefusal(message.into())))
}

/// A new browser session and its cookie token.
pub struct SignedIn {
    /// The cookie value.
    pub token: BrowserSessionToken,
    /// The session.
    pub session: BrowserSession,
}

/// Runs a password hash or check on a blocking thread, at most a few at a time.
async fn with_password_slot<T: Send + 'static>(
    state: &ServiceContext,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ServiceError> {
    let _slot = state
        .password_slots
        .acquire()
        .await
        .map_err(|_| ServiceError::Unavailable("The server is shutting down".to_owned()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| ServiceError::Internal("a password hashing task failed"))
}

fn check_password_rules(state: &ServiceContext, password: &SecretString) -> Result<(), AccountError> {
    let min = state.policy.min_password_length;
    let length = password.expose_secret().chars().count();
    if length < min {
        return refuse(format!("Password must be at least {min} characters"));
    }
    if password.expose_secret().len() > authsome_domain::password::MAX_PASSWORD_BYTES {
        return refuse("Password is too long");
    }
    Ok(())
}

async fn hash(state: &ServiceContext, password: &SecretString) -> Result<PasswordHash, AccountError> {
    let password = password.clone();
    match with_password_slot(state, move || authsome_domain::password::hash(&password)).await? {
        Some(hash) => Ok(hash),
        None => Err(ServiceError::Internal("a password could not be hashed").into()),
    }
}

async fn verify(state: &ServiceContext, hash: &PasswordHash, password: &SecretString) -> Result<bool, AccountError> {
    let (hash, password) = (hash.clone(), password.clone());
    Ok(with_password_slot(state, move || authsome_domain::password::verify(&hash, &password)).await?)
}

async fn start_session(state: &ServiceContext, principal: &Principal) -> Result<SignedIn, ServiceError> {
    let session = BrowserSession::new(
        principal.id.clone(),
        principal.email.clone(),
        state.policy.browser_session_ttl_seconds,
    );
    let token = state.runtime.browser_sessions.create(&session).await?;
    Ok(SignedIn { token, session })
}

/// Creates an account (or completes one an operator created) and signs it in.
///
/// Open sign-up (`AUTHSOME_OPEN_SIGNUP`, on by default outside production) lets anyone create
/// an account; the first account ever becomes admin. With it off, only a valid setup link
/// creates or completes an account. An account created without a password can only be
/// completed with its setup link, never by whoever signs up first with that email.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn register(
    state: &ServiceContext,
    email: &str,
    password: SecretString,
    setup_token: Option<&str>,
) -> Result<SignedIn, AccountError> {
    let email = match Email::parse(email) {
        Ok(email) => email,
        Err(error) => return refuse(error.to_string()),
    };
    check_password_rules(state, &password)?;
    let setup_valid = match setup_token.filter(|t| !t.is_empty()) {
        Some(token) => setup_token_matches(state, token, &email).await?,
        None => false,
    };
    if !state.policy.open_signup && !setup_valid {
        return refuse("Sign-up is closed on this server: ask an administrator for a setup link");
    }
    let existing = state.registries.principals.get_by_email(&email).await?;
    let password_hash = hash(state, &password).await?;
    let principal = match existing {
        Some(principal) if principal.password_hash.is_some() => {
            return refuse(format!("Account '{email}' is already registered"));
        }
        Some(principal) if !setup_valid => {
            // Created by an operator: only its setup link may set the first password.
            let _ = principal;
            return refuse(format!("Account '{email}' is already registered"));
        }
        Some(principal) => match state
            .registries
            .principals
            .set_initial_password(&principal.id, &password_hash)
            .await
        {
            Ok(principal) => principal,
            Err(RegistryError::Conflict(Conflict::PasswordAlreadySet(_))) => {
                return refuse(format!("Account '{email}' is already registered"));
            }
            Err(other) => return Err(other.into()),
        },
        None => {
            let created = state
                .registries
                .principals
                .create(NewPrincipal {
                    email: email.clone(),
                    password_hash: Some(password_hash),
                    role: RolePolicy::FirstPrincipalIsAdmin,
                })
                .await;
            match created {
                Ok(principal) => principal,
                Err(RegistryError::Conflict(Conflict::EmailTaken(_))) => {
                    return refuse(format!("Account '{email}' is already registered"));
                }
                Err(other) => return Err(other.into()),
            }
        }
    };
    if setup_valid && let Some(token) = setup_token {
        consume_setup_token(state, token).await?;
    }
    state.registries.bindings.ensure_default_vault(&principal.id).await?;
    Ok(start_session(state, &principal).await?)
}

fn throttle_keys(email: &str, address: Option<ClientAddress>) -> (String, Option<String>) {
    (
        format!("login-failures:email:{}", email.trim().to_lowercase()),
        address.map(|a| format!("login-failures:address:{a}")),
    )
}

/// Signs in. Every failure reads `Invalid email or password`; after too many failures for
/// an email (or from an address) in 15 minutes, attempts are refused without checking.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn login(
    state: &ServiceContext,
    email: &str,
    password: SecretString,
    address: Option<ClientAddress>,
) -> Result<SignedIn, AccountError> {
    let (email_key, address_key) = throttle_keys(email, address);
    let limiter = &state.runtime.rate_limiter;
    let too_many_email = limiter.count(&email_key).await? >= state.policy.login_max_failures;
    let too_many_address = match &address_key {
        Some(key) => limiter.count(key).await? >= MAX_FAILURES_PER_ADDRESS,
        None => false,
    };
    if too_many_email || too_many_address {
        return refuse("Too many failed sign-in attempts: try again in 15 minutes");
    }
    let principal = match Email::parse(email) {
        Ok(email) => state.registries.principals.get_by_email(&email).await?,
        Err(_) => None,
    };
    let verified = match principal.as_ref().and_then(|p| p.password_hash.as_ref()) {
        Some(hash) => verify(state, hash, &password).await?,
        None => {
            // Spend the same work on unknown accounts, so timing does not reveal which exist.
            let _ = hash(state, &password).await;
            false
        }
    };
    match principal {
        Some(principal) if verified => {
            limiter.reset(&email_key).await?;
            let mut event = authsome_domain::AuditEvent::new("account.login");
            event.principal_id = Some(principal.id.clone());
            event.status = Some("success".to_owned());
            Ok(audit::recorded(state, event, start_session(state, &principal)).await?)
        }
        _ => {
            limiter.hit(&email_key, FAILURE_WINDOW_SECONDS).await?;
            if let Some(key) = &address_key {
                limiter.hit(key, FAILURE_WINDOW_SECONDS).await?;
            }
            let mut event = authsome_domain::AuditEvent::new("account.login_failed");
            event.status = Some("failure".to_owned());
            event
                .metadata
                .insert("reason".to_owned(), Value::from("invalid_credentials"));
            audit::record(state, event).await;
            refuse("Invalid email or password")
        }
    }
}

/// Changes the password, ends every session of the account (on every replica), and signs this
/// browser in again.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn change_password(
    state: &ServiceContext,
    principal_id: &authsome_domain::PrincipalId,
    current: SecretString,
    new_password: SecretString,
) -> Result<SignedIn, AccountError> {
    let Some(principal) = state.registries.principals.get(principal_id).await? else {
        return refuse("Invalid current password");
    };
    let Some(current_hash) = principal.password_hash.clone() else {
        return refuse("Invalid current password");
    };
    if !verify(state, &current_hash, &current).await? {
        return refuse("Invalid current password");
    }
    check_password_rules(state, &new_password)?;
    let new_hash = hash(state, &new_password).await?;
    let mut event = authsome_domain::AuditEvent::new("account.password_changed");
    event.principal_id = Some(principal_id.clone());
    event.status = Some("success".to_owned());
    let principal = audit::recorded(state, event, async {
        let principal = state
            .registries
            .principals
            .set_password(principal_id, &new_hash)
            .await?;
        state
            .runtime
            .browser_sessions
            .delete_for_principal(principal_id)
            .await?;
        Ok::<_, ServiceError>(principal)
    })
    .await?;
    Ok(start_session(state, &principal).await?)
}

fn token_digest(token: &str) -> String {
    authsome_domain::hex::encode(&Sha256::digest(token.as_bytes()))
}

/// Creates (or promotes) `email` as an admin without a password and returns a one-time setup
/// token, valid `ttl_seconds`, with which that person sets the password in the browser.
pub async fn provision_admin(
    state_registries: &authsome_ports::Registries,
    email: &Email,
    ttl_seconds: i64,
) -> Result<Option<String>, ServiceError> {
    let principal = match state_registries.principals.get_by_email(email).await? {
        Some(existing) => {
            if existing.role != Role::Admin {
                state_registries.principals.set_role(&existing.id, Role::Admin).await?;
            }
            existing
        }
        None => {
            state_registries
                .principals
                .create(NewPrincipal {
                    email: email.clone(),
                    password_hash: None,
                    role: RolePolicy::Fixed(Role::Admin),
                })
                .await?
        }
    };
    state_registries.bindings.ensure_default_vault(&principal.id).await?;
    if principal.password_hash.is_some() {
        return Ok(None);
    }
    Ok(Some(issue_setup_token(state_registries, email, ttl_seconds).await?))
}

/// A one-time setup token for `email`, valid `ttl_seconds`, stored by its digest.
async fn issue_setup_token(
    state_registries: &authsome_ports::Registries,
    email: &Email,
    ttl_seconds: i64,
) -> Result<String, ServiceError> {
    let token = authsome_domain::random_token::url_safe(32);
    let digest = token_digest(&token);
    let now = Timestamp::now();
    let expires_at = now.plus_seconds(ttl_seconds).unix_seconds();
    // One atomic change of the shared document: an invitation made at the same moment on
    // another replica (or a link being used) is kept, not overwritten.
    let add = |config: &mut authsome_domain::ServerConfig| {
        let mut tokens = match config.extra.remove(SETUP_TOKENS_KEY) {
            Some(Value::Object(tokens)) => tokens,
            _ => Map::new(),
        };
        tokens.retain(|_, entry| {
            entry
                .get("expires_at")
                .and_then(Value::as_i64)
                .is_some_and(|t| t > now.unix_seconds())
        });
        let mut entry = Map::new();
        entry.insert("email".to_owned(), Value::from(email.as_str()));
        entry.insert("expires_at".to_owned(), Value::from(expires_at));
        tokens.insert(digest.clone(), Value::Object(entry));
        config.extra.insert(SETUP_TOKENS_KEY.to_owned(), Value::Object(tokens));
    };
    state_registries.server_config.update(&add).await?;
    Ok(token)
}

/// Why an invitation was not made.
#[derive(Debug, thiserror::Error)]
pub enum InvitationError {
    /// The email already has an account with a password.
    #[error("{0} already has an account")]
    AlreadyRegistered(String),
    /// The email is not an email address.
    #[error("{0}")]
    InvalidEmail(String),
    /// Anything else (not an admin, a store failing).
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// An admin invites `email` with `role`: the account is created without a password (or, when
/// an earlier invitation was never used, given the new role) and a one-time sign-up token,
/// valid `ttl_seconds`, is returned, with which that person sets their password. This is how
/// people join while open sign-up is off. An account that already has a password is refused.
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor()))]
pub async fn invite(
    state: &ServiceContext,
    caller: &crate::ownership::Caller,
    email: &str,
    role: Role,
    ttl_seconds: i64,
) -> Result<String, InvitationError> {
    caller.require_admin()?;
    let email = Email::parse(email).map_err(|e| InvitationError::InvalidEmail(e.to_string()))?;
    let registries = &state.registries;
    let principal = match registries
        .principals
        .get_by_email(&email)
        .await
        .map_err(ServiceError::from)?
    {
        Some(existing) if existing.password_hash.is_some() => {
            return Err(InvitationError::AlreadyRegistered(email.as_str().to_owned()));
        }
        Some(existing) => {
            if existing.role != role {
                registries
                    .principals
                    .set_role(&existing.id, role)
                    .await
                    .map_err(ServiceError::from)?;
            }
            existing
        }
        None => registries
            .principals
            .create(NewPrincipal {
                email: email.clone(),
                password_hash: None,
                role: RolePolicy::Fixed(role),
            })
            .await
            .map_err(ServiceError::from)?,
    };
    let event = audit::event_by("account.invited", caller)
        .status("success")
        .with("invited_principal_id", principal.id.as_str())
        .with("role", role.as_str());
    let token = audit::recorded(state, event, async {
        registries.bindings.ensure_default_vault(&principal.id).await?;
        issue_setup_token(registries, &email, ttl_seconds).await
    })
    .await?;
    Ok(token)
}

/// Ends every browser session of the caller's account, on every replica (this one too).
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor()))]
pub async fn sign_out_everywhere(
    state: &ServiceContext,
    caller: &crate::ownership::Caller,
) -> Result<u64, ServiceError> {
    let event = audit::event_by("account.signed_out_everywhere", caller).status("success");
    audit::recorded(state, event, async {
        Ok::<_, ServiceError>(
            state
                .runtime
                .browser_sessions
                .delete_for_principal(&caller.principal_id)
                .await?,
        )
    })
    .await
}

async fn setup_token_matches(state: &ServiceContext, token: &str, email: &Email) -> Result<bool, ServiceError> {
    let config = state.registries.server_config.load().await?;
    let entry = config
        .extra
        .get(SETUP_TOKENS_KEY)
        .and_then(|t| t.get(token_digest(token)));
    Ok(entry.is_some_and(|entry| {
        entry.get("email").and_then(Value::as_str) == Some(email.as_str())
            && entry
                .get("expires_at")
                .and_then(Value::as_i64)
                .is_some_and(|t| t > Timestamp::now().unix_seconds())
    }))
}

async fn consume_setup_token(state: &ServiceContext, token: &str) -> Result<(), ServiceError> {
    let digest = token_digest(token);
    let remove = |config: &mut authsome_domain::ServerConfig| {
        if let Some(Value::Object(tokens)) = config.extra.get_mut(SETUP_TOKENS_KEY) {
            tokens.remove(&digest);
        }
    };
    state.registries.server_config.update(&remove).await?;
    Ok(())
}

/// Every account, oldest first: for admins only.
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor()))]
pub async fn list_principals(
    state: &ServiceContext,
    caller: &crate::ownership::Caller,
) -> Result<Vec<authsome_domain::Principal>, ServiceError> {
    caller.require_admin()?;
    Ok(state.registries.principals.list().await?)
}
