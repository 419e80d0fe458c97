use webhook_core::{on_event, Event};

#[on_event("payment_intent.succeeded")]
async fn fulfil(event: Event) -> bool {
    event.livemode().unwrap_or(false)
}

fn main() {}
