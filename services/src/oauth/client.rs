//! A provider's server-scope OAuth configuration (the client record an admin sets, or one this
//! server registered for itself) and the inputs a login must ask for when it is incomplete.

use std::collections::HashMap;
use std::sync::Arc;

use authsome_domain::credential_records::ProviderClientRecord;
use authsome_domain::oauth::expand_base_url;
use authsome_domain::provider_definition::{FlowType, OAuthConfig, ProviderDefinition};
use authsome_domain::{AuditEvent, AuthSession};
use authsome_ports::{EndpointBody, EndpointError, EndpointReply, EndpointRequest};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::{requested_base_url, requested_scopes};
use crate::audit::{self, AuditEventExt};
use crate::context::ServiceContext;
use crate::credentials::{client_record, save_client_record};
use crate::ownership::Caller;
use crate::{AuthsomeError, ServiceError};

/// The inputs that configure the provider for everyone (and so need an admin); any other
/// input (scopes) only shapes one login.
pub const CLIENT_CONFIGURATION_FIELDS: &[&str] = &["base_url", "api_url", "client_id", "client_secret"];

/// The client a login authenticates as.
pub struct LoginClient {
    /// `client_id`.
    pub id: String,
    /// `client_secret`, when it has one.
    pub secret: Option<SecretString>,
}

impl LoginClient {
    /// Authenticates a token-endpoint request: HTTP Basic when the definition says
    /// `authorization_method: basic` (with an empty secret when there is none, as the
    /// reference does), otherwise `client_id` and `client_secret` in the form.
    pub fn authenticate<'a>(&'a self, basic: bool, form: &mut Vec<(&'a str, &'a str)>) -> Option<(&'a str, &'a str)> {
        let secret = self.secret.as_ref().map(|s| s.expose_secret());
        if basic {
            return Some((self.id.as_str(), secret.unwrap_or("")));
        }
        form.push(("client_id", self.id.as_str()));
        if let Some(secret) = secret {
            form.push(("client_secret", secret));
        }
        None
    }
}

impl LoginClient {
    /// POSTs `form` to the provider endpoint `url`, authenticated as this client (see
    /// [`authenticate`](Self::authenticate)).
    pub async fn send_form<'a>(
        &'a self,
        state: &ServiceContext,
        url: &str,
        basic: bool,
        mut form: Vec<(&'a str, &'a str)>,
    ) -> Result<EndpointReply, EndpointError> {
        let basic_auth = self.authenticate(basic, &mut form);
        state
            .endpoints
            .send(&EndpointRequest {
                url,
                body: EndpointBody::Form(&form),
                basic_auth,
            })
            .await
    }
}

/// A provider's definition and its server-scope configuration.
pub struct ProviderSetup {
    /// The definition.
    pub definition: Arc<ProviderDefinition>,
    /// The client record, when one is stored.
    pub record: Option<ProviderClientRecord>,
}

impl ProviderSetup {
    /// Reads the provider's client record.
    pub async fn load(state: &ServiceContext, definition: Arc<ProviderDefinition>) -> Result<Self, ServiceError> {
        let record = client_record(state, &definition.name).await?;
        Ok(Self { definition, record })
    }

    /// The definition's OAuth settings, or `AuthenticationFailedError`.
    pub fn oauth(&self) -> Result<&OAuthConfig, ServiceError> {
        self.definition.oauth.as_ref().ok_or_else(|| {
            AuthsomeError::authentication_failed("Provider missing 'oauth' configuration", &self.definition.name).into()
        })
    }

    /// The base URL a login uses: the one it asked for, else the configured one, else the
    /// definition's (self-hosted providers such as GitHub Enterprise).
    pub fn base_url(&self, session: &AuthSession) -> Option<String> {
        requested_base_url(session)
            .map(str::to_owned)
            .or_else(|| self.record.as_ref().and_then(|r| r.base_url.clone()))
            .or_else(|| self.definition.oauth.as_ref().and_then(|o| o.base_url.clone()))
    }

    /// The API URL stored with a connection of a self-hosted provider.
    pub fn api_url(&self) -> Option<String> {
        self.definition.oauth.as_ref().and_then(|o| o.base_url.as_ref())?;
        self.record
            .as_ref()
            .and_then(|r| r.api_url.clone())
            .or_else(|| self.definition.primary_api_url().map(str::to_owned))
    }

    /// `template` (an endpoint of the definition) for this login's base URL.
    pub fn endpoint(&self, template: &str, session: &AuthSession) -> String {
        expand_base_url(template, self.base_url(session).as_deref())
    }

    /// The client an admin configured (or this server registered earlier), if any.
    pub fn configured_client(&self) -> Option<LoginClient> {
        let record = self.record.as_ref()?;
        let id = record.client_id.as_deref().map(str::trim).filter(|id| !id.is_empty())?;
        Some(LoginClient {
            id: id.to_owned(),
            secret: record
                .client_secret
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| SecretString::from(s.to_owned())),
        })
    }

    /// Whether requests with the stored client (a refresh, a revocation) authenticate with HTTP
    /// Basic: the definition says `basic`, and the client is not one this server registered for
    /// itself, which authenticates in the form (`client_secret_post`, as it was registered).
    pub fn stored_client_uses_basic(&self) -> bool {
        let registered = self
            .record
            .as_ref()
            .is_some_and(|r| r.metadata.contains_key("registered_dynamically"));
        let basic = self
            .definition
            .oauth
            .as_ref()
            .is_some_and(|o| o.authorization_method.eq_ignore_ascii_case("basic"));
        basic && !registered
    }

    /// The scopes a login asks for: its own, else the configured ones, else the definition's.
    pub fn scopes(&self, session: &AuthSession) -> Vec<String> {
        requested_scopes(session)
            .or_else(|| {
                self.record
                    .as_ref()
                    .and_then(|r| r.scopes.clone())
                    .filter(|s| !s.is_empty())
            })
            .unwrap_or_else(|| {
                self.definition
                    .oauth
                    .as_ref()
                    .map(|o| o.scopes.clone())
                    .unwrap_or_default()
            })
    }

    /// The inputs a login of `flow` needs before it can begin (the reference's fields, in
    /// its order): the base and API URL of a self-hosted provider not yet set, a client when
    /// none is configured (not for `dcr_pkce`, which registers one), and scopes when neither
    /// the login nor the configuration names any.
    pub fn required_inputs(&self, flow: FlowType, session: &AuthSession) -> Vec<Value> {
        let Some(oauth) = &self.definition.oauth else {
            return Vec::new();
        };
        let mut fields = Vec::new();
        let configured_base = self.record.as_ref().and_then(|r| r.base_url.clone());
        if let Some(default_base) = &oauth.base_url
            && requested_base_url(session).is_none()
            && configured_base.is_none()
        {
            fields.push(json!({"name": "base_url", "label": "Base URL", "secret": false, "required": true, "default": default_base}));
            fields.push(
                json!({"name": "api_url", "label": "API Host URL", "secret": false, "required": true,
                "default": self.api_url().or_else(|| self.definition.primary_api_url().map(str::to_owned))}),
            );
        }
        if self.configured_client().is_none() {
            match flow {
                FlowType::Pkce => {
                    fields.push(json!({"name": "client_id", "label": "Client ID", "secret": false, "required": true}));
                    fields.push(
                        json!({"name": "client_secret", "label": "Client Secret", "secret": true, "required": true}),
                    );
                }
                FlowType::DeviceCode => {
                    fields.push(json!({"name": "client_id", "label": "Client ID", "secret": false, "required": true}));
                    fields.push(json!({"name": "client_secret", "label": "Client Secret (Optional)", "secret": true, "required": false}));
                }
                _ => {}
            }
        }
        let configured_scopes = self.record.as_ref().and_then(|r| r.scopes.as_ref());
        if matches!(flow, FlowType::Pkce | FlowType::DeviceCode | FlowType::DcrPkce)
            && requested_scopes(session).is_none()
            && configured_scopes.is_none()
        {
            fields.push(
                json!({"name": "scopes", "label": "Scopes (comma-separated)", "secret": false, "required": false,
                "default": oauth.scopes.join(",")}),
            );
        }
        fields
    }

    /// Saves `record` as the provider's client, recorded in the audit log as acted by
    /// `actor` (an event with the identity and principal filled in).
    async fn save(
        &self,
        state: &ServiceContext,
        actor: AuditEvent,
        record: ProviderClientRecord,
    ) -> Result<(), ServiceError> {
        let previous = self.record.as_ref();
        let event = actor
            .provider(&self.definition.name)
            .status("success")
            .with(
                "client_id_changed",
                previous.is_none_or(|p| p.client_id != record.client_id),
            )
            .with(
                "client_secret_changed",
                previous.is_none_or(|p| p.client_secret != record.client_secret),
            );
        audit::recorded(state, event, save_client_record(state, &record)).await
    }

    /// Applies the input page's `fields` to this login. Client configuration (base and API
    /// URL, client id and secret) is the provider's for everyone: it needs an admin, and is
    /// saved as the provider's client record (a blank secret keeps the stored one). Scopes
    /// shape this login; an admin's are saved with the client too.
    pub async fn apply_inputs(
        &mut self,
        state: &ServiceContext,
        caller: &Caller,
        session: &mut AuthSession,
        fields: &HashMap<String, String>,
    ) -> Result<(), ServiceError> {
        let provider = self.definition.name.clone();
        let value = |name: &str| fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let configures = CLIENT_CONFIGURATION_FIELDS.iter().any(|name| value(name).is_some());
        if configures && !caller.is_admin() {
            return Err(AuthsomeError::not_allowed(
                "login",
                "provider client configuration requires an admin principal",
                &provider,
            )
            .into());
        }
        let asked: Vec<&str> = session
            .payload
            .get("input_fields")
            .and_then(Value::as_array)
            .map(|fields| fields.iter().filter_map(|f| f["name"].as_str()).collect())
            .unwrap_or_default();
        for field in ["client_id", "base_url", "api_url"] {
            if asked.contains(&field) && value(field).is_none() {
                return Err(AuthsomeError::authentication_failed(&format!("'{field}' is required"), &provider).into());
            }
        }
        let scopes: Option<Vec<String>> = value("scopes").map(|text| {
            text.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        });
        if let Some(scopes) = &scopes {
            session.payload.insert("requested_scopes".to_owned(), json!(scopes));
        }
        let saves_scopes = caller.is_admin() && scopes.is_some();
        if configures || saves_scopes {
            let mut record = self
                .record
                .clone()
                .unwrap_or_else(|| ProviderClientRecord::new(&provider));
            if let Some(id) = value("client_id") {
                record.client_id = Some(id.to_owned());
            }
            if let Some(secret) = value("client_secret") {
                record.client_secret = Some(secret.to_owned());
            }
            if self.definition.oauth.as_ref().is_some_and(|o| o.base_url.is_some()) {
                if let Some(base) = value("base_url") {
                    record.base_url = Some(base.trim_end_matches('/').to_owned());
                }
                if let Some(api) = value("api_url") {
                    record.api_url = Some(api.to_owned());
                }
            }
            if let Some(scopes) = &scopes {
                record.scopes = Some(scopes.clone());
            } else if record.scopes.is_none() {
                record.scopes = self.definition.oauth.as_ref().map(|o| o.scopes.clone());
            }
            self.save(
                state,
                audit::event_by("provider.client_configured", caller),
                record.clone(),
            )
            .await?;
            self.record = Some(record);
        }
        session.payload.remove("input_fields");
        Ok(())
    }

    /// Keeps a client this server registered for itself (`dcr_pkce`) as the provider's client,
    /// so that the next login reuses it. No admin is needed: the provider issued it to this
    /// server, nothing a person typed is stored (the reference required an admin, so a
    /// person's first login could not finish, §11.7).
    pub async fn keep_registered(
        &mut self,
        state: &ServiceContext,
        session: &AuthSession,
        client: &LoginClient,
        scopes: &[String],
    ) -> Result<(), ServiceError> {
        let mut record = self
            .record
            .clone()
            .unwrap_or_else(|| ProviderClientRecord::new(&self.definition.name));
        record.client_id = Some(client.id.clone());
        record.client_secret = client.secret.as_ref().map(|s| s.expose_secret().to_owned());
        if record.scopes.is_none() {
            record.scopes = Some(scopes.to_vec());
        }
        record
            .metadata
            .insert("registered_dynamically".to_owned(), Value::Bool(true));
        let mut actor = AuditEvent::new("provider.client_configured").with("registered_dynamically", true);
        actor.identity = session.identity.clone();
        actor.principal_id = session.principal_id.clone();
        self.save(state, actor, record.clone()).await?;
        self.record = Some(record);
        Ok(())
    }
}
