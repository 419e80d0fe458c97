//! `CheckoutSession`: a hosted checkout (`checkout.session.*`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::common::null_as_default;
use super::{Amount, CreatedVia, CustomerDetails, Metadata, PaymentDetails};

string_enum! {
    /// What a checkout session sells (`CheckoutSession.mode`).
    pub enum CheckoutMode {
        /// A one-time payment.
        Payment = "payment",
        /// Saves a payment method for later.
        Setup = "setup",
        /// Starts a subscription.
        Subscription = "subscription",
    }
}

string_enum! {
    /// Whether a checkout session is still usable (`CheckoutSession.status`).
    pub enum CheckoutSessionStatus {
        /// The customer completed the checkout.
        Complete = "complete",
        /// Waiting for the customer.
        Open = "open",
        /// Expired before completion.
        Expired = "expired",
    }
}

string_enum! {
    /// Whether a checkout session has been paid (`CheckoutSession.payment_status`).
    pub enum CheckoutPaymentStatus {
        /// Paid: fulfil the order.
        Paid = "paid",
        /// Not paid yet.
        Unpaid = "unpaid",
        /// Nothing to pay (free or trial).
        NoPaymentRequired = "no_payment_required",
    }
}

string_enum! {
    /// Progress of the NFT minted for a checkout (`CheckoutSession.nft_mint_status`).
    pub enum NftMintStatus {
        /// No NFT is minted for this checkout.
        Disabled = "disabled",
        /// Minting has not finished.
        Pending = "pending",
        /// Minted.
        Minted = "minted",
        /// Minted and sent to the customer.
        Sent = "sent",
        /// Minting failed.
        Error = "error",
    }
}

string_enum! {
    /// Wording of the checkout's submit button (`CheckoutSession.submit_type`).
    pub enum SubmitType {
        /// Chosen by PaymentKit.
        Auto = "auto",
        /// "Book".
        Book = "book",
        /// "Donate".
        Donate = "donate",
        /// "Pay".
        Pay = "pay",
    }
}

string_enum! {
    /// When a checkout creates a customer (`CheckoutSession.customer_creation`).
    pub enum CustomerCreation {
        /// Only when needed (subscriptions, invoices).
        IfRequired = "if_required",
        /// Always.
        Always = "always",
    }
}

string_enum! {
    /// Whether a billing address is collected (`billing_address_collection`).
    pub enum BillingAddressCollection {
        /// Only when needed.
        Auto = "auto",
        /// Always.
        Required = "required",
    }
}

string_enum! {
    /// Progress of vendor fulfilment (`CheckoutSession.fulfillment_status`).
    pub enum FulfillmentStatus {
        /// Not started.
        Pending = "pending",
        /// In progress.
        Processing = "processing",
        /// Fulfilled.
        Completed = "completed",
        /// Failed.
        Failed = "failed",
        /// Canceled (the sender spells it `cancelled`).
        Cancelled = "cancelled",
        /// Gave up after the maximum number of attempts.
        MaxRetriesExceeded = "max_retries_exceeded",
        /// A return was requested.
        ReturnRequested = "return_requested",
        /// Sent to the customer.
        Sent = "sent",
        /// Being returned.
        Returning = "returning",
        /// Returned.
        Returned = "returned",
    }
}

/// A checkout session: the object of `checkout.session.*` events
/// (npm `@blocklet/payment-types`, `lib/checkout-session.d.ts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CheckoutSession {
    /// Unique id, such as `cs_…`.
    pub id: String,
    /// Whether the object exists in live mode.
    pub livemode: bool,
    /// Your reference for the session (an order id, a user id).
    #[serde(default)]
    pub client_reference_id: Option<String>,
    /// The payment currency.
    pub currency_id: String,
    /// The invoice created for the session.
    #[serde(default)]
    pub invoice_id: Option<String>,
    /// The customer, such as `cus_…`.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// The customer's DID.
    #[serde(default)]
    pub customer_did: Option<String>,
    /// The payment link the session came from.
    #[serde(default)]
    pub payment_link_id: Option<String>,
    /// The subscription created (mode `subscription`).
    #[serde(default)]
    pub subscription_id: Option<String>,
    /// Whether items are split into several subscriptions.
    #[serde(default)]
    pub enable_subscription_grouping: Option<bool>,
    /// Subscriptions created per group, when grouping is enabled.
    #[serde(default, deserialize_with = "null_as_default")]
    pub subscription_groups: BTreeMap<String, String>,
    /// How many subscriptions were created successfully.
    #[serde(default)]
    pub success_subscription_count: Option<u32>,
    /// The session this one recovers, for recovered expired sessions.
    #[serde(default)]
    pub recovered_from: Option<String>,
    /// The payment intent created (mode `payment`).
    #[serde(default)]
    pub payment_intent_id: Option<String>,
    /// The setup intent created (mode `setup`).
    #[serde(default)]
    pub setup_intent_id: Option<String>,
    /// What the session sells.
    pub mode: CheckoutMode,
    /// Whether the session is still usable.
    pub status: CheckoutSessionStatus,
    /// Whether the session has been paid.
    pub payment_status: CheckoutPaymentStatus,
    /// The items bought.
    #[serde(default, deserialize_with = "null_as_default")]
    pub line_items: Vec<LineItem>,
    /// Total before discounts and taxes.
    pub amount_subtotal: Amount,
    /// Total after discounts and taxes.
    pub amount_total: Amount,
    /// Accepted exchange-rate slippage, in percent.
    #[serde(default)]
    pub slippage_percent: Option<f64>,
    /// Discount, shipping and tax totals.
    #[serde(default)]
    pub total_details: Option<serde_json::Value>,
    /// The hosted checkout page.
    #[serde(default)]
    pub url: Option<String>,
    /// Where the customer goes on cancel.
    #[serde(default)]
    pub cancel_url: Option<String>,
    /// Where the customer goes on success.
    #[serde(default)]
    pub success_url: Option<String>,
    /// Conversion from the source currency, when one applied.
    #[serde(default)]
    pub currency_conversion: Option<CurrencyConversion>,
    /// Contact details the customer entered.
    #[serde(default)]
    pub customer_details: Option<Box<CustomerDetails>>,
    /// When the session creates a customer.
    #[serde(default)]
    pub customer_creation: Option<CustomerCreation>,
    /// Which customer fields the session may update.
    #[serde(default)]
    pub customer_update: Option<serde_json::Value>,
    /// What happens after expiry (recovery).
    #[serde(default)]
    pub after_expiration: Option<serde_json::Value>,
    /// Whether promotion codes are accepted.
    #[serde(default)]
    pub allow_promotion_codes: Option<bool>,
    /// Which consents are collected.
    #[serde(default)]
    pub consent_collection: Option<serde_json::Value>,
    /// The consents given.
    #[serde(default)]
    pub consent: Option<serde_json::Value>,
    /// Custom form fields.
    #[serde(default, deserialize_with = "null_as_default")]
    pub custom_fields: Vec<serde_json::Value>,
    /// Custom texts shown on the page.
    #[serde(default)]
    pub custom_text: Option<serde_json::Value>,
    /// When the session expires (unix seconds).
    pub expires_at: i64,
    /// Whether and how an invoice is created.
    #[serde(default)]
    pub invoice_creation: Option<serde_json::Value>,
    /// Payment-method types offered.
    #[serde(default, deserialize_with = "null_as_default")]
    pub payment_method_types: Vec<String>,
    /// Whether a phone number is collected.
    #[serde(default)]
    pub phone_number_collection: Option<serde_json::Value>,
    /// Wording of the submit button.
    #[serde(default)]
    pub submit_type: Option<SubmitType>,
    /// Your key/value data.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Metadata,
    /// Whether a billing address is collected.
    #[serde(default)]
    pub billing_address_collection: Option<BillingAddressCollection>,
    /// Settings of the subscription created (mode `subscription`).
    #[serde(default)]
    pub subscription_data: Option<Box<SubscriptionData>>,
    /// Where and how the payment settled.
    #[serde(default)]
    pub payment_details: Option<Box<PaymentDetails>>,
    /// Settings passed to the payment intent.
    #[serde(default)]
    pub payment_intent_data: Option<serde_json::Value>,
    /// Progress of the NFT minted for this checkout.
    #[serde(default)]
    pub nft_mint_status: Option<NftMintStatus>,
    /// How the NFT is minted.
    #[serde(default)]
    pub nft_mint_settings: Option<NftMintSettings>,
    /// The minted NFT.
    #[serde(default)]
    pub nft_mint_details: Option<Box<NftMintDetails>>,
    /// `auto` or `required` cross-selling.
    #[serde(default)]
    pub cross_sell_behavior: Option<String>,
    /// Coupons and promotion codes applied.
    #[serde(default, deserialize_with = "null_as_default")]
    pub discounts: Vec<CheckoutDiscount>,
    /// Progress of vendor fulfilment.
    #[serde(default)]
    pub fulfillment_status: Option<FulfillmentStatus>,
    /// Per-vendor fulfilment records.
    #[serde(default, deserialize_with = "null_as_default")]
    pub vendor_info: Vec<serde_json::Value>,
    /// When the object was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// How the session was created.
    #[serde(default)]
    pub created_via: Option<CreatedVia>,
    /// When the object was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// One item of a checkout session (`LineItem`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LineItem {
    /// The price bought.
    pub price_id: String,
    /// How many.
    pub quantity: u64,
    /// Whether and how far the customer may change the quantity.
    #[serde(default)]
    pub adjustable_quantity: Option<serde_json::Value>,
    /// The price this item was upsold to.
    #[serde(default)]
    pub upsell_price_id: Option<String>,
    /// Whether the item was added by cross-selling.
    #[serde(default)]
    pub cross_sell: Option<bool>,
    /// The amount the customer chose, for pay-what-you-want prices.
    #[serde(default)]
    pub custom_amount: Option<Amount>,
    /// Subscription settings for this item.
    #[serde(default)]
    pub subscription_data: Option<serde_json::Value>,
}

/// Settings of the subscription a checkout creates (`SubscriptionData`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SubscriptionData {
    /// Description of the subscription.
    #[serde(default)]
    pub description: Option<String>,
    /// Trial length in days.
    #[serde(default)]
    pub trial_period_days: Option<u32>,
    /// End of the trial (unix seconds), overriding `trial_period_days`.
    #[serde(default)]
    pub trial_end: Option<i64>,
    /// The currency the trial is in.
    #[serde(default)]
    pub trial_currency: Option<String>,
    /// Billing-cycle anchor (unix seconds).
    #[serde(default)]
    pub billing_cycle_anchor: Option<i64>,
    /// Days the customer has to pay an invoice.
    #[serde(default)]
    pub days_until_due: Option<i64>,
    /// Days after which an unpaid subscription is canceled.
    #[serde(default)]
    pub days_until_cancel: Option<i64>,
    /// Whether the subscription is created without a stake.
    #[serde(default)]
    pub no_stake: Option<bool>,
    /// The subscription this one recovers.
    #[serde(default)]
    pub recovered_from: Option<String>,
    /// `create_prorations` or `none`.
    #[serde(default)]
    pub proration_behavior: Option<String>,
    /// Actions shown to the subscriber.
    #[serde(default, deserialize_with = "null_as_default")]
    pub service_actions: Vec<serde_json::Value>,
    /// Key/value data copied to the subscription.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Metadata,
}

/// Conversion of a checkout's amounts from another currency (`CurrencyConversion`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CurrencyConversion {
    /// Converted subtotal.
    pub amount_subtotal: Amount,
    /// Converted total.
    pub amount_total: Amount,
    /// The exchange rate used, as a decimal string.
    pub fx_rate: String,
    /// The currency converted from.
    pub source_currency: String,
}

/// How the NFT of a checkout is minted (`NftMintSettings`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NftMintSettings {
    /// Whether an NFT is minted.
    pub enabled: bool,
    /// `per_customer` or `per_checkout_session`.
    #[serde(default)]
    pub behavior: Option<String>,
    /// The NFT factory address.
    #[serde(default)]
    pub factory: Option<String>,
    /// Inputs passed to the factory.
    #[serde(default, deserialize_with = "null_as_default")]
    pub inputs: BTreeMap<String, String>,
}

/// The NFT minted for a checkout (`NftMintDetails`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NftMintDetails {
    /// The chain type: `arcblock`, `ethereum` or `base`.
    #[serde(rename = "type")]
    pub chain: String,
    /// The NFT on ArcBlock.
    #[serde(default)]
    pub arcblock: Option<NftMintItem>,
    /// The NFT on Ethereum.
    #[serde(default)]
    pub ethereum: Option<NftMintItem>,
    /// The NFT on Base.
    #[serde(default)]
    pub base: Option<NftMintItem>,
}

/// One minted NFT (`NftMintItem`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NftMintItem {
    /// Mint transaction hash.
    #[serde(default)]
    pub tx_hash: Option<String>,
    /// NFT address.
    pub address: String,
    /// Owner address.
    pub owner: String,
    /// Error, when minting failed.
    #[serde(default)]
    pub error: Option<String>,
}

/// A coupon or promotion code applied to a checkout.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CheckoutDiscount {
    /// The coupon.
    #[serde(default)]
    pub coupon: Option<String>,
    /// The promotion code.
    #[serde(default)]
    pub promotion_code: Option<String>,
    /// The amount discounted.
    #[serde(default)]
    pub discount_amount: Option<Amount>,
    /// How the code was verified.
    #[serde(default)]
    pub verification_method: Option<String>,
    /// Data used to verify the code.
    #[serde(default)]
    pub verification_data: Option<serde_json::Value>,
}
