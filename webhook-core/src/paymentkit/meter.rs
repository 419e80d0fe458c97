//! Usage metering: `Meter` and `MeterEvent`, whose usage consumes credit grants.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::common::null_as_default;
use super::{Amount, CreatedVia, Metadata};

string_enum! {
    /// How a meter aggregates usage (`Meter.aggregation_method`).
    pub enum AggregationMethod {
        /// Sum of the values.
        Sum = "sum",
        /// Number of events.
        Count = "count",
        /// The last value.
        Last = "last",
    }
}

string_enum! {
    /// Whether a meter records usage (`Meter.status`).
    pub enum MeterStatus {
        /// Recording.
        Active = "active",
        /// Not recording.
        Inactive = "inactive",
    }
}

string_enum! {
    /// Where a meter event is in its processing (`MeterEvent.status`).
    pub enum MeterEventStatus {
        /// Not processed yet.
        Pending = "pending",
        /// Being processed.
        Processing = "processing",
        /// Someone must act (for example, top up credit).
        RequiresAction = "requires_action",
        /// Waiting to be charged again.
        RequiresCapture = "requires_capture",
        /// Charged.
        Completed = "completed",
        /// Canceled.
        Canceled = "canceled",
    }
}

/// A meter: what usage is recorded and how (npm `@blocklet/payment-types`, `lib/meter.d.ts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Meter {
    /// Unique id.
    pub id: String,
    /// Object name, `meter`.
    #[serde(default)]
    pub object: Option<String>,
    /// Display name.
    pub name: String,
    /// The event name usage is reported under, such as `api_calls`.
    pub event_name: String,
    /// How usage is aggregated.
    pub aggregation_method: AggregationMethod,
    /// Whether the meter records usage.
    pub status: MeterStatus,
    /// The unit of usage, such as `calls`.
    pub unit: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// The component that reports usage.
    #[serde(default)]
    pub component_did: Option<String>,
    /// Whether the object exists in live mode.
    pub livemode: bool,
    /// Your key/value data.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Metadata,
    /// The credit currency consumed.
    #[serde(default)]
    pub currency_id: Option<String>,
    /// Who created the meter.
    #[serde(default)]
    pub created_by: Option<String>,
    /// Who last updated the meter.
    #[serde(default)]
    pub updated_by: Option<String>,
    /// How the meter was created.
    #[serde(default)]
    pub created_via: Option<CreatedVia>,
    /// When the object was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the object was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// One usage report (npm `@blocklet/payment-types`, `lib/meter-event.d.ts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MeterEvent {
    /// Unique id.
    pub id: String,
    /// The meter's event name, such as `api_calls`.
    pub event_name: String,
    /// Who used how much.
    pub payload: MeterEventPayload,
    /// The reporter's idempotency key for this usage.
    pub identifier: String,
    /// When the usage happened (unix seconds).
    pub timestamp: i64,
    /// Whether the object exists in live mode.
    pub livemode: bool,
    /// Processing state.
    pub status: MeterEventStatus,
    /// When the event was processed (unix seconds).
    #[serde(default)]
    pub processed_at: Option<i64>,
    /// Processing attempts made.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attempt_count: u32,
    /// When the next attempt happens (unix seconds).
    #[serde(default)]
    pub next_attempt: Option<i64>,
    /// Credit consumed so far.
    pub credit_consumed: Amount,
    /// Credit still to consume.
    pub credit_pending: Amount,
    /// Your key/value data.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Metadata,
    /// Where the usage came from: a string map or a list of labelled fields.
    #[serde(default)]
    pub source_data: Option<serde_json::Value>,
    /// Who reported the usage.
    #[serde(default)]
    pub created_by: Option<String>,
    /// How the usage was reported.
    #[serde(default)]
    pub created_via: Option<CreatedVia>,
    /// When the object was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the object was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Who used how much (`MeterEventPayload`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MeterEventPayload {
    /// The customer, such as `cus_…`.
    pub customer_id: String,
    /// Usage quantity.
    pub value: Amount,
    /// The subscription the usage belongs to.
    #[serde(default)]
    pub subscription_id: Option<String>,
}
