//! The `t=..,v1=..` parser, as `Stripe-Signature` and `X-Webhook-Signature`.

#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

const BODY: &[u8] = br#"{"id":"evt_test_123","type":"payment_intent.succeeded"}"#;

fuzz_target!(|value: &[u8]| {
    thread_local!(static VERIFIERS: Vec<webhook_core::signature::Verifier> = common::stripe());
    let headers = common::headers(&[("stripe-signature", value), ("x-webhook-signature", value)]);
    VERIFIERS.with(|verifiers| common::run(verifiers, &headers, BODY, "/", None));
});
