//! `RedisStore` against a live server (feature `server-tests`): the conformance suite, two
//! connections sharing keys, the Redis-specific contract (I15, F13) and outages.
//!
//! Point at a server with `WEBHOOK_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`). Every
//! test uses a key prefix of its own, `wh_test:<random>`, and deletes its keys at the end.
#![cfg(feature = "server-tests")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use webhook_core::test_util::conformance::Conformance;
use webhook_core::{Claim, ClaimKey, IdempotencyStore, Lease, RedisStore, StoreError};

const DEFAULT_URL: &str = "redis://127.0.0.1:6379";
const LEASE: Duration = Duration::from_secs(30);

fn url() -> String {
    std::env::var("WEBHOOK_TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// A key prefix of its own for one test.
struct Prefix {
    name: String,
    connection: redis::aio::MultiplexedConnection,
}

impl Prefix {
    async fn new() -> Self {
        let connect = async {
            redis::Client::open(url())?
                .get_multiplexed_async_connection()
                .await
        };
        let connection = tokio::time::timeout(Duration::from_secs(5), connect)
            .await
            .map_err(|elapsed| elapsed.to_string())
            .and_then(|result| result.map_err(|error| error.to_string()))
            .unwrap_or_else(|error| {
                panic!(
                    "Redis is not reachable ({error}). The `server-tests` feature needs a live \
                     server: start one, or set WEBHOOK_TEST_REDIS_URL to redis://host:port"
                )
            });
        Self {
            name: format!("wh_test:{}", uuid::Uuid::new_v4().simple()),
            connection,
        }
    }

    async fn store(&self) -> RedisStore {
        let builder = RedisStore::builder().prefix(&self.name);
        // Spawned, as an application might (the future is `Send`).
        tokio::spawn(async move { builder.connect(&url()).await })
            .await
            .unwrap()
            .unwrap()
    }

    /// This test's keys (`KEYS` is fine on a test server; the prefix is unique).
    async fn keys(&mut self) -> Vec<String> {
        self.connection
            .keys(format!("{}:*", self.name))
            .await
            .unwrap()
    }

    async fn drop(mut self) {
        let keys = self.keys().await;
        if !keys.is_empty() {
            let _: () = self.connection.del(keys).await.unwrap();
        }
    }
}

fn key<'a>(event_id: &'a str) -> ClaimKey<'a> {
    ClaimKey {
        namespace: "redis-test",
        event_id,
        handler: "tests::handler",
        event_type: "payment_intent.succeeded",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance() {
    let prefix = Prefix::new().await;
    let store = prefix.store().await;
    // Records expire in Redis itself: `purge_expired` has nothing to count.
    let result = Conformance::new()
        .purge_deletes(false)
        .run(Arc::new(store))
        .await;
    prefix.drop().await;
    result.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_on_two_connections_sharing_keys() {
    let prefix = Prefix::new().await;
    let a = prefix.store().await;
    let b = prefix.store().await;
    let result = Conformance::new()
        .purge_deletes(false)
        .run_pair(Arc::new(a), Arc::new(b))
        .await;
    prefix.drop().await;
    result.unwrap();
}

/// I15: the claim is one `SET NX PX` (a key with the lease as its expiry), and a completed
/// record expires after the retention.
#[tokio::test]
async fn records_carry_their_lease_and_retention_as_expiry() {
    let mut prefix = Prefix::new().await;
    let store = prefix.store().await;
    let retention = Duration::from_secs(3600);
    let record = store.record_key("redis-test", "evt_ttl", "tests::handler");

    let Ok(Claim::Acquired(lease)) = store.claim(&key("evt_ttl"), LEASE).await else {
        panic!("a new key is acquired");
    };
    let in_progress_ttl: i64 = prefix.connection.pttl(&record).await.unwrap();
    let in_progress: String = prefix.connection.get(&record).await.unwrap();
    store.complete(&lease, retention).await.unwrap();
    let completed_ttl: i64 = prefix.connection.pttl(&record).await.unwrap();
    let completed: String = prefix.connection.get(&record).await.unwrap();
    let keys = prefix.keys().await;
    prefix.drop().await;

    assert_eq!(keys, [record]);
    assert!(
        in_progress_ttl > 0 && in_progress_ttl <= 30_000,
        "in-progress TTL {in_progress_ttl} ms"
    );
    assert_eq!(
        in_progress,
        format!("p|{}|payment_intent.succeeded", lease.token())
    );
    assert!(
        completed_ttl > 30_000 && completed_ttl <= 3_600_000,
        "completed TTL {completed_ttl} ms"
    );
    assert_eq!(completed, "c||payment_intent.succeeded");
}

/// F13: Redis that forgets (no persistence and a restart, `FLUSHALL`, eviction) forgets the
/// completion, and the event runs again. This is the documented limit of the Redis store.
#[tokio::test]
async fn a_forgotten_completion_lets_the_event_run_again() {
    let mut prefix = Prefix::new().await;
    let store = prefix.store().await;
    let Ok(Claim::Acquired(lease)) = store.claim(&key("evt_forgotten"), LEASE).await else {
        panic!("a new key is acquired");
    };
    store.complete(&lease, LEASE).await.unwrap();
    let before = store.claim(&key("evt_forgotten"), LEASE).await.unwrap();
    // What a restart without persistence does to this prefix.
    let keys = prefix.keys().await;
    let _: () = prefix.connection.del(keys).await.unwrap();
    let after = store.claim(&key("evt_forgotten"), LEASE).await.unwrap();
    prefix.drop().await;
    assert_eq!(before, Claim::Completed);
    assert!(matches!(after, Claim::Acquired(_)), "got {after:?}");
}

/// A value this store did not write is an error, never a grant.
#[tokio::test]
async fn a_foreign_value_under_the_key_is_unavailable() {
    let mut prefix = Prefix::new().await;
    let store = prefix.store().await;
    let record = store.record_key("redis-test", "evt_foreign", "tests::handler");
    let _: () = prefix.connection.set(&record, "garbage").await.unwrap();
    let claim = store.claim(&key("evt_foreign"), LEASE).await;
    prefix.drop().await;
    assert!(
        matches!(claim, Err(StoreError::Unavailable(_))),
        "got {claim:?}"
    );
}

/// I10/F01: nothing listening → every operation is Unavailable within the timeout.
#[tokio::test]
async fn a_closed_port_is_unavailable_within_the_timeout() {
    let timeout = Duration::from_millis(500);
    let closed = "redis://127.0.0.1:1";

    let started = Instant::now();
    let connected = RedisStore::builder().timeout(timeout).connect(closed).await;
    assert!(
        matches!(connected, Err(StoreError::Unavailable(_))),
        "got {connected:?}"
    );
    assert!(started.elapsed() < timeout + Duration::from_secs(1));

    let store = RedisStore::builder().timeout(timeout).open(closed).unwrap();
    let started = Instant::now();
    let claim = store.claim(&key("evt_down"), LEASE).await;
    assert!(
        matches!(claim, Err(StoreError::Unavailable(_))),
        "got {claim:?}"
    );
    assert!(started.elapsed() < timeout + Duration::from_secs(1));
    let lease = Lease::new(&key("evt_down"), "token");
    assert!(matches!(
        store.complete(&lease, LEASE).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        store.extend(&lease, LEASE).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        store.release(&lease).await,
        Err(StoreError::Unavailable(_))
    ));
}
