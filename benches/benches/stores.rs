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

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use webhook_benches::redis_direct::RedisDirect;
use webhook_benches::store_ops::{self, EVENT_TYPE, HANDLER, LEASE, RETENTION};
use webhook_core::{IdempotencyStore, Lease, PostgresStore, RedisStore};

const NAMESPACE: &str = "bench";
const TABLE: &str = "webhook_bench_idempotency";
const CONCURRENCY: [usize; 2] = [1, 32];

/// A fresh event id per operation, across tasks, benchmarks and runs (records of an earlier
/// run may still be retained).
static NEXT: AtomicU64 = AtomicU64::new(0);

fn next_id() -> String {
    static RUN: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    let run = RUN.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    });
    format!("evt_{run}_{:012}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Runs `iters` operations spread over `tasks` tasks and returns the elapsed time.
async fn run<F, Fut>(iters: u64, tasks: usize, op: F) -> Duration
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let tasks = tasks as u64;
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let op = op.clone();
            // Spread the remainder so exactly `iters` operations run.
            let count = iters / tasks + u64::from(task < iters % tasks);
            tokio::spawn(async move {
                for _ in 0..count {
                    op().await;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("task");
    }
    start.elapsed()
}

async fn claim_and_complete<S: IdempotencyStore>(store: &S) {
    store_ops::through_store(store, NAMESPACE, &next_id()).await;
}

/// The statements `PostgresStore` issues for a claim that succeeds and its completion, as an
/// application would write them by hand: the store includes the same files.
mod postgres_direct {
    use super::TABLE;

    pub(crate) fn claim() -> String {
        include_str!("../../webhook-core/src/idempotency/postgres/claim.sql")
            .replace("{only_if}", "")
            .replace("{table}", TABLE)
    }

    pub(crate) fn complete() -> String {
        include_str!("../../webhook-core/src/idempotency/postgres/complete.sql")
            .replace("{table}", TABLE)
    }
}

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
    let claim_sql: Arc<str> = postgres_direct::claim().into();
    let complete_sql: Arc<str> = postgres_direct::complete().into();

    let mut group = c.benchmark_group("stores/postgres");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    for tasks in CONCURRENCY {
        let s = Arc::clone(&store);
        group.bench_function(BenchmarkId::new("store", tasks), |b| {
            b.iter_custom(|iters| {
                let s = Arc::clone(&s);
                rt.block_on(run(iters, tasks, move || {
                    let s = Arc::clone(&s);
                    async move { claim_and_complete(&*s).await }
                }))
            });
        });
        let (pool, claim_sql, complete_sql) = (
            pool.clone(),
            Arc::clone(&claim_sql),
            Arc::clone(&complete_sql),
        );
        group.bench_function(BenchmarkId::new("direct", tasks), |b| {
            b.iter_custom(|iters| {
                let (pool, claim_sql, complete_sql) = (
                    pool.clone(),
                    Arc::clone(&claim_sql),
                    Arc::clone(&complete_sql),
                );
                rt.block_on(run(iters, tasks, move || {
                    let (pool, claim_sql, complete_sql) = (
                        pool.clone(),
                        Arc::clone(&claim_sql),
                        Arc::clone(&complete_sql),
                    );
                    async move {
                        let id = next_id();
                        let token = Lease::new_token();
                        let granted: Option<i32> = sqlx::query_scalar(&claim_sql)
                            .bind(NAMESPACE)
                            .bind(&id)
                            .bind(HANDLER)
                            .bind(EVENT_TYPE)
                            .bind(&token)
                            .bind(millis(LEASE))
                            .fetch_optional(&pool)
                            .await
                            .expect("claim");
                        assert!(granted.is_some(), "a new key is always acquired");
                        let done = sqlx::query(&complete_sql)
                            .bind(NAMESPACE)
                            .bind(&id)
                            .bind(HANDLER)
                            .bind(&token)
                            .bind(millis(RETENTION))
                            .execute(&pool)
                            .await
                            .expect("complete");
                        assert_eq!(done.rows_affected(), 1);
                    }
                }))
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
        let s = Arc::clone(&store);
        group.bench_function(BenchmarkId::new("store", tasks), |b| {
            b.iter_custom(|iters| {
                let s = Arc::clone(&s);
                rt.block_on(run(iters, tasks, move || {
                    let s = Arc::clone(&s);
                    async move { claim_and_complete(&*s).await }
                }))
            });
        });
        let (d, s) = (Arc::clone(&direct), Arc::clone(&store));
        group.bench_function(BenchmarkId::new("direct", tasks), |b| {
            b.iter_custom(|iters| {
                let (d, s) = (Arc::clone(&d), Arc::clone(&s));
                rt.block_on(run(iters, tasks, move || {
                    let (d, s) = (Arc::clone(&d), Arc::clone(&s));
                    async move { store_ops::direct(&d, &s, NAMESPACE, &next_id()).await }
                }))
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
