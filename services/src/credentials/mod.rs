//! Connections and their credentials: listing, reading, resolving to request headers,
//! exporting, defaults, global fallbacks, logout and revocation. The reference daemon's
//! `CredentialService`, over the encrypted vault. The pure rules (which headers a credential
//! gives, how exported variables are named) are in `authsome_domain::credential_headers` and
//! `authsome_domain::credential_export`.

use crate::ownership::Caller;
use crate::{AuthsomeError, ServiceError};

mod defaults;
mod export;
mod listing;
mod logout;
mod resolve;
mod vault_scope;

pub use authsome_domain::credential_export::ExportFormat;
pub use defaults::{
    global_connection_summaries, set_default_connection, set_global_connection, unset_global_connection,
};
pub use export::export;
pub use listing::{ConnectionSummary, ProviderConnections, get_connection, list_connections};
pub use logout::{logout, revoke};
pub use resolve::{
    CredentialSource, Effective, LocalConnection, ResolvedCredentials, read_local_connection, request_headers,
    resolve_credentials,
};
pub use vault_scope::{VaultScope, client_record, delete_client_record, save_client_record};

/// `ConnectionNotFoundError` for `caller` (the account pages when none).
fn not_found(provider: &str, connection: &str, caller: Option<&Caller>) -> ServiceError {
    let who = caller.map_or("account-ui", Caller::actor);
    AuthsomeError::connection_not_found(provider, connection, who).into()
}
