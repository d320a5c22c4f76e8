//! `/health`, `/api/health`, `/api/ready`, `/api/whoami`, `/api/session`.

use std::collections::BTreeMap;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::http::api::ApiTags;
use crate::http::api::wire_enums::{CheckOutcome, Done, ReadyStatus, Registered, Role};
use crate::http::caller::{AnyCaller, PopCaller};
use crate::state::{AppState, SharedState};
use authsome_services::credentials::{self, VaultScope};

use crate::protocol::PROTOCOL_VERSION;

/// `GET /health`.
#[derive(Object)]
pub struct Health {
    /// Always `ok`.
    pub status: Done,
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
    /// Whether every check passed.
    pub status: ReadyStatus,
    /// Each check by name (`spec_version`, `database`, `vault`, `identity`, `providers`,
    /// `connections`, `integrity`, and `redis` when configured).
    pub checks: BTreeMap<String, CheckOutcome>,
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
    /// The principal's role.
    pub principal_role: Role,
    /// The account email (browser sessions; empty for agents).
    pub account_email: String,
    /// The agent's DID (empty for a browser session).
    pub did: String,
    /// Always `registered`.
    pub registration_status: Registered,
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

/// `GET /ready`: each backend and whether it answered.
#[derive(Object)]
pub struct ProbeReport {
    /// Whether every backend answered.
    pub status: ReadyStatus,
    /// Each backend by name (`database`, `vault`, and `redis` when configured).
    pub checks: BTreeMap<String, CheckOutcome>,
}

/// Operational readiness for orchestrators (`GET /ready`).
#[derive(ApiResponse)]
pub enum ProbeResponse {
    /// Every backend answered.
    #[oai(status = 200)]
    Ready(Json<ProbeReport>),
    /// A backend did not answer; the body names it.
    #[oai(status = 503)]
    NotReady(Json<ProbeReport>),
}

/// Liveness (`GET /health`, `GET /api/health`).
#[derive(ApiResponse)]
pub enum HealthResponse {
    /// The server is up; which protocol, backends and cipher it runs.
    #[oai(status = 200)]
    Up(Json<Health>),
}

operation_success! {
    /// What `GET /api/ready` answers.
    ReadySuccess {
        /// The readiness report; `status` says whether every check passed.
        200 Report(Ready),
    }
}

operation_failures! {
    /// Why `GET /api/ready` can fail.
    ReadyFailure authenticated {}
}

operation_success! {
    /// What `GET /api/whoami` answers.
    WhoamiSuccess {
        /// The calling agent or signed-in person.
        200 Caller(Whoami),
    }
}

operation_failures! {
    /// Why `GET /api/whoami` can fail.
    WhoamiFailure authenticated {}
}

operation_success! {
    /// What `POST /api/session` answers.
    SessionSuccess {
        /// Where the agent's person opens the dashboard.
        200 Dashboard(SessionUrl),
    }
}

operation_failures! {
    /// Why `POST /api/session` can fail.
    SessionFailure authenticated {}
}

/// Health, readiness and identity of the caller.
pub struct HealthApi;

fn health(state: &AppState) -> Health {
    let encryption = encryption_info(state);
    Health {
        status: Done::Ok,
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
async fn probe_backends(state: &AppState, checks: &mut BTreeMap<String, CheckOutcome>, issues: &mut Vec<String>) {
    let readiness = authsome_services::readiness::probe(state, true).await;
    for (name, up) in readiness.checks {
        checks.insert(name, CheckOutcome::of(up));
    }
    issues.extend(readiness.issues);
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness: answers without touching any backend.
    #[oai(path = "/health", method = "get", operation_id = "health")]
    async fn root_health(&self, state: Data<&SharedState>) -> HealthResponse {
        HealthResponse::Up(Json(health(state.0)))
    }

    /// Liveness, as the CLI checks it (`status` and `version`).
    #[oai(path = "/api/health", method = "get", operation_id = "api_health")]
    async fn api_health(&self, state: Data<&SharedState>) -> HealthResponse {
        HealthResponse::Up(Json(health(state.0)))
    }

    /// Readiness for load balancers and orchestrators: probes the database, Redis (when
    /// configured) and the vault; 503 when one of them fails. No authentication, no details
    /// beyond which backend failed.
    #[oai(path = "/ready", method = "get", operation_id = "probe_readiness")]
    async fn probe(&self, state: Data<&SharedState>) -> ProbeResponse {
        let (mut checks, mut issues) = (BTreeMap::new(), Vec::new());
        probe_backends(state.0, &mut checks, &mut issues).await;
        if issues.is_empty() {
            ProbeResponse::Ready(Json(ProbeReport {
                status: ReadyStatus::Ready,
                checks,
            }))
        } else {
            ProbeResponse::NotReady(Json(ProbeReport {
                status: ReadyStatus::NotReady,
                checks,
            }))
        }
    }

    /// The reference's readiness report for the CLI (`doctor`, `whoami`): every backend, the
    /// provider catalog and the caller's connections. Always 200; `status` says ready or not.
    #[oai(path = "/api/ready", method = "get", operation_id = "readiness_report")]
    async fn ready(&self, state: Data<&SharedState>, caller: PopCaller) -> Result<ReadySuccess, ReadyFailure> {
        let state = state.0;
        let (mut checks, mut issues, mut warnings) = (BTreeMap::new(), Vec::new(), Vec::new());
        checks.insert("spec_version".to_owned(), CheckOutcome::Ok);
        probe_backends(state, &mut checks, &mut issues).await;
        checks.insert("identity".to_owned(), CheckOutcome::Ok);
        match state.catalog.list().await {
            Ok(_) => checks.insert("providers".to_owned(), CheckOutcome::Ok),
            Err(_) => {
                issues.push("providers: could not list providers".to_owned());
                checks.insert("providers".to_owned(), CheckOutcome::Failed)
            }
        };
        match credentials::list_connections(&VaultScope::of(state, &caller.0)).await {
            Ok(groups) => {
                checks.insert("connections".to_owned(), CheckOutcome::Ok);
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
                checks.insert("connections".to_owned(), CheckOutcome::Failed);
                issues.push("connections: could not list connections".to_owned());
            }
        }
        let integrity = state.vault.ping().await.is_ok();
        checks.insert("integrity".to_owned(), CheckOutcome::of(integrity));
        if !integrity {
            issues.push("vault: store failed integrity check".to_owned());
        }
        let encryption = encryption_info(state);
        Ok(ReadySuccess::Report(Json(Ready {
            status: if issues.is_empty() {
                ReadyStatus::Ready
            } else {
                ReadyStatus::NotReady
            },
            checks,
            issues,
            warnings,
            configured_encryption_mode: encryption.mode.to_owned(),
            effective_encryption_source: encryption.mode.to_owned(),
            encryption_backend: encryption.backend.to_owned(),
        })))
    }

    /// Who is calling: the agent (PoP) or the signed-in person (browser session).
    #[oai(path = "/api/whoami", method = "get", operation_id = "whoami")]
    async fn whoami(&self, state: Data<&SharedState>, caller: AnyCaller) -> Result<WhoamiSuccess, WhoamiFailure> {
        let state = state.0;
        let caller = caller.0;
        let encryption = encryption_info(state);
        let identity = caller.identity_str().unwrap_or_default().to_owned();
        Ok(WhoamiSuccess::Caller(Json(Whoami {
            version: PROTOCOL_VERSION.to_owned(),
            home: state.home.display().to_string(),
            active_identity: identity.clone(),
            identity,
            principal_id: caller.principal_id.as_str().to_owned(),
            vault_id: caller.vault_id.as_str().to_owned(),
            principal_role: caller.role.into(),
            account_email: caller.email.as_ref().map(|e| e.as_str().to_owned()).unwrap_or_default(),
            did: caller.did().map(|d| d.as_str().to_owned()).unwrap_or_default(),
            registration_status: Registered::Registered,
            daemon_url: state.settings.policy.base_url.clone(),
            configured_encryption_mode: encryption.mode.to_owned(),
            effective_encryption_source: encryption.mode.to_owned(),
            encryption_backend: encryption.backend.to_owned(),
        })))
    }

    /// The dashboard URL for the calling agent's person.
    #[oai(path = "/api/session", method = "post", operation_id = "dashboard_session")]
    async fn session(&self, state: Data<&SharedState>, _caller: PopCaller) -> Result<SessionSuccess, SessionFailure> {
        Ok(SessionSuccess::Dashboard(Json(SessionUrl { url: state.0.url("/") })))
    }
}
