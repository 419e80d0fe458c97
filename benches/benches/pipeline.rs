//! The whole in-process pipeline, framework against hand-written, for new and for duplicate
//! events at 1 KiB and 16 KiB (and 256 KiB).
//!
//! Framework: `Receiver::receive` with a PaymentKit verifier and the memory store: verify,
//! parse the envelope, claim, dispatch to an `#[on_event]` handler that decodes `data.object`
//! into a small struct, complete. Hand-written: `webhook_benches::HandWritten::receive` on the
//! same request: verify, parse, check a `Mutex<HashSet>`, decode the same struct.
//!
//! New events are signed in the (unmeasured) setup of each iteration, each with its own id;
//! duplicates replay one already processed delivery.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use http::Request;
use webhook_benches::{
    framework_receiver, object_json, HandWritten, Intent, Outcome, EVENT_TYPE, PATH, SECRET, SIZES,
};
use webhook_core::signature::PaymentKit;
use webhook_core::test_util::TestSender;

#[path = "../pipeline_handler.rs"]
mod pipeline_handler;

/// Signs a new delivery with a fresh event id on every call.
struct Source {
    sender: TestSender<PaymentKit>,
    /// Objects are built once per size; only the id and signature change per event.
    object: String,
    next: u64,
    prefix: &'static str,
}

impl Source {
    fn new(prefix: &'static str, size: usize) -> Self {
        Self {
            sender: TestSender::new(PaymentKit, SECRET)
                .expect("secret")
                .path(PATH),
            object: object_json("evt_000000000000", 0, size),
            next: 0,
            prefix,
        }
    }

    fn next(&mut self) -> Request<Bytes> {
        self.next += 1;
        let id = format!("evt_{}{:012}", self.prefix, self.next);
        self.sender
            .event(&id, EVENT_TYPE, &self.object)
            .request()
            .expect("signed request")
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn hand_written(receiver: &HandWritten, request: &Request<Bytes>) -> Outcome {
    receiver
        .receive(request.headers(), request.body(), |id, intent: Intent| {
            black_box((id, &intent));
        })
        .expect("accepted")
}

fn bench_pipeline(c: &mut Criterion) {
    let rt = runtime();
    for (label, size) in SIZES {
        let framework = &framework_receiver();
        let baseline = &HandWritten::new(SECRET);
        let mut source = Source::new("new_", size);
        let len = source.next().body().len() as u64;

        // Sanity: both do the same thing with the same request.
        let probe = source.next();
        let receipt = rt
            .block_on(framework.receive(probe.clone()))
            .expect("accepted");
        assert_eq!(receipt.ran().len(), 1);
        assert_eq!(hand_written(baseline, &probe), Outcome::Handled);
        let receipt = rt
            .block_on(framework.receive(probe.clone()))
            .expect("accepted");
        assert!(receipt.is_duplicate());
        assert_eq!(hand_written(baseline, &probe), Outcome::Duplicate);

        let mut group = c.benchmark_group("pipeline/new");
        group.throughput(Throughput::Bytes(len));
        if size > 64 * 1024 {
            group.sample_size(20);
        }
        group.bench_function(BenchmarkId::new("framework", label), |b| {
            b.to_async(&rt).iter_batched(
                || source.next(),
                |request| async move {
                    let receipt = framework.receive(request).await.expect("accepted");
                    debug_assert_eq!(receipt.ran().len(), 1);
                    black_box(receipt)
                },
                BatchSize::SmallInput,
            );
        });
        group.bench_function(BenchmarkId::new("hand-written", label), |b| {
            b.to_async(&rt).iter_batched(
                || source.next(),
                |request| async move {
                    let outcome = hand_written(baseline, &request);
                    debug_assert_eq!(outcome, Outcome::Handled);
                    black_box(outcome)
                },
                BatchSize::SmallInput,
            );
        });
        group.finish();

        let mut group = c.benchmark_group("pipeline/duplicate");
        group.throughput(Throughput::Bytes(len));
        if size > 64 * 1024 {
            group.sample_size(20);
        }
        group.bench_function(BenchmarkId::new("framework", label), |b| {
            b.to_async(&rt).iter_batched(
                || probe.clone(),
                |request| async move {
                    let receipt = framework.receive(request).await.expect("accepted");
                    debug_assert!(receipt.is_duplicate());
                    black_box(receipt)
                },
                BatchSize::SmallInput,
            );
        });
        group.bench_function(BenchmarkId::new("hand-written", label), |b| {
            b.to_async(&rt).iter_batched(
                || probe.clone(),
                |request| async move {
                    let outcome = hand_written(baseline, &request);
                    debug_assert_eq!(outcome, Outcome::Duplicate);
                    black_box(outcome)
                },
                BatchSize::SmallInput,
            );
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    // Shorter than the default 5 s: every new-event iteration adds a record to both stores.
    config = Criterion::default().measurement_time(Duration::from_secs(4));
    targets = bench_pipeline
}
criterion_main!(benches);
