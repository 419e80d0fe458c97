//! Fixture for the linking tests of `webhook-tests`: `#[on_event]` handlers in a library crate
//! with no public items.
//!
//! A binary registers these handlers only if it names this crate, for instance with
//! `use webhook_linking_handlers as _;`. rustc links only the crates a binary refers to, and an
//! `#[on_event]` registration is a static that nothing refers to (the `inventory` crate collects
//! it at start-up), so naming nothing in the crate leaves the handlers out of the binary.
//! `tests/linking.rs` and `tests/linking_unreferenced.rs` pin both behaviours.
//!
//! ```
//! use webhook_linking_handlers as _;
//!
//! let registered = webhook_core::registered_events().unwrap();
//! assert_eq!(registered.len(), 2);
//! ```

use webhook_core::{on_event, Event, HandlerError};

#[on_event("payment_intent.succeeded")]
async fn fulfil(event: Event) -> Result<(), HandlerError> {
    let _ = event.object();
    Ok(())
}

/// A private module nothing refers to: its handlers are registered as soon as the crate is.
mod billing {
    use webhook_core::{on_event, Event, HandlerError};

    #[on_event("invoice.paid")]
    async fn record_payment(event: Event) -> Result<(), HandlerError> {
        let _ = event.object();
        Ok(())
    }
}
