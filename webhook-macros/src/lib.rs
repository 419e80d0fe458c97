//! The `#[on_event]` attribute of `webhook-core`: it registers an async function as the
//! handler of a webhook event type.
//!
//! ```
//! use webhook_core::paymentkit::Subscription;
//! use webhook_core::signature::{PaymentKit, Verifier};
//! use webhook_core::test_util::TestSender;
//! use webhook_core::{on_event, Event, HandlerError, MemoryStore, Receiver};
//!
//! // Every `customer.subscription.*` event, with `data.object` decoded as a `Subscription`.
//! #[on_event("customer.subscription.*")]
//! async fn sync_subscription(event: Event<Subscription>) -> Result<(), HandlerError> {
//!     println!("{} is now {:?}", event.object().id, event.object().status);
//!     Ok(())
//! }
//!
//! // A type outside the PaymentKit catalogue, as raw JSON.
//! #[on_event("issues.opened", unchecked)]
//! async fn triage(event: Event) -> Result<(), HandlerError> {
//!     println!("issue {}", event.object()["number"]);
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Registered by the attribute alone: nothing lists the handlers by hand.
//! let found: Vec<String> = webhook_core::registered_events()?
//!     .iter()
//!     .map(|handler| format!("{} -> {}", handler.pattern, handler.path))
//!     .collect();
//! assert_eq!(
//!     found,
//!     ["customer.subscription.* -> rust_out::sync_subscription", "issues.opened -> rust_out::triage"]
//! );
//!
//! let receiver = Receiver::builder()
//!     .verifier(Verifier::builder(PaymentKit).secret("whsec_example").build()?)
//!     .store(MemoryStore::new())
//!     .build()?;
//! let sender = TestSender::new(PaymentKit, "whsec_example")?;
//! let subscription = r#"{"id": "sub_1", "livemode": false, "status": "past_due",
//!     "currency_id": "pc_1", "customer_id": "cus_1",
//!     "current_period_start": 1700000000, "current_period_end": 1702592000,
//!     "created_at": "2023-11-14T22:13:20Z", "updated_at": "2023-12-14T22:13:20Z"}"#;
//! let delivery = sender.event("evt_1", "customer.subscription.updated", subscription);
//! let receipt = receiver.receive(delivery.request()?).await?;
//! assert_eq!(receipt.ran(), ["rust_out::sync_subscription"]);
//! # Ok(())
//! # }
//! ```
//!
//! Depend on `webhook-core`, which re-exports the attribute as `webhook_core::on_event` and
//! holds everything its expansion refers to; this crate cannot be used on its own. See
//! [`macro@on_event`] for patterns, handler signatures, options and the code it generates.

mod args;
mod catalogue;
mod errors;
mod expand;
mod handler;

use proc_macro::TokenStream;

/// Register an async function as the handler of a webhook event type.
///
/// ```
/// use webhook_core::paymentkit::PaymentIntent;
/// use webhook_core::{on_event, Event, HandlerError};
///
/// #[on_event("payment_intent.succeeded")]
/// async fn fulfil(event: Event<PaymentIntent>) -> Result<(), HandlerError> {
///     println!("fulfil {}", event.object().id);
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
/// `async fn name(arg: A, ..) -> Result<(), E>`: one or more arguments, each a
/// `webhook_core::FromDelivery` extractor (`Event<T>` with `T: DeserializeOwned`, `State<T>`,
/// `Delivery`), and `E: Into<HandlerError>`. The future must be `Send`. The function is emitted
/// unchanged and stays callable (and unit-testable) as written; several `#[on_event]` on one
/// function register it under each pattern.
///
/// # Options
///
/// * `crate = path`: where `webhook_core` is, when it is renamed or re-exported
///   (`#[on_event("invoice.paid", crate = my_reexport::webhook_core)]`).
/// * `unchecked`: skip the PaymentKit catalogue check.
///
/// # Equivalent code without the macro
///
/// ```ignore
/// #[doc(hidden)]
/// const _: () = {
///     const __WEBHOOK_ARG0: __private::Arg<Event<PaymentIntent>> =
///         __private::arg::<Event<PaymentIntent>>();
///
///     fn __webhook_call(delivery: Delivery) -> HandlerFuture {
///         let arg0 = match (__WEBHOOK_ARG0.extract)(&delivery) {
///             Ok(value) => value,
///             Err(error) => return __private::fail(error),
///         };
///         __private::handle::<_, Result<(), HandlerError>>(fulfil(arg0))
///     }
///
///     fn __webhook_check(resources: &Resources) -> Result<(), MissingState> {
///         (__WEBHOOK_ARG0.check)(resources)
///     }
///
///     inventory::submit! {
///         Registration::new(
///             "payment_intent.succeeded",
///             concat!(module_path!(), "::fulfil"),
///             Location::new(file!(), line!(), column!()),
///             __webhook_call,
///             __webhook_check,
///         )
///     }
/// };
/// ```
///
/// Every path goes through `webhook_core::__private` (or the `crate = path` given), so the
/// expansion needs neither the prelude nor any import.
///
/// # Errors you may see
///
/// Mistakes in the attribute or the signature (not `async`, generic, `self`, no argument, no
/// return type, an unknown event type, ...) are all reported in one compile, each under the
/// offending token. Type mistakes are reported by rustc under the user's tokens:
///
/// * "`u32` cannot be an argument of an `#[on_event]` handler": under the argument's type;
/// * "`#[on_event]` handlers must return `Result<(), E>` ...": under the return type;
/// * "future cannot be sent between threads safely ... future returned by `name` is not
///   `Send`": under the name, with the `.await` that holds the non-`Send` value.
///
/// On an associated function inside an `impl` block (no `self`, so the attribute cannot tell),
/// rustc reports "`const` items in this context need a name" at the attribute: move the
/// handler out of the `impl` into a free function.
#[proc_macro_attribute]
pub fn on_event(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::on_event(args.into(), item.into()).into()
}
