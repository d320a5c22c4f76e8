//! The in-memory replay check on a cache holding 100 000 long-lived ids. Each measured id is
//! remembered for the minimum second, so in steady state every iteration pays for one insert
//! and one expiry (a server whose ids live as long as their tokens), on a cache holding the
//! warm ids plus about a second of iterations.
#![allow(missing_docs)]

use authsome_domain::Timestamp;
use authsome_memory::MemoryReplayCache;
use authsome_ports::{IdQuota, ReplayCache};
use criterion::{Criterion, criterion_group, criterion_main};

/// One holder with a quota that never binds: the bench measures the check itself.
const AGENT: IdQuota<'static> = IdQuota {
    holder: "bench-agent",
    ids: u64::MAX,
    window_seconds: 180,
};

fn replay_cache(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    // Room for a second of iterations at any speed this machine reaches.
    let cache = MemoryReplayCache::new(20 * authsome_memory::DEFAULT_CAPACITY);
    let later = Timestamp::now().plus_seconds(600);
    for i in 0..100_000 {
        runtime
            .block_on(cache.check_and_store(&format!("warm-{i}"), later, AGENT))
            .expect("room");
    }
    let mut n = 0u64;
    c.bench_function("replay_cache/memory/check_and_store_fresh", |b| {
        b.iter(|| {
            n += 1;
            runtime
                .block_on(cache.check_and_store(&format!("jti-{n}"), Timestamp::now(), AGENT))
                .expect("fresh")
        })
    });
}

criterion_group!(benches, replay_cache);
criterion_main!(benches);
