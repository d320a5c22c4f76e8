//! The JSON API: one poem-openapi `OpenApi` per area, every path and shape the reference
//! daemon's CLI, proxy and browser flows use.

#[macro_use]
pub mod responses;
pub mod audit;
pub mod auth_sessions;
pub mod connections;
pub mod credentials;
pub mod document_shape;
pub mod documented;
pub mod health;
pub mod identities;
pub mod path_names;
pub mod principals;
pub mod providers;
pub mod shared_documents;
pub mod stored_shapes;
pub mod strict_json;
pub mod wire_enums;

use poem_openapi::{OpenApiService, Tags};

/// Operation groups in the document.
#[derive(Tags)]
pub enum ApiTags {
    /// Liveness, readiness and the caller's context.
    Health,
    /// Agent identities: registration and claim status.
    Identities,
    /// Human accounts (admin).
    Principals,
    /// The audit log.
    Audit,
    /// Provider logins.
    Auth,
    /// Stored connections.
    Connections,
    /// Credentials for outbound requests (the proxy's hot path).
    Credentials,
    /// Provider definitions.
    Providers,
}

/// The API version reported in the document.
pub const API_TITLE: &str = "authsome-rs";

/// Every API area, as one OpenAPI service.
pub type Apis = (
    health::HealthApi,
    identities::IdentitiesApi,
    principals::PrincipalsApi,
    audit::AuditApi,
    auth_sessions::AuthSessionsApi,
    connections::ConnectionsApi,
    credentials::CredentialsApi,
    providers::ProvidersApi,
    crate::http::pages::PagesApi,
);

/// A free-form JSON body that must be an object (422 otherwise, as FastAPI answers).
pub fn json_object(
    body: serde_json::Value,
) -> crate::http::errors::ApiResult<serde_json::Map<String, serde_json::Value>> {
    match body {
        serde_json::Value::Object(object) => Ok(object),
        _ => Err(crate::http::errors::ApiError::validation(
            &["body"],
            "Input should be a valid dictionary",
            "dict_type",
        )),
    }
}

/// The OpenAPI service. Operations read the shared state from the request's data (see
/// [`crate::http::endpoint`]), so the document can be built without any backend.
pub fn service() -> OpenApiService<Apis, ()> {
    let apis = (
        health::HealthApi,
        identities::IdentitiesApi,
        principals::PrincipalsApi,
        audit::AuditApi,
        auth_sessions::AuthSessionsApi,
        connections::ConnectionsApi,
        credentials::CredentialsApi,
        providers::ProvidersApi,
        crate::http::pages::PagesApi,
    );
    OpenApiService::new(apis, API_TITLE, env!("CARGO_PKG_VERSION")).description(
        "The authsome daemon protocol (wire-compatible with authsome 0.7.2's CLI), served by authsome-rs. \
         Agents authenticate every request with a proof-of-possession JWT; people use a browser session.",
    )
}

/// The OpenAPI document as JSON: the one committed in `openapi/openapi.json` and served at
/// `/openapi.json` (shaped for client generators, see [`document_shape`]).
pub fn document() -> String {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOCUMENT
        .get_or_init(|| {
            let spec = service().spec();
            match serde_json::from_str(&spec) {
                Ok(value) => serde_json::to_string_pretty(&document_shape::for_generators(value)).unwrap_or(spec),
                Err(_) => spec,
            }
        })
        .clone()
}
