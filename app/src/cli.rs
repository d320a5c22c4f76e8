//! The `authsome` command line.

use clap::{Parser, Subcommand};

/// authsome-rs: the credential vault AI agents call for API keys and OAuth tokens.
///
/// Every setting comes from `AUTHSOME_*` environment variables (see docs/configuration.md).
#[derive(Debug, Parser)]
#[command(name = "authsome", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the home directory and the database, and apply every migration.
    ///
    /// Safe to run again: an existing database is migrated, nothing is overwritten.
    Init {
        /// Create (or promote) this account as an administrator and print a one-time setup
        /// link (valid 24 hours) with which that person chooses a password. How the first
        /// admin is made when open sign-up is off (always in production).
        #[arg(long, value_name = "EMAIL", env = "AUTHSOME_ADMIN_EMAIL")]
        admin_email: Option<String>,
    },
    /// Serve the daemon on AUTHSOME_HOST:AUTHSOME_PORT (default 127.0.0.1:7998) until SIGTERM or
    /// SIGINT; in-flight requests finish first.
    Serve,
    /// Check that the server on AUTHSOME_HOST:AUTHSOME_PORT answers (exit 0) or not (exit 1):
    /// the container HEALTHCHECK, with no curl needed.
    Healthcheck {
        /// Ask `/ready` (every backend probed) instead of `/health` (the process answers).
        #[arg(long)]
        ready: bool,
    },
    /// Print the OpenAPI document (JSON) of the daemon's API.
    Openapi,
    /// Apply pending database migrations (safe while other replicas start or serve).
    Migrate,
    /// Re-wrap the vault's data key under a new master secret (safe while replicas serve).
    ///
    /// The new secret comes from AUTHSOME_NEW_MASTER_KEY or --new-key-file. No stored value is
    /// re-encrypted. When the current secret came from a key file or the OS keyring, the new
    /// one replaces it there; when it came from AUTHSOME_MASTER_KEY, update that variable on
    /// every replica (set the old one as AUTHSOME_MASTER_KEY_PREVIOUS while rolling out).
    RotateMasterKey {
        /// A file holding the new master secret.
        #[arg(long, value_name = "PATH")]
        new_key_file: Option<std::path::PathBuf>,
    },
}
