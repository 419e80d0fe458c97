//! The SQLite store: durable, in one file, shared by the connections and processes that open it.

use std::any::{Any, TypeId};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Executor};

use super::{
    store_millis, BoxFuture, Claim, ClaimKey, IdempotencyStore, Lease, StoreError, TxBackend,
    EVENT_TYPE_RECORD,
};

/// The schema, created on open when missing. Text columns use SQLite's default `BINARY`
/// collation, so ids are compared byte for byte (`evt_ABC` and `evt_abc` are different keys).
/// `expires_at` is the lease expiry of an in-progress record and the end of retention of a
/// completed one, in Unix milliseconds. An in-progress record without a token is a released
/// claim (`expires_at` is the time of the release): absent to every operation, kept until the
/// next purge only for its `attempts`. Tables created before releases were kept need no change.
const SCHEMA: &str = "\
CREATE TABLE IF NOT EXISTS webhook_idempotency (
    namespace     TEXT    NOT NULL,
    event_id      TEXT    NOT NULL,
    handler       TEXT    NOT NULL,
    event_type    TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('in_progress', 'completed')),
    token         TEXT,
    expires_at    INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 1,
    first_seen_at INTEGER NOT NULL,
    completed_at  INTEGER,
    PRIMARY KEY (namespace, event_id, handler)
);
CREATE INDEX IF NOT EXISTS webhook_idempotency_expires_at ON webhook_idempotency (expires_at);
";

/// SQLite's own clock in Unix milliseconds, so every process on the file reads one clock.
macro_rules! now_ms {
    () => {
        "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"
    };
}

const SELECT_NOW: &str = concat!("SELECT ", now_ms!());

const SELECT_RECORD: &str = "SELECT event_type, state, expires_at, token IS NULL \
     FROM webhook_idempotency WHERE namespace = ?1 AND event_id = ?2 AND handler = ?3";

/// Records a claim: inserts, or takes over an expired lease, a released claim or a completed
/// record past its retention (the caller has checked which under the write lock), and returns
/// the attempt number.
const UPSERT_CLAIM: &str = "INSERT INTO webhook_idempotency \
         (namespace, event_id, handler, event_type, state, token, expires_at, attempts, first_seen_at) \
     VALUES (?1, ?2, ?3, ?4, 'in_progress', ?5, ?6 + ?7, 1, ?6) \
     ON CONFLICT (namespace, event_id, handler) DO UPDATE SET \
         event_type = excluded.event_type, \
         token = excluded.token, \
         expires_at = excluded.expires_at, \
         attempts = CASE WHEN state = 'completed' THEN 1 ELSE attempts + 1 END, \
         first_seen_at = CASE WHEN state = 'completed' THEN excluded.first_seen_at ELSE first_seen_at END, \
         completed_at = NULL, \
         state = 'in_progress' \
     RETURNING attempts";

/// Records an event's type (`claim_first`): inserts its type record completed, kept `?6` ms,
/// or replaces one that no longer stands (the caller has checked under the write lock).
const UPSERT_TYPE_RECORD: &str = "INSERT INTO webhook_idempotency \
         (namespace, event_id, handler, event_type, state, token, expires_at, attempts, first_seen_at, completed_at) \
     VALUES (?1, ?2, ?3, ?4, 'completed', NULL, ?5 + ?6, 1, ?5, ?5) \
     ON CONFLICT (namespace, event_id, handler) DO UPDATE SET \
         event_type = excluded.event_type, \
         state = 'completed', \
         token = NULL, \
         expires_at = excluded.expires_at, \
         attempts = 1, \
         first_seen_at = excluded.first_seen_at, \
         completed_at = excluded.completed_at";

const COMPLETE: &str = concat!(
    "UPDATE webhook_idempotency SET state = 'completed', token = NULL, expires_at = ",
    now_ms!(),
    " + ?5, completed_at = ",
    now_ms!(),
    " WHERE namespace = ?1 AND event_id = ?2 AND handler = ?3",
    " AND state = 'in_progress' AND token = ?4"
);

/// Keeps the record, without a holder, for its attempt count.
const RELEASE: &str = concat!(
    "UPDATE webhook_idempotency SET token = NULL, expires_at = ",
    now_ms!(),
    " WHERE namespace = ?1 AND event_id = ?2 AND handler = ?3",
    " AND state = 'in_progress' AND token = ?4"
);

const EXTEND: &str = concat!(
    "UPDATE webhook_idempotency SET expires_at = ",
    now_ms!(),
    " + ?5 WHERE namespace = ?1 AND event_id = ?2 AND handler = ?3",
    " AND state = 'in_progress' AND token = ?4"
);

/// `expires_at` of an in-progress record is its lease expiry, so a live lease is never purged;
/// that of a released claim is the time of the release, so the next purge removes it.
const PURGE: &str = concat!(
    "DELETE FROM webhook_idempotency WHERE expires_at <= ",
    now_ms!()
);

/// The default time limit of one store operation, as the receiver's default store timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// A durable idempotency store in one SQLite file.
///
/// **Guarantee**: durable. Claims and completions are committed to the file (WAL journal,
/// `synchronous = FULL`) before the call returns, so they survive a crash or restart of the
/// process, and every connection and process that opens the same file sees the same records:
/// several receivers on one machine suppress each other's duplicates. Handlers run at least
/// once; a handler that takes a [`Tx<Sqlite>`](crate::Tx) and writes through it runs
/// effectively once, its writes committed in the same SQLite transaction as its completion
/// (see [`Tx`](crate::Tx) for what that covers, and its cost: the write lock is held while the
/// handler runs).
///
/// Claims run in `BEGIN IMMEDIATE` transactions, which take SQLite's write lock up front and
/// wait for it up to the busy timeout; a claim that cannot get the lock within the store's
/// [timeout](SqliteStoreBuilder::timeout) fails with [`StoreError::Unavailable`] (answered 503,
/// so the sender retries), never with a second grant. Lease expiry is measured on SQLite's
/// clock, which is the clock of the machine the file lives on.
///
/// SQLite locks the whole file for each write, so all receivers must run on one machine (no
/// network file systems). Use [`PostgresStore`](crate::PostgresStore) to share records
/// between machines.
///
/// ```
/// use std::time::Duration;
/// use webhook_core::{Claim, ClaimKey, IdempotencyStore, SqliteStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("webhook-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let path = dir.join("idempotency.db");
/// let store = SqliteStore::open(&path).await?;
/// let key = ClaimKey {
///     namespace: "default",
///     event_id: "evt_1",
///     handler: "app::fulfil",
///     event_type: "payment_intent.succeeded",
/// };
/// let Claim::Acquired(lease) = store.claim(&key, Duration::from_secs(60)).await? else {
///     panic!("a new key is acquired");
/// };
/// store.complete(&lease, Duration::from_secs(7 * 24 * 3600)).await?;
/// assert_eq!(store.claim(&key, Duration::from_secs(60)).await?, Claim::Completed);
/// # store.close().await;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    timeout: Duration,
}

/// Options for a [`SqliteStore`], from [`SqliteStore::builder`].
#[derive(Debug, Clone)]
pub struct SqliteStoreBuilder {
    timeout: Duration,
    max_connections: u32,
}

impl Default for SqliteStoreBuilder {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            max_connections: 4,
        }
    }
}

impl SqliteStoreBuilder {
    /// How long one store operation may take, waiting for a connection or for SQLite's write
    /// lock included, before it fails with [`StoreError::Unavailable`] (default 2 s). Keep it
    /// below the receiver's store timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The most connections the store opens (default 4). SQLite runs one write at a time, so
    /// more connections do not make claims faster.
    #[must_use]
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Opens the store in the file at `path`, creating the file and the schema on first use
    /// and switching the file to WAL mode. The directory must exist.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the file cannot be opened or set up within the
    /// timeout.
    pub async fn open(self, path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .busy_timeout(self.busy_timeout())
            .synchronous(SqliteSynchronous::Full);
        let timeout = self.timeout;
        let max_connections = self.max_connections;
        let setup = async move {
            // Switching to WAL needs an exclusive lock that SQLite's busy handler does not wait
            // for, so it runs once here, retried while another process holds the file; WAL is
            // then a property of the file and the pool's connections need not ask for it.
            let mut conn = loop {
                match options
                    .clone()
                    .journal_mode(SqliteJournalMode::Wal)
                    .connect()
                    .await
                {
                    Ok(conn) => break conn,
                    Err(error) if is_busy(&error) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err(error) => return Err(error),
                }
            };
            create_schema(&mut conn).await?;
            conn.close().await?;
            SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(timeout)
                .connect_with(options)
                .await
        };
        let pool = within(timeout, setup).await?;
        Ok(SqliteStore { pool, timeout })
    }

    /// Opens a store in a private in-memory database: for tests and demos, never durable.
    ///
    /// An in-memory SQLite database belongs to the connection that opened it: pooled
    /// connections to a plain `:memory:` each see a *different*, empty database. (sqlx's
    /// `sqlite::memory:` URL works around that with a shared cache per pool, whose table locks
    /// fail with `SQLITE_LOCKED` under concurrent writes instead of waiting.) This store
    /// therefore uses exactly one connection to a private database, never closed or recycled
    /// while the store lives; claims are serialized on it. The records die with the store.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when SQLite cannot be started.
    pub async fn memory(self) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::new()
            .in_memory(true)
            .busy_timeout(self.busy_timeout());
        let timeout = self.timeout;
        let setup = async {
            let pool = SqlitePoolOptions::new()
                .min_connections(1)
                .max_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(timeout)
                .connect_with(options)
                .await?;
            create_schema(&mut *pool.acquire().await?).await?;
            Ok(pool)
        };
        let pool = within(timeout, setup).await?;
        Ok(SqliteStore { pool, timeout })
    }

    /// SQLite gives up waiting for the write lock a little before the operation's own time
    /// limit, so a busy file ends in a clean SQLite error rather than a cancelled statement.
    fn busy_timeout(&self) -> Duration {
        self.timeout.mul_f64(0.75)
    }
}

impl SqliteStore {
    /// Opens the store in the file at `path` with default options; see
    /// [`SqliteStoreBuilder::open`].
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the file cannot be opened or set up.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::builder().open(path).await
    }

    /// A store in a private in-memory database; see [`SqliteStoreBuilder::memory`].
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when SQLite cannot be started.
    pub async fn memory() -> Result<Self, StoreError> {
        Self::builder().memory().await
    }

    /// Options for opening a store.
    #[must_use]
    pub fn builder() -> SqliteStoreBuilder {
        SqliteStoreBuilder::default()
    }

    /// The connection pool, for reading the records (table `webhook_idempotency`) in
    /// operations tooling.
    #[must_use]
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection; later operations fail with [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Records the completion of `lease` through `connection`, usually a transaction (begun
    /// with `BEGIN IMMEDIATE`) that also holds the handler's own writes: committing it makes
    /// the writes and the record durable together (effectively once), rolling it back leaves
    /// neither.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] when `lease` no longer holds the claim (roll the transaction
    /// back: another delivery owns the event now); [`StoreError::Unavailable`] when the
    /// statement fails or takes longer than the store's timeout.
    pub async fn complete_in(
        &self,
        connection: &mut SqliteConnection,
        lease: &Lease,
        retention: Duration,
    ) -> Result<(), StoreError> {
        if self.op(complete_on(connection, lease, retention)).await? {
            Ok(())
        } else {
            Err(StoreError::LeaseLost)
        }
    }

    async fn op<T>(
        &self,
        op: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        within(self.timeout, op).await
    }

    /// A claim in one write transaction; with `type_retention`, a first claim
    /// (`claim_first`), which also records the event's type, kept that long.
    async fn claim_in_tx(
        &self,
        key: &ClaimKey<'_>,
        lease: Duration,
        type_retention: Option<Duration>,
    ) -> Result<Claim, sqlx::Error> {
        // IMMEDIATE takes the write lock before the read, so two claims never both see the key
        // absent; a deferred transaction would upgrade after reading and fail with BUSY at once.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let now: i64 = sqlx::query_scalar(SELECT_NOW).fetch_one(&mut *tx).await?;
        let mut wrote = false;
        if let Some(retention) = type_retention {
            let typed = ClaimKey {
                handler: EVENT_TYPE_RECORD,
                ..*key
            };
            match existing_answer(&typed, read_record(&mut tx, &typed).await?, now) {
                Some(conflict @ Claim::Conflict { .. }) => {
                    tx.rollback().await?;
                    return Ok(conflict);
                }
                // Standing with this type already.
                Some(_) => {}
                None => {
                    sqlx::query(UPSERT_TYPE_RECORD)
                        .bind(typed.namespace)
                        .bind(typed.event_id)
                        .bind(typed.handler)
                        .bind(typed.event_type)
                        .bind(now)
                        .bind(store_millis(retention))
                        .execute(&mut *tx)
                        .await?;
                    wrote = true;
                }
            }
        }
        if let Some(answer) = existing_answer(key, read_record(&mut tx, key).await?, now) {
            // Otherwise nothing was written: end the transaction now, so the write lock is
            // free at once.
            if wrote {
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            return Ok(answer);
        }
        let token = Lease::new_token();
        let attempts: i64 = sqlx::query_scalar(UPSERT_CLAIM)
            .bind(key.namespace)
            .bind(key.event_id)
            .bind(key.handler)
            .bind(key.event_type)
            .bind(&token)
            .bind(now)
            .bind(store_millis(lease))
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Claim::Acquired(
            Lease::new(key, token).with_attempt(saturating_attempt(attempts)),
        ))
    }
}

/// The record of `key`: its event type, state, expiry and whether it has no holder.
async fn read_record(
    connection: &mut SqliteConnection,
    key: &ClaimKey<'_>,
) -> Result<Option<(String, String, i64, bool)>, sqlx::Error> {
    sqlx::query_as(SELECT_RECORD)
        .bind(key.namespace)
        .bind(key.event_id)
        .bind(key.handler)
        .fetch_optional(connection)
        .await
}

impl IdempotencyStore for SqliteStore {
    async fn claim(&self, key: &ClaimKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
        key.validate()?;
        self.op(self.claim_in_tx(key, lease, None)).await
    }

    /// The type record and the claim in one write transaction.
    async fn claim_first(
        &self,
        key: &ClaimKey<'_>,
        lease: Duration,
        retention: Duration,
    ) -> Result<Claim, StoreError> {
        key.validate()?;
        self.op(self.claim_in_tx(key, lease, Some(retention))).await
    }

    async fn complete(&self, lease: &Lease, retention: Duration) -> Result<(), StoreError> {
        let done = self
            .op(async {
                let mut connection = self.pool.acquire().await?;
                complete_on(&mut connection, lease, retention).await
            })
            .await?;
        if done {
            Ok(())
        } else {
            Err(StoreError::LeaseLost)
        }
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.op(sqlx::query(RELEASE)
            .bind(lease.namespace())
            .bind(lease.event_id())
            .bind(lease.handler())
            .bind(lease.token())
            .execute(&self.pool))
            .await?;
        Ok(())
    }

    async fn extend(&self, lease: &Lease, by: Duration) -> Result<(), StoreError> {
        let done = self
            .op(sqlx::query(EXTEND)
                .bind(lease.namespace())
                .bind(lease.event_id())
                .bind(lease.handler())
                .bind(lease.token())
                .bind(store_millis(by))
                .execute(&self.pool))
            .await?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::LeaseLost)
        }
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        let done = self.op(sqlx::query(PURGE).execute(&self.pool)).await?;
        Ok(done.rows_affected())
    }

    fn transactions(&self) -> Option<Arc<dyn TxBackend>> {
        Some(Arc::new(self.clone()))
    }
}

/// Handlers taking `Tx<Sqlite>` run in a transaction of this store's pool; their completion is
/// recorded in it (fenced by the lease token) before it commits.
impl TxBackend for SqliteStore {
    fn transaction_type(&self) -> (TypeId, &'static str) {
        (
            TypeId::of::<sqlx::Transaction<'static, sqlx::Sqlite>>(),
            "sqlx::Transaction<'static, sqlx::Sqlite>",
        )
    }

    fn begin(&self) -> BoxFuture<'_, Result<Box<dyn Any + Send>, StoreError>> {
        Box::pin(async move {
            let tx = self.op(self.pool.begin_with("BEGIN IMMEDIATE")).await?;
            Ok(Box::new(tx) as Box<dyn Any + Send>)
        })
    }

    fn commit_completed<'a>(
        &'a self,
        transaction: Box<dyn Any + Send>,
        lease: &'a Lease,
        retention: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut tx = transaction
                .downcast::<sqlx::Transaction<'static, sqlx::Sqlite>>()
                .map_err(|_| StoreError::unavailable("a transaction of another database"))?;
            // A lost lease returns early: dropping `tx` rolls the handler's writes back.
            self.complete_in(&mut tx, lease, retention).await?;
            self.op(tx.commit()).await
        })
    }
}

/// The answer to a claim when the key holds a record that stands (completed within its
/// retention, or in progress with a live lease or under another event type); `None` when the
/// claim may take the key.
fn existing_answer(
    key: &ClaimKey<'_>,
    existing: Option<(String, String, i64, bool)>,
    now: i64,
) -> Option<Claim> {
    let (recorded_type, state, expires_at, no_holder) = existing?;
    let completed = state == "completed";
    // A released claim is absent, whatever its type and however the clock moved since.
    if !completed && no_holder {
        return None;
    }
    let expired = expires_at <= now;
    // A completed record past its retention is as good as absent (purge is lazy).
    if completed && expired {
        return None;
    }
    if recorded_type != key.event_type {
        return Some(Claim::Conflict { recorded_type });
    }
    if completed {
        return Some(Claim::Completed);
    }
    if expired {
        return None;
    }
    let remaining = u64::try_from(expires_at - now).unwrap_or(0);
    Some(Claim::InProgress {
        retry_after: Duration::from_millis(remaining),
    })
}

/// An attempt count read from the store as a lease's attempt number.
fn saturating_attempt(attempts: i64) -> u32 {
    u32::try_from(attempts.max(1)).unwrap_or(u32::MAX)
}

async fn complete_on(
    connection: &mut SqliteConnection,
    lease: &Lease,
    retention: Duration,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(COMPLETE)
        .bind(lease.namespace())
        .bind(lease.event_id())
        .bind(lease.handler())
        .bind(lease.token())
        .bind(store_millis(retention))
        .execute(connection)
        .await?;
    Ok(done.rows_affected() == 1)
}

async fn create_schema(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let in_tx: &mut SqliteConnection = &mut tx;
    in_tx.execute(SCHEMA).await?;
    tx.commit().await
}

/// Whether SQLite reported a lock held by another connection (`SQLITE_BUSY` and its extended
/// codes).
fn is_busy(error: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i64 = 5;
    error
        .as_database_error()
        .and_then(sqlx::error::DatabaseError::code)
        .and_then(|code| code.parse::<i64>().ok())
        .is_some_and(|code| code & 0xff == SQLITE_BUSY)
}

async fn within<T>(
    timeout: Duration,
    op: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, op).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(StoreError::unavailable(error)),
        Err(elapsed) => Err(StoreError::unavailable(elapsed)),
    }
}
