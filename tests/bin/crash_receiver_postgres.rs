//! A receiver process for the crash tests (tests/crash.rs), on a [`PostgresStore`]: its one
//! handler inserts a row per `payment_intent.succeeded` event into `orders` through
//! `Tx<Postgres>`, in the same transaction as its completion record.
//!
//! Environment: `CRASH_POSTGRES_URL`, `CRASH_POSTGRES_SCHEMA` (an existing schema holding both
//! tables; the test creates and drops it), and those of `crash_common.rs`.

use std::str::FromStr;
use std::time::Duration;

use webhook_core::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use webhook_core::sqlx::{self, Postgres};
use webhook_core::{on_event, Event, HandlerError, PostgresStore, Tx};

#[path = "crash_common.rs"]
mod common;

/// Deliberately no key on `event_id`: a second run of the handler for one event must show up
/// as a second row, not be absorbed by a constraint.
const ORDERS: &str = "CREATE TABLE IF NOT EXISTS orders (
    event_id   text        NOT NULL,
    written_at timestamptz NOT NULL DEFAULT clock_timestamp()
)";

#[on_event("payment_intent.succeeded")]
async fn record_order(
    event: Event<serde_json::Value>,
    tx: Tx<Postgres>,
) -> Result<(), HandlerError> {
    let mut conn = tx.lock().await?;
    // `orders` resolves in the test's schema: the pool's connections have it as search path.
    sqlx::query("INSERT INTO orders (event_id) VALUES ($1)")
        .bind(event.id())
        .execute(&mut *conn)
        .await?;
    drop(conn);
    common::after_first_write().await;
    Ok(())
}

#[tokio::main]
async fn main() {
    let url = common::env("CRASH_POSTGRES_URL");
    let schema = common::env("CRASH_POSTGRES_SCHEMA");
    let options = PgConnectOptions::from_str(&url)
        .unwrap_or_else(|error| common::fail(format!("invalid CRASH_POSTGRES_URL: {error}")))
        .options([("search_path", schema.as_str())]);
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(2))
        .connect_with(options)
        .await
        .unwrap_or_else(|error| common::fail(format!("cannot connect: {error}")));
    let store = PostgresStore::builder()
        .table(&format!("{schema}.webhook_idempotency"))
        .unwrap_or_else(|error| common::fail(error))
        .from_pool(pool);
    store
        .migrate()
        .await
        .unwrap_or_else(|error| common::fail(format!("cannot create the store's table: {error}")));
    sqlx::query(ORDERS)
        .execute(store.pool())
        .await
        .unwrap_or_else(|error| common::fail(format!("cannot create orders: {error}")));
    common::serve(store).await;
}
