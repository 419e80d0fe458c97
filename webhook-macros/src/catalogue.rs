//! Event-name grammar and the PaymentKit catalogue (`@blocklet/payment-types@1.27.2`).

/// The 214 PaymentKit event types, one per line.
const CATALOGUE: &str = include_str!("paymentkit-event-types.txt");

pub(crate) fn known_types() -> impl Iterator<Item = &'static str> {
    CATALOGUE.lines().map(str::trim).filter(|line| !line.is_empty())
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
    let valid = !body.is_empty()
        && body.split('.').all(|segment| {
            !segment.is_empty()
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
    match (valid, prefix) {
        (false, _) => None,
        (true, true) => Some(Shape::Prefix(body)),
        (true, false) => Some(Shape::Exact(body)),
    }
}

/// The catalogue entry closest to `name`, if it is close enough to be a typo.
pub(crate) fn suggestion(name: &str) -> Option<&'static str> {
    let (distance, best) = known_types()
        .map(|known| (edit_distance(name, known), known))
        .min()?;
    (distance <= (name.len() / 4).max(2)).then_some(best)
}

fn edit_distance(a: &str, b: &str) -> usize {
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
        assert_eq!(suggestion("payment_intent.succeded"), Some("payment_intent.succeeded"));
        assert_eq!(suggestion("invoice.payed"), Some("invoice.paid"));
        assert_eq!(suggestion("completely.different.thing"), None);
    }

    #[test]
    fn grammar() {
        assert!(matches!(shape("*"), Some(Shape::Any)));
        assert!(matches!(shape("customer.*"), Some(Shape::Prefix("customer"))));
        assert!(matches!(shape("a.b"), Some(Shape::Exact("a.b"))));
        for bad in ["", ".", "a..b", "a.", "*.a", "a.*.b", "a b", "**", "é"] {
            assert!(shape(bad).is_none(), "{bad:?}");
        }
    }
}
