use webhook_core::{on_event, HandlerError};

#[on_event("payment_intent.succeeded")]
async fn fulfil() -> Result<(), HandlerError> {
    Ok(())
}

fn main() {}
