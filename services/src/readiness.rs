//! Probing the backends this replica depends on: the database, the runtime state's backend
//! (Redis, when configured) and the vault store, each through its port. Used by the readiness
//! routes and the metrics.

use std::time::Duration;

use secrecy::ExposeSecret;

use crate::context::ServiceContext;

/// What the probes found.
pub struct Readiness {
    /// Each backend and whether it answered, in probe order.
    pub checks: Vec<(String, bool)>,
    /// One line per failed backend, without backend internals.
    pub issues: Vec<String>,
}

impl Readiness {
    /// Whether every backend answered.
    pub fn ready(&self) -> bool {
        self.issues.is_empty()
    }
}

/// How long one backend may take to answer its probe. Orchestrators and `authsome healthcheck
/// --ready` give up after about 3 s; a backend that hangs (a Postgres pool waiting out its 5 s
/// acquire timeout, a Redis that accepts and never answers) is reported as down within this
/// bound instead of making the whole probe time out. The probes run concurrently, so the
/// report takes at most this long whichever backends hang.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

async fn bounded(name: &str, probe: impl Future<Output = Result<(), &'static str>>) -> Result<(), &'static str> {
    match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Ok(outcome) => outcome,
        Err(_) => {
            tracing::warn!(
                backend = name,
                timeout_ms = PROBE_TIMEOUT.as_millis() as u64,
                "readiness: no answer in time"
            );
            Err("did not answer in time")
        }
    }
}

async fn probe_database(state: &ServiceContext) -> Result<(), &'static str> {
    state.registries.health.ping().await.map_err(|error| {
        tracing::warn!(error = %crate::error_chain(&error), "readiness: the database did not answer");
        "readiness check failed"
    })
}

async fn probe_runtime_state(state: &ServiceContext, backend: &'static str) -> Result<(), &'static str> {
    state.runtime.health.ping().await.map_err(|error| {
        tracing::warn!(backend, error = %crate::error_chain(&error), "readiness: the runtime state did not answer");
        "did not answer PING"
    })
}

async fn probe_vault(state: &ServiceContext, vault_roundtrip: bool) -> Result<(), &'static str> {
    if !vault_roundtrip {
        return state.vault.ping().await.map_err(|_| "did not answer");
    }
    let key = format!("__ready_test__:{}", authsome_domain::random_token::hex(32));
    let roundtrip = async {
        state.vault.put("vault:__ready__", &key, "ok").await?;
        let read = state.vault.get("vault:__ready__", &key).await?;
        state.vault.delete("vault:__ready__", &key).await?;
        Ok::<bool, crate::vault::VaultError>(read.is_some_and(|v| v.expose_secret() == "ok"))
    };
    match roundtrip.await {
        Ok(true) => Ok(()),
        Ok(false) => Err("readiness roundtrip failed"),
        Err(error) => {
            tracing::warn!(error = %crate::error_chain(&error), "readiness: the vault store failed");
            Err("readiness roundtrip failed")
        }
    }
}

/// Probes every backend, concurrently, each bounded by [`PROBE_TIMEOUT`]. With
/// `vault_roundtrip`, the vault check writes, reads and deletes a probe value (readiness);
/// without, it makes one read round trip (metrics scrapes).
pub async fn probe(state: &ServiceContext, vault_roundtrip: bool) -> Readiness {
    let backend = state.runtime.health.probed_backend();
    let runtime = async {
        match backend {
            Some(name) => Some((name, bounded(name, probe_runtime_state(state, name)).await)),
            None => None,
        }
    };
    let (store, runtime, vault) = tokio::join!(
        bounded("store", probe_database(state)),
        runtime,
        bounded("vault", probe_vault(state, vault_roundtrip)),
    );
    let mut readiness = Readiness {
        checks: Vec::with_capacity(3),
        issues: Vec::new(),
    };
    let mut record = |name: &str, outcome: Result<(), &str>| {
        readiness.checks.push((name.to_owned(), outcome.is_ok()));
        if let Err(reason) = outcome {
            readiness.issues.push(format!("{name}: {reason}"));
        }
    };
    record("store", store);
    if let Some((name, outcome)) = runtime {
        record(name, outcome);
    }
    record("vault", vault);
    readiness
}
