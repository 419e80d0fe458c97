use std::rc::Rc;

use webhook_core::{on_event, Event, HandlerError};

async fn record(_: &usize) {}

#[on_event("payment_intent.succeeded")]
async fn fulfil(event: Event) -> Result<(), HandlerError> {
    let length = Rc::new(event.id().len());
    record(&length).await;
    Ok(())
}

fn main() {}
