//! Verified, typed, exactly-once webhook handlers for PaymentKit and Stripe-like senders.
//!
//! Annotate async functions with [`#[on_event]`](on_event); build a [`Receiver`] with a
//! signature [`Verifier`](signature::Verifier) and an [`IdempotencyStore`]; hand it HTTP
//! deliveries (or mount it with `webhook-axum`). Each delivery is verified over its raw bytes,
//! parsed, and every matching handler runs once per event, however often the sender retries.
//!
//! ```
//! use webhook_core::signature::{PaymentKit, Verifier};
//! use webhook_core::test_util::TestSender;
//! use webhook_core::{on_event, Event, HandlerError, MemoryStore, Receiver};
//!
//! #[derive(serde::Deserialize)]
//! struct PaymentIntent {
//!     id: String,
//!     amount: String,
//! }
//!
//! #[on_event("payment_intent.succeeded")]
//! async fn fulfil(event: Event<PaymentIntent>) -> Result<(), HandlerError> {
//!     let intent = event.object();
//!     println!("fulfil {} for {}", intent.id, intent.amount);
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let receiver = Receiver::builder()
//!     .verifier(Verifier::builder(PaymentKit).secret("whsec_example").build()?)
//!     .store(MemoryStore::new())
//!     .build()?;
//!
//! // What PaymentKit would send:
//! let sender = TestSender::new(PaymentKit, "whsec_example")?;
//! let delivery = sender.event("evt_1", "payment_intent.succeeded", r#"{"id":"pi_1","amount":"1000"}"#);
//!
//! let receipt = receiver.receive(delivery.request()?).await?;
//! assert_eq!(receipt.ran(), ["rust_out::fulfil"]);
//!
//! // The sender retries: the handler does not run again.
//! let receipt = receiver.receive(delivery.request()?).await?;
//! assert!(receipt.is_duplicate());
//! # Ok(())
//! # }
//! ```
//!
//! # How it works
//!
//! `#[on_event]` leaves your function as written and submits a [`Registration`] to a
//! link-time collection (the `inventory` crate). [`Receiver::builder`] collects them once,
//! checks them (valid patterns, no duplicates, every `State<T>` provided) and indexes them by
//! event type. A delivery then goes through:
//!
//! 1. **verify** the signature over the raw bytes (nothing is parsed or stored before this);
//! 2. **parse** the envelope (`id`, `type`, `livemode`, `created_at`, raw `data.object`);
//! 3. for each matching handler, **claim** (event id, handler) in the store with a lease,
//!    **run** the handler, then **complete** the claim, or **release** it on error, panic or
//!    time-out, so the sender's retry runs exactly the handlers that have not completed.
//!
//! Every outcome is a [`Receipt`] or a [`ReceiveError`]; `webhook-axum` maps them to the status
//! codes of the pinned policy (401, 400, 409, 422, 500, 503, or 200).
//!
//! # Handlers
//!
//! A handler is an `async fn` whose arguments are extractors ([`FromDelivery`]):
//! [`Event<T>`] (the event with `data.object` decoded into `T`: a [`paymentkit`] type, your own
//! `Deserialize` struct or `serde_json::Value`), [`State<T>`] (values given to the builder with
//! [`with_state`](ReceiverBuilder::with_state), [`provide`](ReceiverBuilder::provide) or
//! [`state`](ReceiverBuilder::state)), [`Delivery`] (id, type, arrival time, raw body) and, with
//! the SQL stores, `Tx<DB>` (the store's transaction). It returns `Result<(), E>` with
//! `E: Into<HandlerError>`; [`HandlerError::permanent`] marks a failure a retry cannot fix (it is
//! still answered 500 and released, so a fixed deployment processes the sender's next retry).
//! Patterns are exact types, dot-segment prefixes (`"customer.subscription.*"`) or `"*"`;
//! several handlers per event run in the order documented on [`Registry`], each deduplicated on
//! its own.
//!
//! # Guarantees
//!
//! A 2xx is only ever answered after every matching handler completed and its completion was
//! recorded. What survives a crash depends on the store: see each store's documentation. A
//! handler taking `Tx<DB>` gets exactly-once local writes: they commit in the same transaction
//! as its completion record (see `Tx`).
//!
//! # Caveats
//!
//! * Handlers in a library crate the binary never names are not linked, so they are not
//!   registered: write `use my_handlers as _;` in the binary (and in that crate's integration
//!   tests). Why: rustc links only the crates a binary refers to, and a registration is a
//!   static that nothing refers to (`inventory` collects it before `main`), so the `use` is what
//!   brings the crate, and its handlers, in. Handlers in private modules of a linked crate are
//!   registered. Log [`Registry::registered_events`] at start-up to see what was found.
//! * Registration is per binary, not per receiver: every receiver runs every handler unless
//!   given a [`Registry`]. An application serving several senders keeps each sender's handlers
//!   in a module of their own and gives each receiver
//!   [`Registry::from_module`]`(concat!(module_path!(), "::stripe"))`, or the like.
//! * On targets where `inventory` does not run constructors (some WebAssembly set-ups), build
//!   the [`Registry`] by hand with [`Registry::builder`].
//! * Annotate free functions: `#[on_event]` cannot register methods or associated functions
//!   (on one inside an `impl` block, rustc says "`const` items in this context need a name").
//! * A handler's idempotency identity is its path (`crate::module::function`); renaming or
//!   moving it makes in-flight retries run it again.
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `macros` | yes | the `#[on_event]` attribute |
//! | `test-util` | no | `test_util`: the test kit (signed and sample deliveries, dispatch without HTTP, a counting store) and the store conformance suite |
//! | `sqlite` | no | `SqliteStore`: durable, one file, several processes on one machine |
//! | `postgres` | no | `PostgresStore`: durable, shared by any number of instances |
//! | `redis` | no | `RedisStore`: at least once, concurrent duplicates suppressed |
//! | `server-tests` | no | development only: runs the store tests that need live PostgreSQL and Redis |

#![cfg_attr(docsrs, feature(doc_cfg))]

mod ascii;
mod clock;
mod dispatch;
mod envelope;
mod event;
mod handler;
pub mod idempotency;
pub mod observability;
pub mod paymentkit;
mod registry;
pub mod signature;
#[cfg(feature = "test-util")]
pub mod test_util;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod transaction;

#[doc(hidden)]
pub mod __private {
    //! Not public API. Used by code generated by `#[on_event]`.
    pub use crate::private::*;
}
mod private;

pub use clock::{Clock, ManualClock, SystemClock};
#[cfg(feature = "test-util")]
pub use dispatch::PauseHook;
pub use dispatch::{
    BuildError, FailureCause, HandlerFailure, Limits, Receipt, ReceiveError, Receiver,
    ReceiverBuilder,
};
pub use envelope::{Envelope, EnvelopeError, MAX_ID_LEN};
pub use event::Event;
pub use handler::{
    BoxError, Delivery, ErrorKind, FromDelivery, FromRef, HandlerError, HandlerFuture,
    IntoHandlerResult, MissingState, Resources, State,
};
pub use idempotency::{
    BoxFuture, Claim, ClaimKey, IdempotencyStore, Lease, MemoryStore, StoreError, TxBackend,
    EVENT_TYPE_RECORD, MAX_HANDLER_LEN,
};
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use idempotency::{InvalidTableName, PostgresStore, PostgresStoreBuilder};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use idempotency::{RedisStore, RedisStoreBuilder};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use idempotency::{SqliteStore, SqliteStoreBuilder};
pub use registry::{
    Location, RegisteredHandler, Registration, Registry, RegistryBuilder, RegistryError,
};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[doc(hidden)]
pub use sqlx;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "sqlite", feature = "postgres"))))]
pub use transaction::{Tx, TxGuard};

#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
#[doc(inline)]
pub use webhook_macros::on_event;

/// Every handler registered with `#[on_event]` in this binary, in dispatch order.
///
/// # Errors
/// [`RegistryError`] when the registrations are invalid.
pub fn registered_events() -> Result<Vec<RegisteredHandler>, RegistryError> {
    Registry::from_inventory().map(|registry| registry.registered_events())
}
