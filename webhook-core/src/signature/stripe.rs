//! Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>..][,v0=<hex>]`.

use http::{HeaderName, HeaderValue};

use super::header::HmacKey;
use super::paymentkit::{sign_timestamped, verify_timestamped};
use super::{
    Freshness, Scheme, SecretError, SignError, SignedRequest, Unsigned, Verified, VerifyError,
};

// Looked up by `HeaderName` (see `required`).
static NAME: HeaderName = HeaderName::from_static(HEADER);
const HEADER: &str = "stripe-signature";

/// Stripe's webhook signature (signing.md section 2).
///
/// `v1 = hex(HMAC-SHA256(key = the whole "whsec_..." secret as UTF-8 text, "<t>." + raw body))`.
/// The secret is used as text, not base64-decoded. Only `v1` counts: `v0` (Stripe's test-mode
/// scheme) and unknown versions are skipped, so a header with only `v0` fails. During a secret
/// roll Stripe sends several `v1` values; any of them may match any configured secret.
///
/// Unlike Stripe's own libraries, which only reject old timestamps, the tolerance applies in
/// both directions (the crate's pinned policy).
///
/// ```
/// use webhook_core::signature::{Stripe, Verifier};
///
/// let verifier = Verifier::builder(Stripe).secret("whsec_...").build()?;
/// # Ok::<(), webhook_core::signature::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Stripe;

impl Scheme for Stripe {
    type Key = HmacKey;
    type SigningKey = HmacKey;

    fn name(&self) -> &'static str {
        "stripe"
    }

    fn parse_key(&self, secret: &str) -> Result<HmacKey, SecretError> {
        HmacKey::new(secret.as_bytes())
    }

    fn parse_signing_key(&self, secret: &str) -> Result<HmacKey, SecretError> {
        HmacKey::new(secret.as_bytes())
    }

    fn verify<'a>(
        &self,
        keys: &[HmacKey],
        request: &SignedRequest<'a>,
        freshness: Freshness,
    ) -> Result<Verified<'a>, VerifyError> {
        verify_timestamped(&NAME, keys, request, freshness)
    }

    fn sign(
        &self,
        key: &HmacKey,
        unsigned: &Unsigned<'_>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, SignError> {
        Ok(vec![(
            HeaderName::from_static(HEADER),
            sign_timestamped(key, unsigned)?,
        )])
    }
}
