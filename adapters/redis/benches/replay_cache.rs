//! The Redis replay check (one script round trip on loopback: the `SET NX EX` and the holder's quota), sequential and with 16
//! requests in flight on the multiplexed connection. Needs `AUTHSOME_TEST_REDIS_URL`.
#![allow(missing_docs)]

use authsome_domain::Timestamp;
use authsome_ports::{IdQuota, ReplayCache};
use authsome_redis::RedisReplayCache;
use authsome_redis::test_prefix::TestPrefix;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// One holder with a quota that never binds: the bench measures the check itself.
const AGENT: IdQuota<'static> = IdQuota {
    holder: "bench-agent",
    ids: u64::MAX,
    window_seconds: 180,
};

fn replay_cache(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let prefix = TestPrefix::new();
    let cache = std::sync::Arc::new(RedisReplayCache::new(runtime.block_on(prefix.connect()), prefix.keys()));
    let later = Timestamp::now().plus_seconds(60);
    let mut n = 0u64;
    c.bench_function("replay_cache/redis/check_and_store_fresh", |b| {
        b.iter(|| {
            n += 1;
            runtime
                .block_on(cache.check_and_store(&format!("jti-{n}"), later, AGENT))
                .expect("fresh")
        })
    });
    let mut group = c.benchmark_group("replay_cache/redis");
    group.throughput(Throughput::Elements(16));
    group.bench_function("16_concurrent_checks", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut tasks = tokio::task::JoinSet::new();
                for _ in 0..16 {
                    n += 1;
                    let (cache, jti) = (cache.clone(), format!("jti-{n}"));
                    tasks.spawn(async move { cache.check_and_store(&jti, later, AGENT).await.expect("fresh") });
                }
                while tasks.join_next().await.is_some() {}
            })
        })
    });
    group.finish();
}

criterion_group!(benches, replay_cache);
criterion_main!(benches);
