//! `Refund`: money returned to a customer (`refund.*`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::common::null_as_default;
use super::{Amount, Metadata, PaymentDetails, PaymentError};

string_enum! {
    /// Where a refund is in its lifecycle (`Refund.status`).
    pub enum RefundStatus {
        /// Created, not yet sent.
        Pending = "pending",
        /// Someone must act before the refund proceeds.
        RequiresAction = "requires_action",
        /// Being sent.
        Processing = "processing",
        /// Failed; see `failure_reason`.
        Failed = "failed",
        /// Canceled.
        Canceled = "canceled",
        /// The money was returned.
        Succeeded = "succeeded",
    }
}

string_enum! {
    /// Why a refund was made (`Refund.reason`).
    pub enum RefundReason {
        /// A duplicate payment.
        Duplicate = "duplicate",
        /// The customer asked for it.
        RequestedByCustomer = "requested_by_customer",
        /// The merchant decided it.
        RequestedByAdmin = "requested_by_admin",
        /// Suspected fraud.
        Fraudulent = "fraudulent",
        /// An authorization that was never captured expired.
        ExpiredUncapturedCharge = "expired_uncaptured_charge",
    }
}

string_enum! {
    /// Why a refund failed (`Refund.failure_reason`).
    pub enum RefundFailureReason {
        /// The card was reported lost or stolen.
        LostOrStolenCard = "lost_or_stolen_card",
        /// The card expired or was canceled.
        ExpiredOrCanceledCard = "expired_or_canceled_card",
        /// The charge is disputed.
        ChargeForPendingRefundDisputed = "charge_for_pending_refund_disputed",
        /// Not enough funds to refund.
        InsufficientFunds = "insufficient_funds",
        /// Declined.
        Declined = "declined",
        /// The merchant asked for it to fail.
        MerchantRequest = "merchant_request",
        /// Unknown reason.
        Unknown = "unknown",
    }
}

string_enum! {
    /// What a refund returns (`Refund.type`).
    pub enum RefundType {
        /// A payment.
        Refund = "refund",
        /// A subscription stake.
        StakeReturn = "stake_return",
    }
}

/// A refund: the object of `refund.*` events
/// (npm `@blocklet/payment-types`, `lib/refund.d.ts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Refund {
    /// Unique id, such as `re_…`.
    pub id: String,
    /// Whether the object exists in live mode.
    pub livemode: bool,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Amount refunded, in the currency's smallest unit.
    pub amount: Amount,
    /// Where and how the refund settled.
    #[serde(default)]
    pub payment_details: Option<Box<PaymentDetails>>,
    /// The currency.
    pub currency_id: String,
    /// The customer refunded, such as `cus_…`.
    pub customer_id: String,
    /// The payment refunded, such as `pi_…`.
    pub payment_intent_id: String,
    /// The payment method refunded to.
    #[serde(default)]
    pub payment_method_id: Option<String>,
    /// The invoice refunded.
    #[serde(default)]
    pub invoice_id: Option<String>,
    /// The subscription refunded.
    #[serde(default)]
    pub subscription_id: Option<String>,
    /// Your key/value data.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Metadata,
    /// Lifecycle state.
    pub status: RefundStatus,
    /// Why the refund was made.
    #[serde(default)]
    pub reason: Option<RefundReason>,
    /// Why the refund failed.
    #[serde(default)]
    pub failure_reason: Option<RefundFailureReason>,
    /// Attempts made.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attempt_count: u32,
    /// Whether an attempt was made.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attempted: bool,
    /// When the next attempt happens (unix seconds).
    #[serde(default)]
    pub next_attempt: Option<i64>,
    /// Why the last attempt failed.
    #[serde(default)]
    pub last_attempt_error: Option<Box<PaymentError>>,
    /// Customer balance before the refund.
    #[serde(default)]
    pub starting_balance: Option<Amount>,
    /// Customer balance after the refund.
    #[serde(default)]
    pub ending_balance: Option<Amount>,
    /// Token balances before the refund, per currency id.
    #[serde(default, deserialize_with = "null_as_default")]
    pub starting_token_balance: BTreeMap<String, Amount>,
    /// Token balances after the refund, per currency id.
    #[serde(default, deserialize_with = "null_as_default")]
    pub ending_token_balance: BTreeMap<String, Amount>,
    /// When the object was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the object was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// What is refunded: a payment or a stake.
    #[serde(rename = "type", default)]
    pub refund_type: Option<RefundType>,
}
