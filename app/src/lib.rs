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
pub mod latency_histogram;
pub mod master_secret;
pub mod protocol;
pub mod repeated_warning;
pub mod request_metrics;
pub mod services;
pub mod settings;
pub mod state;
pub mod telemetry;
pub mod vault;

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
