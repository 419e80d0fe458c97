//! The test kit: signed deliveries for any scheme, sample events for every PaymentKit type,
//! dispatch without HTTP, and a store that counts its calls. Enabled by the `test-util`
//! feature; add it to your `[dev-dependencies]`.
//!
//! A test of your handler, without HTTP or signatures:
//!
//! ```
//! use webhook_core::paymentkit::PaymentIntent;
//! use webhook_core::test_util::{dispatch, fixtures::sample_event, receiver_builder};
//! use webhook_core::{on_event, Event, HandlerError};
//!
//! #[on_event("payment_intent.succeeded")]
//! async fn fulfil(event: Event<PaymentIntent>) -> Result<(), HandlerError> {
//!     assert!(event.object().id.starts_with("pi_"));
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let receiver = receiver_builder().build()?;
//! let event = sample_event("evt_1", "payment_intent.succeeded").unwrap();
//! let receipt = dispatch(&receiver, event).await?;
//! assert_eq!(receipt.ran(), ["rust_out::fulfil"]);
//! # Ok(())
//! # }
//! ```
//!
//! The same through the verifier, with the clock under the test's control: a
//! [`ManualClock`](crate::ManualClock) given to the verifier decides what "now" is for the
//! timestamp tolerance, so a test moves time instead of sleeping.
//!
//! ```
//! use std::time::Duration;
//!
//! use webhook_core::signature::{PaymentKit, Verifier, VerifyError};
//! use webhook_core::test_util::TestSender;
//! use webhook_core::{ManualClock, MemoryStore, ReceiveError, Receiver};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = ManualClock::new(1_700_000_000);
//! let verifier = Verifier::builder(PaymentKit).secret("whsec_test").clock(clock.clone()).build()?;
//! let receiver = Receiver::builder().verifier(verifier).store(MemoryStore::new()).build()?;
//!
//! let sender = TestSender::new(PaymentKit, "whsec_test")?;
//! let delivery = sender.sample("invoice.paid").unwrap().at(1_700_000_000);
//! assert!(receiver.receive(delivery.request()?).await?.is_ignored()); // no handler: 200
//!
//! clock.advance(301); // past the default tolerance of 300 s: a replay
//! let late = receiver.receive(delivery.request()?).await;
//! assert!(matches!(late, Err(ReceiveError::Unauthenticated(VerifyError::TimestampTooOld))));
//! # Ok(())
//! # }
//! ```

pub mod conformance;
mod counting;
pub mod fixtures;

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request};

use crate::envelope::Envelope;
use crate::signature::{PaymentKit, Scheme, SignError, Signer, Unsigned, Verified, Verifier};
use crate::{MemoryStore, Receipt, ReceiveError, Receiver, ReceiverBuilder};

pub use counting::CountingStore;

/// The secret of the verifier [`receiver_builder`] sets up.
pub const TEST_SECRET: &str = "whsec_test_kit";

/// A receiver builder ready for tests: a PaymentKit verifier on [`TEST_SECRET`] and a fresh
/// [`MemoryStore`]. Registers every `#[on_event]` handler of the test binary, as
/// [`Receiver::builder`] does; add state, limits or another store as usual.
///
/// # Panics
/// Never: [`TEST_SECRET`] is a valid PaymentKit secret.
#[must_use]
pub fn receiver_builder() -> ReceiverBuilder {
    let verifier = Verifier::builder(PaymentKit)
        .secret(TEST_SECRET)
        .build()
        .expect("TEST_SECRET is a valid secret");
    Receiver::builder()
        .verifier(verifier)
        .store(MemoryStore::new())
}

/// Run the handlers registered for the event in `body`, as [`Receiver::receive`] would after
/// verifying it, but without HTTP and without a signature.
///
/// `body` is an event as the sender sends it, such as
/// [`fixtures::sample_event`] or [`TestDelivery::body`]; its `id` and `type` come from the
/// body. The outcome says which handlers ran ([`Receipt::ran`]), had already completed
/// ([`Receipt::already_done`]) or failed ([`ReceiveError::HandlerFailed`]); the receiver's store
/// deduplicates exactly as for a signed delivery.
///
/// # Errors
/// [`ReceiveError::Malformed`] when `body` is not a usable event; otherwise as
/// [`Receiver::dispatch`].
pub async fn dispatch(
    receiver: &Receiver,
    body: impl Into<Bytes>,
) -> Result<Receipt, ReceiveError> {
    let body = body.into();
    // The same checks `Receiver::receive` makes once the signature is verified.
    let envelope = Envelope::parse(body, &Verified::default()).map_err(ReceiveError::Malformed)?;
    receiver.dispatch(Arc::new(envelope)).await
}

/// Builds signed requests the way a sender would.
///
/// ```
/// use webhook_core::signature::PaymentKit;
/// use webhook_core::test_util::TestSender;
///
/// let sender = TestSender::new(PaymentKit, "whsec_test").unwrap();
/// let request = sender
///     .event("evt_1", "payment_intent.succeeded", r#"{"id":"pi_1","amount":"1000"}"#)
///     .at(1_700_000_000)
///     .request()
///     .unwrap();
/// assert!(request.headers().contains_key("x-webhook-signature"));
/// ```
#[derive(Debug)]
pub struct TestSender<S: Scheme> {
    signer: Arc<Signer<S>>,
    path: String,
}

impl<S: Scheme> Clone for TestSender<S> {
    fn clone(&self) -> Self {
        Self {
            signer: Arc::clone(&self.signer),
            path: self.path.clone(),
        }
    }
}

impl<S: Scheme> TestSender<S> {
    /// A sender signing with `secret`.
    ///
    /// # Errors
    /// When the secret is unusable for the scheme.
    pub fn new(scheme: S, secret: &str) -> Result<Self, crate::signature::SecretError> {
        Ok(Self {
            signer: Arc::new(Signer::new(scheme, secret)?),
            path: "/".to_owned(),
        })
    }

    /// The request path deliveries are sent to (default `/`).
    #[must_use]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// A delivery of PaymentKit's sample `event_type` event ([`fixtures::sample_event`]) under
    /// a fresh event id (`evt_…`), or `None` when the type is not in PaymentKit's catalogue.
    ///
    /// Change the id with [`TestDelivery::with_id`] and the object with
    /// [`TestDelivery::patch_object`]:
    ///
    /// ```
    /// use webhook_core::signature::Stripe;
    /// use webhook_core::test_util::TestSender;
    ///
    /// let sender = TestSender::new(Stripe, "whsec_test").unwrap();
    /// let delivery = sender
    ///     .sample("payment_intent.succeeded")
    ///     .unwrap()
    ///     .with_id("evt_retried")
    ///     .patch_object(|intent| intent["amount"] = "42".into());
    /// assert_eq!(delivery.event_id(), "evt_retried");
    /// assert!(std::str::from_utf8(delivery.body()).unwrap().contains(r#""amount":"42""#));
    /// ```
    #[must_use]
    pub fn sample(&self, event_type: &str) -> Option<TestDelivery<S>> {
        let id = format!("evt_{}", uuid::Uuid::new_v4().simple());
        let body = fixtures::sample_event(&id, event_type)?;
        Some(self.raw(&id, event_type, body))
    }

    /// A PaymentKit/Stripe-style event whose `data.object` is `object` (raw JSON).
    #[must_use]
    pub fn event(&self, id: &str, event_type: &str, object: &str) -> TestDelivery<S> {
        let body = format!(
            r#"{{"id":"{id}","object":"event","type":"{event_type}","livemode":false,"created_at":"2023-11-14T22:13:20.000Z","data":{{"object":{object}}}}}"#
        );
        self.raw(id, event_type, body)
    }

    /// A delivery of an arbitrary body.
    #[must_use]
    pub fn raw(&self, id: &str, event_type: &str, body: impl Into<Bytes>) -> TestDelivery<S> {
        TestDelivery {
            sender: self.clone(),
            id: id.to_owned(),
            event_type: event_type.to_owned(),
            body: body.into(),
            timestamp: crate::clock::Clock::unix_seconds(&crate::clock::SystemClock),
        }
    }
}

/// One delivery being built by a [`TestSender`].
#[derive(Debug)]
pub struct TestDelivery<S: Scheme> {
    sender: TestSender<S>,
    id: String,
    event_type: String,
    body: Bytes,
    timestamp: i64,
}

impl<S: Scheme> Clone for TestDelivery<S> {
    fn clone(&self) -> Self {
        Self {
            sender: self.sender.clone(),
            id: self.id.clone(),
            event_type: self.event_type.clone(),
            body: self.body.clone(),
            timestamp: self.timestamp,
        }
    }
}

impl<S: Scheme> TestDelivery<S> {
    /// The event id the delivery is signed (and, for JSON events, sent) with.
    #[must_use]
    pub fn event_id(&self) -> &str {
        &self.id
    }

    /// The event type the delivery is signed with.
    #[must_use]
    pub fn event_type(&self) -> &str {
        &self.event_type
    }

    /// The same delivery under another event id: the signed id, and the body's top-level
    /// `id` when the body is a JSON object that has one.
    #[must_use]
    pub fn with_id(mut self, id: &str) -> Self {
        self.id = id.to_owned();
        self.edit_body(|event| match event.get_mut("id") {
            Some(slot @ serde_json::Value::String(_)) => {
                *slot = id.into();
                true
            }
            _ => false,
        });
        self
    }

    /// The same delivery with its `data.object` changed by `patch`.
    ///
    /// The body is decoded, patched and encoded again (keys in sorted order). A body that is
    /// not a JSON event with a `data.object` is left as it is and `patch` is not called.
    #[must_use]
    pub fn patch_object(mut self, patch: impl FnOnce(&mut serde_json::Value)) -> Self {
        self.edit_body(|event| match event.pointer_mut("/data/object") {
            Some(object) => {
                patch(object);
                true
            }
            None => false,
        });
        self
    }

    /// Run the receiver's handlers for this delivery's body without verifying its signature
    /// (see [`dispatch`]).
    ///
    /// # Errors
    /// As [`dispatch`].
    pub async fn dispatch(&self, receiver: &Receiver) -> Result<Receipt, ReceiveError> {
        dispatch(receiver, self.body.clone()).await
    }

    /// Decode the body as JSON, let `edit` change it, and keep the result when `edit` says it
    /// changed something.
    fn edit_body(&mut self, edit: impl FnOnce(&mut serde_json::Value) -> bool) {
        let Ok(mut event) = serde_json::from_slice::<serde_json::Value>(&self.body) else {
            return;
        };
        if edit(&mut event) {
            self.body = Bytes::from(event.to_string());
        }
    }

    /// Sign at `unix_seconds` instead of now.
    #[must_use]
    pub fn at(mut self, unix_seconds: i64) -> Self {
        self.timestamp = unix_seconds;
        self
    }

    /// The body that will be sent.
    #[must_use]
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The signature headers.
    ///
    /// # Errors
    /// When the scheme cannot sign these inputs.
    pub fn headers(&self) -> Result<Vec<(http::HeaderName, http::HeaderValue)>, SignError> {
        self.sender.signer.sign(&Unsigned {
            id: &self.id,
            event_type: &self.event_type,
            timestamp: self.timestamp,
            method: &Method::POST,
            path: &self.sender.path,
            body: &self.body,
        })
    }

    /// A complete `POST` request with a JSON content type.
    ///
    /// # Errors
    /// When the scheme cannot sign these inputs.
    pub fn request(&self) -> Result<Request<Bytes>, SignError> {
        let mut request = Request::post(&self.sender.path)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(self.body.clone())
            .map_err(|_| SignError::Invalid("request path"))?;
        request.headers_mut().extend(self.headers()?);
        Ok(request)
    }
}
