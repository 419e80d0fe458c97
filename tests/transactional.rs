//! Effectively once, in process (reliability.md 2.4 mode 1, I17): handlers that take `Tx` write
//! through the store's transaction, and their writes commit with the completion record or not
//! at all.
//!
//! The same scenarios run on SQLite (by default) and PostgreSQL (feature `server-tests`, server
//! at `WEBHOOK_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`, in a
//! schema of each test's own): one delivery, one row; 50 simultaneous deliveries, one row and
//! one run; an error, a panic or a time-out leaves no row and no claim, and the next delivery
//! writes the row; a completion refused for a lost lease rolls the writes back; a handler that
//! finishes within its time limit completes although its lease is renewed meanwhile. On SQLite,
//! a long `Tx` handler holds the write lock, so another delivery waits, then is answered 503.
//! A handler asking for a transaction the store cannot give fails when the receiver is built.
//!
//! The business table `orders` has no key on `event_id`, so a second run would show as a
//! second row. Each database has its own copy of the handlers (`Tx<Sqlite>` or `Tx<Postgres>`),
//! and each receiver gets a registry of one copy only: a binary holding both cannot build a
//! receiver from its whole inventory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use webhook_core::signature::{PaymentKit, Verifier};
use webhook_core::test_util::TestSender;
use webhook_core::{
    FailureCause, Receipt, ReceiveError, Receiver, ReceiverBuilder, Registration, Registry,
};

const SECRET: &str = "whsec_transactional_test";

/// What the handlers report to the test: how often they ran, how many ran at once, and how
/// long `record` takes.
#[derive(Clone, Default)]
struct Probe {
    calls: Arc<AtomicUsize>,
    running: Arc<AtomicUsize>,
    most_running: Arc<AtomicUsize>,
    delay: Duration,
}

impl Probe {
    fn with_delay(delay: Duration) -> Self {
        Self {
            delay,
            ..Self::default()
        }
    }

    /// Counts a run; the returned guard counts it as finished when dropped (also on a panic or
    /// a time-out). `.1` is the run's number, from 1.
    fn enter(&self) -> (Running, usize) {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_running.fetch_max(now, Ordering::SeqCst);
        (Running(Arc::clone(&self.running)), call)
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn most_running(&self) -> usize {
        self.most_running.load(Ordering::SeqCst)
    }
}

struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The handlers, written once and instantiated for each database. The statements differ only in
/// their placeholder syntax.
macro_rules! handlers {
    ($db:ident, $insert:literal, $count:literal, $steal:literal) => {
        use webhook_core::sqlx::{self, $db};
        use webhook_core::{on_event, Event, HandlerError, State, Tx};

        use super::Probe;

        async fn insert(tx: &Tx<$db>, event_id: &str) -> Result<(), HandlerError> {
            let mut conn = tx.lock().await?;
            sqlx::query($insert)
                .bind(event_id)
                .execute(&mut *conn)
                .await?;
            Ok(())
        }

        /// Writes the row, works for `probe.delay`, then reads its own write back.
        #[on_event("test.order.paid", unchecked)]
        async fn record(
            event: Event<serde_json::Value>,
            tx: Tx<$db>,
            State(probe): State<Probe>,
        ) -> Result<(), HandlerError> {
            let (_running, _) = probe.enter();
            insert(&tx, event.id()).await?;
            // In steps, like real work: a handler stalled past its time limit by something
            // else cannot finish within it.
            for _ in 0..10 {
                tokio::time::sleep(probe.delay / 10).await;
            }
            let mut conn = tx.lock().await?;
            let rows: i64 = sqlx::query_scalar($count)
                .bind(event.id())
                .fetch_one(&mut *conn)
                .await?;
            if rows == 1 {
                Ok(())
            } else {
                Err(HandlerError::permanent(format!(
                    "{rows} rows in the transaction"
                )))
            }
        }

        /// Writes the row, then fails on the first run.
        #[on_event("test.order.fails_once", unchecked)]
        async fn fails_once(
            event: Event<serde_json::Value>,
            tx: Tx<$db>,
            State(probe): State<Probe>,
        ) -> Result<(), HandlerError> {
            let (_running, call) = probe.enter();
            insert(&tx, event.id()).await?;
            if call == 1 {
                return Err(HandlerError::msg("card declined"));
            }
            Ok(())
        }

        /// Writes the row, then panics on the first run.
        #[on_event("test.order.panics_once", unchecked)]
        async fn panics_once(
            event: Event<serde_json::Value>,
            tx: Tx<$db>,
            State(probe): State<Probe>,
        ) -> Result<(), HandlerError> {
            let (_running, call) = probe.enter();
            insert(&tx, event.id()).await?;
            assert!(call > 1, "first run panics after writing");
            Ok(())
        }

        /// Writes the row, then outlives the handler time limit on the first run.
        #[on_event("test.order.stalls_once", unchecked)]
        async fn stalls_once(
            event: Event<serde_json::Value>,
            tx: Tx<$db>,
            State(probe): State<Probe>,
        ) -> Result<(), HandlerError> {
            let (_running, call) = probe.enter();
            insert(&tx, event.id()).await?;
            if call == 1 {
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            }
            Ok(())
        }

        /// Writes the row, then changes its own claim's token inside its transaction, as a
        /// takeover of an expired lease would: the completion is refused.
        #[on_event("test.order.lease_lost", unchecked)]
        async fn loses_lease(
            event: Event<serde_json::Value>,
            tx: Tx<$db>,
            State(probe): State<Probe>,
        ) -> Result<(), HandlerError> {
            let (_running, _) = probe.enter();
            insert(&tx, event.id()).await?;
            let mut conn = tx.lock().await?;
            sqlx::query($steal)
                .bind(event.id())
                .execute(&mut *conn)
                .await?;
            Ok(())
        }
    };
}

/// A registry of the handlers in module `module` of this binary.
fn registry(module: &str, only: Option<&str>) -> Registry {
    let prefix = format!("transactional::{module}::");
    inventory::iter::<Registration>
        .into_iter()
        .filter(|r| r.path().starts_with(&prefix))
        .filter(|r| only.is_none_or(|name| r.path() == format!("{prefix}{name}")))
        .fold(Registry::builder(), |builder, r| builder.register(*r))
        .build()
        .expect("a valid registry")
}

fn builder(module: &str, only: Option<&str>) -> ReceiverBuilder {
    Receiver::builder()
        .verifier(
            Verifier::builder(PaymentKit)
                .secret(SECRET)
                .build()
                .expect("verifier"),
        )
        .registry(registry(module, only))
}

fn request(event_id: &str, event_type: &str) -> http::Request<bytes::Bytes> {
    TestSender::new(PaymentKit, SECRET)
        .expect("sender")
        .event(event_id, event_type, r#"{"id":"ord_1","amount":"1000"}"#)
        .request()
        .expect("sign")
}

/// The status webhook-axum answers for `result` (the pinned policy's single mapping).
fn status(result: &Result<Receipt, ReceiveError>) -> StatusCode {
    webhook_axum::response::respond(result).status()
}

fn failure_cause(result: &Result<Receipt, ReceiveError>) -> &FailureCause {
    match result {
        Err(ReceiveError::HandlerFailed { failures, ran }) => {
            assert!(ran.is_empty(), "nothing else ran");
            assert_eq!(failures.len(), 1, "one handler failed: {failures:?}");
            &failures[0].cause
        }
        other => panic!("expected a handler failure, got {other:?}"),
    }
}

/// A database with a store and an `orders` table, for the scenarios below.
mod db {
    use std::time::Duration;

    use webhook_core::sqlx;
    use webhook_core::{IdempotencyStore, Receiver, ReceiverBuilder, SqliteStore};

    /// How long one scenario may take, so a bug fails its test instead of hanging it.
    pub(super) const PATIENCE: Duration = Duration::from_secs(20);

    pub(super) enum Db {
        Sqlite {
            store: SqliteStore,
            dir: std::path::PathBuf,
        },
        #[cfg(feature = "server-tests")]
        Postgres {
            store: webhook_core::PostgresStore,
            schema: super::postgres::Schema,
        },
    }

    /// `$body` with `$pool` bound to the store's pool, whichever database it is (each arm is
    /// its own instance of the query's types).
    macro_rules! on_pool {
        ($db:expr, |$pool:ident| $body:expr) => {
            match $db {
                Db::Sqlite { store, .. } => {
                    let $pool = store.pool();
                    $body
                }
                #[cfg(feature = "server-tests")]
                Db::Postgres { store, .. } => {
                    let $pool = store.pool();
                    $body
                }
            }
        };
    }

    impl Db {
        pub(super) async fn sqlite() -> Self {
            let dir = std::env::temp_dir().join(format!(
                "webhook_tx_{}_{}",
                std::process::id(),
                super::unique()
            ));
            std::fs::create_dir_all(&dir).expect("scratch directory");
            let store = SqliteStore::open(dir.join("webhooks.db"))
                .await
                .expect("open the store");
            sqlx::query(
                "CREATE TABLE orders (event_id TEXT NOT NULL)", // no key: a second run shows
            )
            .execute(store.pool())
            .await
            .expect("create orders");
            Self::Sqlite { store, dir }
        }

        /// The module holding this database's copy of the handlers.
        pub(super) fn module(&self) -> &'static str {
            match self {
                Self::Sqlite { .. } => "sqlite",
                #[cfg(feature = "server-tests")]
                Self::Postgres { .. } => "postgres",
            }
        }

        pub(super) fn receiver(&self, builder: ReceiverBuilder) -> Receiver {
            match self {
                Self::Sqlite { store, .. } => builder.store(store.clone()),
                #[cfg(feature = "server-tests")]
                Self::Postgres { store, .. } => builder.store(store.clone()),
            }
            .build()
            .expect("the receiver builds")
        }

        /// Committed rows in `orders` for `event_id`.
        pub(super) async fn orders(&self, event_id: &str) -> i64 {
            on_pool!(self, |pool| sqlx::query_scalar(
                "SELECT COUNT(*) FROM orders WHERE event_id = $1"
            )
            .bind(event_id)
            .fetch_one(pool)
            .await)
            .expect("count orders")
        }

        /// The state of `handler`'s committed idempotency record for `event_id`, if any.
        /// The state of the handler's record; a released claim (in progress without a token,
        /// kept only for its attempt count) reads `released`.
        pub(super) async fn record(&self, event_id: &str, handler: &str) -> Option<String> {
            on_pool!(self, |pool| sqlx::query_scalar(
                "SELECT CASE WHEN state = 'in_progress' AND token IS NULL THEN 'released' \
                     ELSE state END \
                 FROM webhook_idempotency WHERE event_id = $1 AND handler = $2"
            )
            .bind(event_id)
            .bind(handler)
            .fetch_optional(pool)
            .await)
            .expect("read the record")
        }

        /// The store's own view of a fresh claim (`Completed` once the handler completed).
        pub(super) async fn claim(
            &self,
            event_id: &str,
            handler: &str,
            event_type: &str,
        ) -> webhook_core::Claim {
            let key = webhook_core::ClaimKey {
                namespace: "default",
                event_id,
                handler,
                event_type,
            };
            let lease = Duration::from_secs(60);
            match self {
                Self::Sqlite { store, .. } => store.claim(&key, lease).await,
                #[cfg(feature = "server-tests")]
                Self::Postgres { store, .. } => store.claim(&key, lease).await,
            }
            .expect("claim")
        }

        pub(super) async fn close(self) {
            match self {
                Self::Sqlite { store, dir } => {
                    store.close().await;
                    let _ = std::fs::remove_dir_all(dir);
                }
                #[cfg(feature = "server-tests")]
                Self::Postgres { store, schema } => {
                    store.pool().close().await;
                    schema.drop().await;
                }
            }
        }
    }
}

use db::Db;

fn unique() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{nanos:x}_{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn handler_path(db: &Db, name: &str) -> String {
    format!("transactional::{}::{name}", db.module())
}

/// Runs `scenario` with a bound on its duration, then closes the database even if it failed.
async fn run<F, Fut>(db: Db, scenario: F)
where
    F: FnOnce(Arc<Db>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let db = Arc::new(db);
    let outcome = tokio::spawn(tokio::time::timeout(
        db::PATIENCE,
        scenario(Arc::clone(&db)),
    ))
    .await;
    let db = Arc::into_inner(db).expect("the scenario released the database");
    db.close().await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(_)) => panic!("the scenario took longer than {:?}", db::PATIENCE),
        Err(failure) => std::panic::resume_unwind(failure.into_panic()),
    }
}

/// One delivery writes one row and completes; the duplicate writes nothing.
async fn one_delivery_one_row(db: Arc<Db>) {
    let receiver = db.receiver(builder(db.module(), None).state(Probe::default()));
    let handler = handler_path(&db, "record");
    let first = receiver
        .receive(request("evt_once", "test.order.paid"))
        .await;
    assert_eq!(first.expect("handled").ran(), [handler.as_str()]);
    let again = receiver
        .receive(request("evt_once", "test.order.paid"))
        .await;
    assert!(again.expect("duplicate").is_duplicate());
    assert_eq!(db.orders("evt_once").await, 1);
    assert_eq!(
        db.record("evt_once", &handler).await.as_deref(),
        Some("completed")
    );
    assert_eq!(
        db.claim("evt_once", &handler, "test.order.paid").await,
        webhook_core::Claim::Completed
    );
}

/// 50 simultaneous deliveries of one event: one run, one row; the others wait (409) or see
/// the completed record (200 duplicate).
async fn fifty_simultaneous_deliveries(db: Arc<Db>) {
    const DELIVERIES: usize = 50;
    // Long enough that most duplicates arrive while the first holds the claim.
    let probe = Probe::with_delay(Duration::from_millis(200));
    let receiver = db.receiver(builder(db.module(), None).state(probe.clone()));
    let barrier = Arc::new(tokio::sync::Barrier::new(DELIVERIES));
    let tasks: Vec<_> = (0..DELIVERIES)
        .map(|_| {
            let receiver = receiver.clone();
            let barrier = Arc::clone(&barrier);
            let request = request("evt_fifty", "test.order.paid");
            tokio::spawn(async move {
                barrier.wait().await;
                receiver.receive(request).await
            })
        })
        .collect();
    let mut ran = 0;
    let mut statuses = Vec::new();
    for task in tasks {
        let result = task.await.expect("delivery task");
        statuses.push(status(&result));
        match &result {
            Ok(receipt) if !receipt.ran().is_empty() => ran += 1,
            Ok(receipt) => assert!(receipt.is_duplicate(), "{receipt:?}"),
            Err(ReceiveError::InProgress { .. }) => {}
            Err(other) => panic!("unexpected outcome of a concurrent duplicate: {other:?}"),
        }
    }
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    assert_eq!(ran, 1, "exactly one delivery ran the handler: {statuses:?}");
    assert_eq!(probe.calls(), 1, "the handler ran once");
    assert_eq!(probe.most_running(), 1, "never two runs at once");
    assert_eq!(db.orders("evt_fifty").await, 1);
    let later = receiver
        .receive(request("evt_fifty", "test.order.paid"))
        .await;
    assert!(later.expect("duplicate").is_duplicate());
    assert_eq!(db.orders("evt_fifty").await, 1);
    assert_eq!(
        db.record("evt_fifty", &handler_path(&db, "record"))
            .await
            .as_deref(),
        Some("completed")
    );
}

/// The first run writes its row and then fails (`event_type` says how); the row is rolled back
/// with the claim released (no record at all), and the next delivery writes it once.
async fn failure_rolls_back(db: Arc<Db>, event_type: &str, name: &str, expected: StatusCode) {
    let event_id = format!("evt_{name}");
    let probe = Probe::default();
    let receiver = db.receiver(
        builder(db.module(), None)
            .state(probe.clone())
            .lease(Duration::from_secs(3))
            .handler_timeout(Duration::from_secs(1)),
    );
    let handler = handler_path(&db, name);

    let first = receiver.receive(request(&event_id, event_type)).await;
    assert_eq!(status(&first), expected, "{first:?}");
    match (failure_cause(&first), name) {
        (FailureCause::Error(_), "fails_once")
        | (FailureCause::Panic(_), "panics_once")
        | (FailureCause::Timeout, "stalls_once") => {}
        (cause, _) => panic!("{name}: unexpected failure {cause:?}"),
    }
    assert_eq!(
        db.orders(&event_id).await,
        0,
        "{name}: the write was rolled back"
    );
    assert_eq!(
        db.record(&event_id, &handler).await.as_deref(),
        Some("released"),
        "{name}: no live claim is left"
    );

    let second = receiver.receive(request(&event_id, event_type)).await;
    assert_eq!(
        second.expect("the retry succeeds").ran(),
        [handler.as_str()]
    );
    assert_eq!(probe.calls(), 2);
    assert_eq!(
        db.orders(&event_id).await,
        1,
        "{name}: one row after the retry"
    );
    assert_eq!(
        db.record(&event_id, &handler).await.as_deref(),
        Some("completed")
    );
}

/// A completion refused because the claim changed hands rolls the handler's writes back.
async fn lost_lease_rolls_back(db: Arc<Db>) {
    let receiver = db.receiver(builder(db.module(), None).state(Probe::default()));
    let result = receiver
        .receive(request("evt_lost", "test.order.lease_lost"))
        .await;
    assert!(
        matches!(failure_cause(&result), FailureCause::LeaseLost),
        "{result:?}"
    );
    assert_eq!(status(&result), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(db.orders("evt_lost").await, 0, "writes rolled back");
    // The token change was rolled back too: the claim is as the dispatcher took it, in
    // progress until its lease expires, and never completed.
    assert_eq!(
        db.record("evt_lost", &handler_path(&db, "loses_lease"))
            .await
            .as_deref(),
        Some("in_progress")
    );
}

/// A handler that finishes within its time limit completes, even when the lease is renewed
/// while it runs (renewal must not stall it: on SQLite the handler's own transaction holds the
/// write lock a renewal would wait for).
async fn slow_handler_within_its_limit(db: Arc<Db>) {
    // Renewed every lease / 3 = 1 s; the handler takes 1.3 s of its 2 s.
    let probe = Probe::with_delay(Duration::from_millis(1300));
    let receiver = db.receiver(
        builder(db.module(), None)
            .state(probe)
            .lease(Duration::from_secs(3))
            .handler_timeout(Duration::from_secs(2)),
    );
    let result = receiver
        .receive(request("evt_slow", "test.order.paid"))
        .await;
    assert_eq!(
        result.expect("completes within its limit").ran(),
        [handler_path(&db, "record").as_str()]
    );
    assert_eq!(db.orders("evt_slow").await, 1);
}

mod sqlite {
    use std::time::Duration;

    use webhook_core::ReceiveError;

    use super::{builder, request, run, status, Db};

    handlers!(
        Sqlite,
        "INSERT INTO orders (event_id) VALUES (?1)",
        "SELECT COUNT(*) FROM orders WHERE event_id = ?1",
        "UPDATE webhook_idempotency SET token = 'taken-over' WHERE event_id = ?1"
    );

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn one_delivery_one_row() {
        run(Db::sqlite().await, super::one_delivery_one_row).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn fifty_simultaneous_deliveries_one_row() {
        run(Db::sqlite().await, super::fifty_simultaneous_deliveries).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn error_leaves_no_row_and_no_claim() {
        run(Db::sqlite().await, |db| async move {
            super::failure_rolls_back(
                db,
                "test.order.fails_once",
                "fails_once",
                http::StatusCode::INTERNAL_SERVER_ERROR,
            )
            .await;
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn panic_leaves_no_row_and_no_claim() {
        run(Db::sqlite().await, |db| async move {
            super::failure_rolls_back(
                db,
                "test.order.panics_once",
                "panics_once",
                http::StatusCode::INTERNAL_SERVER_ERROR,
            )
            .await;
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn timeout_leaves_no_row_and_no_claim() {
        run(Db::sqlite().await, |db| async move {
            super::failure_rolls_back(
                db,
                "test.order.stalls_once",
                "stalls_once",
                http::StatusCode::SERVICE_UNAVAILABLE,
            )
            .await;
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn lost_lease_rolls_back() {
        run(Db::sqlite().await, super::lost_lease_rolls_back).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn slow_handler_within_its_limit_completes() {
        run(Db::sqlite().await, super::slow_handler_within_its_limit).await;
    }

    /// A `Tx` handler holds the SQLite file's write lock while it runs (`BEGIN IMMEDIATE`): a
    /// delivery of another event meanwhile waits for it up to the store's timeout (2 s), then
    /// is answered 503 for the sender to retry, rather than queueing without bound.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn long_tx_handler_makes_other_deliveries_retry() {
        run(Db::sqlite().await, |db| async move {
            let probe = Probe::with_delay(Duration::from_secs(3));
            let receiver = db.receiver(
                builder(db.module(), None)
                    .state(probe.clone())
                    .lease(Duration::from_secs(10))
                    .handler_timeout(Duration::from_secs(6)),
            );
            let long = tokio::spawn({
                let receiver = receiver.clone();
                async move {
                    receiver
                        .receive(request("evt_long", "test.order.paid"))
                        .await
                }
            });
            while probe.calls() == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let other = receiver
                .receive(request("evt_other", "test.order.paid"))
                .await;
            assert!(
                matches!(other, Err(ReceiveError::StoreUnavailable { .. })),
                "{other:?}"
            );
            assert_eq!(status(&other), http::StatusCode::SERVICE_UNAVAILABLE);
            assert!(
                long.await.expect("task").is_ok(),
                "the long handler completes"
            );
            let retry = receiver
                .receive(request("evt_other", "test.order.paid"))
                .await;
            assert!(retry.is_ok(), "{retry:?}");
            assert_eq!(db.orders("evt_long").await, 1);
            assert_eq!(db.orders("evt_other").await, 1);
        })
        .await;
    }
}

mod postgres {
    handlers!(
        Postgres,
        "INSERT INTO orders (event_id) VALUES ($1)",
        "SELECT COUNT(*) FROM orders WHERE event_id = $1",
        "UPDATE webhook_idempotency SET token = 'taken-over' WHERE event_id = $1"
    );

    #[cfg(feature = "server-tests")]
    pub(super) use server::Schema;

    #[cfg(feature = "server-tests")]
    mod server {
        use std::str::FromStr;
        use std::time::Duration;

        use webhook_core::sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
        use webhook_core::sqlx::{self, Executor};
        use webhook_core::PostgresStore;

        use super::super::{run, unique, Db};

        const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

        fn url() -> String {
            std::env::var("WEBHOOK_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
        }

        /// A schema of the test's own, holding the store's table and `orders`.
        pub(in super::super) struct Schema {
            admin: PgPool,
            name: String,
        }

        impl Schema {
            pub(in super::super) async fn drop(self) {
                let dropped = self
                    .admin
                    .execute(format!("DROP SCHEMA {} CASCADE", self.name).as_str())
                    .await;
                self.admin.close().await;
                dropped.expect("drop the test schema");
            }
        }

        async fn db() -> Db {
            let admin = PgPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(Duration::from_secs(5))
                .connect(&url())
                .await
                .unwrap_or_else(|error| {
                    panic!(
                        "PostgreSQL is not reachable ({error}). The `server-tests` feature \
                         needs a live server: start one, or set WEBHOOK_TEST_POSTGRES_URL to \
                         postgres://user@host:port/database"
                    )
                });
            let name = format!("wh_tx_{}", unique());
            admin
                .execute(format!("CREATE SCHEMA {name}").as_str())
                .await
                .expect("create the test schema");
            // The handlers write to `orders` unqualified: the store's connections resolve it
            // (and `webhook_idempotency`) in the test's schema.
            let options = PgConnectOptions::from_str(&url())
                .expect("a valid URL")
                .options([("search_path", name.as_str())]);
            let pool = PgPoolOptions::new()
                .max_connections(10)
                .acquire_timeout(Duration::from_secs(2))
                .connect_with(options)
                .await
                .expect("connect");
            let store = PostgresStore::builder()
                .table(&format!("{name}.webhook_idempotency"))
                .expect("a valid table name")
                .from_pool(pool);
            store.migrate().await.expect("create the store's table");
            sqlx::query("CREATE TABLE orders (event_id text NOT NULL)")
                .execute(store.pool())
                .await
                .expect("create orders");
            Db::Postgres {
                store,
                schema: Schema { admin, name },
            }
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn one_delivery_one_row() {
            run(db().await, super::super::one_delivery_one_row).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn fifty_simultaneous_deliveries_one_row() {
            run(db().await, super::super::fifty_simultaneous_deliveries).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn error_leaves_no_row_and_no_claim() {
            run(db().await, |db| async move {
                super::super::failure_rolls_back(
                    db,
                    "test.order.fails_once",
                    "fails_once",
                    http::StatusCode::INTERNAL_SERVER_ERROR,
                )
                .await;
            })
            .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn panic_leaves_no_row_and_no_claim() {
            run(db().await, |db| async move {
                super::super::failure_rolls_back(
                    db,
                    "test.order.panics_once",
                    "panics_once",
                    http::StatusCode::INTERNAL_SERVER_ERROR,
                )
                .await;
            })
            .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn timeout_leaves_no_row_and_no_claim() {
            run(db().await, |db| async move {
                super::super::failure_rolls_back(
                    db,
                    "test.order.stalls_once",
                    "stalls_once",
                    http::StatusCode::SERVICE_UNAVAILABLE,
                )
                .await;
            })
            .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn lost_lease_rolls_back() {
            run(db().await, super::super::lost_lease_rolls_back).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn slow_handler_within_its_limit_completes() {
            run(db().await, super::super::slow_handler_within_its_limit).await;
        }
    }
}

/// Asking for a transaction the store cannot give fails when the receiver is built, naming the
/// handler. None of these need a server: the PostgreSQL store connects lazily.
mod build_errors {
    use webhook_core::{BuildError, MemoryStore, PostgresStore, SqliteStore};

    use super::builder;

    fn assert_names(error: &BuildError, handler: &str, wanted: &str) {
        match error {
            BuildError::MissingState {
                handler: named,
                missing,
                ..
            } => {
                assert_eq!(*named, handler);
                assert!(missing.type_name.contains(wanted), "{missing:?}");
            }
            other => panic!("expected MissingState for {handler}, got {other:?}"),
        }
        let message = error.to_string();
        assert!(message.contains(handler), "{message}");
    }

    #[tokio::test]
    async fn tx_postgres_with_a_sqlite_store() {
        let store = SqliteStore::memory().await.expect("store");
        let error = builder("postgres", Some("record"))
            .state(super::Probe::default())
            .store(store)
            .build()
            .expect_err("a Tx<Postgres> handler cannot run on SQLite");
        assert_names(&error, "transactional::postgres::record", "Postgres");
    }

    #[tokio::test]
    async fn tx_sqlite_with_a_postgres_store() {
        let store = PostgresStore::builder()
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .expect("a valid URL");
        let error = builder("sqlite", Some("record"))
            .state(super::Probe::default())
            .store(store)
            .build()
            .expect_err("a Tx<Sqlite> handler cannot run on PostgreSQL");
        assert_names(&error, "transactional::sqlite::record", "Sqlite");
    }

    #[tokio::test]
    async fn tx_with_a_store_without_transactions() {
        let error = builder("sqlite", Some("fails_once"))
            .state(super::Probe::default())
            .store(MemoryStore::new())
            .build()
            .expect_err("the memory store has no transactions");
        assert_names(&error, "transactional::sqlite::fails_once", "Sqlite");
    }

    /// The same handlers build with their own store: the failures above are about the store.
    #[tokio::test]
    async fn tx_sqlite_with_a_sqlite_store_builds() {
        let store = SqliteStore::memory().await.expect("store");
        builder("sqlite", None)
            .state(super::Probe::default())
            .store(store)
            .build()
            .expect("builds");
    }
}
