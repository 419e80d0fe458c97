//! Mount `webhook-core` receivers into an Axum application with one call.
//!
//! ```
//! use axum::{routing::get, Router};
//! use webhook_axum::RouterExt;
//! use webhook_core::signature::{PaymentKit, Verifier};
//! use webhook_core::{MemoryStore, Receiver};
//!
//! #[derive(Clone)]
//! struct AppState;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let receiver = Receiver::builder()
//!     .verifier(Verifier::builder(PaymentKit).secret("whsec_example").build()?)
//!     .store(MemoryStore::new())
//!     .build()?;
//!
//! let app: Router = Router::new()
//!     .route("/health", get(|| async { "ok" }))
//!     .webhook("/webhooks/paymentkit", receiver)
//!     .with_state(AppState);
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! The route answers `POST` only (405 otherwise). Before the receiver sees a request, the
//! adapter rejects a `Content-Encoding` or a non-JSON `Content-Type` (415) and a body above
//! the receiver's limit, by `Content-Length` or while streaming (413), and reads the body as raw
//! bytes: nothing parses or transforms it before the signature is verified; a body that does not
//! arrive within the body timeout is answered 408. Deliveries beyond the in-flight limit are shed
//! with 503. Processing runs in its own task, so a client that disconnects cannot cancel a
//! handler half-way. Every outcome is mapped to a status in one place, [`response`], following
//! reliability.md "Pinned policy".
//!
//! # Serving
//!
//! `axum::serve` installs no header-read timeout, so a client that sends half a request head
//! holds a connection forever (slowloris). [`Server`] serves a router with one (default 10 s)
//! and shuts down gracefully: it stops accepting, lets in-flight deliveries finish within a grace
//! period, then abandons the rest (their claims are released or expire with their lease, and
//! the sender retries).
//!
//! # Testing
//!
//! A request that carries [`ReportRequested`] in its extensions gets a [`DeliveryReport`] in
//! its answer's extensions (in process only, never on the wire) saying which handlers ran.
//! With the `test-util` feature, `webhook_axum::test` drives a router with signed test
//! deliveries, in process or over TCP, and returns the status together with that report.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod report;
pub mod response;
mod server;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::{post, MethodRouter};
use axum::Router;
use bytes::Bytes;
use futures_util::future::{Either, FutureExt};
use webhook_core::observability::{self, DeliveryOutcome, RejectReason};
use webhook_core::Receiver;

pub use report::{DeliveryReport, ReportRequested};
pub use response::Rejection;
pub use server::Server;

/// The route's state: one `Arc`, which the router clones for every request.
#[derive(Clone)]
struct Endpoint(Arc<Shared>);

struct Shared {
    receiver: Receiver,
    /// Bounds deliveries in flight ([`webhook_core::Limits::max_in_flight`]).
    in_flight: InFlight,
}

/// Deliveries in flight, against the limit. Over the limit a delivery is shed, never queued,
/// so a counter does what a semaphore would, without the lock a semaphore takes on every
/// release to look for waiters.
struct InFlight {
    count: AtomicUsize,
    limit: usize,
}

impl InFlight {
    fn new(limit: usize) -> Self {
        Self {
            count: AtomicUsize::new(0),
            limit,
        }
    }
}

impl Endpoint {
    fn receiver(&self) -> &Receiver {
        &self.0.receiver
    }

    /// A place in flight, holding the endpoint (the request's own clone of it, so taking a
    /// place adds no reference), or the endpoint back when every place is taken.
    fn try_acquire(self) -> Result<Permit, Self> {
        let in_flight = &self.0.in_flight;
        match in_flight
            .count
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |count| {
                (count < in_flight.limit).then_some(count + 1)
            }) {
            Ok(_) => Ok(Permit(self)),
            Err(_) => Err(self),
        }
    }
}

/// One delivery's place in flight, given back when dropped; the receiver is reached through it.
struct Permit(Endpoint);

impl Permit {
    fn receiver(&self) -> &Receiver {
        self.0.receiver()
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.0 .0.in_flight.count.fetch_sub(1, Ordering::Release);
    }
}

/// The webhook route as a [`MethodRouter`], for use with `Router::route` or `nest_service`.
pub fn method_router<S: Clone + Send + Sync + 'static>(receiver: Receiver) -> MethodRouter<S> {
    let in_flight = InFlight::new(receiver.limits().max_in_flight);
    post(receive).with_state(Endpoint(Arc::new(Shared {
        receiver,
        in_flight,
    })))
}

/// A router that answers webhook deliveries at `/`, to `nest` under a path of your choice or
/// `merge` into your app. It works with any application state type.
pub fn router<S: Clone + Send + Sync + 'static>(receiver: Receiver) -> Router<S> {
    Router::new().route("/", method_router(receiver))
}

/// Mount a receiver on an existing router.
pub trait RouterExt {
    /// Answer webhook deliveries at `path`.
    #[must_use]
    fn webhook(self, path: &str, receiver: Receiver) -> Self;
}

impl<S: Clone + Send + Sync + 'static> RouterExt for Router<S> {
    fn webhook(self, path: &str, receiver: Receiver) -> Self {
        self.route(path, method_router(receiver))
    }
}

/// Not an `async fn`: what needs no waiting (shedding, the head's checks) is done before any
/// future is built, and the future of an admitted delivery holds only what each of its two
/// stages needs: reading the body (with the head kept aside), then running the receiver. The
/// HTTP stack boxes this future and moves it several times per request, so its size is paid
/// on every delivery (and above about 1 KiB its box comes from the allocator's slower bins).
fn receive(
    State(endpoint): State<Endpoint>,
    request: Request,
) -> impl Future<Output = Response> + Send {
    // The delivery's one clock reading: its latency, its arrival time and the signature's
    // freshness all count from here.
    let started = Instant::now();
    match admit(endpoint, request, started) {
        Admission::Admitted(permit, parts, body) => {
            let limits = permit.receiver().limits();
            let read = body::read(body, limits.body_limit, limits.body_timeout);
            Either::Left(read.then(move |body| deliver(permit, parts, body, started)))
        }
        Admission::Refused(answer) => Either::Right(std::future::ready(answer)),
    }
}

/// Runs the receiver on a delivery whose body was read (or answers why it could not be).
fn deliver(
    permit: Permit,
    parts: http::request::Parts,
    body: Result<Bytes, Rejection>,
    started: Instant,
) -> impl Future<Output = Response> + Send {
    let request = match body {
        Ok(bytes) => http::Request::from_parts(parts, bytes),
        Err(rejection) => {
            return Either::Right(std::future::ready(rejected(
                permit.receiver(),
                &rejection,
                started,
            )))
        }
    };
    let report = request.extensions().get::<ReportRequested>().is_some();
    Either::Left(finish(work(permit, request, started), report))
}

/// The receiver's work on a delivery, boxed so that it can be spawned if it has to wait.
///
/// Every delivery allocates this box: small enough for glibc's per-thread cache (up to 1,032
/// bytes), it costs tens of instructions; above that, over a thousand (see the test).
fn work(
    permit: Permit,
    request: http::Request<Bytes>,
    started: Instant,
) -> Pin<Box<impl Future<Output = Result<webhook_core::Receipt, webhook_core::ReceiveError>> + Send>>
{
    // The permit lives as long as the work does.
    Box::pin(async move { permit.receiver().receive_since(request, started).await })
}

/// Drives the receiver's work to its answer.
async fn finish<W>(mut work: Pin<Box<W>>, report: bool) -> Response
where
    W: Future<Output = Result<webhook_core::Receipt, webhook_core::ReceiveError>> + Send + 'static,
{
    // Most deliveries finish without ever waiting (a fast store, handlers that do not block),
    // so the work is polled once here first: no task to spawn, schedule and join for them.
    // Between this poll and the spawn below nothing awaits, so the connection cannot drop the
    // work half-way; and a panic is caught exactly as a spawned task's would be.
    let first = std::future::poll_fn(|cx| {
        Poll::Ready(std::panic::catch_unwind(AssertUnwindSafe(|| {
            work.as_mut().poll(cx)
        })))
    })
    .await;
    match first {
        Ok(Poll::Ready(result)) => return answer(result, report),
        Ok(Poll::Pending) => {}
        Err(_panic) => {
            tracing::error!("receiver panicked");
            return response::internal_error();
        }
    }
    // Still waiting: detached from the connection, so if the client goes away the handlers
    // still finish and complete (or release) their claims.
    match tokio::spawn(work).await {
        Ok(result) => answer(result, report),
        Err(join_error) => {
            tracing::error!(%join_error, "receiver task failed");
            response::internal_error()
        }
    }
}

/// What [`admit`] decided.
enum Admission {
    /// A place in flight, and the request's checked head and unread body.
    Admitted(Permit, http::request::Parts, axum::body::Body),
    /// The answer refusing the request.
    Refused(Response),
}

/// Takes a place in flight and checks the request's head, before any of its body is read.
fn admit(endpoint: Endpoint, request: Request, started: Instant) -> Admission {
    // Shed before reading the body, so an overload costs neither memory nor hashing.
    let permit = match endpoint.try_acquire() {
        Ok(permit) => permit,
        Err(endpoint) => {
            tracing::warn!("too many deliveries in flight; shedding load");
            let receiver = endpoint.receiver();
            refused(receiver, RejectReason::Overloaded, started);
            return Admission::Refused(response::overloaded(receiver.limits().retry_after));
        }
    };
    let (parts, body) = request.into_parts();
    if let Err(rejection) = body::check_head(&parts, permit.receiver().limits().body_limit) {
        return Admission::Refused(rejected(permit.receiver(), &rejection, started));
    }
    Admission::Admitted(permit, parts, body)
}

/// The response to a receiver's outcome, with its [`DeliveryReport`] in the extensions when
/// `report` (the request asked for one).
fn answer(
    result: Result<webhook_core::Receipt, webhook_core::ReceiveError>,
    report: bool,
) -> Response {
    let mut response = response::respond(&result);
    if report {
        response
            .extensions_mut()
            .insert(DeliveryReport::from_result(result));
    }
    response
}

/// The answer to a request refused for its head or body, counted (see [`refused`]).
fn rejected(receiver: &Receiver, rejection: &Rejection, started: Instant) -> Response {
    refused(receiver, rejection.reason(), started);
    response::rejected(rejection)
}

/// Counts a request refused before the receiver saw it, as the receiver counts its own
/// answers, so every request appears once in the metrics.
fn refused(receiver: &Receiver, reason: RejectReason, started: Instant) {
    let scheme = receiver.verifier().scheme_name();
    let span = observability::delivery_span(scheme);
    observability::record_delivery(
        &span,
        scheme,
        DeliveryOutcome::Rejected(reason),
        started.elapsed(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The route's state for a receiver with no handlers, admitting `max_in_flight`.
    fn endpoint(max_in_flight: usize) -> Endpoint {
        let receiver = Receiver::builder()
            .verifier(
                webhook_core::signature::Verifier::builder(webhook_core::signature::PaymentKit)
                    .secret("whsec_test")
                    .build()
                    .expect("verifier"),
            )
            .store(webhook_core::MemoryStore::new())
            .registry(webhook_core::Registry::builder().build().expect("registry"))
            .build()
            .expect("receiver");
        Endpoint(Arc::new(Shared {
            receiver,
            in_flight: InFlight::new(max_in_flight),
        }))
    }

    #[test]
    fn in_flight_admits_up_to_the_limit_and_frees_places_on_drop() {
        let endpoint = endpoint(2);
        let acquire = || endpoint.clone().try_acquire().ok();
        let first = acquire().expect("first place");
        let second = acquire().expect("second place");
        assert!(acquire().is_none(), "over the limit: shed");
        assert!(acquire().is_none(), "a refusal takes no place");
        drop(first);
        let third = acquire().expect("a freed place is reused");
        assert!(acquire().is_none());
        drop((second, third));
        assert_eq!(endpoint.0.in_flight.count.load(Ordering::Relaxed), 0);
        assert_eq!(
            Arc::strong_count(&endpoint.0),
            1,
            "permits hand their reference back"
        );
    }

    /// glibc's allocator serves blocks of up to 1,032 bytes from a per-thread cache and larger
    /// ones from shared bins, at over a thousand instructions more per delivery (measured over
    /// HTTP, BENCHMARKS.md "Session 13"). The request, held until the work first runs, and the
    /// receiver's future together were 1,248 bytes; the receiver now boxes its handlers' part.
    #[test]
    fn a_deliverys_work_fits_the_allocators_thread_cache() {
        let endpoint = endpoint(1);
        let permit = endpoint.try_acquire().ok().expect("a place");
        let work = work(permit, http::Request::new(Bytes::new()), Instant::now());
        let size = std::mem::size_of_val(&*work);
        assert!(size <= 1032, "a delivery's work is {size} bytes");
    }
}
