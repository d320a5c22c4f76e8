//! The blob-store, ownership-generation, replay-cache and session-store contract suites on the
//! in-memory adapters.

use std::sync::Arc;

use authsome_memory::{MemoryBlobStore, MemoryReplayCache};
use authsome_ports::contract::blob_store::BlobStoreFixture;
use authsome_ports::contract::ownership_generation::OwnershipGenerationFixture;
use authsome_ports::contract::replay_cache::ReplayCacheFixture;
use authsome_ports::contract::session_stores::SessionStoresFixture;
use authsome_ports::{
    AuthSessionStore, BrowserSessionStore, LeaseStore, OwnershipGeneration, PendingClaimStore, RateLimiter,
    ReplayCache, RuntimeState, VaultBlobStore,
};

struct Memory {
    blobs: Arc<MemoryBlobStore>,
    state: RuntimeState,
}

async fn fresh() -> Memory {
    Memory {
        blobs: Arc::new(MemoryBlobStore::new()),
        state: authsome_memory::runtime_state(10_000),
    }
}

impl BlobStoreFixture for Memory {
    fn store(&self) -> Arc<dyn VaultBlobStore> {
        self.blobs.clone()
    }
    fn second_client(&self) -> Arc<dyn VaultBlobStore> {
        self.blobs.clone()
    }
    fn listing_scale(&self) -> usize {
        12_000
    }
}

impl OwnershipGenerationFixture for Memory {
    fn generation(&self) -> Arc<dyn OwnershipGeneration> {
        self.state.ownership_generation.clone()
    }
    fn generation_second_client(&self) -> Arc<dyn OwnershipGeneration> {
        self.state.ownership_generation.clone()
    }
}

impl ReplayCacheFixture for Memory {
    fn cache(&self) -> Arc<dyn ReplayCache> {
        self.state.replay.clone()
    }
    fn second_client(&self) -> Arc<dyn ReplayCache> {
        self.state.replay.clone()
    }
}

impl SessionStoresFixture for Memory {
    fn auth_sessions(&self) -> Arc<dyn AuthSessionStore> {
        self.state.auth_sessions.clone()
    }
    fn auth_sessions_second_client(&self) -> Arc<dyn AuthSessionStore> {
        self.state.auth_sessions.clone()
    }
    fn leases(&self) -> Arc<dyn LeaseStore> {
        self.state.leases.clone()
    }
    fn leases_second_client(&self) -> Arc<dyn LeaseStore> {
        self.state.leases.clone()
    }
    fn pending_claims(&self) -> Arc<dyn PendingClaimStore> {
        self.state.pending_claims.clone()
    }
    fn pending_claims_second_client(&self) -> Arc<dyn PendingClaimStore> {
        self.state.pending_claims.clone()
    }
    fn browser_sessions(&self) -> Arc<dyn BrowserSessionStore> {
        self.state.browser_sessions.clone()
    }
    fn rate_limiter(&self) -> Arc<dyn RateLimiter> {
        self.state.rate_limiter.clone()
    }
    fn rate_limiter_second_client(&self) -> Arc<dyn RateLimiter> {
        self.state.rate_limiter.clone()
    }
    fn health(&self) -> Arc<dyn authsome_ports::StateHealth> {
        self.state.health.clone()
    }
}

mod blob_store {
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

#[tokio::test]
async fn a_full_replay_cache_fails_closed() {
    let cache = MemoryReplayCache::new(2);
    let later = authsome_domain::Timestamp::now().plus_seconds(60);
    let quota = |holder| authsome_ports::IdQuota {
        holder,
        ids: 10,
        window_seconds: 180,
    };
    cache.check_and_store("a", later, quota("x")).await.expect("room");
    cache.check_and_store("b", later, quota("y")).await.expect("room");
    let result = cache.check_and_store("c", later, quota("z")).await;
    assert!(matches!(result, Err(authsome_ports::StateError::Full)), "{result:?}");
}
