//! The blob-store, ownership-generation, replay-cache and session-store contract suites on a real Redis, under a
//! fresh key prefix per case. Needs `AUTHSOME_TEST_REDIS_URL`; fails when it is not set.

use std::sync::Arc;

use authsome_domain::vault_crypto::{DataKey, EnvelopeVersion, VaultCipher};
use authsome_ports::contract::blob_store::BlobStoreFixture;
use authsome_ports::contract::ownership_generation::OwnershipGenerationFixture;
use authsome_ports::contract::replay_cache::ReplayCacheFixture;
use authsome_ports::contract::session_stores::SessionStoresFixture;
use authsome_ports::{
    AuthSessionStore, BrowserSessionStore, LeaseStore, OwnershipGeneration, PendingClaimStore, RateLimiter,
    ReplayCache, RuntimeState, VaultBlobStore,
};
use authsome_redis::RedisBlobStore;
use authsome_redis::test_prefix::TestPrefix;

struct Redis {
    first: (Arc<RedisBlobStore>, RuntimeState),
    second: (Arc<RedisBlobStore>, RuntimeState),
    _prefix: TestPrefix,
}

async fn fresh() -> Redis {
    let prefix = TestPrefix::new();
    let cipher = Arc::new(VaultCipher::new(
        &DataKey::generate().expect("key"),
        EnvelopeVersion::V2,
    ));
    let mut clients = Vec::new();
    for _ in 0..2 {
        // Two connections: two replicas sharing one Redis.
        let connection = prefix.connect().await;
        clients.push((
            Arc::new(RedisBlobStore::new(connection.clone(), prefix.keys())),
            authsome_redis::runtime_state(connection, prefix.keys(), cipher.clone()),
        ));
    }
    let second = clients.pop().expect("two");
    let first = clients.pop().expect("two");
    Redis {
        first,
        second,
        _prefix: prefix,
    }
}

impl BlobStoreFixture for Redis {
    fn store(&self) -> Arc<dyn VaultBlobStore> {
        self.first.0.clone()
    }
    fn second_client(&self) -> Arc<dyn VaultBlobStore> {
        self.second.0.clone()
    }
    fn listing_scale(&self) -> usize {
        // Past the reference's silent 10 000-key SCAN cap.
        10_050
    }
}

impl OwnershipGenerationFixture for Redis {
    fn generation(&self) -> Arc<dyn OwnershipGeneration> {
        self.first.1.ownership_generation.clone()
    }
    fn generation_second_client(&self) -> Arc<dyn OwnershipGeneration> {
        self.second.1.ownership_generation.clone()
    }
}

impl ReplayCacheFixture for Redis {
    fn cache(&self) -> Arc<dyn ReplayCache> {
        self.first.1.replay.clone()
    }
    fn second_client(&self) -> Arc<dyn ReplayCache> {
        self.second.1.replay.clone()
    }
}

impl SessionStoresFixture for Redis {
    fn auth_sessions(&self) -> Arc<dyn AuthSessionStore> {
        self.first.1.auth_sessions.clone()
    }
    fn auth_sessions_second_client(&self) -> Arc<dyn AuthSessionStore> {
        self.second.1.auth_sessions.clone()
    }
    fn leases(&self) -> Arc<dyn LeaseStore> {
        self.first.1.leases.clone()
    }
    fn leases_second_client(&self) -> Arc<dyn LeaseStore> {
        self.second.1.leases.clone()
    }
    fn pending_claims(&self) -> Arc<dyn PendingClaimStore> {
        self.first.1.pending_claims.clone()
    }
    fn pending_claims_second_client(&self) -> Arc<dyn PendingClaimStore> {
        self.second.1.pending_claims.clone()
    }
    fn browser_sessions(&self) -> Arc<dyn BrowserSessionStore> {
        self.first.1.browser_sessions.clone()
    }
    fn rate_limiter(&self) -> Arc<dyn RateLimiter> {
        self.first.1.rate_limiter.clone()
    }
    fn rate_limiter_second_client(&self) -> Arc<dyn RateLimiter> {
        self.second.1.rate_limiter.clone()
    }
    fn health(&self) -> Arc<dyn authsome_ports::StateHealth> {
        self.first.1.health.clone()
    }
}

/// A fresh prefix whose listing index is built (empty), so listings read the index: the
/// steady state of a deployment.
async fn fresh_indexed() -> Redis {
    let redis = fresh().await;
    let build = redis.first.0.build_listing_index().await.expect("build the index");
    assert!(!build.already_built && build.added == 0, "{build:?}");
    redis
}

mod blob_store {
    use super::fresh_indexed;
    authsome_ports::blob_store_contract_tests!(fresh_indexed);
}

/// The same contract before the index is built: listings SCAN (a deployment taken over from
/// authsome 0.7.2, while the background build has not finished).
mod blob_store_before_the_index_is_built {
    use super::fresh;
    authsome_ports::blob_store_contract_tests!(fresh);
}

mod ownership_generation {
    use super::fresh;
    authsome_ports::ownership_generation_contract_tests!(fresh);
}

mod replay_cache {
    use super::fresh;
    authsome_ports::replay_cache_contract_tests!(fresh);
}

mod session_stores {
    use super::fresh;
    authsome_ports::session_stores_contract_tests!(fresh);
}
