//! Helpers for tests: signed deliveries for any scheme. Enabled by the `test-util` feature.

pub mod conformance;
pub mod fixtures;

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request};

use crate::signature::{Scheme, SignError, Signer, Unsigned};

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
