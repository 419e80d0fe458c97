//! Credit-based billing: `CreditGrant` (`customer.credit_grant.*`) and `CreditTransaction`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::common::null_as_default;
use super::{Amount, CreatedVia, Metadata};

string_enum! {
    /// How a credit grant was obtained (`CreditGrant.category`).
    pub enum CreditGrantCategory {
        /// Bought by the customer.
        Paid = "paid",
        /// Given for free.
        Promotional = "promotional",
    }
}

string_enum! {
    /// Where a credit grant is in its lifecycle (`CreditGrant.status`).
    pub enum CreditGrantStatus {
        /// Not effective yet.
        Pending = "pending",
        /// Usable.
        Granted = "granted",
        /// Fully consumed.
        Depleted = "depleted",
        /// Past its expiry.
        Expired = "expired",
        /// Voided.
        Voided = "voided",
    }
}

string_enum! {
    /// State of the on-chain token backing a credit grant (`CreditGrant.chain_status`).
    pub enum CreditGrantChainStatus {
        /// Minting.
        MintPending = "mint_pending",
        /// Minted.
        MintCompleted = "mint_completed",
        /// Minting failed.
        MintFailed = "mint_failed",
        /// Burning.
        BurnPending = "burn_pending",
        /// Burned.
        BurnCompleted = "burn_completed",
        /// Burning failed.
        BurnFailed = "burn_failed",
        /// Expired credit transferred.
        TransferCompleted = "transfer_completed",
        /// Transferring expired credit failed.
        TransferFailed = "transfer_failed",
    }
}

string_enum! {
    /// State of the on-chain transfer of a credit transaction (`transfer_status`).
    pub enum TransferStatus {
        /// Not sent yet.
        Pending = "pending",
        /// Sent.
        Completed = "completed",
        /// Failed.
        Failed = "failed",
    }
}

/// A credit grant: credit a customer can spend on metered prices; the object of
/// `customer.credit_grant.*` events (npm `@blocklet/payment-types`, `lib/credit-grant.d.ts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreditGrant {
    /// Unique id.
    pub id: String,
    /// Object name, `credit_grant`.
    #[serde(default)]
    pub object: Option<String>,
    /// Amount granted, in the credit currency's smallest unit.
    pub amount: Amount,
    /// The credit currency.
    pub currency_id: String,
    /// Which prices the credit applies to.
    #[serde(default)]
    pub applicability_config: Option<ApplicabilityConfig>,
    /// How the grant was obtained.
    pub category: CreditGrantCategory,
    /// The customer, such as `cus_…`.
    pub customer_id: String,
    /// When the grant becomes usable (unix seconds).
    #[serde(default)]
    pub effective_at: Option<i64>,
    /// When the grant expires (unix seconds).
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// Whether the object exists in live mode.
    pub livemode: bool,
    /// Your key/value data.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Metadata,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Consumption order: lower values are used first.
    #[serde(default)]
    pub priority: Option<i64>,
    /// The test clock.
    #[serde(default)]
    pub test_clock: Option<String>,
    /// When the grant was voided (unix seconds).
    #[serde(default)]
    pub voided_at: Option<i64>,
    /// Lifecycle state.
    pub status: CreditGrantStatus,
    /// Credit left.
    pub remaining_amount: Amount,
    /// State of the on-chain token backing the grant.
    #[serde(default)]
    pub chain_status: Option<CreditGrantChainStatus>,
    /// On-chain mint, burn and transfer records.
    #[serde(default)]
    pub chain_detail: Option<serde_json::Value>,
    /// Who created the grant.
    #[serde(default)]
    pub created_by: Option<String>,
    /// Who last updated the grant.
    #[serde(default)]
    pub updated_by: Option<String>,
    /// How the grant was created.
    #[serde(default)]
    pub created_via: Option<CreatedVia>,
    /// When the object was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the object was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Which prices a credit grant applies to (`CreditGrantApplicabilityConfig`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApplicabilityConfig {
    /// The scope.
    #[serde(default)]
    pub scope: Option<ApplicabilityScope>,
}

/// The prices a credit grant applies to.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApplicabilityScope {
    /// These prices only.
    #[serde(default, deserialize_with = "null_as_default")]
    pub prices: Vec<String>,
    /// Every price of this type (`metered`).
    #[serde(default)]
    pub price_type: Option<String>,
}

/// One consumption of credit by metered usage
/// (npm `@blocklet/payment-types`, `lib/credit-transaction.d.ts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreditTransaction {
    /// Unique id.
    pub id: String,
    /// Usage quantity consumed.
    pub quantity: Amount,
    /// Credit consumed.
    pub credit_amount: Amount,
    /// Credit left in the grant afterwards.
    pub remaining_balance: Amount,
    /// The customer, such as `cus_…`.
    pub customer_id: String,
    /// The grant consumed.
    pub credit_grant_id: String,
    /// The meter that recorded the usage.
    #[serde(default)]
    pub meter_id: Option<String>,
    /// The subscription the usage belongs to.
    #[serde(default)]
    pub subscription_id: Option<String>,
    /// What caused the consumption (a meter event id).
    #[serde(default)]
    pub source: Option<String>,
    /// The meter's event name, such as `api_calls`.
    pub meter_event_name: String,
    /// The meter's unit.
    pub meter_unit: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Your key/value data.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Metadata,
    /// State of the on-chain transfer.
    #[serde(default)]
    pub transfer_status: Option<TransferStatus>,
    /// On-chain transfer hash.
    #[serde(default)]
    pub transfer_hash: Option<String>,
    /// When the object was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the object was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}
