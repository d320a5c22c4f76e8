//! The application services: what the daemon does, independent of HTTP. Each takes the ports
//! it needs from [`AppState`](crate::state::AppState) and returns [`ServiceError`]s that the
//! HTTP layer maps to the reference daemon's error shapes.

pub mod accounts;
pub mod audit;
pub mod auth_sessions;
pub mod catalog;
pub mod credentials;
pub mod errors;
pub mod identities;
pub mod oauth;
pub mod ownership;
pub mod providers;
pub mod proxy_routes;
pub mod readiness;

pub use errors::{AuthsomeError, ServiceError};
