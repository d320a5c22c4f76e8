//! # authsome-app
//!
//! The outermost layer of authsome-rs: typed settings from `AUTHSOME_*` variables, the one
//! composition root that turns settings into concrete adapters, and the `authsome` command
//! line. Nothing else in the workspace depends on this crate; it is the only place that
//! names concrete adapters.

pub mod cli;
pub mod commands;
pub mod composition;
pub mod http;
pub mod master_secret;
pub mod protocol;
pub mod request_metrics;
pub mod settings;
pub mod state;
pub mod telemetry;

pub use authsome_services::error_chain;
