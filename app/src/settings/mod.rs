//! Typed, validated settings from `AUTHSOME_*` environment variables.
//!
//! Every setting is read once, at startup. A value that cannot be used stops startup with a
//! message that names the variable; secrets (the database URL can carry a password) are held
//! in [`SecretString`] and never printed. Names are matched case-insensitively, as the
//! reference daemon does.

use std::fmt;
use std::path::PathBuf;

use authsome_domain::vault_crypto::EnvelopeVersion;
use secrecy::{ExposeSecret, SecretString};
use thiserror::Error;

mod environment;
mod server;

pub use environment::{EnvironmentVariables, KNOWN_VARIABLES};
pub use server::{ConnectionLimits, MAX_BODY_BYTES, REFUSED_IDENTITY_IDS, ServerSettings};

/// A setting that cannot be used. The message names the variable and never holds a secret.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{variable}: {problem}")]
pub struct SettingsError {
    /// The environment variable at fault.
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl SettingsError {
    fn new(variable: &'static str, problem: impl Into<String>) -> Self {
        Self {
            variable,
            problem: problem.into(),
        }
    }
}

/// Which kind of deployment this is (`AUTHSOME_ENV`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentEnv {
    /// A developer machine (the default): local files are fine.
    Dev,
    /// Automated tests.
    Test,
    /// Production: shared backends and explicit secrets are required.
    Prod,
}

/// Where the registries live.
#[derive(Clone)]
pub enum DatabaseSettings {
    /// A SQLite file (the default, `{home}/server/authsome.db`).
    Sqlite {
        /// The database file.
        path: PathBuf,
    },
    /// A Postgres server.
    Postgres {
        /// The connection URL (may hold a password).
        url: SecretString,
        /// `AUTHSOME_POSTGRES_POOL_MIN_SIZE`.
        min_connections: u32,
        /// `AUTHSOME_POSTGRES_POOL_MAX_SIZE`.
        max_connections: u32,
    },
}

impl DatabaseSettings {
    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres { .. } => "postgres",
        }
    }
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite { path } => f.debug_struct("Sqlite").field("path", path).finish(),
            Self::Postgres {
                min_connections,
                max_connections,
                ..
            } => f
                .debug_struct("Postgres")
                .field("url", &"<redacted>")
                .field("min_connections", min_connections)
                .field("max_connections", max_connections)
                .finish(),
        }
    }
}

/// Where vault values are stored (`AUTHSOME_VAULT_BACKEND`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultBackend {
    /// One file per value under this directory (`{home}/server/vault`).
    Disk {
        /// The vault directory.
        dir: PathBuf,
    },
    /// Redis, at `AUTHSOME_REDIS_URL`, in the reference's layout.
    Redis,
    /// Process memory: lost on exit (tests and throwaway servers; refused in prod).
    Memory,
}

impl VaultBackend {
    /// `disk`, `redis` or `memory`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Disk { .. } => "disk",
            Self::Redis => "redis",
            Self::Memory => "memory",
        }
    }
}

/// The vault's storage and encryption settings.
#[derive(Debug, Clone)]
pub struct VaultSettings {
    /// `AUTHSOME_VAULT_BACKEND`.
    pub backend: VaultBackend,
    /// `AUTHSOME_VAULT_WRITE_VERSION`: 2 (AES-256-GCM-SIV bound to collection and key, the
    /// default) or 1 (AES-256-GCM as authsome 0.7.2 writes, for fleets still running it).
    pub write_version: EnvelopeVersion,
    /// `AUTHSOME_REDIS_LISTING_INDEX` (`on`, the default, or `off`): whether a Redis vault is
    /// listed from its index or by SCAN. `off` while authsome 0.7.2 replicas write to the
    /// same Redis (they do not maintain the index).
    pub listing_index: bool,
}

/// Where the master secret may come from, in order.
#[derive(Clone)]
pub struct MasterKeySettings {
    /// `AUTHSOME_MASTER_KEY`.
    pub from_environment: Option<SecretString>,
    /// `AUTHSOME_MASTER_KEY_FILE`, or `{home}/server/master.key`.
    pub file: PathBuf,
    /// `AUTHSOME_MASTER_KEY_PREVIOUS`: tried when the current secret does not unwrap the
    /// vault key, so that replicas restart cleanly while a rotation rolls out.
    pub previous: Option<SecretString>,
    /// `AUTHSOME_KEYRING` (`on`, the default, or `off`): whether to use the OS keyring.
    pub keyring: bool,
}

impl fmt::Debug for MasterKeySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKeySettings")
            .field(
                "from_environment",
                &self.from_environment.as_ref().map(|_| "<redacted>"),
            )
            .field("file", &self.file)
            .field("previous", &self.previous.as_ref().map(|_| "<redacted>"))
            .field("keyring", &self.keyring)
            .finish()
    }
}

/// Every setting, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `AUTHSOME_ENV`.
    pub env: DeploymentEnv,
    /// `AUTHSOME_HOME`: root of the server's local files.
    pub home: PathBuf,
    /// `AUTHSOME_DATABASE_URL` (or `DATABASE_URL`) and the pool sizes.
    pub database: DatabaseSettings,
    /// `AUTHSOME_REDIS_URL`: when set, runtime state (and by default the vault) live in Redis.
    pub redis_url: Option<RedisUrl>,
    /// `AUTHSOME_REDIS_KEY_PREFIX`: prepended to every Redis key (empty by default, which is
    /// the reference's layout; set it to share one Redis database between deployments).
    pub redis_key_prefix: String,
    /// `AUTHSOME_REDIS_CA_FILE`: PEM certificates of the authorities a TLS Redis
    /// (`rediss://`, `rediss+sentinel://`) is signed by, when not a public one.
    pub redis_ca_file: Option<PathBuf>,
    /// `AUTHSOME_REMEMBER_OWNERSHIP` (`on`, the default, or `off`): with Redis, whether each
    /// replica remembers identities' owners between requests, trusting them only while the
    /// shared ownership generation holds (`off` while authsome 0.7.2 replicas write to the
    /// same database: they do not raise it).
    pub remember_ownership: bool,
    /// The vault.
    pub vault: VaultSettings,
    /// The master secret's sources.
    pub master_key: MasterKeySettings,
    /// The HTTP daemon.
    pub server: ServerSettings,
}

/// A Redis URL (it may hold a password: never printed).
#[derive(Clone)]
pub struct RedisUrl(SecretString);

impl RedisUrl {
    /// The URL, for the adapter.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RedisUrl(<redacted>)")
    }
}

impl Settings {
    /// `AUTHSOME_ENV` alone.
    pub fn deployment_env(vars: &EnvironmentVariables) -> Result<DeploymentEnv, SettingsError> {
        match vars.get("AUTHSOME_ENV").map(str::trim) {
            None | Some("dev") => Ok(DeploymentEnv::Dev),
            Some("test") => Ok(DeploymentEnv::Test),
            Some("prod") => Ok(DeploymentEnv::Prod),
            Some(other) => Err(SettingsError::new(
                "AUTHSOME_ENV",
                format!("must be one of prod, dev, test (got {other:?})"),
            )),
        }
    }

    /// Reads and validates every setting.
    pub fn from_env(vars: &EnvironmentVariables) -> Result<Self, SettingsError> {
        let env = Self::deployment_env(vars)?;
        let home = match vars.get("AUTHSOME_HOME") {
            Some(home) => PathBuf::from(home),
            None => match vars.get("HOME") {
                Some(user_home) => PathBuf::from(user_home).join(".authsome"),
                None => {
                    return Err(SettingsError::new(
                        "AUTHSOME_HOME",
                        "is not set and there is no HOME to default to",
                    ));
                }
            },
        };
        let database = database_settings(vars, &home)?;
        if env == DeploymentEnv::Prod {
            match &database {
                DatabaseSettings::Postgres { .. } => {}
                DatabaseSettings::Sqlite { .. } if database_url(vars).is_none() => {
                    return Err(SettingsError::new(
                        "AUTHSOME_DATABASE_URL",
                        "is required when AUTHSOME_ENV=prod",
                    ));
                }
                DatabaseSettings::Sqlite { .. } => {
                    return Err(SettingsError::new(
                        "AUTHSOME_DATABASE_URL",
                        "must be a Postgres URL when AUTHSOME_ENV=prod",
                    ));
                }
            }
        }
        let redis_url = redis_url(vars)?;
        let vault = vault_settings(vars, &home, redis_url.is_some())?;
        if env == DeploymentEnv::Prod {
            if redis_url.is_none() {
                return Err(SettingsError::new(
                    "AUTHSOME_REDIS_URL",
                    "is required when AUTHSOME_ENV=prod",
                ));
            }
            if vault.backend == VaultBackend::Memory {
                return Err(SettingsError::new(
                    "AUTHSOME_VAULT_BACKEND",
                    "memory loses every credential on restart and is refused when AUTHSOME_ENV=prod",
                ));
            }
        }
        let master_key = MasterKeySettings {
            from_environment: vars
                .get("AUTHSOME_MASTER_KEY")
                .map(|v| SecretString::from(v.trim().to_owned())),
            file: vars
                .get("AUTHSOME_MASTER_KEY_FILE")
                .map_or_else(|| home.join("server").join("master.key"), PathBuf::from),
            previous: vars
                .get("AUTHSOME_MASTER_KEY_PREVIOUS")
                .map(|v| SecretString::from(v.trim().to_owned())),
            keyring: match vars.get("AUTHSOME_KEYRING").map(|v| v.trim().to_ascii_lowercase()) {
                None => true,
                Some(v) if matches!(v.as_str(), "on" | "true" | "1" | "yes") => true,
                Some(v) if matches!(v.as_str(), "off" | "false" | "0" | "no") => false,
                Some(other) => {
                    return Err(SettingsError::new(
                        "AUTHSOME_KEYRING",
                        format!("must be on or off (got {other:?})"),
                    ));
                }
            },
        };
        Ok(Self {
            env,
            home,
            database,
            redis_url,
            redis_key_prefix: vars.get("AUTHSOME_REDIS_KEY_PREFIX").unwrap_or_default().to_owned(),
            remember_ownership: server::boolean(vars, "AUTHSOME_REMEMBER_OWNERSHIP", true)?,
            redis_ca_file: vars
                .get("AUTHSOME_REDIS_CA_FILE")
                .map(str::trim)
                .filter(|path| !path.is_empty())
                .map(PathBuf::from),
            vault,
            master_key,
            server: ServerSettings::from_env(vars, env)?,
        })
    }

    /// `{home}/server`: the server's private directory.
    pub fn server_dir(&self) -> PathBuf {
        self.home.join("server")
    }
}

fn redis_url(vars: &EnvironmentVariables) -> Result<Option<RedisUrl>, SettingsError> {
    let Some(raw) = vars.get("AUTHSOME_REDIS_URL").map(str::trim) else {
        return Ok(None);
    };
    let scheme_ok = [
        "redis://",
        "rediss://",
        "redis+unix://",
        "unix://",
        "redis+sentinel://",
        "rediss+sentinel://",
    ]
    .iter()
    .any(|scheme| raw.len() > scheme.len() && raw[..scheme.len()].eq_ignore_ascii_case(scheme));
    if !scheme_ok {
        return Err(SettingsError::new(
            "AUTHSOME_REDIS_URL",
            "must be a redis://, rediss:// or redis+sentinel:// URL (for example redis://127.0.0.1:6379/0, or \
             redis+sentinel://10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/mymaster)",
        ));
    }
    Ok(Some(RedisUrl(SecretString::from(raw.to_owned()))))
}

fn vault_settings(
    vars: &EnvironmentVariables,
    home: &std::path::Path,
    have_redis: bool,
) -> Result<VaultSettings, SettingsError> {
    let backend = match vars
        .get("AUTHSOME_VAULT_BACKEND")
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        // The reference keeps the vault in Redis whenever a Redis URL is set.
        None if have_redis => VaultBackend::Redis,
        None | Some("disk") => VaultBackend::Disk {
            dir: home.join("server").join("vault"),
        },
        Some("redis") if have_redis => VaultBackend::Redis,
        Some("redis") => {
            return Err(SettingsError::new(
                "AUTHSOME_VAULT_BACKEND",
                "is redis but AUTHSOME_REDIS_URL is not set",
            ));
        }
        Some("memory") => VaultBackend::Memory,
        Some(other) => {
            return Err(SettingsError::new(
                "AUTHSOME_VAULT_BACKEND",
                format!("must be disk, redis or memory (got {other:?})"),
            ));
        }
    };
    let write_version = match vars.get("AUTHSOME_VAULT_WRITE_VERSION").map(str::trim) {
        None | Some("2") => EnvelopeVersion::V2,
        Some("1") => EnvelopeVersion::V1,
        Some(other) => {
            return Err(SettingsError::new(
                "AUTHSOME_VAULT_WRITE_VERSION",
                format!("must be 1 or 2 (got {other:?})"),
            ));
        }
    };
    let listing_index = server::boolean(vars, "AUTHSOME_REDIS_LISTING_INDEX", true)?;
    Ok(VaultSettings {
        backend,
        write_version,
        listing_index,
    })
}

fn database_url(vars: &EnvironmentVariables) -> Option<(&'static str, &str)> {
    vars.get("AUTHSOME_DATABASE_URL")
        .map(|v| ("AUTHSOME_DATABASE_URL", v))
        .or_else(|| vars.get("DATABASE_URL").map(|v| ("DATABASE_URL", v)))
}

fn database_settings(vars: &EnvironmentVariables, home: &std::path::Path) -> Result<DatabaseSettings, SettingsError> {
    let Some((variable, raw)) = database_url(vars) else {
        return Ok(DatabaseSettings::Sqlite {
            path: home.join("server").join("authsome.db"),
        });
    };
    let raw = raw.trim();
    let Some((scheme, rest)) = raw.split_once(':').filter(|(scheme, _)| is_url_scheme(scheme)) else {
        // No scheme: a path to a SQLite file, as in the reference.
        return Ok(DatabaseSettings::Sqlite {
            path: PathBuf::from(raw),
        });
    };
    match scheme.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" => {
            let min_connections = pool_size(vars, "AUTHSOME_POSTGRES_POOL_MIN_SIZE", 1)?;
            let max_connections = pool_size(vars, "AUTHSOME_POSTGRES_POOL_MAX_SIZE", 10)?;
            if min_connections > max_connections {
                return Err(SettingsError::new(
                    "AUTHSOME_POSTGRES_POOL_MIN_SIZE",
                    format!(
                        "must be less than or equal to AUTHSOME_POSTGRES_POOL_MAX_SIZE ({min_connections} > {max_connections})"
                    ),
                ));
            }
            Ok(DatabaseSettings::Postgres {
                url: SecretString::from(raw.to_owned()),
                min_connections,
                max_connections,
            })
        }
        "sqlite" => {
            // Like Python's urlparse: `sqlite:///abs/path` -> `/abs/path`; an authority part
            // (`sqlite://host/path`) is dropped.
            let path = match rest.strip_prefix("//") {
                Some(after_slashes) => after_slashes.find('/').map_or("", |i| &after_slashes[i..]),
                None => rest,
            };
            if path.is_empty() || path == "/" {
                return Err(SettingsError::new(variable, "sqlite URL must include a database path"));
            }
            Ok(DatabaseSettings::Sqlite {
                path: PathBuf::from(path),
            })
        }
        other => Err(SettingsError::new(
            variable,
            format!("unsupported scheme {other:?} (use postgres://, postgresql:// or sqlite://)"),
        )),
    }
}

/// RFC 3986 scheme syntax, at least two characters so that a Windows drive letter (`C:`)
/// reads as a path.
fn is_url_scheme(candidate: &str) -> bool {
    let mut chars = candidate.chars();
    candidate.len() >= 2
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn pool_size(vars: &EnvironmentVariables, variable: &'static str, default: u32) -> Result<u32, SettingsError> {
    match vars.get(variable) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<u32>() {
            Ok(size) if (1..=1000).contains(&size) => Ok(size),
            _ => Err(SettingsError::new(
                variable,
                format!("must be an integer from 1 to 1000 (got {raw:?})"),
            )),
        },
    }
}

/// The Postgres URL, for the adapter. Kept here so that exposing the secret is one visible call.
pub fn expose_database_url(url: &SecretString) -> &str {
    url.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let mut all = vec![("HOME", "/home/ada")];
        all.extend_from_slice(pairs);
        Settings::from_env(&EnvironmentVariables::from_pairs(all.iter().map(|(k, v)| (*k, *v))))
    }

    fn sqlite_path(s: &Settings) -> &std::path::Path {
        match &s.database {
            DatabaseSettings::Sqlite { path } => path,
            other => panic!("expected sqlite, got {other:?}"),
        }
    }

    #[test]
    fn defaults_to_sqlite_in_the_home_directory() {
        let s = settings(&[]).expect("defaults");
        assert_eq!(s.env, DeploymentEnv::Dev);
        assert_eq!(s.home, PathBuf::from("/home/ada/.authsome"));
        assert_eq!(
            sqlite_path(&s),
            std::path::Path::new("/home/ada/.authsome/server/authsome.db")
        );
    }

    #[test]
    fn names_are_case_insensitive_and_blank_means_unset() {
        let s = settings(&[("authsome_home", "/srv/a"), ("AUTHSOME_DATABASE_URL", "  ")]).expect("valid");
        assert_eq!(s.home, PathBuf::from("/srv/a"));
        assert_eq!(sqlite_path(&s), std::path::Path::new("/srv/a/server/authsome.db"));
    }

    #[test]
    fn database_url_forms_follow_the_reference() {
        let cases = [
            ("/var/lib/authsome.db", "/var/lib/authsome.db"),
            ("relative.db", "relative.db"),
            ("sqlite:///abs/path.db", "/abs/path.db"),
            ("sqlite://ignored-host/x.db", "/x.db"),
        ];
        for (url, path) in cases {
            let s = settings(&[("AUTHSOME_DATABASE_URL", url)]).expect(url);
            assert_eq!(sqlite_path(&s), std::path::Path::new(path), "{url}");
        }
        let pg = settings(&[("DATABASE_URL", "postgresql://u:secret@db/authsome")]).expect("postgres alias");
        assert_eq!(pg.database.backend_name(), "postgres");
        assert!(!format!("{pg:?}").contains("secret"), "the URL is redacted");
    }

    #[test]
    fn bad_values_name_their_variable() {
        let cases: [(&[(&str, &str)], &str); 6] = [
            (&[("AUTHSOME_ENV", "staging")], "AUTHSOME_ENV"),
            (&[("AUTHSOME_DATABASE_URL", "mysql://x/y")], "AUTHSOME_DATABASE_URL"),
            (&[("AUTHSOME_DATABASE_URL", "sqlite://")], "AUTHSOME_DATABASE_URL"),
            (
                &[
                    ("AUTHSOME_DATABASE_URL", "postgres://x/y"),
                    ("AUTHSOME_POSTGRES_POOL_MAX_SIZE", "0"),
                ],
                "AUTHSOME_POSTGRES_POOL_MAX_SIZE",
            ),
            (
                &[
                    ("AUTHSOME_DATABASE_URL", "postgres://x/y"),
                    ("AUTHSOME_POSTGRES_POOL_MIN_SIZE", "ten"),
                ],
                "AUTHSOME_POSTGRES_POOL_MIN_SIZE",
            ),
            (
                &[
                    ("AUTHSOME_DATABASE_URL", "postgres://x/y"),
                    ("AUTHSOME_POSTGRES_POOL_MIN_SIZE", "5"),
                    ("AUTHSOME_POSTGRES_POOL_MAX_SIZE", "2"),
                ],
                "AUTHSOME_POSTGRES_POOL_MIN_SIZE",
            ),
        ];
        for (pairs, variable) in cases {
            let err = settings(pairs).expect_err(variable);
            assert_eq!(err.variable, variable);
            assert!(err.to_string().starts_with(variable), "{err}");
        }
    }

    #[test]
    fn prod_requires_postgres() {
        let missing = settings(&[("AUTHSOME_ENV", "prod")]).expect_err("no url");
        assert_eq!(
            missing.to_string(),
            "AUTHSOME_DATABASE_URL: is required when AUTHSOME_ENV=prod"
        );
        let sqlite = settings(&[("AUTHSOME_ENV", "prod"), ("AUTHSOME_DATABASE_URL", "/x.db")]).expect_err("sqlite");
        assert_eq!(
            sqlite.to_string(),
            "AUTHSOME_DATABASE_URL: must be a Postgres URL when AUTHSOME_ENV=prod"
        );
        let no_redis =
            settings(&[("AUTHSOME_ENV", "prod"), ("AUTHSOME_DATABASE_URL", "postgres://db/x")]).expect_err("no redis");
        assert_eq!(
            no_redis.to_string(),
            "AUTHSOME_REDIS_URL: is required when AUTHSOME_ENV=prod"
        );
        let ok = settings(&[
            ("AUTHSOME_ENV", "prod"),
            ("AUTHSOME_DATABASE_URL", "postgres://db/x"),
            ("AUTHSOME_REDIS_URL", "redis://cache:6379/0"),
        ])
        .expect("postgres and redis");
        assert_eq!(ok.env, DeploymentEnv::Prod);
        assert_eq!(
            ok.vault.backend,
            VaultBackend::Redis,
            "prod keeps the vault in the shared Redis"
        );
    }

    #[test]
    fn the_vault_follows_redis_unless_told_otherwise() {
        let local = settings(&[]).expect("defaults");
        assert_eq!(
            local.vault.backend,
            VaultBackend::Disk {
                dir: PathBuf::from("/home/ada/.authsome/server/vault")
            }
        );
        assert_eq!(local.vault.write_version, EnvelopeVersion::V2);
        assert!(local.redis_url.is_none());
        let shared = settings(&[("AUTHSOME_REDIS_URL", "redis://:pw@cache/1")]).expect("redis");
        assert_eq!(shared.vault.backend, VaultBackend::Redis);
        assert!(!format!("{shared:?}").contains("pw@"), "redacted");
        let pinned = settings(&[
            ("AUTHSOME_REDIS_URL", "redis://cache/1"),
            ("AUTHSOME_VAULT_BACKEND", "disk"),
        ])
        .expect("disk");
        assert_eq!(pinned.vault.backend.name(), "disk");
        let compat = settings(&[("AUTHSOME_VAULT_WRITE_VERSION", "1")]).expect("v1");
        assert_eq!(compat.vault.write_version, EnvelopeVersion::V1);
    }

    #[test]
    fn vault_and_key_settings_are_validated() {
        let cases: [(&[(&str, &str)], &str); 5] = [
            (&[("AUTHSOME_VAULT_BACKEND", "s3")], "AUTHSOME_VAULT_BACKEND"),
            (&[("AUTHSOME_VAULT_BACKEND", "redis")], "AUTHSOME_VAULT_BACKEND"),
            (&[("AUTHSOME_VAULT_WRITE_VERSION", "3")], "AUTHSOME_VAULT_WRITE_VERSION"),
            (&[("AUTHSOME_REDIS_URL", "http://cache")], "AUTHSOME_REDIS_URL"),
            (&[("AUTHSOME_KEYRING", "maybe")], "AUTHSOME_KEYRING"),
        ];
        for (pairs, variable) in cases {
            assert_eq!(settings(pairs).expect_err(variable).variable, variable);
        }
        let prod_memory = settings(&[
            ("AUTHSOME_ENV", "prod"),
            ("AUTHSOME_DATABASE_URL", "postgres://db/x"),
            ("AUTHSOME_REDIS_URL", "redis://cache"),
            ("AUTHSOME_VAULT_BACKEND", "memory"),
        ])
        .expect_err("memory in prod");
        assert_eq!(prod_memory.variable, "AUTHSOME_VAULT_BACKEND");
    }

    #[test]
    fn master_key_sources() {
        let defaults = settings(&[]).expect("defaults");
        assert_eq!(
            defaults.master_key.file,
            PathBuf::from("/home/ada/.authsome/server/master.key")
        );
        assert!(defaults.master_key.keyring);
        let set = settings(&[
            ("AUTHSOME_MASTER_KEY", " s3cret "),
            ("AUTHSOME_MASTER_KEY_FILE", "/run/secrets/master"),
            ("AUTHSOME_KEYRING", "off"),
        ])
        .expect("set");
        assert_eq!(
            set.master_key
                .from_environment
                .as_ref()
                .map(|s| s.expose_secret().to_owned()),
            Some("s3cret".to_owned())
        );
        assert_eq!(set.master_key.file, PathBuf::from("/run/secrets/master"));
        assert!(!set.master_key.keyring);
        assert!(!format!("{set:?}").contains("s3cret"));
    }

    #[test]
    fn unknown_authsome_variables_are_reported() {
        let vars = EnvironmentVariables::from_pairs([
            ("AUTHSOME_DATABSE_URL", "x"),
            ("AUTHSOME_HOME", "/a"),
            ("PATH", "/bin"),
        ]);
        assert_eq!(vars.unknown_authsome_variables(), vec!["AUTHSOME_DATABSE_URL"]);
    }
}
