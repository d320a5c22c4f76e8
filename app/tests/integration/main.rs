//! The app's integration tests, in one binary: the `authsome` command (its subcommands and
//! `serve` as a process), the HTTP endpoint in the test process over SQLite and the memory
//! vault ([`support::Daemon`], the one place the test state is built), the OAuth logins
//! against node-oidc-provider, the services' rules at their seam, and the documents.
//!
//! `hostile_load` is the one test outside: it installs a process-wide log subscriber to count
//! what a flood makes the server log, which the other tests' logs would inflate.

mod authorization_rules;
mod cli_init_migrate;
mod connection_limits;
mod dashboard;
mod docs;
mod http_api;
mod http_security;
mod master_secret;
mod oauth_logins;
mod oauth_provider_failures;
mod oauth_refresh;
mod os_keyring;
mod ownership_cache;
mod reference_interop;
mod serve;
mod support;
mod telemetry;
mod vault;
