//! The `authsome` command line.

use clap::{Args, Parser, Subcommand};

/// authsome-rs: the credential vault AI agents call for API keys and OAuth tokens.
///
/// Every setting comes from `AUTHSOME_*` environment variables (see docs/configuration.md);
/// each subcommand's help names the ones it reads.
#[derive(Debug, Parser)]
#[command(name = "authsome", version = crate::protocol::VERSION_TEXT)]
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
    /// Safe to run again: an existing database is migrated, nothing is overwritten. Reads
    /// AUTHSOME_HOME, AUTHSOME_DATABASE_URL, AUTHSOME_ADMIN_EMAIL, AUTHSOME_BASE_URL (for the
    /// setup link) and the vault and master key settings.
    Init {
        /// Create (or promote) this account as an administrator and print a one-time setup
        /// link (valid 24 hours) with which that person chooses a password. How the first
        /// admin is made when open sign-up is off (always in production).
        #[arg(long, value_name = "EMAIL", env = "AUTHSOME_ADMIN_EMAIL")]
        admin_email: Option<String>,
    },
    /// Serve the daemon on AUTHSOME_HOST:AUTHSOME_PORT (default 127.0.0.1:7998) until SIGTERM or
    /// SIGINT; in-flight requests finish first.
    ///
    /// Reads every server setting: AUTHSOME_HOST, AUTHSOME_PORT, AUTHSOME_BASE_URL, AUTHSOME_ENV,
    /// AUTHSOME_HOME, AUTHSOME_DATABASE_URL, AUTHSOME_REDIS_URL, AUTHSOME_VAULT_BACKEND, the
    /// master key (AUTHSOME_MASTER_KEY, AUTHSOME_MASTER_KEY_FILE or the OS keyring,
    /// AUTHSOME_KEYRING), AUTHSOME_LOG and the limits and timeouts in docs/configuration.md.
    Serve(ServeArgs),
    /// The reference's spelling: `authsome daemon serve` is `authsome serve`.
    Daemon {
        /// What to do with the daemon.
        #[command(subcommand)]
        command: DaemonCommand,
    },
    /// Check that the server on AUTHSOME_HOST:AUTHSOME_PORT answers (exit 0) or not (exit 1):
    /// the container HEALTHCHECK, with no curl needed.
    ///
    /// Reads AUTHSOME_HOST, AUTHSOME_PORT and AUTHSOME_ENV only.
    Healthcheck {
        /// Ask `/ready` (every backend probed) instead of `/health` (the process answers).
        #[arg(long)]
        ready: bool,
    },
    /// Print the OpenAPI document (JSON) of the daemon's API. Reads no setting.
    Openapi,
    /// Apply pending database migrations (safe while other replicas start or serve).
    ///
    /// Reads AUTHSOME_DATABASE_URL (else the SQLite database under AUTHSOME_HOME).
    Migrate,
    /// Re-wrap the vault's data key under a new master secret (safe while replicas serve).
    ///
    /// The new secret comes from AUTHSOME_NEW_MASTER_KEY or --new-key-file. No stored value is
    /// re-encrypted. When the current secret came from a key file or the OS keyring, the new
    /// one replaces it there; when it came from AUTHSOME_MASTER_KEY, update that variable on
    /// every replica (set the old one as AUTHSOME_MASTER_KEY_PREVIOUS while rolling out).
    /// Also reads the vault settings (AUTHSOME_VAULT_BACKEND, AUTHSOME_REDIS_URL, AUTHSOME_HOME).
    RotateMasterKey {
        /// A file holding the new master secret.
        #[arg(long, value_name = "PATH")]
        new_key_file: Option<std::path::PathBuf>,
    },
    /// Take over the local home of an authsome 0.7.2 install: its registry (agents, people,
    /// claims, vaults, custom providers, audit log) and its disk vault.
    ///
    /// The 0.7.2 home is only read; stop its daemon first. Rows are copied into the SQLite
    /// database under AUTHSOME_HOME (adopted in place when AUTHSOME_HOME is the 0.7.2 home
    /// itself); every vault value is decrypted with the 0.7.2 master secret
    /// (AUTHSOME_MASTER_KEY, the OS keyring, or PATH/server/master.key) and sealed again in this
    /// server's vault. Safe to run again: nothing already here is overwritten. Reads
    /// AUTHSOME_HOME and the vault and master key settings.
    ImportHome {
        /// The 0.7.2 home (the AUTHSOME_HOME it ran with; by default ~/.authsome).
        #[arg(value_name = "PATH")]
        path: std::path::PathBuf,
    },
}

/// `authsome daemon ...`.
#[derive(Debug, Subcommand)]
pub enum DaemonCommand {
    /// The same as `authsome serve`.
    Serve(ServeArgs),
}

/// Where `serve` listens: flags that stand for AUTHSOME_HOST and AUTHSOME_PORT and win over
/// them, as 0.7.2's `daemon serve --host --port`.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// The address to listen on (AUTHSOME_HOST).
    #[arg(long, value_name = "ADDRESS")]
    pub host: Option<String>,
    /// The port to listen on (AUTHSOME_PORT).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
}

impl ServeArgs {
    /// The environment with these flags in place of the variables they stand for.
    pub fn apply(&self, vars: crate::settings::EnvironmentVariables) -> crate::settings::EnvironmentVariables {
        let vars = match &self.host {
            Some(host) => vars.with("AUTHSOME_HOST", host.clone()),
            None => vars,
        };
        match self.port {
            Some(port) => vars.with("AUTHSOME_PORT", port.to_string()),
            None => vars,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_of_serve_take_host_and_port() {
        for argv in [
            vec!["authsome", "serve", "--host", "0.0.0.0", "--port", "8080"],
            vec!["authsome", "daemon", "serve", "--host", "0.0.0.0", "--port", "8080"],
        ] {
            let cli = Cli::try_parse_from(&argv).expect("parses");
            let args = match cli.command {
                Command::Serve(args)
                | Command::Daemon {
                    command: DaemonCommand::Serve(args),
                } => args,
                other => panic!("{argv:?} gave {other:?}"),
            };
            let vars = args.apply(crate::settings::EnvironmentVariables::from_pairs([(
                "AUTHSOME_PORT",
                "7998",
            )]));
            assert_eq!(vars.get("AUTHSOME_PORT"), Some("8080"));
            assert_eq!(vars.get("AUTHSOME_HOST"), Some("0.0.0.0"));
        }
        assert!(Cli::try_parse_from(["authsome", "serve", "--port", "seventy"]).is_err());
    }
}
