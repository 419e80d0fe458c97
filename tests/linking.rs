//! Handlers defined in another crate are registered once the binary names that crate.
//!
//! `tests/linking-handlers` has no public items; `use .. as _` is the only reference to it, and
//! enough: rustc links the crate, and with it the statics `#[on_event]` submits. This is what a
//! binary (or an integration test) whose handlers live in a library crate has to write.

use webhook_linking_handlers as _;

use webhook_core::signature::{PaymentKit, Verifier};
use webhook_core::test_util::TestSender;
use webhook_core::{MemoryStore, Receiver};

const FULFIL: &str = "webhook_linking_handlers::fulfil";
const RECORD_PAYMENT: &str = "webhook_linking_handlers::billing::record_payment";

#[test]
fn handlers_of_a_named_crate_are_registered() {
    let mut found: Vec<_> = webhook_core::registered_events()
        .unwrap()
        .iter()
        .map(|handler| (handler.pattern, handler.path))
        .collect();
    found.sort_unstable();
    assert_eq!(
        found,
        [
            ("invoice.paid", RECORD_PAYMENT),
            ("payment_intent.succeeded", FULFIL),
        ]
    );
}

#[tokio::test]
async fn handlers_of_a_named_crate_run() {
    let receiver = Receiver::builder()
        .verifier(
            Verifier::builder(PaymentKit)
                .secret("whsec_linking")
                .build()
                .unwrap(),
        )
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let sender = TestSender::new(PaymentKit, "whsec_linking").unwrap();
    let request = sender
        .event("evt_linking_1", "invoice.paid", r#"{"id":"in_1"}"#)
        .request()
        .unwrap();
    let receipt = receiver.receive(request).await.unwrap();
    assert_eq!(receipt.ran(), [RECORD_PAYMENT]);
}
