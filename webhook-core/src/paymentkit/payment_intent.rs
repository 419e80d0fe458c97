//! `PaymentIntent`: one attempt to collect an amount from a customer (`payment_intent.*`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::common::{null_as_default, unix_or_rfc3339};
use super::{Amount, Metadata, PaymentBeneficiary, PaymentDetails, PaymentError};

string_enum! {
    /// Where a payment intent is in its lifecycle (`PaymentIntent.status`).
    pub enum PaymentIntentStatus {
        /// Waiting for a payment method.
        RequiresPaymentMethod = "requires_payment_method",
        /// Waiting for confirmation.
        RequiresConfirmation = "requires_confirmation",
        /// The customer must act (sign, approve) before the payment proceeds.
        RequiresAction = "requires_action",
        /// The payment is being processed (for example waiting for chain confirmation).
        Processing = "processing",
        /// Authorized; waiting for a manual capture.
        RequiresCapture = "requires_capture",
        /// Canceled; no funds will be collected.
        Canceled = "canceled",
        /// The funds were collected.
        Succeeded = "succeeded",
    }
}

string_enum! {
    /// Why a payment intent was canceled (`PaymentIntent.cancellation_reason`).
    pub enum CancellationReason {
        /// The customer abandoned the payment.
        Abandoned = "abandoned",
        /// A duplicate of another payment.
        Duplicate = "duplicate",
        /// The customer asked for the cancellation.
        RequestedByCustomer = "requested_by_customer",
        /// Suspected fraud.
        Fraudulent = "fraudulent",
        /// The invoice it paid failed.
        FailedInvoice = "failed_invoice",
        /// The invoice it paid was voided.
        VoidInvoice = "void_invoice",
        /// Canceled automatically by PaymentKit.
        Automatic = "automatic",
    }
}

string_enum! {
    /// When funds are captured (`PaymentIntent.capture_method`).
    pub enum CaptureMethod {
        /// Captured as soon as the payment is authorized.
        Automatic = "automatic",
        /// Captured by a separate call.
        Manual = "manual",
    }
}

string_enum! {
    /// How a payment intent is confirmed (`PaymentIntent.confirmation_method`).
    pub enum ConfirmationMethod {
        /// Confirmed when created with a payment method.
        Automatic = "automatic",
        /// Confirmed by a separate call.
        Manual = "manual",
    }
}

string_enum! {
    /// Whether the payment method is kept for later payments (`setup_future_usage`).
    pub enum SetupFutureUsage {
        /// Reused without the customer present.
        OffSession = "off_session",
        /// Reused with the customer present.
        OnSession = "on_session",
    }
}

/// A payment intent: the object of `payment_intent.*` events
/// (npm `@blocklet/payment-types`, `lib/payment-intent.d.ts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentIntent {
    /// Unique id, such as `pi_…`.
    pub id: String,
    /// Whether the object exists in live mode.
    pub livemode: bool,
    /// Description shown to the customer.
    #[serde(default)]
    pub description: Option<String>,
    /// Amount to collect, in the currency's smallest unit.
    pub amount: Amount,
    /// Amount collected so far.
    #[serde(default)]
    pub amount_received: Option<Amount>,
    /// Amount that can still be captured.
    #[serde(default)]
    pub amount_capturable: Option<Amount>,
    /// Breakdown of the amount (tip).
    #[serde(default)]
    pub amount_details: Option<AmountDetails>,
    /// The payment currency.
    pub currency_id: String,
    /// The paying customer, such as `cus_…`.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// The payment method used.
    #[serde(default)]
    pub payment_method_id: Option<String>,
    /// The invoice this intent pays, such as `in_…`.
    #[serde(default)]
    pub invoice_id: Option<String>,
    /// The latest charge.
    #[serde(default)]
    pub last_charge: Option<String>,
    /// Why the last payment attempt failed, if it did.
    #[serde(default)]
    pub last_payment_error: Option<Box<PaymentError>>,
    /// Your key/value data.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Metadata,
    /// Where the receipt is sent.
    #[serde(default)]
    pub receipt_email: Option<String>,
    /// Text on the customer's statement.
    #[serde(default)]
    pub statement_descriptor: Option<String>,
    /// Suffix appended to the statement descriptor.
    #[serde(default)]
    pub statement_descriptor_suffix: Option<String>,
    /// Lifecycle state.
    pub status: PaymentIntentStatus,
    /// When the intent was canceled (unix seconds).
    #[serde(default, with = "unix_or_rfc3339")]
    pub canceled_at: Option<i64>,
    /// Why the intent was canceled.
    #[serde(default)]
    pub cancellation_reason: Option<CancellationReason>,
    /// When funds are captured.
    #[serde(default)]
    pub capture_method: Option<CaptureMethod>,
    /// How the intent is confirmed.
    #[serde(default)]
    pub confirmation_method: Option<ConfirmationMethod>,
    /// Payment-method types allowed, such as `arcblock` or `stripe`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub payment_method_types: Vec<String>,
    /// The review, if the payment was flagged.
    #[serde(default)]
    pub review: Option<String>,
    /// Where and how the payment settled (transaction hashes, payer).
    #[serde(default)]
    pub payment_details: Option<Box<PaymentDetails>>,
    /// Whether the payment method is kept for later payments.
    #[serde(default)]
    pub setup_future_usage: Option<SetupFutureUsage>,
    /// When a dynamic-price quote was locked for this payment.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub quote_locked_at: Option<OffsetDateTime>,
    /// Who receives shares of the payment.
    #[serde(default, deserialize_with = "null_as_default")]
    pub beneficiaries: Vec<PaymentBeneficiary>,
    /// When the object was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the object was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Breakdown of a payment intent's amount (`amount_details`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AmountDetails {
    /// Tip included in the amount.
    #[serde(default)]
    pub tip: Option<Amount>,
}
