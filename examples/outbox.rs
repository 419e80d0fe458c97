//! Exactly-once database writes and at-least-once emails, made safe with an outbox.
//!
//! ```text
//! cargo run -p webhook-examples --example outbox
//! ```
//!
//! The `payment_intent.succeeded` handler takes a `Tx<Sqlite>`. Through it, it records the
//! payment in `payments` and queues the receipt email in `outbox`. The receiver commits that
//! transaction together with the record "this handler completed for this event":
//!
//! * **Exactly once: the two rows.** They commit with the completion record or not at all.
//!   An error, a panic, a time-out or a crash rolls them back, and the sender's retry runs the
//!   handler again. Once they are committed, retries are answered 200 without running it.
//! * **At least once: the email.** Sending it from the handler would be wrong: a crash after
//!   the send but before the commit would send it again on the retry. Worse, an attempt that
//!   fails after sending would send a receipt for a payment that was never recorded. So the
//!   handler only queues it, and [`drain_outbox`] sends it after the commit. The worker marks
//!   a message sent after sending it, so a crash between the two sends it again. Each message
//!   therefore carries an idempotency key (`receipt:<payment intent>`) for the email provider
//!   to deduplicate on. Most providers accept one; a provider that does not gives at least
//!   once.
//!
//! With `PostgresStore` the handler takes `Tx<Postgres>` and nothing else changes. Run one
//! worker, or let several claim rows with `SELECT .. FOR UPDATE SKIP LOCKED` (PostgreSQL).
//! Tables must live in the store's own database: the transaction is on the store's connection.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sqlx::{Sqlite, SqlitePool};
use webhook_core::paymentkit::PaymentIntent;
use webhook_core::signature::{PaymentKit, Verifier};
use webhook_core::test_util::TestSender;
use webhook_core::{on_event, Event, HandlerError, Receiver, SqliteStore, Tx};

/// Example only: real deployments read the endpoint's secret from configuration.
const SECRET: &str = "whsec_outbox_example";

const PAYMENT_INTENT: &str =
    include_str!("../webhook-core/tests/fixtures/paymentkit/payment_intent.json");

/// The application's tables, in the store's database file.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS payments (
    payment_intent TEXT PRIMARY KEY,
    amount         TEXT NOT NULL,
    currency       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    sent            INTEGER NOT NULL DEFAULT 0
);
";

/// Records the payment and queues its receipt, both in the receiver's transaction.
#[on_event("payment_intent.succeeded")]
async fn record_payment(event: Event<PaymentIntent>, tx: Tx<Sqlite>) -> Result<(), HandlerError> {
    let intent = event.object();
    let mut conn = tx.lock().await?;
    sqlx::query("INSERT INTO payments (payment_intent, amount, currency) VALUES (?1, ?2, ?3)")
        .bind(&intent.id)
        .bind(intent.amount.as_str())
        .bind(&intent.currency_id)
        .execute(&mut *conn)
        .await?;
    // Not sent from here: queued, and sent by the worker once this transaction has committed.
    sqlx::query("INSERT INTO outbox (idempotency_key, recipient, subject) VALUES (?1, ?2, ?3)")
        .bind(format!("receipt:{}", intent.id))
        .bind(intent.customer_id.as_deref().unwrap_or("unknown customer"))
        .bind(format!(
            "Receipt for {} {}",
            intent.amount, intent.currency_id
        ))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Stands in for an email provider's API. It records what it was asked to send.
#[derive(Debug, Clone, Default)]
pub struct Mailer {
    sent: Arc<Mutex<Vec<String>>>,
}

impl Mailer {
    /// Sends one email. `idempotency_key` lets the provider drop a repeat of the same message.
    ///
    /// # Errors
    /// Never here; a real provider fails when it is unreachable.
    #[allow(clippy::unused_async)]
    pub async fn send(
        &self,
        idempotency_key: &str,
        recipient: &str,
        subject: &str,
    ) -> Result<(), Box<dyn Error + Send + Sync>> {
        println!("email to {recipient}: {subject} (idempotency key {idempotency_key})");
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(idempotency_key.to_owned());
        Ok(())
    }

    /// The idempotency keys of the emails sent so far.
    #[must_use]
    pub fn sent(&self) -> Vec<String> {
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// The outbox worker's pass: sends every queued message, oldest first, and marks each sent.
/// Returns how many it sent. Call it in a loop (every second, say) beside the web server.
///
/// # Errors
/// When the database or the mailer fails. Messages not yet marked sent are sent on the next
/// pass.
pub async fn drain_outbox(
    pool: &SqlitePool,
    mailer: &Mailer,
) -> Result<usize, Box<dyn Error + Send + Sync>> {
    let queued: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT id, idempotency_key, recipient, subject FROM outbox WHERE sent = 0 ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    for (id, key, recipient, subject) in &queued {
        mailer.send(key, recipient, subject).await?;
        // A crash here sends this message again on the next pass: the key makes that harmless.
        sqlx::query("UPDATE outbox SET sent = 1 WHERE id = ?1")
            .bind(id)
            .execute(pool)
            .await?;
    }
    Ok(queued.len())
}

/// What one run of the example did.
#[derive(Debug, PartialEq, Eq)]
pub struct Summary {
    /// Rows in `payments`.
    pub payments: i64,
    /// Rows in `outbox`.
    pub queued: i64,
    /// Emails sent by the first worker pass, then by the second.
    pub sent_per_pass: (usize, usize),
    /// The idempotency keys of the emails sent.
    pub emails: Vec<String>,
}

/// Receives one payment twice (the sender retries), then drains the outbox twice.
///
/// # Errors
/// When the store, the receiver or the database fails.
pub async fn run(database: &Path) -> Result<Summary, Box<dyn Error + Send + Sync>> {
    let store = SqliteStore::open(database).await?;
    sqlx::raw_sql(SCHEMA).execute(store.pool()).await?;
    let pool = store.pool().clone();
    let receiver = Receiver::builder()
        .verifier(Verifier::builder(PaymentKit).secret(SECRET).build()?)
        .store(store)
        .build()?;

    // What PaymentKit would send; in an application, mount `receiver` with webhook-axum.
    let sender = TestSender::new(PaymentKit, SECRET)?;
    let delivery = sender.event("evt_outbox_1", "payment_intent.succeeded", PAYMENT_INTENT);
    let first = receiver.receive(delivery.request()?).await?;
    println!("first delivery: ran {:?}", first.ran());
    let retry = receiver.receive(delivery.request()?).await?;
    println!("retry: duplicate = {}", retry.is_duplicate());

    let mailer = Mailer::default();
    let sent_per_pass = (
        drain_outbox(&pool, &mailer).await?,
        drain_outbox(&pool, &mailer).await?,
    );
    let payments = sqlx::query_scalar("SELECT COUNT(*) FROM payments")
        .fetch_one(&pool)
        .await?;
    let queued = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    Ok(Summary {
        payments,
        queued,
        sent_per_pass,
        emails: mailer.sent(),
    })
}

/// A fresh directory for the example's database file.
fn scratch_dir() -> std::io::Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("webhook-outbox-{}-{nanos:x}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let dir = scratch_dir()?;
    let summary = run(&dir.join("webhooks.db")).await;
    std::fs::remove_dir_all(&dir)?;
    let summary = summary?;
    println!("{summary:#?}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One payment delivered twice: one row, one queued email, sent once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_payment_one_email() {
        let dir = scratch_dir().unwrap();
        let summary = run(&dir.join("webhooks.db")).await;
        std::fs::remove_dir_all(&dir).unwrap();
        let intent: serde_json::Value = serde_json::from_str(PAYMENT_INTENT).unwrap();
        let key = format!("receipt:{}", intent["id"].as_str().unwrap());
        assert_eq!(
            summary.unwrap(),
            Summary {
                payments: 1,
                queued: 1,
                sent_per_pass: (1, 0),
                emails: vec![key],
            }
        );
    }
}
