use webhook_core::{on_event, Event, HandlerError};

#[on_event("payment_intent.succeeded")]
async fn fulfil(event: Event) -> Result<(), HandlerError>
where
    Event: Send,
{
    let _ = event;
    Ok(())
}

fn main() {}
