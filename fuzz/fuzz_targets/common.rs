//! Shared set-up for the fuzz targets: one verifier per scheme and a request builder.

#![allow(dead_code)]

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use webhook_core::signature::{
    GitHub, PaymentKit, PaymentKitComponent, PaymentKitComponentV0, Scheme, SignedRequest,
    StandardWebhooks, Stripe, Verifier,
};
use webhook_core::ManualClock;

pub const NOW: i64 = 1_700_000_000;
pub const HMAC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const SW_PUBLIC: &str = "whpk_A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=";
pub const APP_PK: &str = "0x03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";

fn verifier<S: Scheme>(scheme: S, keys: &[&str]) -> Verifier {
    keys.iter()
        .fold(Verifier::builder(scheme), |builder, key| {
            builder.secret(key)
        })
        .clock(ManualClock::new(NOW))
        .build()
        .expect("fuzz verifier configuration")
}

pub fn stripe() -> Vec<Verifier> {
    vec![
        verifier(Stripe, &[HMAC_SECRET, "whsec_test_secret"]),
        verifier(PaymentKit, &[HMAC_SECRET]),
    ]
}

pub fn standard() -> Vec<Verifier> {
    vec![verifier(StandardWebhooks, &[HMAC_SECRET, SW_PUBLIC])]
}

pub fn github() -> Vec<Verifier> {
    vec![verifier(GitHub, &[HMAC_SECRET])]
}

pub fn component() -> Vec<Verifier> {
    vec![
        verifier(PaymentKitComponent, &[APP_PK]),
        verifier(PaymentKitComponentV0, &[APP_PK]),
    ]
}

pub fn all() -> Vec<Verifier> {
    [stripe(), standard(), github(), component()].concat()
}

/// Headers from raw name/value pairs; pairs HTTP could not carry are dropped.
pub fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(HeaderName::from_static(name), value);
        }
    }
    headers
}

/// Run every verifier on the request, live and ignoring the timestamp. Only a panic (or a
/// sanitizer report) is a finding; random input must never verify.
pub fn run(
    verifiers: &[Verifier],
    headers: &HeaderMap,
    body: &[u8],
    path: &str,
    query: Option<&str>,
) {
    let request = SignedRequest {
        method: &Method::POST,
        path,
        query,
        headers,
        body,
    };
    for verifier in verifiers {
        let live = verifier.verify(&request);
        let _ = verifier.verify_ignoring_timestamp(&request);
        assert!(
            live.is_err(),
            "{} accepted fuzz input",
            verifier.scheme_name()
        );
    }
}
