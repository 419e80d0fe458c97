//! The test kit itself: sample deliveries signed for any scheme, id and object overrides,
//! dispatch without HTTP, and the counting store.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use webhook_core::paymentkit::PaymentIntent;
use webhook_core::signature::{
    GitHub, PaymentKit, Scheme, StandardWebhooks, Stripe, Verifier, VerifyError,
};
use webhook_core::test_util::fixtures::sample_event;
use webhook_core::test_util::{dispatch, receiver_builder, CountingStore, TestSender};
use webhook_core::{
    on_event, EnvelopeError, Event, FailureCause, HandlerError, ManualClock, MemoryStore,
    ReceiveError, Receiver,
};

/// The amount each `payment_intent.succeeded` handler run saw, per event id.
static AMOUNTS: LazyLock<Mutex<HashMap<String, Vec<String>>>> = LazyLock::new(Mutex::default);

fn amounts(id: &str) -> Vec<String> {
    AMOUNTS.lock().unwrap().get(id).cloned().unwrap_or_default()
}

#[on_event("payment_intent.succeeded")]
async fn record_amount(event: Event<PaymentIntent>) -> Result<(), HandlerError> {
    AMOUNTS
        .lock()
        .unwrap()
        .entry(event.id().to_owned())
        .or_default()
        .push(event.object().amount.to_string());
    Ok(())
}

#[on_event("invoice.payment_failed")]
async fn always_fails(_event: Event) -> Result<(), HandlerError> {
    Err(HandlerError::permanent(
        "dunning service refused the invoice",
    ))
}

const HANDLER: &str = "test_kit::record_amount";
const FAILING: &str = "test_kit::always_fails";
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Signs a sample with `scheme` and returns the receipt and the delivery's event id.
async fn receive_sample<S: Scheme + Clone>(
    scheme: S,
    verify_with: &str,
    sign_with: &str,
) -> (webhook_core::Receipt, String) {
    let name = format!("{scheme:?}");
    let verifier = Verifier::builder(scheme.clone())
        .secret(verify_with)
        .build()
        .unwrap();
    let receiver = Receiver::builder()
        .verifier(verifier)
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let sender = TestSender::new(scheme, sign_with).unwrap();
    let delivery = sender.sample("payment_intent.succeeded").unwrap();
    let receipt = receiver
        .receive(delivery.request().unwrap())
        .await
        .unwrap_or_else(|error| panic!("{name}: {error}"));
    (receipt, delivery.event_id().to_owned())
}

#[tokio::test]
async fn samples_are_signed_for_any_scheme() {
    for (receipt, id) in [
        receive_sample(PaymentKit, "whsec_kit", "whsec_kit").await,
        receive_sample(Stripe, "whsec_kit", "whsec_kit").await,
        receive_sample(StandardWebhooks, STANDARD_SECRET, STANDARD_SECRET).await,
    ] {
        assert_eq!(receipt.ran(), [HANDLER]);
        assert_eq!(amounts(&id), ["9900000000000000000"]);
    }
    // GitHub names events by header (`payment_intent`) and action (body), not PaymentKit's
    // dotted types; the delivery is authentic all the same.
    let (receipt, _) = receive_sample(GitHub, "github_kit_secret", "github_kit_secret").await;
    assert!(receipt.is_ignored());
}

#[tokio::test]
async fn each_sample_has_a_fresh_id_and_with_id_overrides_it() {
    let sender = TestSender::new(PaymentKit, "whsec_kit").unwrap();
    let first = sender.sample("payment_intent.succeeded").unwrap();
    let second = sender.sample("payment_intent.succeeded").unwrap();
    assert!(first.event_id().starts_with("evt_"));
    assert_ne!(first.event_id(), second.event_id());
    assert!(sender.sample("payment_intent.exploded").is_none());

    let receiver = Receiver::builder()
        .verifier(
            Verifier::builder(PaymentKit)
                .secret("whsec_kit")
                .build()
                .unwrap(),
        )
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let original = sender
        .sample("payment_intent.succeeded")
        .unwrap()
        .with_id("evt_kit_fixed_id");
    let body: serde_json::Value = serde_json::from_slice(original.body()).unwrap();
    assert_eq!(body["id"], "evt_kit_fixed_id");
    assert_eq!(
        receiver
            .receive(original.request().unwrap())
            .await
            .unwrap()
            .ran(),
        [HANDLER]
    );
    // Another sample under the same id is the sender's retry: nothing runs again.
    let retry = sender
        .sample("payment_intent.succeeded")
        .unwrap()
        .with_id("evt_kit_fixed_id");
    let receipt = receiver.receive(retry.request().unwrap()).await.unwrap();
    assert!(receipt.is_duplicate());
    assert_eq!(receipt.already_done(), [HANDLER]);
    assert_eq!(amounts("evt_kit_fixed_id").len(), 1);
}

#[tokio::test]
async fn a_patched_object_reaches_the_handler_and_stays_signed() {
    let sender = TestSender::new(Stripe, "whsec_kit").unwrap();
    let receiver = Receiver::builder()
        .verifier(
            Verifier::builder(Stripe)
                .secret("whsec_kit")
                .build()
                .unwrap(),
        )
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let delivery = sender
        .sample("payment_intent.succeeded")
        .unwrap()
        .patch_object(|intent| intent["amount"] = "42".into());
    let receipt = receiver.receive(delivery.request().unwrap()).await.unwrap();
    assert_eq!(receipt.ran(), [HANDLER]);
    assert_eq!(amounts(delivery.event_id()), ["42"]);

    // A body that is not an event is left alone.
    let raw = sender
        .raw("evt_raw", "payment_intent.succeeded", "not json")
        .patch_object(|_| panic!("not called"));
    assert_eq!(raw.body().as_ref(), b"not json");
}

#[tokio::test]
async fn dispatch_runs_the_handlers_without_http_or_signature() {
    let store = CountingStore::new(MemoryStore::new());
    let receiver = receiver_builder().store(store.clone()).build().unwrap();

    let event = sample_event("evt_kit_dispatch", "payment_intent.succeeded").unwrap();
    let receipt = dispatch(&receiver, event.clone()).await.unwrap();
    assert_eq!(receipt.ran(), [HANDLER]);
    assert_eq!(amounts("evt_kit_dispatch"), ["9900000000000000000"]);
    assert!(store.calls() > 0);

    // Deduplicated by the receiver's store, as a signed delivery would be.
    let again = dispatch(&receiver, event).await.unwrap();
    assert!(again.is_duplicate());
    assert_eq!(amounts("evt_kit_dispatch").len(), 1);

    // No handler for the type: ignored, and the store is not asked.
    let before = store.calls();
    let ignored = dispatch(
        &receiver,
        sample_event("evt_kit_none", "payout.paid").unwrap(),
    )
    .await
    .unwrap();
    assert!(ignored.is_ignored());
    assert_eq!(store.calls(), before);

    // A failing handler is reported by path.
    let failed = dispatch(
        &receiver,
        sample_event("evt_kit_fail", "invoice.payment_failed").unwrap(),
    )
    .await;
    match failed {
        Err(ReceiveError::HandlerFailed { failures, ran }) => {
            assert!(ran.is_empty());
            assert_eq!(failures.len(), 1);
            assert_eq!(failures[0].handler, FAILING);
            assert!(matches!(failures[0].cause, FailureCause::Error(_)));
        }
        other => panic!("expected a handler failure, got {other:?}"),
    }

    // TestDelivery::dispatch skips the signature, whatever the secret.
    let forged = TestSender::new(PaymentKit, "whsec_not_the_receivers").unwrap();
    let delivery = forged.sample("payment_intent.succeeded").unwrap();
    assert_eq!(delivery.dispatch(&receiver).await.unwrap().ran(), [HANDLER]);
}

#[tokio::test]
async fn dispatch_refuses_what_is_not_an_event_before_the_store() {
    let store = CountingStore::new(MemoryStore::new());
    let receiver = receiver_builder().store(store.clone()).build().unwrap();
    for body in [
        &b"[]"[..],
        b"not json",
        br#"{"type":"payment_intent.succeeded"}"#,
        b"{\"id\":\"evt_1\",\"type\":\"x\",\"note\":\"\xff\"}",
    ] {
        let outcome = dispatch(&receiver, body.to_vec()).await;
        assert!(
            matches!(outcome, Err(ReceiveError::Malformed(_))),
            "{outcome:?}"
        );
    }
    assert!(matches!(
        dispatch(&receiver, &br#"{"id":"evt_1"}"#[..]).await,
        Err(ReceiveError::Malformed(EnvelopeError::MissingType))
    ));
    assert_eq!(store.calls(), 0);
}

#[tokio::test]
async fn a_manual_clock_drives_the_tolerance() {
    let clock = ManualClock::new(1_700_000_000);
    let store = CountingStore::new(MemoryStore::new());
    let receiver = Receiver::builder()
        .verifier(
            Verifier::builder(PaymentKit)
                .secret("whsec_kit")
                .clock(clock.clone())
                .build()
                .unwrap(),
        )
        .store(store.clone())
        .build()
        .unwrap();
    let sender = TestSender::new(PaymentKit, "whsec_kit").unwrap();
    let delivery = sender
        .sample("payment_intent.succeeded")
        .unwrap()
        .at(1_700_000_000);
    clock.advance(300);
    assert_eq!(
        receiver
            .receive(delivery.request().unwrap())
            .await
            .unwrap()
            .ran(),
        [HANDLER]
    );
    let calls = store.calls();
    clock.advance(1);
    assert!(matches!(
        receiver.receive(delivery.request().unwrap()).await,
        Err(ReceiveError::Unauthenticated(VerifyError::TimestampTooOld))
    ));
    assert_eq!(store.calls(), calls, "a stale delivery reached the store");
}
