//! `Subscription`: recurring billing of a customer (`customer.subscription.*`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::common::null_as_default;
use super::{CollectionMethod, Metadata, PaymentDetails};

string_enum! {
    /// Where a subscription is in its lifecycle (`Subscription.status`).
    pub enum SubscriptionStatus {
        /// In good standing.
        Active = "active",
        /// The latest invoice is unpaid past its due date.
        PastDue = "past_due",
        /// Collection is paused.
        Paused = "paused",
        /// Ended.
        Canceled = "canceled",
        /// The first payment has not succeeded yet.
        Incomplete = "incomplete",
        /// The first payment never succeeded; terminal.
        IncompleteExpired = "incomplete_expired",
        /// In a free trial.
        Trialing = "trialing",
    }
}

string_enum! {
    /// Why a subscription was canceled (`cancelation_details.reason`).
    pub enum CancelationReason {
        /// The customer or the merchant asked for it.
        CancellationRequested = "cancellation_requested",
        /// A payment was disputed.
        PaymentDisputed = "payment_disputed",
        /// A payment failed.
        PaymentFailed = "payment_failed",
        /// The customer's stake was revoked.
        StakeRevoked = "stake_revoked",
    }
}

string_enum! {
    /// The customer's feedback on cancellation (`cancelation_details.feedback`).
    pub enum CancelationFeedback {
        /// Too expensive.
        TooExpensive = "too_expensive",
        /// Missing features.
        MissingFeatures = "missing_features",
        /// Switched to another service.
        SwitchedService = "switched_service",
        /// No longer used.
        Unused = "unused",
        /// Unhappy with customer service.
        CustomerService = "customer_service",
        /// Too complex.
        TooComplex = "too_complex",
        /// Quality too low.
        LowQuality = "low_quality",
        /// Another reason (`"other"`; distinct from the catch-all `Other(String)`).
        OtherFeedback = "other",
    }
}

string_enum! {
    /// What happens to invoices while collection is paused (`pause_collection.behavior`).
    pub enum PauseBehavior {
        /// Invoices stay drafts.
        KeepAsDraft = "keep_as_draft",
        /// Invoices are marked uncollectible.
        MarkUncollectible = "mark_uncollectible",
        /// Invoices are voided.
        Void = "void",
    }
}

string_enum! {
    /// How plan changes are prorated (`proration_behavior`).
    pub enum ProrationBehavior {
        /// Prorate and invoice at once.
        AlwaysInvoice = "always_invoice",
        /// Prorate on the next invoice.
        CreateProrations = "create_prorations",
        /// No proration.
        None = "none",
    }
}

string_enum! {
    /// What happens when a payment of a change fails (`payment_behavior`).
    pub enum PaymentBehavior {
        /// The change applies; the subscription becomes incomplete.
        AllowIncomplete = "allow_incomplete",
        /// The change is rejected.
        ErrorIfIncomplete = "error_if_incomplete",
        /// The change is kept pending until paid.
        PendingIfIncomplete = "pending_if_incomplete",
    }
}

/// A subscription: the object of `customer.subscription.*` events
/// (npm `@blocklet/payment-types`, `lib/subscription.d.ts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Subscription {
    /// Unique id, such as `sub_…`.
    pub id: String,
    /// Whether the object exists in live mode.
    pub livemode: bool,
    /// The billing currency.
    pub currency_id: String,
    /// The subscriber, such as `cus_…`.
    pub customer_id: String,
    /// End of the current period (unix seconds).
    pub current_period_end: i64,
    /// Start of the current period (unix seconds).
    pub current_period_start: i64,
    /// The payment method charged.
    #[serde(default)]
    pub default_payment_method_id: Option<String>,
    /// Description shown to the customer.
    #[serde(default)]
    pub description: Option<String>,
    /// The most recent invoice, such as `in_…`.
    #[serde(default)]
    pub latest_invoice_id: Option<String>,
    /// Your key/value data.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Metadata,
    /// A setup intent awaiting the customer.
    #[serde(default)]
    pub pending_setup_intent: Option<String>,
    /// Changes applied once their invoice is paid.
    #[serde(default)]
    pub pending_update: Option<serde_json::Value>,
    /// Lifecycle state.
    pub status: SubscriptionStatus,
    /// Whether the subscription ends at the end of the current period.
    #[serde(default, deserialize_with = "null_as_default")]
    pub cancel_at_period_end: bool,
    /// When the subscription is scheduled to end (unix seconds).
    #[serde(default)]
    pub cancel_at: Option<i64>,
    /// When the subscription was canceled (unix seconds).
    #[serde(default)]
    pub canceled_at: Option<i64>,
    /// Why and how it was canceled.
    #[serde(default)]
    pub cancelation_details: Option<Box<CancelationDetails>>,
    /// The anchor of the billing cycle (unix seconds).
    #[serde(default)]
    pub billing_cycle_anchor: Option<i64>,
    /// Thresholds that trigger an invoice early.
    #[serde(default)]
    pub billing_thresholds: Option<serde_json::Value>,
    /// How invoices are paid.
    #[serde(default)]
    pub collection_method: Option<CollectionMethod>,
    /// Days the customer has to pay an invoice.
    #[serde(default)]
    pub days_until_due: Option<i64>,
    /// Days after which an unpaid subscription is canceled.
    #[serde(default)]
    pub days_until_cancel: Option<i64>,
    /// The discount applied.
    #[serde(default)]
    pub discount_id: Option<String>,
    /// When pending invoice items are next invoiced (unix seconds).
    #[serde(default)]
    pub next_pending_invoice_item_invoice: Option<i64>,
    /// Set while collection is paused.
    #[serde(default)]
    pub pause_collection: Option<PauseCollection>,
    /// Payment-method settings.
    #[serde(default)]
    pub payment_settings: Option<serde_json::Value>,
    /// How often pending invoice items are invoiced.
    #[serde(default)]
    pub pending_invoice_item_interval: Option<Recurring>,
    /// The subscription schedule managing this subscription.
    #[serde(default)]
    pub schedule_id: Option<String>,
    /// When the subscription ended (unix seconds).
    #[serde(default)]
    pub ended_at: Option<i64>,
    /// When the subscription started (unix seconds).
    #[serde(default)]
    pub start_date: Option<i64>,
    /// End of the trial (unix seconds).
    #[serde(default)]
    pub trial_end: Option<i64>,
    /// Start of the trial (unix seconds).
    #[serde(default)]
    pub trial_start: Option<i64>,
    /// What happens when the trial ends without a payment method.
    #[serde(default)]
    pub trial_settings: Option<serde_json::Value>,
    /// Where and how the latest payment settled (stake, transactions).
    #[serde(default)]
    pub payment_details: Option<Box<PaymentDetails>>,
    /// Exchange-rate slippage accepted for renewals.
    #[serde(default)]
    pub slippage_config: Option<serde_json::Value>,
    /// How plan changes are prorated.
    #[serde(default)]
    pub proration_behavior: Option<ProrationBehavior>,
    /// What happens when a payment of a change fails.
    #[serde(default)]
    pub payment_behavior: Option<PaymentBehavior>,
    /// Actions shown to the subscriber.
    #[serde(default, deserialize_with = "null_as_default")]
    pub service_actions: Vec<serde_json::Value>,
    /// The subscription this one recovers.
    #[serde(default)]
    pub recovered_from: Option<String>,
    /// When the object was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the object was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Overdraft protection settings.
    #[serde(default)]
    pub overdraft_protection: Option<serde_json::Value>,
    /// Scheduled credit grants, per price.
    #[serde(default)]
    pub credit_schedule_state: Option<serde_json::Value>,
}

/// Why and how a subscription was canceled (`cancelation_details`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CancelationDetails {
    /// Free-text comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// The customer's feedback.
    #[serde(default)]
    pub feedback: Option<CancelationFeedback>,
    /// Why it was canceled.
    #[serde(default)]
    pub reason: Option<CancelationReason>,
    /// Whether the stake is returned.
    #[serde(default)]
    pub return_stake: Option<bool>,
    /// Whether the stake is slashed.
    #[serde(default)]
    pub slash_stake: Option<bool>,
    /// Why the stake is slashed.
    #[serde(default)]
    pub slash_reason: Option<String>,
    /// What is refunded: `last`, `proration` or `none`.
    #[serde(default)]
    pub refund: Option<String>,
    /// Who asked for the cancellation.
    #[serde(default)]
    pub requested_by: Option<String>,
}

/// Set while a subscription's collection is paused (`pause_collection`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PauseCollection {
    /// What happens to invoices meanwhile.
    #[serde(default)]
    pub behavior: Option<PauseBehavior>,
    /// When collection resumes (unix seconds).
    #[serde(default)]
    pub resumes_at: Option<i64>,
}

/// A billing interval (`PriceRecurring`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Recurring {
    /// `hour`, `day`, `week`, `month` or `year`.
    #[serde(default)]
    pub interval: Option<String>,
    /// How many intervals between billings.
    #[serde(default)]
    pub interval_count: Option<u32>,
    /// How metered usage is aggregated.
    #[serde(default)]
    pub aggregate_usage: Option<String>,
    /// `licensed` or `metered`.
    #[serde(default)]
    pub usage_type: Option<String>,
    /// The meter, for metered prices.
    #[serde(default)]
    pub meter_id: Option<String>,
}
