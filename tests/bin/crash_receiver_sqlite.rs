//! A receiver process for the crash tests (tests/crash.rs), on a [`SqliteStore`]: its one
//! handler inserts a row per `payment_intent.succeeded` event into `orders` through
//! `Tx<Sqlite>`, in the same transaction as its completion record.
//!
//! Environment: `CRASH_SQLITE_PATH` (the database file), and those of `crash_common.rs`.

use webhook_core::sqlx::{self, Sqlite};
use webhook_core::{on_event, Event, HandlerError, SqliteStore, Tx};

#[path = "crash_common.rs"]
mod common;

/// Deliberately no key on `event_id`: a second run of the handler for one event must show up
/// as a second row, not be absorbed by a constraint.
const ORDERS: &str = "CREATE TABLE IF NOT EXISTS orders (
    event_id   TEXT    NOT NULL,
    written_at INTEGER NOT NULL DEFAULT (unixepoch('subsec') * 1000)
)";

#[on_event("payment_intent.succeeded")]
async fn record_order(event: Event<serde_json::Value>, tx: Tx<Sqlite>) -> Result<(), HandlerError> {
    let mut conn = tx.lock().await?;
    sqlx::query("INSERT INTO orders (event_id) VALUES (?1)")
        .bind(event.id())
        .execute(&mut *conn)
        .await?;
    drop(conn);
    common::after_first_write().await;
    Ok(())
}

#[tokio::main]
async fn main() {
    let path = common::env("CRASH_SQLITE_PATH");
    let store = SqliteStore::open(&path)
        .await
        .unwrap_or_else(|error| common::fail(format!("cannot open {path}: {error}")));
    sqlx::query(ORDERS)
        .execute(store.pool())
        .await
        .unwrap_or_else(|error| common::fail(format!("cannot create orders: {error}")));
    common::serve(store).await;
}
