//! Exporting connections as `env`, `shell` or JSON text.

use authsome_domain::credential_export::{self, ExportFormat, disambiguate, export_name_part};
use authsome_domain::provider_definition::AuthType;
use authsome_domain::{ConnectionName, ProviderName};
use serde_json::Value;

use crate::context::ServiceContext;
use crate::ownership::Caller;
use crate::{AuthsomeError, ServiceError};

use super::listing::{get_connection, list_connections};
use super::vault_scope::VaultScope;

/// The exportable values of one connection, in the reference's order.
async fn export_connection(
    state: &ServiceContext,
    caller: &Caller,
    provider_name: &ProviderName,
    connection: &ConnectionName,
) -> Result<Vec<(String, String)>, ServiceError> {
    let provider = provider_name.as_str();
    let definition = state.catalog.get(provider_name).await?;
    let record = get_connection(state, caller, provider_name, Some(connection)).await?;
    let env_map = definition.export.as_ref().map(|e| e.env.clone()).unwrap_or_default();
    let name_for = |field: &str, fallback: String| {
        env_map
            .get(field)
            .and_then(Value::as_str)
            .map_or(fallback, str::to_owned)
    };
    let base = export_name_part(provider);
    let mut values: Vec<(String, String)> = Vec::new();
    let mut put = |name: String, value: String| credential_export::put(&mut values, name, value);
    match record.auth_type {
        AuthType::Oauth2 => {
            if let Some(token) = &record.access_token {
                put(name_for("access_token", format!("{base}_ACCESS_TOKEN")), token.clone());
            }
            if let Some(token) = &record.refresh_token {
                put(
                    name_for("refresh_token", format!("{base}_REFRESH_TOKEN")),
                    token.clone(),
                );
            }
        }
        AuthType::ApiKey => {
            if let Some(key) = &record.api_key {
                put(name_for("api_key", format!("{base}_API_KEY")), key.clone());
            }
        }
        AuthType::Browser => {
            for (cookie, value) in record.credentials.iter().flatten() {
                let value = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                put(name_for(cookie, format!("{base}_{}", cookie.to_uppercase())), value);
            }
        }
    }
    if let Some(export) = &definition.export {
        let token = if record.auth_type == AuthType::Oauth2 {
            record.access_token.clone()
        } else {
            record.api_key.clone()
        };
        for (target, source) in &export.extra {
            let Some(source) = source.as_str() else { continue };
            let value = match source.to_uppercase().as_str() {
                "BASE_URL" => record.base_url.clone(),
                "API_URL" => record
                    .api_url
                    .clone()
                    .or_else(|| definition.primary_api_url().map(str::to_owned))
                    .or_else(|| record.base_url.clone()),
                "ACCESS_TOKEN" | "API_TOKEN" => token.clone(),
                _ => None,
            };
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                put(target.clone(), value);
            }
        }
    }
    Ok(values)
}

/// Exports credentials as text: `one` connection, or every connection when it is `None`
/// (name collisions get `_<PROVIDER>_<CONNECTION>`, then `_2`, `_3`...).
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor(), provider = one.map_or("*", |(p, _)| p.as_str())))]
pub async fn export(
    state: &ServiceContext,
    caller: &Caller,
    one: Option<(&ProviderName, &ConnectionName)>,
    format: ExportFormat,
) -> Result<String, ServiceError> {
    let values = match one {
        Some((provider, connection)) => export_connection(state, caller, provider, connection).await?,
        None => {
            let mut values: Vec<(String, String)> = Vec::new();
            for group in list_connections(&VaultScope::of(state, caller)).await? {
                // Stored names were valid when written; one that no longer parses names
                // nothing, as an unknown one.
                let provider = ProviderName::parse(&group.name)
                    .map_err(|_| ServiceError::from(AuthsomeError::provider_not_found(&group.name)))?;
                for summary in &group.connections {
                    let connection = ConnectionName::parse(&summary.connection_name).map_err(|_| {
                        ServiceError::from(AuthsomeError::connection_not_found(
                            &group.name,
                            &summary.connection_name,
                            caller.actor(),
                        ))
                    })?;
                    for (name, value) in export_connection(state, caller, &provider, &connection).await? {
                        let name = if values.iter().any(|(n, _)| *n == name) {
                            disambiguate(&name, &group.name, &summary.connection_name, &values)
                        } else {
                            name
                        };
                        values.push((name, value));
                    }
                }
            }
            values
        }
    };
    Ok(format.render(&values))
}
