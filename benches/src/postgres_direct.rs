//! `PostgresStore`'s claim and completion issued directly on an `sqlx` pool, as an application
//! would write them by hand: the baseline of the PostgreSQL store benchmark
//! (`benches/stores.rs`) and of the interleaved harness's `store-postgres`, kept here so both
//! measure the same code.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use webhook_core::Lease;

use crate::store_ops::{EVENT_TYPE, HANDLER, LEASE, RETENTION};

/// The pool and the store's two statements for `table`, read from the files the store
/// includes, so both always run the same SQL.
#[derive(Clone, Debug)]
pub struct PostgresDirect {
    pool: PgPool,
    claim: Arc<str>,
    complete: Arc<str>,
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl PostgresDirect {
    /// The statements for `table` on `pool` (the store's own pool, so both sides share its
    /// connections and its limit).
    #[must_use]
    pub fn new(pool: PgPool, table: &str) -> Self {
        let claim = include_str!("../../webhook-core/src/idempotency/postgres/claim.sql")
            .replace("{only_if}", "")
            .replace("{table}", table);
        let complete = include_str!("../../webhook-core/src/idempotency/postgres/complete.sql")
            .replace("{table}", table);
        Self {
            pool,
            claim: claim.into(),
            complete: complete.into(),
        }
    }

    /// Claims the new record (`namespace`, `id`, [`HANDLER`]) with the store's default lease
    /// and completes it, with the same arguments the store binds.
    ///
    /// # Panics
    /// When PostgreSQL fails or the record was not new.
    pub async fn claim_and_complete(&self, namespace: &str, id: &str) {
        let token = Lease::new_token();
        let granted: Option<i32> = sqlx::query_scalar(&self.claim)
            .bind(namespace)
            .bind(id)
            .bind(HANDLER)
            .bind(EVENT_TYPE)
            .bind(&token)
            .bind(millis(LEASE))
            .fetch_optional(&self.pool)
            .await
            .expect("claim");
        assert!(granted.is_some(), "a new key is always acquired");
        let done = sqlx::query(&self.complete)
            .bind(namespace)
            .bind(id)
            .bind(HANDLER)
            .bind(&token)
            .bind(millis(RETENTION))
            .execute(&self.pool)
            .await
            .expect("complete");
        assert_eq!(done.rows_affected(), 1);
    }
}
