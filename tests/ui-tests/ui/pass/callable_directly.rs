//! The annotated function stays an ordinary async function: a unit test can build an `Event`
//! and call it.
use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use webhook_core::signature::Verified;
use webhook_core::{on_event, Envelope, ErrorKind, Event, HandlerError};

#[derive(Deserialize)]
struct Invoice {
    amount_due: u64,
}

#[on_event("invoice.paid")]
async fn check_amount(event: Event<Invoice>) -> Result<(), HandlerError> {
    if event.object().amount_due == 0 {
        return Err(HandlerError::permanent("nothing was due"));
    }
    Ok(())
}

fn event(amount_due: u64) -> Event<Invoice> {
    let body = format!(
        r#"{{"id":"evt_1","type":"invoice.paid","data":{{"object":{{"amount_due":{amount_due}}}}}}}"#
    );
    let envelope = Envelope::parse(Bytes::from(body), &Verified::default()).unwrap();
    Event::new(Arc::new(envelope), Invoice { amount_due })
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert!(check_amount(event(1200)).await.is_ok());
    let error = check_amount(event(0)).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Permanent);
    assert_eq!(
        webhook_core::registered_events().unwrap()[0].path,
        concat!(module_path!(), "::check_amount")
    );
}
