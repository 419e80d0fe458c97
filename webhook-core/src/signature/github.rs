//! GitHub: `X-Hub-Signature-256: sha256=<hex>` over the raw body, no timestamp.

use std::borrow::Cow;
use std::fmt;

use hmac::{Hmac, Mac};
use http::{HeaderName, HeaderValue};
use sha1::Sha1;
use smallvec::SmallVec;

use super::header::{is_signature_hex, matches_any_hex, required, HmacKey};
use super::{
    Freshness, Scheme, SecretError, SignError, SignedRequest, Unsigned, Verified, VerifyError,
    MAX_SIGNATURES,
};
use crate::envelope::valid_id;

const SIGNATURE: &str = "x-hub-signature-256";
const LEGACY_SIGNATURE: &str = "x-hub-signature";
const DELIVERY: &str = "x-github-delivery";
const EVENT: &str = "x-github-event";
const PREFIX: &[u8] = b"sha256=";
// Looked up by `HeaderName` (see `required`).
static SIGNATURE_NAME: HeaderName = HeaderName::from_static(SIGNATURE);
static DELIVERY_NAME: HeaderName = HeaderName::from_static(DELIVERY);
static EVENT_NAME: HeaderName = HeaderName::from_static(EVENT);

/// GitHub's webhook signature (signing.md section 4).
///
/// `X-Hub-Signature-256: sha256=<hex(HMAC-SHA256(key = secret text, raw body))>`. The legacy
/// SHA-1 header `X-Hub-Signature` is never accepted (it is only sent, by [`Scheme::sign`], so
/// deliveries look like GitHub's).
///
/// [`Verified::id`] is `X-GitHub-Delivery` (required). The event type is `X-GitHub-Event`,
/// followed by `.` and the body's top-level string `action` when there is one: an `issues`
/// delivery with `"action":"opened"` has type `issues.opened`, a `ping` has type `ping`.
/// Verification only reads the headers: [`Verified::event_type`] is `X-GitHub-Event` and
/// [`Verified::action_in_type`] is set, and [`Envelope::parse`](crate::Envelope::parse) appends
/// the `action` it reads in its one pass over the body (so the body is parsed once, not twice).
///
/// # Replay
///
/// GitHub signs no timestamp, so the tolerance window does not apply and a captured delivery
/// stays valid forever. Worse, the signature covers only the body: `X-GitHub-Delivery` and
/// `X-GitHub-Event` are not authenticated, so a captured body can be sent again under a new
/// delivery id. The idempotency record of a delivery id is therefore the only replay barrier,
/// and only for the same id and only for as long as it is retained. Handlers for GitHub events
/// should be idempotent on their own business keys (the issue, the commit) as well.
///
/// ```
/// use webhook_core::signature::{GitHub, Verifier};
///
/// let verifier = Verifier::builder(GitHub).secret("It's a Secret to Everybody").build()?;
/// # Ok::<(), webhook_core::signature::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct GitHub;

/// A GitHub signing key: the secret's HMAC-SHA256 key and, for the legacy header, its
/// HMAC-SHA1 key.
#[derive(Clone)]
pub struct GitHubSigningKey {
    sha256: HmacKey,
    sha1: Hmac<Sha1>,
}

impl fmt::Debug for GitHubSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GitHubSigningKey(..)")
    }
}

impl Scheme for GitHub {
    type Key = HmacKey;
    type SigningKey = GitHubSigningKey;

    fn name(&self) -> &'static str {
        "github"
    }

    fn parse_key(&self, secret: &str) -> Result<HmacKey, SecretError> {
        HmacKey::new(secret.as_bytes())
    }

    fn parse_signing_key(&self, secret: &str) -> Result<GitHubSigningKey, SecretError> {
        Ok(GitHubSigningKey {
            sha256: HmacKey::new(secret.as_bytes())?,
            sha1: Hmac::<Sha1>::new_from_slice(secret.as_bytes())
                .map_err(|_| SecretError::Format("unusable HMAC key"))?,
        })
    }

    /// GitHub signs no time (see "Replay" above).
    fn signs_time(&self) -> bool {
        false
    }

    fn verify<'a>(
        &self,
        keys: &[HmacKey],
        request: &SignedRequest<'a>,
        _freshness: Freshness,
    ) -> Result<Verified<'a>, VerifyError> {
        let signatures = parse_signatures(request)?;
        let delivery = std::str::from_utf8(required(request.headers, &DELIVERY_NAME)?)
            .ok()
            .filter(|id| valid_id(id))
            .ok_or(VerifyError::MalformedHeader(DELIVERY))?;
        let event = std::str::from_utf8(required(request.headers, &EVENT_NAME)?)
            .ok()
            .filter(|event| valid_event(event))
            .ok_or(VerifyError::MalformedHeader(EVENT))?;

        let mut matched = false;
        for key in keys {
            matched |= matches_any_hex(&key.tag(&[request.body]), signatures.iter().copied());
        }
        if !matched {
            return Err(VerifyError::Mismatch);
        }
        // The body's `action` is left to the envelope's parse, which reads the authenticated
        // body anyway.
        Ok(Verified {
            id: Some(Cow::Borrowed(delivery)),
            event_type: Some(Cow::Borrowed(event)),
            timestamp: None,
            action_in_type: true,
        })
    }

    fn sign(
        &self,
        key: &GitHubSigningKey,
        unsigned: &Unsigned<'_>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, SignError> {
        if !valid_id(unsigned.id) {
            return Err(SignError::Invalid(
                "delivery id must be 1 to 255 printable ASCII characters",
            ));
        }
        let event = unsigned
            .event_type
            .split_once('.')
            .map_or(unsigned.event_type, |(event, _)| event);
        if !valid_event(event) {
            return Err(SignError::Invalid("event name must be visible ASCII"));
        }
        let mut sha1 = key.sha1.clone();
        sha1.update(unsigned.body);
        let value = |text: &str| {
            HeaderValue::from_str(text).map_err(|_| SignError::Invalid("header value"))
        };
        Ok(vec![
            (
                HeaderName::from_static(SIGNATURE),
                value(&format!(
                    "sha256={}",
                    hex::encode(key.sha256.tag(&[unsigned.body]))
                ))?,
            ),
            (
                HeaderName::from_static(LEGACY_SIGNATURE),
                value(&format!(
                    "sha1={}",
                    hex::encode(sha1.finalize().into_bytes())
                ))?,
            ),
            (HeaderName::from_static(DELIVERY), value(unsigned.id)?),
            (HeaderName::from_static(EVENT), value(event)?),
        ])
    }
}

/// The hex of every `X-Hub-Signature-256` value (GitHub sends one; a proxy may repeat the
/// header), checked to be 64 lowercase hex digits and compared as text (see
/// [`matches_any_hex`]). One is kept inline: a second only comes through a proxy.
fn parse_signatures<'a>(
    request: &SignedRequest<'a>,
) -> Result<SmallVec<[&'a [u8]; 1]>, VerifyError> {
    let mut signatures = SmallVec::new();
    for value in request.headers.get_all(&SIGNATURE_NAME) {
        if signatures.len() == MAX_SIGNATURES {
            return Err(VerifyError::TooManySignatures);
        }
        let hex = value
            .as_bytes()
            .strip_prefix(PREFIX)
            .filter(|hex| is_signature_hex(hex))
            .ok_or(VerifyError::MalformedHeader(SIGNATURE))?;
        signatures.push(hex);
    }
    if signatures.is_empty() {
        return Err(VerifyError::MissingHeader(SIGNATURE));
    }
    Ok(signatures)
}

/// GitHub event names are short words such as `pull_request`; a `.` would blur the line between
/// the event and its action.
fn valid_event(event: &str) -> bool {
    !event.is_empty()
        && event.len() <= 64
        && event.bytes().all(|b| b.is_ascii_graphic() && b != b'.')
}
