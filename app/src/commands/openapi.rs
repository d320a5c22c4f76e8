//! `authsome openapi`: prints the OpenAPI document, built from the code with no backend.

use crate::commands::CommandError;

/// The document as JSON (what `openapi/openapi.json` commits).
pub fn run() -> Result<String, CommandError> {
    Ok(crate::http::api::document())
}
