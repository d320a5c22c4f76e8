//! One module per subcommand.

pub mod healthcheck;
pub mod import_home;
pub mod init;
pub mod migrate;
pub mod openapi;
pub mod rotate_master_key;
pub mod serve;

/// How a command failed; `main` prints it and picks the exit code.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A setting is unusable (exit code 2).
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    /// A backend could not be brought up (exit code 1).
    #[error(transparent)]
    Startup(#[from] crate::composition::StartupError),
    /// The command was used wrongly (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The vault refused the operation (exit code 1).
    #[error(transparent)]
    Vault(#[from] authsome_services::vault::VaultError),
    /// A step of the command failed (exit code 1).
    #[error("{0}")]
    Failed(String),
    /// The server could not listen or stopped with an error (exit code 1).
    #[error("cannot serve on {address}")]
    Serve {
        /// The address.
        address: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A local file or directory could not be created (exit code 1).
    #[error("cannot create {path}")]
    Filesystem {
        /// The path.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// `applied: 1, 2` or `up to date`.
pub(crate) fn describe_applied(applied: &[i64]) -> String {
    if applied.is_empty() {
        "up to date".to_owned()
    } else {
        let versions: Vec<String> = applied.iter().map(i64::to_string).collect();
        format!("applied migrations {}", versions.join(", "))
    }
}
