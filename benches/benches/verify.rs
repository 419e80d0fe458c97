//! Signature verification per scheme at 1 KiB, 16 KiB and 256 KiB: the framework's
//! `Verifier::verify` against a plain `hmac` + `sha2` check of the same request, and for
//! Standard Webhooks against the `svix` crate's `Webhook::verify` as well.
//!
//! Each group holds the cases side by side, so their ratio comes from one run.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use webhook_benches::{SIZES, STANDARD_SECRET};

#[path = "../verify_cases.rs"]
mod verify_cases;

use verify_cases::{Case, SCHEMES};

fn bench_verify(c: &mut Criterion) {
    for (label, size) in SIZES {
        for scheme in SCHEMES {
            let case = Case::new(scheme, size);
            assert!(case.framework());
            assert!(case.by_hand());
            let mut group = c.benchmark_group(format!("verify/{scheme}"));
            group.throughput(Throughput::Bytes(case.request.body().len() as u64));
            group.bench_function(BenchmarkId::new("framework", label), |b| {
                b.iter(|| black_box(black_box(&case).framework()));
            });
            group.bench_function(BenchmarkId::new("hmac+sha2", label), |b| {
                b.iter(|| black_box(black_box(&case).by_hand()));
            });
            // Standard Webhooks against the svix crate as well, on the same request.
            if scheme == "standard-webhooks" {
                let svix = svix::webhooks::Webhook::new(STANDARD_SECRET).expect("svix secret");
                let request = &case.request;
                assert!(svix.verify(request.body(), request.headers()).is_ok());
                group.bench_function(BenchmarkId::new("svix", label), |b| {
                    b.iter(|| {
                        black_box(
                            svix.verify(black_box(request.body()), request.headers())
                                .is_ok(),
                        )
                    });
                });
            }
            group.finish();
        }
    }
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
