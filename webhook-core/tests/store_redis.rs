//! `RedisStore` against a live server (feature `server-tests`): the conformance suite, two
//! connections sharing keys, the Redis-specific contract (I15, F13) and outages.
//!
//! Point at a server with `WEBHOOK_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`). Every
//! test uses a key prefix of its own, `wh_test:<random>`, and deletes its keys at the end.
#![cfg(feature = "server-tests")]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
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

/// I15: the claim is one atomic script; an in-progress record carries its lease expiry and
/// attempt and outlives the lease by `keep_released`, a released one is kept that long without
/// a holder, and a completed record expires after the retention.
#[tokio::test]
async fn records_carry_their_lease_and_retention_as_expiry() {
    let mut prefix = Prefix::new().await;
    let store = RedisStore::builder()
        .prefix(&prefix.name)
        .keep_released(Duration::from_secs(600))
        .connect(&url())
        .await
        .unwrap();
    let retention = Duration::from_secs(3600);
    let record = store.record_key("redis-test", "evt_ttl", "tests::handler");

    let Ok(Claim::Acquired(first)) = store.claim(&key("evt_ttl"), LEASE).await else {
        panic!("a new key is acquired");
    };
    let in_progress_ttl: i64 = prefix.connection.pttl(&record).await.unwrap();
    let in_progress: String = prefix.connection.get(&record).await.unwrap();
    store.release(&first).await.unwrap();
    let released_ttl: i64 = prefix.connection.pttl(&record).await.unwrap();
    let released: String = prefix.connection.get(&record).await.unwrap();
    let Ok(Claim::Acquired(lease)) = store.claim(&key("evt_ttl"), LEASE).await else {
        panic!("a released key is acquired");
    };
    let reclaimed: String = prefix.connection.get(&record).await.unwrap();
    store.complete(&lease, retention).await.unwrap();
    let completed_ttl: i64 = prefix.connection.pttl(&record).await.unwrap();
    let completed: String = prefix.connection.get(&record).await.unwrap();
    let keys = prefix.keys().await;
    prefix.drop().await;

    assert_eq!(keys, [record]);
    assert!(
        in_progress_ttl > 600_000 && in_progress_ttl <= 630_000,
        "in-progress TTL {in_progress_ttl} ms: the lease and then `keep_released`"
    );
    let fields: Vec<&str> = in_progress.splitn(5, '|').collect();
    assert_eq!(fields[..3], ["l", first.token(), "1"]);
    assert_eq!(fields[4], "payment_intent.succeeded");
    assert!(
        fields[3].parse::<u64>().is_ok(),
        "lease expiry {:?}",
        fields[3]
    );
    assert!(
        released_ttl > 590_000 && released_ttl <= 600_000,
        "released TTL {released_ttl} ms"
    );
    assert_eq!(released, "l||1|0|payment_intent.succeeded");
    assert!(
        reclaimed.starts_with(&format!("l|{}|2|", lease.token())),
        "{reclaimed}"
    );
    assert_eq!(lease.attempt(), 2);
    assert!(
        completed_ttl > 630_000 && completed_ttl <= 3_600_000,
        "completed TTL {completed_ttl} ms"
    );
    assert_eq!(completed, "c||payment_intent.succeeded");
}

/// A first claim leaves the event's type record completed and kept for the retention given,
/// beside the held claim; a first claim under another type writes nothing.
#[tokio::test]
async fn a_first_claim_records_the_type_beside_the_claim() {
    let mut prefix = Prefix::new().await;
    let store = prefix.store().await;
    let retention = Duration::from_secs(3600);
    let record = store.record_key("redis-test", "evt_first", "tests::handler");
    let typed = store.record_key("redis-test", "evt_first", webhook_core::EVENT_TYPE_RECORD);

    let first = store
        .claim_first(&key("evt_first"), LEASE, retention)
        .await
        .unwrap();
    let typed_value: String = prefix.connection.get(&typed).await.unwrap();
    let typed_ttl: i64 = prefix.connection.pttl(&typed).await.unwrap();
    let claimed: String = prefix.connection.get(&record).await.unwrap();
    let other_type = ClaimKey {
        handler: "tests::other",
        event_type: "charge.refunded",
        ..key("evt_first")
    };
    let conflict = store
        .claim_first(&other_type, LEASE, retention)
        .await
        .unwrap();
    let other_record: Option<String> = prefix
        .connection
        .get(store.record_key("redis-test", "evt_first", "tests::other"))
        .await
        .unwrap();
    prefix.drop().await;

    assert!(matches!(first, Claim::Acquired(_)), "{first:?}");
    assert_eq!(typed_value, "c||payment_intent.succeeded");
    assert!(
        typed_ttl > 3_590_000 && typed_ttl <= 3_600_000,
        "type record TTL {typed_ttl} ms"
    );
    assert!(claimed.starts_with("l|"), "{claimed}");
    assert_eq!(
        conflict,
        Claim::Conflict {
            recorded_type: "payment_intent.succeeded".to_owned()
        }
    );
    assert_eq!(
        other_record, None,
        "a refused first claim wrote its own record"
    );
}

/// A released claim, or one whose holder crashed, is forgotten `keep_released` after it ended:
/// the key expires and the next claim counts from 1 again.
#[tokio::test]
async fn released_and_abandoned_claims_expire_after_keep_released() {
    let mut prefix = Prefix::new().await;
    // Wide enough that a loaded machine cannot push the takeover past it.
    let keep = Duration::from_millis(1500);
    let store = RedisStore::builder()
        .prefix(&prefix.name)
        .keep_released(keep)
        .connect(&url())
        .await
        .unwrap();
    let claim = |id: &'static str, lease: Duration| {
        let store = store.clone();
        async move {
            match store.claim(&key(id), lease).await.unwrap() {
                Claim::Acquired(lease) => lease,
                other => panic!("expected Acquired, got {other:?}"),
            }
        }
    };
    let released = claim("evt_released", LEASE).await;
    store.release(&released).await.unwrap();
    let abandoned = claim("evt_abandoned", Duration::from_millis(200)).await;
    // Past the lease, within `keep_released`: counted.
    tokio::time::sleep(Duration::from_millis(250)).await;
    let taken_over = claim("evt_abandoned", Duration::from_millis(200)).await;
    let again = claim("evt_released", LEASE).await;
    store.release(&again).await.unwrap();
    // Past the lease and `keep_released`: the keys are gone.
    tokio::time::sleep(Duration::from_millis(200) + keep + Duration::from_millis(200)).await;
    let keys = prefix.keys().await;
    let after_abandoned = claim("evt_abandoned", LEASE).await;
    let after_released = claim("evt_released", LEASE).await;
    prefix.drop().await;

    assert_eq!(abandoned.attempt(), 1);
    assert_eq!(taken_over.attempt(), 2);
    assert_eq!(again.attempt(), 2);
    assert!(keys.is_empty(), "expired claims left keys: {keys:?}");
    assert_eq!(after_abandoned.attempt(), 1);
    assert_eq!(after_released.attempt(), 1);
}

/// A record written by a version that did not count attempts (`p|<token>|<type>`, the lease as
/// the key's expiry) is still a live lease, and a conflict under another type.
#[tokio::test]
async fn records_of_the_previous_format_are_read() {
    let mut prefix = Prefix::new().await;
    let store = prefix.store().await;
    let record = store.record_key("redis-test", "evt_old", "tests::handler");
    let _: () = prefix
        .connection
        .pset_ex(&record, "p|0123abcd|payment_intent.succeeded", 30_000)
        .await
        .unwrap();
    let same = store.claim(&key("evt_old"), LEASE).await.unwrap();
    let other = store
        .claim(
            &ClaimKey {
                event_type: "charge.refunded",
                ..key("evt_old")
            },
            LEASE,
        )
        .await
        .unwrap();
    prefix.drop().await;
    assert!(
        matches!(same, Claim::InProgress { retry_after } if retry_after <= Duration::from_secs(30) && retry_after > Duration::from_secs(20)),
        "{same:?}"
    );
    assert_eq!(
        other,
        Claim::Conflict {
            recorded_type: "payment_intent.succeeded".to_owned()
        }
    );
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

/// A loopback proxy to the test server that forwards both ways until it is stalled, then holds
/// everything it reads: a server that stopped answering while the store's connection stays
/// open.
struct StallingProxy {
    addr: SocketAddr,
    stalled: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

impl StallingProxy {
    async fn start() -> Self {
        let upstream = url();
        let upstream = upstream
            .strip_prefix("redis://")
            .expect("a redis:// URL")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stalled, _) = watch::channel(false);
        let subscribe = stalled.clone();
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let outbound = TcpStream::connect(&upstream).await.unwrap();
                let (from_client, to_client) = inbound.into_split();
                let (from_server, to_server) = outbound.into_split();
                tokio::spawn(pipe(from_client, to_server, subscribe.subscribe()));
                tokio::spawn(pipe(from_server, to_client, subscribe.subscribe()));
            }
        });
        Self {
            addr,
            stalled,
            accept,
        }
    }

    fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    fn stall(&self, stalled: bool) {
        self.stalled.send_replace(stalled);
    }
}

impl Drop for StallingProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut stalled: watch::Receiver<bool>) {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if stalled.wait_for(|stalled| !stalled).await.is_err()
            || to.write_all(&buffer[..read]).await.is_err()
        {
            return;
        }
    }
}

/// Runs a store operation against a stalled server: it must fail with `Unavailable` no sooner
/// than `timeout` after it started and soon after that (the slack is for a loaded machine).
async fn fails_in_time<T: std::fmt::Debug>(
    what: &str,
    timeout: Duration,
    op: impl Future<Output = Result<T, StoreError>>,
) {
    let started = Instant::now();
    // Never hang the test run, whatever the store does.
    let result = tokio::time::timeout(timeout * 10, op).await;
    let elapsed = started.elapsed();
    assert!(
        matches!(result, Ok(Err(StoreError::Unavailable(_)))),
        "{what}: got {result:?} after {elapsed:?}"
    );
    assert!(
        elapsed >= timeout && elapsed < timeout + Duration::from_millis(500),
        "{what}: failed after {elapsed:?}, the store's timeout is {timeout:?}"
    );
}

/// I10 with the connection open: while the server does not answer, every operation fails with
/// `Unavailable` once the store's timeout has passed since it started (the whole operation:
/// connecting, the command, `claim`'s second try), and the store works again once the server
/// answers, on the same connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_server_is_unavailable_within_the_timeout() {
    let prefix = Prefix::new().await;
    let proxy = StallingProxy::start().await;
    let timeout = Duration::from_millis(700);
    let store = RedisStore::builder()
        .prefix(&prefix.name)
        .timeout(timeout)
        .connect(&proxy.url())
        .await
        .unwrap();
    let Ok(Claim::Acquired(lease)) = store.claim(&key("evt_stall_1"), LEASE).await else {
        panic!("a new key is acquired");
    };

    proxy.stall(true);
    fails_in_time("claim", timeout, store.claim(&key("evt_stall_2"), LEASE)).await;
    fails_in_time("complete", timeout, store.complete(&lease, LEASE)).await;
    fails_in_time("extend", timeout, store.extend(&lease, LEASE)).await;
    fails_in_time("release", timeout, store.release(&lease)).await;

    proxy.stall(false);
    let claim = store.claim(&key("evt_stall_3"), LEASE).await;
    let Ok(Claim::Acquired(after)) = claim else {
        panic!("a claim once the server answers again: {claim:?}");
    };
    let completed = store.complete(&after, LEASE).await;
    prefix.drop().await;
    completed.unwrap();
}

/// A server that does not answer from the start: the first operation, which opens the
/// connection, fails within the store's timeout too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stalled_from_the_start_is_unavailable_within_the_timeout() {
    let prefix = Prefix::new().await;
    let proxy = StallingProxy::start().await;
    proxy.stall(true);
    let timeout = Duration::from_millis(700);
    let store = RedisStore::builder()
        .prefix(&prefix.name)
        .timeout(timeout)
        .open(&proxy.url())
        .unwrap();
    fails_in_time("claim", timeout, store.claim(&key("evt_stalled"), LEASE)).await;
    let lease = Lease::new(&key("evt_stalled"), "token");
    fails_in_time("complete", timeout, store.complete(&lease, LEASE)).await;
    prefix.drop().await;
}
