//! The handler registry: every `#[on_event]` function, collected at start-up.
//!
//! Handlers for one event type run in this documented, deterministic order: catch-all (`"*"`)
//! handlers first, then prefix handlers from the shortest prefix to the longest
//! (`"customer.*"` before `"customer.subscription.*"`), then exact handlers; within each group,
//! by handler path, then source location. A function registered under two patterns that both
//! match runs once per event.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use crate::handler::{Delivery, HandlerFuture, MissingState, Resources};

/// Where a handler was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The source file.
    pub file: &'static str,
    /// The line of the `#[on_event]` attribute.
    pub line: u32,
    /// The column of the `#[on_event]` attribute.
    pub column: u32,
}

impl Location {
    /// A location; used by generated code through `file!()`, `line!()` and `column!()`.
    #[must_use]
    pub const fn new(file: &'static str, line: u32, column: u32) -> Self {
        Self { file, line, column }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One registered handler: what `#[on_event]` submits to the registry.
///
/// Generated code builds these; write one by hand only where `inventory` does not work (see the
/// crate docs, "Caveats"), and add it with [`RegistryBuilder::register`].
#[derive(Clone, Copy)]
pub struct Registration {
    pattern: &'static str,
    path: &'static str,
    location: Location,
    call: fn(Delivery) -> HandlerFuture,
    check: fn(&Resources) -> Result<(), MissingState>,
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("pattern", &self.pattern)
            .field("path", &self.path)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Registration {
    /// A registration of the handler `path` (its full Rust path) for `pattern`.
    ///
    /// `call` runs the handler for one delivery; `check` verifies, when the receiver is built,
    /// that everything the handler's arguments need was provided.
    #[must_use]
    pub const fn new(
        pattern: &'static str,
        path: &'static str,
        location: Location,
        call: fn(Delivery) -> HandlerFuture,
        check: fn(&Resources) -> Result<(), MissingState>,
    ) -> Self {
        Self {
            pattern,
            path,
            location,
            call,
            check,
        }
    }

    /// The event pattern: an exact type, a `prefix.*`, or `*`.
    #[must_use]
    pub fn pattern(&self) -> &'static str {
        self.pattern
    }

    /// The handler's full path; also its idempotency identity.
    #[must_use]
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// Where the handler was written.
    #[must_use]
    pub fn location(&self) -> Location {
        self.location
    }

    pub(crate) fn call(&self, delivery: Delivery) -> HandlerFuture {
        (self.call)(delivery)
    }

    pub(crate) fn check(&self, resources: &Resources) -> Result<(), MissingState> {
        (self.check)(resources)
    }

    fn group(&self) -> (u8, usize) {
        match Pattern::parse(self.pattern) {
            Some(Pattern::Any) => (0, 0),
            Some(Pattern::Prefix(prefix)) => (1, prefix.len()),
            Some(Pattern::Exact(_)) | None => (2, 0),
        }
    }
}

inventory::collect!(Registration);

/// A parsed event pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pattern<'a> {
    Any,
    /// `a.b.*`, stored as `a.b.` so matching is a plain prefix test on a segment boundary.
    Prefix(&'a str),
    Exact(&'a str),
}

impl<'a> Pattern<'a> {
    /// Segments of `[A-Za-z0-9_-]`, separated by `.`; `*` alone or as the whole last segment.
    fn parse(text: &'a str) -> Option<Self> {
        if text == "*" {
            return Some(Self::Any);
        }
        let (body, prefix) = match text.strip_suffix(".*") {
            Some(body) => (body, true),
            None => (text, false),
        };
        let valid = !body.is_empty()
            && body.split('.').all(|segment| {
                !segment.is_empty()
                    && segment
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            });
        match (valid, prefix) {
            (false, _) => None,
            (true, true) => Some(Self::Prefix(&text[..=body.len()])),
            (true, false) => Some(Self::Exact(text)),
        }
    }
}

/// Why the registry could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A pattern is not an event type, `prefix.*` or `*`.
    #[error("handler `{path}` at {location} has an invalid event pattern `{pattern}`")]
    InvalidPattern {
        /// The pattern.
        pattern: &'static str,
        /// The handler.
        path: &'static str,
        /// Where it was written.
        location: Location,
    },
    /// A handler path is empty, longer than [`MAX_HANDLER_LEN`](crate::MAX_HANDLER_LEN) bytes
    /// or holds a control character: it could not be an idempotency key (see
    /// [`ClaimKey::validate`](crate::ClaimKey::validate)).
    #[error("handler path {path:?} at {location} cannot be an idempotency key: it must be 1 to 1024 bytes without control characters")]
    InvalidPath {
        /// The handler.
        path: &'static str,
        /// Where it was written.
        location: Location,
    },
    /// The same function is registered twice for the same pattern.
    #[error("handler `{path}` is registered twice for `{pattern}`: at {first} and at {second}")]
    Duplicate {
        /// The pattern.
        pattern: &'static str,
        /// The handler.
        path: &'static str,
        /// The first registration.
        first: Location,
        /// The second registration.
        second: Location,
    },
    /// [`Registry::from_module`] found no handler in the module.
    #[error("no `#[on_event]` handler is registered in module `{module}`")]
    EmptyModule {
        /// The module path asked for.
        module: String,
    },
}

/// A handler as listed by [`Registry::registered_events`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisteredHandler {
    /// The event pattern.
    pub pattern: &'static str,
    /// The handler's full path.
    pub path: &'static str,
    /// Where it was written.
    pub location: Location,
}

impl fmt::Display for RegisteredHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {} ({})", self.pattern, self.path, self.location)
    }
}

/// The set of handlers a receiver dispatches to.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    handlers: Vec<Registration>,
    /// Exact type -> every handler that runs for it (wildcards included), in order. Hashed
    /// with a fast seeded hash rather than SipHash: its keys are fixed when it is built, and a
    /// lookup only probes.
    exact: HashMap<&'static str, Box<[usize]>, rapidhash::fast::RandomState>,
    /// Handlers that match types not in `exact` (catch-all and prefixes), in order.
    wildcards: Vec<usize>,
}

impl Registry {
    /// Every handler registered with `#[on_event]` in this binary.
    ///
    /// # Errors
    /// [`RegistryError`] for an invalid handler path or pattern, or a duplicate registration.
    pub fn from_inventory() -> Result<Self, RegistryError> {
        inventory::iter::<Registration>
            .into_iter()
            .fold(Self::builder(), |builder, r| builder.register(*r))
            .build()
    }

    /// The `#[on_event]` handlers of one module and its submodules: those whose path is
    /// `module` or starts with `module::`.
    ///
    /// Every handler in the binary is registered globally, so an application serving two
    /// senders gives each receiver the handlers of its own module; otherwise a Stripe receiver
    /// would also run the PaymentKit handlers for an event type both send. Matching is on whole
    /// path segments: `app::stripe` does not select `app::stripe2`. Write the path with
    /// `module_path!()` so that renaming the crate or moving the code cannot leave it stale.
    ///
    /// ```
    /// use webhook_core::{MemoryStore, Receiver, Registry};
    /// use webhook_core::signature::{Stripe, Verifier};
    ///
    /// mod paymentkit {
    ///     use webhook_core::{on_event, Event, HandlerError};
    ///
    ///     #[on_event("payment_intent.succeeded")]
    ///     async fn fulfil(event: Event) -> Result<(), HandlerError> {
    ///         println!("PaymentKit payment {}", event.id());
    ///         Ok(())
    ///     }
    /// }
    ///
    /// mod stripe {
    ///     use webhook_core::{on_event, Event, HandlerError};
    ///
    ///     #[on_event("payment_intent.succeeded", unchecked)]
    ///     async fn fulfil(event: Event) -> Result<(), HandlerError> {
    ///         println!("Stripe payment {}", event.id());
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let stripe = Registry::from_module(concat!(module_path!(), "::stripe"))?;
    /// let paths: Vec<_> = stripe.handlers_for("payment_intent.succeeded").map(|h| h.path()).collect();
    /// assert_eq!(paths, ["rust_out::stripe::fulfil"]);
    ///
    /// let receiver = Receiver::builder()
    ///     .verifier(Verifier::builder(Stripe).secret("whsec_stripe_example").build()?)
    ///     .store(MemoryStore::new())
    ///     .namespace("stripe")
    ///     .registry(stripe)
    ///     .build()?;
    /// # let _ = receiver;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`RegistryError::EmptyModule`] when no handler is in `module` (most likely a misspelt
    /// path, which would otherwise acknowledge every event without handling it), and the
    /// errors of [`Registry::from_inventory`].
    pub fn from_module(module: &str) -> Result<Self, RegistryError> {
        Self::from_registrations_in(inventory::iter::<Registration>.into_iter().copied(), module)
    }

    fn from_registrations_in(
        registrations: impl IntoIterator<Item = Registration>,
        module: &str,
    ) -> Result<Self, RegistryError> {
        let builder = registrations
            .into_iter()
            .filter(|r| in_module(r.path, module))
            .fold(Self::builder(), RegistryBuilder::register);
        if builder.handlers.is_empty() {
            return Err(RegistryError::EmptyModule {
                module: module.to_owned(),
            });
        }
        builder.build()
    }

    /// An empty registry to fill by hand.
    #[must_use]
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    /// The handlers that run for `event_type`, in order.
    pub fn handlers_for(&self, event_type: &str) -> impl ExactSizeIterator<Item = &Registration> {
        self.matching(event_type)
            .map(|(_, registration)| registration)
    }

    /// As [`Registry::handlers_for`], with each handler's index in
    /// [`registrations`](Registry::registrations).
    pub(crate) fn matching(&self, event_type: &str) -> Matching<'_> {
        let indices: Cow<'_, [usize]> = match self.exact.get(event_type) {
            Some(indices) => Cow::Borrowed(indices),
            None => Cow::Owned(
                self.wildcards
                    .iter()
                    .copied()
                    .filter(|&i| matches(&self.handlers[i], event_type))
                    .collect(),
            ),
        };
        Matching {
            handlers: &self.handlers,
            indices,
            next: 0,
        }
    }

    /// Whether any handler runs for `event_type`.
    #[must_use]
    pub fn handles(&self, event_type: &str) -> bool {
        self.exact.contains_key(event_type)
            || self
                .wildcards
                .iter()
                .any(|&i| matches(&self.handlers[i], event_type))
    }

    /// Every registered handler, in dispatch order.
    #[must_use]
    pub fn registered_events(&self) -> Vec<RegisteredHandler> {
        self.handlers
            .iter()
            .map(|r| RegisteredHandler {
                pattern: r.pattern,
                path: r.path,
                location: r.location,
            })
            .collect()
    }

    /// The event types to subscribe the sender's endpoint to (PaymentKit's `enabled_events`):
    /// every exact type, and every PaymentKit catalogue type a prefix pattern matches, sorted
    /// and without repeats. A catch-all handler makes it `["*"]`.
    ///
    /// ```
    /// # use webhook_core::Registry;
    /// let registry = Registry::from_inventory()?;
    /// println!("enabled_events: {:?}", registry.enabled_events());
    /// # Ok::<(), webhook_core::RegistryError>(())
    /// ```
    #[must_use]
    pub fn enabled_events(&self) -> Vec<&'static str> {
        let mut events = Vec::new();
        for registration in &self.handlers {
            match Pattern::parse(registration.pattern) {
                Some(Pattern::Any) => return vec!["*"],
                Some(Pattern::Exact(exact)) => events.push(exact),
                Some(Pattern::Prefix(prefix)) => events.extend(
                    crate::paymentkit::event_types()
                        .filter(|t| t.len() > prefix.len() && t.starts_with(prefix)),
                ),
                None => {}
            }
        }
        events.sort_unstable();
        events.dedup();
        events
    }

    /// The registrations, in dispatch order.
    pub(crate) fn registrations(&self) -> &[Registration] {
        &self.handlers
    }
}

/// Whether the item at `path` is `module` or inside it, on whole `::` segments.
fn in_module(path: &str, module: &str) -> bool {
    path.strip_prefix(module)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

/// The handlers that run for one event type, in order, each with its index: what
/// [`Registry::matching`] returns. Named so a delivery can carry the handlers it has not yet
/// claimed from one step to the next.
#[derive(Debug, Clone)]
pub(crate) struct Matching<'a> {
    handlers: &'a [Registration],
    indices: Cow<'a, [usize]>,
    next: usize,
}

impl<'a> Iterator for Matching<'a> {
    type Item = (usize, &'a Registration);

    fn next(&mut self) -> Option<Self::Item> {
        let index = *self.indices.get(self.next)?;
        self.next += 1;
        Some((index, &self.handlers[index]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.indices.len() - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Matching<'_> {}

fn matches(registration: &Registration, event_type: &str) -> bool {
    match Pattern::parse(registration.pattern) {
        Some(Pattern::Any) => true,
        Some(Pattern::Prefix(prefix)) => {
            event_type.len() > prefix.len() && event_type.starts_with(prefix)
        }
        Some(Pattern::Exact(exact)) => exact == event_type,
        None => false,
    }
}

/// Builder for [`Registry`].
#[derive(Debug, Default)]
pub struct RegistryBuilder {
    handlers: Vec<Registration>,
}

impl RegistryBuilder {
    /// Add a handler.
    #[must_use]
    pub fn register(mut self, registration: Registration) -> Self {
        self.handlers.push(registration);
        self
    }

    /// Validate, order and index the handlers.
    ///
    /// # Errors
    /// [`RegistryError`] for an invalid handler path or pattern, or a duplicate registration.
    pub fn build(mut self) -> Result<Registry, RegistryError> {
        for r in &self.handlers {
            // Checked once here rather than by the store on every claim.
            if !crate::idempotency::valid_handler_path(r.path) {
                return Err(RegistryError::InvalidPath {
                    path: r.path,
                    location: r.location,
                });
            }
            if Pattern::parse(r.pattern).is_none() {
                return Err(RegistryError::InvalidPattern {
                    pattern: r.pattern,
                    path: r.path,
                    location: r.location,
                });
            }
        }
        self.handlers.sort_by(|a, b| {
            (a.group(), a.path, a.location, a.pattern).cmp(&(
                b.group(),
                b.path,
                b.location,
                b.pattern,
            ))
        });
        let mut seen: HashMap<(&str, &str), Location> = HashMap::new();
        for r in &self.handlers {
            if let Some(first) = seen.insert((r.path, r.pattern), r.location) {
                let (first, second) = (first.min(r.location), first.max(r.location));
                return Err(RegistryError::Duplicate {
                    pattern: r.pattern,
                    path: r.path,
                    first,
                    second,
                });
            }
        }
        let handlers = self.handlers;
        let wildcards: Vec<usize> = (0..handlers.len())
            .filter(|&i| !matches!(Pattern::parse(handlers[i].pattern), Some(Pattern::Exact(_))))
            .collect();
        let mut exact = HashMap::default();
        for r in &handlers {
            if let Some(Pattern::Exact(event_type)) = Pattern::parse(r.pattern) {
                exact.entry(event_type).or_insert_with(|| {
                    let mut seen_paths = Vec::new();
                    (0..handlers.len())
                        .filter(|&i| matches(&handlers[i], event_type))
                        .filter(|&i| {
                            let fresh = !seen_paths.contains(&handlers[i].path);
                            seen_paths.push(handlers[i].path);
                            fresh
                        })
                        .collect::<Box<[usize]>>()
                });
            }
        }
        Ok(Registry {
            handlers,
            exact,
            wildcards,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::HandlerError;
    use crate::idempotency::MAX_HANDLER_LEN;

    fn noop(_: Delivery) -> HandlerFuture {
        Box::pin(async { Ok::<(), HandlerError>(()) })
    }

    fn ok(_: &Resources) -> Result<(), MissingState> {
        Ok(())
    }

    fn reg(pattern: &'static str, path: &'static str, line: u32) -> Registration {
        Registration::new(pattern, path, Location::new("x.rs", line, 1), noop, ok)
    }

    fn order(registry: &Registry, event_type: &str) -> Vec<&'static str> {
        registry
            .handlers_for(event_type)
            .map(Registration::path)
            .collect()
    }

    #[test]
    fn orders_catch_all_then_prefixes_then_exact() {
        let registry = Registry::builder()
            .register(reg("customer.subscription.created", "app::z_exact", 1))
            .register(reg("customer.subscription.created", "app::a_exact", 2))
            .register(reg("customer.subscription.*", "app::long_prefix", 3))
            .register(reg("customer.*", "app::short_prefix", 4))
            .register(reg("*", "app::all", 5))
            .register(reg("invoice.paid", "app::invoice", 6))
            .build()
            .unwrap();
        assert_eq!(
            order(&registry, "customer.subscription.created"),
            [
                "app::all",
                "app::short_prefix",
                "app::long_prefix",
                "app::a_exact",
                "app::z_exact"
            ]
        );
        assert_eq!(
            order(&registry, "customer.subscription.deleted"),
            ["app::all", "app::short_prefix", "app::long_prefix"]
        );
        assert_eq!(
            order(&registry, "customer.created"),
            ["app::all", "app::short_prefix"]
        );
        assert_eq!(order(&registry, "customer"), ["app::all"]);
        assert_eq!(order(&registry, "customers.created"), ["app::all"]);
        assert_eq!(
            order(&registry, "invoice.paid"),
            ["app::all", "app::invoice"]
        );
        assert!(registry.handles("anything"));
    }

    #[test]
    fn prefixes_match_whole_segments_only() {
        let registry = Registry::builder()
            .register(reg("charge.dispute.*", "app::disputes", 1))
            .build()
            .unwrap();
        assert_eq!(
            order(&registry, "charge.dispute.created"),
            ["app::disputes"]
        );
        assert!(order(&registry, "charge.dispute_foo.created").is_empty());
        assert!(order(&registry, "charge.dispute").is_empty());
        assert!(!registry.handles("charge.succeeded"));
    }

    #[test]
    fn one_function_under_overlapping_patterns_runs_once() {
        let registry = Registry::builder()
            .register(reg("*", "app::audit", 1))
            .register(reg("invoice.paid", "app::audit", 2))
            .build()
            .unwrap();
        assert_eq!(order(&registry, "invoice.paid"), ["app::audit"]);
    }

    #[test]
    fn rejects_handler_paths_that_cannot_be_idempotency_keys() {
        // Each would be refused by the store at every claim; the registry refuses it once, when
        // the receiver is built, and the receiver's memory store then skips the check.
        let long: &'static str = "a".repeat(MAX_HANDLER_LEN + 1).leak();
        for bad in ["", "app::h\n", "app::\u{7}h", "app::\u{85}h", long] {
            let refused = Registry::builder()
                .register(reg("invoice.paid", bad, 4))
                .build()
                .unwrap_err();
            assert_eq!(
                refused,
                RegistryError::InvalidPath {
                    path: bad,
                    location: Location::new("x.rs", 4, 1),
                },
                "{bad:?}"
            );
        }
        assert_eq!(
            Registry::builder()
                .register(reg("invoice.paid", "", 4))
                .build()
                .unwrap_err()
                .to_string(),
            "handler path \"\" at x.rs:4:1 cannot be an idempotency key: it must be 1 to 1024 \
             bytes without control characters"
        );
        let longest: &'static str = "é".repeat(MAX_HANDLER_LEN / 2).leak();
        for good in ["app::h", "app::ünïcode::h", "a b", longest] {
            assert!(
                Registry::builder()
                    .register(reg("invoice.paid", good, 1))
                    .build()
                    .is_ok(),
                "{good:?}"
            );
        }
    }

    #[test]
    fn rejects_duplicates_and_invalid_patterns() {
        let duplicate = Registry::builder()
            .register(reg("invoice.paid", "app::h", 9))
            .register(reg("invoice.paid", "app::h", 3))
            .build()
            .unwrap_err();
        assert_eq!(
            duplicate.to_string(),
            "handler `app::h` is registered twice for `invoice.paid`: at x.rs:3:1 and at x.rs:9:1"
        );
        for bad in ["", ".", "a..b", "a.", "*.a", "a.*.b", "a b", "a.**", "é"] {
            assert!(
                matches!(
                    Registry::builder().register(reg(bad, "app::h", 1)).build(),
                    Err(RegistryError::InvalidPattern { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn enabled_events_expand_prefixes_against_the_catalogue() {
        let registry = Registry::builder()
            .register(reg("invoice.paid", "app::a", 1))
            .register(reg("customer.subscription.*", "app::b", 2))
            .register(reg("issues.opened", "app::c", 3))
            .register(reg("invoice.paid", "app::d", 4))
            .build()
            .unwrap();
        let events = registry.enabled_events();
        assert!(events.contains(&"customer.subscription.renewed"));
        assert!(events.contains(&"issues.opened"));
        assert_eq!(events.iter().filter(|e| **e == "invoice.paid").count(), 1);
        assert!(events.iter().all(|e| !e.starts_with("customer.created")));
        assert!(events.windows(2).all(|w| w[0] < w[1]));
        let all = Registry::builder()
            .register(reg("*", "app::all", 1))
            .build()
            .unwrap();
        assert_eq!(all.enabled_events(), ["*"]);
    }

    #[test]
    fn from_module_selects_one_module_subtree() {
        let all = [
            reg("charge.succeeded", "app::stripe::on_charge", 1),
            reg("invoice.paid", "app::stripe::billing::on_invoice", 2),
            reg("charge.succeeded", "app::stripe2::on_charge", 3),
            reg("charge.succeeded", "app::stripes::on_charge", 4),
            reg("payment_intent.succeeded", "app::paymentkit::fulfil", 5),
            reg("charge.succeeded", "other::app::stripe::on_charge", 6),
        ];
        let paths = |module: &str| -> Vec<&'static str> {
            Registry::from_registrations_in(all, module)
                .unwrap()
                .registered_events()
                .iter()
                .map(|h| h.path)
                .collect()
        };
        assert_eq!(
            paths("app::stripe"),
            ["app::stripe::billing::on_invoice", "app::stripe::on_charge"]
        );
        assert_eq!(
            paths("app::stripe::billing"),
            ["app::stripe::billing::on_invoice"]
        );
        // A handler's own path selects that handler.
        assert_eq!(paths("app::stripe::on_charge"), ["app::stripe::on_charge"]);
        assert_eq!(paths("app::paymentkit"), ["app::paymentkit::fulfil"]);
        assert_eq!(paths("app").len(), 5);
        for module in [
            "app::strip",
            "app::stripe::",
            "stripe",
            "",
            "app::stripe::on_charg",
        ] {
            assert_eq!(
                Registry::from_registrations_in(all, module).unwrap_err(),
                RegistryError::EmptyModule {
                    module: module.to_owned()
                },
                "{module:?}"
            );
        }
    }

    #[test]
    fn from_module_still_validates() {
        let duplicate = [
            reg("invoice.paid", "app::stripe::h", 1),
            reg("invoice.paid", "app::stripe::h", 2),
        ];
        assert!(matches!(
            Registry::from_registrations_in(duplicate, "app::stripe"),
            Err(RegistryError::Duplicate { .. })
        ));
        let invalid = [reg("invoice..paid", "app::stripe::h", 1)];
        assert!(matches!(
            Registry::from_registrations_in(invalid, "app::stripe"),
            Err(RegistryError::InvalidPattern { .. })
        ));
        // An invalid handler outside the module does not concern this registry.
        let elsewhere = [
            reg("invoice..paid", "app::paymentkit::h", 1),
            reg("invoice.paid", "app::stripe::h", 2),
        ];
        assert!(Registry::from_registrations_in(elsewhere, "app::stripe").is_ok());
    }

    #[test]
    fn lists_registered_handlers_in_order() {
        let registry = Registry::builder()
            .register(reg("invoice.paid", "app::b", 1))
            .register(reg("*", "app::a", 2))
            .build()
            .unwrap();
        let listed: Vec<String> = registry
            .registered_events()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            listed,
            [
                "* -> app::a (x.rs:2:1)",
                "invoice.paid -> app::b (x.rs:1:1)"
            ]
        );
    }
}
