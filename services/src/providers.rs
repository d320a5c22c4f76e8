//! Managing provider definitions and their server-wide OAuth client settings (admins).

use authsome_domain::ProviderName;
use authsome_domain::credential_records::ProviderClientRecord;
use authsome_domain::provider_definition::{AuthType, FlowType, ProviderDefinition};
use serde_json::{Map, Value, json};

use crate::audit::{self, AuditEventExt};
use crate::context::ServiceContext;
use crate::credentials;
use crate::ownership::Caller;
use crate::{AuthsomeError, ServiceError};

/// The definition from a request body: `{"definition": {...}, "force": bool}` or the
/// definition itself. Missing fields and rule violations are `InvalidProviderSchemaError`.
pub fn definition_from_body(body: &Map<String, Value>) -> Result<(ProviderDefinition, bool), ServiceError> {
    let (document, force) = match body.get("definition") {
        Some(Value::Object(definition)) => (
            definition.clone(),
            body.get("force").and_then(Value::as_bool).unwrap_or(false),
        ),
        _ => (body.clone(), false),
    };
    let name = document.get("name").and_then(Value::as_str).map(str::to_owned);
    let definition = ProviderDefinition::from_value(Value::Object(document))
        .map_err(|e| AuthsomeError::invalid_schema(&e.0, name.as_deref()))?;
    definition
        .validate()
        .map_err(|e| AuthsomeError::invalid_schema(&e.0, Some(&definition.name)))?;
    Ok((definition, force))
}

/// Registers a custom definition (admins).
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor(), provider = %definition.name))]
pub async fn register(
    state: &ServiceContext,
    caller: &Caller,
    definition: &ProviderDefinition,
    force: bool,
) -> Result<(), ServiceError> {
    caller.require_admin()?;
    if let Some(twin) = state.catalog.case_twin(&definition.name).await? {
        return Err(AuthsomeError::already_registered(
            format!(
                "Provider '{}' differs from the existing provider '{twin}' only in letter case; choose another name",
                definition.name
            ),
            &definition.name,
        )
        .into());
    }
    let event = audit::event_by("provider.registered", caller)
        .provider(&definition.name)
        .status("success")
        .with("auth_type", definition.auth_type.as_str())
        .with("force", force);
    audit::recorded(state, event, async {
        state.catalog.save_custom(definition, force).await?;
        Ok(())
    })
    .await
}

/// Replaces a custom definition (admins); the body's name must be the route's.
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor(), provider = %provider))]
pub async fn update(
    state: &ServiceContext,
    caller: &Caller,
    provider: &ProviderName,
    definition: &ProviderDefinition,
) -> Result<(), ServiceError> {
    caller.require_admin()?;
    let provider = provider.as_str();
    if definition.name != provider {
        return Err(AuthsomeError::invalid_schema(
            &format!(
                "Provider name '{}' must match route provider '{provider}'",
                definition.name
            ),
            Some(provider),
        )
        .into());
    }
    let event = audit::event_by("provider.updated", caller)
        .provider(provider)
        .status("success")
        .with("auth_type", definition.auth_type.as_str());
    audit::recorded(state, event, async {
        state.catalog.update_custom(definition).await?;
        Ok(())
    })
    .await
}

/// Revokes the provider everywhere and removes its custom definition (admins). A bundled
/// definition stays; its connections are revoked in every vault (the reference revoked only
/// the caller's, leaving orphans elsewhere).
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor(), provider = %provider))]
pub async fn delete(state: &ServiceContext, caller: &Caller, provider: &ProviderName) -> Result<(), ServiceError> {
    caller.require_admin()?;
    credentials::revoke(state, caller, provider).await?;
    if !state.catalog.is_custom(provider).await? {
        return Ok(());
    }
    let event = audit::event_by("provider.deleted", caller)
        .provider(provider.as_str())
        .status("success");
    audit::recorded(state, event, async {
        state.catalog.delete_custom(provider).await?;
        Ok(())
    })
    .await
}

/// The inputs an admin may set for a provider's OAuth client.
pub fn configuration_fields(definition: &ProviderDefinition, client: Option<&ProviderClientRecord>) -> Vec<Value> {
    let mut fields = Vec::new();
    let Some(oauth) = &definition.oauth else { return fields };
    if let Some(base_url) = &oauth.base_url {
        fields.push(
            json!({"name": "base_url", "label": "Base URL", "secret": false, "required": true,
            "default": client.and_then(|c| c.base_url.clone()).unwrap_or_else(|| base_url.clone())}),
        );
        fields.push(json!({"name": "api_url", "label": "API Host URL", "secret": false, "required": true,
            "default": client.and_then(|c| c.api_url.clone()).or_else(|| definition.primary_api_url().map(str::to_owned)).unwrap_or_default()}));
    }
    let client_secret_label = match definition.flow {
        FlowType::Pkce => Some("Client Secret"),
        FlowType::DeviceCode => Some("Client Secret (Optional)"),
        _ => None,
    };
    if let Some(label) = client_secret_label {
        fields.push(
            json!({"name": "client_id", "label": "Client ID", "secret": false, "required": true,
            "default": client.and_then(|c| c.client_id.clone()).unwrap_or_default()}),
        );
        // The stored secret is never sent back: an empty field keeps it.
        fields.push(json!({"name": "client_secret", "label": label, "secret": true, "required": true, "default": ""}));
    }
    if matches!(
        definition.flow,
        FlowType::Pkce | FlowType::DeviceCode | FlowType::DcrPkce
    ) {
        let scopes = client
            .and_then(|c| c.scopes.clone())
            .unwrap_or_else(|| oauth.scopes.clone());
        fields.push(json!({"name": "scopes", "label": "Scopes (comma-separated)", "secret": false, "required": false, "default": scopes.join(",")}));
    }
    fields
}

/// Replaces a provider's OAuth client settings (admins); when something changes and a
/// client existed, every vault's connections to the provider are revoked first. Returns
/// whether anything changed. Non-OAuth providers have nothing to configure.
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor(), provider = %provider_name))]
pub async fn update_configuration(
    state: &ServiceContext,
    caller: &Caller,
    provider_name: &ProviderName,
    inputs: &Map<String, Value>,
) -> Result<bool, ServiceError> {
    caller.require_admin()?;
    let provider = provider_name.as_str();
    let definition = state.catalog.get(provider_name).await?;
    if definition.auth_type != AuthType::Oauth2 {
        return Ok(false);
    }
    let input = |name: &str| inputs.get(name).and_then(Value::as_str).map(str::to_owned);
    let existing = credentials::client_record(state, provider).await?;
    let refresh_dcr = definition.flow == FlowType::DcrPkce && existing.is_some() && !inputs.contains_key("client_id");
    let mut updated = ProviderClientRecord::new(provider);
    updated.client_id = if refresh_dcr {
        None
    } else {
        input("client_id")
            .or_else(|| existing.as_ref().and_then(|e| e.client_id.clone()))
            .filter(|v| !v.is_empty())
    };
    updated.client_secret = if refresh_dcr {
        None
    } else {
        match input("client_secret")
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
        {
            Some(secret) => Some(secret),
            None => existing.as_ref().and_then(|e| e.client_secret.clone()),
        }
    };
    let keep = |f: fn(&ProviderClientRecord) -> Option<String>| existing.as_ref().and_then(f);
    if definition.oauth.as_ref().is_some_and(|o| o.base_url.is_some()) {
        updated.base_url = input("base_url")
            .or_else(|| keep(|e| e.base_url.clone()))
            .filter(|v| !v.is_empty());
        updated.api_url = input("api_url")
            .or_else(|| keep(|e| e.api_url.clone()))
            .filter(|v| !v.is_empty());
    } else {
        updated.base_url = keep(|e| e.base_url.clone());
        updated.api_url = keep(|e| e.api_url.clone());
    }
    updated.scopes = Some(match input("scopes") {
        Some(scopes) => scopes
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        None => existing
            .as_ref()
            .and_then(|e| e.scopes.clone())
            .unwrap_or_else(|| definition.oauth.as_ref().map(|o| o.scopes.clone()).unwrap_or_default()),
    });
    if let Some(existing) = &existing {
        updated.metadata = existing.metadata.clone();
    }
    let changed = match &existing {
        None => true,
        Some(e) => {
            e.client_id != updated.client_id
                || e.client_secret != updated.client_secret
                || e.base_url != updated.base_url
                || e.api_url != updated.api_url
                || e.scopes != updated.scopes
        }
    };
    if !changed {
        return Ok(false);
    }
    if existing.is_some() {
        credentials::revoke(state, caller, provider_name).await?;
    }
    let event = audit::event_by("provider.client_configured", caller)
        .provider(provider)
        .status("success")
        .with(
            "client_id_changed",
            existing.as_ref().is_some_and(|e| e.client_id != updated.client_id),
        )
        .with(
            "client_secret_changed",
            existing
                .as_ref()
                .is_some_and(|e| e.client_secret != updated.client_secret),
        );
    audit::recorded(state, event, credentials::save_client_record(state, &updated)).await?;
    Ok(true)
}
