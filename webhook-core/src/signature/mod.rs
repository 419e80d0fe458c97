//! Signature verification and signing over the raw request bytes.
//!
//! A [`Scheme`] owns everything sender-specific: which headers carry the signature, what bytes are
//! signed and how a secret is decoded. A [`Verifier`] pairs one scheme with one or more secrets
//! (rotation), a tolerance window and a clock; the rest of the pipeline only sees [`Verified`].
//!
//! Every scheme follows the same rules: lengths are compared before contents and contents in
//! constant time, any configured secret may match any signature in the header, unknown signature
//! versions are skipped, at most [`MAX_SIGNATURES`] signatures are examined, and timestamps
//! outside the tolerance are rejected in both directions.

mod canonical;
mod component;
mod github;
mod header;
mod paymentkit;
mod standard;
mod stripe;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::clock::{Clock, SharedClock, SystemClock};

pub use canonical::stable_stringify;
pub use component::{
    ComponentKey, ComponentSigningKey, PaymentKitComponent, PaymentKitComponentV0,
};
pub use github::{GitHub, GitHubSigningKey};
pub use header::HmacKey;
pub use paymentkit::PaymentKit;
pub use standard::{StandardWebhooks, StandardWebhooksKey, StandardWebhooksSigningKey};
pub use stripe::Stripe;

/// The most signatures one request may carry; a header with more is rejected before any MAC
/// is computed, so a request cannot make the verifier do unbounded work.
pub const MAX_SIGNATURES: usize = 16;

/// The default tolerance between a signed timestamp and the verifier's clock, in both directions.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// What a scheme sees of an HTTP request.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// The request method.
    pub method: &'a Method,
    /// The path of the request URI, without the query.
    pub path: &'a str,
    /// The raw query string, if any.
    pub query: Option<&'a str>,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The raw body bytes, exactly as received.
    pub body: &'a [u8],
}

/// The inputs of a signature, for [`Signer::sign`].
#[derive(Debug, Clone, Copy)]
pub struct Unsigned<'a> {
    /// The event or message id, for schemes that sign or send it (Standard Webhooks, GitHub).
    pub id: &'a str,
    /// The event type, for schemes that send it in a header (GitHub).
    pub event_type: &'a str,
    /// The signing time in Unix seconds.
    pub timestamp: i64,
    /// The request method (the PaymentKit component signature signs it).
    pub method: &'a Method,
    /// The request path (the PaymentKit component signature signs it).
    pub path: &'a str,
    /// The body bytes, exactly as they will be sent.
    pub body: &'a [u8],
}

/// What verification learned from the headers, besides "authentic".
///
/// Borrowed from the request it was read from (`'a`), so that verifying costs no allocation;
/// [`Envelope::parse`](crate::Envelope::parse) copies what it keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified<'a> {
    /// The event id, for schemes that carry it in a header (`webhook-id`, `X-GitHub-Delivery`).
    /// Borrowed from the header; owned only when a scheme derives it.
    pub id: Option<Cow<'a, str>>,
    /// The event type, for schemes that carry it in a header (`X-GitHub-Event`).
    pub event_type: Option<Cow<'a, str>>,
    /// The signed timestamp, for schemes that sign one.
    pub timestamp: Option<i64>,
    /// Whether the event type continues in the body: the type, `.` and the body's top-level
    /// string `action` when it has one (GitHub: `issues` and `"action":"opened"` make
    /// `issues.opened`). [`Envelope::parse`](crate::Envelope::parse) reads `action` in its one
    /// pass over the body, so verification never parses the body.
    pub action_in_type: bool,
}

impl Verified<'_> {
    /// The same, owning what it borrowed from the request, to keep beyond it.
    #[must_use]
    pub fn into_owned(self) -> Verified<'static> {
        Verified {
            id: self.id.map(|id| Cow::Owned(id.into_owned())),
            event_type: self.event_type.map(|t| Cow::Owned(t.into_owned())),
            timestamp: self.timestamp,
            action_in_type: self.action_in_type,
        }
    }
}

/// How a timestamp is checked.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    now: i64,
    tolerance: Option<u64>,
}

impl Freshness {
    /// Check `timestamp` against the window.
    ///
    /// # Errors
    /// [`VerifyError::TimestampTooOld`] or [`VerifyError::TimestampInFuture`] when it is outside.
    pub fn check(self, timestamp: i64) -> Result<(), VerifyError> {
        let Some(tolerance) = self.tolerance else {
            return Ok(());
        };
        // i128 so that no pair of i64 values can overflow the subtraction.
        let skew = i128::from(self.now) - i128::from(timestamp);
        if skew > i128::from(tolerance) {
            Err(VerifyError::TimestampTooOld)
        } else if -skew > i128::from(tolerance) {
            Err(VerifyError::TimestampInFuture)
        } else {
            Ok(())
        }
    }

    /// The verifier's current time in Unix seconds.
    #[must_use]
    pub fn now(self) -> i64 {
        self.now
    }
}

/// Why a request was not accepted as authentic. All of these are answered 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A header the scheme needs is absent.
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    /// A header is present but empty, not visible ASCII, or not in the scheme's format.
    #[error("malformed header `{0}`")]
    MalformedHeader(&'static str),
    /// The timestamp header is not a plain non-negative integer.
    #[error("malformed timestamp")]
    MalformedTimestamp,
    /// The header carries no signature of a version this scheme checks.
    #[error("no signature of a supported version")]
    NoSignature,
    /// The header carries more than [`MAX_SIGNATURES`] signatures.
    #[error("more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// The signed timestamp is older than the tolerance allows.
    #[error("timestamp too old")]
    TimestampTooOld,
    /// The signed timestamp is further in the future than the tolerance allows.
    #[error("timestamp in the future")]
    TimestampInFuture,
    /// No signature matches any configured secret.
    #[error("no signature matches")]
    Mismatch,
    /// The body could not be read the way the scheme needs it (asymmetric schemes that sign
    /// parsed JSON).
    #[error("body cannot be canonicalised for verification")]
    MalformedBody,
}

/// Why a secret or key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The secret is empty or only whitespace.
    #[error("secret is empty")]
    Empty,
    /// The secret starts or ends with whitespace, which is almost always a copy-and-paste slip.
    #[error("secret has leading or trailing whitespace")]
    Whitespace,
    /// The secret is not in the format the scheme expects.
    #[error("secret is not in the expected format: {0}")]
    Format(&'static str),
}

/// Why signing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The inputs cannot be represented in the scheme's headers or signed content.
    #[error("cannot sign: {0}")]
    Invalid(&'static str),
}

/// A sender's signature scheme.
///
/// Implementations exist for every sender the crate supports; implement it yourself for a sender
/// it does not know. Keys are decoded once, when the verifier is built, so a scheme can keep
/// precomputed state (such as an HMAC key schedule) in [`Scheme::Key`]. What
/// [`verify`](Scheme::verify) reads from the headers it returns borrowed from the request.
///
/// A sender that puts `hex(HMAC-SHA256(secret, body))` in `X-Acme-Signature` and the event id
/// in `X-Acme-Event-Id`, and signs no time:
///
/// ```
/// use std::borrow::Cow;
///
/// use http::{HeaderName, HeaderValue};
/// use subtle::ConstantTimeEq;
/// use webhook_core::signature::{
///     Freshness, HmacKey, Scheme, SecretError, SignError, SignedRequest, Unsigned, Verified,
///     Verifier, VerifyError,
/// };
///
/// #[derive(Debug)]
/// struct Acme;
///
/// impl Scheme for Acme {
///     type Key = HmacKey;
///     type SigningKey = HmacKey;
///
///     fn name(&self) -> &'static str {
///         "acme"
///     }
///
///     fn signs_time(&self) -> bool {
///         false
///     }
///
///     fn parse_key(&self, secret: &str) -> Result<HmacKey, SecretError> {
///         HmacKey::new(secret.as_bytes())
///     }
///
///     fn parse_signing_key(&self, secret: &str) -> Result<HmacKey, SecretError> {
///         HmacKey::new(secret.as_bytes())
///     }
///
///     fn verify<'a>(
///         &self,
///         keys: &[HmacKey],
///         request: &SignedRequest<'a>,
///         _freshness: Freshness,
///     ) -> Result<Verified<'a>, VerifyError> {
///         let header = |name: &'static str| {
///             let value = request.headers.get(name).ok_or(VerifyError::MissingHeader(name))?;
///             value.to_str().map_err(|_| VerifyError::MalformedHeader(name))
///         };
///         let mut signature = [0u8; 32];
///         hex::decode_to_slice(header("x-acme-signature")?, &mut signature)
///             .map_err(|_| VerifyError::MalformedHeader("x-acme-signature"))?;
///         let id = header("x-acme-event-id")?;
///         // Every key is tried, and compared in constant time.
///         let matched = keys.iter().fold(subtle::Choice::from(0), |found, key| {
///             found | key.tag(&[request.body]).ct_eq(&signature)
///         });
///         if !bool::from(matched) {
///             return Err(VerifyError::Mismatch);
///         }
///         let mut verified = Verified::default();
///         verified.id = Some(Cow::Borrowed(id));
///         Ok(verified)
///     }
///
///     fn sign(
///         &self,
///         key: &HmacKey,
///         unsigned: &Unsigned<'_>,
///     ) -> Result<Vec<(HeaderName, HeaderValue)>, SignError> {
///         let value = |text: &str| {
///             HeaderValue::from_str(text).map_err(|_| SignError::Invalid("header value"))
///         };
///         Ok(vec![
///             (
///                 HeaderName::from_static("x-acme-signature"),
///                 value(&hex::encode(key.tag(&[unsigned.body])))?,
///             ),
///             (HeaderName::from_static("x-acme-event-id"), value(unsigned.id)?),
///         ])
///     }
/// }
///
/// let verifier = Verifier::builder(Acme).secret("acme-secret").build()?;
/// # use webhook_core::signature::Signer;
/// # let body = br#"{"type":"order.paid"}"#;
/// # let headers: http::HeaderMap = Signer::new(Acme, "acme-secret")?
/// #     .sign(&Unsigned {
/// #         id: "evt_1",
/// #         event_type: "order.paid",
/// #         timestamp: 0,
/// #         method: &http::Method::POST,
/// #         path: "/",
/// #         body,
/// #     })?
/// #     .into_iter()
/// #     .collect();
/// # let request = SignedRequest {
/// #     method: &http::Method::POST,
/// #     path: "/",
/// #     query: None,
/// #     headers: &headers,
/// #     body,
/// # };
/// # assert_eq!(verifier.verify(&request)?.id.as_deref(), Some("evt_1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Scheme: fmt::Debug + Send + Sync + 'static {
    /// Verification key material decoded from one configured secret or public key.
    type Key: Send + Sync + 'static;
    /// Signing key material, for [`Signer`].
    type SigningKey: Send + Sync + 'static;

    /// A short, stable name for logs, such as `"paymentkit"`.
    fn name(&self) -> &'static str;

    /// Whether the scheme signs a time that [`verify`](Self::verify) checks against the
    /// [`Freshness`] it is given. A scheme that signs none (GitHub) answers `false`: no clock
    /// is read for its deliveries, and it is given a `Freshness` whose
    /// [`check`](Freshness::check) accepts every time and whose [`now`](Freshness::now) is 0.
    /// `true` unless a scheme says otherwise.
    fn signs_time(&self) -> bool {
        true
    }

    /// Decode one configured secret (or public key) into verification key material.
    ///
    /// # Errors
    /// [`SecretError`] when the text is not a usable key for this scheme.
    fn parse_key(&self, secret: &str) -> Result<Self::Key, SecretError>;

    /// Decode one signing secret (or private key).
    ///
    /// # Errors
    /// [`SecretError`] when the text is not a usable signing key for this scheme.
    fn parse_signing_key(&self, secret: &str) -> Result<Self::SigningKey, SecretError>;

    /// Check `request` against `keys`; any key may match any signature.
    ///
    /// # Errors
    /// [`VerifyError`] saying why the request is not authentic.
    fn verify<'a>(
        &self,
        keys: &[Self::Key],
        request: &SignedRequest<'a>,
        freshness: Freshness,
    ) -> Result<Verified<'a>, VerifyError>;

    /// The headers that make `unsigned` a valid delivery for this scheme.
    ///
    /// # Errors
    /// [`SignError`] when the inputs cannot be signed (for example an id containing `.` for a
    /// scheme that signs `id.timestamp.body`).
    fn sign(
        &self,
        key: &Self::SigningKey,
        unsigned: &Unsigned<'_>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, SignError>;
}

/// A scheme with its keys, behind one object-safe interface.
trait ErasedVerifier: fmt::Debug + Send + Sync {
    fn name(&self) -> &'static str;
    fn verify<'a>(
        &self,
        request: &SignedRequest<'a>,
        freshness: Freshness,
    ) -> Result<Verified<'a>, VerifyError>;
}

struct Keyed<S: Scheme> {
    scheme: S,
    keys: Vec<S::Key>,
}

impl<S: Scheme> fmt::Debug for Keyed<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("Keyed")
            .field("scheme", &self.scheme)
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl<S: Scheme> ErasedVerifier for Keyed<S> {
    fn name(&self) -> &'static str {
        self.scheme.name()
    }

    fn verify<'a>(
        &self,
        request: &SignedRequest<'a>,
        freshness: Freshness,
    ) -> Result<Verified<'a>, VerifyError> {
        self.scheme.verify(&self.keys, request, freshness)
    }
}

/// Checks that requests were signed by the sender.
///
/// Built with [`Verifier::builder`]; cheap to clone.
///
/// ```
/// use webhook_core::signature::{PaymentKit, Verifier};
///
/// let verifier = Verifier::builder(PaymentKit)
///     .secret("whsec_current")
///     .secret("whsec_previous") // still accepted while the sender rotates
///     .build()?;
/// # Ok::<(), webhook_core::signature::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<dyn ErasedVerifier>,
    tolerance: u64,
    /// The scheme's [`Scheme::signs_time`], asked once.
    signs_time: bool,
    /// `None`: the system clock, which a receiver can read more cheaply itself (see
    /// [`Verifier::verify_with`]).
    clock: Option<SharedClock>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("scheme", &self.inner.name())
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Start building a verifier for `scheme`.
    pub fn builder<S: Scheme>(scheme: S) -> VerifierBuilder<S> {
        VerifierBuilder {
            scheme,
            keys: Vec::new(),
            errors: Vec::new(),
            tolerance: DEFAULT_TOLERANCE,
            clock: None,
        }
    }

    /// The scheme's name.
    #[must_use]
    pub fn scheme_name(&self) -> &'static str {
        self.inner.name()
    }

    /// The tolerance window, in seconds either side of now.
    #[must_use]
    pub fn tolerance(&self) -> Duration {
        Duration::from_secs(self.tolerance)
    }

    /// Verify a live request: signature and timestamp.
    ///
    /// # Errors
    /// [`VerifyError`] saying why the request is not authentic.
    pub fn verify<'a>(&self, request: &SignedRequest<'a>) -> Result<Verified<'a>, VerifyError> {
        self.verify_with(request, || SystemClock.unix_seconds())
    }

    /// [`verify`](Self::verify), with `system_now` standing in for the system clock (a
    /// verifier given its own [`clock`](VerifierBuilder::clock) reads that instead). The
    /// receiver derives it from the delivery's arrival instant, which it reads anyway, instead
    /// of reading the wall clock again.
    pub(crate) fn verify_with<'a>(
        &self,
        request: &SignedRequest<'a>,
        system_now: impl FnOnce() -> i64,
    ) -> Result<Verified<'a>, VerifyError> {
        let freshness = if self.signs_time {
            Freshness {
                now: self.now(system_now),
                tolerance: Some(self.tolerance),
            }
        } else {
            // Nothing to check the time against: no clock reading.
            Freshness {
                now: 0,
                tolerance: None,
            }
        };
        self.inner.verify(request, freshness)
    }

    fn now(&self, system_now: impl FnOnce() -> i64) -> i64 {
        match &self.clock {
            Some(clock) => clock.unix_seconds(),
            None => system_now(),
        }
    }

    /// Verify a stored delivery again, long after it arrived: the signature is checked, the
    /// timestamp is not. Never use this for live traffic; it gives up replay protection.
    ///
    /// # Errors
    /// [`VerifyError`] saying why the request is not authentic.
    pub fn verify_ignoring_timestamp<'a>(
        &self,
        request: &SignedRequest<'a>,
    ) -> Result<Verified<'a>, VerifyError> {
        let freshness = Freshness {
            now: self.now(|| SystemClock.unix_seconds()),
            tolerance: None,
        };
        self.inner.verify(request, freshness)
    }
}

/// Why a verifier (or receiver) could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No secret was configured.
    #[error("no secret configured: add one with `.secret(..)`")]
    NoSecret,
    /// Secret number `index` (0-based, in the order given) is unusable.
    #[error("secret #{index} is unusable: {error}")]
    Secret {
        /// Position of the secret in the order it was added.
        index: usize,
        /// What is wrong with it.
        error: SecretError,
    },
    /// The tolerance is zero; use [`Verifier::verify_ignoring_timestamp`] to skip the check.
    #[error("tolerance must be at least one second")]
    ZeroTolerance,
}

/// Builder for [`Verifier`].
pub struct VerifierBuilder<S: Scheme> {
    scheme: S,
    keys: Vec<S::Key>,
    errors: Vec<ConfigError>,
    tolerance: Duration,
    clock: Option<SharedClock>,
}

impl<S: Scheme> fmt::Debug for VerifierBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("scheme", &self.scheme)
            .field("keys", &self.keys.len())
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

impl<S: Scheme> VerifierBuilder<S> {
    /// Add a secret (or public key). Several may be active at once while the sender rotates.
    #[must_use]
    pub fn secret(mut self, secret: impl AsRef<str>) -> Self {
        let index = self.keys.len() + self.errors.len();
        match check_secret_text(secret.as_ref()).and_then(|s| self.scheme.parse_key(s)) {
            Ok(key) => self.keys.push(key),
            Err(error) => self.errors.push(ConfigError::Secret { index, error }),
        }
        self
    }

    /// The accepted distance between the signed timestamp and now, in both directions
    /// (default [`DEFAULT_TOLERANCE`]). Sub-second parts are ignored.
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The clock timestamps are checked against (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Build the verifier.
    ///
    /// # Errors
    /// [`ConfigError`] for a missing or unusable secret or a zero tolerance.
    pub fn build(self) -> Result<Verifier, ConfigError> {
        if let Some(error) = self.errors.into_iter().next() {
            return Err(error);
        }
        if self.keys.is_empty() {
            return Err(ConfigError::NoSecret);
        }
        let tolerance = self.tolerance.as_secs();
        if tolerance == 0 {
            return Err(ConfigError::ZeroTolerance);
        }
        Ok(Verifier {
            signs_time: self.scheme.signs_time(),
            inner: Arc::new(Keyed {
                scheme: self.scheme,
                keys: self.keys,
            }),
            tolerance,
            clock: self.clock,
        })
    }
}

fn check_secret_text(secret: &str) -> Result<&str, SecretError> {
    if secret.trim().is_empty() {
        Err(SecretError::Empty)
    } else if secret.trim() != secret {
        Err(SecretError::Whitespace)
    } else {
        Ok(secret)
    }
}

/// Produces signed deliveries, for tests, demos and senders.
pub struct Signer<S: Scheme> {
    scheme: S,
    key: S::SigningKey,
}

impl<S: Scheme> fmt::Debug for Signer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl<S: Scheme> Signer<S> {
    /// A signer for `scheme` with one signing secret (or private key).
    ///
    /// # Errors
    /// [`SecretError`] when the secret is unusable for this scheme.
    pub fn new(scheme: S, secret: &str) -> Result<Self, SecretError> {
        let key = scheme.parse_signing_key(check_secret_text(secret)?)?;
        Ok(Self { scheme, key })
    }

    /// The headers that authenticate `unsigned`.
    ///
    /// # Errors
    /// [`SignError`] when the inputs cannot be signed by this scheme.
    pub fn sign(
        &self,
        unsigned: &Unsigned<'_>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, SignError> {
        self.scheme.sign(&self.key, unsigned)
    }
}
