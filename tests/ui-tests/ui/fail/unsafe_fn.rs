use webhook_core::{on_event, Event, HandlerError};

#[on_event("payment_intent.succeeded")]
async unsafe fn fulfil(event: Event) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

fn main() {}
