//! The application services: what the daemon does and the rules it keeps (who may see and
//! change what), with no HTTP in them: no `poem`, no status codes. Each takes the ports it
//! needs from [`AppState`](crate::state::AppState) and returns [`ServiceError`]s, which the
//! HTTP layer alone maps to statuses and the reference daemon's error shapes.

pub mod accounts;
pub mod audit;
pub mod auth_sessions;
pub mod catalog;
pub mod connections;
pub mod credentials;
pub mod errors;
pub mod identities;
pub mod oauth;
pub mod ownership;
pub mod providers;
pub mod proxy_routes;
pub mod readiness;

pub use errors::{AuthsomeError, ServiceError};
