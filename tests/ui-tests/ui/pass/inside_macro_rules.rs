//! `#[on_event]` written by `macro_rules!`: the event as an `$e:expr` fragment (an invisible
//! group around the literal), the payload as a `$t:ty` fragment (other hygiene than the
//! attribute), and a whole handler passed as an `$i:item`.
use webhook_core::{on_event, Event, HandlerError};

macro_rules! handler {
    ($event:expr, $name:ident, $payload:ty) => {
        #[on_event($event)]
        async fn $name(event: Event<$payload>) -> Result<(), HandlerError> {
            let _ = event;
            Ok(())
        }
    };
}

macro_rules! on {
    ($event:literal, $handler:item) => {
        #[on_event($event)]
        $handler
    };
}

handler!("invoice.paid", paid, serde_json::Value);

on!(
    "invoice.created",
    async fn created(event: Event) -> Result<(), HandlerError> {
        let _ = event;
        Ok(())
    }
);

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
            ("invoice.created", concat!(module_path!(), "::created")),
            ("invoice.paid", concat!(module_path!(), "::paid")),
        ]
    );
}
