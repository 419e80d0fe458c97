//! What a receiver reports about each delivery: `tracing` spans and `metrics` counters.
//!
//! Nothing is installed for you: spans go to whatever `tracing` subscriber the application
//! sets up, and metrics to whatever recorder it installs for the [`metrics`] facade (for
//! example `metrics-exporter-prometheus`). With neither installed, both cost a few atomic loads.
//!
//! # Spans
//!
//! | span (level INFO) | fields |
//! |---|---|
//! | `webhook.delivery` | `scheme`, `event_id`, `event_type`, `outcome`, `reason`, `latency_ms` |
//! | `webhook.handler` (inside the delivery's) | `handler`, `attempt`, `outcome`, `latency_ms` |
//!
//! `event_id` and `event_type` are recorded only once the signature has verified: before that
//! they are whatever an attacker wrote. `outcome` is a [`DeliveryOutcome`] label, `reason` a
//! [`RejectReason`] label (rejected deliveries only), and a handler's `outcome` a
//! [`HandlerOutcome`] label. `attempt` is the store's count of claims of that (event, handler),
//! this one included, so a handler run for the third time after two failures shows 3. A
//! handler's own logs and spans are nested in its `webhook.handler` span.
//!
//! No secret, signature, header value or body is ever a span field or logged at INFO or above;
//! the cross-crate `log_hygiene` tests check it.
//!
//! # Metrics
//!
//! | name | kind | labels |
//! |---|---|---|
//! | [`DELIVERIES`] `webhook_deliveries_total` | counter | `scheme`, `outcome`, and `reason` when rejected |
//! | [`VERIFIED`] `webhook_verified_total` | counter | `scheme` |
//! | [`DELIVERY_DURATION`] `webhook_delivery_duration_seconds` | histogram | `scheme`, `outcome` |
//! | [`HANDLER_RUNS`] `webhook_handler_runs_total` | counter | `handler`, `outcome` |
//! | [`HANDLER_DURATION`] `webhook_handler_duration_seconds` | histogram | `handler`, `outcome` |
//!
//! Every delivery is counted once in `webhook_deliveries_total`, with its final outcome;
//! `webhook_verified_total` counts those whose signature verified (whatever happened next). Label
//! values come from fixed sets (the `as_str` of the enums below, scheme names and handler paths),
//! never from the request, so an attacker cannot grow the number of series.
//!
//! A delivery's latency runs from its arrival to its answer: from the call of
//! [`Receiver::receive`](crate::Receiver::receive), or from the instant given to
//! [`Receiver::receive_since`](crate::Receiver::receive_since) (`webhook-axum` passes the moment
//! the request reached its route, so the latency includes reading the body, as that of a request
//! refused for its body does).
//!
//! A receiver registers each series with the **global** recorder (`metrics::set_global_recorder`,
//! or an exporter's `install`) once, at its first use, and keeps the handle: recording is then
//! an atomic add or a histogram push, with no registry lookup per event. A recorder installed
//! after the receiver was built is picked up at the next delivery. Thread-local recorders
//! (`metrics::with_local_recorder`, as tests use) get every event too, registered per event as
//! the facade's macros do, since a handle cannot outlive the recorder it came from.
//!
//! ```
//! use webhook_core::observability::{DeliveryOutcome, RejectReason};
//!
//! assert_eq!(DeliveryOutcome::Rejected(RejectReason::BadSignature).as_str(), "rejected");
//! assert_eq!(RejectReason::BadSignature.as_str(), "bad_signature");
//! ```

use std::cell::Cell;
use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Histogram, Key, Label, Metadata, Recorder};
use tracing::Span;

use crate::dispatch::{FailureCause, Receipt, ReceiveError};
use crate::signature::VerifyError;

/// Counter: deliveries by final outcome (`scheme`, `outcome`, `reason` when rejected).
pub const DELIVERIES: &str = "webhook_deliveries_total";
/// Counter: deliveries whose signature verified (`scheme`).
pub const VERIFIED: &str = "webhook_verified_total";
/// Histogram: seconds from receiving a delivery to its answer (`scheme`, `outcome`).
pub const DELIVERY_DURATION: &str = "webhook_delivery_duration_seconds";
/// Counter: handler runs by outcome (`handler`, `outcome`).
pub const HANDLER_RUNS: &str = "webhook_handler_runs_total";
/// Histogram: seconds a handler ran, its completion included (`handler`, `outcome`).
pub const HANDLER_DURATION: &str = "webhook_handler_duration_seconds";

/// How a delivery ended: the `outcome` label. One per delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// Refused before any handler ran (401, 400, 408, 413, 415, 422, or shed with 503).
    Rejected(RejectReason),
    /// Every matching handler had already completed (200).
    Duplicate,
    /// Another delivery of the event holds a handler's lease (409).
    InProgress,
    /// No handler matches the type (200).
    Ignored,
    /// Every matching handler completed, at least one in this delivery (200).
    Processed,
    /// A handler failed, panicked or timed out (500 or 503).
    Failed,
    /// The idempotency store could not be reached in time (503).
    StoreUnavailable,
}

impl DeliveryOutcome {
    /// The outcome of a receiver's answer.
    #[must_use]
    pub fn of(result: &Result<Receipt, ReceiveError>) -> Self {
        match result {
            Ok(receipt) if receipt.is_ignored() => Self::Ignored,
            Ok(receipt) if receipt.is_duplicate() => Self::Duplicate,
            Ok(_) => Self::Processed,
            Err(ReceiveError::Unauthenticated(error)) => {
                Self::Rejected(RejectReason::of_verify(error))
            }
            Err(ReceiveError::Malformed(_)) => Self::Rejected(RejectReason::MalformedEvent),
            Err(ReceiveError::Conflict { .. }) => Self::Rejected(RejectReason::TypeConflict),
            Err(ReceiveError::InProgress { .. }) => Self::InProgress,
            Err(ReceiveError::HandlerFailed { .. }) => Self::Failed,
            Err(ReceiveError::StoreUnavailable { .. }) => Self::StoreUnavailable,
        }
    }

    /// Every outcome, each reason of `Rejected` included.
    pub fn all() -> impl Iterator<Item = Self> + Clone {
        RejectReason::ALL.into_iter().map(Self::Rejected).chain([
            Self::Duplicate,
            Self::InProgress,
            Self::Ignored,
            Self::Processed,
            Self::Failed,
            Self::StoreUnavailable,
        ])
    }

    /// The position of this outcome in [`DeliveryOutcome::all`].
    fn index(self) -> usize {
        let others = RejectReason::ALL.len();
        match self {
            Self::Rejected(reason) => reason as usize,
            Self::Duplicate => others,
            Self::InProgress => others + 1,
            Self::Ignored => others + 2,
            Self::Processed => others + 3,
            Self::Failed => others + 4,
            Self::StoreUnavailable => others + 5,
        }
    }

    /// The `outcome` label.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rejected(_) => "rejected",
            Self::Duplicate => "duplicate",
            Self::InProgress => "in_progress",
            Self::Ignored => "ignored",
            Self::Processed => "processed",
            Self::Failed => "failed",
            Self::StoreUnavailable => "store_unavailable",
        }
    }

    /// The `reason` label, for a rejected delivery.
    #[must_use]
    pub fn reason(self) -> Option<RejectReason> {
        match self {
            Self::Rejected(reason) => Some(reason),
            _ => None,
        }
    }
}

impl fmt::Display for DeliveryOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason() {
            Some(reason) => write!(f, "rejected ({reason})"),
            None => f.write_str(self.as_str()),
        }
    }
}

/// Why a delivery was rejected: the `reason` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// A header the scheme needs is absent (401).
    MissingHeader,
    /// A signature or timestamp header is not in the scheme's format (401).
    MalformedHeader,
    /// The signed timestamp is outside the tolerance window (401).
    StaleTimestamp,
    /// No signature matches a configured secret (401).
    BadSignature,
    /// The body cannot be read the way the scheme verifies it (401).
    MalformedBody,
    /// Authentic, but not a usable event (400).
    MalformedEvent,
    /// The event id was first recorded with another type (422).
    TypeConflict,
    /// The body exceeds the limit (413). Reported by HTTP adapters.
    PayloadTooLarge,
    /// A non-JSON `Content-Type` or any `Content-Encoding` (415). Reported by HTTP adapters.
    UnsupportedMediaType,
    /// The body could not be read (400). Reported by HTTP adapters.
    UnreadableBody,
    /// The body did not arrive within the body timeout (408). Reported by HTTP adapters.
    BodyTimeout,
    /// Too many deliveries in flight; shed with 503. Reported by HTTP adapters.
    Overloaded,
}

impl RejectReason {
    /// Every reason, in declaration order.
    pub const ALL: [Self; 12] = [
        Self::MissingHeader,
        Self::MalformedHeader,
        Self::StaleTimestamp,
        Self::BadSignature,
        Self::MalformedBody,
        Self::MalformedEvent,
        Self::TypeConflict,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::UnreadableBody,
        Self::BodyTimeout,
        Self::Overloaded,
    ];

    /// The reason a verification failed.
    #[must_use]
    pub fn of_verify(error: &VerifyError) -> Self {
        match error {
            VerifyError::MissingHeader(_) => Self::MissingHeader,
            VerifyError::MalformedHeader(_)
            | VerifyError::MalformedTimestamp
            | VerifyError::NoSignature
            | VerifyError::TooManySignatures => Self::MalformedHeader,
            VerifyError::TimestampTooOld | VerifyError::TimestampInFuture => Self::StaleTimestamp,
            VerifyError::Mismatch => Self::BadSignature,
            VerifyError::MalformedBody => Self::MalformedBody,
        }
    }

    /// The `reason` label.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingHeader => "missing_header",
            Self::MalformedHeader => "malformed_header",
            Self::StaleTimestamp => "stale_timestamp",
            Self::BadSignature => "bad_signature",
            Self::MalformedBody => "malformed_body",
            Self::MalformedEvent => "malformed_event",
            Self::TypeConflict => "type_conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::UnreadableBody => "unreadable_body",
            Self::BodyTimeout => "body_timeout",
            Self::Overloaded => "overloaded",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one handler run ended: the handler `outcome` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandlerOutcome {
    /// It returned `Ok` and its completion was recorded.
    Completed,
    /// It returned an error.
    Failed,
    /// It panicked.
    Panicked,
    /// It ran past the handler time-out.
    TimedOut,
    /// It finished after its lease was taken over; the completion was refused.
    LeaseLost,
    /// It finished, but the store could not record the completion.
    StoreUnavailable,
}

impl HandlerOutcome {
    /// The outcome of a failure.
    #[must_use]
    pub fn of_failure(cause: &FailureCause) -> Self {
        match cause {
            FailureCause::Error(_) => Self::Failed,
            FailureCause::Panic(_) => Self::Panicked,
            FailureCause::Timeout => Self::TimedOut,
            FailureCause::LeaseLost => Self::LeaseLost,
        }
    }

    /// The handler `outcome` label.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Panicked => "panicked",
            Self::TimedOut => "timed_out",
            Self::LeaseLost => "lease_lost",
            Self::StoreUnavailable => "store_unavailable",
        }
    }
}

impl fmt::Display for HandlerOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Records the end of a delivery: its span's `outcome`, `reason` and `latency_ms`, the
/// delivery counter and the latency histogram.
///
/// Receivers record every delivery they answer; HTTP adapters call this for the requests they
/// refuse before the receiver sees them (with a [`RejectReason`] of their own), so every request
/// is counted once.
pub fn record_delivery(
    span: &Span,
    scheme: &'static str,
    outcome: DeliveryOutcome,
    elapsed: Duration,
) {
    record_span(span, outcome, elapsed);
    let deliveries = delivery_key(scheme, outcome);
    let duration = duration_key(scheme, outcome);
    metrics::with_recorder(|recorder| {
        recorder
            .register_counter(&deliveries, &METADATA)
            .increment(1);
        recorder
            .register_histogram(&duration, &METADATA)
            .record(elapsed.as_secs_f64());
    });
}

/// A `webhook.delivery` span for `scheme`, its other fields still empty.
#[must_use]
pub fn delivery_span(scheme: &'static str) -> Span {
    tracing::info_span!(
        "webhook.delivery",
        scheme,
        event_id = tracing::field::Empty,
        event_type = tracing::field::Empty,
        outcome = tracing::field::Empty,
        reason = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    )
}

/// Records the event a delivery carries into its span (once it is parsed).
pub(crate) fn record_event(span: &Span, event_id: &str, event_type: &str) {
    // As in `record_span`: no field lookups for a span nobody listens to.
    if !span.is_disabled() {
        span.record("event_id", event_id);
        span.record("event_type", event_type);
    }
}

pub(crate) fn handler_span(handler: &'static str, attempt: u32) -> Span {
    tracing::info_span!(
        "webhook.handler",
        handler,
        attempt,
        outcome = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    )
}

/// Every metric key a receiver emits, built once: a `Key` owns its labels and their hash, and
/// building one per event would allocate and hash on the hot path even with no recorder.
///
/// With a global recorder, each key is also registered once and its handle kept: the
/// `metrics` facade's `counter!` registers per call, which for a recorder such as
/// `metrics-exporter-prometheus` means hashing the key and looking it up in its registry under a
/// lock for every event; a kept handle makes recording a delivery an atomic add. See
/// [`Slot`] for when a handle is kept and when it is not.
#[derive(Debug)]
pub(crate) struct Instruments {
    scheme: &'static str,
    verified: (Key, Slot<Counter>),
    /// Indexed by [`DeliveryOutcome::index`].
    deliveries: Box<[(Key, Slot<Counter>)]>,
    durations: Box<[(Key, Slot<Histogram>)]>,
    /// Per registration index: the keys of a completed run (failures build theirs when they
    /// happen, which keeps this small with thousands of handlers).
    completed: Box<[Completed]>,
}

#[derive(Debug)]
struct Completed {
    runs: (Key, Slot<Counter>),
    duration: (Key, Slot<Histogram>),
}

impl Instruments {
    pub(crate) fn new(scheme: &'static str, handlers: impl Iterator<Item = &'static str>) -> Self {
        let outcomes = DeliveryOutcome::all();
        Self {
            scheme,
            verified: (
                Key::from_parts(VERIFIED, vec![Label::from_static_parts("scheme", scheme)]),
                Slot::default(),
            ),
            deliveries: outcomes
                .clone()
                .map(|o| (delivery_key(scheme, o), Slot::default()))
                .collect(),
            durations: outcomes
                .map(|o| (duration_key(scheme, o), Slot::default()))
                .collect(),
            completed: handlers
                .map(|handler| Completed {
                    runs: (
                        handler_key(HANDLER_RUNS, handler, HandlerOutcome::Completed),
                        Slot::default(),
                    ),
                    duration: (
                        handler_key(HANDLER_DURATION, handler, HandlerOutcome::Completed),
                        Slot::default(),
                    ),
                })
                .collect(),
        }
    }

    pub(crate) fn verified(&self) {
        metrics::with_recorder(|recorder| {
            let (key, slot) = &self.verified;
            slot.with(recorder, key, |counter| counter.increment(1));
        });
    }

    pub(crate) fn delivery(&self, span: &Span, outcome: DeliveryOutcome, elapsed: Duration) {
        let index = outcome.index();
        match (self.deliveries.get(index), self.durations.get(index)) {
            (Some((deliveries, counted)), Some((duration, timed))) => {
                record_span(span, outcome, elapsed);
                metrics::with_recorder(|recorder| {
                    counted.with(recorder, deliveries, |counter| counter.increment(1));
                    timed.with(recorder, duration, |histogram| {
                        histogram.record(elapsed.as_secs_f64());
                    });
                });
            }
            _ => record_delivery(span, self.scheme, outcome, elapsed),
        }
    }

    pub(crate) fn handler(
        &self,
        span: &Span,
        index: usize,
        handler: &'static str,
        outcome: HandlerOutcome,
        elapsed: Duration,
    ) {
        // As in `record_span`: no field lookups for a span nobody listens to.
        if !span.is_disabled() {
            span.record("outcome", outcome.as_str());
            span.record("latency_ms", millis(elapsed));
        }
        let seconds = elapsed.as_secs_f64();
        let cached = self
            .completed
            .get(index)
            .filter(|_| outcome == HandlerOutcome::Completed);
        metrics::with_recorder(|recorder| match cached {
            Some(Completed {
                runs: (runs, counted),
                duration: (duration, timed),
            }) => {
                counted.with(recorder, runs, |counter| counter.increment(1));
                timed.with(recorder, duration, |histogram| histogram.record(seconds));
            }
            None => {
                let runs = handler_key(HANDLER_RUNS, handler, outcome);
                let duration = handler_key(HANDLER_DURATION, handler, outcome);
                recorder.register_counter(&runs, &METADATA).increment(1);
                recorder
                    .register_histogram(&duration, &METADATA)
                    .record(seconds);
            }
        });
    }
}

/// A metric handle registered with the global recorder, kept for every later event.
///
/// A handle is only valid for the recorder that registered it, and the `metrics` facade may
/// hand out another recorder at any time: a thread-local one (`metrics::with_local_recorder`,
/// as tests use) for a while, or the global one once the application installs it, which may
/// be after the receiver was built. So a handle is kept only when it was registered with the
/// global recorder, which is installed at most once per process and never dropped: it stays
/// valid forever. Any other recorder (none installed, a thread-local one, a zero-sized one
/// whose address cannot identify it) registers per event, as the facade's macros do; that is
/// slower, never wrong. A recorder installed after the receiver was built is picked up at the
/// next event.
#[derive(Debug)]
struct Slot<H>(OnceLock<H>);

impl<H> Default for Slot<H> {
    fn default() -> Self {
        Self(OnceLock::new())
    }
}

/// A metric handle a recorder registers for a key.
trait Handle: Sized {
    fn register(recorder: &dyn Recorder, key: &Key) -> Self;
}

impl Handle for Counter {
    fn register(recorder: &dyn Recorder, key: &Key) -> Self {
        recorder.register_counter(key, &METADATA)
    }
}

impl Handle for Histogram {
    fn register(recorder: &dyn Recorder, key: &Key) -> Self {
        recorder.register_histogram(key, &METADATA)
    }
}

impl<H: Handle> Slot<H> {
    /// Calls `use_it` with `key`'s handle for `recorder`: the kept one if `recorder` is the
    /// global recorder, otherwise one registered now (and kept if it is the global one).
    fn with(&self, recorder: &dyn Recorder, key: &Key, use_it: impl FnOnce(&H)) {
        if let Some(handle) = self.0.get().filter(|_| is_global(recorder)) {
            use_it(handle);
            return;
        }
        let handle = H::register(recorder, key);
        use_it(&handle);
        if is_global(recorder) {
            let _ = self.0.set(handle);
        }
    }
}

/// The address of the global recorder, once one is installed: `metrics` installs it at most
/// once per process and leaks it, so the address never changes or gets reused.
static GLOBAL_RECORDER: OnceLock<usize> = OnceLock::new();
thread_local! {
    /// The last recorder this thread found not to be the global one (thread-local recorders
    /// are per thread), and how many events it has answered since, so it is not probed for
    /// every event.
    static LAST_OTHER: Cell<(usize, u32)> = const { Cell::new((0, 0)) };
}

/// Whether `recorder` (as `metrics::with_recorder` gave it on this thread) is the global one.
fn is_global(recorder: &dyn Recorder) -> bool {
    // A zero-sized recorder (the facade's no-op one among them) has no address of its own.
    if std::mem::size_of_val(recorder) == 0 {
        return false;
    }
    let address = address_of(recorder);
    if let Some(&global) = GLOBAL_RECORDER.get() {
        return address == global;
    }
    // A recorder found not to be the global one is re-probed now and then: its memory may since
    // have been freed and reused by a global recorder installed later.
    let (other, skipped) = LAST_OTHER.get();
    if other == address && skipped < 65_536 {
        LAST_OTHER.set((other, skipped + 1));
        return false;
    }
    match probe_global() {
        Some(global) => {
            let _ = GLOBAL_RECORDER.set(global);
            address == global
        }
        None => {
            LAST_OTHER.set((address, 0));
            false
        }
    }
}

/// The global recorder's address, read on a new thread: the facade offers no way to ask for
/// it, and a thread-local recorder, if this thread has one, would hide it. It runs once per
/// recorder seen before a global one is installed, and once when it is.
fn probe_global() -> Option<usize> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("webhook-metrics-probe".into())
            .spawn_scoped(scope, || {
                metrics::with_recorder(|recorder| {
                    (std::mem::size_of_val(recorder) != 0).then(|| address_of(recorder))
                })
            })
            .ok()?
            .join()
            .ok()
            .flatten()
    })
}

fn address_of(recorder: &dyn Recorder) -> usize {
    std::ptr::from_ref(recorder).cast::<()>().addr()
}

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

fn record_span(span: &Span, outcome: DeliveryOutcome, elapsed: Duration) {
    // `Span::record` looks each field up by name even in a span nobody listens to.
    if span.is_disabled() {
        return;
    }
    span.record("outcome", outcome.as_str());
    if let Some(reason) = outcome.reason() {
        span.record("reason", reason.as_str());
    }
    span.record("latency_ms", millis(elapsed));
}

fn delivery_key(scheme: &'static str, outcome: DeliveryOutcome) -> Key {
    let mut labels = vec![
        Label::from_static_parts("scheme", scheme),
        Label::from_static_parts("outcome", outcome.as_str()),
    ];
    if let Some(reason) = outcome.reason() {
        labels.push(Label::from_static_parts("reason", reason.as_str()));
    }
    Key::from_parts(DELIVERIES, labels)
}

fn duration_key(scheme: &'static str, outcome: DeliveryOutcome) -> Key {
    Key::from_parts(
        DELIVERY_DURATION,
        vec![
            Label::from_static_parts("scheme", scheme),
            Label::from_static_parts("outcome", outcome.as_str()),
        ],
    )
}

fn handler_key(name: &'static str, handler: &'static str, outcome: HandlerOutcome) -> Key {
    Key::from_parts(
        name,
        vec![
            Label::from_static_parts("handler", handler),
            Label::from_static_parts("outcome", outcome.as_str()),
        ],
    )
}

/// Milliseconds with microsecond precision: readable in logs, exact enough for latency.
fn millis(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_has_its_own_cached_key() {
        let all: Vec<_> = DeliveryOutcome::all().collect();
        for (position, outcome) in all.iter().enumerate() {
            assert_eq!(outcome.index(), position, "{outcome}");
        }
        let instruments = Instruments::new("scheme", std::iter::empty());
        assert_eq!(instruments.deliveries.len(), all.len());
        for outcome in all {
            let (key, _) = &instruments.deliveries[outcome.index()];
            let labels: Vec<_> = key.labels().map(|l| (l.key(), l.value())).collect();
            assert!(
                labels.contains(&("outcome", outcome.as_str())),
                "{labels:?}"
            );
            let reason = labels.iter().find(|(k, _)| *k == "reason").map(|(_, v)| *v);
            assert_eq!(reason, outcome.reason().map(RejectReason::as_str));
        }
    }
}
