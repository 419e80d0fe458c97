use webhook_core::{on_event, Event};

#[on_event("payment_intent.succeeded")]
async fn fulfil(event: Event) -> () {
    let _ = event;
}

fn main() {}
