//! `/health`, `/api/health`, `/api/ready`, `/api/whoami`, `/api/session`.

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::Value;

use crate::http::api::ApiTags;
use crate::http::caller::{AnyCaller, PopCaller};
use crate::http::errors::ApiResult;
use crate::services::credentials::{self, VaultScope};
use crate::state::{AppState, SharedState};

use crate::protocol::PROTOCOL_VERSION;

/// `GET /health`.
#[derive(Object)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
    /// The authsome protocol version this server speaks (`0.7.2`).
    pub version: String,
    /// The cipher new vault values are written with.
    pub configured_encryption_mode: String,
    /// Same as `configured_encryption_mode`.
    pub effective_encryption_source: String,
    /// Human description of the encryption.
    pub encryption_backend: String,
    /// `sqlite` or `postgres`.
    pub store_backend: String,
    /// `disk`, `redis` or `memory`.
    pub vault_backend: String,
    /// `authsome-rs`.
    pub implementation: String,
    /// This server's own version.
    pub implementation_version: String,
}

/// Encryption fields shared by health, ready and whoami.
pub struct EncryptionInfo {
    /// Mode name.
    pub mode: &'static str,
    /// Description.
    pub backend: &'static str,
}

/// What the vault writes.
pub fn encryption_info(state: &AppState) -> EncryptionInfo {
    match state.vault.cipher().write_version() {
        authsome_domain::vault_crypto::EnvelopeVersion::V1 => EncryptionInfo {
            mode: "aes-256-gcm",
            backend: "AES-256-GCM with Argon2id-derived DEK",
        },
        authsome_domain::vault_crypto::EnvelopeVersion::V2 => EncryptionInfo {
            mode: "aes-256-gcm-siv",
            backend: "AES-256-GCM-SIV bound to collection and key, with Argon2id-derived DEK",
        },
    }
}

/// `GET /api/ready`.
#[derive(Object)]
pub struct Ready {
    /// `ready` or `not_ready`.
    pub status: String,
    /// Each check: `ok` or `failed`.
    pub checks: std::collections::BTreeMap<String, String>,
    /// What failed.
    pub issues: Vec<String>,
    /// What is worth knowing.
    pub warnings: Vec<String>,
    /// The cipher new vault values are written with.
    pub configured_encryption_mode: String,
    /// Same as `configured_encryption_mode`.
    pub effective_encryption_source: String,
    /// Human description of the encryption.
    pub encryption_backend: String,
}

/// `GET /api/whoami`.
#[derive(Object)]
pub struct Whoami {
    /// Protocol version.
    pub version: String,
    /// The server's home directory.
    pub home: String,
    /// The caller's identity handle (empty for a browser session).
    pub identity: String,
    /// Same as `identity`.
    pub active_identity: String,
    /// The caller's principal.
    pub principal_id: String,
    /// The caller's default vault.
    pub vault_id: String,
    /// `admin` or `user`.
    pub principal_role: String,
    /// The account email (browser sessions; empty for agents).
    pub account_email: String,
    /// The agent's DID (empty for a browser session).
    pub did: String,
    /// Always `registered`.
    pub registration_status: String,
    /// The server's external URL.
    pub daemon_url: String,
    /// The cipher new vault values are written with.
    pub configured_encryption_mode: String,
    /// Same as `configured_encryption_mode`.
    pub effective_encryption_source: String,
    /// Human description of the encryption.
    pub encryption_backend: String,
}

/// `POST /api/session`.
#[derive(Object)]
pub struct SessionUrl {
    /// Where to open the dashboard.
    pub url: String,
}

/// Operational readiness for orchestrators (`GET /ready`).
#[derive(ApiResponse)]
pub enum ProbeResponse {
    /// Every backend answered.
    #[oai(status = 200)]
    Ready(Json<Value>),
    /// A backend did not answer; the body names it.
    #[oai(status = 503)]
    NotReady(Json<Value>),
}

/// Health, readiness and identity of the caller.
pub struct HealthApi;

fn health(state: &AppState) -> Health {
    let encryption = encryption_info(state);
    Health {
        status: "ok".to_owned(),
        version: PROTOCOL_VERSION.to_owned(),
        configured_encryption_mode: encryption.mode.to_owned(),
        effective_encryption_source: encryption.mode.to_owned(),
        encryption_backend: encryption.backend.to_owned(),
        store_backend: state.registries.health.backend_name().to_owned(),
        vault_backend: state.vault.backend_name().to_owned(),
        implementation: "authsome-rs".to_owned(),
        implementation_version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// Probes every backend into `checks` (`ok`/`failed`) and `issues`.
async fn probe_backends(
    state: &AppState,
    checks: &mut std::collections::BTreeMap<String, String>,
    issues: &mut Vec<String>,
) {
    let readiness = crate::services::readiness::probe(state, true).await;
    for (name, up) in readiness.checks {
        checks.insert(name, if up { "ok" } else { "failed" }.to_owned());
    }
    issues.extend(readiness.issues);
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness: answers without touching any backend.
    #[oai(path = "/health", method = "get")]
    async fn root_health(&self, state: Data<&SharedState>) -> Json<Health> {
        Json(health(state.0))
    }

    /// Liveness, as the CLI checks it (`status` and `version`).
    #[oai(path = "/api/health", method = "get")]
    async fn api_health(&self, state: Data<&SharedState>) -> Json<Health> {
        Json(health(state.0))
    }

    /// Readiness for load balancers and orchestrators: probes the database, Redis (when
    /// configured) and the vault; 503 when one of them fails. No authentication, no details
    /// beyond which backend failed.
    #[oai(path = "/ready", method = "get")]
    async fn probe(&self, state: Data<&SharedState>) -> ProbeResponse {
        let (mut checks, mut issues) = (std::collections::BTreeMap::new(), Vec::new());
        probe_backends(state.0, &mut checks, &mut issues).await;
        let ready = issues.is_empty();
        let body = Json(serde_json::json!({"status": if ready { "ready" } else { "not_ready" }, "checks": checks}));
        if ready {
            ProbeResponse::Ready(body)
        } else {
            ProbeResponse::NotReady(body)
        }
    }

    /// The reference's readiness report for the CLI (`doctor`, `whoami`): every backend, the
    /// provider catalog and the caller's connections. Always 200; `status` says ready or not.
    #[oai(path = "/api/ready", method = "get")]
    async fn ready(&self, state: Data<&SharedState>, caller: PopCaller) -> ApiResult<Json<Ready>> {
        let state = state.0;
        let (mut checks, mut issues, mut warnings) = (std::collections::BTreeMap::new(), Vec::new(), Vec::new());
        checks.insert("spec_version".to_owned(), "ok".to_owned());
        probe_backends(state, &mut checks, &mut issues).await;
        checks.insert("identity".to_owned(), "ok".to_owned());
        match state.catalog.list().await {
            Ok(_) => checks.insert("providers".to_owned(), "ok".to_owned()),
            Err(_) => {
                issues.push("providers: could not list providers".to_owned());
                checks.insert("providers".to_owned(), "failed".to_owned())
            }
        };
        match credentials::list_connections(&VaultScope::of(state, &caller.0)).await {
            Ok(groups) => {
                checks.insert("connections".to_owned(), "ok".to_owned());
                let now = authsome_domain::Timestamp::now();
                let active = groups
                    .iter()
                    .flat_map(|g| &g.connections)
                    .filter(|c| c.record.is_usable_at(now))
                    .count();
                if active == 0 {
                    warnings.push("no active provider connections found".to_owned());
                }
            }
            Err(_) => {
                checks.insert("connections".to_owned(), "failed".to_owned());
                issues.push("connections: could not list connections".to_owned());
            }
        }
        let integrity = state.vault.ping().await.is_ok();
        checks.insert(
            "integrity".to_owned(),
            if integrity { "ok" } else { "failed" }.to_owned(),
        );
        if !integrity {
            issues.push("vault: store failed integrity check".to_owned());
        }
        let encryption = encryption_info(state);
        Ok(Json(Ready {
            status: if issues.is_empty() { "ready" } else { "not_ready" }.to_owned(),
            checks,
            issues,
            warnings,
            configured_encryption_mode: encryption.mode.to_owned(),
            effective_encryption_source: encryption.mode.to_owned(),
            encryption_backend: encryption.backend.to_owned(),
        }))
    }

    /// Who is calling: the agent (PoP) or the signed-in person (browser session).
    #[oai(path = "/api/whoami", method = "get")]
    async fn whoami(&self, state: Data<&SharedState>, caller: AnyCaller) -> ApiResult<Json<Whoami>> {
        let state = state.0;
        let caller = caller.0;
        let encryption = encryption_info(state);
        let identity = caller.identity_str().unwrap_or_default().to_owned();
        Ok(Json(Whoami {
            version: PROTOCOL_VERSION.to_owned(),
            home: state.home.display().to_string(),
            active_identity: identity.clone(),
            identity,
            principal_id: caller.principal_id.as_str().to_owned(),
            vault_id: caller.vault_id.as_str().to_owned(),
            principal_role: caller.role.as_str().to_owned(),
            account_email: caller.email.as_ref().map(|e| e.as_str().to_owned()).unwrap_or_default(),
            did: caller.did().map(|d| d.as_str().to_owned()).unwrap_or_default(),
            registration_status: "registered".to_owned(),
            daemon_url: state.settings.base_url.clone(),
            configured_encryption_mode: encryption.mode.to_owned(),
            effective_encryption_source: encryption.mode.to_owned(),
            encryption_backend: encryption.backend.to_owned(),
        }))
    }

    /// The dashboard URL for the calling agent's person.
    #[oai(path = "/api/session", method = "post")]
    async fn session(&self, state: Data<&SharedState>, _caller: PopCaller) -> ApiResult<Json<SessionUrl>> {
        Ok(Json(SessionUrl { url: state.0.url("/") }))
    }
}
