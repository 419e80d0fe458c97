//! One claim + complete of a new record, through a store or as the Redis store's scripts
//! issued directly, and batches of them spread over tasks for each side (the store, the Redis
//! and the PostgreSQL statements issued directly): the store benchmark (`benches/stores.rs`),
//! the interleaved harness's `store-*` cases and the profiling example
//! (`examples/profile_redis.rs`) share them, so all measure the same code with the same
//! arguments.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use webhook_core::{Claim, ClaimKey, IdempotencyStore, Lease, RedisStore};

use crate::postgres_direct::PostgresDirect;
use crate::redis_direct::RedisDirect;

/// The store's default lease.
pub const LEASE: Duration = Duration::from_secs(60);
/// Short, so the benchmark's records expire soon after the run.
pub const RETENTION: Duration = Duration::from_secs(600);
/// `RedisStore`'s default `keep_released`, passed to its claim script.
pub const KEEP_RELEASED: Duration = Duration::from_secs(3600);
/// The handler every record is claimed for.
pub const HANDLER: &str = "webhook_benches::stores::handler";
/// The event type every record carries.
pub const EVENT_TYPE: &str = crate::EVENT_TYPE;

/// Claims the new record (`namespace`, `id`, [`HANDLER`]) through `store` and completes it.
///
/// # Panics
/// When the store fails or the record was not new.
pub async fn through_store<S: IdempotencyStore>(store: &S, namespace: &str, id: &str) {
    let key = ClaimKey {
        namespace,
        event_id: id,
        handler: HANDLER,
        event_type: EVENT_TYPE,
    };
    let Ok(Claim::Acquired(lease)) = store.claim(&key, LEASE).await else {
        panic!("a new key is always acquired");
    };
    store.complete(&lease, RETENTION).await.expect("completed");
}

/// The same as [`through_store`] with `store`'s scripts issued directly, under `store`'s key
/// layout and token format, so both write the same keys and values.
///
/// # Panics
/// When Redis fails or the record was not new.
pub async fn direct(direct: &RedisDirect, store: &RedisStore, namespace: &str, id: &str) {
    let key = store.record_key(namespace, id, HANDLER);
    let token = Lease::new_token();
    direct
        .claim_and_complete(&key, &token, EVENT_TYPE, LEASE, KEEP_RELEASED, RETENTION)
        .await;
}

/// An event id no earlier call, and no earlier run, has returned: records of an earlier run
/// may still be retained by the server.
#[must_use]
fn fresh_id() -> String {
    static RUN: OnceLock<u128> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let run = RUN.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    });
    format!("evt_{run}_{:012}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Runs `count` operations spread over `tasks` spawned tasks (on the current runtime) and
/// returns the time until the last one finished.
///
/// # Panics
/// When an operation panics.
async fn spread<F, Fut>(count: u64, tasks: usize, op: F) -> Duration
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let tasks = tasks.max(1) as u64;
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let op = op.clone();
            // The remainder goes to the first tasks, so exactly `count` operations run.
            let n = count / tasks + u64::from(task < count % tasks);
            tokio::spawn(async move {
                for _ in 0..n {
                    op().await;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("an operation panicked");
    }
    start.elapsed()
}

/// `count` [`through_store`] operations of fresh records, spread over `tasks` tasks: a batch of
/// the store side, the same for every store.
///
/// # Panics
/// When the store fails or a record was not new.
pub async fn spread_through_store<S: IdempotencyStore>(
    store: &Arc<S>,
    namespace: &'static str,
    count: u64,
    tasks: usize,
) -> Duration {
    let store = Arc::clone(store);
    spread(count, tasks, move || {
        let store = Arc::clone(&store);
        async move { through_store(&*store, namespace, &fresh_id()).await }
    })
    .await
}

/// `count` [`direct`] operations of fresh records, spread over `tasks` tasks: a batch of the
/// Redis baseline.
///
/// # Panics
/// When Redis fails or a record was not new.
pub async fn spread_redis_direct(
    direct: &Arc<RedisDirect>,
    store: &Arc<RedisStore>,
    namespace: &'static str,
    count: u64,
    tasks: usize,
) -> Duration {
    let (direct, store) = (Arc::clone(direct), Arc::clone(store));
    spread(count, tasks, move || {
        let (direct, store) = (Arc::clone(&direct), Arc::clone(&store));
        async move { self::direct(&direct, &store, namespace, &fresh_id()).await }
    })
    .await
}

/// `count` [`PostgresDirect::claim_and_complete`] operations of fresh records, spread over
/// `tasks` tasks: a batch of the PostgreSQL baseline.
///
/// # Panics
/// When PostgreSQL fails or a record was not new.
pub async fn spread_postgres_direct(
    direct: &Arc<PostgresDirect>,
    namespace: &'static str,
    count: u64,
    tasks: usize,
) -> Duration {
    let direct = Arc::clone(direct);
    spread(count, tasks, move || {
        let direct = Arc::clone(&direct);
        async move { direct.claim_and_complete(namespace, &fresh_id()).await }
    })
    .await
}
