-- Listing a principal's accepted identities (every dashboard page, every `authsome whoami`)
-- filters claims by principal; the reference has no index for it.
CREATE INDEX IF NOT EXISTS idx_identity_claims_principal ON identity_claims(principal_id, claim_status);
