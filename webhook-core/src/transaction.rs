//! `Tx<DB>`: a handler's database transaction, committed together with its completion record.
//! This module is private: the guarantees are documented on the re-exported [`Tx`].

use std::any::TypeId;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use crate::handler::{Delivery, FromDelivery, HandlerError, MissingState, Resources, TxSlot};

/// The handler's transaction on database `DB` (`sqlx::Postgres` or `sqlx::Sqlite`).
///
/// With a `PostgresStore` (feature `postgres`) or a `SqliteStore` (feature `sqlite`), a
/// handler that takes a `Tx` runs inside a transaction the store begins for it, after the
/// event is claimed. When the handler returns `Ok`, the receiver records "this handler
/// completed for this event" in that same transaction and commits it: the handler's writes and
/// the completion record are committed together, or not at all.
///
/// # What runs exactly once, and what does not
///
/// * **Exactly once: writes made through the `Tx`**, to the store's own database (the file of
///   the `SqliteStore`, the database of the `PostgresStore`). If the handler returns an error,
///   panics or times out, they are rolled back and the claim is released, so the sender's next
///   delivery runs the handler again at once. If the process dies before the commit, they are
///   rolled back with the open transaction; the claim stays in progress until its lease
///   expires (deliveries meanwhile are answered 409), then the next delivery runs the handler
///   again. Once the commit has happened, no delivery runs the handler again, even if the
///   process died before answering: the retry is answered 200. The project's crash tests
///   (`tests/crash.rs`) kill a receiver at each of these points, on both databases, and check
///   that exactly one row is left.
/// * **At least once: everything else the handler does**: emails, HTTP calls, messages to a
///   queue, and writes that do not go through the `Tx` (another pool, another database). A
///   failure or crash after such a call but before the commit repeats it on the retry. Make
///   those safe with an **outbox**: insert the message into an outbox table through the same
///   `Tx`, and let a separate worker send the committed messages, each with an idempotency key
///   the receiving service deduplicates on (the worker itself sends at least once).
///   `examples/outbox.rs` shows the handler and the worker.
///
/// A concurrent duplicate never runs in parallel with the first delivery: the claim is still
/// a lease, so the duplicate is answered 409 while the first delivery holds it, and 200 once
/// it has completed. Completion is fenced by the lease token: a handler whose lease was taken
/// over has its writes rolled back (answered 500) instead of committed.
///
/// Asking for a `Tx` with a store that has no transactions (such as
/// [`MemoryStore`](crate::MemoryStore)), or for a `Tx` of another database than the store's,
/// fails when the receiver is built, with [`BuildError::MissingState`](crate::BuildError)
/// naming the handler.
///
/// # Costs
///
/// * The transaction holds a pooled connection of the store for the handler's whole run. On
///   PostgreSQL this bounds how many `Tx` handlers run at once to the pool's size; on SQLite it
///   begins with `BEGIN IMMEDIATE`, which takes the file's write lock, so while a `Tx` handler
///   runs, every other claim and transaction on that file waits (up to the store's timeout,
///   then the delivery is answered 503 and retried). Keep `Tx` handlers short, especially on
///   SQLite.
/// * Write through the `Tx` only: on SQLite, a write through another connection to the same
///   file waits for the write lock the handler's own transaction holds, and fails.
/// * Do not move the `Tx` into a spawned task: the receiver commits when the handler returns,
///   after which the `Tx` only gives errors; a transaction still locked by such a task at that
///   moment is rolled back instead, and the delivery fails.
///
/// # Example
///
/// ```
/// use sqlx::Sqlite;
/// use webhook_core::signature::{PaymentKit, Verifier};
/// use webhook_core::test_util::TestSender;
/// use webhook_core::{on_event, Event, HandlerError, Receiver, SqliteStore, Tx};
///
/// #[on_event("payment_intent.succeeded")]
/// async fn fulfil(event: Event<serde_json::Value>, tx: Tx<Sqlite>) -> Result<(), HandlerError> {
///     let mut conn = tx.lock().await?;
///     sqlx::query("INSERT INTO orders (event_id) VALUES (?1)")
///         .bind(event.id())
///         .execute(&mut *conn)
///         .await?;
///     Ok(()) // committed by the receiver, together with the completion record
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = SqliteStore::memory().await?;
/// sqlx::query("CREATE TABLE orders (event_id TEXT NOT NULL)")
///     .execute(store.pool())
///     .await?;
/// let receiver = Receiver::builder()
///     .verifier(Verifier::builder(PaymentKit).secret("whsec_example").build()?)
///     .store(store.clone())
///     .build()?;
///
/// let sender = TestSender::new(PaymentKit, "whsec_example")?;
/// let delivery = sender.event("evt_1", "payment_intent.succeeded", r#"{"id":"pi_1"}"#);
/// receiver.receive(delivery.request()?).await?;
/// // The sender retries: the handler does not run again, and its row is there once.
/// assert!(receiver.receive(delivery.request()?).await?.is_duplicate());
/// let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
///     .fetch_one(store.pool())
///     .await?;
/// assert_eq!(rows, 1);
/// # Ok(())
/// # }
/// ```
pub struct Tx<DB: sqlx::Database> {
    slot: TxSlot,
    database: PhantomData<fn() -> DB>,
}

impl<DB: sqlx::Database> fmt::Debug for Tx<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tx").field("database", &DB::NAME).finish()
    }
}

impl<DB: sqlx::Database> Tx<DB> {
    /// Exclusive access to the transaction's connection, for running queries.
    ///
    /// # Errors
    /// A permanent [`HandlerError`] when used after the handler returned (the framework has
    /// taken the transaction to commit it).
    pub async fn lock(&self) -> Result<TxGuard<'_, DB>, HandlerError> {
        let guard = self.slot.lock().await;
        let usable = guard
            .as_ref()
            .is_some_and(|tx| tx.is::<sqlx::Transaction<'static, DB>>());
        if usable {
            Ok(TxGuard {
                guard,
                database: PhantomData,
            })
        } else {
            Err(HandlerError::permanent(
                "the transaction is no longer available: use `Tx` only while the handler runs",
            ))
        }
    }
}

/// Locked access to a [`Tx`]; dereferences to the database connection (`&mut *guard` is an
/// `sqlx::Executor`).
pub struct TxGuard<'a, DB: sqlx::Database> {
    guard: tokio::sync::MutexGuard<'a, Option<Box<dyn std::any::Any + Send>>>,
    database: PhantomData<fn() -> DB>,
}

impl<DB: sqlx::Database> fmt::Debug for TxGuard<'_, DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxGuard")
            .field("database", &DB::NAME)
            .finish()
    }
}

impl<DB: sqlx::Database> TxGuard<'_, DB> {
    fn transaction(&self) -> &sqlx::Transaction<'static, DB> {
        // `Tx::lock` checked the slot holds this type, and the slot cannot change while the
        // guard is held.
        match self.guard.as_ref().and_then(|tx| tx.downcast_ref()) {
            Some(tx) => tx,
            None => unreachable!("checked by Tx::lock"),
        }
    }
}

impl<DB: sqlx::Database> Deref for TxGuard<'_, DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        self.transaction()
    }
}

impl<DB: sqlx::Database> DerefMut for TxGuard<'_, DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self
            .guard
            .as_mut()
            .and_then(|tx| tx.downcast_mut::<sqlx::Transaction<'static, DB>>())
        {
            Some(tx) => tx,
            None => unreachable!("checked by Tx::lock"),
        }
    }
}

impl<DB: sqlx::Database> FromDelivery for Tx<DB> {
    fn from_delivery(delivery: &Delivery) -> Result<Self, HandlerError> {
        delivery
            .transaction()
            .map(|slot| Tx {
                slot: slot.clone(),
                database: PhantomData,
            })
            // Unreachable when the receiver was built: `check` marked this handler.
            .ok_or_else(|| HandlerError::permanent("no transaction for this handler"))
    }

    fn check(resources: &Resources) -> Result<(), MissingState> {
        resources.request_transaction();
        match resources.transaction_type() {
            Some((type_id, _)) if type_id == TypeId::of::<sqlx::Transaction<'static, DB>>() => {
                Ok(())
            }
            _ => Err(MissingState {
                type_name: std::any::type_name::<Tx<DB>>(),
                hint: "the receiver's store has no transactions on this database: \
                       use PostgresStore for `Tx<Postgres>` or SqliteStore for `Tx<Sqlite>`",
            }),
        }
    }
}
