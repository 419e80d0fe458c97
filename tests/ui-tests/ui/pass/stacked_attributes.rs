//! One function under two patterns: two registrations, one identity, one location each.
use webhook_core::{on_event, Event, HandlerError, Registration, Registry};

#[on_event("invoice.paid")]
#[on_event("invoice.payment_failed")]
async fn sync_invoice(event: Event) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

fn main() {
    let path = concat!(module_path!(), "::sync_invoice");
    let mut found: Vec<_> = webhook_core::registered_events()
        .unwrap()
        .iter()
        .map(|h| (h.pattern, h.path, h.location.line))
        .collect();
    found.sort_unstable();
    assert_eq!(
        found,
        [
            ("invoice.paid", path, 4),
            ("invoice.payment_failed", path, 5)
        ]
    );
    let registry = Registry::from_inventory().unwrap();
    for event_type in ["invoice.paid", "invoice.payment_failed"] {
        let paths: Vec<_> = registry
            .handlers_for(event_type)
            .map(Registration::path)
            .collect();
        assert_eq!(paths, [path]);
    }
}
