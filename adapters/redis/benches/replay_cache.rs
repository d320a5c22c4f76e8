//! The Redis replay check (one `SET NX EX` round trip on loopback), sequential and with 16
//! requests in flight on the multiplexed connection. Needs `AUTHSOME_TEST_REDIS_URL`.
#![allow(missing_docs)]

use authsome_domain::Timestamp;
use authsome_ports::ReplayCache;
use authsome_redis::RedisReplayCache;
use authsome_redis::test_prefix::TestPrefix;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

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
                .block_on(cache.check_and_store(&format!("jti-{n}"), later))
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
                    tasks.spawn(async move { cache.check_and_store(&jti, later).await.expect("fresh") });
                }
                while tasks.join_next().await.is_some() {}
            })
        })
    });
    group.finish();
}

criterion_group!(benches, replay_cache);
criterion_main!(benches);
