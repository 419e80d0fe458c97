//! `unchecked` registers event types that are not in the PaymentKit catalogue.
use webhook_core::{on_event, Event, HandlerError};

#[on_event("issues.opened", unchecked)]
async fn triage(event: Event) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

#[on_event("my-app.orders.*", unchecked)]
async fn orders(event: Event) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

fn main() {
    let mut found: Vec<_> = webhook_core::registered_events()
        .unwrap()
        .iter()
        .map(|h| (h.pattern, h.path))
        .collect();
    found.sort_unstable();
    assert_eq!(
        found,
        [
            ("issues.opened", concat!(module_path!(), "::triage")),
            ("my-app.orders.*", concat!(module_path!(), "::orders")),
        ]
    );
}
