//! `Customer`: a payer, identified by a DID (`customer.*`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::common::null_as_default;
use super::{Address, Amount, Metadata, Shipping};

/// A customer: the object of `customer.created|updated|deleted` events
/// (npm `@blocklet/payment-types`, `lib/customer.d.ts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Customer {
    /// Unique id, such as `cus_…`.
    pub id: String,
    /// Whether the object exists in live mode.
    pub livemode: bool,
    /// The customer's DID (their Blocklet user id).
    pub did: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Full name.
    #[serde(default)]
    pub name: Option<String>,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// Billing address.
    #[serde(default)]
    pub address: Option<Address>,
    /// Shipping details.
    #[serde(default)]
    pub shipping: Option<Box<Shipping>>,
    /// Balance in the default currency.
    #[serde(default)]
    pub balance: Option<Amount>,
    /// Balance per currency id.
    #[serde(default, deserialize_with = "null_as_default")]
    pub token_balance: BTreeMap<String, Amount>,
    /// Default currency.
    #[serde(default)]
    pub currency_id: Option<String>,
    /// Whether the customer has an overdue invoice.
    #[serde(default, deserialize_with = "null_as_default")]
    pub delinquent: bool,
    /// The discount applied.
    #[serde(default)]
    pub discount_id: Option<String>,
    /// Your key/value data.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Metadata,
    /// Invoice credit balance, per currency.
    #[serde(default)]
    pub invoice_credit_balance: Option<serde_json::Value>,
    /// Prefix of the customer's invoice numbers.
    #[serde(default)]
    pub invoice_prefix: Option<String>,
    /// Invoice defaults (custom fields, footer, payment method).
    #[serde(default)]
    pub invoice_settings: Option<serde_json::Value>,
    /// Sequence number of the next invoice.
    #[serde(default)]
    pub next_invoice_sequence: Option<u64>,
    /// When the object was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the object was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// When the customer was last synchronised with the user directory (unix seconds).
    #[serde(default)]
    pub last_sync_at: Option<i64>,
    /// Notification preferences.
    #[serde(default)]
    pub preference: Option<serde_json::Value>,
}
