//! `/api/credentials/*` and `/api/proxy/routes`: what an agent's outbound requests need (the
//! hot path of `authsome run`).

use std::collections::BTreeMap;

use authsome_domain::ConnectionName;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::Value;

use crate::http::api::wire_enums::{CredentialSource, ExportFormat, RouteScope};
use crate::http::api::{ApiTags, path_names};
use crate::http::caller::{PopCaller, ResolvingCaller};
use crate::http::errors::{Detail, ErrorBody, ReferenceError, ValidationReport};
use crate::state::SharedState;
use authsome_services::catalog::CustomDefinition;
use authsome_services::credentials::{self, VaultScope};
use authsome_services::ownership::Caller;
use authsome_services::proxy_routes;

/// `POST /api/credentials/resolve` body.
#[derive(Object)]
pub struct ResolveRequest {
    /// Provider name.
    #[oai(deserialize_with = "crate::http::api::strict_json::text")]
    pub provider: String,
    /// A connection name; absent or `default` uses the default (falling back to the
    /// provider's global connection).
    #[oai(deserialize_with = "crate::http::api::strict_json::optional_text")]
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
    /// When the credential expires (ISO 8601); null when it does not.
    #[oai(nullable)]
    pub expires_at: Option<String>,
    /// The caller's vault, or the provider's global connection.
    pub source: CredentialSource,
}

/// `POST /api/credentials/export` body.
#[derive(Object)]
pub struct ExportRequest {
    /// One provider, or null (or absent) for every connection in the caller's vault.
    #[oai(nullable, deserialize_with = "crate::http::api::strict_json::optional_text")]
    pub provider: Option<String>,
    /// The connection (`default` when absent).
    #[oai(deserialize_with = "crate::http::api::strict_json::optional_text")]
    pub connection: Option<String>,
    /// The text format (`env` when absent).
    pub format: Option<ExportFormat>,
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
    pub connection: String,
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

operation_success! {
    /// What `POST /api/credentials/resolve` answers.
    ResolveSuccess {
        /// The headers to set on the outbound request.
        200 Resolved(ResolvedCredentialsView),
    }
}

operation_failures! {
    /// Why `POST /api/credentials/resolve` can fail.
    ResolveFailure authenticated {
        /// The credential cannot be used: its token expired and cannot be refreshed
        /// (`TokenExpiredError`), the provider refused the refresh (`RefreshFailedError`), or
        /// the name is not valid.
        400 BadRequest(ErrorBody),
        /// No such provider (`ProviderNotFoundError`) or connection in the caller's vault or
        /// as the provider's global connection (`ConnectionNotFoundError`).
        404 NotFound(ErrorBody),
        /// The body is not `{"provider": ..., "connection": ...}`.
        422 Invalid(ValidationReport),
        /// The body is larger than the server accepts (1 MiB).
        413 TooLarge(Detail),
        /// The provider could not be reached to refresh the token (`RefreshFailedError`).
        502 UpstreamUnreachable(ReferenceError),
        /// The provider did not answer the refresh in time (`RefreshFailedError`).
        504 UpstreamTimedOut(ReferenceError),
    }
}

operation_success! {
    /// What `POST /api/credentials/export` answers.
    ExportSuccess {
        /// The credentials as text.
        200 Exported(ExportOutput),
    }
}

operation_failures! {
    /// Why `POST /api/credentials/export` can fail.
    ExportFailure authenticated {
        /// A credential cannot be used (expired, refresh refused) or a name is not valid.
        400 BadRequest(ErrorBody),
        /// No such provider or connection.
        404 NotFound(ErrorBody),
        /// The body is not an export request.
        422 Invalid(ValidationReport),
        /// The body is larger than the server accepts (1 MiB).
        413 TooLarge(Detail),
        /// The provider could not be reached to refresh a token.
        502 UpstreamUnreachable(ReferenceError),
        /// The provider did not answer a refresh in time.
        504 UpstreamTimedOut(ReferenceError),
    }
}

operation_success! {
    /// What `GET /api/proxy/routes` answers.
    ProxyRoutesSuccess {
        /// The route table.
        200 Routes(ProxyRoutes),
    }
}

operation_failures! {
    /// Why `GET /api/proxy/routes` can fail.
    ProxyRoutesFailure authenticated {
        /// `scope` is neither `connected` nor `configured`.
        422 Invalid(ValidationReport),
    }
}

/// Credentials for outbound requests.
pub struct CredentialsApi;

#[OpenApi(tag = "ApiTags::Credentials")]
impl CredentialsApi {
    /// The headers for a provider request: decrypted from the caller's vault (or the
    /// provider's global fallback) and shaped by the provider definition.
    #[oai(
        path = "/api/credentials/resolve",
        method = "post",
        operation_id = "resolve_credentials"
    )]
    async fn resolve(
        &self,
        state: Data<&SharedState>,
        caller: ResolvingCaller,
        body: Json<ResolveRequest>,
    ) -> Result<ResolveSuccess, ResolveFailure> {
        let ResolvingCaller {
            verified,
            provider: read_for,
        } = caller;
        let (provider_name, connection) =
            path_names::resolve_target(&body.provider, body.connection.as_deref(), verified.caller())?;
        // The caller's own vault is read while the token id is consumed (and a remembered
        // owner confirmed): with all three in Redis they share one round trip. Nothing read is
        // used unless the token was fresh, and it is read again if the owner changed.
        let (target, named) = (&provider_name, connection.as_ref());
        let read = |caller: &Caller| {
            let scope = VaultScope::of(state.0, caller);
            async move { credentials::read_local_connection(&scope, target, named).await }
        };
        let first_read = read(verified.caller());
        let consumed = verified.consume_while(first_read).await?;
        let (caller, custom_definition) = (consumed.caller, consumed.custom_definition);
        let local = match consumed.read {
            Some(local) => local,
            None => read(&caller).await,
        };
        // The definition read with the caller is for the provider the body names; the typed
        // body is the same bytes, but check rather than assume.
        let custom_definition = match &read_for {
            Some(read) if read.as_str() == body.provider => custom_definition,
            _ => CustomDefinition::Unread,
        };
        let scope = VaultScope::of(state.0, &caller);
        let resolved =
            credentials::resolve_credentials(state.0, &caller, scope, &provider_name, local?, custom_definition)
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
        Ok(ResolveSuccess::Resolved(Json(ResolvedCredentialsView {
            provider: resolved.provider,
            connection: resolved.connection,
            headers,
            expires_at: resolved.expires_at.map(|t| t.to_json_form()),
            source: resolved.source.into(),
        })))
    }

    /// Exports credentials as text: `{"provider": <name or null for all>, "connection":
    /// "default", "format": "env" | "shell" | "json"}`.
    #[oai(
        path = "/api/credentials/export",
        method = "post",
        operation_id = "export_credentials"
    )]
    async fn export(
        &self,
        state: Data<&SharedState>,
        caller: PopCaller,
        body: Json<ExportRequest>,
    ) -> Result<ExportSuccess, ExportFailure> {
        let request = body.0;
        // Without a provider every connection is exported and `connection` is not read.
        let one = match request.provider.as_deref() {
            Some(provider) => {
                let provider = path_names::provider(provider)?;
                let connection = request.connection.as_deref().unwrap_or(ConnectionName::DEFAULT);
                let connection = path_names::connection(&provider, connection, &caller.0)?;
                Some((provider, connection))
            }
            None => None,
        };
        let format = request.format.unwrap_or(ExportFormat::Env).into();
        let one = one.as_ref().map(|(provider, connection)| (provider, connection));
        let output = credentials::export(state.0, &caller.0, one, format).await?;
        Ok(ExportSuccess::Exported(Json(ExportOutput { output })))
    }

    /// The local proxy's route table: `connected` (providers the caller has a default or
    /// global connection for) or `configured` (every provider with an API address).
    #[oai(path = "/api/proxy/routes", method = "get", operation_id = "proxy_routes")]
    async fn proxy_routes(
        &self,
        state: Data<&SharedState>,
        caller: PopCaller,
        /// Which providers to route (`connected` when absent).
        scope: Query<Option<RouteScope>>,
    ) -> Result<ProxyRoutesSuccess, ProxyRoutesFailure> {
        let scope = scope.0.unwrap_or(RouteScope::Connected).into();
        let routes = proxy_routes::build(state.0, &caller.0, scope).await?;
        Ok(ProxyRoutesSuccess::Routes(Json(ProxyRoutes {
            routes: routes
                .into_iter()
                .map(|route| ProxyRoute {
                    provider: route.provider,
                    connection: route.connection,
                    api_url: route.api_url,
                    auth_endpoint_paths: route.auth_endpoint_paths,
                })
                .collect(),
        })))
    }
}
