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
    Init,
    /// Apply pending database migrations (safe while other replicas start or serve).
    Migrate,
}
