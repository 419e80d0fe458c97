//! How a payment settled or failed: `PaymentDetails`, `PaymentError`, beneficiaries.

use serde::{Deserialize, Serialize};

string_enum! {
    /// The kind of a payment error (`PaymentError.type`).
    pub enum PaymentErrorType {
        /// A PaymentKit or chain API failure.
        ApiError = "api_error",
        /// The payment method was declined or could not be used.
        CardError = "card_error",
        /// An idempotency key was reused with different parameters.
        IdempotencyError = "idempotency_error",
        /// The request was invalid.
        InvalidRequestError = "invalid_request_error",
    }
}

/// Why a payment failed (`PaymentError`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentError {
    /// The kind of error.
    #[serde(rename = "type", default)]
    pub error_type: Option<PaymentErrorType>,
    /// The charge the error belongs to.
    #[serde(default)]
    pub charge: Option<String>,
    /// A short machine-readable code.
    #[serde(default)]
    pub code: Option<String>,
    /// The issuer's decline code, for declined payments.
    #[serde(default)]
    pub decline_code: Option<String>,
    /// A page documenting the error.
    #[serde(default)]
    pub doc_url: Option<String>,
    /// A human-readable message.
    #[serde(default)]
    pub message: Option<String>,
    /// The parameter the error relates to.
    #[serde(default)]
    pub param: Option<String>,
    /// Payment settings in effect when the error happened.
    #[serde(default)]
    pub payment_settings: Option<serde_json::Value>,
    /// The payment method that failed.
    #[serde(default)]
    pub payment_method_id: Option<String>,
    /// The type of the payment method that failed, such as `arcblock` or `stripe`.
    #[serde(default)]
    pub payment_method_type: Option<String>,
}

/// Where and how a payment settled, per payment-method type (`PaymentDetails`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentDetails {
    /// Settlement on the ArcBlock chain.
    #[serde(default)]
    pub arcblock: Option<ArcBlockPayment>,
    /// Settlement through Stripe.
    #[serde(default)]
    pub stripe: Option<StripePayment>,
    /// Settlement on Ethereum.
    #[serde(default)]
    pub ethereum: Option<EvmPayment>,
    /// Settlement on Base.
    #[serde(default)]
    pub base: Option<EvmPayment>,
    /// Settlement on Bitcoin.
    #[serde(default)]
    pub bitcoin: Option<BitcoinPayment>,
}

/// An ArcBlock chain payment.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ArcBlockPayment {
    /// Transaction hash.
    #[serde(default)]
    pub tx_hash: Option<String>,
    /// Payer address.
    #[serde(default)]
    pub payer: Option<String>,
    /// `slash`, `transfer`, `delegate`, `stake_return` or `credit`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Receiver address.
    #[serde(default)]
    pub receiver: Option<String>,
    /// Delegation address, for delegated payments.
    #[serde(default)]
    pub delegation_address: Option<String>,
    /// The stake backing a subscription, when there is one.
    #[serde(default)]
    pub staking: Option<Staking>,
}

/// A stake on the ArcBlock chain.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Staking {
    /// Staking transaction hash.
    #[serde(default)]
    pub tx_hash: Option<String>,
    /// Stake address.
    #[serde(default)]
    pub address: Option<String>,
}

/// A payment through Stripe: the Stripe object ids involved.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StripePayment {
    /// Stripe PaymentIntent id.
    #[serde(default)]
    pub payment_intent_id: Option<String>,
    /// Stripe SetupIntent id.
    #[serde(default)]
    pub setup_intent_id: Option<String>,
    /// Stripe Subscription id.
    #[serde(default)]
    pub subscription_id: Option<String>,
    /// Stripe Customer id.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// Stripe Refund id.
    #[serde(default)]
    pub refund_id: Option<String>,
    /// Stripe PaymentMethod id.
    #[serde(default)]
    pub payment_method_id: Option<String>,
}

/// A payment on an EVM chain (Ethereum, Base).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EvmPayment {
    /// Transaction hash.
    #[serde(default)]
    pub tx_hash: Option<String>,
    /// Payer address.
    #[serde(default)]
    pub payer: Option<String>,
    /// Block height, as a decimal string.
    #[serde(default)]
    pub block_height: Option<String>,
    /// Gas used, as a decimal string.
    #[serde(default)]
    pub gas_used: Option<String>,
    /// Gas price, as a decimal string.
    #[serde(default)]
    pub gas_price: Option<String>,
    /// `transfer` or `approve`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// A payment on Bitcoin.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BitcoinPayment {
    /// Transaction hash.
    #[serde(default)]
    pub tx_hash: Option<String>,
    /// Payer address.
    #[serde(default)]
    pub payer: Option<String>,
    /// Block height.
    #[serde(default)]
    pub block_height: Option<u64>,
    /// Confirmations seen.
    #[serde(default)]
    pub confirmations: Option<u64>,
}

/// A recipient of a share of a payment (`PaymentBeneficiary`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentBeneficiary {
    /// The beneficiary's address (DID).
    pub address: String,
    /// The beneficiary's share, as a decimal string.
    pub share: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Avatar URL.
    #[serde(default)]
    pub avatar: Option<String>,
    /// Memo attached to the transfer.
    #[serde(default)]
    pub memo: Option<String>,
}
