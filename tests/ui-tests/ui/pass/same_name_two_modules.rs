//! Two handlers with the same name in different modules neither collide nor share an identity.
mod billing {
    use webhook_core::{on_event, Event, HandlerError};

    #[on_event("invoice.paid")]
    pub(crate) async fn handle(event: Event) -> Result<(), HandlerError> {
        let _ = event;
        Ok(())
    }
}

mod shipping {
    use webhook_core::{on_event, Event, HandlerError};

    #[on_event("invoice.paid")]
    async fn handle(event: Event) -> Result<(), HandlerError> {
        let _ = event;
        Ok(())
    }
}

fn main() {
    let registry = webhook_core::Registry::from_inventory().unwrap();
    let paths: Vec<_> = registry
        .handlers_for("invoice.paid")
        .map(webhook_core::Registration::path)
        .collect();
    assert_eq!(
        paths,
        [
            concat!(module_path!(), "::billing::handle"),
            concat!(module_path!(), "::shipping::handle"),
        ]
    );
    let _ = billing::handle;
}
