-- The schema of authsome 0.7.2 (its store migrations 1 and 2), created only where missing, so
-- that a database written by the reference daemon is adopted as it is.

-- A reference replica migrating this database at the same moment holds this lock (the
-- reference's own schema lock id); taking it here serialises the two migrators.
SELECT pg_advisory_xact_lock(715504817119338103);

CREATE TABLE IF NOT EXISTS store_schema_version (version INTEGER PRIMARY KEY);

CREATE TABLE IF NOT EXISTS identity_registrations (
    handle TEXT PRIMARY KEY,
    did TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS principals (
    principal_id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    role TEXT NOT NULL DEFAULT 'user',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS vaults (
    vault_id TEXT PRIMARY KEY,
    handle TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS identity_claims (
    identity_handle TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals(principal_id) ON DELETE CASCADE,
    claim_status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS principal_vault_bindings (
    principal_id TEXT NOT NULL REFERENCES principals(principal_id) ON DELETE CASCADE,
    vault_id TEXT NOT NULL REFERENCES vaults(vault_id) ON DELETE CASCADE,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (principal_id, vault_id)
);

CREATE UNIQUE INDEX IF NOT EXISTS idx_principal_vault_default
    ON principal_vault_bindings(principal_id) WHERE is_default = TRUE;

CREATE TABLE IF NOT EXISTS server_config (
    config_key TEXT PRIMARY KEY,
    config_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS custom_provider_definitions (
    name TEXT PRIMARY KEY,
    definition_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS global_provider_connections (
    provider TEXT PRIMARY KEY,
    owner_principal_id TEXT NOT NULL REFERENCES principals(principal_id) ON DELETE CASCADE,
    owner_vault_id TEXT NOT NULL REFERENCES vaults(vault_id) ON DELETE CASCADE,
    connection_name TEXT NOT NULL,
    created_by_identity TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_events (
    event_id TEXT PRIMARY KEY,
    timestamp TEXT NOT NULL,
    event TEXT NOT NULL,
    source TEXT NOT NULL,
    principal_id TEXT,
    identity TEXT,
    provider TEXT,
    connection TEXT,
    payload_json TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS idx_audit_events_timestamp ON audit_events(timestamp DESC, event_id DESC);
CREATE INDEX IF NOT EXISTS idx_audit_events_principal ON audit_events(principal_id);
CREATE INDEX IF NOT EXISTS idx_audit_events_identity ON audit_events(identity);

-- Tell a reference replica that its own migrations are already applied.
INSERT INTO store_schema_version (version) VALUES (1), (2) ON CONFLICT (version) DO NOTHING;
