//! The `x-component-sig*` headers, the body's canonical JSON, the query string and the path
//! prefix of the PaymentKit component signature.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

mod common;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    sig: &'a [u8],
    iat: &'a [u8],
    exp: &'a [u8],
    version: Option<&'a [u8]>,
    prefix: Option<&'a [u8]>,
    body: &'a [u8],
    path: &'a str,
    query: Option<&'a str>,
}

fuzz_target!(|input: Input<'_>| {
    thread_local!(static VERIFIERS: Vec<webhook_core::signature::Verifier> = common::component());
    let mut pairs = vec![
        ("x-component-sig", input.sig),
        ("x-component-sig-iat", input.iat),
        ("x-component-sig-exp", input.exp),
    ];
    if let Some(version) = input.version {
        pairs.push(("x-component-sig-version", version));
    }
    if let Some(prefix) = input.prefix {
        pairs.push(("x-path-prefix", prefix));
    }
    let headers = common::headers(&pairs);
    VERIFIERS
        .with(|verifiers| common::run(verifiers, &headers, input.body, input.path, input.query));
});
