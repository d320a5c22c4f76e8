//! Typed, validated settings from `AUTHSOME_*` environment variables.
//!
//! Every setting is read once, at startup. A value that cannot be used stops startup with a
//! message that names the variable; secrets (the database URL can carry a password) are held
//! in [`SecretString`] and never printed. Names are matched case-insensitively, as the
//! reference daemon does.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use thiserror::Error;

/// Every variable this program reads (upper case), for the unknown-variable warning.
pub const KNOWN_VARIABLES: &[&str] = &[
    "AUTHSOME_ENV",
    "AUTHSOME_HOME",
    "AUTHSOME_BASE_URL",
    "AUTHSOME_VERSION",
    "AUTHSOME_DATABASE_URL",
    "AUTHSOME_POSTGRES_POOL_MIN_SIZE",
    "AUTHSOME_POSTGRES_POOL_MAX_SIZE",
    "AUTHSOME_LOG",
    // Read by the reference CLI, not by the server; listed so they cause no warning.
    "AUTHSOME_IDENTITY",
    "AUTHSOME_IDENTITY_PRIVATE_KEY",
    "AUTHSOME_PROXY_MODE",
    // Used only by the test suites.
    "AUTHSOME_TEST_DATABASE_URL",
    "AUTHSOME_TEST_REDIS_URL",
];

/// A snapshot of the environment, with case-insensitive lookup.
#[derive(Clone, Default)]
pub struct EnvironmentVariables {
    by_upper_name: BTreeMap<String, String>,
}

impl EnvironmentVariables {
    /// The current process environment (variables that are not valid Unicode are ignored).
    pub fn from_process() -> Self {
        Self::from_pairs(std::env::vars())
    }

    /// A given set of variables (for tests and embedding).
    pub fn from_pairs<K: AsRef<str>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self {
            by_upper_name: pairs
                .into_iter()
                .map(|(k, v)| (k.as_ref().to_ascii_uppercase(), v.into()))
                .collect(),
        }
    }

    /// The value of `name`, when set and not blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.by_upper_name
            .get(&name.to_ascii_uppercase())
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// `AUTHSOME_*` variables this program does not know (likely typos), sorted.
    pub fn unknown_authsome_variables(&self) -> Vec<&str> {
        self.by_upper_name
            .keys()
            .filter(|k| k.starts_with("AUTHSOME_") && !KNOWN_VARIABLES.contains(&k.as_str()))
            .map(String::as_str)
            .collect()
    }
}

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

/// Every setting, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `AUTHSOME_ENV`.
    pub env: DeploymentEnv,
    /// `AUTHSOME_HOME`: root of the server's local files.
    pub home: PathBuf,
    /// `AUTHSOME_DATABASE_URL` (or `DATABASE_URL`) and the pool sizes.
    pub database: DatabaseSettings,
}

impl Settings {
    /// Reads and validates every setting.
    pub fn from_env(vars: &EnvironmentVariables) -> Result<Self, SettingsError> {
        let env = match vars.get("AUTHSOME_ENV").map(str::trim) {
            None | Some("dev") => DeploymentEnv::Dev,
            Some("test") => DeploymentEnv::Test,
            Some("prod") => DeploymentEnv::Prod,
            Some(other) => {
                return Err(SettingsError::new(
                    "AUTHSOME_ENV",
                    format!("must be one of prod, dev, test (got {other:?})"),
                ));
            }
        };
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
        Ok(Self { env, home, database })
    }

    /// `{home}/server`: the server's private directory.
    pub fn server_dir(&self) -> PathBuf {
        self.home.join("server")
    }
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
        let ok = settings(&[("AUTHSOME_ENV", "prod"), ("AUTHSOME_DATABASE_URL", "postgres://db/x")]).expect("postgres");
        assert_eq!(ok.env, DeploymentEnv::Prod);
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
