//! Handler runs with a store that answers at once (the memory store, used directly): the
//! receiver claims with it before the delivery's future is first polled and settles such a run
//! inline, without the supervised path other stores take, so every way a run can end is pinned
//! here again with it: completed, failed, panicked, waited then completed, timed out,
//! cancelled while waiting, cancelled before it started, found in progress, and the later
//! handlers of an event whose first one had completed. Each test asserts what the next delivery
//! of the same event does, which is what the claims' states decide.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::Poll;
use std::time::Duration;

use webhook_core::signature::PaymentKit;
use webhook_core::test_util::{receiver_builder, TestSender, TEST_SECRET};
use webhook_core::{on_event, Event, FailureCause, HandlerError, Limits, ReceiveError, Receiver};

const PATH: &str = "/hooks/memory";
const OBJECT: &str = r#"{"id":"pi_memory","amount":"1000"}"#;

/// Event ids each handler was started for, by handler.
static STARTS: Mutex<Vec<(&'static str, String)>> = Mutex::new(Vec::new());

fn start(handler: &'static str, id: &str) -> usize {
    let mut starts = STARTS.lock().unwrap();
    starts.push((handler, id.to_owned()));
    starts
        .iter()
        .filter(|(h, i)| *h == handler && i == id)
        .count()
}

fn starts(handler: &'static str, id: &str) -> usize {
    STARTS
        .lock()
        .unwrap()
        .iter()
        .filter(|(h, i)| *h == handler && i == id)
        .count()
}

/// Fails its first run for an event.
#[on_event("charge.failed")]
async fn fails_once(event: Event<serde_json::Value>) -> Result<(), HandlerError> {
    if start("fails_once", event.id()) == 1 {
        return Err(HandlerError::retryable("first run fails"));
    }
    Ok(())
}

/// Panics on its first run for an event.
#[on_event("charge.refunded")]
async fn panics_once(event: Event<serde_json::Value>) -> Result<(), HandlerError> {
    if start("panics_once", event.id()) == 1 {
        panic!("first run panics");
    }
    Ok(())
}

/// Waits before it completes.
#[on_event("charge.pending")]
async fn waits(event: Event<serde_json::Value>) -> Result<(), HandlerError> {
    start("waits", event.id());
    tokio::time::sleep(Duration::from_millis(20)).await;
    Ok(())
}

/// Outlives the handler time limit on its first run for an event.
#[on_event("charge.expired")]
async fn slow_once(event: Event<serde_json::Value>) -> Result<(), HandlerError> {
    if start("slow_once", event.id()) == 1 {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    Ok(())
}

/// Always completes.
#[on_event("charge.captured")]
async fn completes(event: Event<serde_json::Value>) -> Result<(), HandlerError> {
    start("completes", event.id());
    Ok(())
}

/// The first of two handlers of one event type: always completes.
#[on_event("charge.dispute.created")]
async fn first_of_two(event: Event<serde_json::Value>) -> Result<(), HandlerError> {
    start("first_of_two", event.id());
    Ok(())
}

/// The second of two handlers of one event type: fails its first run for an event.
#[on_event("charge.dispute.created")]
async fn second_of_two(event: Event<serde_json::Value>) -> Result<(), HandlerError> {
    if start("second_of_two", event.id()) == 1 {
        return Err(HandlerError::retryable("first run fails"));
    }
    Ok(())
}

/// The test kit's receiver: a memory store, used directly.
fn receiver() -> Receiver {
    receiver_builder()
        .limits(Limits {
            handler_timeout: Duration::from_millis(200),
            lease: Duration::from_secs(5),
            ..Limits::default()
        })
        .build()
        .unwrap()
}

fn unique(label: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("evt_mem_{label}_{}", NEXT.fetch_add(1, Ordering::SeqCst))
}

fn delivery(id: &str, event_type: &str) -> http::Request<bytes::Bytes> {
    TestSender::new(PaymentKit, TEST_SECRET)
        .unwrap()
        .path(PATH)
        .event(id, event_type, OBJECT)
        .request()
        .unwrap()
}

/// The one failure of a delivery whose handler failed.
fn failure(result: Result<webhook_core::Receipt, ReceiveError>) -> FailureCause {
    match result {
        Err(ReceiveError::HandlerFailed { mut failures, ran }) => {
            assert!(ran.is_empty(), "{ran:?}");
            assert_eq!(failures.len(), 1, "{failures:?}");
            failures.remove(0).cause
        }
        other => panic!("expected a handler failure, got {other:?}"),
    }
}

/// The next delivery runs the handler and completes it, and the one after that is a
/// duplicate.
async fn completes_then_duplicate(receiver: &Receiver, id: &str, event_type: &str) {
    let receipt = receiver.receive(delivery(id, event_type)).await.unwrap();
    assert_eq!(receipt.ran().len(), 1, "{receipt:?}");
    let duplicate = receiver.receive(delivery(id, event_type)).await.unwrap();
    assert!(duplicate.is_duplicate(), "{duplicate:?}");
}

#[tokio::test]
async fn a_failed_run_is_released_and_runs_again() {
    let receiver = receiver();
    let id = unique("failed");
    let cause = failure(receiver.receive(delivery(&id, "charge.failed")).await);
    assert!(matches!(cause, FailureCause::Error(_)), "{cause:?}");
    completes_then_duplicate(&receiver, &id, "charge.failed").await;
    assert_eq!(starts("fails_once", &id), 2);
}

#[tokio::test]
async fn a_panicking_run_is_released_and_runs_again() {
    let receiver = receiver();
    let id = unique("panicked");
    let cause = failure(receiver.receive(delivery(&id, "charge.refunded")).await);
    assert!(
        matches!(&cause, FailureCause::Panic(message) if message == "first run panics"),
        "{cause:?}"
    );
    completes_then_duplicate(&receiver, &id, "charge.refunded").await;
    assert_eq!(starts("panics_once", &id), 2);
}

#[tokio::test]
async fn a_run_that_waits_completes_once() {
    let receiver = receiver();
    let id = unique("waited");
    completes_then_duplicate(&receiver, &id, "charge.pending").await;
    assert_eq!(starts("waits", &id), 1);
}

#[tokio::test]
async fn a_run_past_its_time_limit_is_released_and_runs_again() {
    let receiver = receiver();
    let id = unique("timed_out");
    let result = receiver.receive(delivery(&id, "charge.expired")).await;
    assert!(
        matches!(&result, Err(error) if error.is_timeout()),
        "{result:?}"
    );
    completes_then_duplicate(&receiver, &id, "charge.expired").await;
    assert_eq!(starts("slow_once", &id), 2);
}

#[tokio::test]
async fn a_run_cancelled_while_it_waits_is_released() {
    let receiver = receiver();
    let id = unique("cancelled");
    // The delivery is dropped while its handler waits (a client that went away, in an adapter
    // that does not run deliveries in their own task).
    let cancelled = tokio::time::timeout(
        Duration::from_millis(50),
        receiver.receive(delivery(&id, "charge.expired")),
    )
    .await;
    assert!(cancelled.is_err(), "the first run waits for 30 s");
    assert_eq!(starts("slow_once", &id), 1);
    // The claim is released by a task of its own; without that, the next delivery would find
    // it in progress until the lease (5 s) expires.
    let mut next = receiver.receive(delivery(&id, "charge.expired")).await;
    for _ in 0..100 {
        if !matches!(next, Err(ReceiveError::InProgress { .. })) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        next = receiver.receive(delivery(&id, "charge.expired")).await;
    }
    let receipt = next.unwrap();
    assert_eq!(receipt.ran().len(), 1, "{receipt:?}");
    assert_eq!(starts("slow_once", &id), 2);
}

#[tokio::test]
async fn a_delivery_dropped_before_it_is_polled_gives_its_claim_up() {
    let receiver = receiver();
    let id = unique("unpolled");
    // The claim is made when the delivery is received, before its future is first polled;
    // dropping that future must give it up at once, as a cancelled run does.
    drop(receiver.receive(delivery(&id, "charge.captured")));
    assert_eq!(starts("completes", &id), 0);
    completes_then_duplicate(&receiver, &id, "charge.captured").await;
    assert_eq!(starts("completes", &id), 1);
}

#[tokio::test]
async fn the_handlers_after_a_completed_one_still_run() {
    let receiver = receiver();
    let id = unique("two");
    let first = receiver
        .receive(delivery(&id, "charge.dispute.created"))
        .await;
    match first {
        Err(ReceiveError::HandlerFailed { failures, ran }) => {
            assert_eq!(ran.len(), 1, "{ran:?}");
            assert_eq!(failures.len(), 1, "{failures:?}");
            assert_ne!(ran[0], failures[0].handler);
        }
        other => panic!("expected the second handler to fail, got {other:?}"),
    }
    // The first handler's claim is found completed at once; the second is claimed and run.
    let retry = receiver
        .receive(delivery(&id, "charge.dispute.created"))
        .await
        .unwrap();
    assert_eq!(retry.ran().len(), 1, "{retry:?}");
    assert_eq!(retry.already_done().len(), 1, "{retry:?}");
    assert_ne!(retry.ran(), retry.already_done());
    let duplicate = receiver
        .receive(delivery(&id, "charge.dispute.created"))
        .await
        .unwrap();
    assert!(duplicate.is_duplicate(), "{duplicate:?}");
    assert_eq!(duplicate.already_done().len(), 2, "{duplicate:?}");
    assert_eq!(starts("first_of_two", &id), 1);
    assert_eq!(starts("second_of_two", &id), 2);
}

#[tokio::test]
async fn a_delivery_of_an_event_running_elsewhere_is_answered_in_progress() {
    let receiver = receiver();
    let id = unique("running");
    let mut first = std::pin::pin!(receiver.receive(delivery(&id, "charge.pending")));
    let polled = std::future::poll_fn(|cx| Poll::Ready(first.as_mut().poll(cx))).await;
    assert!(polled.is_pending(), "the first delivery's handler waits");
    // Its claim is found in progress when the second delivery is received, which is then
    // answered without running the handler, asking the sender to come back within the lease.
    match receiver.receive(delivery(&id, "charge.pending")).await {
        Err(ReceiveError::InProgress { retry_after }) => {
            assert!(retry_after <= Duration::from_secs(5), "{retry_after:?}");
        }
        other => panic!("expected the event in progress, got {other:?}"),
    }
    assert_eq!(starts("waits", &id), 1);
    let receipt = first.await.unwrap();
    assert_eq!(receipt.ran().len(), 1, "{receipt:?}");
    let duplicate = receiver
        .receive(delivery(&id, "charge.pending"))
        .await
        .unwrap();
    assert!(duplicate.is_duplicate(), "{duplicate:?}");
    assert_eq!(starts("waits", &id), 1);
}
