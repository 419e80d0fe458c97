//! The receiver: verify, parse, claim, run, complete. One delivery at a time, per the pinned
//! status policy of reliability.md.

use std::any::Any;
use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::Either;
use futures_util::FutureExt;
use smallvec::SmallVec;
use tracing::{debug, info, warn, Instrument, Span};

use crate::clock::wall_clock;
use crate::envelope::{Envelope, EnvelopeError, Head};
use crate::handler::{Delivery, ErrorKind, FromRef, HandlerError, MissingState, Resources, TxSlot};
use crate::idempotency::{
    Claim, ClaimKey, IdempotencyStore, Lease, MemoryStore, StoreError, StoreFuture, StoreHandle,
    TxBackend,
};
use crate::observability::{self, DeliveryOutcome, HandlerOutcome, Instruments};
use crate::registry::{Location, Matching, Registration, Registry, RegistryError};
use crate::signature::{SignedRequest, Verifier, VerifyError};

/// Tunable limits of a receiver. Defaults follow reliability.md "Pinned policy".
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long a claim stays live without renewal (default 60 s). Must exceed
    /// `handler_timeout`, so a handler can never outlive its lease.
    pub lease: Duration,
    /// How long one handler may run (default 20 s), counted from its claim (so a transaction
    /// it is given is begun within it); past it the handler is dropped, its claim released and
    /// the delivery answered 503.
    pub handler_timeout: Duration,
    /// How long completed records are kept (default 7 days). Must cover the sender's retry
    /// horizon and be at least the signature tolerance.
    pub retention: Duration,
    /// How long one store operation may take before the store counts as unavailable (default
    /// 2 s).
    pub store_timeout: Duration,
    /// The `Retry-After` sent with 503 answers (default 5 s).
    pub retry_after: Duration,
    /// The largest body accepted, in bytes (default 1 MiB).
    pub body_limit: usize,
    /// How long an HTTP adapter waits for the whole body once the headers arrived (default
    /// 10 s); a slower client is answered 408.
    pub body_timeout: Duration,
    /// How many deliveries an HTTP adapter processes at once (default 512); past it, new
    /// deliveries are shed with 503 and `Retry-After` instead of queueing without bound.
    pub max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            handler_timeout: Duration::from_secs(20),
            retention: Duration::from_secs(7 * 24 * 60 * 60),
            store_timeout: Duration::from_secs(2),
            retry_after: Duration::from_secs(5),
            body_limit: 1024 * 1024,
            body_timeout: Duration::from_secs(10),
            max_in_flight: 512,
        }
    }
}

/// A successfully handled delivery. Answered 200.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    // Inline for the usual one handler per event: a delivery's receipt allocates nothing.
    ran: SmallVec<[&'static str; 1]>,
    already_done: SmallVec<[&'static str; 1]>,
}

impl Receipt {
    /// Handlers that ran and completed for this delivery.
    #[must_use]
    pub fn ran(&self) -> &[&'static str] {
        &self.ran
    }

    /// Handlers that had already completed for this event and were not run again.
    #[must_use]
    pub fn already_done(&self) -> &[&'static str] {
        &self.already_done
    }

    /// No handler matched the event type.
    #[must_use]
    pub fn is_ignored(&self) -> bool {
        self.ran.is_empty() && self.already_done.is_empty()
    }

    /// Every handler had already completed: a duplicate delivery.
    #[must_use]
    pub fn is_duplicate(&self) -> bool {
        self.ran.is_empty() && !self.already_done.is_empty()
    }
}

/// A handler that did not complete.
#[derive(Debug)]
pub struct HandlerFailure {
    /// The handler's path.
    pub handler: &'static str,
    /// What went wrong.
    pub cause: FailureCause,
}

/// How a handler failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum FailureCause {
    /// It returned an error.
    Error(HandlerError),
    /// It panicked; the payload's message, when it has one.
    Panic(String),
    /// It ran past `handler_timeout`.
    Timeout,
    /// It finished, but its lease had been taken over, so its completion was refused.
    LeaseLost,
}

impl fmt::Display for FailureCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Error(error) => write!(f, "{error}"),
            Self::Panic(message) => write!(f, "panicked: {message}"),
            Self::Timeout => f.write_str("timed out"),
            Self::LeaseLost => f.write_str("lease lost before completion"),
        }
    }
}

/// Why a delivery was not accepted. Each variant has one answer in the pinned status policy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiveError {
    /// Not authentic (401). Nothing ran; the store was not contacted.
    #[error("unauthenticated: {0}")]
    Unauthenticated(#[source] VerifyError),
    /// Authentic but not a usable event (400). Nothing ran; the store was not contacted.
    #[error("malformed event: {0}")]
    Malformed(#[source] EnvelopeError),
    /// Another delivery of the event is being processed (409 with `Retry-After`).
    #[error("event is being processed by another delivery")]
    InProgress {
        /// When to try again.
        retry_after: Duration,
    },
    /// The id was first seen with another event type (422). Nothing ran.
    #[error("event id was first recorded as `{recorded_type}`")]
    Conflict {
        /// The type recorded first.
        recorded_type: String,
    },
    /// One or more handlers failed (500, or 503 when every failure was a timeout). Their
    /// claims were released; handlers that completed are not run again.
    #[error("{} handler(s) failed", failures.len())]
    HandlerFailed {
        /// The failures.
        failures: Vec<HandlerFailure>,
        /// Handlers that completed in this delivery.
        ran: Vec<&'static str>,
    },
    /// The idempotency store is unreachable or too slow (503 with `Retry-After`). No handler
    /// was called after the failure.
    #[error("idempotency store unavailable")]
    StoreUnavailable {
        /// When to try again.
        retry_after: Duration,
        /// The store's error.
        #[source]
        source: StoreError,
    },
}

impl ReceiveError {
    /// Whether this failure is a handler time-out only (answered 503 rather than 500).
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::HandlerFailed { failures, .. }
            if failures.iter().all(|f| matches!(f.cause, FailureCause::Timeout)))
    }
}

/// Why a receiver could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No verifier: every receiver verifies signatures.
    #[error("no verifier configured: add one with `.verifier(..)`")]
    NoVerifier,
    /// No idempotency store.
    #[error("no idempotency store configured: add one with `.store(..)`")]
    NoStore,
    /// The registry is invalid.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A handler needs state the receiver was not given.
    #[error("handler `{handler}` at {location} {missing}")]
    MissingState {
        /// The handler.
        handler: &'static str,
        /// Where it was written.
        location: Location,
        /// What is missing.
        missing: MissingState,
    },
    /// The limits are inconsistent.
    #[error("invalid limits: {0}")]
    Limits(&'static str),
    /// The namespace is not 1 to 64 characters of `[A-Za-z0-9_.:-]`.
    #[error("namespace must be 1 to 64 characters of [A-Za-z0-9_.:-]")]
    Namespace,
}

/// A test hook awaited at named points of a delivery (`after_claim`, `before_commit`,
/// `after_commit`), so crash tests can stop the process exactly there.
#[cfg(feature = "test-util")]
pub type PauseHook =
    Arc<dyn Fn(&'static str) -> crate::idempotency::BoxFuture<'static, ()> + Send + Sync>;

struct Inner {
    verifier: Verifier,
    registry: Registry,
    store: StoreHandle,
    resources: Arc<Resources>,
    namespace: Box<str>,
    limits: Limits,
    /// The store's transactions, and the handlers that run inside one.
    transactions: Option<Arc<dyn TxBackend>>,
    transactional_handlers: HashSet<&'static str>,
    instruments: Instruments,
    #[cfg(feature = "test-util")]
    pause: Option<PauseHook>,
}

/// Turns signed HTTP deliveries into handler calls, exactly once per (event, handler).
///
/// Cheap to clone; build one at start-up with [`Receiver::builder`].
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("verifier", &self.inner.verifier)
            .field("namespace", &self.inner.namespace)
            .field("handlers", &self.inner.registry.registrations().len())
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// Start building a receiver.
    #[must_use]
    pub fn builder() -> ReceiverBuilder {
        ReceiverBuilder {
            verifier: None,
            store: None,
            registry: None,
            resources: Resources::default(),
            namespace: None,
            limits: Limits::default(),
            app_state: (),
            #[cfg(feature = "test-util")]
            pause: None,
        }
    }

    /// The limits in force.
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The registry this receiver dispatches to.
    #[must_use]
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The verifier.
    #[must_use]
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// Process one delivery: verify the raw body, parse the envelope, then claim, run and
    /// complete each matching handler in order.
    ///
    /// The request is verified and parsed when this is called; the returned future claims and
    /// runs the handlers. (It holds the parsed envelope rather than the request, and its
    /// handlers' part boxed: a small future, which every layer above moves.) With a store that
    /// answers at once (the [`MemoryStore`]), the claims are made when this is called too, up
    /// to the first handler this delivery is to run: a delivery that is refused, has no
    /// handler, is a duplicate or finds its handlers in progress elsewhere is then answered by
    /// a future that is already complete.
    ///
    /// Dropping the returned future while a handler runs, or before it was first polled,
    /// releases that handler's claim (so the next delivery runs it) and never completes it.
    /// HTTP adapters run this in its own task so a client that disconnects does not cancel a
    /// handler half-way.
    ///
    /// # Errors
    /// [`ReceiveError`]: each variant maps to one HTTP answer.
    pub fn receive(
        &self,
        request: http::Request<Bytes>,
    ) -> impl Future<Output = Result<Receipt, ReceiveError>> + '_ {
        self.receive_since(request, Instant::now())
    }

    /// [`receive`](Self::receive) for a request that began to arrive at `arrived`.
    ///
    /// An HTTP adapter that reads the body first passes the instant it started: the delivery's
    /// latency then includes reading the body (as that of a request it refuses does), and
    /// `arrived` is the time the signature's timestamp is checked against and the
    /// delivery's [`received_at`](crate::Delivery::received_at).
    ///
    /// # Errors
    /// As [`Receiver::receive`].
    pub fn receive_since(
        &self,
        request: http::Request<Bytes>,
        arrived: Instant,
    ) -> impl Future<Output = Result<Receipt, ReceiveError>> + '_ {
        let span = observability::delivery_span(self.inner.verifier.scheme_name());
        match span.in_scope(|| self.start(request, arrived, &span)) {
            Start::Answered(result) => {
                // Answered without waiting for anything: no delivery future to build.
                self.delivered(&span, &result, arrived, Instant::now());
                Either::Left(std::future::ready(result))
            }
            // Boxed: the handlers' part is most of a delivery's future. An adapter boxes the
            // whole future to spawn a delivery that waits, and as one box (1,248 bytes with the
            // request it starts from) glibc served it from its slow shared bins for every
            // delivery: its per-thread cache stops at 1,032 bytes. Two boxes both fit, and a
            // delivery answered at once needs no second.
            Start::Dispatch(envelope, pending) => Either::Right(Box::pin(self.observed(
                self.dispatch_verified(Arc::new(envelope), pending, arrived),
                span,
                arrived,
            ))),
        }
    }

    /// Everything a delivery does before it may have to wait: verify, parse, find its
    /// handlers and, with a store that answers at once, claim them up to the first that is this
    /// delivery's to run. A delivery refused, ignored, or whose handlers had all completed (a
    /// duplicate) or are in progress elsewhere ends here, with no future of its own.
    fn start(&self, request: http::Request<Bytes>, arrived: Instant, span: &Span) -> Start<'_> {
        let envelope = match self.verify_and_parse(request, arrived) {
            Ok(envelope) => envelope,
            Err(error) => return Start::Answered(Err(error)),
        };
        let Some(mut pending) = self.pending(&envelope, span) else {
            return Start::Answered(Ok(Receipt::default()));
        };
        if let Some(store) = self.settles_at_once() {
            match self.claim_at_once(store, &envelope, &mut pending) {
                Ok(true) => return Start::Answered(pending.answer()),
                Ok(false) => {}
                Err(error) => return Start::Answered(Err(error)),
            }
        }
        Start::Dispatch(envelope, pending)
    }

    /// Records `envelope`'s id and type on its delivery's `span` and finds its handlers: none
    /// (logged as ignored) when no handler runs for its type.
    fn pending(&self, envelope: &Envelope, span: &Span) -> Option<Pending<'_>> {
        observability::record_event(span, envelope.id(), envelope.event_type());
        let handlers = self.inner.registry.matching(envelope.event_type());
        if handlers.len() == 0 {
            ignored(envelope);
            return None;
        }
        Some(Pending::new(handlers))
    }

    /// Claims `pending`'s handlers in order with a store that answers at once, up to the
    /// first claim that is this delivery's to run, which is left in `pending` for the
    /// delivery's future to run. `true` when there is none: every handler had completed or is
    /// in progress elsewhere, and `pending` holds the answer.
    fn claim_at_once<'a>(
        &'a self,
        store: &'a MemoryStore,
        envelope: &Envelope,
        pending: &mut Pending<'a>,
    ) -> Result<bool, ReceiveError> {
        let limits = &self.inner.limits;
        while let Some((index, registration)) = pending.handlers.next() {
            let key = claim_key(&self.inner, envelope, registration);
            let claim = store
                .claim_valid(&key, limits.lease, pending.type_retention(limits))
                .map_err(|source| self.unavailable(source))?;
            match pending.next_step(registration, claim) {
                Step::Next => {}
                Step::Run(lease) => {
                    pending.current = Some(Acquired {
                        index,
                        registration,
                        lease,
                        store,
                    });
                    return Ok(false);
                }
                Step::Conflict(recorded_type) => return Err(conflict(envelope, recorded_type)),
            }
        }
        Ok(true)
    }

    /// Runs a delivery's `dispatch` inside its `webhook.delivery` span, then records its
    /// outcome and latency (see [`observability`]).
    ///
    /// Combinators rather than an async block, which would keep the dispatch future twice
    /// (once as a captured value, once being awaited): every layer above moves this future,
    /// so its size is paid on every delivery.
    fn observed<'a>(
        &'a self,
        dispatch: impl Future<Output = (Result<Receipt, ReceiveError>, Option<Instant>)> + 'a,
        span: Span,
        started: Instant,
    ) -> impl Future<Output = Result<Receipt, ReceiveError>> + 'a {
        let entered = span.clone();
        dispatch
            .map(move |(result, ended)| {
                self.delivered(&span, &result, started, ended.unwrap_or_else(Instant::now));
                result
            })
            .instrument(entered)
    }

    /// Records a delivery's outcome and its latency from `started` to `ended` (see
    /// [`observability`]).
    fn delivered(
        &self,
        span: &Span,
        result: &Result<Receipt, ReceiveError>,
        started: Instant,
        ended: Instant,
    ) {
        self.inner.instruments.delivery(
            span,
            DeliveryOutcome::of(result),
            ended.saturating_duration_since(started),
        );
    }

    fn verify_and_parse(
        &self,
        request: http::Request<Bytes>,
        arrived: Instant,
    ) -> Result<Envelope, ReceiveError> {
        let (parts, body) = request.into_parts();
        let signed = SignedRequest {
            method: &parts.method,
            path: parts.uri.path(),
            query: parts.uri.query(),
            headers: &parts.headers,
            body: &body,
        };
        // The wall-clock time is derived from the arrival instant: no second clock read.
        let system_now = || wall_clock().unix_seconds(arrived);
        let verified = self
            .inner
            .verifier
            .verify_with(&signed, system_now)
            .map_err(|error| {
                info!(reason = %error, "rejected unauthenticated delivery");
                ReceiveError::Unauthenticated(error)
            })?;
        self.inner.instruments.verified();
        // `verified` may borrow the request, so the body is read while borrowed and only then
        // moved into the envelope.
        let head = Head::read(&body, &verified).map_err(|error| {
            info!(reason = %error, "rejected malformed event");
            ReceiveError::Malformed(error)
        })?;
        Ok(Envelope::from_head(body, head))
    }

    /// Claim, run and complete each handler for an already verified envelope.
    ///
    /// # Errors
    /// As [`Receiver::receive`], except the authentication and parsing variants.
    pub async fn dispatch(&self, envelope: Arc<Envelope>) -> Result<Receipt, ReceiveError> {
        let span = observability::delivery_span(self.inner.verifier.scheme_name());
        let started = Instant::now();
        let Some(pending) = self.pending(&envelope, &span) else {
            let result = Ok(Receipt::default());
            self.delivered(&span, &result, started, Instant::now());
            return result;
        };
        self.observed(
            self.dispatch_verified(envelope, pending, started),
            span,
            started,
        )
        .await
    }

    /// Claims, runs and completes `pending`'s handlers. `started` is when the delivery
    /// arrived. Also gives the clock reading that ended the last handler run when no store
    /// operation followed it, so the delivery's latency needs no reading of its own.
    ///
    /// An async block rather than an `async fn`, which would keep a second copy of its
    /// arguments in its state; for the same reason its steps work on `pending` in place, and
    /// end by breaking out of one labelled block rather than returning from a nested future.
    #[allow(clippy::manual_async_fn)]
    fn dispatch_verified<'a>(
        &'a self,
        envelope: Arc<Envelope>,
        mut pending: Pending<'a>,
        started: Instant,
    ) -> impl Future<Output = (Result<Receipt, ReceiveError>, Option<Instant>)> + 'a {
        async move {
            let inner = &*self.inner;
            let mut failures = Vec::new();
            let result = 'steps: {
                loop {
                    // The claim made at once, if any, then the next handlers' claims here.
                    let (index, registration, lease) = match pending.current.take() {
                        Some(Acquired {
                            index,
                            registration,
                            lease,
                            ..
                        }) => (index, registration, lease),
                        None => {
                            let Some((index, registration)) = pending.handlers.next() else {
                                break;
                            };
                            let key = claim_key(inner, &envelope, registration);
                            pending.ended = None;
                            let claim = self
                                .store_op(inner.store.claim(
                                    &key,
                                    inner.limits.lease,
                                    pending.type_retention(&inner.limits),
                                ))
                                .await;
                            let claim = match claim {
                                Ok(claim) => claim,
                                Err(source) => break 'steps Err(self.unavailable(source)),
                            };
                            match pending.next_step(registration, claim) {
                                Step::Run(lease) => (index, registration, lease),
                                Step::Next => continue,
                                Step::Conflict(recorded_type) => {
                                    break 'steps Err(conflict(&envelope, recorded_type))
                                }
                            }
                        }
                    };
                    let delivery = Delivery::new(
                        Arc::clone(&envelope),
                        Arc::clone(&inner.resources),
                        started,
                        registration.path(),
                    );
                    let ran = match self.settles_at_once() {
                        // Boxed: a run's future is most of a delivery's, and a duplicate
                        // (or an ignored event) would otherwise carry and move it without
                        // ever starting it; such a run pays one small allocation instead.
                        // As `dyn Future`, so the compiler does not inline its code into
                        // the common path's (measured: ~2 % of a new event, see
                        // BENCHMARKS.md "Session 11").
                        None => {
                            let run: crate::idempotency::BoxFuture<'_, _> = Box::pin(self.run(
                                index,
                                registration,
                                delivery,
                                lease,
                                &mut pending.ended,
                            ));
                            run.await
                        }
                        // Inline, as the common case: the call, one poll and the claim's
                        // settlement, with no future of the run's own. Only a handler that
                        // waits is supervised, boxed (as `dyn`, as above).
                        Some(store) => {
                            let started = Instant::now();
                            let span =
                                observability::handler_span(registration.path(), lease.attempt());
                            let finished = match span.in_scope(|| call(registration, delivery)) {
                                Err(cause) => Err(cause),
                                Ok(mut guarded) => {
                                    let first = std::future::poll_fn(|cx| {
                                        let _entered = span.enter();
                                        Poll::Ready(std::pin::Pin::new(&mut guarded).poll(cx))
                                    })
                                    .await;
                                    match first {
                                        Poll::Ready(result) => outcome(Ok(result)),
                                        Poll::Pending => {
                                            let waiting: crate::idempotency::BoxFuture<'_, _> =
                                                Box::pin(self.wait_for(
                                                    registration,
                                                    &lease,
                                                    guarded,
                                                    started,
                                                    &span,
                                                ));
                                            waiting.await
                                        }
                                    }
                                }
                            };
                            let settled = span.in_scope(|| {
                                self.settle_at_once(store, finished, &lease, registration.path())
                            });
                            self.ran(
                                &span,
                                index,
                                registration.path(),
                                started,
                                &settled,
                                &mut pending.ended,
                            );
                            settled
                        }
                    };
                    let ran = match ran {
                        Ok(ran) => ran,
                        Err(error) => break 'steps Err(error),
                    };
                    match ran {
                        None => pending.receipt.ran.push(registration.path()),
                        Some(cause) => failures.push(HandlerFailure {
                            handler: registration.path(),
                            cause,
                        }),
                    }
                }
                if !failures.is_empty() {
                    break 'steps Err(ReceiveError::HandlerFailed {
                        failures,
                        ran: std::mem::take(&mut pending.receipt.ran).into_vec(),
                    });
                }
                pending.answer()
            };
            (result, pending.ended)
        }
    }

    /// Run one claimed handler to an outcome, keeping its lease alive, then complete or release
    /// the claim. `Ok(None)` when it completed, `Ok(Some(cause))` when it failed and its claim
    /// was released; `Err` only when the store failed.
    ///
    /// For a run that may wait (see [`settles_at_once`](Self::settles_at_once)); the others
    /// are run inline by `dispatch_verified`, with the same steps.
    fn run<'a>(
        &'a self,
        index: usize,
        registration: &'a Registration,
        delivery: Delivery,
        lease: Lease,
        ended: &'a mut Option<Instant>,
    ) -> impl Future<Output = Result<Option<FailureCause>, ReceiveError>> + 'a {
        // One clock read for both the handler's latency and its time limit, one at its end
        // for its latency and, if nothing follows, the delivery's.
        let started = Instant::now();
        let span = observability::handler_span(registration.path(), lease.attempt());
        let deadline = self.deadline(started);
        let entered = span.clone();
        // As `observed`: one `Instrumented` layer, and no second copy of the arguments.
        async move {
            let result = self
                .run_claimed(registration, delivery, lease, deadline)
                .await;
            self.ran(&span, index, registration.path(), started, &result, ended);
            result
        }
        .instrument(entered)
    }

    /// When a handler run that started at `started` runs out of time.
    fn deadline(&self, started: Instant) -> tokio::time::Instant {
        tokio::time::Instant::from_std(started) + self.inner.limits.handler_timeout
    }

    /// Records a run's outcome and latency (see [`observability`]); its end is the delivery's
    /// if nothing follows.
    fn ran(
        &self,
        span: &Span,
        index: usize,
        handler: &'static str,
        started: Instant,
        result: &Result<Option<FailureCause>, ReceiveError>,
        ended: &mut Option<Instant>,
    ) {
        let outcome = match result {
            Ok(None) => HandlerOutcome::Completed,
            Ok(Some(cause)) => HandlerOutcome::of_failure(cause),
            Err(_) => HandlerOutcome::StoreUnavailable,
        };
        let now = Instant::now();
        *ended = Some(now);
        self.inner.instruments.handler(
            span,
            index,
            handler,
            outcome,
            now.saturating_duration_since(started),
        );
    }

    /// Supervises a handler run inline (see `dispatch_verified`) that waited on its first
    /// poll, to its outcome; dropped meanwhile (the delivery was cancelled), it gives the
    /// claim up.
    async fn wait_for(
        &self,
        registration: &Registration,
        lease: &Lease,
        mut handler: Guarded,
        started: Instant,
        span: &Span,
    ) -> Result<(), FailureCause> {
        let mut guard = LeaseGuard {
            store: &self.inner.store,
            lease: Some(lease),
        };
        let supervised = self
            .supervise(registration, lease, &mut handler, self.deadline(started))
            .instrument(span.clone())
            .await;
        guard.disarm();
        outcome(supervised)
    }

    /// The memory store, when a run needs nothing that waits: its completion and release
    /// answer at once, and it has no transactions (so no handler runs in one); nor may a
    /// test hook be set.
    fn settles_at_once(&self) -> Option<&MemoryStore> {
        let inner = &*self.inner;
        #[cfg(feature = "test-util")]
        if inner.pause.is_some() {
            return None;
        }
        match &inner.store {
            StoreHandle::Memory(store) => {
                debug_assert!(inner.transactions.is_none(), "the memory store has none");
                Some(store)
            }
            StoreHandle::Other(_) => None,
        }
    }

    /// Completes the claim of a handler that succeeded, or releases that of one that failed,
    /// with a store that answers at once.
    fn settle_at_once(
        &self,
        store: &MemoryStore,
        finished: Result<(), FailureCause>,
        lease: &Lease,
        handler: &'static str,
    ) -> Result<Option<FailureCause>, ReceiveError> {
        match finished {
            Ok(()) => {
                let completed = store.complete_now(lease, self.inner.limits.retention);
                self.completed(completed, lease, handler)
            }
            Err(cause) => {
                self.log_failure(&cause, lease, handler);
                if let Err(error) = store.release_now(lease) {
                    not_released(lease, &error);
                }
                Ok(Some(cause))
            }
        }
    }

    // An async block rather than an `async fn`, which would keep a second copy of the
    // arguments (a `Delivery` and a `Lease`) in its state.
    #[allow(clippy::manual_async_fn)]
    fn run_claimed<'a>(
        &'a self,
        registration: &'a Registration,
        delivery: Delivery,
        lease: Lease,
        deadline: tokio::time::Instant,
    ) -> impl Future<Output = Result<Option<FailureCause>, ReceiveError>> + 'a {
        async move {
            let inner = &*self.inner;
            let mut guard = LeaseGuard {
                store: &inner.store,
                lease: Some(&lease),
            };
            if let Some(wait) = self.pause("after_claim") {
                wait.await;
            }
            let transaction = match &inner.transactions {
                Some(backend) if inner.transactional_handlers.contains(registration.path()) => {
                    let slot: TxSlot =
                        match self.store_op(StoreFuture::Boxed(backend.begin())).await {
                            Ok(tx) => Arc::new(tokio::sync::Mutex::new(Some(tx))),
                            Err(error) => {
                                guard.disarm();
                                self.release(&lease).await;
                                return Err(self.unavailable(error));
                            }
                        };
                    Some((Arc::clone(backend), slot))
                }
                _ => None,
            };
            let delivery = match &transaction {
                Some((_, slot)) => delivery.with_transaction(Arc::clone(slot)),
                None => delivery,
            };
            let finished = match call(registration, delivery) {
                Err(cause) => Err(cause),
                Ok(mut guarded) => {
                    // A handler that finishes on its first poll needs neither the time-out's timer
                    // nor the renewal's.
                    match poll_once(&mut guarded).await {
                        Poll::Ready(result) => outcome(Ok(result)),
                        // Only a handler that waits pays for the timers (and a box), and the
                        // receive future stays small for those that do not.
                        Poll::Pending => outcome(
                            Box::pin(self.supervise(registration, &lease, &mut guarded, deadline))
                                .await,
                        ),
                    }
                }
            };
            let handler = registration.path();
            if let Err(cause) = finished {
                self.log_failure(&cause, &lease, handler);
                // Roll the handler's writes back before giving the claim up.
                drop(transaction);
                guard.disarm();
                self.release(&lease).await;
                return Ok(Some(cause));
            }
            guard.disarm();
            if let Some(wait) = self.pause("before_commit") {
                wait.await;
            }
            let completed = match transaction {
                None => {
                    self.store_op(inner.store.complete(&lease, inner.limits.retention))
                        .await
                }
                Some((backend, slot)) => {
                    // The handler's `Tx` handles are gone once it returned; one that
                    // escaped (moved into a spawned task) keeps the lock, and the
                    // transaction is rolled back rather than committed under it.
                    let tx = slot.try_lock().ok().and_then(|mut held| held.take());
                    match tx {
                        Some(tx) => {
                            self.store_op(StoreFuture::Boxed(backend.commit_completed(
                                tx,
                                &lease,
                                inner.limits.retention,
                            )))
                            .await
                        }
                        None => {
                            warn!(
                                event_id = lease.event_id(),
                                handler,
                                "transaction still in use after the handler returned; rolled back"
                            );
                            self.release(&lease).await;
                            return Ok(Some(FailureCause::Error(HandlerError::permanent(
                                "the handler kept its transaction after returning",
                            ))));
                        }
                    }
                }
            };
            if completed.is_ok() {
                if let Some(wait) = self.pause("after_commit") {
                    wait.await;
                }
            }
            self.completed(completed, &lease, handler)
        }
    }

    /// What a completion's result means for the run: `Ok(None)` recorded; a lease lost
    /// meanwhile is the run's failure; any other store error fails the delivery (503).
    fn completed(
        &self,
        completed: Result<(), StoreError>,
        lease: &Lease,
        handler: &'static str,
    ) -> Result<Option<FailureCause>, ReceiveError> {
        let event_id = lease.event_id();
        match completed {
            Ok(()) => {
                info!(event_id, handler, "handler completed");
                Ok(None)
            }
            Err(StoreError::LeaseLost) => {
                warn!(
                    event_id,
                    handler, "handler finished after its lease was taken over; completion refused"
                );
                Ok(Some(FailureCause::LeaseLost))
            }
            Err(error) => {
                // A handler without a `Tx` did its work but it is not recorded: the retry runs
                // it again once the lease expires (at least once). With a `Tx`, the failed
                // commit rolled its writes back with the record.
                warn!(event_id, handler, %error, "could not record completion");
                Err(self.unavailable(error))
            }
        }
    }

    /// Logs why a handler failed (what [`outcome`] or [`call`] reported).
    fn log_failure(&self, cause: &FailureCause, lease: &Lease, handler: &'static str) {
        let event_id = lease.event_id();
        match cause {
            FailureCause::Error(error) => {
                warn!(event_id, handler, kind = %error.kind(), %error, "handler failed");
            }
            FailureCause::Panic(message) => {
                warn!(event_id, handler, kind = %ErrorKind::Retryable, message, "handler panicked");
            }
            FailureCause::Timeout => {
                warn!(event_id, handler, timeout = ?self.inner.limits.handler_timeout, "handler timed out");
            }
            // Not a handler's outcome: found, and logged, by `completed`.
            FailureCause::LeaseLost => {}
        }
    }

    /// Drives a handler that did not finish on its first poll until it does or `deadline`
    /// passes, renewing its lease beside it every third of the lease.
    async fn supervise<F: Future + Unpin>(
        &self,
        registration: &Registration,
        lease: &Lease,
        handler: F,
        deadline: tokio::time::Instant,
    ) -> Result<F::Output, tokio::time::error::Elapsed> {
        let inner = &*self.inner;
        let mut timed = pin!(tokio::time::timeout_at(deadline, handler));
        let renew_every = inner.limits.lease / 3;
        // A renewal runs beside the handler, never in its place: awaited in the loop body, a
        // slow renewal would stop polling the handler (on SQLite, `extend` waits for the write
        // lock that a `Tx` handler's own transaction holds), and the stalled handler would
        // overrun its time limit.
        let mut renewal: Option<crate::idempotency::BoxFuture<'_, Result<(), StoreError>>> = None;
        loop {
            tokio::select! {
                biased;
                result = &mut timed => return result,
                renewed = async {
                    match renewal.as_mut() {
                        Some(renewal) => renewal.await,
                        None => std::future::pending().await,
                    }
                }, if renewal.is_some() => {
                    renewal = None;
                    if let Err(error) = renewed {
                        warn!(handler = registration.path(), %error, "could not renew lease");
                    }
                }
                () = tokio::time::sleep(renew_every), if renewal.is_none() => {
                    renewal = Some(Box::pin(
                        self.store_op(inner.store.extend(lease, inner.limits.lease)),
                    ));
                }
            }
        }
    }

    /// Give a claim up after a failure. If the store cannot be reached, the lease expires on
    /// its own and the next delivery after that runs the handler.
    async fn release(&self, lease: &Lease) {
        if let Err(error) = self.store_op(self.inner.store.release(lease)).await {
            not_released(lease, &error);
        }
    }

    async fn store_op<T>(
        &self,
        op: StoreFuture<'_, Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let mut op = match op {
            // The memory store's answer, already there.
            StoreFuture::Done(Some(result)) => return result,
            op => op,
        };
        // An operation that completes on its first poll needs no timer: arming one costs more
        // than a fast operation. Otherwise the time limit counts from that first poll, which
        // only starts the operation.
        if let Poll::Ready(result) = poll_once(&mut op).await {
            return result;
        }
        // Boxed: the timer's state would otherwise sit in every future that awaits a store
        // operation, the memory store's included.
        match Box::pin(tokio::time::timeout(self.inner.limits.store_timeout, op)).await {
            Ok(result) => result,
            Err(elapsed) => Err(StoreError::unavailable(elapsed)),
        }
    }

    /// The test hook's wait at `point`, when one is set (`test-util`). Not an `async fn`: with
    /// no hook there is then no future to build and poll at each of a run's three points.
    #[allow(clippy::unnecessary_wraps, clippy::unused_self)]
    fn pause(&self, point: &'static str) -> Option<crate::idempotency::BoxFuture<'static, ()>> {
        #[cfg(feature = "test-util")]
        if let Some(pause) = &self.inner.pause {
            return Some(pause(point));
        }
        let _ = point;
        None
    }

    fn unavailable(&self, source: StoreError) -> ReceiveError {
        warn!(error = %source, "idempotency store failed");
        ReceiveError::StoreUnavailable {
            retry_after: self.inner.limits.retry_after,
            source,
        }
    }
}

/// Polls `future` once, handing back whether it finished, so a caller can skip setting up
/// timers for work that never waits.
fn poll_once<F: Future + Unpin>(mut future: F) -> impl Future<Output = Poll<F::Output>> {
    std::future::poll_fn(move |cx| Poll::Ready(std::pin::Pin::new(&mut future).poll(cx)))
}

/// A handler's future, guarded against panics.
type Guarded = futures_util::future::CatchUnwind<AssertUnwindSafe<crate::handler::HandlerFuture>>;

/// Calls a handler: its future, or the panic of the call itself.
fn call(registration: &Registration, delivery: Delivery) -> Result<Guarded, FailureCause> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| registration.call(delivery))) {
        Ok(future) => Ok(AssertUnwindSafe(future).catch_unwind()),
        Err(panic) => Err(FailureCause::Panic(panic_message(&*panic))),
    }
}

/// A handler's outcome from what its future gave (guarded against panics) or its time-out:
/// `Ok` when it succeeded, otherwise why it failed.
fn outcome(
    result: Result<std::thread::Result<Result<(), HandlerError>>, tokio::time::error::Elapsed>,
) -> Result<(), FailureCause> {
    match result {
        Err(_) => Err(FailureCause::Timeout),
        Ok(Err(panic)) => Err(FailureCause::Panic(panic_message(&*panic))),
        Ok(Ok(Err(error))) => Err(FailureCause::Error(error)),
        Ok(Ok(Ok(()))) => Ok(()),
    }
}

fn not_released(lease: &Lease, error: &StoreError) {
    warn!(
        event_id = lease.event_id(),
        handler = lease.handler(),
        %error,
        "could not release claim; it expires with its lease"
    );
}

/// Where a delivery stands once verified and parsed (see `Receiver::start`). Returned once
/// and taken apart at once: boxing the larger variant would cost an allocation per delivery.
#[allow(clippy::large_enum_variant)]
enum Start<'a> {
    /// Nothing left to do: refused, ignored, or no handler left to run here.
    Answered(Result<Receipt, ReceiveError>),
    /// Handlers to claim or run.
    Dispatch(Envelope, Pending<'a>),
}

/// What is left of a delivery's dispatch: the handlers not yet claimed, a claim made at once
/// and not yet run, and what the claims so far found. Both ways of claiming (at once, and in
/// the delivery's future) act on a claim through [`Pending::next_step`] and answer through
/// [`Pending::answer`].
struct Pending<'a> {
    handlers: Matching<'a>,
    /// Whether a handler's claim was made yet: the first one also records the event's type.
    claimed: bool,
    /// A claim made at once (see `Receiver::claim_at_once`), to be run next.
    current: Option<Acquired<'a>>,
    receipt: Receipt,
    /// The longest wait any handler in progress elsewhere asked for.
    in_progress: Option<Duration>,
    /// The clock reading that ended the last handler's run, when nothing followed it.
    ended: Option<Instant>,
}

/// What a delivery does after one handler's claim.
enum Step {
    /// The handler is this delivery's to run.
    Run(Lease),
    /// Nothing to run: completed already, or in progress elsewhere.
    Next,
    /// The event's id was recorded with another type: the delivery is refused. For a later
    /// handler, only a race with a concurrent delivery of another type gets here: the first
    /// claim checked the event's type record.
    Conflict(String),
}

impl<'a> Pending<'a> {
    fn new(handlers: Matching<'a>) -> Self {
        Self {
            handlers,
            claimed: false,
            current: None,
            receipt: Receipt::default(),
            in_progress: None,
            ended: None,
        }
    }

    /// The retention for the type record that the next claim also writes: only the first
    /// claim does, so an id delivered again with another type is refused before any handler
    /// runs (see [`IdempotencyStore::claim_first`]).
    fn type_retention(&self, limits: &Limits) -> Option<Duration> {
        (!self.claimed).then_some(limits.retention)
    }

    /// Takes `registration`'s claim into account and says what follows from it.
    #[inline]
    fn next_step(&mut self, registration: &Registration, claim: Claim) -> Step {
        self.claimed = true;
        match claim {
            Claim::Acquired(lease) => Step::Run(lease),
            Claim::Completed => {
                self.receipt.already_done.push(registration.path());
                Step::Next
            }
            Claim::InProgress { retry_after } => {
                self.in_progress =
                    Some(self.in_progress.map_or(retry_after, |r| r.max(retry_after)));
                Step::Next
            }
            Claim::Conflict { recorded_type } => Step::Conflict(recorded_type),
        }
    }

    /// The delivery's answer once every handler was claimed and none that ran failed.
    fn answer(&mut self) -> Result<Receipt, ReceiveError> {
        match self.in_progress {
            Some(retry_after) => Err(ReceiveError::InProgress { retry_after }),
            None => Ok(std::mem::take(&mut self.receipt)),
        }
    }
}

impl Drop for Pending<'_> {
    /// A claim made at once and never run (the delivery's future was dropped before its first
    /// poll) is given up at once, as a delivery cancelled while its handler runs gives up its
    /// claim: the next delivery runs the handler, with no lease to wait out.
    fn drop(&mut self) {
        if let Some(Acquired { lease, store, .. }) = &self.current {
            if let Err(error) = store.release_now(lease) {
                not_released(lease, &error);
            }
        }
    }
}

/// A handler's claim made at once (see `Receiver::claim_at_once`), before the delivery's
/// future was first polled.
struct Acquired<'a> {
    index: usize,
    registration: &'a Registration,
    lease: Lease,
    store: &'a MemoryStore,
}

/// The claim key of `registration`'s run for `envelope`.
fn claim_key<'a>(
    inner: &'a Inner,
    envelope: &'a Envelope,
    registration: &'a Registration,
) -> ClaimKey<'a> {
    ClaimKey {
        namespace: &inner.namespace,
        event_id: envelope.id(),
        handler: registration.path(),
        event_type: envelope.event_type(),
    }
}

fn ignored(envelope: &Envelope) {
    debug!(
        event_id = envelope.id(),
        event_type = envelope.event_type(),
        "no handler; ignored"
    );
}

fn conflict(envelope: &Envelope, recorded_type: String) -> ReceiveError {
    warn!(
        event_id = envelope.id(),
        event_type = envelope.event_type(),
        recorded_type,
        "event id reused with another type"
    );
    ReceiveError::Conflict { recorded_type }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

/// Releases a claim whose handler future was dropped before it finished (the receiving
/// future was cancelled), so the next delivery need not wait for the lease to expire.
struct LeaseGuard<'a> {
    store: &'a StoreHandle,
    lease: Option<&'a Lease>,
}

impl LeaseGuard<'_> {
    fn disarm(&mut self) {
        self.lease = None;
    }
}

impl Drop for LeaseGuard<'_> {
    fn drop(&mut self) {
        let Some(lease) = self.lease.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            // Copied only here, on cancellation: the spawned release outlives the borrow.
            let (store, lease) = (self.store.clone(), lease.clone());
            runtime.spawn(async move {
                if let Err(error) = store.release(&lease).await {
                    warn!(%error, "could not release a cancelled claim; it expires with its lease");
                }
            });
        }
    }
}

/// Builder for [`Receiver`].
///
/// `S` is the application state given with [`ReceiverBuilder::with_state`], from which
/// [`ReceiverBuilder::provide`] derives sub-state.
pub struct ReceiverBuilder<S = ()> {
    verifier: Option<Verifier>,
    store: Option<StoreHandle>,
    registry: Option<Registry>,
    resources: Resources,
    namespace: Option<String>,
    limits: Limits,
    app_state: S,
    #[cfg(feature = "test-util")]
    pause: Option<PauseHook>,
}

impl<S> fmt::Debug for ReceiverBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverBuilder")
            .field("verifier", &self.verifier)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl ReceiverBuilder<()> {
    /// The application state: handlers extract it with `State<S>`, and
    /// [`provide`](ReceiverBuilder::provide) derives sub-state from it, the way axum's
    /// `FromRef` does.
    ///
    /// ```
    /// # use webhook_core::{FromRef, Receiver};
    /// #[derive(Clone)]
    /// struct AppState { db: Db }
    /// #[derive(Clone)]
    /// struct Db;
    /// impl FromRef<AppState> for Db {
    ///     fn from_ref(app: &AppState) -> Db { app.db.clone() }
    /// }
    /// let builder = Receiver::builder()
    ///     .with_state(AppState { db: Db })
    ///     .provide::<Db>(); // handlers may now take `State<Db>` as well as `State<AppState>`
    /// # let _ = builder;
    /// ```
    #[must_use]
    pub fn with_state<S: Clone + Send + Sync + 'static>(self, state: S) -> ReceiverBuilder<S> {
        let mut resources = self.resources;
        resources.insert(state.clone());
        ReceiverBuilder {
            verifier: self.verifier,
            store: self.store,
            registry: self.registry,
            resources,
            namespace: self.namespace,
            limits: self.limits,
            app_state: state,
            #[cfg(feature = "test-util")]
            pause: self.pause,
        }
    }
}

impl<S> ReceiverBuilder<S> {
    /// Give handlers `State<T>`, derived from the application state with [`FromRef`].
    #[must_use]
    pub fn provide<T: FromRef<S> + Clone + Send + Sync + 'static>(mut self) -> Self {
        let value = T::from_ref(&self.app_state);
        self.resources.insert(value);
        self
    }

    /// Give handlers `State<T>`, derived from the application state by `derive` (for example
    /// axum's `FromRef::from_ref`).
    #[must_use]
    pub fn provide_with<T: Clone + Send + Sync + 'static>(
        mut self,
        derive: impl FnOnce(&S) -> T,
    ) -> Self {
        let value = derive(&self.app_state);
        self.resources.insert(value);
        self
    }

    /// Await `hook` at the named points of every delivery (`after_claim`, `before_commit`,
    /// `after_commit`). For crash tests only.
    #[cfg(feature = "test-util")]
    #[must_use]
    pub fn pause_hook(mut self, hook: PauseHook) -> Self {
        self.pause = Some(hook);
        self
    }

    /// The signature verifier (required).
    #[must_use]
    pub fn verifier(mut self, verifier: Verifier) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// The idempotency store (required).
    #[must_use]
    pub fn store(mut self, store: impl IdempotencyStore) -> Self {
        self.store = StoreHandle::new(store);
        self
    }

    /// The handlers to dispatch to (default: every `#[on_event]` handler in the binary).
    #[must_use]
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Give handlers a value they extract with [`State<T>`](crate::State). One value per type.
    #[must_use]
    pub fn state<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.resources.insert(value);
        self
    }

    /// The idempotency namespace (default `"default"`): give each sender account or endpoint
    /// its own, so equal event ids from two senders are processed independently.
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Replace all limits at once.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// See [`Limits::lease`].
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.limits.lease = lease;
        self
    }

    /// See [`Limits::handler_timeout`].
    #[must_use]
    pub fn handler_timeout(mut self, timeout: Duration) -> Self {
        self.limits.handler_timeout = timeout;
        self
    }

    /// See [`Limits::retention`].
    #[must_use]
    pub fn retention(mut self, retention: Duration) -> Self {
        self.limits.retention = retention;
        self
    }

    /// See [`Limits::store_timeout`].
    #[must_use]
    pub fn store_timeout(mut self, timeout: Duration) -> Self {
        self.limits.store_timeout = timeout;
        self
    }

    /// See [`Limits::body_limit`].
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.limits.body_limit = bytes;
        self
    }

    /// See [`Limits::body_timeout`].
    #[must_use]
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.limits.body_timeout = timeout;
        self
    }

    /// See [`Limits::max_in_flight`].
    #[must_use]
    pub fn max_in_flight(mut self, deliveries: usize) -> Self {
        self.limits.max_in_flight = deliveries;
        self
    }

    /// Validate the configuration and build the receiver.
    ///
    /// # Errors
    /// [`BuildError`]: a missing verifier or store, an invalid registry, a handler whose state
    /// was not given, or inconsistent limits.
    pub fn build(self) -> Result<Receiver, BuildError> {
        let verifier = self.verifier.ok_or(BuildError::NoVerifier)?;
        let store = self.store.ok_or(BuildError::NoStore)?;
        let registry = match self.registry {
            Some(registry) => registry,
            None => Registry::from_inventory()?,
        };
        let limits = self.limits;
        if limits.lease <= limits.handler_timeout {
            return Err(BuildError::Limits(
                "the lease must be longer than the handler timeout",
            ));
        }
        if limits.retention < verifier.tolerance() {
            return Err(BuildError::Limits(
                "retention must be at least the signature tolerance",
            ));
        }
        if limits.store_timeout.is_zero() || limits.handler_timeout.is_zero() {
            return Err(BuildError::Limits("time limits must be positive"));
        }
        if limits.body_limit == 0 || limits.max_in_flight == 0 || limits.body_timeout.is_zero() {
            return Err(BuildError::Limits(
                "the body limit, body timeout and in-flight limit must be positive",
            ));
        }
        let namespace = self.namespace.unwrap_or_else(|| "default".to_owned());
        let namespace_ok = !namespace.is_empty()
            && namespace.len() <= 64
            && namespace
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b));
        if !namespace_ok {
            return Err(BuildError::Namespace);
        }
        let transactions = store.transactions();
        let mut resources = self.resources;
        resources.set_transaction_type(transactions.as_ref().map(|b| b.transaction_type()));
        let mut transactional_handlers = HashSet::new();
        for registration in registry.registrations() {
            registration
                .check(&resources)
                .map_err(|missing| BuildError::MissingState {
                    handler: registration.path(),
                    location: registration.location(),
                    missing,
                })?;
            if resources.take_transaction_request() {
                transactional_handlers.insert(registration.path());
            }
        }
        for handler in registry.registered_events() {
            debug!(%handler, "registered");
        }
        Ok(Receiver {
            inner: Arc::new(Inner {
                instruments: Instruments::new(
                    verifier.scheme_name(),
                    registry.registrations().iter().map(Registration::path),
                ),
                verifier,
                registry,
                store,
                resources: Arc::new(resources),
                namespace: namespace.into(),
                limits,
                transactions,
                transactional_handlers,
                #[cfg(feature = "test-util")]
                pause: self.pause,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::{PaymentKit, Verified};

    /// An HTTP adapter boxes a delivery's future to spawn it if it waits, and the receiver
    /// boxes the handlers' part of it (see `receive_since`). glibc's allocator serves blocks of
    /// up to 1,032 bytes from a per-thread cache, larger ones from shared bins at over a
    /// thousand instructions more per delivery (BENCHMARKS.md "Session 13"). A field or a
    /// local held across an await that grows this past the cache shows up here first.
    #[test]
    fn the_handlers_part_of_a_delivery_fits_the_allocators_thread_cache() {
        let receiver = Receiver::builder()
            .verifier(
                Verifier::builder(PaymentKit)
                    .secret("whsec_test")
                    .build()
                    .expect("verifier"),
            )
            .store(MemoryStore::new())
            .registry(Registry::builder().build().expect("registry"))
            .build()
            .expect("receiver");
        let body = Bytes::from_static(br#"{"id":"evt_1","type":"a.b","data":{"object":{}}}"#);
        let envelope = Envelope::parse(body, &Verified::default()).expect("envelope");
        let pending = Pending::new(receiver.inner.registry.matching("a.b"));
        let now = Instant::now();
        let handlers_part = receiver.observed(
            receiver.dispatch_verified(Arc::new(envelope), pending, now),
            Span::none(),
            now,
        );
        let size = std::mem::size_of_val(&handlers_part);
        assert!(
            size <= 1032,
            "the handlers' part of a delivery is {size} bytes"
        );
    }
}
