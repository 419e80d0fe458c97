//! The `#[on_event]` attribute of `webhook-core`.
//!
//! Depend on `webhook-core`, which re-exports it; this crate's items are documented there.

mod args;
mod catalogue;
mod errors;
mod expand;
mod handler;

use proc_macro::TokenStream;

/// Register an async function as the handler of a webhook event type.
///
/// ```ignore
/// use webhook_core::{on_event, Event, HandlerError};
///
/// #[on_event("payment_intent.succeeded")]
/// async fn fulfil(event: Event<PaymentIntent>) -> Result<(), HandlerError> {
///     Ok(())
/// }
/// ```
///
/// # Patterns
///
/// * an exact type from the PaymentKit catalogue: `"payment_intent.succeeded"`;
/// * a dot-segment prefix: `"customer.subscription.*"` matches `customer.subscription.created`
///   but not `customer.subscriptions_x`;
/// * `"*"`: every event.
///
/// Types are checked against the PaymentKit catalogue at compile time, with a suggestion for
/// near misses. For other senders (Stripe, GitHub, your own), opt out with `unchecked`:
/// `#[on_event("issues.opened", unchecked)]`.
///
/// # Handler signature
///
/// `async fn name(arg: A, ..) -> Result<(), E>` where every argument implements
/// `webhook_core::FromDelivery` (`Event<T>`, `State<T>`, `Delivery`) and `E: Into<HandlerError>`.
/// The function is emitted unchanged and stays callable (and unit-testable) as written.
///
/// # Options
///
/// * `crate = path`: where `webhook_core` is, when it is renamed or re-exported
///   (`#[on_event("invoice.paid", crate = my_reexport::webhook_core)]`).
/// * `unchecked`: skip the PaymentKit catalogue check.
///
/// # Equivalent code without the macro
///
/// A function `fn(Delivery) -> HandlerFuture` that extracts each argument and calls yours, and
/// an `inventory::submit!` of a `webhook_core::Registration` naming it, the pattern, the
/// function's path and its source location.
#[proc_macro_attribute]
pub fn on_event(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::on_event(args.into(), item.into()).into()
}
