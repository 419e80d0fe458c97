use webhook_core::{on_event, Event, HandlerError};

struct PaymentIntent {
    id: String,
}

#[on_event("payment_intent.succeeded")]
async fn fulfil(event: Event<PaymentIntent>) -> Result<(), HandlerError> {
    let _ = &event.object().id;
    Ok(())
}

fn main() {}
