//! Every statement the registries run: static text, positional `$N` parameters, the
//! reference daemon's table and column names. Both SQLite and Postgres accept this text.
//! Writes whose effect the caller needs to know end in `RETURNING`: a row back means a row changed.

pub(crate) const PING: &str = "SELECT 1";

// --- identity_registrations -----------------------------------------------------------------
pub(crate) const IDENTITY_INSERT_IF_ABSENT: &str = "INSERT INTO identity_registrations (handle, did, created_at, updated_at) \
     VALUES ($1, $2, $3, $3) ON CONFLICT DO NOTHING RETURNING handle";
pub(crate) const IDENTITY_BY_HANDLE: &str =
    "SELECT handle, did, created_at, updated_at FROM identity_registrations WHERE handle = $1";
pub(crate) const IDENTITY_BY_DID: &str =
    "SELECT handle, did, created_at, updated_at FROM identity_registrations WHERE did = $1";

/// The ownership query with extra selected columns (`$1` handle).
///
/// The default-binding flag is a literal, not a parameter: SQLite checks a bound value
/// against the partial index `WHERE is_default = 1`, marks the statement as depending on it
/// and re-prepares the statement on every execution (measured: 143 µs per lookup instead of
/// tens; `cargo bench -p authsome-sqlite --bench ownership`).
macro_rules! identity_ownership_select {
    ($extra_columns:literal) => {
        concat!(
            "SELECT r.handle, r.did, r.created_at, r.updated_at, \
             c.principal_id AS claim_principal_id, c.claim_status, c.created_at AS claim_created_at, \
             c.updated_at AS claim_updated_at, p.role AS principal_role, p.email AS principal_email, \
             b.vault_id AS default_vault_id",
            $extra_columns,
            " FROM identity_registrations r \
             LEFT JOIN identity_claims c ON c.identity_handle = r.handle \
             LEFT JOIN principals p ON p.principal_id = c.principal_id \
             LEFT JOIN principal_vault_bindings b ON b.principal_id = c.principal_id AND b.is_default = TRUE \
             WHERE r.handle = $1"
        )
    };
}

/// The identity, its claim, the claiming principal and its default vault: everything a PoP
/// request needs, in one round trip.
pub const IDENTITY_OWNERSHIP: &str = identity_ownership_select!("");
/// [`IDENTITY_OWNERSHIP`] plus the custom provider definition named `$2` (NULL when none), for
/// credential resolution: one round trip instead of two.
pub const IDENTITY_OWNERSHIP_WITH_PROVIDER: &str = identity_ownership_select!(
    ", (SELECT d.definition_json FROM custom_provider_definitions d WHERE d.name = $2) AS custom_provider_json"
);

// --- principals -----------------------------------------------------------------------------
pub(crate) const PRINCIPAL_INSERT: &str = "INSERT INTO principals (principal_id, email, password_hash, role, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $5) \
     RETURNING principal_id, email, password_hash, role, created_at, updated_at";
/// The role is decided inside the insert, from the table as the statement sees it.
pub(crate) const PRINCIPAL_INSERT_FIRST_IS_ADMIN: &str = "INSERT INTO principals (principal_id, email, password_hash, role, created_at, updated_at) \
     SELECT $1, $2, $3, CASE WHEN EXISTS (SELECT 1 FROM principals) THEN 'user' ELSE 'admin' END, $4, $4 \
     RETURNING principal_id, email, password_hash, role, created_at, updated_at";
pub(crate) const PRINCIPAL_BY_ID: &str =
    "SELECT principal_id, email, password_hash, role, created_at, updated_at FROM principals WHERE principal_id = $1";
pub(crate) const PRINCIPAL_BY_EMAIL: &str =
    "SELECT principal_id, email, password_hash, role, created_at, updated_at FROM principals WHERE email = $1";
pub(crate) const PRINCIPAL_LIST: &str = "SELECT principal_id, email, password_hash, role, created_at, updated_at \
     FROM principals ORDER BY created_at, principal_id";
pub(crate) const PRINCIPAL_SET_PASSWORD: &str = "UPDATE principals SET password_hash = $1, updated_at = $2 WHERE principal_id = $3 \
     RETURNING principal_id, email, password_hash, role, created_at, updated_at";
pub(crate) const PRINCIPAL_SET_INITIAL_PASSWORD: &str = "UPDATE principals SET password_hash = $1, updated_at = $2 \
     WHERE principal_id = $3 AND password_hash IS NULL \
     RETURNING principal_id, email, password_hash, role, created_at, updated_at";
pub(crate) const PRINCIPAL_SET_ROLE: &str = "UPDATE principals SET role = $1, updated_at = $2 WHERE principal_id = $3 \
     RETURNING principal_id, email, password_hash, role, created_at, updated_at";
pub(crate) const PRINCIPAL_EXISTS: &str = "SELECT principal_id FROM principals WHERE principal_id = $1";

// --- vaults -----------------------------------------------------------------------------------
pub(crate) const VAULT_INSERT: &str = "INSERT INTO vaults (vault_id, handle, created_at, updated_at) VALUES ($1, $2, $3, $3) \
     RETURNING vault_id, handle, created_at, updated_at";
pub(crate) const VAULT_BY_ID: &str = "SELECT vault_id, handle, created_at, updated_at FROM vaults WHERE vault_id = $1";
pub(crate) const VAULT_LIST: &str =
    "SELECT vault_id, handle, created_at, updated_at FROM vaults ORDER BY created_at, vault_id";

// --- principal_vault_bindings -----------------------------------------------------------------
pub(crate) const BINDING_LIST_FOR_PRINCIPAL: &str = "SELECT principal_id, vault_id, is_default, created_at, updated_at \
     FROM principal_vault_bindings WHERE principal_id = $1 ORDER BY created_at, vault_id";
pub(crate) const BINDING_DEFAULT: &str = "SELECT principal_id, vault_id, is_default, created_at, updated_at \
     FROM principal_vault_bindings WHERE principal_id = $1 AND is_default = TRUE";
/// Makes an existing non-default binding the default, or inserts a new default binding.
pub(crate) const BINDING_UPSERT_DEFAULT: &str = "INSERT INTO principal_vault_bindings (principal_id, vault_id, is_default, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $4) \
     ON CONFLICT (principal_id, vault_id) DO UPDATE SET is_default = excluded.is_default, updated_at = excluded.updated_at \
     RETURNING principal_id, vault_id, is_default, created_at, updated_at";

// --- identity_claims ----------------------------------------------------------------------------
pub(crate) const CLAIM_BY_HANDLE: &str = "SELECT identity_handle, principal_id, claim_status, created_at, updated_at \
     FROM identity_claims WHERE identity_handle = $1";
pub(crate) const CLAIM_LIST_BY_STATUS_FOR_PRINCIPAL: &str = "SELECT identity_handle, principal_id, claim_status, created_at, updated_at \
     FROM identity_claims WHERE principal_id = $1 AND claim_status = $2 ORDER BY identity_handle";
pub(crate) const CLAIM_INSERT_IF_ABSENT: &str = "INSERT INTO identity_claims (identity_handle, principal_id, claim_status, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $4) ON CONFLICT (identity_handle) DO NOTHING";
pub(crate) const CLAIM_SET_STATUS: &str = "UPDATE identity_claims SET claim_status = $1, updated_at = $2 WHERE identity_handle = $3 \
     RETURNING identity_handle, principal_id, claim_status, created_at, updated_at";
/// Inserts an accepted claim, or accepts the same principal's existing claim; a claim held by
/// another principal is left alone and no row comes back.
pub(crate) const CLAIM_UPSERT_ACCEPTED: &str = "INSERT INTO identity_claims (identity_handle, principal_id, claim_status, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $4) \
     ON CONFLICT (identity_handle) DO UPDATE SET claim_status = excluded.claim_status, updated_at = excluded.updated_at \
     WHERE identity_claims.principal_id = excluded.principal_id \
     RETURNING identity_handle, principal_id, claim_status, created_at, updated_at";

// --- global_provider_connections ------------------------------------------------------------------
pub(crate) const GLOBAL_BY_PROVIDER: &str = "SELECT provider, owner_principal_id, owner_vault_id, connection_name, created_by_identity, \
     created_at, updated_at FROM global_provider_connections WHERE provider = $1";
pub(crate) const GLOBAL_LIST: &str = "SELECT provider, owner_principal_id, owner_vault_id, connection_name, created_by_identity, \
     created_at, updated_at FROM global_provider_connections ORDER BY provider";
/// `created_at` is not in the update list, so an existing pointer keeps it.
pub(crate) const GLOBAL_UPSERT: &str = "INSERT INTO global_provider_connections \
     (provider, owner_principal_id, owner_vault_id, connection_name, created_by_identity, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $6) \
     ON CONFLICT (provider) DO UPDATE SET owner_principal_id = excluded.owner_principal_id, \
     owner_vault_id = excluded.owner_vault_id, connection_name = excluded.connection_name, \
     created_by_identity = excluded.created_by_identity, updated_at = excluded.updated_at \
     RETURNING provider, owner_principal_id, owner_vault_id, connection_name, created_by_identity, created_at, updated_at";
pub(crate) const GLOBAL_DELETE: &str = "DELETE FROM global_provider_connections WHERE provider = $1 RETURNING provider";
pub(crate) const GLOBAL_DELETE_IF_TARGET: &str = "DELETE FROM global_provider_connections \
     WHERE provider = $1 AND owner_vault_id = $2 AND connection_name = $3 RETURNING provider";
pub(crate) const GLOBAL_DELETE_IF_TARGET_UNCHANGED: &str = "DELETE FROM global_provider_connections \
     WHERE provider = $1 AND owner_vault_id = $2 AND connection_name = $3 AND updated_at = $4 RETURNING provider";

// --- server_config ----------------------------------------------------------------------------------
pub(crate) const SERVER_CONFIG_GET: &str = "SELECT config_json FROM server_config WHERE config_key = $1";
pub(crate) const SERVER_CONFIG_INSERT_IF_ABSENT: &str = "INSERT INTO server_config (config_key, config_json, created_at, updated_at) \
     VALUES ($1, $2, $3, $3) ON CONFLICT (config_key) DO NOTHING";
pub(crate) const SERVER_CONFIG_UPSERT: &str = "INSERT INTO server_config (config_key, config_json, created_at, updated_at) \
     VALUES ($1, $2, $3, $3) \
     ON CONFLICT (config_key) DO UPDATE SET config_json = excluded.config_json, updated_at = excluded.updated_at";
/// Compare-and-swap: replaces the document only if it is still the text `$3` that was read.
pub(crate) const SERVER_CONFIG_REPLACE_IF_UNCHANGED: &str = "UPDATE server_config \
     SET config_json = $2, updated_at = $4 WHERE config_key = $1 AND config_json = $3 RETURNING config_key";

// --- custom_provider_definitions --------------------------------------------------------------------
pub(crate) const PROVIDER_BY_NAME: &str = "SELECT definition_json FROM custom_provider_definitions WHERE name = $1";
pub(crate) const PROVIDER_LIST: &str = "SELECT definition_json FROM custom_provider_definitions ORDER BY name";
pub(crate) const PROVIDER_INSERT_IF_ABSENT: &str = "INSERT INTO custom_provider_definitions (name, definition_json, created_at, updated_at) \
     VALUES ($1, $2, $3, $3) ON CONFLICT (name) DO NOTHING RETURNING name";
pub(crate) const PROVIDER_UPDATE: &str =
    "UPDATE custom_provider_definitions SET definition_json = $2, updated_at = $3 WHERE name = $1 RETURNING name";
pub(crate) const PROVIDER_UPSERT: &str = "INSERT INTO custom_provider_definitions (name, definition_json, created_at, updated_at) \
     VALUES ($1, $2, $3, $3) \
     ON CONFLICT (name) DO UPDATE SET definition_json = excluded.definition_json, updated_at = excluded.updated_at";
pub(crate) const PROVIDER_DELETE: &str = "DELETE FROM custom_provider_definitions WHERE name = $1 RETURNING name";

// --- audit_events ---------------------------------------------------------------------------------------
pub(crate) const AUDIT_INSERT_IF_ABSENT: &str = "INSERT INTO audit_events \
     (event_id, timestamp, event, source, principal_id, identity, provider, connection, payload_json, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (event_id) DO NOTHING";
/// One static query for every filter combination: a NULL parameter disables its filter.
/// `$3`/`$4` are the cursor's timestamp text and event id; `$5` is the page size plus one;
/// `$6` the provider and `$7` the event kind.
pub(crate) const AUDIT_PAGE: &str = "SELECT event_id, timestamp, payload_json FROM audit_events \
     WHERE ($1 IS NULL OR principal_id = $1) \
     AND ($2 IS NULL OR identity = $2) \
     AND ($3 IS NULL OR timestamp < $3 OR (timestamp = $3 AND event_id < $4)) \
     AND ($6 IS NULL OR provider = $6) \
     AND ($7 IS NULL OR event = $7) \
     ORDER BY timestamp DESC, event_id DESC LIMIT $5";
