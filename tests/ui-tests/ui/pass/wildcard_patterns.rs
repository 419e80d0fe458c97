use webhook_core::{on_event, Event, HandlerError, Registration, Registry};

#[on_event("*")]
async fn audit(event: Event) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

#[on_event("customer.subscription.*")]
async fn subscriptions(event: Event) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

fn main() {
    let registry = Registry::from_inventory().unwrap();
    let run = |event_type: &str| -> Vec<&str> {
        registry
            .handlers_for(event_type)
            .map(Registration::path)
            .collect()
    };
    let audit = concat!(module_path!(), "::audit");
    let subscriptions = concat!(module_path!(), "::subscriptions");
    assert_eq!(run("customer.subscription.created"), [audit, subscriptions]);
    assert_eq!(run("customer.created"), [audit]);
    assert_eq!(run("anything.else"), [audit]);
}
