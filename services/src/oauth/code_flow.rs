//! The authorization code grant with PKCE (`pkce`), and with a client registered on the spot
//! (`dcr_pkce`, RFC 7591): the authorization URL the person opens, then the code exchange when
//! the provider sends them back.

use authsome_domain::oauth::registration::{registration_endpoint, registration_request};
use authsome_domain::oauth::{
    AuthorizationRequest, PkceVerifier, RegisteredClient, TokenGrant, authorization_url, discovery_urls, new_state,
};
use authsome_domain::{AuthSession, AuthSessionState};
use authsome_ports::{EndpointBody, EndpointRequest};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use super::client::{LoginClient, ProviderSetup};
use super::{callback_url, exchange_failed, failed};
use crate::ServiceError;
use crate::context::ServiceContext;

/// Session secrets and payload keys of this flow.
const VERIFIER: &str = "code_verifier";
const REGISTERED_CLIENT_ID: &str = "internal_client_id";
const REGISTERED_CLIENT_SECRET: &str = "internal_client_secret";

/// Begins the login: a fresh verifier and state, the authorization URL (the definition's
/// `authorization_params` first, except with a client registered for this login, as the
/// reference does), all kept in the session, which the callback finds by its state.
pub async fn begin(
    state: &ServiceContext,
    session: &mut AuthSession,
    setup: &ProviderSetup,
    client: &LoginClient,
    registered: bool,
) -> Result<(), ServiceError> {
    let oauth = setup.oauth()?;
    let scopes = setup.scopes(session);
    let verifier = PkceVerifier::generate();
    let oauth_state = new_state();
    let redirect_uri = callback_url(state);
    let no_parameters = Map::new();
    let endpoint = setup.endpoint(&oauth.authorization_url, session);
    let url = authorization_url(&AuthorizationRequest {
        endpoint: &endpoint,
        extra: if registered {
            &no_parameters
        } else {
            &oauth.authorization_params
        },
        client_id: &client.id,
        redirect_uri: &redirect_uri,
        state: &oauth_state,
        code_challenge: &verifier.challenge(),
        scopes: &scopes,
    });
    session.payload.insert("auth_url".to_owned(), Value::from(url));
    session
        .payload
        .insert("callback_url".to_owned(), Value::from(redirect_uri));
    session.payload.insert("internal_scopes".to_owned(), json!(scopes));
    session.secrets.insert(VERIFIER, verifier.secret().clone());
    if registered {
        session
            .payload
            .insert(REGISTERED_CLIENT_ID.to_owned(), Value::from(client.id.clone()));
        if let Some(secret) = &client.secret {
            session.secrets.insert(REGISTERED_CLIENT_SECRET, secret.clone());
        }
    }
    session.oauth_state = Some(oauth_state);
    session.state = AuthSessionState::WaitingForUser;
    Ok(state.runtime.auth_sessions.save(session).await?)
}

/// Registers a client for this server at the provider: at the definition's registration
/// endpoint, else the one its discovery documents name.
pub async fn register(
    state: &ServiceContext,
    session: &AuthSession,
    setup: &ProviderSetup,
) -> Result<LoginClient, ServiceError> {
    let oauth = setup.oauth()?;
    let configured = setup
        .definition
        .registration
        .as_ref()
        .and_then(|r| r.registration_endpoint.as_deref())
        .map(|template| setup.endpoint(template, session));
    let endpoint = match configured {
        Some(endpoint) => endpoint,
        None => discover_registration_endpoint(state, session, &setup.endpoint(&oauth.authorization_url, session))
            .await?
            .ok_or_else(|| failed(session, "the provider offers no client registration endpoint"))?,
    };
    let document = registration_request(session.provider.as_str(), &callback_url(state), &setup.scopes(session));
    let reply = state
        .endpoints
        .send(&EndpointRequest {
            url: &endpoint,
            body: EndpointBody::Json(&document),
            basic_auth: None,
        })
        .await
        .map_err(|e| exchange_failed(session, "Client registration", &e))?;
    let registered = RegisteredClient::from_answer(&reply.answer())
        .map_err(|e| failed(session, format!("Client registration failed: {e}")))?;
    Ok(LoginClient {
        id: registered.client_id,
        secret: registered.client_secret,
    })
}

async fn discover_registration_endpoint(
    state: &ServiceContext,
    session: &AuthSession,
    authorization_endpoint: &str,
) -> Result<Option<String>, ServiceError> {
    let Some(documents) = discovery_urls(authorization_endpoint) else {
        return Ok(None);
    };
    for url in &documents {
        let reply = state
            .endpoints
            .send(&EndpointRequest {
                url,
                body: EndpointBody::Empty,
                basic_auth: None,
            })
            .await;
        match reply {
            Ok(reply) if reply.answer().is_success() => {
                if let Some(endpoint) = reply.json.as_ref().and_then(registration_endpoint) {
                    return Ok(Some(endpoint));
                }
            }
            Ok(_) => {}
            Err(error) => return Err(exchange_failed(session, "Discovery", &error)),
        }
    }
    Ok(None)
}

/// What the provider sent back to the callback.
pub struct Callback {
    /// `code`.
    pub code: Option<SecretString>,
    /// `error`.
    pub error: Option<String>,
    /// `error_description`.
    pub error_description: Option<String>,
}

/// Finishes the login with what the provider sent back: exchanges the code for tokens and
/// stores the connection (and a client registered for this login, for the next one).
pub async fn finish(state: &ServiceContext, session: &mut AuthSession, callback: Callback) -> Result<(), ServiceError> {
    if let Some(error) = callback.error {
        let error: String = error.chars().take(100).collect();
        return Err(failed(
            session,
            match callback.error_description {
                Some(description) => format!(
                    "OAuth error: {error} ({})",
                    description.chars().take(200).collect::<String>()
                ),
                None => format!("OAuth error: {error}"),
            },
        ));
    }
    let Some(code) = callback.code else {
        return Err(failed(session, "Authorization timed out or no code received"));
    };
    let definition = state.catalog.get(&session.provider).await?;
    let mut setup = ProviderSetup::load(state, definition).await?;
    let oauth = setup.oauth()?;
    let registered_id = session
        .payload
        .get(REGISTERED_CLIENT_ID)
        .and_then(Value::as_str)
        .map(str::to_owned);
    let registered = registered_id.is_some();
    let client = match registered_id {
        Some(id) => LoginClient {
            id,
            secret: session.secrets.get(REGISTERED_CLIENT_SECRET).cloned(),
        },
        None => setup
            .configured_client()
            .ok_or_else(|| failed(session, "the provider's OAuth client is no longer configured"))?,
    };
    let verifier = session
        .secrets
        .get(VERIFIER)
        .cloned()
        .ok_or_else(|| failed(session, "the login lost its PKCE verifier; start it again"))?;
    let redirect_uri = callback_url(state);
    let token_url = setup.endpoint(&oauth.token_url, session);
    let form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.expose_secret()),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_verifier", verifier.expose_secret()),
    ];
    // A registered client authenticates in the form (`client_secret_post`, as registered).
    let basic = !registered && oauth.authorization_method.eq_ignore_ascii_case("basic");
    let reply = client
        .send_form(state, &token_url, basic, form)
        .await
        .map_err(|e| exchange_failed(session, "Token exchange", &e))?;
    let grant =
        TokenGrant::from_answer(&reply.answer()).map_err(|e| failed(session, format!("Token exchange failed: {e}")))?;
    let scopes = session
        .payload
        .get("internal_scopes")
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_else(|| setup.scopes(session));
    let record = super::oauth_record(
        session,
        &grant,
        &scopes,
        setup.base_url(session).filter(|_| setup.api_url().is_some()),
        setup.api_url(),
    );
    crate::auth_sessions::save_login_connection(state, session, record).await?;
    if registered {
        setup.keep_registered(state, session, &client, &scopes).await?;
    }
    session.secrets.remove(VERIFIER);
    session.secrets.remove(REGISTERED_CLIENT_SECRET);
    Ok(())
}
