//! A user's `Deserialize` struct as the payload, decoded from a signed delivery.
use std::sync::Mutex;

use serde::Deserialize;
use webhook_core::signature::{PaymentKit, Verifier};
use webhook_core::test_util::TestSender;
use webhook_core::{on_event, Event, HandlerError, MemoryStore, Receiver};

#[derive(Deserialize)]
struct PaymentIntent {
    id: String,
    amount: String,
}

static SEEN: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

#[on_event("payment_intent.succeeded")]
async fn fulfil(event: Event<PaymentIntent>) -> Result<(), HandlerError> {
    let intent = event.object();
    SEEN.lock()
        .unwrap()
        .push((intent.id.clone(), intent.amount.clone()));
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let receiver = Receiver::builder()
        .verifier(
            Verifier::builder(PaymentKit)
                .secret("whsec_ui")
                .build()
                .unwrap(),
        )
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let sender = TestSender::new(PaymentKit, "whsec_ui").unwrap();
    let delivery = sender.event(
        "evt_1",
        "payment_intent.succeeded",
        r#"{"id":"pi_1","amount":"1000"}"#,
    );
    let receipt = receiver.receive(delivery.request().unwrap()).await.unwrap();
    assert_eq!(receipt.ran(), [concat!(module_path!(), "::fulfil")]);
    assert_eq!(
        *SEEN.lock().unwrap(),
        [("pi_1".to_owned(), "1000".to_owned())]
    );
}
