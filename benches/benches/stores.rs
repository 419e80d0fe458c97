//! The PostgreSQL and Redis stores: claim + complete throughput at 1 and 32 concurrent tasks,
//! against the same statements issued directly on the same connections (feature
//! `server-benches`; live servers needed, see BENCHMARKS.md).
//!
//! Every operation claims a new (namespace, event id, handler) and completes it: two round trips
//! for the store and for the direct statements alike. Throughput is in operations per second.
//!
//! Servers: `WEBHOOK_BENCH_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`) and
//! `WEBHOOK_BENCH_REDIS_URL` (default `redis://127.0.0.1:6379`).

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use webhook_benches::postgres_direct::PostgresDirect;
use webhook_benches::redis_direct::RedisDirect;
use webhook_benches::store_ops;
use webhook_core::{PostgresStore, RedisStore};

const NAMESPACE: &str = "bench";
const TABLE: &str = "webhook_bench_idempotency";
const CONCURRENCY: [usize; 2] = [1, 32];

fn bench_postgres(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let url = std::env::var("WEBHOOK_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let store = rt
        .block_on(
            PostgresStore::builder()
                .table(TABLE)
                .expect("table name")
                .max_connections(32)
                .connect(&url),
        )
        .expect("PostgreSQL reachable (set WEBHOOK_BENCH_POSTGRES_URL)");
    let store = Arc::new(store);
    let pool = store.pool().clone();
    rt.block_on(sqlx::query(&format!("TRUNCATE {TABLE}")).execute(&pool))
        .expect("truncate");
    let direct = Arc::new(PostgresDirect::new(pool.clone(), TABLE));

    let mut group = c.benchmark_group("stores/postgres");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    for tasks in CONCURRENCY {
        group.bench_function(BenchmarkId::new("store", tasks), |b| {
            b.iter_custom(|iters| {
                rt.block_on(store_ops::spread_through_store(
                    &store, NAMESPACE, iters, tasks,
                ))
            });
        });
        group.bench_function(BenchmarkId::new("direct", tasks), |b| {
            b.iter_custom(|iters| {
                rt.block_on(store_ops::spread_postgres_direct(
                    &direct, NAMESPACE, iters, tasks,
                ))
            });
        });
    }
    group.finish();
    rt.block_on(sqlx::query(&format!("TRUNCATE {TABLE}")).execute(&pool))
        .expect("truncate");
}

fn bench_redis(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let url = std::env::var("WEBHOOK_BENCH_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = "webhook:bench";
    let store = rt
        .block_on(RedisStore::builder().prefix(prefix).connect(&url))
        .expect("Redis reachable (set WEBHOOK_BENCH_REDIS_URL)");
    let store = Arc::new(store);
    let direct = rt
        .block_on(RedisDirect::connect(&url))
        .expect("redis connection");
    let direct = Arc::new(direct);

    let mut group = c.benchmark_group("stores/redis");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    for tasks in CONCURRENCY {
        group.bench_function(BenchmarkId::new("store", tasks), |b| {
            b.iter_custom(|iters| {
                rt.block_on(store_ops::spread_through_store(
                    &store, NAMESPACE, iters, tasks,
                ))
            });
        });
        group.bench_function(BenchmarkId::new("direct", tasks), |b| {
            b.iter_custom(|iters| {
                rt.block_on(store_ops::spread_redis_direct(
                    &direct, &store, NAMESPACE, iters, tasks,
                ))
            });
        });
    }
    group.finish();
}

fn bench_stores(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    bench_postgres(c, &rt);
    bench_redis(c, &rt);
}

criterion_group!(benches, bench_stores);
criterion_main!(benches);
