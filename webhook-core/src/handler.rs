//! What a handler receives and returns: extractors, state and errors.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use time::OffsetDateTime;

use crate::envelope::Envelope;

/// A boxed, thread-safe error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The future a registered handler shim returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send>>;

/// Whether retrying a failed handler can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A transient failure (a timeout, an unavailable dependency): the sender's retry may succeed.
    Retryable,
    /// The handler will fail the same way until the code or data changes (a payload it cannot
    /// decode, a business rule). Still answered 500 and released, so the event is not lost and a
    /// fixed deployment processes the sender's next retry; the kind is recorded in logs.
    Permanent,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Retryable => "retryable",
            Self::Permanent => "permanent",
        })
    }
}

/// The error a handler returns.
///
/// Any `std::error::Error + Send + Sync + 'static` converts into it (as retryable), so `?` works
/// on most errors; use [`HandlerError::permanent`] to say a retry cannot help.
pub struct HandlerError {
    kind: ErrorKind,
    source: BoxError,
}

impl HandlerError {
    /// A failure a retry may fix.
    pub fn retryable(error: impl Into<BoxError>) -> Self {
        Self {
            kind: ErrorKind::Retryable,
            source: error.into(),
        }
    }

    /// A failure a retry cannot fix.
    pub fn permanent(error: impl Into<BoxError>) -> Self {
        Self {
            kind: ErrorKind::Permanent,
            source: error.into(),
        }
    }

    /// A retryable error with a message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Self::retryable(message.to_string())
    }

    /// Whether retrying can help.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The underlying error.
    #[must_use]
    pub fn source_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.source
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerError")
            .field("kind", &self.kind)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} error: {}", self.kind, self.source)
    }
}

// Deliberately not `std::error::Error`, so that this blanket conversion cannot overlap with
// `From<HandlerError> for HandlerError` (the same trick as `anyhow::Error`).
impl<E: std::error::Error + Send + Sync + 'static> From<E> for HandlerError {
    fn from(error: E) -> Self {
        Self::retryable(error)
    }
}

/// What a handler may return: `Result<(), E>` where `E: Into<HandlerError>`.
#[diagnostic::on_unimplemented(
    message = "`#[on_event]` handlers must return `Result<(), E>` where `E: Into<HandlerError>`, not `{Self}`",
    label = "this return type is not `Result<(), E>`",
    note = "any `std::error::Error + Send + Sync + 'static` converts into `HandlerError`"
)]
pub trait IntoHandlerResult {
    /// Convert into the framework's result.
    ///
    /// # Errors
    /// The handler's error, converted.
    fn into_handler_result(self) -> Result<(), HandlerError>;
}

impl<E: Into<HandlerError>> IntoHandlerResult for Result<(), E> {
    fn into_handler_result(self) -> Result<(), HandlerError> {
        self.map_err(Into::into)
    }
}

/// Values shared with handlers, keyed by type: what [`State`] extracts.
#[derive(Default)]
pub struct Resources {
    values: HashMap<TypeId, Arc<dyn Any + Send + Sync>, BuildHasherDefault<TypeIdHasher>>,
    /// The type of the store's transactions, when it has them (see `TxBackend`).
    transaction_type: Option<(TypeId, &'static str)>,
    /// Set by extractors that need a transaction while the receiver is built, so the receiver
    /// knows which handlers to run inside one.
    transaction_requested: AtomicBool,
}

/// Hashes a `TypeId`, which already is a hash: a second one (the default SipHash) cost a
/// handler's `State` extraction more than the rest of the lookup.
#[derive(Default)]
struct TypeIdHasher(u64);

impl Hasher for TypeIdHasher {
    fn write(&mut self, bytes: &[u8]) {
        // `TypeId` hashes itself with `write_u64`; should that change, fold the bytes in.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = id;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl Clone for Resources {
    fn clone(&self) -> Self {
        Self {
            values: self.values.clone(),
            transaction_type: self.transaction_type,
            transaction_requested: AtomicBool::new(false),
        }
    }
}

impl fmt::Debug for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resources")
            .field("count", &self.values.len())
            .field(
                "transaction_type",
                &self.transaction_type.map(|(_, name)| name),
            )
            .finish()
    }
}

impl Resources {
    /// Provide a value of type `T`, replacing any earlier one.
    pub fn insert<T: Clone + Send + Sync + 'static>(&mut self, value: T) {
        self.values.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// The value of type `T`, if provided.
    #[must_use]
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<&T> {
        self.values
            .get(&TypeId::of::<T>())
            .and_then(|value| value.downcast_ref::<T>())
    }

    /// Whether a value of type `T` was provided.
    #[must_use]
    pub fn contains<T: 'static>(&self) -> bool {
        self.values.contains_key(&TypeId::of::<T>())
    }

    /// The `TypeId` and name of the store's transaction type, when the store has transactions.
    #[must_use]
    pub fn transaction_type(&self) -> Option<(TypeId, &'static str)> {
        self.transaction_type
    }

    /// Called by an extractor's [`FromDelivery::check`] to say that its handler must run inside
    /// the store's transaction.
    pub fn request_transaction(&self) {
        self.transaction_requested.store(true, Ordering::Relaxed);
    }

    pub(crate) fn set_transaction_type(
        &mut self,
        transaction_type: Option<(TypeId, &'static str)>,
    ) {
        self.transaction_type = transaction_type;
    }

    /// Whether a check since the last call requested a transaction; resets the flag.
    pub(crate) fn take_transaction_request(&self) -> bool {
        self.transaction_requested.swap(false, Ordering::Relaxed)
    }
}

/// A handler argument that needs something the receiver was not given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("needs `{type_name}`: {hint}")]
pub struct MissingState {
    /// The type that is missing.
    pub type_name: &'static str,
    /// How to provide it.
    pub hint: &'static str,
}

/// The transaction a handler runs in, shared between the dispatcher and the handler's `Tx`.
pub(crate) type TxSlot = Arc<tokio::sync::Mutex<Option<Box<dyn Any + Send>>>>;

/// One delivery of one event to one handler.
#[derive(Clone)]
pub struct Delivery {
    envelope: Arc<Envelope>,
    resources: Arc<Resources>,
    /// When the delivery arrived; its wall-clock time is derived only when asked for.
    arrived: Instant,
    handler: &'static str,
    transaction: Option<TxSlot>,
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("envelope", &self.envelope)
            .field("received_at", &self.received_at())
            .field("handler", &self.handler)
            .finish_non_exhaustive()
    }
}

impl Delivery {
    pub(crate) fn new(
        envelope: Arc<Envelope>,
        resources: Arc<Resources>,
        arrived: Instant,
        handler: &'static str,
    ) -> Self {
        Self {
            envelope,
            resources,
            arrived,
            handler,
            transaction: None,
        }
    }

    pub(crate) fn with_transaction(mut self, slot: TxSlot) -> Self {
        self.transaction = Some(slot);
        self
    }

    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(crate) fn transaction(&self) -> Option<&TxSlot> {
        self.transaction.as_ref()
    }

    /// The event's envelope.
    #[must_use]
    pub fn envelope(&self) -> &Arc<Envelope> {
        &self.envelope
    }

    /// Values shared with handlers.
    #[must_use]
    pub fn resources(&self) -> &Resources {
        &self.resources
    }

    /// When this delivery attempt arrived.
    #[must_use]
    pub fn received_at(&self) -> OffsetDateTime {
        crate::clock::wall_clock().at(self.arrived)
    }

    /// The path of the handler being run, such as `my_app::billing::fulfil`.
    #[must_use]
    pub fn handler(&self) -> &'static str {
        self.handler
    }

    /// The verified body, exactly as received.
    #[must_use]
    pub fn raw_body(&self) -> &Bytes {
        self.envelope.body()
    }
}

/// A type a handler can take as an argument.
///
/// Implemented by [`Event<T>`](crate::Event), [`State<T>`] and [`Delivery`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of an `#[on_event]` handler",
    label = "not a handler argument",
    note = "handler arguments are extractors, such as `Event<T>` (with `T: DeserializeOwned`), `State<T>` or `Delivery`"
)]
pub trait FromDelivery: Sized + Send + 'static {
    /// Take the argument from the delivery.
    ///
    /// # Errors
    /// A [`HandlerError`] when the argument cannot be produced, such as an object that does not
    /// decode into the requested type.
    fn from_delivery(delivery: &Delivery) -> Result<Self, HandlerError>;

    /// Checked once when the receiver is built, so a missing resource fails at start-up rather
    /// than at the first delivery.
    ///
    /// # Errors
    /// [`MissingState`] naming what is missing.
    fn check(resources: &Resources) -> Result<(), MissingState> {
        let _ = resources;
        Ok(())
    }
}

impl FromDelivery for Delivery {
    fn from_delivery(delivery: &Delivery) -> Result<Self, HandlerError> {
        Ok(delivery.clone())
    }
}

/// Derive a value from the application state, as axum's `FromRef` does; used by
/// [`ReceiverBuilder::provide`](crate::ReceiverBuilder::provide).
pub trait FromRef<T> {
    /// Derive `Self` from `input`.
    fn from_ref(input: &T) -> Self;
}

impl<T: Clone> FromRef<T> for T {
    fn from_ref(input: &T) -> Self {
        input.clone()
    }
}

/// Application state given to the receiver with
/// [`ReceiverBuilder::with_state`](crate::ReceiverBuilder::with_state),
/// [`provide`](crate::ReceiverBuilder::provide) or [`state`](crate::ReceiverBuilder::state),
/// extracted by type.
///
/// ```
/// # use webhook_core::{Event, HandlerError, State};
/// #[derive(Clone)]
/// struct Db;
///
/// async fn fulfil(event: Event<serde_json::Value>, State(db): State<Db>) -> Result<(), HandlerError> {
///     let _ = (event, db);
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct State<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromDelivery for State<T> {
    fn from_delivery(delivery: &Delivery) -> Result<Self, HandlerError> {
        delivery
            .resources
            .get::<T>()
            .cloned()
            .map(State)
            // Unreachable when the receiver was built: `check` ran for every handler.
            .ok_or_else(|| {
                HandlerError::permanent(format!(
                    "no state of type `{}`",
                    std::any::type_name::<T>()
                ))
            })
    }

    fn check(resources: &Resources) -> Result<(), MissingState> {
        if resources.contains::<T>() {
            Ok(())
        } else {
            Err(MissingState {
                type_name: std::any::type_name::<T>(),
                hint: "give it to the receiver with `.with_state(..)`, `.provide::<T>()` or `.state(..)`",
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_keep_one_value_per_type() {
        #[derive(Clone, Debug, PartialEq)]
        struct Db(&'static str);
        #[derive(Clone, Debug, PartialEq)]
        struct Mailer(u8);

        let mut resources = Resources::default();
        resources.insert(Db("primary"));
        resources.insert(Mailer(1));
        resources.insert(7_u32);
        resources.insert(String::from("config"));
        resources.insert(Db("replaced"));
        assert_eq!(resources.get::<Db>(), Some(&Db("replaced")));
        assert_eq!(resources.get::<Mailer>(), Some(&Mailer(1)));
        assert_eq!(resources.get::<u32>(), Some(&7));
        assert_eq!(
            resources.get::<String>().map(String::as_str),
            Some("config")
        );
        assert!(resources.get::<u64>().is_none());
        assert!(resources.contains::<Mailer>() && !resources.contains::<i32>());
    }

    #[test]
    fn the_type_hasher_folds_in_bytes_it_is_given() {
        let hash = |bytes: &[u8]| {
            let mut hasher = TypeIdHasher::default();
            hasher.write(bytes);
            hasher.finish()
        };
        assert_ne!(hash(b"a"), hash(b"b"));
        let mut hasher = TypeIdHasher::default();
        hasher.write_u64(42);
        assert_eq!(hasher.finish(), 42);
    }
}
