//! Parsing of `t=<unix>,v1=<hex>[,v1=<hex>...]` signature headers and the HMAC-SHA256 key type
//! shared by the schemes that use them (PaymentKit, Stripe).

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{SecretError, VerifyError, MAX_SIGNATURES};
use crate::ascii::every_byte;

/// An HMAC-SHA256 key with its key schedule computed once.
#[derive(Clone)]
pub struct HmacKey {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacKey(..)")
    }
}

impl HmacKey {
    /// A key from raw key bytes.
    ///
    /// # Errors
    /// Never for HMAC (any length is valid); the `Result` keeps scheme code uniform.
    pub fn new(key: &[u8]) -> Result<Self, SecretError> {
        Hmac::<Sha256>::new_from_slice(key)
            .map(|mac| Self { mac })
            .map_err(|_| SecretError::Format("unusable HMAC key"))
    }

    /// The MAC of the concatenation of `parts`.
    #[must_use]
    pub fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

/// True when `tag` equals any of `candidates`, compared in constant time per candidate.
pub(crate) fn matches_any(tag: &[u8; 32], candidates: &[[u8; 32]]) -> bool {
    // Fold without short-circuiting, so the time does not depend on which candidate matched.
    let mut found = subtle::Choice::from(0);
    for candidate in candidates {
        found |= difference(candidate, tag).ct_eq(&0);
    }
    found.into()
}

/// True when the lowercase hex of `tag` equals any of `candidates`, compared as text in
/// constant time per candidate.
///
/// Encoding the one tag is cheaper than decoding every candidate, and equal text is equal
/// bytes: the tag's hex is lowercase, so only a lowercase candidate can match.
pub(crate) fn matches_any_hex<'a>(
    tag: &[u8; 32],
    candidates: impl Iterator<Item = &'a [u8]>,
) -> bool {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    // By hand rather than with `hex::encode_to_slice`: a table lookup per nibble is a few
    // instructions, the crate's generic iterator several times that.
    let mut hex = [0u8; 64];
    for (byte, pair) in tag.iter().zip(hex.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
    let mut found = subtle::Choice::from(0);
    for candidate in candidates {
        // Unequal lengths compare unequal (lengths are not secret).
        if let Ok(candidate) = <&[u8; 64]>::try_from(candidate) {
            found |= difference(candidate, &hex).ct_eq(&0);
        }
    }
    found.into()
}

/// Zero exactly when `a == b`, computed without branching on their contents.
///
/// Eight bytes at a time, and the result is tested in constant time once by the caller:
/// subtle's slice comparison guards every byte, which costs ~30 instructions each.
fn difference<const N: usize>(a: &[u8; N], b: &[u8; N]) -> u64 {
    const { assert!(N % 8 == 0) };
    a.chunks_exact(8)
        .zip(b.chunks_exact(8))
        .fold(0, |acc, (a, b)| acc | (word(a) ^ word(b)))
}

/// Eight bytes as one word (any byte order does, for an equality test).
fn word(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(bytes);
    u64::from_ne_bytes(word)
}

/// A parsed `t=..,v1=..` header. The timestamp text is kept as received because it is part of
/// the signed content; the signatures are read from the header when compared.
#[derive(Debug)]
pub(crate) struct Timestamped<'a> {
    pub(crate) timestamp: i64,
    pub(crate) timestamp_text: &'a [u8],
    value: &'a [u8],
}

impl<'a> Timestamped<'a> {
    /// The `v1` values as sent. Those that are not 64 lowercase hex digits, which
    /// [`parse_timestamped`] does not count, are yielded too: they can never equal a tag's hex.
    pub(crate) fn signatures(&self) -> impl Iterator<Item = &'a [u8]> {
        self.value
            .split(|&b| b == b',')
            .filter_map(|item| item.strip_prefix(b"v1="))
    }
}

/// Whether `text` is a signature as [`Timestamped`] accepts it: 64 lowercase hex digits.
pub(crate) fn is_signature_hex(text: &[u8]) -> bool {
    text.len() == 64 && lower_hex(text)
}

/// Whether `text` is lowercase hex digits only.
///
/// Senders write lowercase, and the official verifiers (stripe-node, octokit) compare the hex
/// text, so `ABC` does not match `abc` for them either; being as strict keeps every change to a
/// signature's text a different signature.
fn lower_hex(text: &[u8]) -> bool {
    every_byte(text, |b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The most comma-separated items a header may have, counting versions that are skipped.
pub(crate) const MAX_ITEMS: usize = 4 * MAX_SIGNATURES;

/// Parse `t=<digits>,v1=<64 hex>[,v1=..][,v0=..]`.
///
/// Strict where the official SDKs disagree: exactly one `t`, digits only. Signatures of other
/// versions (`v0`, unknown) are skipped, as are `v1` values that are not 64 hex digits, so a
/// garbled entry can never match; a header left with no `v1` at all fails.
pub(crate) fn parse_timestamped<'a>(
    header: &'static str,
    value: &'a [u8],
) -> Result<Timestamped<'a>, VerifyError> {
    if value.is_empty() || !every_byte(value, |b| b.is_ascii_graphic()) {
        return Err(VerifyError::MalformedHeader(header));
    }
    let mut parsed = Timestamped {
        timestamp: 0,
        timestamp_text: &[],
        value,
    };
    let mut saw_timestamp = false;
    let mut signatures = 0;
    for (index, item) in value.split(|&b| b == b',').enumerate() {
        if index >= MAX_ITEMS {
            return Err(VerifyError::TooManySignatures);
        }
        let Some(eq) = item.iter().position(|&b| b == b'=') else {
            return Err(VerifyError::MalformedHeader(header));
        };
        let (key, value) = (&item[..eq], &item[eq + 1..]);
        match key {
            b"t" => {
                if saw_timestamp {
                    return Err(VerifyError::MalformedTimestamp);
                }
                saw_timestamp = true;
                parsed.timestamp = parse_unix_seconds(value)?;
                parsed.timestamp_text = value;
            }
            b"v1" => {
                if signatures == MAX_SIGNATURES {
                    return Err(VerifyError::TooManySignatures);
                }
                if is_signature_hex(value) {
                    signatures += 1;
                }
            }
            b"" => return Err(VerifyError::MalformedHeader(header)),
            _ => {}
        }
    }
    if !saw_timestamp {
        return Err(VerifyError::MalformedTimestamp);
    }
    if signatures == 0 {
        return Err(VerifyError::NoSignature);
    }
    Ok(parsed)
}

/// Decode lowercase hex (see [`lower_hex`]) into `out`, which it must fill exactly.
pub(crate) fn decode_lower_hex(text: &[u8], out: &mut [u8]) -> bool {
    lower_hex(text) && hex::decode_to_slice(text, out).is_ok()
}

/// The value of header `name`, which the scheme needs. Looked up by `HeaderName`: a name given
/// as `&str` is parsed and checked again on every lookup.
pub(crate) fn required<'a>(
    headers: &'a http::HeaderMap,
    name: &'static http::HeaderName,
) -> Result<&'a [u8], VerifyError> {
    headers
        .get(name)
        .map(http::HeaderValue::as_bytes)
        .ok_or(VerifyError::MissingHeader(name.as_str()))
}

/// Parse a Unix timestamp: 1 to 18 ASCII digits (no sign, no spaces, no suffix).
pub(crate) fn parse_unix_seconds(text: &[u8]) -> Result<i64, VerifyError> {
    if text.is_empty() || text.len() > 18 || !text.iter().all(u8::is_ascii_digit) {
        return Err(VerifyError::MalformedTimestamp);
    }
    Ok(text
        .iter()
        .fold(0i64, |acc, digit| acc * 10 + i64::from(digit - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn lower_hex_round_trips_and_other_text_is_refused(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
            flip in proptest::num::usize::ANY,
        ) {
            let text = hex::encode(&bytes);
            let mut out = vec![0; bytes.len()];
            proptest::prop_assert!(decode_lower_hex(text.as_bytes(), &mut out));
            proptest::prop_assert_eq!(&out, &bytes);
            // Any one character changed to something that is not a lowercase hex digit.
            if !text.is_empty() {
                let mut bad = text.clone().into_bytes();
                let at = flip % bad.len();
                for replacement in [b'A', b'F', b'g', b'G', b' ', b'x', 0xff] {
                    bad[at] = replacement;
                    proptest::prop_assert!(!decode_lower_hex(&bad, &mut out));
                }
            }
            // Wrong lengths.
            let (odd, long) = (format!("{text}0"), format!("{text}00"));
            proptest::prop_assert!(!decode_lower_hex(odd.as_bytes(), &mut out));
            proptest::prop_assert!(!decode_lower_hex(long.as_bytes(), &mut out));
        }
    }

    const H: &str = "X-Test";

    #[test]
    fn parses_timestamp_and_signatures() {
        let sig = "a".repeat(64);
        let value = format!("t=1700000000,v1={sig},v0=zz,v1={sig}");
        let parsed = parse_timestamped(H, value.as_bytes()).unwrap();
        assert_eq!(parsed.timestamp, 1_700_000_000);
        assert_eq!(parsed.timestamp_text, b"1700000000");
        assert_eq!(parsed.signatures().count(), 2);
        let garbled = format!("t=1700000000,v1={sig},v1=xyz");
        let parsed = parse_timestamped(H, garbled.as_bytes()).unwrap();
        // Yielded, but it can never match.
        assert_eq!(
            parsed.signatures().collect::<Vec<_>>(),
            [sig.as_bytes(), b"xyz"]
        );
    }

    #[test]
    fn rejects_malformed_headers() {
        let sig = "b".repeat(64);
        let cases: Vec<(String, VerifyError)> = vec![
            (String::new(), VerifyError::MalformedHeader(H)),
            (
                "I'm not even a real signature header".into(),
                VerifyError::MalformedHeader(H),
            ),
            ("t=".into(), VerifyError::MalformedTimestamp),
            (format!("v1={sig}"), VerifyError::MalformedTimestamp),
            ("t=1700000000".into(), VerifyError::NoSignature),
            ("t=1700000000,v0=abc".into(), VerifyError::NoSignature),
            ("t=1700000000,v9=abc".into(), VerifyError::NoSignature),
            ("t=1700000000,v1=".into(), VerifyError::NoSignature),
            ("t=1700000000,v1=abcd".into(), VerifyError::NoSignature),
            (
                format!("t=1700000000,v1={}", "g".repeat(64)),
                VerifyError::NoSignature,
            ),
            (
                format!("t=1700000000,v1={}", "B".repeat(64)),
                VerifyError::NoSignature,
            ),
            (
                format!("t=1700000000abc,v1={sig}"),
                VerifyError::MalformedTimestamp,
            ),
            (format!("t=-5,v1={sig}"), VerifyError::MalformedTimestamp),
            (format!("t=1,t=2,v1={sig}"), VerifyError::MalformedTimestamp),
            (
                format!("t=99999999999999999999,v1={sig}"),
                VerifyError::MalformedTimestamp,
            ),
            (
                format!("t=1700000000, v1={sig}"),
                VerifyError::MalformedHeader(H),
            ),
            (
                format!("t=1700000000,,v1={sig}"),
                VerifyError::MalformedHeader(H),
            ),
            (
                format!("t=1700000000,=x,v1={sig}"),
                VerifyError::MalformedHeader(H),
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(
                parse_timestamped(H, value.as_bytes()).unwrap_err(),
                expected,
                "header {value:?}"
            );
        }
    }

    #[test]
    fn rejects_non_ascii_bytes() {
        assert_eq!(
            parse_timestamped(H, b"t=1,v1=\xff").unwrap_err(),
            VerifyError::MalformedHeader(H)
        );
    }

    #[test]
    fn bounds_the_number_of_signatures() {
        let sig = "c".repeat(64);
        let at_limit = format!("t=1{}", format!(",v1={sig}").repeat(MAX_SIGNATURES));
        assert!(parse_timestamped(H, at_limit.as_bytes()).is_ok());
        let over = format!("t=1{}", format!(",v1={sig}").repeat(MAX_SIGNATURES + 1));
        assert_eq!(
            parse_timestamped(H, over.as_bytes()).unwrap_err(),
            VerifyError::TooManySignatures
        );
        let junk = format!("t=1,v1={sig}{}", ",v0=x".repeat(MAX_ITEMS));
        assert_eq!(
            parse_timestamped(H, junk.as_bytes()).unwrap_err(),
            VerifyError::TooManySignatures
        );
    }

    #[test]
    fn comparison_checks_every_bit() {
        let tag: [u8; 32] = std::array::from_fn(|i| u8::try_from(i * 7).unwrap());
        assert!(matches_any(&tag, &[[0; 32], tag]));
        assert!(!matches_any(&tag, &[[0; 32]]));
        assert!(!matches_any(&tag, &[]));
        for byte in 0..32 {
            for bit in 0..8 {
                let mut other = tag;
                other[byte] ^= 1 << bit;
                assert!(!matches_any(&tag, &[other]), "byte {byte} bit {bit}");
            }
        }
    }

    #[test]
    fn hex_comparison_matches_only_the_tags_lowercase_hex() {
        let tag = [0xabu8; 32];
        let hex = "ab".repeat(32);
        let others = [
            "cd".repeat(32),
            "AB".repeat(32),
            "ab".repeat(31),
            String::new(),
        ];
        assert!(matches_any_hex(&tag, [hex.as_bytes()].into_iter()));
        assert!(matches_any_hex(
            &tag,
            others.iter().map(String::as_bytes).chain([hex.as_bytes()])
        ));
        assert!(!matches_any_hex(&tag, others.iter().map(String::as_bytes)));
        assert!(!matches_any_hex(&tag, std::iter::empty()));
        for position in 0..64 {
            let mut other = hex.clone().into_bytes();
            other[position] = b'0';
            assert!(
                !matches_any_hex(&tag, [other.as_slice()].into_iter()),
                "at {position}"
            );
        }
    }
}
