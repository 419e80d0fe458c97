//! `CountingStore`: a store wrapper that counts what it is asked.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::idempotency::{
    Claim, ClaimKey, IdempotencyStore, Lease, MemoryStore, StoreError, TxBackend,
};

/// Wraps a store and counts every call, so a test can assert that its store was (or was not)
/// contacted: a forged delivery must be rejected before the store is asked anything.
///
/// Clones share the inner store and the count. The inner store's transactions are offered as
/// its own, so handlers taking `Tx` work too; the completions they commit are not counted.
///
/// ```
/// use webhook_core::test_util::{dispatch, CountingStore, TestSender};
/// use webhook_core::signature::{PaymentKit, Verifier};
/// use webhook_core::{MemoryStore, ReceiveError, Receiver};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = CountingStore::new(MemoryStore::new());
/// let receiver = Receiver::builder()
///     .verifier(Verifier::builder(PaymentKit).secret("whsec_real").build()?)
///     .store(store.clone())
///     .build()?;
///
/// let forged = TestSender::new(PaymentKit, "whsec_forged")?.sample("invoice.paid").unwrap();
/// let outcome = receiver.receive(forged.request()?).await;
/// assert!(matches!(outcome, Err(ReceiveError::Unauthenticated(_))));
/// assert_eq!(store.calls(), 0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct CountingStore<S = MemoryStore> {
    inner: Arc<S>,
    calls: Arc<AtomicUsize>,
}

impl<S> Clone for CountingStore<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            calls: Arc::clone(&self.calls),
        }
    }
}

impl<S> CountingStore<S> {
    /// Count the calls made to `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner: Arc::new(inner),
            calls: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// How many operations the store has been asked to do, of any kind.
    #[must_use]
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The wrapped store.
    #[must_use]
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

impl<S: IdempotencyStore> IdempotencyStore for CountingStore<S> {
    async fn claim(&self, key: &ClaimKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
        self.count();
        self.inner.claim(key, lease).await
    }

    async fn complete(&self, lease: &Lease, retention: Duration) -> Result<(), StoreError> {
        self.count();
        self.inner.complete(lease, retention).await
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.count();
        self.inner.release(lease).await
    }

    async fn extend(&self, lease: &Lease, by: Duration) -> Result<(), StoreError> {
        self.count();
        self.inner.extend(lease, by).await
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.count();
        self.inner.purge_expired().await
    }

    // Forwarded, so handlers taking `Tx` work on a counted SQL store; their completions are
    // committed by the inner store's transactions and so are not counted.
    fn transactions(&self) -> Option<Arc<dyn TxBackend>> {
        self.inner.transactions()
    }
}
