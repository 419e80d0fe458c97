use webhook_core::{on_event, Event, HandlerError};

#[on_event("payment_intent.succeeded")]
async fn fulfil(event: Event, attempts: u32) -> Result<(), HandlerError> {
    let _ = (event, attempts);
    Ok(())
}

fn main() {}
