//! # authsome-services
//!
//! What the daemon does and the rules it keeps (who may see and change what): the
//! application services, the encrypted vault, the provider catalog and the
//! [`ServiceContext`] they all run on. Each service takes the ports it
//! needs from the context and returns [`ServiceError`]s, which the HTTP layer alone maps to
//! statuses and the reference daemon's error shapes.
//!
//! This crate depends on `authsome-domain` and `authsome-ports` only: no HTTP (`poem`, status
//! codes), no concrete adapter, no database or Redis client. `cargo deny` (the `[bans]` in
//! `deny.toml`) enforces it; the composition root in `authsome-app` hands it the adapters.

pub mod accounts;
pub mod audit;
pub mod auth_sessions;
pub mod catalog;
pub mod connections;
pub mod context;
pub mod credentials;
pub mod errors;
pub mod home_import;
pub mod identities;
pub mod latency_histogram;
pub mod oauth;
pub mod ownership;
pub mod ownership_cache;
pub mod providers;
pub mod proxy_routes;
pub mod readiness;
pub mod repeated_warning;
pub mod vault;

pub use context::{ServiceContext, ServicePolicy};
pub use errors::{AuthsomeError, ServiceError};

/// `outer: inner: innermost`, the way an operator wants to read a failure (each source once).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
