//! `Event<T>`: a verified event with its object decoded into the type the handler asks for.

use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::envelope::Envelope;
use crate::handler::{Delivery, FromDelivery, HandlerError};

/// A verified event whose object (`data.object`) is decoded into `T`.
///
/// `T` may be one of the [`paymentkit`](crate::paymentkit) types, your own
/// `#[derive(Deserialize)]` struct, or `serde_json::Value`.
pub struct Event<T = serde_json::Value> {
    envelope: Arc<Envelope>,
    /// Boxed: decoded objects are large (a [`PaymentIntent`](crate::paymentkit::PaymentIntent)
    /// is 1.5 KB), and an event is moved several times on its way into the handler (out of the
    /// extractor, into the handler's future, into its box); one allocation beside the many the
    /// decoding makes costs less than those copies.
    object: Box<T>,
}

impl<T: fmt::Debug> fmt::Debug for Event<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("id", &self.envelope.id())
            .field("type", &self.envelope.event_type())
            .field("object", &self.object)
            .finish()
    }
}

impl<T> Event<T> {
    /// Build an event from an envelope and an already decoded object (for tests and replays).
    pub fn new(envelope: Arc<Envelope>, object: T) -> Self {
        Self {
            envelope,
            object: Box::new(object),
        }
    }

    /// The sender's event id.
    #[must_use]
    pub fn id(&self) -> &str {
        self.envelope.id()
    }

    /// The event type, such as `payment_intent.succeeded`.
    #[must_use]
    pub fn event_type(&self) -> &str {
        self.envelope.event_type()
    }

    /// Whether the event comes from live mode, when the sender says.
    #[must_use]
    pub fn livemode(&self) -> Option<bool> {
        self.envelope.livemode()
    }

    /// When the sender created the event, when it says.
    #[must_use]
    pub fn created(&self) -> Option<OffsetDateTime> {
        self.envelope.created()
    }

    /// The decoded object.
    #[must_use]
    pub fn object(&self) -> &T {
        &self.object
    }

    /// The decoded object, by value.
    #[must_use]
    pub fn into_object(self) -> T {
        *self.object
    }

    /// The object's raw JSON, exactly as received.
    #[must_use]
    pub fn raw_object(&self) -> &[u8] {
        self.envelope.raw_object()
    }

    /// The whole envelope.
    #[must_use]
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}

impl<T: DeserializeOwned + Send + 'static> FromDelivery for Event<T> {
    fn from_delivery(delivery: &Delivery) -> Result<Self, HandlerError> {
        let envelope = Arc::clone(delivery.envelope());
        let object = Box::new(decode(envelope.raw_object())?);
        Ok(Self { envelope, object })
    }
}

/// Decode an event object. Path tracking (`serde_path_to_error`) doubles the cost of decoding,
/// and its path is only needed for the error message, so the object is decoded plainly first
/// and again with tracking only when that fails.
fn decode<T: DeserializeOwned>(raw: &[u8]) -> Result<T, HandlerError> {
    // The object's bytes are a span of an already validated document: nothing trails it, and
    // `Envelope::parse` checked it is UTF-8. Checking again (a fraction of the decoding's
    // cost) buys a `&str`, which spares serde_json its check of every string it decodes.
    let text = simdutf8::basic::from_utf8(raw)
        .map_err(|_| HandlerError::permanent("event object is not UTF-8"))?;
    let mut de = serde_json::Deserializer::from_str(text);
    if let Ok(object) = T::deserialize(&mut de) {
        return Ok(object);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|error| {
        // Path, kind and position only: serde's own message quotes the offending value, which
        // is payload data and must not reach logs.
        let inner = error.inner();
        HandlerError::permanent(format!(
            "event object does not decode into `{}` at `{}`: {} error at line {}, column {}",
            std::any::type_name::<T>(),
            error.path(),
            category(inner.classify()),
            inner.line(),
            inner.column(),
        ))
    })
}

fn category(category: serde_json::error::Category) -> &'static str {
    match category {
        serde_json::error::Category::Io => "i/o",
        serde_json::error::Category::Syntax => "syntax",
        serde_json::error::Category::Data => "type or value",
        serde_json::error::Category::Eof => "end-of-input",
    }
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[derive(Debug, serde::Deserialize)]
    struct Intent {
        amount: u64,
    }

    #[test]
    fn decode_errors_name_the_failing_field() {
        assert_eq!(
            decode::<Intent>(br#"{"amount":5,"x":[1]}"#).unwrap().amount,
            5
        );
        let error = decode::<Intent>(br#"{"amount":"5"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("into `") && error.contains("at `amount`"),
            "{error}"
        );
        let secret = decode::<Intent>(br#"{"amount":"SECRET-VALUE"}"#)
            .unwrap_err()
            .to_string();
        assert!(!secret.contains("SECRET-VALUE"), "payload echoed: {secret}");
    }
}
