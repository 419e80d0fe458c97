//! `SqliteStore`: the conformance suite on a file, on two pools sharing a file, on the
//! in-memory variant, across processes, and SQLite's own failure modes (reliability.md I14).
#![cfg(all(feature = "sqlite", feature = "test-util"))]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqlx::{ConnectOptions, Connection, Executor};
use webhook_core::test_util::conformance::{self, Conformance};
use webhook_core::{Claim, ClaimKey, IdempotencyStore, SqliteStore, StoreError};

/// A directory of its own for one test, removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("webhook-sqlite-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("idempotency.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn key<'a>(event_id: &'a str) -> ClaimKey<'a> {
    ClaimKey {
        namespace: "sqlite-test",
        event_id,
        handler: "tests::handler",
        event_type: "payment_intent.succeeded",
    }
}

const LEASE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_on_a_file() {
    let dir = TempDir::new();
    let store = SqliteStore::open(dir.db()).await.unwrap();
    conformance::run(Arc::new(store)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_on_two_pools_sharing_one_file() {
    let dir = TempDir::new();
    let a = SqliteStore::open(dir.db()).await.unwrap();
    let b = SqliteStore::open(dir.db()).await.unwrap();
    Conformance::new()
        .run_pair(Arc::new(a), Arc::new(b))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_in_memory() {
    let store = tokio::spawn(SqliteStore::memory()).await.unwrap().unwrap();
    conformance::run(Arc::new(store)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_grant_one_lease_per_key() {
    let dir = TempDir::new();
    // Opened from spawned tasks, as an application might (the futures are `Send`).
    let open = |path: PathBuf| tokio::spawn(async move { SqliteStore::open(path).await });
    let (a, b) = (open(dir.db()), open(dir.db()));
    let stores = [
        Arc::new(a.await.unwrap().unwrap()),
        Arc::new(b.await.unwrap().unwrap()),
    ];
    for round in 0..5 {
        let event_id = format!("evt_race_{round}");
        let barrier = Arc::new(tokio::sync::Barrier::new(32));
        let tasks: Vec<_> = (0..32)
            .map(|task| {
                let store = Arc::clone(&stores[task % 2]);
                let barrier = Arc::clone(&barrier);
                let event_id = event_id.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.claim(&key(&event_id), LEASE).await
                })
            })
            .collect();
        let mut acquired = 0;
        for task in tasks {
            match task.await.unwrap().unwrap() {
                Claim::Acquired(_) => acquired += 1,
                Claim::InProgress { .. } => {}
                other => panic!("unexpected claim outcome {other:?}"),
            }
        }
        assert_eq!(acquired, 1, "round {round}");
    }
}

/// Set in the environment of the child processes `several_processes_grant_one_lease_per_key`
/// starts: the database file, and when to start claiming (Unix ms) so they all race.
const CHILD_DB: &str = "WEBHOOK_SQLITE_CHILD_DB";
const CHILD_START: &str = "WEBHOOK_SQLITE_CHILD_START_MS";
const PROCESS_KEYS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of several_processes_grant_one_lease_per_key"]
async fn child_process_claims() {
    let (Ok(db), Ok(start)) = (std::env::var(CHILD_DB), std::env::var(CHILD_START)) else {
        // Run by hand (`--ignored`): nothing to do outside the parent test.
        return;
    };
    let store = SqliteStore::builder()
        .timeout(Duration::from_secs(10))
        .open(&db)
        .await
        .unwrap();
    let start: u128 = start.parse().unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    if start > now {
        let wait = u64::try_from(start - now).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
    for i in 0..PROCESS_KEYS {
        let event_id = format!("evt_process_{i}");
        let outcome = match store.claim(&key(&event_id), LEASE).await.unwrap() {
            Claim::Acquired(_) => "acquired",
            Claim::InProgress { .. } => "in_progress",
            other => panic!("unexpected claim outcome {other:?}"),
        };
        println!("CHILD-OUTCOME {event_id} {outcome}");
    }
}

#[test]
fn several_processes_grant_one_lease_per_key() {
    let dir = TempDir::new();
    // Processes take a moment to start: they all wait for the same instant, then race.
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 1500;
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "child_process_claims",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                ])
                .env(CHILD_DB, dir.db())
                .env(CHILD_START, start.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut acquired: HashMap<String, usize> = HashMap::new();
    let mut answers = 0;
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        for line in stdout.lines() {
            let mut words = line.split_whitespace();
            if words.next() != Some("CHILD-OUTCOME") {
                continue;
            }
            let (Some(event_id), Some(outcome)) = (words.next(), words.next()) else {
                panic!("malformed child output {line:?}");
            };
            answers += 1;
            if outcome == "acquired" {
                *acquired.entry(event_id.to_owned()).or_default() += 1;
            }
        }
    }
    assert_eq!(answers, 4 * PROCESS_KEYS, "every child answers every key");
    assert_eq!(
        acquired.len(),
        PROCESS_KEYS,
        "every key was acquired: {acquired:?}"
    );
    assert!(
        acquired.values().all(|&n| n == 1),
        "a key was acquired by more than one process: {acquired:?}"
    );
}

#[tokio::test]
async fn a_busy_file_is_unavailable_within_the_timeout_then_recovers() {
    let dir = TempDir::new();
    let timeout = Duration::from_millis(400);
    let store = SqliteStore::builder()
        .timeout(timeout)
        .open(dir.db())
        .await
        .unwrap();
    // Another writer holds SQLite's write lock.
    let mut blocker = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.db())
        .connect()
        .await
        .unwrap();
    blocker.execute("BEGIN IMMEDIATE").await.unwrap();

    let started = Instant::now();
    let claim = store.claim(&key("evt_busy"), LEASE).await;
    let waited = started.elapsed();
    assert!(
        matches!(claim, Err(StoreError::Unavailable(_))),
        "a claim on a locked file must be Unavailable, got {claim:?}"
    );
    assert!(
        waited < timeout + Duration::from_secs(1),
        "the claim waited {waited:?} with a {timeout:?} timeout"
    );

    blocker.execute("COMMIT").await.unwrap();
    blocker.close().await.unwrap();
    assert!(matches!(
        store.claim(&key("evt_busy"), LEASE).await,
        Ok(Claim::Acquired(_))
    ));
}

#[tokio::test]
async fn records_survive_reopening_the_file() {
    let dir = TempDir::new();
    let store = SqliteStore::open(dir.db()).await.unwrap();
    let Claim::Acquired(done) = store.claim(&key("evt_done"), LEASE).await.unwrap() else {
        panic!("a new key is acquired");
    };
    store.complete(&done, LEASE).await.unwrap();
    let Claim::Acquired(_held) = store.claim(&key("evt_held"), LEASE).await.unwrap() else {
        panic!("a new key is acquired");
    };
    store.close().await;
    drop(store);

    let reopened = SqliteStore::open(dir.db()).await.unwrap();
    assert_eq!(
        reopened.claim(&key("evt_done"), LEASE).await.unwrap(),
        Claim::Completed
    );
    assert!(matches!(
        reopened.claim(&key("evt_held"), LEASE).await.unwrap(),
        Claim::InProgress { .. }
    ));
}

#[tokio::test]
async fn the_file_is_in_wal_mode() {
    let dir = TempDir::new();
    let store = SqliteStore::open(dir.db()).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn a_missing_directory_is_an_error_not_a_panic() {
    let dir = TempDir::new();
    let path = dir.0.join("no-such-dir").join("idempotency.db");
    let opened = SqliteStore::open(&path).await;
    assert!(matches!(opened, Err(StoreError::Unavailable(_))));
}

#[tokio::test]
async fn a_closed_store_is_unavailable_never_absent() {
    let dir = TempDir::new();
    let store = SqliteStore::open(dir.db()).await.unwrap();
    store.close().await;
    let claim = store.claim(&key("evt_closed"), LEASE).await;
    assert!(
        matches!(claim, Err(StoreError::Unavailable(_))),
        "got {claim:?}"
    );
    assert!(matches!(
        store.purge_expired().await,
        Err(StoreError::Unavailable(_))
    ));
}

/// The trap `SqliteStore::memory` avoids: every pooled connection to a plain `:memory:`
/// database opens its own empty database, so a store on such a pool would see a different
/// state per connection.
#[tokio::test]
async fn a_pooled_plain_memory_database_is_one_database_per_connection() {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(sqlx::sqlite::SqliteConnectOptions::new().in_memory(true))
        .await
        .unwrap();
    let mut first = pool.acquire().await.unwrap();
    let mut second = pool.acquire().await.unwrap();
    first.execute("CREATE TABLE t (x INTEGER)").await.unwrap();
    assert!(
        second.execute("SELECT x FROM t").await.is_err(),
        "the second connection saw the first one's table"
    );
    assert!(first.execute("SELECT x FROM t").await.is_ok());
}

/// sqlx's `sqlite::memory:` URL, by contrast, shares one database per pool (shared cache).
#[tokio::test]
async fn the_sqlx_memory_url_shares_one_database_per_pool() {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(2)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    let mut first = pool.acquire().await.unwrap();
    let mut second = pool.acquire().await.unwrap();
    first.execute("CREATE TABLE t (x INTEGER)").await.unwrap();
    assert!(second.execute("SELECT x FROM t").await.is_ok());
}

/// Two in-memory stores are two databases.
#[tokio::test]
async fn memory_stores_are_private() {
    let a = SqliteStore::memory().await.unwrap();
    let b = SqliteStore::memory().await.unwrap();
    assert!(matches!(
        a.claim(&key("evt_private"), LEASE).await,
        Ok(Claim::Acquired(_))
    ));
    assert!(matches!(
        b.claim(&key("evt_private"), LEASE).await,
        Ok(Claim::Acquired(_))
    ));
}
