//! PaymentKit's default scheme: `X-Webhook-Signature: t=<unix>,v1=<hex>`.

use http::{HeaderName, HeaderValue};

use super::header::{matches_any_hex, parse_timestamped, required, HmacKey};
use super::{
    Freshness, Scheme, SecretError, SignError, SignedRequest, Unsigned, Verified, VerifyError,
};

// Looked up by `HeaderName` (see `required`).
static NAME: HeaderName = HeaderName::from_static(HEADER);
const HEADER: &str = "x-webhook-signature";

/// PaymentKit's webhook-endpoint signature (signing.md, "Decided", and section 1.4).
///
/// `v1 = hex(HMAC-SHA256(key = the endpoint secret as UTF-8 text, "<t>." + raw body))`, sent as
/// `X-Webhook-Signature: t=<unix seconds>,v1=<hex>`. Several `v1` values may be present while
/// the sender rotates its secret.
#[derive(Debug, Clone, Copy, Default)]
pub struct PaymentKit;

impl Scheme for PaymentKit {
    type Key = HmacKey;
    type SigningKey = HmacKey;

    fn name(&self) -> &'static str {
        "paymentkit"
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

/// Verify a `t=..,v1=..` header `name` whose signed content is `"<t>." + body`.
pub(crate) fn verify_timestamped(
    name: &'static HeaderName,
    keys: &[HmacKey],
    request: &SignedRequest<'_>,
    freshness: Freshness,
) -> Result<Verified<'static>, VerifyError> {
    let parsed = parse_timestamped(name.as_str(), required(request.headers, name)?)?;
    // The window is checked before any MAC is computed: stale replays cost no hashing.
    freshness.check(parsed.timestamp)?;
    let mut matched = false;
    for key in keys {
        let tag = key.tag(&[parsed.timestamp_text, b".", request.body]);
        matched |= matches_any_hex(&tag, parsed.signatures());
    }
    if matched {
        Ok(Verified {
            timestamp: Some(parsed.timestamp),
            ..Verified::default()
        })
    } else {
        Err(VerifyError::Mismatch)
    }
}

/// The `t=<timestamp>,v1=<hex>` header value for `unsigned`.
pub(crate) fn sign_timestamped(
    key: &HmacKey,
    unsigned: &Unsigned<'_>,
) -> Result<HeaderValue, SignError> {
    if unsigned.timestamp < 0 {
        return Err(SignError::Invalid("timestamp is negative"));
    }
    let timestamp = unsigned.timestamp.to_string();
    let tag = key.tag(&[timestamp.as_bytes(), b".", unsigned.body]);
    HeaderValue::try_from(format!("t={timestamp},v1={}", hex::encode(tag)))
        .map_err(|_| SignError::Invalid("header value"))
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, Method};

    use super::*;
    use crate::clock::ManualClock;
    use crate::signature::{Signer, Verifier};

    /// signing.md section 5: the common body and timestamp.
    const BODY: &[u8] = br#"{"id":"evt_test_123","type":"payment_intent.succeeded","data":{"object":{"id":"pi_123","amount":"1000"}}}"#;
    const T: i64 = 1_700_000_000;
    /// signing.md section 5.2, row "Blocklet Server".
    const SECRET: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    const EXPECTED: &str =
        "t=1700000000,v1=d58aed15d8fe1ceb279531b0af71825738e361674d052e503853d6a874a69f3d";

    fn request<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> SignedRequest<'a> {
        SignedRequest {
            method: &Method::POST,
            path: "/webhooks",
            query: None,
            headers,
            body,
        }
    }

    fn verifier(secrets: &[&str], now: i64) -> Verifier {
        secrets
            .iter()
            .fold(
                Verifier::builder(PaymentKit),
                crate::signature::VerifierBuilder::secret,
            )
            .clock(ManualClock::new(now))
            .build()
            .unwrap()
    }

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn known_answer_vector_signs() {
        assert_eq!(BODY.len(), 105);
        let signer = Signer::new(PaymentKit, SECRET).unwrap();
        let signed = signer
            .sign(&Unsigned {
                id: "evt_test_123",
                event_type: "payment_intent.succeeded",
                timestamp: T,
                method: &Method::POST,
                path: "/",
                body: BODY,
            })
            .unwrap();
        assert_eq!(signed.len(), 1);
        assert_eq!(signed[0].0, HEADER);
        assert_eq!(signed[0].1, EXPECTED);
    }

    #[test]
    fn known_answer_vector_verifies() {
        let headers = headers(EXPECTED);
        let verified = verifier(&[SECRET], T)
            .verify(&request(&headers, BODY))
            .unwrap();
        assert_eq!(verified.timestamp, Some(T));
        assert_eq!(verified.id, None);
    }

    #[test]
    fn any_secret_may_match_any_signature() {
        let other = format!("t={T},v1={}", "0".repeat(64));
        let rotated = format!("{other},{}", &EXPECTED[13..]);
        let headers = headers(&rotated);
        verifier(&["old-secret", SECRET], T)
            .verify(&request(&headers, BODY))
            .unwrap();
        assert_eq!(
            verifier(&["old-secret"], T).verify(&request(&headers, BODY)),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn tolerance_is_enforced_in_both_directions_at_the_edges() {
        let headers = headers(EXPECTED);
        for (now, ok) in [
            (T + 300, true),
            (T + 301, false),
            (T - 300, true),
            (T - 301, false),
        ] {
            let result = verifier(&[SECRET], now).verify(&request(&headers, BODY));
            assert_eq!(result.is_ok(), ok, "now = T{:+}", now - T);
        }
        assert_eq!(
            verifier(&[SECRET], T + 301).verify(&request(&headers, BODY)),
            Err(VerifyError::TimestampTooOld)
        );
        assert_eq!(
            verifier(&[SECRET], T - 301).verify(&request(&headers, BODY)),
            Err(VerifyError::TimestampInFuture)
        );
        verifier(&[SECRET], T + 10_000)
            .verify_ignoring_timestamp(&request(&headers, BODY))
            .unwrap();
    }

    #[test]
    fn tampering_fails() {
        let headers = headers(EXPECTED);
        let v = verifier(&[SECRET], T);
        let mut body = BODY.to_vec();
        body[10] ^= 1;
        assert_eq!(
            v.verify(&request(&headers, &body)),
            Err(VerifyError::Mismatch)
        );
        let shifted = headers_with_timestamp(T + 1);
        assert_eq!(
            v.verify(&request(&shifted, BODY)),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            v.verify(&request(&HeaderMap::new(), BODY)),
            Err(VerifyError::MissingHeader(HEADER))
        );
    }

    fn headers_with_timestamp(t: i64) -> HeaderMap {
        headers(&format!("t={t},{}", &EXPECTED[13..]))
    }

    #[test]
    fn builder_refuses_unusable_configuration() {
        use crate::signature::ConfigError;
        assert_eq!(
            Verifier::builder(PaymentKit).build().unwrap_err(),
            ConfigError::NoSecret
        );
        for bad in ["", "   ", " padded", "padded\n"] {
            assert!(matches!(
                Verifier::builder(PaymentKit).secret(bad).build(),
                Err(ConfigError::Secret { index: 0, .. })
            ));
        }
        assert_eq!(
            Verifier::builder(PaymentKit)
                .secret(SECRET)
                .tolerance(std::time::Duration::ZERO)
                .build()
                .unwrap_err(),
            ConfigError::ZeroTolerance
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let v = verifier(&[SECRET], T);
        assert!(!format!("{v:?}").contains(SECRET));
        let signer = Signer::new(PaymentKit, SECRET).unwrap();
        assert!(!format!("{signer:?}").contains(SECRET));
    }
}
