//! Typed PaymentKit objects, to decode `data.object` with [`Event<T>`](crate::Event).
//!
//! The types follow the models of the npm package `@blocklet/payment-types@1.27.2`
//! (`lib/*.d.ts`), the typings of the PaymentKit server:
//!
//! ```
//! use webhook_core::paymentkit::{PaymentIntent, PaymentIntentStatus};
//! use webhook_core::{on_event, Event, HandlerError};
//!
//! #[on_event("payment_intent.succeeded")]
//! async fn fulfil(event: Event<PaymentIntent>) -> Result<(), HandlerError> {
//!     let intent = event.object();
//!     if intent.status == PaymentIntentStatus::Succeeded {
//!         println!("{} paid {} of {}", intent.id, intent.amount, intent.currency_id);
//!     }
//!     Ok(())
//! }
//! # fn main() {}
//! ```
//!
//! # Which object each event carries
//!
//! | event types | `data.object` | confidence |
//! |---|---|---|
//! | `payment_intent.*` | [`PaymentIntent`] | documented (PaymentKit webhooks guide) |
//! | `customer.subscription.*` | [`Subscription`] | documented (PaymentKit webhooks guide) |
//! | `checkout.session.*` | [`CheckoutSession`] | emitted per the docs; object inferred from the name |
//! | `invoice.*` | [`Invoice`] | emitted per the docs; object inferred from the name |
//! | `refund.*` | [`Refund`] | inferred from the name (the sender's source is not public) |
//! | `customer.created`, `customer.updated`, `customer.deleted` | [`Customer`] | inferred from the name |
//! | `customer.credit_grant.granted`, `customer.credit_grant.depleted` | [`CreditGrant`] | inferred from the name |
//! | `customer.credit.insufficient`, `customer.credit.low_balance`, `billing.discrepancy`, `usage.report.empty`, `exchange_rate.*` | not documented | — |
//! | everything else in [`EVENT_TYPES`] | not modelled here | — |
//!
//! [`object_kind`] gives this table's answer for an event type.
//!
//! Where the object is not documented or not modelled, take `Event<serde_json::Value>` (the
//! default, `Event`) or your own `#[derive(Deserialize)]` struct. [`CreditTransaction`],
//! [`Meter`] and [`MeterEvent`] are the other credit-billing models of the package, for
//! payloads that carry them.
//!
//! # Decoding rules
//!
//! * Fields the package declares as always present and that identify the object (ids,
//!   `livemode`, `status`, `mode`, main amounts, `currency_id`, `created_at`, `updated_at`)
//!   are plain fields: an object without them does not decode. Every other field is an
//!   `Option`, since the database columns behind the model are nullable even where the
//!   TypeScript type is not.
//! * Lists, maps, `metadata` and flags (`paid`, `delinquent`, ...) decode `null` or a missing
//!   field as empty or `false`.
//! * Amounts are [`Amount`]: the decimal string as sent, never a float.
//! * `created_at`/`updated_at` are RFC 3339 timestamps ([`time::OffsetDateTime`]); period and
//!   lifecycle fields (`current_period_end`, `canceled_at`, `expires_at`, ...) are unix seconds.
//! * Status-like enums keep values this version does not know in an `Other(String)` variant,
//!   and serialize them back unchanged. Unknown fields are ignored.
//! * Nested structures the handler rarely needs (`payment_settings`, `trial_settings`,
//!   `chain_detail`, ...) are [`serde_json::Value`].
//! * Optional nested objects of more than about 128 bytes (`payment_details`,
//!   `last_payment_error`, `customer_details`, `shipping`, ...) are boxed: most events leave
//!   them out, and inline they would make every object several times larger than its
//!   present fields (a [`PaymentIntent`] took 1,552 bytes, 640 with them boxed). Fields and
//!   methods read through the box as if it were not there.

#[macro_use]
mod macros;

mod checkout_session;
mod common;
mod credit;
mod customer;
mod event_body;
mod event_types;
mod invoice;
mod meter;
mod object_kind;
mod payment;
mod payment_intent;
mod refund;
mod subscription;

pub use checkout_session::{
    BillingAddressCollection, CheckoutDiscount, CheckoutMode, CheckoutPaymentStatus,
    CheckoutSession, CheckoutSessionStatus, CurrencyConversion, CustomerCreation,
    FulfillmentStatus, LineItem, NftMintDetails, NftMintItem, NftMintSettings, NftMintStatus,
    SubmitType, SubscriptionData,
};
pub use common::{
    Address, Amount, CollectionMethod, CreatedVia, CustomerDetails, Metadata, Shipping,
};
pub use credit::{
    ApplicabilityConfig, ApplicabilityScope, CreditGrant, CreditGrantCategory,
    CreditGrantChainStatus, CreditGrantStatus, CreditTransaction, TransferStatus,
};
pub use customer::Customer;
pub use event_body::{EventBody, EventData, EventRequest};
pub use event_types::{event_types, is_known_event_type, EVENT_TYPES};
pub use invoice::{
    BillingReason, CustomField, DiscountAmount, Invoice, InvoiceStatus, StatusTransitions,
};
pub use meter::{
    AggregationMethod, Meter, MeterEvent, MeterEventPayload, MeterEventStatus, MeterStatus,
};
pub use object_kind::{object_kind, ObjectKind};
pub use payment::{
    ArcBlockPayment, BitcoinPayment, EvmPayment, PaymentBeneficiary, PaymentDetails, PaymentError,
    PaymentErrorType, Staking, StripePayment,
};
pub use payment_intent::{
    AmountDetails, CancellationReason, CaptureMethod, ConfirmationMethod, PaymentIntent,
    PaymentIntentStatus, SetupFutureUsage,
};
pub use refund::{Refund, RefundFailureReason, RefundReason, RefundStatus, RefundType};
pub use subscription::{
    CancelationDetails, CancelationFeedback, CancelationReason, PauseBehavior, PauseCollection,
    PaymentBehavior, ProrationBehavior, Recurring, Subscription, SubscriptionStatus,
};

#[cfg(test)]
mod tests {
    use super::*;

    /// An event's object is allocated once per delivery (see `Event`); up to about 1 KiB the
    /// allocator serves it from its per-thread cache, above that from its slower shared bins.
    /// A large optional field added inline would push these past it: box it instead.
    #[test]
    fn the_objects_of_the_busiest_events_fit_the_allocators_thread_cache() {
        for (name, size) in [
            ("PaymentIntent", std::mem::size_of::<PaymentIntent>()),
            ("Subscription", std::mem::size_of::<Subscription>()),
            ("Refund", std::mem::size_of::<Refund>()),
            ("Customer", std::mem::size_of::<Customer>()),
            ("CreditGrant", std::mem::size_of::<CreditGrant>()),
        ] {
            assert!(size <= 1024, "{name} is {size} bytes");
        }
    }
}
