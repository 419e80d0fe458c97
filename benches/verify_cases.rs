//! The verification cases: one signed request per scheme and size, checked by the framework's
//! `Verifier::verify` and by a plain `hmac` + `sha2` check written for that scheme. Shared by
//! `benches/verify.rs` (criterion) and `examples/interleaved.rs` (alternating batches), so both
//! measure the same two checks.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{HeaderMap, Request};
use sha2::Sha256;
use webhook_benches::{
    object_json, verify_timestamped, Rejected, EVENT_TYPE, SECRET, STANDARD_SECRET, TOLERANCE,
};
use webhook_core::signature::{
    GitHub, PaymentKit, Scheme, SignedRequest, StandardWebhooks, Stripe, Verifier,
};
use webhook_core::test_util::TestSender;

/// The schemes measured, by the names the benchmarks use.
pub(crate) const SCHEMES: [&str; 4] = ["paymentkit", "stripe", "standard-webhooks", "github"];

/// One scheme's request and both ways of checking it.
pub(crate) struct Case {
    /// The framework's verifier, holding the scheme's one secret.
    pub(crate) verifier: Verifier,
    /// A request the sender signed.
    pub(crate) request: Request<Bytes>,
    key: Hmac<Sha256>,
    by_hand: ByHand,
}

/// A hand-written check: key, headers, body.
type ByHand = fn(&Hmac<Sha256>, &HeaderMap, &[u8]) -> Result<(), Rejected>;

impl Case {
    /// The case of `scheme` (one of [`SCHEMES`]) with a body of about `size` bytes.
    ///
    /// # Panics
    /// On an unknown scheme name.
    #[must_use]
    pub(crate) fn new(scheme: &str, size: usize) -> Self {
        let plain = |secret: &[u8]| Hmac::new_from_slice(secret).expect("any key length");
        match scheme {
            "paymentkit" => Self {
                verifier: verifier(PaymentKit, SECRET),
                request: signed(PaymentKit, SECRET, "evt_1", EVENT_TYPE, size),
                key: plain(SECRET.as_bytes()),
                by_hand: |key, headers, body| {
                    verify_timestamped(key, "x-webhook-signature", headers, body)
                },
            },
            "stripe" => Self {
                verifier: verifier(Stripe, SECRET),
                request: signed(Stripe, SECRET, "evt_1", EVENT_TYPE, size),
                key: plain(SECRET.as_bytes()),
                by_hand: |key, headers, body| {
                    verify_timestamped(key, "stripe-signature", headers, body)
                },
            },
            "standard-webhooks" => Self {
                verifier: verifier(StandardWebhooks, STANDARD_SECRET),
                request: signed(
                    StandardWebhooks,
                    STANDARD_SECRET,
                    "msg_2Lx7a9QkP3",
                    EVENT_TYPE,
                    size,
                ),
                key: plain(
                    &base64::engine::general_purpose::STANDARD
                        .decode(STANDARD_SECRET.trim_start_matches("whsec_"))
                        .expect("base64 secret"),
                ),
                by_hand: standard_by_hand,
            },
            // No timestamp; the scheme also reads the delivery id and event name headers.
            "github" => Self {
                verifier: verifier(GitHub, SECRET),
                request: signed(
                    GitHub,
                    SECRET,
                    "72d3162e-cc78-11e3-81ab-4c9367dc0958",
                    "issues",
                    size,
                ),
                key: plain(SECRET.as_bytes()),
                by_hand: github_by_hand,
            },
            other => panic!("no verification case for scheme {other:?}"),
        }
    }

    /// The framework's check.
    #[must_use]
    pub(crate) fn framework(&self) -> bool {
        let request = &self.request;
        let signed = SignedRequest {
            method: request.method(),
            path: request.uri().path(),
            query: request.uri().query(),
            headers: request.headers(),
            body: request.body(),
        };
        self.verifier.verify(&signed).is_ok()
    }

    /// The hand-written check.
    #[must_use]
    pub(crate) fn by_hand(&self) -> bool {
        (self.by_hand)(&self.key, self.request.headers(), self.request.body()).is_ok()
    }
}

fn verifier<S: Scheme>(scheme: S, secret: &str) -> Verifier {
    Verifier::builder(scheme)
        .secret(secret)
        .build()
        .expect("verifier")
}

fn signed<S: Scheme>(
    scheme: S,
    secret: &str,
    id: &str,
    event_type: &str,
    size: usize,
) -> Request<Bytes> {
    let sender = TestSender::new(scheme, secret).expect("secret");
    let body = sender
        .event(id, EVENT_TYPE, &object_json(id, 1, size))
        .body()
        .clone();
    sender
        .raw(id, event_type, body)
        .request()
        .expect("signed request")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Standard Webhooks by hand: `v1,<base64>` signatures over `id.timestamp.body`.
fn standard_by_hand(key: &Hmac<Sha256>, headers: &HeaderMap, body: &[u8]) -> Result<(), Rejected> {
    let header = |name: &str| {
        headers
            .get(name)
            .map(http::HeaderValue::as_bytes)
            .ok_or(Rejected::Unauthenticated)
    };
    let id = header("webhook-id")?;
    let timestamp_text = header("webhook-timestamp")?;
    let timestamp: u64 = std::str::from_utf8(timestamp_text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(Rejected::Unauthenticated)?;
    if now().abs_diff(timestamp) > TOLERANCE {
        return Err(Rejected::Unauthenticated);
    }
    let mut mac = key.clone();
    mac.update(id);
    mac.update(b".");
    mac.update(timestamp_text);
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize();
    let matched = header("webhook-signature")?
        .split(|&b| b == b' ')
        .filter_map(|item| item.strip_prefix(b"v1,"))
        .filter_map(|b64| {
            let mut signature = [0u8; 32];
            (base64::engine::general_purpose::STANDARD.decode_slice(b64, &mut signature) == Ok(32))
                .then_some(signature)
        })
        .any(|signature| hmac::digest::CtOutput::new(signature.into()) == tag);
    matched.then_some(()).ok_or(Rejected::Unauthenticated)
}

/// GitHub by hand: `sha256=<hex>` over the body.
fn github_by_hand(key: &Hmac<Sha256>, headers: &HeaderMap, body: &[u8]) -> Result<(), Rejected> {
    let hex = headers
        .get("x-hub-signature-256")
        .and_then(|value| value.as_bytes().strip_prefix(b"sha256="))
        .ok_or(Rejected::Unauthenticated)?;
    let mut signature = [0u8; 32];
    hex::decode_to_slice(hex, &mut signature).map_err(|_| Rejected::Unauthenticated)?;
    let mut mac = key.clone();
    mac.update(body);
    mac.verify_slice(&signature)
        .map_err(|_| Rejected::Unauthenticated)
}
