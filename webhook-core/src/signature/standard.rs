//! Standard Webhooks (Svix): `webhook-id`, `webhook-timestamp`, `webhook-signature`.

use std::borrow::Cow;
use std::fmt;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use http::{HeaderName, HeaderValue};
use smallvec::SmallVec;

use super::header::{matches_any, parse_unix_seconds, required, HmacKey, MAX_ITEMS};
use super::{
    Freshness, Scheme, SecretError, SignError, SignedRequest, Unsigned, Verified, VerifyError,
    MAX_SIGNATURES,
};
use crate::envelope::valid_id;

const ID: &str = "webhook-id";
const TIMESTAMP: &str = "webhook-timestamp";
const SIGNATURE: &str = "webhook-signature";
// Looked up by `HeaderName` (see `required`).
static ID_NAME: HeaderName = HeaderName::from_static(ID);
static TIMESTAMP_NAME: HeaderName = HeaderName::from_static(TIMESTAMP);
static SIGNATURE_NAME: HeaderName = HeaderName::from_static(SIGNATURE);

/// The shortest symmetric secret accepted, in decoded bytes (the spec asks for 24 to 64).
const MIN_SECRET_LEN: usize = 24;

/// Secrets are shown padded, but some dashboards and the Python library accept them without
/// `=`; signatures in headers, by contrast, must be canonical padded base64.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The Standard Webhooks signature (signing.md section 3), as sent by Svix and others.
///
/// The signed content is `"<webhook-id>.<webhook-timestamp>.<raw body>"`.
/// `webhook-signature` is a space-separated list of `<version>,<base64>`:
///
/// * `v1`: HMAC-SHA256 keyed with the base64-decoded secret. Secrets are configured as
///   `whsec_<base64>` (the prefix is optional) and must decode to at least 24 bytes.
/// * `v1a`: ed25519. Configure the sender's public key as `whpk_<base64>` (32 bytes) to accept
///   it; sign with `whsk_<base64>` (the 32-byte seed, or the 64-byte seed and public key).
///
/// Other versions are skipped; any `v1`/`v1a` signature may match any configured key. The
/// `webhook-id` becomes [`Verified::id`] (the idempotency key); it must be 1 to 255 printable
/// ASCII characters without `.` (a dot would make the signed content ambiguous).
///
/// ```
/// use webhook_core::signature::{StandardWebhooks, Verifier};
///
/// let verifier = Verifier::builder(StandardWebhooks)
///     .secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
///     .build()?;
/// # Ok::<(), webhook_core::signature::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct StandardWebhooks;

/// A Standard Webhooks verification key: a symmetric `whsec_` secret or an ed25519 `whpk_`
/// public key.
#[derive(Clone)]
pub struct StandardWebhooksKey(VerifyKey);

#[derive(Clone)]
enum VerifyKey {
    Hmac(HmacKey),
    Ed25519(VerifyingKey),
}

impl fmt::Debug for StandardWebhooksKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            VerifyKey::Hmac(_) => "StandardWebhooksKey::V1(..)",
            VerifyKey::Ed25519(_) => "StandardWebhooksKey::V1a(..)",
        })
    }
}

/// A Standard Webhooks signing key: a symmetric `whsec_` secret (`v1`) or an ed25519 `whsk_`
/// private key (`v1a`).
pub struct StandardWebhooksSigningKey(SignKey);

enum SignKey {
    Hmac(HmacKey),
    Ed25519(Box<SigningKey>),
}

impl fmt::Debug for StandardWebhooksSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            SignKey::Hmac(_) => "StandardWebhooksSigningKey::V1(..)",
            SignKey::Ed25519(_) => "StandardWebhooksSigningKey::V1a(..)",
        })
    }
}

impl Scheme for StandardWebhooks {
    type Key = StandardWebhooksKey;
    type SigningKey = StandardWebhooksSigningKey;

    fn name(&self) -> &'static str {
        "standard-webhooks"
    }

    fn parse_key(&self, secret: &str) -> Result<StandardWebhooksKey, SecretError> {
        if let Some(public) = secret.strip_prefix("whpk_") {
            let bytes: [u8; 32] = decode_key(public)?
                .try_into()
                .map_err(|_| SecretError::Format("a whpk_ key is 32 bytes of base64"))?;
            let key = VerifyingKey::from_bytes(&bytes)
                .map_err(|_| SecretError::Format("whpk_ key is not an ed25519 public key"))?;
            // A small-order key accepts forged signatures; no honest sender has one.
            if key.is_weak() {
                return Err(SecretError::Format("whpk_ key is a weak ed25519 key"));
            }
            return Ok(StandardWebhooksKey(VerifyKey::Ed25519(key)));
        }
        if secret.starts_with("whsk_") {
            return Err(SecretError::Format(
                "whsk_ is a private signing key; verify with the whpk_ public key",
            ));
        }
        Ok(StandardWebhooksKey(VerifyKey::Hmac(symmetric(secret)?)))
    }

    fn parse_signing_key(&self, secret: &str) -> Result<StandardWebhooksSigningKey, SecretError> {
        if let Some(private) = secret.strip_prefix("whsk_") {
            let key = ed25519_signing_key(&decode_key(private)?)?;
            return Ok(StandardWebhooksSigningKey(SignKey::Ed25519(Box::new(key))));
        }
        if secret.starts_with("whpk_") {
            return Err(SecretError::Format("whpk_ is a public key and cannot sign"));
        }
        Ok(StandardWebhooksSigningKey(SignKey::Hmac(symmetric(
            secret,
        )?)))
    }

    fn verify<'a>(
        &self,
        keys: &[StandardWebhooksKey],
        request: &SignedRequest<'a>,
        freshness: Freshness,
    ) -> Result<Verified<'a>, VerifyError> {
        let id = required(request.headers, &ID_NAME)?;
        let id = std::str::from_utf8(id)
            .ok()
            .filter(|id| usable_id(id))
            .ok_or(VerifyError::MalformedHeader(ID))?;
        let timestamp_text = required(request.headers, &TIMESTAMP_NAME)?;
        let timestamp = parse_unix_seconds(timestamp_text)?;
        let signatures = parse_signatures(required(request.headers, &SIGNATURE_NAME)?)?;
        // The window is checked before any MAC is computed: stale replays cost no hashing.
        freshness.check(timestamp)?;

        let parts: [&[u8]; 5] = [id.as_bytes(), b".", timestamp_text, b".", request.body];
        let mut matched = false;
        for key in keys {
            match &key.0 {
                VerifyKey::Hmac(key) => matched |= matches_any(&key.tag(&parts), signatures.v1()),
                VerifyKey::Ed25519(key) => {
                    for signature in signatures.v1a() {
                        matched |= verify_ed25519(key, signature, &parts);
                    }
                }
            }
        }
        if matched {
            Ok(Verified {
                id: Some(Cow::Borrowed(id)),
                timestamp: Some(timestamp),
                ..Verified::default()
            })
        } else {
            Err(VerifyError::Mismatch)
        }
    }

    fn sign(
        &self,
        key: &StandardWebhooksSigningKey,
        unsigned: &Unsigned<'_>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, SignError> {
        if !usable_id(unsigned.id) {
            return Err(SignError::Invalid(
                "webhook-id must be 1 to 255 printable ASCII characters without `.`",
            ));
        }
        if unsigned.timestamp < 0 {
            return Err(SignError::Invalid("timestamp is negative"));
        }
        let timestamp = unsigned.timestamp.to_string();
        let parts: [&[u8]; 5] = [
            unsigned.id.as_bytes(),
            b".",
            timestamp.as_bytes(),
            b".",
            unsigned.body,
        ];
        let signature = match &key.0 {
            SignKey::Hmac(key) => format!("v1,{}", STANDARD.encode(key.tag(&parts))),
            SignKey::Ed25519(key) => {
                // Signing reads the message twice, so it needs it in one piece; only senders
                // and tests pay for this copy, verification streams.
                let message = parts.concat();
                format!("v1a,{}", STANDARD.encode(key.sign(&message).to_bytes()))
            }
        };
        let value = |text: &str| {
            HeaderValue::from_str(text).map_err(|_| SignError::Invalid("header value"))
        };
        Ok(vec![
            (HeaderName::from_static(ID), value(unsigned.id)?),
            (HeaderName::from_static(TIMESTAMP), value(&timestamp)?),
            (HeaderName::from_static(SIGNATURE), value(&signature)?),
        ])
    }
}

/// A usable `webhook-id`: an envelope-valid id without `.`.
fn usable_id(id: &str) -> bool {
    valid_id(id) && !id.contains('.')
}

/// The HMAC key of a `whsec_<base64>` (or bare base64) secret.
fn symmetric(secret: &str) -> Result<HmacKey, SecretError> {
    let bytes = decode_key(secret.strip_prefix("whsec_").unwrap_or(secret))?;
    if bytes.len() < MIN_SECRET_LEN {
        return Err(SecretError::Format(
            "a Standard Webhooks secret decodes to at least 24 bytes",
        ));
    }
    HmacKey::new(&bytes)
}

fn decode_key(text: &str) -> Result<Vec<u8>, SecretError> {
    LENIENT
        .decode(text)
        .map_err(|_| SecretError::Format("key is not valid base64"))
}

/// An ed25519 signing key from a 32-byte seed, or a 64-byte seed followed by its public key.
pub(crate) fn ed25519_signing_key(bytes: &[u8]) -> Result<SigningKey, SecretError> {
    let (seed, public) = match bytes.len() {
        32 => (bytes, None),
        64 => (&bytes[..32], Some(&bytes[32..])),
        _ => {
            return Err(SecretError::Format(
                "an ed25519 private key is a 32-byte seed or 64 bytes of seed and public key",
            ))
        }
    };
    let mut array = [0u8; 32];
    array.copy_from_slice(seed);
    let key = SigningKey::from_bytes(&array);
    if public.is_some_and(|public| public != key.verifying_key().as_bytes()) {
        return Err(SecretError::Format(
            "the public half of the ed25519 key does not belong to its seed",
        ));
    }
    Ok(key)
}

/// Verify an ed25519 signature over the concatenation of `parts` without copying them.
fn verify_ed25519(key: &VerifyingKey, signature: &[u8; 64], parts: &[&[u8]]) -> bool {
    let signature = Signature::from_bytes(signature);
    // Rejects a non-canonical `s`; weak keys were refused when the key was parsed, and the
    // final comparison is on the encoded `R`, so this is as strict as `verify_strict`.
    let Ok(mut stream) = key.verify_stream(&signature) else {
        return false;
    };
    for part in parts {
        stream.update(part);
    }
    stream.finalize_and_verify().is_ok()
}

/// The signatures of a `webhook-signature` header, by version.
///
/// Senders send one or two (during a key rotation) of one kind: those are kept inline, and
/// the list is not the 1.5 KiB that room for `MAX_SIGNATURES` of each would zero and copy on
/// every delivery.
#[derive(Debug)]
pub(crate) struct Signatures {
    v1: SmallVec<[[u8; 32]; 2]>,
    v1a: SmallVec<[[u8; 64]; 1]>,
}

impl Signatures {
    fn v1(&self) -> &[[u8; 32]] {
        &self.v1
    }

    fn v1a(&self) -> &[[u8; 64]] {
        &self.v1a
    }
}

/// Parse `<version>,<base64>[ <version>,<base64>..]`.
///
/// Entries of unknown versions are skipped, and so are `v1`/`v1a` entries that are not exactly
/// one canonical padded base64 signature of the right length (empty, truncated, extended,
/// unpadded): such an entry can never match. An entry without a comma makes the whole header
/// malformed. At most [`MAX_SIGNATURES`] signatures and `4 * MAX_SIGNATURES` entries are read.
pub(crate) fn parse_signatures(value: &[u8]) -> Result<Signatures, VerifyError> {
    if value.is_empty() || !value.iter().all(|&b| b.is_ascii_graphic() || b == b' ') {
        return Err(VerifyError::MalformedHeader(SIGNATURE));
    }
    let mut parsed = Signatures {
        v1: SmallVec::new(),
        v1a: SmallVec::new(),
    };
    // Senders separate entries with one space; runs of spaces are tolerated, not counted.
    let entries = value
        .split(|&b| b == b' ')
        .filter(|entry| !entry.is_empty());
    for (index, entry) in entries.enumerate() {
        if index >= MAX_ITEMS {
            return Err(VerifyError::TooManySignatures);
        }
        let Some(comma) = entry.iter().position(|&b| b == b',') else {
            return Err(VerifyError::MalformedHeader(SIGNATURE));
        };
        let (version, encoded) = (&entry[..comma], &entry[comma + 1..]);
        if !matches!(version, b"v1" | b"v1a") {
            continue;
        }
        if parsed.v1.len() + parsed.v1a.len() == MAX_SIGNATURES {
            return Err(VerifyError::TooManySignatures);
        }
        // Large enough for any valid signature plus one stray group, so longer input fails
        // by length, not by a buffer error.
        let mut buffer = [0u8; 72];
        let Ok(len) = STANDARD.decode_slice(encoded, &mut buffer) else {
            continue;
        };
        match (version, len) {
            (b"v1", 32) => {
                let mut signature = [0; 32];
                signature.copy_from_slice(&buffer[..32]);
                parsed.v1.push(signature);
            }
            (b"v1a", 64) => {
                let mut signature = [0; 64];
                signature.copy_from_slice(&buffer[..64]);
                parsed.v1a.push(signature);
            }
            _ => {}
        }
    }
    if parsed.v1.is_empty() && parsed.v1a.is_empty() {
        return Err(VerifyError::NoSignature);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn parses_lists_and_skips_unknown_versions() {
        let value = format!("v2,abc v1,{SIG}  v1a,{} v1,{SIG}", "A".repeat(86) + "==");
        let parsed = parse_signatures(value.as_bytes()).unwrap();
        assert_eq!(parsed.v1().len(), 2);
        assert_eq!(parsed.v1a().len(), 1);
    }

    #[test]
    fn garbled_signatures_never_parse() {
        let cases = [
            (String::new(), VerifyError::MalformedHeader(SIGNATURE)),
            ("   ".to_owned(), VerifyError::NoSignature),
            ("v1,".to_owned(), VerifyError::NoSignature),
            ("v1".to_owned(), VerifyError::MalformedHeader(SIGNATURE)),
            (format!("v1{SIG}"), VerifyError::MalformedHeader(SIGNATURE)),
            (format!("v1,{}", &SIG[..8]), VerifyError::NoSignature),
            (format!("v1,{SIG}A"), VerifyError::NoSignature),
            (format!("v1,{SIG}AAAA"), VerifyError::NoSignature),
            (
                format!("v1,{}", SIG.trim_end_matches('=')),
                VerifyError::NoSignature,
            ),
            (format!("v2,{SIG}"), VerifyError::NoSignature),
            (format!("v1a,{SIG}"), VerifyError::NoSignature),
            (
                format!("v1,{SIG}\t"),
                VerifyError::MalformedHeader(SIGNATURE),
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(
                parse_signatures(value.as_bytes()).unwrap_err(),
                expected,
                "{value:?}"
            );
        }
    }

    #[test]
    fn bounds_the_number_of_signatures() {
        let at_limit = vec![format!("v1,{SIG}"); MAX_SIGNATURES].join(" ");
        assert!(parse_signatures(at_limit.as_bytes()).is_ok());
        let over = vec![format!("v1,{SIG}"); MAX_SIGNATURES + 1].join(" ");
        assert_eq!(
            parse_signatures(over.as_bytes()).unwrap_err(),
            VerifyError::TooManySignatures
        );
        let junk = format!("v1,{SIG}{}", " v9,x".repeat(MAX_ITEMS));
        assert_eq!(
            parse_signatures(junk.as_bytes()).unwrap_err(),
            VerifyError::TooManySignatures
        );
    }

    #[test]
    fn keys_are_checked() {
        let s = StandardWebhooks;
        assert!(s
            .parse_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .is_ok());
        assert!(s.parse_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
        // Too short (18 bytes), not base64, private key where a public one belongs.
        for bad in ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZI", "whsec_!!!!", "whsk_AAAA"] {
            assert!(s.parse_key(bad).is_err(), "{bad}");
        }
        // The identity point is a weak key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = format!("whpk_{}", STANDARD.encode(identity));
        assert!(s.parse_key(&weak).is_err());
        assert!(s
            .parse_signing_key("whpk_A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=")
            .is_err());
    }
}
