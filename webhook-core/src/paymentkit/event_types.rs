//! The PaymentKit event-type catalogue, parsed from `event-types.txt` at compile time.

/// One type per line, sorted: the `EventType` union of `@blocklet/payment-types@1.27.2`
/// (`lib/types.d.ts`). Kept as text so it can be compared with the package by `diff`.
const CATALOGUE: &str = include_str!("event-types.txt");

const COUNT: usize = count_lines(CATALOGUE.as_bytes());

const LIST: [&str; COUNT] = split_lines(CATALOGUE);

// A bad edit of the text file fails the build instead of shipping an unsearchable list.
const _: () = assert!(
    is_sorted_unique(&LIST),
    "event-types.txt must be sorted and unique"
);

/// Every event type PaymentKit declares (214 in `@blocklet/payment-types@1.27.2`), sorted.
///
/// The list is the sender's catalogue: Stripe's event types copied wholesale plus PaymentKit's
/// own. Which of them PaymentKit really emits is documented for a subset only (see the
/// [module documentation](super)).
pub const EVENT_TYPES: &[&str] = &LIST;

/// The event types PaymentKit declares, in sorted order.
pub fn event_types() -> impl Iterator<Item = &'static str> {
    EVENT_TYPES.iter().copied()
}

/// Whether `event_type` is in PaymentKit's catalogue ([`EVENT_TYPES`]).
#[must_use]
pub fn is_known_event_type(event_type: &str) -> bool {
    EVENT_TYPES.binary_search(&event_type).is_ok()
}

const fn count_lines(bytes: &[u8]) -> usize {
    let mut count = 0;
    let mut start = 0;
    let mut i = 0;
    while i <= bytes.len() {
        if i == bytes.len() || bytes[i] == b'\n' {
            if i > start {
                count += 1;
            }
            start = i + 1;
        }
        i += 1;
    }
    count
}

const fn split_lines<const N: usize>(text: &'static str) -> [&'static str; N] {
    let mut out = [""; N];
    let mut rest = text.as_bytes();
    let mut n = 0;
    while !rest.is_empty() {
        let mut end = 0;
        while end < rest.len() && rest[end] != b'\n' {
            end += 1;
        }
        let (line, tail) = rest.split_at(end);
        if !line.is_empty() {
            // Splitting at an ASCII newline keeps UTF-8 valid, so this never fails.
            out[n] = match core::str::from_utf8(line) {
                Ok(line) => line,
                Err(_) => panic!("event-types.txt is not UTF-8"),
            };
            n += 1;
        }
        rest = match tail.split_first() {
            Some((_, after)) => after,
            None => tail,
        };
    }
    out
}

const fn is_sorted_unique(list: &[&str]) -> bool {
    let mut i = 1;
    while i < list.len() {
        if !less(list[i - 1].as_bytes(), list[i].as_bytes()) {
            return false;
        }
        i += 1;
    }
    true
}

/// Byte-wise `a < b`, the order of `str`'s `Ord` (needed in a `const fn`).
const fn less(a: &[u8], b: &[u8]) -> bool {
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}
