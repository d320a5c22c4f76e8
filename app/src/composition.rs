//! The composition root: the only code that picks concrete adapters, from
//! [`Settings`].

use std::sync::Arc;

use authsome_domain::vault_crypto::KdfParams;
use authsome_ports::{Registries, RuntimeState, VaultBlobStore};
use authsome_postgres::PostgresSettings;
use authsome_redis::{RedisConnection, RedisKeys, RedisSettings};
use authsome_sqlite::SqliteSettings;
use thiserror::Error;

use crate::master_secret::{self, MasterSecretError, MasterSecretSource, WhenMissing};
use crate::settings::{DatabaseSettings, Settings, VaultBackend, expose_database_url};
use authsome_services::vault::{Vault, VaultError};

/// Why the backends could not be brought up. Messages never contain secrets.
#[derive(Debug, Error)]
pub enum StartupError {
    /// The SQLite database could not be opened or migrated.
    #[error(transparent)]
    Sqlite(#[from] authsome_sqlite::SqliteOpenError),
    /// The Postgres database could not be reached or migrated.
    #[error(transparent)]
    Postgres(#[from] authsome_postgres::PostgresOpenError),
    /// Redis could not be reached.
    #[error(transparent)]
    Redis(#[from] authsome_redis::RedisConnectError),
    /// `AUTHSOME_REDIS_CA_FILE` could not be read.
    #[error("cannot read AUTHSOME_REDIS_CA_FILE {path}")]
    RedisCaFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The vault is on Redis but no Redis URL is set.
    #[error("AUTHSOME_VAULT_BACKEND=redis needs AUTHSOME_REDIS_URL")]
    RedisVaultWithoutUrl,
    /// The master secret could not be had.
    #[error(transparent)]
    MasterSecret(#[from] MasterSecretError),
    /// The vault could not be opened.
    #[error("cannot open the vault")]
    Vault(#[from] VaultError),
    /// The vault directory could not be created.
    #[error("cannot create the vault directory {path}")]
    VaultDirectory {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A blocking startup task died.
    #[error("a startup task failed: {0}")]
    Task(String),
    /// The outbound HTTP client could not be set up (its CA file or proxy).
    #[error(transparent)]
    Outbound(#[from] authsome_outbound::OutboundSetupError),
}

fn postgres_settings(url: &secrecy::SecretString, min_connections: u32, max_connections: u32) -> PostgresSettings {
    PostgresSettings {
        url: expose_database_url(url).to_owned(),
        min_connections,
        max_connections,
    }
}

/// Opens the configured database, applies pending migrations, and returns every registry port.
pub async fn open_registries(database: &DatabaseSettings) -> Result<Registries, StartupError> {
    match database {
        DatabaseSettings::Sqlite { path } => {
            let store = authsome_sqlite::open(&SqliteSettings::new(path)).await?;
            Ok(authsome_sqlite::registries(store))
        }
        DatabaseSettings::Postgres {
            url,
            min_connections,
            max_connections,
        } => {
            let store = authsome_postgres::open(&postgres_settings(url, *min_connections, *max_connections)).await?;
            Ok(authsome_postgres::registries(store))
        }
    }
}

/// Applies pending migrations to the configured database; returns the versions applied now.
pub async fn migrate(database: &DatabaseSettings) -> Result<Vec<i64>, StartupError> {
    match database {
        DatabaseSettings::Sqlite { path } => Ok(authsome_sqlite::migrate(&SqliteSettings::new(path)).await?),
        DatabaseSettings::Postgres { url, .. } => {
            // Migration needs one connection, whatever the serving pool size.
            Ok(authsome_postgres::migrate(&postgres_settings(url, 1, 1)).await?)
        }
    }
}

/// The Redis connection, when `AUTHSOME_REDIS_URL` is set.
pub async fn connect_redis(settings: &Settings) -> Result<Option<RedisConnection>, StartupError> {
    match &settings.redis_url {
        None => Ok(None),
        Some(url) => {
            let mut redis = RedisSettings::new(url.expose());
            if let Some(path) = &settings.redis_ca_file {
                redis.tls_roots = Some(std::fs::read(path).map_err(|source| StartupError::RedisCaFile {
                    path: path.clone(),
                    source,
                })?);
            }
            Ok(Some(authsome_redis::connect(&redis).await?))
        }
    }
}

/// Redis key names (`AUTHSOME_REDIS_KEY_PREFIX`, empty by default as in the reference).
pub fn redis_keys(settings: &Settings) -> RedisKeys {
    RedisKeys::with_prefix(settings.redis_key_prefix.clone())
}

/// The configured vault blob store.
pub fn vault_store(
    settings: &Settings,
    redis: Option<&RedisConnection>,
) -> Result<Arc<dyn VaultBlobStore>, StartupError> {
    match (&settings.vault.backend, redis) {
        (VaultBackend::Disk { dir }, _) => {
            let store = authsome_disk::DiskBlobStore::open(dir).map_err(|source| StartupError::VaultDirectory {
                path: dir.clone(),
                source,
            })?;
            Ok(Arc::new(store))
        }
        (VaultBackend::Redis, Some(connection)) => Ok(Arc::new(if settings.vault.listing_index {
            authsome_redis::RedisBlobStore::new(connection.clone(), redis_keys(settings))
        } else {
            authsome_redis::RedisBlobStore::scanning(connection.clone(), redis_keys(settings))
        })),
        // Settings refuse a Redis vault without a Redis URL; this only guards the invariant.
        (VaultBackend::Redis, None) => Err(StartupError::RedisVaultWithoutUrl),
        (VaultBackend::Memory, _) => Ok(Arc::new(authsome_memory::MemoryBlobStore::new())),
    }
}

/// Resolves the master secret on a blocking thread.
pub async fn resolve_master_secret(
    settings: &Settings,
    when_missing: WhenMissing,
) -> Result<master_secret::ResolvedMasterSecret, StartupError> {
    let (key_settings, env) = (settings.master_key.clone(), settings.env);
    tokio::task::spawn_blocking(move || master_secret::resolve(&key_settings, env, when_missing))
        .await
        .map_err(|e| StartupError::Task(e.to_string()))?
        .map_err(StartupError::from)
}

/// Opens the vault: resolves the master secret (generating one outside production) and
/// unwraps, or creates, the data key.
pub async fn open_vault(
    settings: &Settings,
    redis: Option<&RedisConnection>,
) -> Result<(Vault, MasterSecretSource), StartupError> {
    let master = resolve_master_secret(settings, WhenMissing::Generate).await?;
    open_vault_with(settings, redis, master).await
}

/// Opens the vault with an already resolved master secret.
pub async fn open_vault_with(
    settings: &Settings,
    redis: Option<&RedisConnection>,
    master: master_secret::ResolvedMasterSecret,
) -> Result<(Vault, MasterSecretSource), StartupError> {
    let store = vault_store(settings, redis)?;
    let vault = Vault::open(
        store,
        &master.secret,
        master.previous.as_ref(),
        settings.vault.write_version,
        KdfParams::REFERENCE,
    )
    .await?;
    Ok((vault, master.source))
}

/// With the vault on Redis: indexes, in the background, the entries written without the
/// listing index (by authsome 0.7.2 before a takeover). Listings SCAN until it has finished
/// once, so serving does not wait for it; a failure is logged and retried at the next start.
/// With `AUTHSOME_REDIS_LISTING_INDEX=off`, marks the index incomplete instead.
fn spawn_listing_index_build(settings: &Settings, redis: Option<&RedisConnection>) {
    let (VaultBackend::Redis, Some(connection)) = (&settings.vault.backend, redis) else {
        return;
    };
    let store = authsome_redis::RedisBlobStore::new(connection.clone(), redis_keys(settings));
    if !settings.vault.listing_index {
        tokio::spawn(async move {
            match store.forget_listing_index().await {
                Ok(()) => {
                    tracing::info!("vault listing index off (AUTHSOME_REDIS_LISTING_INDEX): listings scan the keyspace")
                }
                Err(error) => tracing::warn!(
                    error = %crate::error_chain(&error),
                    "could not mark the vault listing index incomplete"
                ),
            }
        });
        return;
    }
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        match store.build_listing_index().await {
            Ok(build) if build.already_built => tracing::debug!("vault listing index already built"),
            Ok(build) => tracing::info!(
                scanned = build.scanned,
                added = build.added,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "vault listing index built"
            ),
            Err(error) => tracing::warn!(
                error = %crate::error_chain(&error),
                "could not build the vault listing index; listings scan the keyspace until the next start"
            ),
        }
    });
}

/// The runtime state every replica shares: Redis when configured, else process memory.
pub fn runtime_state(settings: &Settings, redis: Option<&RedisConnection>, vault: &Vault) -> RuntimeState {
    match redis {
        Some(connection) => authsome_redis::runtime_state(connection.clone(), redis_keys(settings), vault.cipher()),
        None => authsome_memory::runtime_state(authsome_memory::DEFAULT_CAPACITY),
    }
}

/// Everything the daemon serves from: the registries (migrated), Redis, the vault, the
/// shared runtime state and the provider catalog.
pub async fn build_state(settings: &Settings) -> Result<crate::state::SharedState, StartupError> {
    // The master secret first: a missing one should stop startup before any connection is made.
    let master = resolve_master_secret(settings, WhenMissing::Generate).await?;
    let registries = open_registries(&settings.database).await?;
    let redis = connect_redis(settings).await?;
    let (vault, master_source) = open_vault_with(settings, redis.as_ref(), master).await?;
    tracing::info!(vault = vault.backend_name(), %master_source, "vault opened");
    spawn_listing_index_build(settings, redis.as_ref());
    let runtime = runtime_state(settings, redis.as_ref(), &vault);
    // With replicas (Redis), owners are remembered between requests while the shared
    // generation holds; one process on SQLite reads them in place, as cheaply.
    let registries = if redis.is_some() && settings.remember_ownership {
        authsome_services::ownership_cache::remember_ownership(registries, runtime.ownership_generation.clone())
    } else {
        registries
    };
    let endpoints = Arc::new(authsome_outbound::HttpProviderEndpoints::new(
        settings.server.outbound.clone(),
    )?);
    let services = authsome_services::ServiceContext::new(
        registries,
        Arc::new(vault),
        runtime,
        endpoints,
        settings.server.policy.clone(),
    )
    .map_err(|e| StartupError::Task(e.to_string()))?;
    Ok(Arc::new(crate::state::AppState::new(
        services,
        settings.server.clone(),
        settings.env,
        settings.home.clone(),
    )))
}
