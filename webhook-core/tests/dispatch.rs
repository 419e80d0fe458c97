//! Dispatch through `Receiver` without HTTP: order, fan-out, per-handler retries, state, and
//! every handler and store failure answered per the pinned policy with the claim released.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use webhook_core::signature::{PaymentKit, Verifier, VerifyError};
use webhook_core::test_util::TestSender;
use webhook_core::{
    on_event, BuildError, Claim, ClaimKey, Delivery, Event, FailureCause, FromRef, HandlerError,
    IdempotencyStore, Lease, MemoryStore, ReceiveError, Receiver, ReceiverBuilder, State,
    StoreError,
};

const SECRET: &str = "whsec_dispatch_tests";

/// Handler runs per event id, in the order they happened.
static JOURNAL: LazyLock<Mutex<HashMap<String, Vec<&'static str>>>> = LazyLock::new(Mutex::default);

fn note(event_id: &str, handler: &'static str) -> usize {
    let mut journal = JOURNAL.lock().unwrap();
    let entries = journal.entry(event_id.to_owned()).or_default();
    entries.push(handler);
    entries.iter().filter(|h| **h == handler).count()
}

fn journal(event_id: &str) -> Vec<&'static str> {
    JOURNAL
        .lock()
        .unwrap()
        .get(event_id)
        .cloned()
        .unwrap_or_default()
}

#[derive(Clone)]
struct AppState {
    mailer: Mailer,
}

#[derive(Clone)]
struct Mailer {
    sent: Arc<Mutex<Vec<String>>>,
}

impl FromRef<AppState> for Mailer {
    fn from_ref(app: &AppState) -> Self {
        app.mailer.clone()
    }
}

#[on_event("*")]
async fn log_all(event: Event) -> Result<(), HandlerError> {
    note(event.id(), "log_all");
    Ok(())
}

#[on_event("customer.subscription.*")]
async fn audit_subscriptions(event: Event) -> Result<(), HandlerError> {
    note(event.id(), "audit_subscriptions");
    Ok(())
}

#[on_event("customer.subscription.created")]
async fn provision(event: Event) -> Result<(), HandlerError> {
    note(event.id(), "provision");
    Ok(())
}

#[on_event("invoice.paid")]
async fn book_revenue(event: Event) -> Result<(), HandlerError> {
    note(event.id(), "book_revenue");
    Ok(())
}

#[on_event("invoice.paid")]
async fn email_receipt(event: Event, State(mailer): State<Mailer>) -> Result<(), HandlerError> {
    if note(event.id(), "email_receipt") == 1 && event.id().starts_with("evt_fail_once") {
        return Err(HandlerError::msg("smtp unavailable"));
    }
    mailer.sent.lock().unwrap().push(event.id().to_owned());
    Ok(())
}

#[on_event("payment_intent.canceled")]
async fn panics_first(event: Event) -> Result<(), HandlerError> {
    if note(event.id(), "panics_first") == 1 {
        panic!("handler bug");
    }
    Ok(())
}

#[on_event("payment_intent.processing")]
async fn slow(event: Event) -> Result<(), HandlerError> {
    tokio::time::sleep(Duration::from_millis(400)).await;
    note(event.id(), "slow");
    Ok(())
}

#[on_event("payment_intent.payment_failed")]
async fn permanent_failure(event: Event) -> Result<(), HandlerError> {
    note(event.id(), "permanent_failure");
    Err(HandlerError::permanent(
        "card network rejected the refund rule",
    ))
}

fn builder() -> ReceiverBuilder<AppState> {
    Receiver::builder()
        .with_state(AppState {
            mailer: Mailer {
                sent: Arc::default(),
            },
        })
        .provide::<Mailer>()
        .verifier(
            Verifier::builder(PaymentKit)
                .secret(SECRET)
                .build()
                .unwrap(),
        )
}

fn receiver(store: impl IdempotencyStore) -> Receiver {
    builder().store(store).build().unwrap()
}

fn deliver(id: &str, event_type: &str) -> http::Request<bytes::Bytes> {
    TestSender::new(PaymentKit, SECRET)
        .unwrap()
        .event(id, event_type, "{}")
        .request()
        .unwrap()
}

#[tokio::test]
async fn handlers_run_catch_all_then_prefix_then_exact() {
    let receiver = receiver(MemoryStore::new());
    let receipt = receiver
        .receive(deliver("evt_order", "customer.subscription.created"))
        .await
        .unwrap();
    assert_eq!(
        journal("evt_order"),
        ["log_all", "audit_subscriptions", "provision"]
    );
    assert_eq!(receipt.ran().len(), 3);
    receiver
        .receive(deliver("evt_order_2", "customer.subscription.deleted"))
        .await
        .unwrap();
    assert_eq!(journal("evt_order_2"), ["log_all", "audit_subscriptions"]);
}

#[tokio::test]
async fn a_redelivery_runs_only_the_handler_that_failed() {
    let receiver = receiver(MemoryStore::new());
    let id = "evt_fail_once_invoice";
    let first = receiver
        .receive(deliver(id, "invoice.paid"))
        .await
        .unwrap_err();
    let ReceiveError::HandlerFailed { failures, ran } = &first else {
        panic!("expected a handler failure, got {first:?}");
    };
    assert_eq!(failures.len(), 1);
    assert!(failures[0].handler.ends_with("::email_receipt"));
    assert!(ran.iter().any(|h| h.ends_with("::book_revenue")));

    let second = receiver.receive(deliver(id, "invoice.paid")).await.unwrap();
    assert_eq!(second.ran().len(), 1);
    assert!(second.ran()[0].ends_with("::email_receipt"));
    assert_eq!(
        second.already_done().len(),
        2,
        "log_all and book_revenue are done"
    );

    let third = receiver.receive(deliver(id, "invoice.paid")).await.unwrap();
    assert!(third.is_duplicate());
    assert_eq!(
        journal(id),
        ["log_all", "book_revenue", "email_receipt", "email_receipt"]
    );
}

#[tokio::test]
async fn sub_state_comes_from_the_application_state() {
    let mailer = Mailer {
        sent: Arc::default(),
    };
    let receiver = Receiver::builder()
        .with_state(AppState {
            mailer: mailer.clone(),
        })
        .provide::<Mailer>()
        .verifier(
            Verifier::builder(PaymentKit)
                .secret(SECRET)
                .build()
                .unwrap(),
        )
        .store(MemoryStore::new())
        .build()
        .unwrap();
    receiver
        .receive(deliver("evt_mail", "invoice.paid"))
        .await
        .unwrap();
    assert_eq!(*mailer.sent.lock().unwrap(), ["evt_mail"]);
}

#[test]
fn missing_state_fails_the_build_naming_the_handler() {
    let error = Receiver::builder()
        .verifier(
            Verifier::builder(PaymentKit)
                .secret(SECRET)
                .build()
                .unwrap(),
        )
        .store(MemoryStore::new())
        .build()
        .unwrap_err();
    let BuildError::MissingState {
        handler, missing, ..
    } = &error
    else {
        panic!("expected MissingState, got {error:?}");
    };
    assert!(handler.ends_with("::email_receipt"), "{error}");
    assert!(missing.type_name.ends_with("Mailer"), "{error}");
    assert!(
        error.to_string().contains("dispatch.rs"),
        "names the location: {error}"
    );
}

#[tokio::test]
async fn same_id_with_another_type_is_a_conflict_and_runs_nothing() {
    let receiver = receiver(MemoryStore::new());
    receiver
        .receive(deliver("evt_conflict", "invoice.paid"))
        .await
        .unwrap();
    let before = journal("evt_conflict");
    let error = receiver
        .receive(deliver("evt_conflict", "customer.subscription.created"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ReceiveError::Conflict { recorded_type } if recorded_type == "invoice.paid")
    );
    assert_eq!(journal("evt_conflict"), before);
}

#[tokio::test]
async fn a_panic_is_a_failure_and_the_claim_is_released() {
    let store = Arc::new(MemoryStore::new());
    let receiver = receiver(SharedStore(Arc::clone(&store)));
    let error = receiver
        .receive(deliver("evt_panic", "payment_intent.canceled"))
        .await
        .unwrap_err();
    assert!(matches!(
        &error,
        ReceiveError::HandlerFailed { failures, .. } if matches!(failures[0].cause, FailureCause::Panic(ref m) if m == "handler bug")
    ));
    // The store is not poisoned and the next delivery runs the handler again.
    let receipt = receiver
        .receive(deliver("evt_panic", "payment_intent.canceled"))
        .await
        .unwrap();
    assert_eq!(receipt.ran().len(), 1);
    assert_eq!(
        journal("evt_panic")
            .iter()
            .filter(|h| **h == "panics_first")
            .count(),
        2
    );
}

#[tokio::test]
async fn a_permanent_error_is_released_like_any_failure() {
    let store = Arc::new(MemoryStore::new());
    let receiver = receiver(SharedStore(Arc::clone(&store)));
    let error = receiver
        .receive(deliver("evt_permanent", "payment_intent.payment_failed"))
        .await
        .unwrap_err();
    let ReceiveError::HandlerFailed { failures, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(
        matches!(&failures[0].cause, FailureCause::Error(e) if e.kind() == webhook_core::ErrorKind::Permanent)
    );
    assert!(!error.is_timeout());
    receiver
        .receive(deliver("evt_permanent", "payment_intent.payment_failed"))
        .await
        .unwrap_err();
    assert_eq!(
        journal("evt_permanent")
            .iter()
            .filter(|h| **h == "permanent_failure")
            .count(),
        2
    );
}

#[tokio::test]
async fn a_timed_out_handler_is_released_and_answered_as_a_timeout() {
    let store = Arc::new(MemoryStore::new());
    let receiver = builder()
        .store(SharedStore(Arc::clone(&store)))
        .handler_timeout(Duration::from_millis(50))
        .lease(Duration::from_secs(5))
        .build()
        .unwrap();
    let error = receiver
        .receive(deliver("evt_timeout", "payment_intent.processing"))
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert!(
        journal("evt_timeout").iter().all(|h| *h != "slow"),
        "the handler was cut off"
    );
    let key = ClaimKey {
        namespace: "default",
        event_id: "evt_timeout",
        handler: "dispatch::slow",
        event_type: "payment_intent.processing",
    };
    assert!(
        matches!(
            store.claim(&key, Duration::from_secs(1)).await.unwrap(),
            Claim::Acquired(_)
        ),
        "released"
    );
}

#[tokio::test]
async fn a_concurrent_duplicate_is_in_progress_and_never_runs_twice() {
    let receiver = receiver(MemoryStore::new());
    let first = tokio::spawn({
        let receiver = receiver.clone();
        async move {
            receiver
                .receive(deliver("evt_busy", "payment_intent.processing"))
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = receiver
        .receive(deliver("evt_busy", "payment_intent.processing"))
        .await
        .unwrap_err();
    let ReceiveError::InProgress { retry_after } = second else {
        panic!("expected InProgress, got {second:?}");
    };
    assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(60));
    first.await.unwrap().unwrap();
    assert_eq!(
        journal("evt_busy").iter().filter(|h| **h == "slow").count(),
        1
    );
}

#[tokio::test]
async fn a_cancelled_delivery_releases_its_claim() {
    let store = Arc::new(MemoryStore::new());
    let receiver = receiver(SharedStore(Arc::clone(&store)));
    let cancelled = tokio::time::timeout(
        Duration::from_millis(100),
        receiver.receive(deliver("evt_cancel", "payment_intent.processing")),
    )
    .await;
    assert!(cancelled.is_err(), "the delivery was cut off mid-handler");
    // The guard releases the claim from a spawned task; `log_all` had completed before.
    let key = ClaimKey {
        namespace: "default",
        event_id: "evt_cancel",
        handler: "dispatch::slow",
        event_type: "payment_intent.processing",
    };
    let mut released = false;
    for _ in 0..50 {
        if let Claim::Acquired(lease) = store.claim(&key, Duration::from_secs(1)).await.unwrap() {
            store.release(&lease).await.unwrap();
            released = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(released, "claims of a cancelled delivery must be released");
    assert_eq!(
        store.len(),
        2,
        "only the event's type record and the completed `log_all` remain"
    );
    receiver
        .receive(deliver("evt_cancel", "payment_intent.processing"))
        .await
        .unwrap();
    assert_eq!(
        journal("evt_cancel")
            .iter()
            .filter(|h| **h == "slow")
            .count(),
        1
    );
}

#[tokio::test]
async fn an_unavailable_or_slow_store_runs_nothing() {
    for (name, store) in [("down", BrokenStore::Down), ("slow", BrokenStore::Slow)] {
        let id = format!("evt_store_{name}");
        let receiver = builder()
            .store(store)
            .store_timeout(Duration::from_millis(100))
            .build()
            .unwrap();
        let error = receiver
            .receive(deliver(&id, "invoice.paid"))
            .await
            .unwrap_err();
        assert!(
            matches!(error, ReceiveError::StoreUnavailable { retry_after, .. } if retry_after == Duration::from_secs(5)),
            "{name}: {error:?}"
        );
        assert!(journal(&id).is_empty(), "{name}: no handler may run");
    }
}

/// When `arrival_noted` deliveries arrived, as their handler saw it.
static ARRIVALS: LazyLock<Mutex<HashMap<String, time::OffsetDateTime>>> =
    LazyLock::new(Mutex::default);

#[on_event("charge.captured")]
async fn arrival_noted(event: Event, delivery: Delivery) -> Result<(), HandlerError> {
    ARRIVALS
        .lock()
        .unwrap()
        .insert(event.id().to_owned(), delivery.received_at());
    Ok(())
}

#[tokio::test]
async fn receive_since_counts_from_the_arrival_instant() {
    // A 2 s tolerance, so an arrival 5 s ago makes a signature made now 5 s in the future.
    let receiver = builder()
        .verifier(
            Verifier::builder(PaymentKit)
                .secret(SECRET)
                .tolerance(Duration::from_secs(2))
                .build()
                .unwrap(),
        )
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let now = Instant::now();
    let late = receiver
        .receive_since(
            deliver("evt_arrival_late", "charge.captured"),
            now - Duration::from_secs(5),
        )
        .await;
    assert!(
        matches!(
            late,
            Err(ReceiveError::Unauthenticated(
                VerifyError::TimestampInFuture
            ))
        ),
        "{late:?}"
    );

    let arrived = now - Duration::from_millis(1500);
    let receipt = receiver
        .receive_since(deliver("evt_arrival_ok", "charge.captured"), arrived)
        .await
        .unwrap();
    assert!(
        receipt.ran().iter().any(|h| h.ends_with("arrival_noted")),
        "{receipt:?}"
    );
    let received_at = ARRIVALS.lock().unwrap()["evt_arrival_ok"];
    let before_now = time::OffsetDateTime::now_utc() - received_at;
    assert!(
        (time::Duration::milliseconds(1400)..time::Duration::milliseconds(3000))
            .contains(&before_now),
        "received_at is when the delivery arrived, 1.5 s ago: {before_now}"
    );
}

#[tokio::test]
async fn unauthenticated_and_malformed_deliveries_never_reach_the_store() {
    let store = BrokenStore::Panics;
    let receiver = builder().store(store).build().unwrap();
    let forged = TestSender::new(PaymentKit, "whsec_wrong")
        .unwrap()
        .event("evt_forged", "invoice.paid", "{}")
        .request()
        .unwrap();
    assert!(matches!(
        receiver.receive(forged).await,
        Err(ReceiveError::Unauthenticated(_))
    ));
    let no_id = TestSender::new(PaymentKit, SECRET)
        .unwrap()
        .raw("x", "invoice.paid", r#"{"type":"invoice.paid"}"#)
        .request()
        .unwrap();
    assert!(matches!(
        receiver.receive(no_id).await,
        Err(ReceiveError::Malformed(_))
    ));
}

#[test]
fn inconsistent_limits_are_refused() {
    type Configure = fn(ReceiverBuilder<AppState>) -> ReceiverBuilder<AppState>;
    let cases: [(&str, Configure); 3] = [
        ("lease shorter than handler timeout", |b| {
            b.lease(Duration::from_secs(10))
                .handler_timeout(Duration::from_secs(20))
        }),
        ("lease equal to handler timeout", |b| {
            b.lease(Duration::from_secs(20))
                .handler_timeout(Duration::from_secs(20))
        }),
        ("retention shorter than tolerance", |b| {
            b.retention(Duration::from_secs(299))
        }),
    ];
    for (case, configure) in cases {
        let result = configure(builder().store(MemoryStore::new())).build();
        assert!(matches!(result, Err(BuildError::Limits(_))), "{case}");
    }
}

/// Lets a test keep a handle on the store it gives the receiver.
struct SharedStore(Arc<MemoryStore>);

impl IdempotencyStore for SharedStore {
    async fn claim(&self, key: &ClaimKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
        self.0.claim(key, lease).await
    }
    async fn complete(&self, lease: &Lease, retention: Duration) -> Result<(), StoreError> {
        self.0.complete(lease, retention).await
    }
    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.0.release(lease).await
    }
    async fn extend(&self, lease: &Lease, by: Duration) -> Result<(), StoreError> {
        self.0.extend(lease, by).await
    }
    async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.0.purge_expired().await
    }
}

/// A store that is down, hangs, or must never be called.
enum BrokenStore {
    Down,
    Slow,
    Panics,
}

static NEVER: AtomicBool = AtomicBool::new(false);

impl BrokenStore {
    async fn fail<T>(&self) -> Result<T, StoreError> {
        match self {
            Self::Down => Err(StoreError::unavailable("connection refused")),
            Self::Slow => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Err(StoreError::unavailable("unreachable"))
            }
            Self::Panics => {
                NEVER.store(true, Ordering::SeqCst);
                panic!("the store must not be contacted")
            }
        }
    }
}

impl IdempotencyStore for BrokenStore {
    async fn claim(&self, _: &ClaimKey<'_>, _: Duration) -> Result<Claim, StoreError> {
        self.fail().await
    }
    async fn complete(&self, _: &Lease, _: Duration) -> Result<(), StoreError> {
        self.fail().await
    }
    async fn release(&self, _: &Lease) -> Result<(), StoreError> {
        self.fail().await
    }
    async fn extend(&self, _: &Lease, _: Duration) -> Result<(), StoreError> {
        self.fail().await
    }
    async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.fail().await
    }
}
