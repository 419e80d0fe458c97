//! `Tx<DB>`: a handler's database transaction, committed together with its completion record.
//!
//! With [`PostgresStore`](crate::PostgresStore) or [`SqliteStore`](crate::SqliteStore), a
//! handler that takes a `Tx` runs inside a transaction the store begins for it. Its writes
//! through that transaction and the record "this handler completed for this event" commit
//! together, or not at all:
//!
//! * **Exactly once**: writes made through the `Tx` to the store's own database. A crash, error,
//!   panic or time-out at any point rolls them back with the record, and the sender's retry runs
//!   the handler again; once the commit happened, no retry runs it again.
//! * **At least once**: everything else the handler does: emails, HTTP calls, writes to another
//!   database. A crash after such a call but before the commit repeats it on the retry. Make
//!   those safe with an *outbox*: insert the message into an outbox table through the same `Tx`
//!   and let a separate worker send it (see `examples/outbox.rs`).
//!
//! A concurrent duplicate never runs in parallel: the claim is still a lease, so it is answered
//! 409 while the first delivery holds it. Asking for a `Tx` with a store that has no
//! transactions, or of another database, fails when the receiver is built.

use std::any::TypeId;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use crate::handler::{Delivery, FromDelivery, HandlerError, MissingState, Resources, TxSlot};

/// The handler's transaction on database `DB` (`sqlx::Postgres` or `sqlx::Sqlite`).
///
/// ```ignore
/// #[on_event("payment_intent.succeeded")]
/// async fn fulfil(event: Event<PaymentIntent>, tx: Tx<Postgres>) -> Result<(), HandlerError> {
///     let mut conn = tx.lock().await?;
///     sqlx::query("INSERT INTO orders (payment_intent) VALUES ($1)")
///         .bind(&event.object().id)
///         .execute(&mut *conn)
///         .await?;
///     Ok(()) // committed by the framework with the completion record
/// }
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
