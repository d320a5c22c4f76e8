//! Key names, with an optional prefix (empty in production, for compatibility with the
//! reference; random in tests, for isolation).

/// Builds every Redis key this crate uses.
#[derive(Debug, Clone, Default)]
pub struct RedisKeys {
    prefix: String,
}

impl RedisKeys {
    /// Keys with no prefix: the reference daemon's layout.
    pub fn unprefixed() -> Self {
        Self::default()
    }

    /// Keys under `prefix` (for tests, or to share a Redis database between deployments).
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        Self { prefix: prefix.into() }
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `<collection>::<key>`.
    pub fn blob(&self, collection: &str, key: &str) -> String {
        format!("{}{collection}::{key}", self.prefix)
    }

    /// The SCAN pattern for keys of `collection` starting with `key_prefix`; glob
    /// metacharacters in the names match literally.
    pub fn blob_pattern(&self, collection: &str, key_prefix: &str) -> String {
        format!(
            "{}{}::{}*",
            escape_glob(&self.prefix),
            escape_glob(collection),
            escape_glob(key_prefix)
        )
    }

    /// The part of a blob key before the entry's own key.
    pub fn blob_collection_prefix(&self, collection: &str) -> String {
        format!("{}{collection}::", self.prefix)
    }

    /// The listing index of `collection`: a sorted set (all scores 0, so ordered by bytes) of
    /// its entries' keys. Ours, not the reference's: see `RedisBlobStore`.
    pub fn blob_index(&self, collection: &str) -> String {
        format!("{}authsome:vault-index:v1:collection:{collection}", self.prefix)
    }

    /// Set once every entry written before the index existed has been added to it.
    pub fn blob_index_built(&self) -> String {
        format!("{}authsome:vault-index:v1:built", self.prefix)
    }

    /// The SCAN pattern matching every vault entry under this prefix.
    pub fn every_blob_pattern(&self) -> String {
        format!("{}*::*", escape_glob(&self.prefix))
    }

    /// A used proof-of-possession token id.
    pub fn jti(&self, jti: &str) -> String {
        format!("{}authsome:pop:jti:{jti}", self.prefix)
    }

    /// How many token ids `holder` (an identity handle) has had recorded in its current
    /// window. Ours, not the reference's.
    pub fn token_id_quota(&self, holder: &str) -> String {
        format!("{}authsome:pop:quota:v1:{holder}", self.prefix)
    }

    /// A login session.
    pub fn auth_session(&self, id: &str) -> String {
        format!("{}authsome:auth-session:session:{id}", self.prefix)
    }

    /// OAuth state -> session id.
    pub fn oauth_state(&self, state: &str) -> String {
        format!("{}authsome:auth-session:oauth-state:{state}", self.prefix)
    }

    /// Session id -> OAuth state.
    pub fn session_state(&self, id: &str) -> String {
        format!("{}authsome:auth-session:session-state:{id}", self.prefix)
    }

    /// The ids of one owner's login sessions, scored by expiry (Unix seconds): what bounds
    /// the sessions an owner keeps open. Ours, not the reference's.
    pub fn auth_session_owner(&self, owner: &str) -> String {
        format!("{}authsome:auth-session:owner:v1:{owner}", self.prefix)
    }

    /// The schedule of device-code polls: a sorted set of session ids scored by when each
    /// poll is due (Unix seconds). Ours, not the reference's (it polled in a task of the
    /// replica that began the login).
    pub fn device_polls(&self) -> String {
        format!("{}authsome:auth-session:device-polls:v1", self.prefix)
    }

    /// A lease on a named piece of work. Ours.
    pub fn lease(&self, name: &str) -> String {
        format!("{}authsome:lease:v1:{name}", self.prefix)
    }

    /// A claim token.
    pub fn pending_claim(&self, token: &str) -> String {
        format!("{}authsome:ui-session:pending-claim:{token}", self.prefix)
    }

    /// A browser session, by the hash of its token.
    pub fn browser_session(&self, token_hash: &str) -> String {
        format!("{}authsome:ui-session:browser:{token_hash}", self.prefix)
    }

    /// The ownership generation.
    pub fn ownership_generation(&self) -> String {
        format!("{}authsome:ownership:generation:v1", self.prefix)
    }

    /// An attempt counter.
    pub fn rate_limit(&self, key: &str) -> String {
        format!("{}authsome:rate-limit:{key}", self.prefix)
    }

    /// The set of a principal's browser-session hashes.
    pub fn principal_browser_sessions(&self, principal_id: &str) -> String {
        format!("{}authsome:ui-session:principal:{principal_id}", self.prefix)
    }
}

fn escape_glob(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^' | '-') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_reference() {
        let keys = RedisKeys::unprefixed();
        assert_eq!(
            keys.blob(
                "vault:vault_0123456789ab",
                "vault:vault_0123456789ab:openai:connection:default"
            ),
            "vault:vault_0123456789ab::vault:vault_0123456789ab:openai:connection:default"
        );
        assert_eq!(keys.jti("abc"), "authsome:pop:jti:abc");
        assert_eq!(
            keys.pending_claim("claim_x"),
            "authsome:ui-session:pending-claim:claim_x"
        );
        assert_eq!(keys.auth_session("sess_1"), "authsome:auth-session:session:sess_1");
    }

    #[test]
    fn patterns_escape_glob_characters() {
        let keys = RedisKeys::with_prefix("t1:");
        assert_eq!(keys.blob_pattern("c*", "a?[b]"), "t1:c\\*::a\\?\\[b\\]*");
    }
}
