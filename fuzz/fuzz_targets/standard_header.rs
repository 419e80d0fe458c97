//! `webhook-id`, `webhook-timestamp` and the `webhook-signature` list.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

mod common;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    id: &'a [u8],
    timestamp: &'a [u8],
    signature: &'a [u8],
    body: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    thread_local!(static VERIFIERS: Vec<webhook_core::signature::Verifier> = common::standard());
    let headers = common::headers(&[
        ("webhook-id", input.id),
        ("webhook-timestamp", input.timestamp),
        ("webhook-signature", input.signature),
    ]);
    VERIFIERS.with(|verifiers| common::run(verifiers, &headers, input.body, "/", None));
});
