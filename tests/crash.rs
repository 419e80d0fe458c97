//! F09 in transactional mode (reliability.md 2.4, mode 1): a receiver process whose handler
//! writes through `Tx` is killed with SIGKILL at each step of a delivery, restarted, and sent
//! the event again. Whatever the step, the business table ends with exactly one row for the
//! event and the idempotency record is completed.
//!
//! The receivers are the `crash_receiver_sqlite` and `crash_receiver_postgres` binaries of this
//! package (tests/bin/). With `CRASH_AT=<point>` they stop at that point, write a marker file
//! and wait to be killed:
//!
//! | point | where | committed when killed |
//! |---|---|---|
//! | `after_claim` | claim recorded, handler not started | the claim (in progress, 2 s lease) |
//! | `after_first_write` | the handler's `INSERT` ran in its transaction | the claim |
//! | `before_commit` | the handler returned, its transaction not committed | the claim |
//! | `after_commit` | row and completion committed, no response sent | row and completion |
//!
//! The SQLite tests run by default; the PostgreSQL ones need the `server-tests` feature and a
//! server at `WEBHOOK_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
//! Every child process is killed when its test ends, pass or fail.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, StatusCode};
use webhook_axum::test::TcpClient;
use webhook_core::signature::PaymentKit;
use webhook_core::sqlx::sqlite::SqliteConnectOptions;
use webhook_core::sqlx::{self, ConnectOptions, Connection};
use webhook_core::test_util::TestSender;
use webhook_core::{Claim, ClaimKey, IdempotencyStore, SqliteStore};

/// Must match tests/bin/crash_common.rs.
const SECRET: &str = "whsec_crash_receiver_test";
const EVENT_TYPE: &str = "payment_intent.succeeded";
const LEASE: Duration = Duration::from_secs(2);

/// Bounds on every wait, so a broken receiver fails the test instead of hanging it.
const START_PATIENCE: Duration = Duration::from_secs(20);
const MARKER_PATIENCE: Duration = Duration::from_secs(20);
const REQUEST_PATIENCE: Duration = Duration::from_secs(10);
/// The dead process's lease (2 s) must expire within this, with room to spare.
const REDELIVERY_PATIENCE: Duration = Duration::from_secs(15);

const POINTS: [&str; 4] = [
    "after_claim",
    "after_first_write",
    "before_commit",
    "after_commit",
];

/// A unique name for this test's files or schema.
fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}_{}_{nanos:x}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A directory removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(unique("webhook_crash"));
        std::fs::create_dir_all(&dir).expect("create a scratch directory");
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The database a receiver process runs on, and what the test reads from it.
enum Db {
    Sqlite {
        path: PathBuf,
    },
    #[cfg(feature = "server-tests")]
    Postgres(postgres::Schema),
}

impl Db {
    fn binary(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => env!("CARGO_BIN_EXE_crash_receiver_sqlite"),
            #[cfg(feature = "server-tests")]
            Self::Postgres(_) => env!("CARGO_BIN_EXE_crash_receiver_postgres"),
        }
    }

    /// The handler's path: its idempotency identity.
    fn handler(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "crash_receiver_sqlite::record_order",
            #[cfg(feature = "server-tests")]
            Self::Postgres(_) => "crash_receiver_postgres::record_order",
        }
    }

    fn configure(&self, command: &mut Command) {
        match self {
            Self::Sqlite { path } => {
                command.env("CRASH_SQLITE_PATH", path);
            }
            #[cfg(feature = "server-tests")]
            Self::Postgres(schema) => {
                command
                    .env("CRASH_POSTGRES_URL", postgres::url())
                    .env("CRASH_POSTGRES_SCHEMA", &schema.name);
            }
        }
    }

    /// Committed rows in `orders` for `event_id`.
    async fn orders(&self, event_id: &str) -> i64 {
        match self {
            Self::Sqlite { path } => {
                let mut conn = sqlite(path).await;
                let count = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE event_id = ?1")
                    .bind(event_id)
                    .fetch_one(&mut conn)
                    .await
                    .expect("count orders");
                conn.close().await.expect("close");
                count
            }
            #[cfg(feature = "server-tests")]
            Self::Postgres(schema) => schema.orders(event_id).await,
        }
    }

    /// The handler's committed idempotency record for `event_id`: (state, attempts).
    async fn record(&self, event_id: &str) -> Option<(String, i64)> {
        match self {
            Self::Sqlite { path } => {
                let mut conn = sqlite(path).await;
                let record = sqlx::query_as(
                    "SELECT state, attempts FROM webhook_idempotency \
                     WHERE event_id = ?1 AND handler = ?2",
                )
                .bind(event_id)
                .bind(self.handler())
                .fetch_optional(&mut conn)
                .await
                .expect("read the record");
                conn.close().await.expect("close");
                record
            }
            #[cfg(feature = "server-tests")]
            Self::Postgres(schema) => schema.record(event_id, self.handler()).await,
        }
    }

    /// What the store itself answers to a new claim of the event.
    async fn claim(&self, event_id: &str) -> Claim {
        let key = ClaimKey {
            namespace: "default",
            event_id,
            handler: self.handler(),
            event_type: EVENT_TYPE,
        };
        match self {
            Self::Sqlite { path } => {
                let store = SqliteStore::open(path).await.expect("open the store");
                let claim = store.claim(&key, LEASE).await.expect("claim");
                store.close().await;
                claim
            }
            #[cfg(feature = "server-tests")]
            Self::Postgres(schema) => schema
                .store()
                .await
                .claim(&key, LEASE)
                .await
                .expect("claim"),
        }
    }
}

async fn sqlite(path: &Path) -> sqlx::SqliteConnection {
    SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("open the SQLite file")
}

/// A receiver process, killed (SIGKILL) and reaped when dropped.
struct Receiver {
    child: Child,
    log: PathBuf,
    addr: SocketAddr,
}

impl Receiver {
    /// Starts the receiver and waits until it listens.
    async fn start(db: &Db, scratch: &Scratch, life: &str, crash_at: Option<&str>) -> Self {
        let port_file = scratch.path(&format!("{life}.port"));
        let log = scratch.path(&format!("{life}.log"));
        let mut command = Command::new(db.binary());
        db.configure(&mut command);
        command
            .env("CRASH_PORT_FILE", &port_file)
            .env("CRASH_MARKER", scratch.path("marker"))
            .env_remove("CRASH_AT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("create the log file"));
        if let Some(point) = crash_at {
            command.env("CRASH_AT", point);
        }
        let child = command.spawn().expect("start the receiver binary");
        let mut receiver = Self {
            child,
            log,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let port = receiver
            .wait_for_file(&port_file, START_PATIENCE, "listen")
            .await;
        receiver
            .addr
            .set_port(port.trim().parse().expect("a port number"));
        receiver
    }

    /// Waits for `path` to appear while the process lives; its contents.
    async fn wait_for_file(&mut self, path: &Path, patience: Duration, what: &str) -> String {
        let deadline = Instant::now() + patience;
        loop {
            if let Ok(contents) = std::fs::read_to_string(path) {
                return contents;
            }
            if let Some(status) = self.child.try_wait().expect("poll the receiver") {
                panic!(
                    "the receiver exited ({status}) before it could {what}; its log:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the receiver did not {what} within {patience:?}; its log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, then reap it.
    fn kill(mut self) {
        self.kill_now();
    }

    fn kill_now(&mut self) {
        // An error means it already exited; `wait` reaps it either way.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.kill_now();
    }
}

fn sender() -> TestSender<PaymentKit> {
    TestSender::new(PaymentKit, SECRET).expect("a usable secret")
}

fn delivery(event_id: &str) -> Request<Bytes> {
    sender()
        .event(
            event_id,
            EVENT_TYPE,
            r#"{"id":"pi_crash","object":"payment_intent","amount":"1000"}"#,
        )
        .request()
        .expect("sign")
}

/// POSTs `request` to `addr`; the status, or why there was none.
async fn post(addr: SocketAddr, request: Request<Bytes>) -> Result<StatusCode, String> {
    let client = TcpClient::new();
    let sent = client.send(addr, request);
    match tokio::time::timeout(REQUEST_PATIENCE, sent).await {
        Ok(Ok(answer)) => Ok(answer.status),
        Ok(Err(error)) => Err(format!("no response: {error}")),
        Err(_) => Err(format!("no response within {REQUEST_PATIENCE:?}")),
    }
}

/// Sends the event until it is answered 200, waiting out 409 (the dead process's live lease).
/// Every status received, in order.
async fn redeliver_until_ok(receiver: &Receiver, event_id: &str) -> Vec<StatusCode> {
    let deadline = Instant::now() + REDELIVERY_PATIENCE;
    let mut statuses = Vec::new();
    loop {
        let status = post(receiver.addr, delivery(event_id))
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "the restarted receiver did not answer: {error}; its log:\n{}",
                    receiver.log()
                )
            });
        statuses.push(status);
        match status {
            StatusCode::OK => return statuses,
            StatusCode::CONFLICT if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            _ => panic!(
                "redelivery answered {statuses:?} (only 409 then 200 are acceptable); log:\n{}",
                receiver.log()
            ),
        }
    }
}

/// Kill the receiver at `point` during the first delivery, restart it, redeliver, and check
/// that the event's effect is there exactly once.
async fn crash_and_recover(db: Db, scratch: &Scratch, point: &str) {
    assert!(POINTS.contains(&point), "unknown point {point}");
    let event_id = format!("evt_crash_{point}");

    // First life: stops at `point` while handling the first delivery, and is killed there.
    let mut first = Receiver::start(&db, scratch, "first", Some(point)).await;
    let in_flight = tokio::spawn(post(first.addr, delivery(&event_id)));
    let marker = first
        .wait_for_file(
            &scratch.path("marker"),
            MARKER_PATIENCE,
            &format!("reach {point}"),
        )
        .await;
    assert_eq!(marker, point);
    first.kill();
    let answer = in_flight.await.expect("the request task");
    assert!(
        answer.is_err(),
        "a delivery killed at {point} must get no answer, got {answer:?}"
    );

    // What the crash left: everything before the commit is gone with the process, except the
    // claim; after the commit, the row and the completion are both there.
    let committed = point == "after_commit";
    assert_eq!(
        db.orders(&event_id).await,
        i64::from(committed),
        "rows committed by a process killed at {point}"
    );
    let state = if committed {
        "completed"
    } else {
        "in_progress"
    };
    assert_eq!(
        db.record(&event_id).await,
        Some((state.to_owned(), 1)),
        "the record left by a process killed at {point}"
    );

    // Second life: the sender retries until it is answered 200; it retries once more later.
    let second = Receiver::start(&db, scratch, "second", None).await;
    let statuses = redeliver_until_ok(&second, &event_id).await;
    if committed {
        assert_eq!(
            statuses,
            [StatusCode::OK],
            "a completed event is answered 200 at once"
        );
    }
    let again = post(second.addr, delivery(&event_id)).await;
    assert_eq!(again, Ok(StatusCode::OK), "a duplicate is answered 200");
    second.kill();

    assert_eq!(
        db.orders(&event_id).await,
        1,
        "exactly one row for the event after a crash at {point}"
    );
    // A crash before the commit leaves a claim that expires and is taken over (attempt 2).
    let attempts = if committed { 1 } else { 2 };
    assert_eq!(
        db.record(&event_id).await,
        Some(("completed".to_owned(), attempts)),
        "the record after recovering from a crash at {point}"
    );
    assert_eq!(db.claim(&event_id).await, Claim::Completed);
}

/// Without a crash: one delivery, one row; the duplicate changes nothing.
async fn no_crash(db: Db, scratch: &Scratch) {
    let event_id = "evt_no_crash";
    let receiver = Receiver::start(&db, scratch, "only", None).await;
    assert_eq!(
        post(receiver.addr, delivery(event_id)).await,
        Ok(StatusCode::OK)
    );
    assert_eq!(
        post(receiver.addr, delivery(event_id)).await,
        Ok(StatusCode::OK)
    );
    receiver.kill();
    assert_eq!(db.orders(event_id).await, 1);
    assert_eq!(db.record(event_id).await, Some(("completed".to_owned(), 1)));
}

mod sqlite {
    use super::{crash_and_recover, no_crash, Db, Scratch};

    fn db(scratch: &Scratch) -> Db {
        Db::Sqlite {
            path: scratch.path("webhooks.db"),
        }
    }

    #[tokio::test]
    async fn without_a_crash_one_row() {
        let scratch = Scratch::new();
        no_crash(db(&scratch), &scratch).await;
    }

    #[tokio::test]
    async fn killed_after_claim() {
        let scratch = Scratch::new();
        crash_and_recover(db(&scratch), &scratch, "after_claim").await;
    }

    #[tokio::test]
    async fn killed_after_first_write() {
        let scratch = Scratch::new();
        crash_and_recover(db(&scratch), &scratch, "after_first_write").await;
    }

    #[tokio::test]
    async fn killed_before_commit() {
        let scratch = Scratch::new();
        crash_and_recover(db(&scratch), &scratch, "before_commit").await;
    }

    #[tokio::test]
    async fn killed_after_commit_before_response() {
        let scratch = Scratch::new();
        crash_and_recover(db(&scratch), &scratch, "after_commit").await;
    }
}

#[cfg(feature = "server-tests")]
mod postgres {
    use std::time::Duration;

    use webhook_core::sqlx::postgres::{PgPool, PgPoolOptions};
    use webhook_core::sqlx::{self, Executor};
    use webhook_core::PostgresStore;

    use super::{crash_and_recover, no_crash, unique, Db, Scratch};

    const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

    pub(super) fn url() -> String {
        std::env::var("WEBHOOK_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
    }

    /// A schema of the test's own, holding the store's table and `orders`; dropped when the
    /// test ends (pass or fail).
    pub(super) struct Schema {
        admin: PgPool,
        pub(super) name: String,
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
                        "PostgreSQL is not reachable ({error}). The `server-tests` feature \
                         needs a live server: start one, or set WEBHOOK_TEST_POSTGRES_URL to \
                         postgres://user@host:port/database"
                    )
                });
            let name = unique("wh_crash");
            admin
                .execute(format!("CREATE SCHEMA {name}").as_str())
                .await
                .expect("create the test schema");
            Self { admin, name }
        }

        pub(super) async fn orders(&self, event_id: &str) -> i64 {
            sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM {}.orders WHERE event_id = $1",
                self.name
            ))
            .bind(event_id)
            .fetch_one(&self.admin)
            .await
            .expect("count orders")
        }

        pub(super) async fn record(&self, event_id: &str, handler: &str) -> Option<(String, i64)> {
            sqlx::query_as(&format!(
                "SELECT state, attempts::bigint FROM {}.webhook_idempotency \
                 WHERE event_id = $1 AND handler = $2",
                self.name
            ))
            .bind(event_id)
            .bind(handler)
            .fetch_optional(&self.admin)
            .await
            .expect("read the record")
        }

        pub(super) async fn store(&self) -> PostgresStore {
            PostgresStore::builder()
                .table(&format!("{}.webhook_idempotency", self.name))
                .expect("a valid table name")
                .migrate(false)
                .connect(&url())
                .await
                .expect("connect the store")
        }
    }

    impl Drop for Schema {
        fn drop(&mut self) {
            // Drop runs outside async code: a short-lived runtime on its own thread does it.
            let url = url();
            let name = self.name.clone();
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime
                    .block_on(async {
                        let pool = PgPoolOptions::new()
                            .max_connections(1)
                            .connect(&url)
                            .await?;
                        pool.execute(format!("DROP SCHEMA IF EXISTS {name} CASCADE").as_str())
                            .await?;
                        pool.close().await;
                        Ok::<_, sqlx::Error>(())
                    })
                    .map_err(std::io::Error::other)
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("could not drop test schema {}", self.name);
            }
        }
    }

    async fn db() -> Db {
        Db::Postgres(Schema::new().await)
    }

    #[tokio::test]
    async fn without_a_crash_one_row() {
        let scratch = Scratch::new();
        no_crash(db().await, &scratch).await;
    }

    #[tokio::test]
    async fn killed_after_claim() {
        let scratch = Scratch::new();
        crash_and_recover(db().await, &scratch, "after_claim").await;
    }

    #[tokio::test]
    async fn killed_after_first_write() {
        let scratch = Scratch::new();
        crash_and_recover(db().await, &scratch, "after_first_write").await;
    }

    #[tokio::test]
    async fn killed_before_commit() {
        let scratch = Scratch::new();
        crash_and_recover(db().await, &scratch, "before_commit").await;
    }

    #[tokio::test]
    async fn killed_after_commit_before_response() {
        let scratch = Scratch::new();
        crash_and_recover(db().await, &scratch, "after_commit").await;
    }
}
