use webhook_core::{on_event, Event, HandlerError};

struct Billing;

impl Billing {
    #[on_event("payment_intent.succeeded")]
    async fn fulfil(&self, event: Event) -> Result<(), HandlerError> {
        let _ = event;
        Ok(())
    }
}

fn main() {}
