//! The whole PaymentKit event, for handlers that need more than [`Event`](crate::Event) exposes.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::common::null_as_default;
use super::Metadata;

/// A PaymentKit event as sent in the body: the envelope fields and `data`
/// (npm `@blocklet/payment-types`, `lib/event.d.ts`).
///
/// [`Event<T>`](crate::Event) already gives the id, type, live mode, creation time and the
/// decoded object; decode the body into `EventBody<T>` when you also need `previous_attributes`,
/// `object_type` or `request`:
///
/// ```
/// use webhook_core::paymentkit::{EventBody, Subscription};
///
/// # fn handle(delivery: &webhook_core::Delivery) -> Result<(), serde_json::Error> {
/// let body: EventBody<Subscription> = serde_json::from_slice(delivery.raw_body())?;
/// if let Some(previous) = &body.data.previous_attributes {
///     println!("{} changed: {previous}", body.data.object.id);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventBody<T = serde_json::Value> {
    /// Unique id, such as `evt_…`: the idempotency key.
    pub id: String,
    /// Whether the event comes from live mode.
    pub livemode: bool,
    /// The event type, such as `payment_intent.succeeded`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The API version the event was rendered with.
    #[serde(default)]
    pub api_version: Option<String>,
    /// The object and what changed.
    pub data: EventData<T>,
    /// The object's model name, such as `Subscription`.
    #[serde(default)]
    pub object_type: Option<String>,
    /// The object's id, such as `sub_…`.
    #[serde(default)]
    pub object_id: Option<String>,
    /// The API request that caused the event.
    #[serde(default)]
    pub request: Option<EventRequest>,
    /// Deliveries not yet acknowledged when the event was rendered.
    #[serde(default)]
    pub pending_webhooks: Option<u32>,
    /// Key/value data attached to the event.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Metadata,
    /// When the event was created.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    /// When the event was last updated.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

/// An event's `data`: the object as it is now and, for updates, the fields it had before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventData<T = serde_json::Value> {
    /// The object, such as a [`PaymentIntent`](super::PaymentIntent).
    pub object: T,
    /// For `*.updated` events, the changed fields with their previous values.
    #[serde(default)]
    pub previous_attributes: Option<serde_json::Value>,
}

/// The API request that caused an event.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventRequest {
    /// Request id.
    #[serde(default)]
    pub id: Option<String>,
    /// The request's idempotency key.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Who made the request (a DID).
    #[serde(default)]
    pub requested_by: Option<String>,
}
