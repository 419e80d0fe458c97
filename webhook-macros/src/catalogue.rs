//! Event-name grammar and the PaymentKit catalogue (`@blocklet/payment-types@1.27.2`).

use syn::LitStr;

use crate::errors::Errors;

/// The 214 PaymentKit event types, one per line.
const CATALOGUE: &str = include_str!("paymentkit-event-types.txt");

const GRAMMAR: &str = "expected dot-separated segments of letters, digits, `_` or `-` \
    (`payment_intent.succeeded`), a prefix (`customer.subscription.*`) or `*`";

pub(crate) fn known_types() -> impl Iterator<Item = &'static str> {
    CATALOGUE
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
}

/// Report an event pattern that is malformed or, unless `unchecked`, names no PaymentKit type.
pub(crate) fn check(event: &LitStr, unchecked: bool, errors: &mut Errors) {
    let name = event.value();
    if name.is_empty() {
        errors.spanned(
            event,
            "the event type cannot be empty: write one such as `\"payment_intent.succeeded\"`, \
             a prefix such as `\"invoice.*\"`, or `\"*\"`",
        );
        return;
    }
    let Some(shape) = shape(&name) else {
        errors.spanned(
            event,
            format!(
                "invalid event pattern `{name}`: {}; {GRAMMAR}",
                problem(&name)
            ),
        );
        return;
    };
    if unchecked {
        return;
    }
    let unchecked_hint = format!(
        "note: for another sender's event types, add `unchecked`: \
         `#[on_event(\"{name}\", unchecked)]`"
    );
    match shape {
        Shape::Any => {}
        Shape::Exact(exact) => {
            if !known_types().any(|known| known == exact) {
                let hint = suggestion(exact)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                errors.spanned(
                    event,
                    format!("unknown PaymentKit event type `{exact}`{hint}\n{unchecked_hint}"),
                );
            }
        }
        Shape::Prefix(prefix) => {
            if !prefixes().any(|known| known == prefix) {
                let hint = prefix_suggestion(prefix)
                    .map(|s| format!("; did you mean `{s}.*`?"))
                    .unwrap_or_default();
                errors.spanned(
                    event,
                    format!(
                        "no PaymentKit event type starts with `{prefix}.`{hint}\n{unchecked_hint}"
                    ),
                );
            }
        }
    }
}

/// A pattern's shape.
pub(crate) enum Shape<'a> {
    Any,
    /// The part before `.*`.
    Prefix(&'a str),
    Exact(&'a str),
}

/// Segments of `[A-Za-z0-9_-]` separated by `.`; `*` alone or as the whole last segment.
/// The same grammar `webhook_core::Registry` checks at run time.
pub(crate) fn shape(pattern: &str) -> Option<Shape<'_>> {
    if pattern == "*" {
        return Some(Shape::Any);
    }
    let (body, prefix) = match pattern.strip_suffix(".*") {
        Some(body) => (body, true),
        None => (pattern, false),
    };
    let valid = !body.is_empty() && body.split('.').all(valid_segment);
    match (valid, prefix) {
        (false, _) => None,
        (true, true) => Some(Shape::Prefix(body)),
        (true, false) => Some(Shape::Exact(body)),
    }
}

fn valid_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// What is wrong with a pattern `shape` rejected, so the message names the mistake rather
/// than only restating the grammar.
fn problem(pattern: &str) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '*');
    if let Some(c) = pattern.chars().find(|&c| !allowed(c)) {
        return match c {
            ' ' => "it contains a space".to_owned(),
            c if c.is_whitespace() => "it contains whitespace".to_owned(),
            c => format!("`{c}` is not allowed"),
        };
    }
    if pattern.contains('*') {
        return "`*` can only be the whole last segment".to_owned();
    }
    "it has an empty segment".to_owned()
}

/// Every `a` and `a.b` that some catalogue type continues with a further segment.
fn prefixes() -> impl Iterator<Item = &'static str> {
    known_types().flat_map(|known| known.match_indices('.').map(move |(end, _)| &known[..end]))
}

/// The catalogue entry closest to `name`, if it is close enough to be a typo.
pub(crate) fn suggestion(name: &str) -> Option<&'static str> {
    closest(name, known_types())
}

fn prefix_suggestion(prefix: &str) -> Option<&'static str> {
    closest(prefix, prefixes())
}

fn closest(name: &str, candidates: impl Iterator<Item = &'static str>) -> Option<&'static str> {
    let (distance, best) = candidates
        .map(|known| (edit_distance(name, known), known))
        .min()?;
    (distance <= (name.len() / 4).max(2)).then_some(best)
}

pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_complete() {
        assert_eq!(known_types().count(), 214);
        assert!(known_types().any(|t| t == "payment_intent.succeeded"));
    }

    #[test]
    fn suggests_near_misses_only() {
        assert_eq!(
            suggestion("payment_intent.succeded"),
            Some("payment_intent.succeeded")
        );
        assert_eq!(suggestion("invoice.payed"), Some("invoice.paid"));
        assert_eq!(suggestion("completely.different.thing"), None);
        assert_eq!(prefix_suggestion("payment_intents"), Some("payment_intent"));
        assert_eq!(
            prefix_suggestion("customer.subscriptions"),
            Some("customer.subscription")
        );
        assert_eq!(prefix_suggestion("github"), None);
    }

    #[test]
    fn prefixes_stop_before_the_last_segment() {
        assert!(prefixes().any(|p| p == "customer"));
        assert!(prefixes().any(|p| p == "customer.subscription"));
        assert!(!prefixes().any(|p| p == "payment_intent.succeeded"));
    }

    #[test]
    fn grammar() {
        assert!(matches!(shape("*"), Some(Shape::Any)));
        assert!(matches!(
            shape("customer.*"),
            Some(Shape::Prefix("customer"))
        ));
        assert!(matches!(shape("a.b"), Some(Shape::Exact("a.b"))));
        for bad in ["", ".", "a..b", "a.", "*.a", "a.*.b", "a b", "**", "é"] {
            assert!(shape(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn names_the_problem() {
        assert_eq!(problem("payment intent"), "it contains a space");
        assert_eq!(problem("invoice/paid"), "`/` is not allowed");
        assert_eq!(problem("a.*.b"), "`*` can only be the whole last segment");
        assert_eq!(problem("invoice..paid"), "it has an empty segment");
        assert_eq!(problem(".invoice"), "it has an empty segment");
    }
}
