use webhook_core::{on_event, Event, HandlerError};

#[on_event("payment_intent.succeeded")]
async fn fulfil(event: Event<serde_json::Value>) -> Result<(), HandlerError> {
    let _ = event.object();
    Ok(())
}

fn main() {
    let registered = webhook_core::registered_events().unwrap();
    let found: Vec<_> = registered.iter().map(|h| (h.pattern, h.path)).collect();
    assert_eq!(
        found,
        [(
            "payment_intent.succeeded",
            concat!(module_path!(), "::fulfil")
        )]
    );
    // The location is the attribute's.
    assert!(registered[0].location.file.ends_with("basic.rs"));
    assert_eq!(registered[0].location.line, 3);
}
