//! `/api/credentials/*` and `/api/proxy/routes`: what an agent's outbound requests need (the
//! hot path of `authsome run`).

use std::collections::BTreeMap;

use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{Map, Value};

use crate::http::api::ApiTags;
use crate::http::caller::{PopCaller, ResolvingCaller};
use crate::http::errors::{ApiError, ApiResult};
use crate::services::catalog::CustomDefinition;
use crate::services::credentials::{self, ExportFormat, VaultScope};
use crate::services::proxy_routes::{self, RouteScope};
use crate::state::SharedState;

/// `POST /api/credentials/resolve` body.
#[derive(Object)]
pub struct ResolveRequest {
    /// Provider name.
    pub provider: String,
    /// A connection name; absent or `default` uses the default (falling back to the
    /// provider's global connection).
    pub connection: Option<String>,
}

/// The headers that authenticate a request to the provider.
#[derive(Object)]
pub struct ResolvedCredentialsView {
    /// Provider name.
    pub provider: String,
    /// The connection used.
    pub connection: String,
    /// Header names and values to set on the outbound request.
    pub headers: BTreeMap<String, String>,
    /// When the credential expires, if it does.
    pub expires_at: Option<String>,
    /// `local` (the caller's vault) or `global` (an admin's fallback).
    pub source: String,
}

/// `POST /api/credentials/export` response.
#[derive(Object)]
pub struct ExportOutput {
    /// The credentials as `env`, `shell` or `json` text.
    pub output: String,
}

/// One route of the local proxy.
#[derive(Object)]
pub struct ProxyRoute {
    /// Provider name.
    pub provider: String,
    /// The connection to resolve for it.
    pub connection: Option<String>,
    /// A host, URL or `regex:` pattern the outbound request is matched against.
    pub api_url: String,
    /// Paths of the provider's own auth endpoints (never given credentials).
    pub auth_endpoint_paths: Vec<String>,
}

/// `GET /api/proxy/routes`.
#[derive(Object)]
pub struct ProxyRoutes {
    /// Routes, non-regex first, then by provider.
    pub routes: Vec<ProxyRoute>,
}

/// Credentials for outbound requests.
pub struct CredentialsApi;

fn optional_text<'a>(body: &'a Map<String, Value>, field: &str) -> ApiResult<Option<&'a str>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(ApiError::validation(
            &["body", field],
            "Input should be a valid string",
            "string_type",
        )),
    }
}

#[OpenApi(tag = "ApiTags::Credentials")]
impl CredentialsApi {
    /// The headers for a provider request: decrypted from the caller's vault (or the
    /// provider's global fallback) and shaped by the provider definition.
    #[oai(path = "/api/credentials/resolve", method = "post")]
    async fn resolve(
        &self,
        state: Data<&SharedState>,
        caller: ResolvingCaller,
        body: Json<ResolveRequest>,
    ) -> ApiResult<Json<ResolvedCredentialsView>> {
        let ResolvingCaller {
            caller,
            provider,
            custom_definition,
            token_id,
        } = caller;
        // The definition read with the caller is for the provider the body names; the typed
        // body is the same bytes, but check rather than assume.
        let custom_definition = match &provider {
            Some(read) if read.as_str() == body.provider => custom_definition,
            _ => CustomDefinition::Unread,
        };
        // The caller's own vault is only read while the token id is consumed: with both in
        // Redis the two commands share one round trip. Nothing read is used, and nothing is
        // changed, unless the token was fresh.
        let scope = VaultScope::of(state.0, &caller);
        let (consumed, local) = tokio::join!(
            token_id.consume(),
            credentials::read_local_connection(&scope, &body.provider, body.connection.as_deref())
        );
        consumed?;
        let resolved =
            credentials::resolve_credentials(state.0, &caller, scope, &body.provider, local?, custom_definition)
                .await?;
        let headers = resolved
            .headers
            .into_iter()
            .map(|(name, value)| {
                let value = match value {
                    Value::String(text) => text,
                    other => other.to_string(),
                };
                (name, value)
            })
            .collect();
        Ok(Json(ResolvedCredentialsView {
            provider: resolved.provider,
            connection: resolved.connection,
            headers,
            expires_at: resolved.expires_at.map(|t| t.to_json_form()),
            source: resolved.source.as_str().to_owned(),
        }))
    }

    /// Exports credentials as text: `{"provider": <name or null for all>, "connection":
    /// "default", "format": "env" | "shell" | "json"}`.
    #[oai(path = "/api/credentials/export", method = "post")]
    async fn export(
        &self,
        state: Data<&SharedState>,
        caller: PopCaller,
        body: Json<Value>,
    ) -> ApiResult<Json<ExportOutput>> {
        let body = super::json_object(body.0)?;
        let provider = optional_text(&body, "provider")?;
        let connection = optional_text(&body, "connection")?.unwrap_or("default");
        let format_text = optional_text(&body, "format")?.unwrap_or("env");
        let Some(format) = ExportFormat::parse(format_text) else {
            return Err(ApiError::validation(
                &["body", "format"],
                format!("'{format_text}' is not a valid export format (env, shell or json)"),
                "enum",
            ));
        };
        let output = credentials::export(state.0, &caller.0, provider, connection, format).await?;
        Ok(Json(ExportOutput { output }))
    }

    /// The local proxy's route table: `connected` (providers the caller has a default or
    /// global connection for) or `configured` (every provider with an API address).
    #[oai(path = "/api/proxy/routes", method = "get")]
    async fn proxy_routes(
        &self,
        state: Data<&SharedState>,
        caller: PopCaller,
        scope: Query<Option<String>>,
    ) -> ApiResult<Json<ProxyRoutes>> {
        let scope = match scope.0.as_deref() {
            None | Some("connected") => RouteScope::Connected,
            Some("configured") => RouteScope::Configured,
            Some(_) => {
                return Err(ApiError::validation(
                    &["query", "scope"],
                    "String should match pattern '^(connected|configured)$'",
                    "string_pattern_mismatch",
                ));
            }
        };
        let routes = proxy_routes::build(state.0, &caller.0, scope).await?;
        Ok(Json(ProxyRoutes {
            routes: routes
                .into_iter()
                .map(|route| ProxyRoute {
                    provider: route.provider,
                    connection: Some(route.connection),
                    api_url: route.api_url,
                    auth_endpoint_paths: route.auth_endpoint_paths,
                })
                .collect(),
        }))
    }
}
