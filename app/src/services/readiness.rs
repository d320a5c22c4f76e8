//! Probing the backends this replica depends on: the database, Redis (when configured) and the
//! vault store. Used by the readiness routes and the metrics.

use secrecy::ExposeSecret;

use crate::state::AppState;

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

/// Probes every backend. With `vault_roundtrip`, the vault check writes, reads and deletes a
/// probe value (readiness); without, it makes one read round trip (metrics scrapes).
pub async fn probe(state: &AppState, vault_roundtrip: bool) -> Readiness {
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
    let store = state.registries.health.ping().await;
    if let Err(error) = &store {
        tracing::warn!(error = %crate::error_chain(error), "readiness: the database did not answer");
    }
    record("store", store.map_err(|_| "readiness check failed"));
    if let Some(redis) = &state.redis {
        let ping: Result<String, _> = redis::cmd("PING").query_async(&mut redis.clone()).await;
        if let Err(error) = &ping {
            tracing::warn!(%error, "readiness: Redis did not answer");
        }
        record("redis", ping.map(|_| ()).map_err(|_| "did not answer PING"));
    }
    let vault = if vault_roundtrip {
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
    } else {
        state.vault.ping().await.map_err(|_| "did not answer")
    };
    record("vault", vault);
    readiness
}
