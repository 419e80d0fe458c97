//! No `self`, so the attribute cannot tell it is inside an `impl`: rustc rejects the expansion.
use webhook_core::{on_event, Event, HandlerError};

struct Billing;

impl Billing {
    #[on_event("payment_intent.succeeded")]
    async fn fulfil(event: Event) -> Result<(), HandlerError> {
        let _ = event;
        Ok(())
    }
}

fn main() {}
