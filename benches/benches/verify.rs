//! Signature verification per scheme at 1 KiB, 16 KiB and 256 KiB: the framework's
//! `Verifier::verify` against a plain `hmac` + `sha2` check of the same request, and for
//! Standard Webhooks against the `svix` crate's `Webhook::verify` as well.
//!
//! Each group holds the cases side by side, so their ratio comes from one run.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hmac::{Hmac, Mac};
use http::{HeaderMap, Request};
use sha2::Sha256;
use webhook_benches::{
    object_json, verify_timestamped, Rejected, EVENT_TYPE, SECRET, SIZES, STANDARD_SECRET,
    TOLERANCE,
};
use webhook_core::signature::{
    GitHub, PaymentKit, Scheme, SignedRequest, StandardWebhooks, Stripe, Verifier,
};
use webhook_core::test_util::TestSender;

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

fn framework(verifier: &Verifier, request: &Request<Bytes>) -> bool {
    let signed = SignedRequest {
        method: request.method(),
        path: request.uri().path(),
        query: request.uri().query(),
        headers: request.headers(),
        body: request.body(),
    };
    verifier.verify(&signed).is_ok()
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

fn key(secret: &[u8]) -> Hmac<Sha256> {
    Hmac::new_from_slice(secret).expect("any key length")
}

fn bench_verify(c: &mut Criterion) {
    for (label, size) in SIZES {
        // Timestamped schemes: PaymentKit and Stripe share the header format, not the header.
        for (scheme, header) in [
            ("paymentkit", "x-webhook-signature"),
            ("stripe", "stripe-signature"),
        ] {
            let (verifier, request) = if scheme == "paymentkit" {
                (
                    Verifier::builder(PaymentKit)
                        .secret(SECRET)
                        .build()
                        .expect("verifier"),
                    signed(PaymentKit, SECRET, "evt_1", EVENT_TYPE, size),
                )
            } else {
                (
                    Verifier::builder(Stripe)
                        .secret(SECRET)
                        .build()
                        .expect("verifier"),
                    signed(Stripe, SECRET, "evt_1", EVENT_TYPE, size),
                )
            };
            let plain = key(SECRET.as_bytes());
            assert!(framework(&verifier, &request));
            assert!(verify_timestamped(&plain, header, request.headers(), request.body()).is_ok());
            let mut group = c.benchmark_group(format!("verify/{scheme}"));
            group.throughput(Throughput::Bytes(request.body().len() as u64));
            group.bench_function(BenchmarkId::new("framework", label), |b| {
                b.iter(|| black_box(framework(&verifier, black_box(&request))));
            });
            group.bench_function(BenchmarkId::new("hmac+sha2", label), |b| {
                b.iter(|| {
                    black_box(
                        verify_timestamped(
                            &plain,
                            header,
                            black_box(request.headers()),
                            request.body(),
                        )
                        .is_ok(),
                    )
                });
            });
            group.finish();
        }

        // Standard Webhooks, against plain hmac + sha2 and against the svix crate.
        let verifier = Verifier::builder(StandardWebhooks)
            .secret(STANDARD_SECRET)
            .build()
            .expect("verifier");
        let request = signed(
            StandardWebhooks,
            STANDARD_SECRET,
            "msg_2Lx7a9QkP3",
            EVENT_TYPE,
            size,
        );
        let raw_key = base64::engine::general_purpose::STANDARD
            .decode(STANDARD_SECRET.trim_start_matches("whsec_"))
            .expect("base64 secret");
        let plain = key(&raw_key);
        let svix = svix::webhooks::Webhook::new(STANDARD_SECRET).expect("svix secret");
        assert!(framework(&verifier, &request));
        assert!(standard_by_hand(&plain, request.headers(), request.body()).is_ok());
        assert!(svix.verify(request.body(), request.headers()).is_ok());
        let mut group = c.benchmark_group("verify/standard-webhooks");
        group.throughput(Throughput::Bytes(request.body().len() as u64));
        group.bench_function(BenchmarkId::new("framework", label), |b| {
            b.iter(|| black_box(framework(&verifier, black_box(&request))));
        });
        group.bench_function(BenchmarkId::new("hmac+sha2", label), |b| {
            b.iter(|| {
                black_box(
                    standard_by_hand(&plain, black_box(request.headers()), request.body()).is_ok(),
                )
            });
        });
        group.bench_function(BenchmarkId::new("svix", label), |b| {
            b.iter(|| {
                black_box(
                    svix.verify(black_box(request.body()), request.headers())
                        .is_ok(),
                )
            });
        });
        group.finish();

        // GitHub: no timestamp; the scheme also reads the delivery id and event name headers.
        let verifier = Verifier::builder(GitHub)
            .secret(SECRET)
            .build()
            .expect("verifier");
        let request = signed(
            GitHub,
            SECRET,
            "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            "issues",
            size,
        );
        let plain = key(SECRET.as_bytes());
        assert!(framework(&verifier, &request));
        assert!(github_by_hand(&plain, request.headers(), request.body()).is_ok());
        let mut group = c.benchmark_group("verify/github");
        group.throughput(Throughput::Bytes(request.body().len() as u64));
        group.bench_function(BenchmarkId::new("framework", label), |b| {
            b.iter(|| black_box(framework(&verifier, black_box(&request))));
        });
        group.bench_function(BenchmarkId::new("hmac+sha2", label), |b| {
            b.iter(|| {
                black_box(
                    github_by_hand(&plain, black_box(request.headers()), request.body()).is_ok(),
                )
            });
        });
        group.finish();
    }
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
