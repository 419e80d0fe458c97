use webhook_core::{on_event, Event};

#[derive(Debug)]
struct NotAnError;

#[on_event("payment_intent.succeeded")]
async fn fulfil(event: Event) -> Result<(), NotAnError> {
    let _ = event;
    Err(NotAnError)
}

fn main() {}
