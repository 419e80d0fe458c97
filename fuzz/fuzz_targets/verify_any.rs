//! The whole verification path of every scheme on arbitrary headers, body, path and query.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

mod common;

const NAMES: &[&str] = &[
    "stripe-signature",
    "x-webhook-signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "x-hub-signature-256",
    "x-github-delivery",
    "x-github-event",
    "x-component-sig",
    "x-component-sig-iat",
    "x-component-sig-exp",
    "x-component-sig-version",
    "x-path-prefix",
];

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    headers: Vec<(u8, &'a [u8])>,
    body: &'a [u8],
    path: &'a str,
    query: Option<&'a str>,
}

fuzz_target!(|input: Input<'_>| {
    thread_local!(static VERIFIERS: Vec<webhook_core::signature::Verifier> = common::all());
    let pairs: Vec<(&'static str, &[u8])> = input
        .headers
        .iter()
        .map(|(name, value)| (NAMES[usize::from(*name) % NAMES.len()], *value))
        .collect();
    let headers = common::headers(&pairs);
    VERIFIERS
        .with(|verifiers| common::run(verifiers, &headers, input.body, input.path, input.query));
});
