//! `Invoice`: an amount owed by a customer (`invoice.*`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::common::null_as_default;
use super::{Address, Amount, CollectionMethod, Metadata, PaymentError, Shipping};

string_enum! {
    /// Where an invoice is in its lifecycle (`Invoice.status`).
    pub enum InvoiceStatus {
        /// Being prepared; can still change.
        Draft = "draft",
        /// Finalized and awaiting payment.
        Open = "open",
        /// Canceled.
        Void = "void",
        /// Paid.
        Paid = "paid",
        /// Unlikely to be paid.
        Uncollectible = "uncollectible",
    }
}

string_enum! {
    /// Why an invoice was created (`Invoice.billing_reason`).
    pub enum BillingReason {
        /// A new subscription.
        SubscriptionCreate = "subscription_create",
        /// A subscription renewal.
        SubscriptionCycle = "subscription_cycle",
        /// A subscription change.
        SubscriptionUpdate = "subscription_update",
        /// A recovered subscription.
        SubscriptionRecover = "subscription_recover",
        /// A usage threshold was reached.
        SubscriptionThreshold = "subscription_threshold",
        /// A subscription was canceled.
        SubscriptionCancel = "subscription_cancel",
        /// A subscription (other).
        Subscription = "subscription",
        /// Created by hand.
        Manual = "manual",
        /// A preview of the next invoice.
        Upcoming = "upcoming",
        /// A stake was slashed.
        SlashStake = "slash_stake",
        /// A stake.
        Stake = "stake",
        /// Overdraft protection.
        OverdraftProtection = "overdraft_protection",
        /// Overdraft protection by stake.
        StakeOverdraftProtection = "stake_overdraft_protection",
        /// A credit recharge.
        Recharge = "recharge",
        /// An automatic credit recharge.
        AutoRecharge = "auto_recharge",
    }
}

/// An invoice: the object of `invoice.*` events
/// (npm `@blocklet/payment-types`, `lib/invoice.d.ts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Invoice {
    /// Unique id, such as `in_…`.
    pub id: String,
    /// Human-readable number, built from the customer's `invoice_prefix`.
    #[serde(default)]
    pub number: Option<String>,
    /// Whether the object exists in live mode.
    pub livemode: bool,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Text on the customer's statement.
    #[serde(default)]
    pub statement_descriptor: Option<String>,
    /// End of the billed period (unix seconds).
    pub period_end: i64,
    /// Start of the billed period (unix seconds).
    pub period_start: i64,
    /// Whether PaymentKit advances the invoice automatically.
    #[serde(default, deserialize_with = "null_as_default")]
    pub auto_advance: bool,
    /// Whether the invoice is paid.
    #[serde(default, deserialize_with = "null_as_default")]
    pub paid: bool,
    /// Whether it was paid outside PaymentKit.
    #[serde(default, deserialize_with = "null_as_default")]
    pub paid_out_of_band: bool,
    /// Lifecycle state.
    pub status: InvoiceStatus,
    /// How the invoice is paid.
    #[serde(default)]
    pub collection_method: Option<CollectionMethod>,
    /// Why the invoice was created.
    #[serde(default)]
    pub billing_reason: Option<BillingReason>,
    /// The currency.
    pub currency_id: String,
    /// The customer billed, such as `cus_…`.
    pub customer_id: String,
    /// The payment intent paying it.
    #[serde(default)]
    pub payment_intent_id: Option<String>,
    /// The subscription billed.
    #[serde(default)]
    pub subscription_id: Option<String>,
    /// The checkout session that created it.
    #[serde(default)]
    pub checkout_session_id: Option<String>,
    /// The quote it came from.
    #[serde(default)]
    pub quote_id: Option<String>,
    /// The charge paying it.
    #[serde(default)]
    pub charge_id: Option<String>,
    /// Subscription details at invoicing time.
    #[serde(default)]
    pub subscription_details: Option<serde_json::Value>,
    /// Date used to compute prorations (unix seconds).
    #[serde(default)]
    pub subscription_proration_date: Option<i64>,
    /// Total before discounts and taxes.
    pub subtotal: Amount,
    /// Subtotal without taxes.
    #[serde(default)]
    pub subtotal_excluding_tax: Option<Amount>,
    /// Tax.
    #[serde(default)]
    pub tax: Option<Amount>,
    /// Total after discounts and taxes.
    pub total: Amount,
    /// Amount due.
    pub amount_due: Amount,
    /// Amount paid.
    pub amount_paid: Amount,
    /// Amount still to pay.
    pub amount_remaining: Amount,
    /// Shipping cost.
    #[serde(default)]
    pub amount_shipping: Option<Amount>,
    /// Customer balance before the invoice.
    #[serde(default)]
    pub starting_balance: Option<Amount>,
    /// Customer balance after the invoice.
    #[serde(default)]
    pub ending_balance: Option<Amount>,
    /// Token balances before the invoice, per currency id.
    #[serde(default, deserialize_with = "null_as_default")]
    pub starting_token_balance: BTreeMap<String, Amount>,
    /// Token balances after the invoice, per currency id.
    #[serde(default, deserialize_with = "null_as_default")]
    pub ending_token_balance: BTreeMap<String, Amount>,
    /// Payment attempts made.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attempt_count: u32,
    /// Whether a payment was attempted.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attempted: bool,
    /// When the next payment attempt happens (unix seconds).
    #[serde(default)]
    pub next_payment_attempt: Option<i64>,
    /// Custom fields printed on the invoice.
    #[serde(default, deserialize_with = "null_as_default")]
    pub custom_fields: Vec<CustomField>,
    /// The customer's address at invoicing time.
    #[serde(default)]
    pub customer_address: Option<Address>,
    /// The customer's email at invoicing time.
    #[serde(default)]
    pub customer_email: Option<String>,
    /// The customer's name at invoicing time.
    #[serde(default)]
    pub customer_name: Option<String>,
    /// The customer's phone at invoicing time.
    #[serde(default)]
    pub customer_phone: Option<String>,
    /// The customer's shipping details at invoicing time.
    #[serde(default)]
    pub customer_shipping: Option<Box<Shipping>>,
    /// Discounts applied.
    #[serde(default, deserialize_with = "null_as_default")]
    pub discounts: Vec<String>,
    /// Amount of each discount.
    #[serde(default, deserialize_with = "null_as_default")]
    pub total_discount_amounts: Vec<DiscountAmount>,
    /// When payment is due (unix seconds).
    #[serde(default)]
    pub due_date: Option<i64>,
    /// Days the customer has to pay.
    #[serde(default)]
    pub days_until_due: Option<i64>,
    /// When the invoice took effect (unix seconds).
    #[serde(default)]
    pub effective_at: Option<i64>,
    /// Footer text.
    #[serde(default)]
    pub footer: Option<String>,
    /// The invoice this one revises.
    #[serde(default)]
    pub from_invoice: Option<serde_json::Value>,
    /// The merchant's country.
    #[serde(default)]
    pub account_country: Option<String>,
    /// The merchant's name.
    #[serde(default)]
    pub account_name: Option<String>,
    /// The hosted invoice page.
    #[serde(default)]
    pub hosted_invoice_url: Option<String>,
    /// The invoice PDF.
    #[serde(default)]
    pub invoice_pdf: Option<String>,
    /// Why finalization failed, if it did.
    #[serde(default)]
    pub last_finalization_error: Option<Box<PaymentError>>,
    /// The latest revision of this invoice.
    #[serde(default)]
    pub latest_revision: Option<String>,
    /// Payment-method settings.
    #[serde(default)]
    pub payment_settings: Option<serde_json::Value>,
    /// The payment method charged.
    #[serde(default)]
    pub default_payment_method_id: Option<String>,
    /// Credit notes issued after payment.
    #[serde(default)]
    pub post_payment_credit_notes_amount: Option<Amount>,
    /// Credit notes issued before payment.
    #[serde(default)]
    pub pre_payment_credit_notes_amount: Option<Amount>,
    /// Rendering options.
    #[serde(default)]
    pub rendering_options: Option<serde_json::Value>,
    /// When the invoice changed status.
    #[serde(default)]
    pub status_transitions: Option<StatusTransitions>,
    /// The test clock.
    #[serde(default)]
    pub test_clock_id: Option<String>,
    /// The threshold that triggered the invoice.
    #[serde(default)]
    pub threshold_reason: Option<serde_json::Value>,
    /// When webhooks for the invoice were delivered (unix seconds).
    #[serde(default)]
    pub webhooks_delivered_at: Option<i64>,
    /// Receipt number.
    #[serde(default)]
    pub receipt_number: Option<String>,
    /// Your key/value data.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Metadata,
    /// When the object was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the object was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A custom field printed on an invoice (`SimpleCustomField`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustomField {
    /// Label.
    pub name: String,
    /// Value.
    pub value: String,
}

/// The amount of one discount (`DiscountAmount`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DiscountAmount {
    /// Amount discounted.
    pub amount: Amount,
    /// The discount.
    #[serde(default)]
    pub discount: Option<String>,
    /// The promotion code.
    #[serde(default)]
    pub promotion_code: Option<String>,
    /// The coupon.
    #[serde(default)]
    pub coupon: Option<String>,
}

/// When an invoice changed status (`status_transitions`, unix seconds).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StatusTransitions {
    /// Finalized.
    #[serde(default)]
    pub finalized_at: Option<i64>,
    /// Marked uncollectible.
    #[serde(default)]
    pub marked_uncollectible_at: Option<i64>,
    /// Paid.
    #[serde(default)]
    pub paid_at: Option<i64>,
    /// Voided.
    #[serde(default)]
    pub voided_at: Option<i64>,
}
