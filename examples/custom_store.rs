//! Implementing `IdempotencyStore` for a database the project ships no store for: MariaDB
//! (or MySQL), through sqlx, in about fifty lines, checked by the conformance suite. It counts
//! attempts, so the receiver can tell a handler's first run from a retry (`Lease::attempt`).
//!
//! ```text
//! cargo run -p webhook-examples --example custom_store   # runs the conformance suite
//! ```
//!
//! `WEBHOOK_TEST_MYSQL_URL` points it at a server (default `mysql://root@127.0.0.1:3306/test`).
//! The same suite runs as a test with `cargo test -p webhook-examples --features server-tests`.

use std::sync::Arc;
use std::time::Duration;

use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use webhook_core::test_util::conformance::Conformance;
use webhook_core::{Claim, ClaimKey, IdempotencyStore, Lease, StoreError};

/// Claims in one MariaDB table. Durable and shared by every instance using the database.
#[derive(Debug)]
pub struct MariaDbStore {
    pool: MySqlPool,
    table: String,
}

// A released claim stays as `released` (absent to every operation) until purged, so the next
// claim knows its attempt number.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS {table} (
    namespace VARBINARY(64) NOT NULL, event_id VARBINARY(255) NOT NULL,
    handler VARBINARY(1024) NOT NULL, event_type VARBINARY(255) NOT NULL,
    state ENUM('in_progress', 'completed', 'released') NOT NULL, token CHAR(32) NOT NULL,
    expires_at DATETIME(6) NOT NULL, attempts INT UNSIGNED NOT NULL DEFAULT 1,
    PRIMARY KEY (namespace, event_id, handler))";

// One atomic statement: insert, or take the row over when it was released or its lease (or
// retention) is over. MariaDB assigns left to right: `token` changes first; the other columns
// follow only when it became ours (`attempts` before `state`, so it still sees the old state).
const CLAIM: &str = "INSERT INTO {table} (namespace, event_id, handler, event_type, state, token, expires_at)
    VALUES (?, ?, ?, ?, 'in_progress', ?, NOW(6) + INTERVAL ? MICROSECOND)
    ON DUPLICATE KEY UPDATE
    token = IF(state = 'released' OR expires_at <= NOW(6) AND (state = 'completed' OR event_type = VALUES(event_type)), VALUES(token), token),
    attempts = IF(token = VALUES(token), IF(state = 'completed', 1, attempts + 1), attempts),
    event_type = IF(token = VALUES(token), VALUES(event_type), event_type),
    state = IF(token = VALUES(token), 'in_progress', state),
    expires_at = IF(token = VALUES(token), VALUES(expires_at), expires_at)";
const READ: &str =
    "SELECT token, state, event_type, TIMESTAMPDIFF(MICROSECOND, NOW(6), expires_at), attempts
    FROM {table} WHERE namespace = ? AND event_id = ? AND handler = ?";
const KEY: &str =
    "namespace = ? AND event_id = ? AND handler = ? AND token = ? AND state = 'in_progress'";

impl MariaDbStore {
    /// A store in `table` (created if missing).
    ///
    /// # Errors
    /// When the table cannot be created.
    pub async fn new(pool: MySqlPool, table: &str) -> Result<Self, StoreError> {
        sqlx::query(&SCHEMA.replace("{table}", table))
            .execute(&pool)
            .await
            .map_err(StoreError::unavailable)?;
        Ok(Self {
            pool,
            table: table.to_owned(),
        })
    }

    fn sql(&self, text: &str) -> String {
        text.replace("{table}", &self.table)
    }

    async fn update(
        &self,
        set: &str,
        lease: &Lease,
        micros: Option<u128>,
    ) -> Result<u64, StoreError> {
        let sql = self.sql(&format!("UPDATE {{table}} SET {set} WHERE {KEY}"));
        let mut query = sqlx::query(&sql);
        if let Some(micros) = micros {
            query = query.bind(micros_i64(micros));
        }
        let done = query
            .bind(lease.namespace())
            .bind(lease.event_id())
            .bind(lease.handler())
            .bind(lease.token())
            .execute(&self.pool)
            .await
            .map_err(StoreError::unavailable)?;
        Ok(done.rows_affected())
    }
}

fn micros_i64(micros: u128) -> i64 {
    i64::try_from(micros).unwrap_or(i64::MAX)
}

impl IdempotencyStore for MariaDbStore {
    async fn claim(&self, key: &ClaimKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
        key.validate()?;
        let token = Lease::new_token();
        let mut tx = self.pool.begin().await.map_err(StoreError::unavailable)?;
        sqlx::query(&self.sql(CLAIM))
            .bind(key.namespace)
            .bind(key.event_id)
            .bind(key.handler)
            .bind(key.event_type)
            .bind(&token)
            .bind(micros_i64(lease.as_micros()))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::unavailable)?;
        let (held_by, state, event_type, left, attempts): (String, String, Vec<u8>, i64, u32) =
            sqlx::query_as(&self.sql(READ))
                .bind(key.namespace)
                .bind(key.event_id)
                .bind(key.handler)
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::unavailable)?;
        tx.commit().await.map_err(StoreError::unavailable)?;
        Ok(if held_by == token {
            Claim::Acquired(Lease::new(key, token).with_attempt(attempts))
        } else if event_type != key.event_type.as_bytes() {
            Claim::Conflict {
                recorded_type: String::from_utf8_lossy(&event_type).into_owned(),
            }
        } else if state == "completed" {
            Claim::Completed
        } else {
            Claim::InProgress {
                retry_after: Duration::from_micros(left.max(0).unsigned_abs()),
            }
        })
    }

    async fn complete(&self, lease: &Lease, retention: Duration) -> Result<(), StoreError> {
        let set = "state = 'completed', expires_at = NOW(6) + INTERVAL ? MICROSECOND";
        match self.update(set, lease, Some(retention.as_micros())).await? {
            1 => Ok(()),
            _ => Err(StoreError::LeaseLost),
        }
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        // Kept for its attempt count; `purge_expired` deletes it.
        let set = "state = 'released', expires_at = NOW(6)";
        self.update(set, lease, None).await?;
        Ok(())
    }

    async fn extend(&self, lease: &Lease, by: Duration) -> Result<(), StoreError> {
        match self
            .update(
                "expires_at = NOW(6) + INTERVAL ? MICROSECOND",
                lease,
                Some(by.as_micros()),
            )
            .await?
        {
            1 => Ok(()),
            _ => Err(StoreError::LeaseLost),
        }
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        let done = sqlx::query(&self.sql("DELETE FROM {table} WHERE expires_at <= NOW(6)"))
            .execute(&self.pool)
            .await
            .map_err(StoreError::unavailable)?;
        Ok(done.rows_affected())
    }
}

/// Run the conformance suite against a fresh table, then drop it.
async fn conformance() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("WEBHOOK_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned());
    let pool = MySqlPoolOptions::new()
        .max_connections(40)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url)
        .await
        .map_err(|e| format!("cannot connect to MariaDB at {url} ({e}); set WEBHOOK_TEST_MYSQL_URL to point at one"))?;
    let table = format!("webhook_claims_{}", &Lease::new_token()[..12]);
    let store = Arc::new(MariaDbStore::new(pool.clone(), &table).await?);
    let result = Conformance::new().run(Arc::clone(&store)).await;
    sqlx::query(&format!("DROP TABLE {table}"))
        .execute(&pool)
        .await?;
    Ok(result?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    conformance().await?;
    println!("MariaDbStore passes the idempotency-store conformance suite");
    Ok(())
}

#[cfg(all(test, feature = "server-tests"))]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn mariadb_store_passes_the_conformance_suite() {
        super::conformance().await.unwrap();
    }
}
