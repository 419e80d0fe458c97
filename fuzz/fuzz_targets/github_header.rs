//! `X-Hub-Signature-256` (possibly repeated), `X-GitHub-Delivery`, `X-GitHub-Event`, and the
//! `action` read from the body.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

mod common;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    signatures: Vec<&'a [u8]>,
    delivery: &'a [u8],
    event: &'a [u8],
    body: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    thread_local!(static VERIFIERS: Vec<webhook_core::signature::Verifier> = common::github());
    let mut pairs = vec![
        ("x-github-delivery", input.delivery),
        ("x-github-event", input.event),
    ];
    pairs.extend(input.signatures.iter().map(|s| ("x-hub-signature-256", *s)));
    let headers = common::headers(&pairs);
    VERIFIERS.with(|verifiers| common::run(verifiers, &headers, input.body, "/", None));
});
