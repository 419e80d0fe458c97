//! Idempotency: a duplicate delivery never runs a handler's side effects twice.
//!
//! Each (namespace, event id, handler) is claimed with a *lease* before the handler runs,
//! completed after it succeeds and released when it fails, so the sender's retry runs it again.
//! The state machine is reliability.md section 2.3:
//!
//! ```text
//! ABSENT --claim--> IN_PROGRESS(token, lease) --complete(token)--> COMPLETED --retention--> ABSENT
//!    ^                   |  |  claim after the lease expired: new token (the old holder is fenced)
//!    +---release(token)--+  +- claim while the lease is live: InProgress (answered 409)
//! ```
//!
//! Every claim that is [`Acquired`](Claim::Acquired) is one *attempt* at running the handler
//! for that event; [`Lease::attempt`] says which (1 for the first claim, 2 after one release or
//! one takeover of an expired lease, and so on), so logs and traces can tell a first run from a
//! retry. A released claim is as good as absent (the next claim is acquired, whatever its event
//! type), but the shipped stores keep its record, with no holder, until
//! [`purge_expired`](IdempotencyStore::purge_expired) or the store's own expiry removes it, only
//! to carry the count; a record that completed and outlived its retention starts again at 1.
//!
//! # Implementing a store
//!
//! Implement [`IdempotencyStore`] with `async fn`s. `claim` must be one atomic operation (an
//! `INSERT .. ON CONFLICT`, a `SET NX`, a script), never a read followed by a write. Run the
//! conformance suite (`webhook_core::test_util::conformance`, feature `test-util`) in your tests.
//!
//! [`claim_first`](IdempotencyStore::claim_first), which also records each event's type, works
//! unchanged on top of `claim` and `complete`; override it when the store can do both in one
//! atomic step (the memory store does), to save round trips on every delivery.
//!
//! Counting attempts is optional. A store that counts keeps a counter in each record: 1 when
//! the record is created (or replaces a completed record past its retention), plus 1 each time
//! a claim takes over an expired lease or a released claim; it returns the count in the same
//! operation as the claim (`RETURNING attempts`, a script's reply) and builds the lease with
//! [`Lease::with_attempt`]. For the count to survive a release, `release` must keep the record
//! with no holder instead of deleting it, and every other operation must treat such a record as
//! absent (never `InProgress`, `Completed` or a `Conflict`, never completed, extended or
//! released again); `purge_expired` removes it. A store that does not count builds leases with
//! [`Lease::new`], so every attempt reports 1, and runs the suite with
//! [`Conformance::counts_attempts(false)`](crate::test_util::conformance::Conformance::counts_attempts).

mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::any::{Any, TypeId};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{InvalidTableName, PostgresStore, PostgresStoreBuilder};
#[cfg(feature = "redis")]
pub use redis::{RedisStore, RedisStoreBuilder};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteStore, SqliteStoreBuilder};

use crate::handler::BoxError;

/// The key of one claim. The event type is the fingerprint: a different type under the same id
/// is a conflict (bodies may legitimately differ between retries of one event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimKey<'a> {
    /// The receiver's namespace (one per sender account or endpoint).
    pub namespace: &'a str,
    /// The sender's event id.
    pub event_id: &'a str,
    /// The handler's full path.
    pub handler: &'a str,
    /// The event type, recorded with the claim.
    pub event_type: &'a str,
}

/// The pseudo-handler under which every event's type is recorded (see
/// [`IdempotencyStore::claim_first`]). Not a valid Rust path, so it never names a real handler.
pub const EVENT_TYPE_RECORD: &str = "#event-type";

/// The longest handler path a store accepts, in bytes.
pub const MAX_HANDLER_LEN: usize = 1024;

impl ClaimKey<'_> {
    /// Checks that every part of the key can be stored and compared byte for byte, so two
    /// different keys can never meet in a store (no truncation, no collation, no NUL bytes).
    ///
    /// Every store calls this before touching its backend. The rules: the event id as the
    /// envelope checks it (1 to [`MAX_ID_LEN`](crate::MAX_ID_LEN) printable ASCII bytes, so a
    /// 256-byte id is refused here rather than truncated by a database); the namespace 1 to 255
    /// printable ASCII bytes; the event type 1 to 255 bytes and the handler path 1 to
    /// [`MAX_HANDLER_LEN`] bytes, neither with control characters.
    ///
    /// # Errors
    /// [`StoreError::InvalidKey`] naming the part that is refused.
    pub fn validate(&self) -> Result<(), StoreError> {
        use crate::ascii::printable as printable_ascii;
        if !crate::envelope::valid_id(self.event_id) {
            return Err(StoreError::InvalidKey(
                "event id must be 1 to 255 printable ASCII characters",
            ));
        }
        if self.namespace.is_empty()
            || self.namespace.len() > crate::MAX_ID_LEN
            || !printable_ascii(self.namespace)
        {
            return Err(StoreError::InvalidKey(
                "namespace must be 1 to 255 printable ASCII characters",
            ));
        }
        if !no_control(self.event_type, crate::MAX_ID_LEN) {
            return Err(StoreError::InvalidKey(
                "event type must be 1 to 255 bytes without control characters",
            ));
        }
        if !valid_handler_path(self.handler) {
            return Err(StoreError::InvalidKey(
                "handler path must be 1 to 1024 bytes without control characters",
            ));
        }
        Ok(())
    }
}

/// A handler path as [`ClaimKey::validate`] accepts it; the registry refuses any other when it
/// is built, so a receiver never claims with one.
pub(crate) fn valid_handler_path(path: &str) -> bool {
    no_control(path, MAX_HANDLER_LEN)
}

fn no_control(part: &str, max: usize) -> bool {
    // Types and handler paths are nearly always printable ASCII, which a byte scan settles;
    // only other text needs decoding (C1 controls are two-byte characters).
    !part.is_empty()
        && part.len() <= max
        && (crate::ascii::printable(part) || !part.chars().any(char::is_control))
}

/// A duration in whole milliseconds for a store, capped at 100 years: "keep it practically
/// forever" must not overflow a database interval or a Redis expiry.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "redis"))]
pub(crate) fn store_millis(duration: Duration) -> i64 {
    const MAX_MILLIS: u128 = 100 * 366 * 24 * 60 * 60 * 1000;
    // The cap keeps the value far inside i64.
    i64::try_from(duration.as_millis().min(MAX_MILLIS)).unwrap_or(i64::MAX)
}

/// A held claim. Only the holder of the current token may complete, extend or release it.
#[derive(Clone, PartialEq, Eq)]
pub struct Lease {
    /// The namespace, event id, handler and token one after the other: one allocation per
    /// claim instead of four.
    parts: Box<str>,
    /// Where the namespace, the event id and the handler end in `parts`.
    ends: [usize; 3],
    attempt: u32,
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the token: whoever reads it from a log could complete or release the claim.
        f.debug_struct("Lease")
            .field("namespace", &self.namespace())
            .field("event_id", &self.event_id())
            .field("handler", &self.handler())
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

impl Lease {
    /// A lease on `key` identified by `token`, which must be unique per claim (it fences a stale
    /// holder out once the lease is taken over). Its [attempt](Self::attempt) is 1; a store that
    /// counts attempts sets the count with [`with_attempt`](Self::with_attempt).
    #[must_use]
    pub fn new(key: &ClaimKey<'_>, token: impl AsRef<str>) -> Self {
        let token = token.as_ref();
        let mut parts = String::with_capacity(
            key.namespace.len() + key.event_id.len() + key.handler.len() + token.len(),
        );
        let mut ends = [0; 3];
        for (end, part) in ends
            .iter_mut()
            .zip([key.namespace, key.event_id, key.handler])
        {
            parts.push_str(part);
            *end = parts.len();
        }
        parts.push_str(token);
        Self {
            parts: parts.into_boxed_str(),
            ends,
            attempt: 1,
        }
    }

    /// The same lease, as attempt number `attempt` (see [`attempt`](Self::attempt)). Attempts
    /// count from 1; 0 is taken as 1.
    #[must_use]
    pub fn with_attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt.max(1);
        self
    }

    /// Which claim of this (namespace, event id, handler) this lease is, itself included: 1 for
    /// the first, 2 after one earlier claim was released (its handler failed, panicked or timed
    /// out) or taken over when its lease expired (its process crashed or stalled), and so on.
    ///
    /// The count lives in the store's record, so it is shared by every instance using the
    /// store; it starts again at 1 once the record is gone (purged after its retention, or a
    /// released or expired claim purged before the next claim), and a store that does not count
    /// attempts always reports 1 (see "Implementing a store" in the [module docs](self)).
    #[must_use]
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// A fresh random token for a new claim.
    #[must_use]
    pub fn new_token() -> String {
        uuid::Uuid::new_v4().simple().to_string()
    }

    /// The namespace.
    #[must_use]
    pub fn namespace(&self) -> &str {
        &self.parts[..self.ends[0]]
    }

    /// The event id.
    #[must_use]
    pub fn event_id(&self) -> &str {
        &self.parts[self.ends[0]..self.ends[1]]
    }

    /// The handler's path.
    #[must_use]
    pub fn handler(&self) -> &str {
        &self.parts[self.ends[1]..self.ends[2]]
    }

    /// The fencing token.
    #[must_use]
    pub fn token(&self) -> &str {
        &self.parts[self.ends[2]..]
    }
}

/// The result of a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// The caller holds the lease and must run the handler, then complete or release.
    Acquired(Lease),
    /// Another delivery holds a live lease; try again after `retry_after`.
    InProgress {
        /// How long until the lease expires, as far as the store knows.
        retry_after: Duration,
    },
    /// The handler already completed for this event.
    Completed,
    /// The id was first recorded with a different event type.
    Conflict {
        /// The type recorded first.
        recorded_type: String,
    },
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store cannot be reached, timed out or has no free connection. Answered 503 with
    /// `Retry-After`; never taken to mean "absent".
    #[error("idempotency store unavailable")]
    Unavailable(#[source] BoxError),
    /// The lease expired and was taken over (or released): the caller is no longer the holder.
    #[error("lease lost: another delivery holds this claim")]
    LeaseLost,
    /// The key cannot be stored (too long, bytes the store cannot keep).
    #[error("invalid idempotency key: {0}")]
    InvalidKey(&'static str),
}

impl StoreError {
    /// An [`StoreError::Unavailable`] from any error.
    pub fn unavailable(error: impl Into<BoxError>) -> Self {
        Self::Unavailable(error.into())
    }
}

/// A place to record which (event, handler) pairs are in progress or done.
///
/// See the [module docs](self) for the contract and the state machine; the conformance suite
/// checks an implementation against it.
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Atomically claim `key` with a lease of `lease`.
    ///
    /// Absent (or released), or in progress with an expired lease: record it in progress under
    /// a fresh token and return [`Claim::Acquired`], with the lease's
    /// [attempt](Lease::attempt) when the store counts them. In progress with a live lease:
    /// [`Claim::InProgress`]. Completed: [`Claim::Completed`]. Recorded with another event type:
    /// [`Claim::Conflict`].
    fn claim(
        &self,
        key: &ClaimKey<'_>,
        lease: Duration,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Claim `key` for the first handler of a delivery and, in the same step, record the
    /// event's type.
    ///
    /// Each event's type is recorded once per (namespace, event id), under the pseudo-handler
    /// [`EVENT_TYPE_RECORD`], so that an id delivered again with another type is a
    /// [`Claim::Conflict`] even when the new type's handlers never saw the id. The receiver
    /// calls this for the first matching handler of every delivery and [`claim`](Self::claim)
    /// for the others.
    ///
    /// The type record recorded with another type (in any state but released, or completed
    /// past its retention): [`Claim::Conflict`], and `key` is left alone. Otherwise the type
    /// record is created completed, kept for `retention`, unless it stands already, and `key`
    /// is claimed as [`claim`](Self::claim) does.
    ///
    /// The default runs the two steps one after the other: claim and complete the type record,
    /// then claim `key`. A crash between them leaves the type recorded and `key` unclaimed,
    /// which the next delivery handles like any other state. A store that can do both in one
    /// atomic operation (one lock, one statement, one script) should override it: it saves
    /// two round trips for every new event and one for every duplicate.
    fn claim_first(
        &self,
        key: &ClaimKey<'_>,
        lease: Duration,
        retention: Duration,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send {
        async move {
            let record = ClaimKey {
                handler: EVENT_TYPE_RECORD,
                ..*key
            };
            match self.claim(&record, lease).await? {
                Claim::Acquired(held) => match self.complete(&held, retention).await {
                    // `LeaseLost`: a concurrent delivery recorded it meanwhile, and with this
                    // type, or its own claim would have been a conflict.
                    Ok(()) | Err(StoreError::LeaseLost) => {}
                    Err(error) => return Err(error),
                },
                // A standing record of another type is reported as a conflict in every
                // state, so a live or completed one here carries this event's type.
                Claim::InProgress { .. } | Claim::Completed => {}
                conflict @ Claim::Conflict { .. } => return Ok(conflict),
            }
            self.claim(key, lease).await
        }
    }

    /// Mark the claim completed and keep the record for `retention`.
    ///
    /// Fails with [`StoreError::LeaseLost`], changing nothing, unless `lease` holds the
    /// current token.
    fn complete(
        &self,
        lease: &Lease,
        retention: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Give the claim up so the next delivery runs the handler. A no-op unless `lease` holds
    /// the current token.
    ///
    /// The key is then as good as absent: the next claim is acquired at once. A store that
    /// counts attempts keeps the record, with no holder, so that claim is the next attempt;
    /// [`purge_expired`](Self::purge_expired) removes it.
    fn release(&self, lease: &Lease) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Push the lease's expiry to `by` from now, for handlers that run long.
    ///
    /// Fails with [`StoreError::LeaseLost`] unless `lease` holds the current token.
    fn extend(
        &self,
        lease: &Lease,
        by: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Delete completed records past their retention, in-progress records whose lease
    /// expired and released claims; never a live lease. Returns how many records were deleted.
    fn purge_expired(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The store's transactions, when it can run a handler's writes in the transaction that
    /// records the handler's completion (effectively once; see [`TxBackend`]). `None` (the
    /// default) for stores that cannot.
    fn transactions(&self) -> Option<Arc<dyn TxBackend>> {
        None
    }
}

/// A store's database transactions, for handlers that take a `Tx` argument.
///
/// The claim stays a lease; what changes is completion: the store begins a transaction before
/// the handler runs, the handler writes through it, and the store records the completion in
/// that same transaction (fenced by the lease token) and commits. Writes and record commit or
/// roll back together, so a crash at any point leaves either both or neither.
///
/// Transactions are passed type-erased; [`TxBackend::transaction_type`] names the concrete
/// type (such as `sqlx::Transaction<'static, sqlx::Postgres>`) so extractors can check, when
/// the receiver is built, that they will get what they expect.
pub trait TxBackend: Send + Sync + 'static {
    /// The `TypeId` and name of the boxed transaction type [`TxBackend::begin`] returns.
    fn transaction_type(&self) -> (TypeId, &'static str);

    /// Begin a transaction for one handler run.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no transaction can be started.
    fn begin(&self) -> BoxFuture<'_, Result<Box<dyn Any + Send>, StoreError>>;

    /// Record `lease`'s completion inside `transaction`, then commit it.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] (after rolling back) when `lease` no longer holds the claim;
    /// [`StoreError::Unavailable`] when the commit fails.
    fn commit_completed<'a>(
        &'a self,
        transaction: Box<dyn Any + Send>,
        lease: &'a Lease,
        retention: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// A boxed future, as [`TxBackend`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The receiver's store.
///
/// The memory store is called directly: its operations never wait, and the box each
/// operation's future needs behind the object-safe [`DynStore`] costs as much as the operation
/// itself. Every other store, whose operations wait on a database, goes through [`DynStore`].
///
/// The receiver's keys are valid by construction: `Envelope::parse` checked the event id (by
/// the same rule) and the type (a stricter one), the builder the namespace (stricter) and the
/// registry every handler path ([`valid_handler_path`]). So the memory store, called from here,
/// does not check them again; every store reached through [`DynStore`] still does.
#[derive(Clone)]
pub(crate) enum StoreHandle {
    Memory(Arc<MemoryStore>),
    Other(Arc<dyn DynStore>),
}

impl StoreHandle {
    /// `None` never happens: the one store is always handed back, as one variant or the other.
    pub(crate) fn new<S: IdempotencyStore>(store: S) -> Option<Self> {
        let mut store = Some(store);
        match (&mut store as &mut dyn Any).downcast_mut::<Option<MemoryStore>>() {
            Some(memory) => memory.take().map(|memory| Self::Memory(Arc::new(memory))),
            None => store.map(|store| Self::Other(Arc::new(store))),
        }
    }

    /// [`IdempotencyStore::claim_first`] with a `type_retention`, [`IdempotencyStore::claim`]
    /// without one.
    pub(crate) fn claim<'a>(
        &'a self,
        key: &'a ClaimKey<'a>,
        lease: Duration,
        type_retention: Option<Duration>,
    ) -> StoreFuture<'a, Result<Claim, StoreError>> {
        match (self, type_retention) {
            (Self::Memory(store), _) => {
                StoreFuture::Done(Some(store.claim_valid(key, lease, type_retention)))
            }
            (Self::Other(store), None) => StoreFuture::Boxed(store.claim(key, lease)),
            (Self::Other(store), Some(retention)) => {
                StoreFuture::Boxed(store.claim_first(key, lease, retention))
            }
        }
    }

    pub(crate) fn complete<'a>(
        &'a self,
        lease: &'a Lease,
        retention: Duration,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        match self {
            Self::Memory(store) => StoreFuture::Done(Some(store.complete_now(lease, retention))),
            Self::Other(store) => StoreFuture::Boxed(store.complete(lease, retention)),
        }
    }

    pub(crate) fn release<'a>(
        &'a self,
        lease: &'a Lease,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        match self {
            Self::Memory(store) => StoreFuture::Done(Some(store.release_now(lease))),
            Self::Other(store) => StoreFuture::Boxed(store.release(lease)),
        }
    }

    pub(crate) fn extend<'a>(
        &'a self,
        lease: &'a Lease,
        by: Duration,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        match self {
            Self::Memory(store) => StoreFuture::Done(Some(store.extend_now(lease, by))),
            Self::Other(store) => StoreFuture::Boxed(store.extend(lease, by)),
        }
    }

    pub(crate) fn transactions(&self) -> Option<Arc<dyn TxBackend>> {
        match self {
            Self::Memory(store) => IdempotencyStore::transactions(&**store),
            Self::Other(store) => store.transactions(),
        }
    }
}

/// A store operation in progress: already done (the memory store), or a boxed future.
pub(crate) enum StoreFuture<'a, T> {
    /// `None` once taken.
    Done(Option<T>),
    Boxed(BoxFuture<'a, T>),
}

// The result is only ever moved out, never pinned.
impl<T> Unpin for StoreFuture<'_, T> {}

impl<T> Future for StoreFuture<'_, T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.get_mut() {
            // Polled again after it finished: as any finished future, it never wakes again.
            Self::Done(done) => done.take().map_or(Poll::Pending, Poll::Ready),
            Self::Boxed(future) => future.as_mut().poll(cx),
        }
    }
}

/// [`IdempotencyStore`] behind an object-safe interface, so a receiver is not generic over it.
pub(crate) trait DynStore: Send + Sync {
    fn claim<'a>(
        &'a self,
        key: &'a ClaimKey<'a>,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>>;
    fn claim_first<'a>(
        &'a self,
        key: &'a ClaimKey<'a>,
        lease: Duration,
        retention: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>>;
    fn complete<'a>(
        &'a self,
        lease: &'a Lease,
        retention: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn release<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), StoreError>>;
    fn extend<'a>(
        &'a self,
        lease: &'a Lease,
        by: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn transactions(&self) -> Option<Arc<dyn TxBackend>>;
}

impl<S: IdempotencyStore> DynStore for S {
    fn claim<'a>(
        &'a self,
        key: &'a ClaimKey<'a>,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        Box::pin(IdempotencyStore::claim(self, key, lease))
    }

    fn claim_first<'a>(
        &'a self,
        key: &'a ClaimKey<'a>,
        lease: Duration,
        retention: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        Box::pin(IdempotencyStore::claim_first(self, key, lease, retention))
    }

    fn complete<'a>(
        &'a self,
        lease: &'a Lease,
        retention: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(IdempotencyStore::complete(self, lease, retention))
    }

    fn release<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(IdempotencyStore::release(self, lease))
    }

    fn extend<'a>(
        &'a self,
        lease: &'a Lease,
        by: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(IdempotencyStore::extend(self, lease, by))
    }

    fn transactions(&self) -> Option<Arc<dyn TxBackend>> {
        IdempotencyStore::transactions(self)
    }
}
