//! Pieces shared by several PaymentKit objects: amounts, metadata, addresses, shared enums.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Free-form key/value data attached to an object (`metadata`). Absent or `null` decodes as
/// an empty map.
pub type Metadata = serde_json::Map<String, serde_json::Value>;

/// An amount in the currency's smallest unit, as the decimal string PaymentKit sends
/// (`"1000000000000000000"` is one token with 18 decimals).
///
/// Kept as text: token amounts exceed what floats represent exactly, and the number of
/// decimals depends on the currency (`currency_id`). Equality compares the text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Amount(String);

impl Amount {
    /// An amount holding `value` as given.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The amount as sent, such as `"1000"`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The amount's text, by value.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Amount {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<String> for Amount {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Amount {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AmountVisitor;

        impl Visitor<'_> for AmountVisitor {
            type Value = Amount;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal string or an integer")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Amount, E> {
                Ok(Amount(value.to_owned()))
            }

            fn visit_string<E: de::Error>(self, value: String) -> Result<Amount, E> {
                Ok(Amount(value))
            }

            // Integers are exact, so a sender that writes `0` instead of `"0"` loses nothing.
            // Floats are refused: their text would not be the amount that was meant.
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Amount, E> {
                Ok(Amount(value.to_string()))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Amount, E> {
                Ok(Amount(value.to_string()))
            }
        }

        deserializer.deserialize_any(AmountVisitor)
    }
}

/// `null` decodes as the type's default, like an absent field with `#[serde(default)]`.
/// PaymentKit's columns are nullable even where the TypeScript model says otherwise.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// An optional unix time in seconds that the server may also send as an ISO-8601 string:
/// the model declares some fields (`PaymentIntent::canceled_at`) as numbers but stores them
/// in date columns.
pub(crate) mod unix_or_rfc3339 {
    use super::{de, fmt, Deserializer, OffsetDateTime, Visitor};
    use serde::Serializer;
    use time::format_description::well_known::Rfc3339;

    // serde's `with` passes the field by reference: `&Option<i64>`.
    pub(crate) fn serialize<S: Serializer>(
        value: &Option<i64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(seconds) => serializer.serialize_i64(*seconds),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<i64>, D::Error> {
        struct UnixVisitor;

        impl<'de> Visitor<'de> for UnixVisitor {
            type Value = Option<i64>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("unix seconds or an RFC 3339 timestamp")
            }

            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_some<D: Deserializer<'de>>(
                self,
                deserializer: D,
            ) -> Result<Self::Value, D::Error> {
                deserializer.deserialize_any(self)
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
                Ok(Some(value))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
                i64::try_from(value)
                    .map(Some)
                    .map_err(|_| E::custom("unix time out of range"))
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                OffsetDateTime::parse(value, &Rfc3339)
                    .map(|time| Some(time.unix_timestamp()))
                    .map_err(|_| E::custom("timestamp is not RFC 3339"))
            }
        }

        deserializer.deserialize_option(UnixVisitor)
    }
}

string_enum! {
    /// How an object was created (`created_via`).
    pub enum CreatedVia {
        /// Through the API or an SDK.
        Api = "api",
        /// In the PaymentKit dashboard.
        Dashboard = "dashboard",
        /// In the customer portal.
        Portal = "portal",
        /// From a webhook (meter events).
        Webhook = "webhook",
        /// In a batch import (meter events).
        Batch = "batch",
    }
}

string_enum! {
    /// How an invoice or subscription is paid (`collection_method`).
    pub enum CollectionMethod {
        /// PaymentKit charges the default payment method.
        ChargeAutomatically = "charge_automatically",
        /// The customer is sent an invoice to pay.
        SendInvoice = "send_invoice",
    }
}

/// A postal address (`CustomerAddress`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Address {
    /// City, district, suburb, town or village.
    #[serde(default)]
    pub city: Option<String>,
    /// Two-letter country code (ISO 3166-1 alpha-2).
    #[serde(default)]
    pub country: Option<String>,
    /// Address line 1 (street, PO box or company name).
    #[serde(default)]
    pub line1: Option<String>,
    /// Address line 2 (apartment, suite, unit or building).
    #[serde(default)]
    pub line2: Option<String>,
    /// ZIP or postal code.
    #[serde(default)]
    pub postal_code: Option<String>,
    /// State, county, province or region.
    #[serde(default)]
    pub state: Option<String>,
}

/// Shipping details (`CustomerShipping`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Shipping {
    /// Shipping address.
    #[serde(default)]
    pub address: Option<Address>,
    /// Recipient name.
    #[serde(default)]
    pub name: Option<String>,
    /// Recipient phone number.
    #[serde(default)]
    pub phone: Option<String>,
}

/// Contact details collected at checkout (`CustomerDetail`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustomerDetails {
    /// Billing address.
    #[serde(default)]
    pub address: Option<Address>,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Full name.
    #[serde(default)]
    pub name: Option<String>,
    /// Phone number.
    #[serde(default)]
    pub phone: Option<String>,
}
