//! `PostgresStore` against a live server (feature `server-tests`): the conformance suite, two
//! pools sharing a table, skewed session time zones, migrations, and outages.
//!
//! Point at a server with `WEBHOOK_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). Every test works in a schema of its own,
//! `wh_test_<random>`, dropped at the end.
#![cfg(feature = "server-tests")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Executor;
use webhook_core::test_util::conformance::{self, Conformance};
use webhook_core::{Claim, ClaimKey, IdempotencyStore, PostgresStore, StoreError};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const LEASE: Duration = Duration::from_secs(30);

fn url() -> String {
    std::env::var("WEBHOOK_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// The URL without its password, for messages.
fn shown_url() -> String {
    let url = url();
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if url[scheme + 3..at].contains(':') => {
            let user_end = scheme + 3 + url[scheme + 3..at].find(':').unwrap_or(0);
            format!("{}:***{}", &url[..user_end], &url[at..])
        }
        _ => url,
    }
}

/// A schema of its own for one test.
struct Schema {
    admin: PgPool,
    name: String,
}

impl Schema {
    async fn new() -> Self {
        let admin = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(5))
            .connect(&url())
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "PostgreSQL is not reachable at {} ({error}). The `server-tests` feature needs \
                     a live server: start one, or set WEBHOOK_TEST_POSTGRES_URL to \
                     postgres://user@host:port/database",
                    shown_url()
                )
            });
        let name = format!(
            "wh_test_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..16]
        );
        admin
            .execute(format!("CREATE SCHEMA {name}").as_str())
            .await
            .unwrap();
        Self { admin, name }
    }

    fn table(&self) -> String {
        format!("{}.webhook_idempotency", self.name)
    }

    async fn store(&self) -> PostgresStore {
        PostgresStore::builder()
            .table(&self.table())
            .unwrap()
            .connect(&url())
            .await
            .unwrap()
    }

    async fn drop(self) {
        self.admin
            .execute(format!("DROP SCHEMA {} CASCADE", self.name).as_str())
            .await
            .unwrap();
        self.admin.close().await;
    }
}

fn key<'a>(event_id: &'a str) -> ClaimKey<'a> {
    ClaimKey {
        namespace: "postgres-test",
        event_id,
        handler: "tests::handler",
        event_type: "payment_intent.succeeded",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance() {
    let schema = Schema::new().await;
    let store = schema.store().await;
    let result = conformance::run(Arc::new(store)).await;
    schema.drop().await;
    result.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_on_two_pools_sharing_one_table() {
    let schema = Schema::new().await;
    let a = schema.store().await;
    let b = schema.store().await;
    let result = Conformance::new().run_pair(Arc::new(a), Arc::new(b)).await;
    schema.drop().await;
    result.unwrap();
}

/// I13: leases and retention use the database clock, so sessions in far-apart time zones
/// (UTC+14 and UTC-10) agree on every lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn session_time_zones_change_nothing() {
    let schema = Schema::new().await;
    schema.store().await; // creates the table
    let in_zone = |zone: &'static str| {
        // sqlx pins TimeZone to UTC at start-up; a session setting overrides it.
        let pool = PgPoolOptions::new()
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    connection
                        .execute(format!("SET TimeZone = '{zone}'").as_str())
                        .await
                        .map(drop)
                })
            })
            .connect_lazy(&url())
            .unwrap();
        PostgresStore::builder()
            .table(&schema.table())
            .unwrap()
            .from_pool(pool)
    };
    let east = in_zone("Pacific/Kiritimati");
    let west = in_zone("Pacific/Honolulu");
    let zone: String = sqlx::query_scalar("SHOW TimeZone")
        .fetch_one(east.pool())
        .await
        .unwrap();
    let result = Conformance::new()
        .run_pair(Arc::new(east), Arc::new(west))
        .await;
    schema.drop().await;
    assert_eq!(zone, "Pacific/Kiritimati");
    result.unwrap();
}

/// I12: key columns compare bytes, whatever the database's default collation.
#[tokio::test]
async fn key_columns_use_the_c_collation() {
    let schema = Schema::new().await;
    schema.store().await;
    let collations: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT column_name::text, collation_name::text FROM information_schema.columns \
         WHERE table_schema = $1 AND table_name = 'webhook_idempotency' \
           AND column_name IN ('namespace', 'event_id', 'handler', 'event_type') \
         ORDER BY column_name",
    )
    .bind(&schema.name)
    .fetch_all(&schema.admin)
    .await
    .unwrap();
    schema.drop().await;
    assert_eq!(collations.len(), 4);
    for (column, collation) in collations {
        assert_eq!(collation.as_deref(), Some("C"), "column {column}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrations_are_idempotent_and_safe_to_race() {
    let schema = Schema::new().await;
    let table = schema.table();
    let connects = (0..4).map(|_| {
        let table = table.clone();
        tokio::spawn(async move {
            PostgresStore::builder()
                .table(&table)
                .unwrap()
                .connect(&url())
                .await
        })
    });
    let mut stores = Vec::new();
    for connect in connects {
        stores.push(connect.await.unwrap());
    }
    let again = match &stores[0] {
        Ok(store) => store.migrate().await,
        Err(_) => Ok(()),
    };
    schema.drop().await;
    for store in stores {
        store.unwrap();
    }
    again.unwrap();
}

/// The published SQL, run by the user's own migration tool, is what the store expects.
#[tokio::test]
async fn the_published_migration_creates_a_working_table() {
    let schema = Schema::new().await;
    let mut conn = schema.admin.acquire().await.unwrap();
    conn.execute(format!("SET search_path TO {}", schema.name).as_str())
        .await
        .unwrap();
    sqlx::raw_sql(PostgresStore::MIGRATION)
        .execute(&mut *conn)
        .await
        .unwrap();
    conn.execute("RESET search_path").await.unwrap();
    drop(conn);
    let store = PostgresStore::builder()
        .table(&schema.table())
        .unwrap()
        .migrate(false)
        .connect(&url())
        .await
        .unwrap();
    let claim = store.claim(&key("evt_migrated"), LEASE).await;
    schema.drop().await;
    assert!(matches!(claim, Ok(Claim::Acquired(_))), "got {claim:?}");
}

/// A store without its table fails loudly (Unavailable), never as "absent".
#[tokio::test]
async fn a_missing_table_is_unavailable() {
    let schema = Schema::new().await;
    let store = PostgresStore::builder()
        .table(&schema.table())
        .unwrap()
        .migrate(false)
        .connect(&url())
        .await
        .unwrap();
    let claim = store.claim(&key("evt_no_table"), LEASE).await;
    schema.drop().await;
    assert!(
        matches!(claim, Err(StoreError::Unavailable(_))),
        "got {claim:?}"
    );
}

/// H05: purge deletes what expired and nothing else, across the table.
#[tokio::test]
async fn purge_deletes_only_expired_records() {
    let schema = Schema::new().await;
    let store = schema.store().await;
    let short = Duration::from_millis(200);
    let Ok(Claim::Acquired(completed)) = store.claim(&key("evt_completed"), LEASE).await else {
        panic!("a new key is acquired");
    };
    store.complete(&completed, short).await.unwrap();
    store.claim(&key("evt_abandoned"), short).await.unwrap();
    store.claim(&key("evt_live"), LEASE).await.unwrap();
    let Ok(Claim::Acquired(kept)) = store.claim(&key("evt_kept"), LEASE).await else {
        panic!("a new key is acquired");
    };
    store.complete(&kept, LEASE).await.unwrap();
    tokio::time::sleep(short + Duration::from_millis(200)).await;

    let purged = store.purge_expired().await.unwrap();
    let left: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT event_id FROM {} ORDER BY event_id",
        schema.table()
    ))
    .fetch_all(&schema.admin)
    .await
    .unwrap();
    schema.drop().await;
    assert_eq!(purged, 2);
    assert_eq!(left, ["evt_kept", "evt_live"]);
}

/// F11: every pooled connection busy → Unavailable after the timeout, not a hang.
#[tokio::test]
async fn an_exhausted_pool_is_unavailable_within_the_timeout() {
    let schema = Schema::new().await;
    schema.store().await;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&url())
        .await
        .unwrap();
    let timeout = Duration::from_millis(300);
    let store = PostgresStore::builder()
        .table(&schema.table())
        .unwrap()
        .timeout(timeout)
        .from_pool(pool.clone());
    let held = pool.acquire().await.unwrap();
    let started = Instant::now();
    let claim = store.claim(&key("evt_exhausted"), LEASE).await;
    let waited = started.elapsed();
    drop(held);
    let after = store.claim(&key("evt_exhausted"), LEASE).await;
    schema.drop().await;
    assert!(
        matches!(claim, Err(StoreError::Unavailable(_))),
        "got {claim:?}"
    );
    assert!(
        waited < timeout + Duration::from_secs(1),
        "waited {waited:?}"
    );
    assert!(matches!(after, Ok(Claim::Acquired(_))), "got {after:?}");
}

/// I10/F01: nothing listening → every operation is Unavailable within the timeout.
#[tokio::test]
async fn a_closed_port_is_unavailable_within_the_timeout() {
    let timeout = Duration::from_millis(500);
    let closed = "postgres://postgres@127.0.0.1:1/test";

    let started = Instant::now();
    let connected = PostgresStore::builder()
        .timeout(timeout)
        .connect(closed)
        .await;
    assert!(
        matches!(connected, Err(StoreError::Unavailable(_))),
        "got {connected:?}"
    );
    assert!(started.elapsed() < timeout + Duration::from_secs(1));

    let store = PostgresStore::builder()
        .timeout(timeout)
        .connect_lazy(closed)
        .unwrap();
    let started = Instant::now();
    let claim = store.claim(&key("evt_down"), LEASE).await;
    assert!(
        matches!(claim, Err(StoreError::Unavailable(_))),
        "got {claim:?}"
    );
    assert!(started.elapsed() < timeout + Duration::from_secs(1));
    let lease = webhook_core::Lease::new(&key("evt_down"), "token");
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
    assert!(matches!(
        store.purge_expired().await,
        Err(StoreError::Unavailable(_))
    ));
}

/// The transactional building block: a completion recorded in a transaction that rolls back
/// is not recorded.
#[tokio::test]
async fn complete_in_a_rolled_back_transaction_records_nothing() {
    let schema = Schema::new().await;
    let store = schema.store().await;
    let Ok(Claim::Acquired(lease)) = store.claim(&key("evt_tx"), LEASE).await else {
        panic!("a new key is acquired");
    };
    let mut tx = store.pool().begin().await.unwrap();
    store.complete_in(&mut tx, &lease, LEASE).await.unwrap();
    tx.rollback().await.unwrap();
    let after_rollback = store.claim(&key("evt_tx"), LEASE).await.unwrap();

    let mut tx = store.pool().begin().await.unwrap();
    store.complete_in(&mut tx, &lease, LEASE).await.unwrap();
    tx.commit().await.unwrap();
    let after_commit = store.claim(&key("evt_tx"), LEASE).await.unwrap();
    schema.drop().await;
    assert!(
        matches!(after_rollback, Claim::InProgress { .. }),
        "got {after_rollback:?}"
    );
    assert_eq!(after_commit, Claim::Completed);
}
