//! The PostgreSQL store: durable and shared by every instance that reaches the database.

use std::any::{Any, TypeId};
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::Executor;

use super::{
    store_millis, BoxFuture, Claim, ClaimKey, IdempotencyStore, Lease, StoreError, TxBackend,
    EVENT_TYPE_RECORD,
};

/// The default table name.
const DEFAULT_TABLE: &str = "webhook_idempotency";

/// The default time limit of one store operation, as the receiver's default store timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest part of a table name: leaves room for the index name's suffix within PostgreSQL's
/// 63-byte identifiers.
const MAX_NAME_PART: usize = 48;

/// The schema, with `{table}` and `{index}` to fill in. Text columns use the `"C"` collation so
/// keys are compared byte for byte whatever the database's default collation (`evt_ABC` and
/// `evt_abc` are different keys). `expires_at` is the lease expiry of an in-progress record and
/// the end of retention of a completed one, always set from the database clock. An in-progress
/// record without a token is a released claim (`expires_at` is the time of the release): absent
/// to every operation, kept until the next purge only for its `attempts`. Tables created before
/// releases were kept need no change.
const MIGRATION_TEMPLATE: &str = r#"CREATE TABLE IF NOT EXISTS {table} (
    namespace     text COLLATE "C" NOT NULL,
    event_id      text COLLATE "C" NOT NULL,
    handler       text COLLATE "C" NOT NULL,
    event_type    text COLLATE "C" NOT NULL,
    state         text NOT NULL CHECK (state IN ('in_progress', 'completed')),
    token         text,
    expires_at    timestamptz NOT NULL,
    attempts      integer NOT NULL DEFAULT 1,
    first_seen_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    completed_at  timestamptz,
    PRIMARY KEY (namespace, event_id, handler)
);
CREATE INDEX IF NOT EXISTS {index} ON {table} (expires_at);
"#;

/// A durable idempotency store in a PostgreSQL table, shared by every receiver instance that
/// uses the same database.
///
/// **Guarantee**: durable. Claims and completions are committed before the call returns, so
/// they survive restarts of the receivers and of the database, and any number of instances
/// suppress each other's duplicates. Handlers run at least once; a handler that takes a
/// [`Tx<Postgres>`](crate::Tx) and writes through it runs effectively once, its writes
/// committed in the same transaction as its completion (see [`Tx`](crate::Tx)).
///
/// A claim is one atomic statement (`INSERT .. ON CONFLICT .. DO UPDATE .. WHERE <the lease
/// expired> RETURNING`), so concurrent claims on one key grant at most one lease however many
/// instances race. Lease expiry and retention are measured on the database's clock
/// (`clock_timestamp()`), never on the receivers' clocks, so skewed application clocks change
/// nothing. `complete`, `release` and `extend` match the lease's token, so a holder whose lease
/// was taken over cannot touch the new holder's claim.
///
/// # Schema
///
/// The table (default `webhook_idempotency`; [configurable](PostgresStoreBuilder::table), may
/// be schema-qualified) is created by [`PostgresStore::connect`], by
/// [`PostgresStore::migrate`], or by running [`PostgresStore::MIGRATION`] (or
/// [`PostgresStore::migration_sql`] for another table name) with your own migration tool.
/// Run [`purge_expired`](IdempotencyStore::purge_expired) periodically (for example hourly)
/// to delete records past their retention.
///
/// ```no_run
/// use std::time::Duration;
/// use webhook_core::PostgresStore;
///
/// # async fn run(pool: sqlx::PgPool) -> Result<(), Box<dyn std::error::Error>> {
/// let store = PostgresStore::connect("postgres://app@db.internal/app").await?;
///
/// // Or on the application's own pool, in a schema of its own, with the table created by the
/// // application's migrations (`PostgresStore::MIGRATION`):
/// let store = PostgresStore::builder()
///     .table("webhooks.idempotency")?
///     .timeout(Duration::from_secs(1))
///     .from_pool(pool);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    queries: Arc<Queries>,
    timeout: Duration,
}

/// The statements for one table name, formatted once.
#[derive(Debug)]
struct Queries {
    table: String,
    migration: String,
    claim: String,
    claim_first: String,
    select: String,
    complete: String,
    release: String,
    extend: String,
    purge: String,
}

impl Queries {
    fn new(table: &str) -> Self {
        let index = format!("{}_expires_at", table.rsplit('.').next().unwrap_or(table));
        let key = "namespace = $1 AND event_id = $2 AND handler = $3";
        Self {
            table: table.to_owned(),
            migration: migration_sql(table, &index),
            // One statement: insert, or take over a released claim, a lease that expired with
            // the same event type, or a completed record past its retention, and return the
            // attempt number. Under READ COMMITTED a racing claim waits for this row and
            // re-checks the WHERE on its new version, so only one of them gets a row back.
            claim: CLAIM_SQL.replace("{only_if}", "").replace("{table}", table),
            // The claim's own statement, run only under a type record of the event's type.
            claim_first: CLAIM_FIRST_SQL
                .replace(
                    "{claim}",
                    &CLAIM_SQL.replace("{only_if}", "FROM recorded WHERE recorded.event_type = $4"),
                )
                .replace("{table}", table),
            select: format!(
                "SELECT event_type, state, token IS NULL, expires_at <= clock_timestamp(), \
                     GREATEST(0, CEIL(EXTRACT(EPOCH FROM expires_at - clock_timestamp()) * 1000))::bigint \
                 FROM {table} WHERE {key}"
            ),
            complete: COMPLETE_SQL.replace("{table}", table),
            // Keeps the record, without a holder, for its attempt count.
            release: format!(
                "UPDATE {table} SET token = NULL, expires_at = clock_timestamp() \
                 WHERE {key} AND state = 'in_progress' AND token = $4"
            ),
            extend: format!(
                "UPDATE {table} SET expires_at = clock_timestamp() + $5::bigint * interval '1 millisecond' \
                 WHERE {key} AND state = 'in_progress' AND token = $4"
            ),
            // `expires_at` of an in-progress record is its lease expiry, so a live lease is
            // never purged; that of a released claim is the time of the release.
            purge: format!("DELETE FROM {table} WHERE expires_at <= clock_timestamp()"),
        }
    }
}

/// The claim and completion statements, with `{table}` for the table; the store benchmark
/// issues the same files directly.
const CLAIM_SQL: &str = include_str!("postgres/claim.sql");
const COMPLETE_SQL: &str = include_str!("postgres/complete.sql");
/// The event's type record and the claim of its first handler in one statement (see
/// `IdempotencyStore::claim_first`); `{claim}` is `claim.sql`, guarded by the type record.
const CLAIM_FIRST_SQL: &str = include_str!("postgres/claim_first.sql");

fn migration_sql(table: &str, index: &str) -> String {
    MIGRATION_TEMPLATE
        .replace("{table}", table)
        .replace("{index}", index)
}

/// A table name [`PostgresStoreBuilder::table`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "table name must be `table` or `schema.table`, each part 1 to 48 characters of [a-z0-9_] not starting with a digit"
)]
pub struct InvalidTableName;

/// Options for a [`PostgresStore`], from [`PostgresStore::builder`].
#[derive(Debug, Clone)]
pub struct PostgresStoreBuilder {
    table: String,
    timeout: Duration,
    max_connections: u32,
    migrate: bool,
}

impl Default for PostgresStoreBuilder {
    fn default() -> Self {
        Self {
            table: DEFAULT_TABLE.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            max_connections: 10,
            migrate: true,
        }
    }
}

impl PostgresStoreBuilder {
    /// The table to keep records in (default `webhook_idempotency`), optionally
    /// schema-qualified (`webhooks.idempotency`). The schema must exist.
    ///
    /// Names are restricted to lowercase ASCII letters, digits and underscores, so they are
    /// never quoted and never change meaning with case.
    ///
    /// # Errors
    /// [`InvalidTableName`] for anything else.
    pub fn table(mut self, name: &str) -> Result<Self, InvalidTableName> {
        let parts: Vec<&str> = name.split('.').collect();
        let part_ok = |part: &str| {
            !part.is_empty()
                && part.len() <= MAX_NAME_PART
                && !part.starts_with(|c: char| c.is_ascii_digit())
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        if parts.len() > 2 || !parts.iter().all(|part| part_ok(part)) {
            return Err(InvalidTableName);
        }
        name.clone_into(&mut self.table);
        Ok(self)
    }

    /// How long one store operation may take, waiting for a pooled connection included, before
    /// it fails with [`StoreError::Unavailable`] (default 2 s). Also the connections'
    /// `statement_timeout` when the store opens its own pool. Keep it below the receiver's
    /// store timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The most connections the store's own pool opens (default 10).
    #[must_use]
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Whether [`connect`](Self::connect) creates the table when missing (default `true`).
    /// Turn it off when the schema is managed by your own migrations.
    #[must_use]
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Connects to the database at `url` (`postgres://user:password@host:port/database`) and,
    /// unless turned off, creates the table.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL is invalid, the database cannot be reached
    /// within the timeout, or the table cannot be created.
    pub async fn connect(self, url: &str) -> Result<PostgresStore, StoreError> {
        let migrate = self.migrate;
        let store = self.connect_lazy(url)?;
        within(store.timeout, async {
            // Connect now, so a wrong URL or a missing server fails at start-up.
            drop(store.pool.acquire().await?);
            Ok(())
        })
        .await?;
        if migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// A store for the database at `url` that connects on first use and never creates the
    /// table. Until the database is reachable every operation fails with
    /// [`StoreError::Unavailable`]. Call it within a Tokio runtime (sqlx starts the pool's
    /// maintenance task).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL is invalid.
    pub fn connect_lazy(self, url: &str) -> Result<PostgresStore, StoreError> {
        let statement_timeout = self.timeout.as_millis().to_string();
        let options = PgConnectOptions::from_str(url)
            .map_err(StoreError::unavailable)?
            .application_name("webhook-idempotency")
            .options([("statement_timeout", statement_timeout)]);
        let pool = PgPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.timeout)
            .connect_lazy_with(options);
        Ok(self.from_pool(pool))
    }

    /// A store using an existing pool (its acquire timeout and size apply). The table is not
    /// created: call [`PostgresStore::migrate`] or run the SQL yourself.
    #[must_use]
    pub fn from_pool(self, pool: PgPool) -> PostgresStore {
        PostgresStore {
            pool,
            queries: Arc::new(Queries::new(&self.table)),
            timeout: self.timeout,
        }
    }
}

impl PostgresStore {
    /// The schema for the default table name `webhook_idempotency`, for your own migration
    /// tool. Idempotent (`IF NOT EXISTS`).
    pub const MIGRATION: &'static str = r#"CREATE TABLE IF NOT EXISTS webhook_idempotency (
    namespace     text COLLATE "C" NOT NULL,
    event_id      text COLLATE "C" NOT NULL,
    handler       text COLLATE "C" NOT NULL,
    event_type    text COLLATE "C" NOT NULL,
    state         text NOT NULL CHECK (state IN ('in_progress', 'completed')),
    token         text,
    expires_at    timestamptz NOT NULL,
    attempts      integer NOT NULL DEFAULT 1,
    first_seen_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    completed_at  timestamptz,
    PRIMARY KEY (namespace, event_id, handler)
);
CREATE INDEX IF NOT EXISTS webhook_idempotency_expires_at ON webhook_idempotency (expires_at);
"#;

    /// Connects to `url` with default options and creates the table when missing; see
    /// [`PostgresStoreBuilder::connect`].
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached or set up.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::builder().connect(url).await
    }

    /// Connects to `url` with default options, leaving the schema to your migrations.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    pub async fn connect_without_migrating(url: &str) -> Result<Self, StoreError> {
        Self::builder().migrate(false).connect(url).await
    }

    /// A store on an existing pool with the default table; the table is not created (see
    /// [`PostgresStore::migrate`]).
    #[must_use]
    pub fn from_pool(pool: PgPool) -> Self {
        Self::builder().from_pool(pool)
    }

    /// Options: table name, timeout, pool size, migration.
    #[must_use]
    pub fn builder() -> PostgresStoreBuilder {
        PostgresStoreBuilder::default()
    }

    /// Creates the table and its index when missing. Safe to run from many instances at once
    /// (they take turns on an advisory lock).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached or refuses the DDL
    /// (for example, a missing schema or privilege).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migration = &self.queries.migration;
        // Concurrent `CREATE TABLE IF NOT EXISTS` can still collide in the catalog; the
        // transaction-scoped advisory lock serializes set-up across instances.
        self.op(migrate_in(&self.pool, migration)).await
    }

    /// The schema SQL for this store's table name.
    #[must_use]
    pub fn migration_sql(&self) -> &str {
        &self.queries.migration
    }

    /// The table the records are kept in.
    #[must_use]
    pub fn table(&self) -> &str {
        &self.queries.table
    }

    /// The connection pool.
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Records the completion of `lease` through `connection`, usually a transaction that
    /// also holds the handler's own writes: committing it makes the writes and the record
    /// durable together (effectively once), rolling it back leaves neither.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] when `lease` no longer holds the claim (roll the transaction
    /// back: another delivery owns the event now); [`StoreError::Unavailable`] when the
    /// statement fails or takes longer than the store's timeout.
    pub async fn complete_in(
        &self,
        connection: &mut PgConnection,
        lease: &Lease,
        retention: Duration,
    ) -> Result<(), StoreError> {
        if self
            .op(self.complete_on(connection, lease, retention))
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::LeaseLost)
        }
    }

    async fn complete_on(
        &self,
        connection: &mut PgConnection,
        lease: &Lease,
        retention: Duration,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(&self.queries.complete)
            .bind(lease.namespace())
            .bind(lease.event_id())
            .bind(lease.handler())
            .bind(lease.token())
            .bind(store_millis(retention))
            .execute(connection)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn op<T>(
        &self,
        op: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        within(self.timeout, op).await
    }

    async fn claim_once(
        &self,
        key: &ClaimKey<'_>,
        lease: Duration,
    ) -> Result<Option<Claim>, sqlx::Error> {
        let token = Lease::new_token();
        let granted: Option<i32> = sqlx::query_scalar(&self.queries.claim)
            .bind(key.namespace)
            .bind(key.event_id)
            .bind(key.handler)
            .bind(key.event_type)
            .bind(&token)
            .bind(store_millis(lease))
            .fetch_optional(&self.pool)
            .await?;
        match granted {
            Some(attempts) => Ok(Some(acquired(key, &token, attempts))),
            None => self.explain(key).await,
        }
    }

    /// `claim_once` for a first claim: the type record and the claim in one statement.
    async fn claim_first_once(
        &self,
        key: &ClaimKey<'_>,
        lease: Duration,
        retention: Duration,
    ) -> Result<Option<Claim>, sqlx::Error> {
        let token = Lease::new_token();
        let (recorded, granted): (Option<String>, Option<i32>) =
            sqlx::query_as(&self.queries.claim_first)
                .bind(key.namespace)
                .bind(key.event_id)
                .bind(key.handler)
                .bind(key.event_type)
                .bind(&token)
                .bind(store_millis(lease))
                .bind(store_millis(retention))
                .bind(EVENT_TYPE_RECORD)
                .fetch_one(&self.pool)
                .await?;
        match (recorded, granted) {
            // Recorded by a concurrent first claim after this statement's snapshot: again.
            (None, _) => Ok(None),
            (Some(recorded_type), _) if recorded_type != key.event_type => {
                Ok(Some(Claim::Conflict { recorded_type }))
            }
            (Some(_), Some(attempts)) => Ok(Some(acquired(key, &token, attempts))),
            (Some(_), None) => self.explain(key).await,
        }
    }

    /// Why a claim that changed nothing was refused; `None` when the record changed meanwhile
    /// (released, expired, purged) and the claim should be tried again.
    async fn explain(&self, key: &ClaimKey<'_>) -> Result<Option<Claim>, sqlx::Error> {
        // The claim itself was atomic and changed nothing; this read only says why.
        let existing: Option<(String, String, bool, bool, i64)> =
            sqlx::query_as(&self.queries.select)
                .bind(key.namespace)
                .bind(key.event_id)
                .bind(key.handler)
                .fetch_optional(&self.pool)
                .await?;
        let Some((recorded_type, state, no_holder, expired, remaining_ms)) = existing else {
            // Purged in between: claim again.
            return Ok(None);
        };
        let completed = state == "completed";
        if !completed && no_holder {
            // Released in between: claim again.
            return Ok(None);
        }
        if expired && (completed || recorded_type == key.event_type) {
            // Expired in between: claim again.
            return Ok(None);
        }
        if recorded_type != key.event_type {
            return Ok(Some(Claim::Conflict { recorded_type }));
        }
        if completed {
            return Ok(Some(Claim::Completed));
        }
        Ok(Some(Claim::InProgress {
            retry_after: Duration::from_millis(u64::try_from(remaining_ms).unwrap_or(0)),
        }))
    }
}

/// Runs `once` until it settles. The record can only change between a claim's statements by
/// expiring, being released or purged, or (for a first claim) by a concurrent first claim
/// recording the type; a few rounds settle it. Past them, report a short wait: the sender
/// retries and nothing runs twice.
async fn settle<F, Fut>(once: F) -> Result<Claim, sqlx::Error>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Option<Claim>, sqlx::Error>>,
{
    for _ in 0..4 {
        if let Some(claim) = once().await? {
            return Ok(claim);
        }
    }
    Ok(Claim::InProgress {
        retry_after: Duration::from_secs(1),
    })
}

/// The claim granted under `token`, as attempt `attempts`.
fn acquired(key: &ClaimKey<'_>, token: &str, attempts: i32) -> Claim {
    let attempt = u32::try_from(attempts.max(1)).unwrap_or(1);
    Claim::Acquired(Lease::new(key, token).with_attempt(attempt))
}

impl IdempotencyStore for PostgresStore {
    async fn claim(&self, key: &ClaimKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
        key.validate()?;
        self.op(settle(|| self.claim_once(key, lease))).await
    }

    /// One statement for the type record and the claim (`postgres/claim_first.sql`).
    async fn claim_first(
        &self,
        key: &ClaimKey<'_>,
        lease: Duration,
        retention: Duration,
    ) -> Result<Claim, StoreError> {
        key.validate()?;
        self.op(settle(|| self.claim_first_once(key, lease, retention)))
            .await
    }

    async fn complete(&self, lease: &Lease, retention: Duration) -> Result<(), StoreError> {
        let done = self
            .op(async {
                let mut connection = self.pool.acquire().await?;
                self.complete_on(&mut connection, lease, retention).await
            })
            .await?;
        if done {
            Ok(())
        } else {
            Err(StoreError::LeaseLost)
        }
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.op(sqlx::query(&self.queries.release)
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
            .op(sqlx::query(&self.queries.extend)
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
        let done = self
            .op(sqlx::query(&self.queries.purge).execute(&self.pool))
            .await?;
        Ok(done.rows_affected())
    }

    fn transactions(&self) -> Option<Arc<dyn TxBackend>> {
        Some(Arc::new(self.clone()))
    }
}

/// Handlers taking `Tx<Postgres>` run in a transaction of this store's pool; their completion is
/// recorded in it (fenced by the lease token) before it commits.
impl TxBackend for PostgresStore {
    fn transaction_type(&self) -> (TypeId, &'static str) {
        (
            TypeId::of::<sqlx::Transaction<'static, sqlx::Postgres>>(),
            "sqlx::Transaction<'static, sqlx::Postgres>",
        )
    }

    fn begin(&self) -> BoxFuture<'_, Result<Box<dyn Any + Send>, StoreError>> {
        Box::pin(async move {
            let tx = self.op(self.pool.begin()).await?;
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
                .downcast::<sqlx::Transaction<'static, sqlx::Postgres>>()
                .map_err(|_| StoreError::unavailable("a transaction of another database"))?;
            // A lost lease returns early: dropping `tx` rolls the handler's writes back.
            self.complete_in(&mut tx, lease, retention).await?;
            self.op(tx.commit()).await
        })
    }
}

async fn migrate_in(pool: &PgPool, migration: &str) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let connection: &mut PgConnection = &mut tx;
    connection
        .execute("SELECT pg_advisory_xact_lock(hashtext('webhook_core idempotency migration'))")
        .await?;
    connection.execute(migration).await?;
    tx.commit().await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_migration_is_the_default_tables() {
        assert_eq!(
            Queries::new(DEFAULT_TABLE).migration,
            PostgresStore::MIGRATION
        );
    }

    fn assert_send<T: Send>(_: &T) {}

    /// Users spawn these; a future that is not `Send` for every lifetime cannot be spawned.
    #[tokio::test]
    async fn futures_can_be_spawned() {
        let store = PostgresStore::builder()
            .connect_lazy("postgres://user@127.0.0.1:1/db")
            .unwrap();
        assert_send(&PostgresStore::connect("postgres://user@127.0.0.1:1/db"));
        assert_send(&store.migrate());
        let key = ClaimKey {
            namespace: "n",
            event_id: "e",
            handler: "h",
            event_type: "t",
        };
        assert_send(&store.claim(&key, Duration::from_secs(1)));
        // Compiles only if the future is `Send` for every lifetime; never awaited.
        drop(tokio::spawn(async move { store.migrate().await }));
    }

    #[test]
    fn table_names_are_plain_identifiers() {
        let ok = |name: &str| PostgresStore::builder().table(name).is_ok();
        assert!(ok("webhook_idempotency"));
        assert!(ok("wh_test_1.idempotency"));
        assert!(!ok(""));
        assert!(!ok("a.b.c"));
        assert!(!ok("Webhooks"));
        assert!(!ok("1table"));
        assert!(!ok("t; DROP TABLE users"));
        assert!(!ok("t\"x"));
        assert!(!ok(".t"));
        assert!(!ok(&"a".repeat(49)));
    }
}
