use webhook_core::{on_event, Event, HandlerError};

#[on_event("payment_intent.succeeded")]
async fn fulfil<T: serde::de::DeserializeOwned + Send + 'static>(
    event: Event<T>,
) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

fn main() {}
