//! Example: the billing handlers of an application, kept in a library crate of their own.
//!
//! The crate exports nothing: `#[on_event]` registers its handlers with every binary that
//! links it. A binary links it only if it names it, so the application's `main.rs` says
//! (see the `separate_crate` example of `webhook-examples`):
//!
//! ```
//! // Links this crate, and with it its handlers, although nothing in it is called by name.
//! use webhook_example_billing as _;
//!
//! let registry = webhook_core::Registry::from_module("webhook_example_billing")?;
//! assert_eq!(registry.registered_events().len(), 2);
//! # Ok::<(), webhook_core::RegistryError>(())
//! ```
//!
//! The handlers' idempotency identity is their path (`webhook_example_billing::record_paid`),
//! so moving them into another crate or module makes in-flight retries run them again.

use webhook_core::paymentkit::Invoice;
use webhook_core::{on_event, Event, HandlerError};

#[on_event("invoice.paid")]
async fn record_paid(event: Event<Invoice>) -> Result<(), HandlerError> {
    let invoice = event.object();
    tracing::info!(invoice = %invoice.id, amount = %invoice.amount_paid, "invoice paid");
    Ok(())
}

#[on_event("invoice.payment_failed")]
async fn notify_failed(event: Event<Invoice>) -> Result<(), HandlerError> {
    let invoice = event.object();
    tracing::warn!(invoice = %invoice.id, customer = %invoice.customer_id, "invoice payment failed");
    Ok(())
}
