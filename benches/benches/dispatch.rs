//! Dispatch cost against the number of registered event types: 10 against 10,000 generated
//! handlers, each registered for its own exact event type.
//!
//! Two measurements per registry size: the lookup alone (`Registry::handlers_for`), and a whole
//! `Receiver::dispatch` of an already parsed envelope (claim in the memory store, run the
//! handler, which decodes the object, complete). Both cycle through the same ten event types,
//! spread over the registry.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use webhook_benches::{object_json, SECRET};
use webhook_core::signature::{PaymentKit, Verified, Verifier};
use webhook_core::{Envelope, MemoryStore, Receiver};

#[path = "../dispatch_cases.rs"]
mod dispatch_cases;

use dispatch_cases::{event_types, lookup, registry};

fn bench_dispatch(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let object = object_json("evt_000000000000", 0, 1024);

    let mut lookups = c.benchmark_group("dispatch/handlers_for");
    for count in [10, 10_000] {
        let (types, delivered) = event_types(count);
        let registry = registry(&types);
        let mut next = 0;
        lookups.bench_function(BenchmarkId::from_parameter(count), |b| {
            b.iter(|| {
                next = (next + 1) % delivered.len();
                black_box(lookup(&registry, delivered[next]))
            });
        });
    }
    lookups.finish();

    let mut dispatch = c.benchmark_group("dispatch/receiver");
    for count in [10, 10_000] {
        let (types, delivered) = event_types(count);
        let receiver = Receiver::builder()
            .verifier(
                Verifier::builder(PaymentKit)
                    .secret(SECRET)
                    .build()
                    .expect("verifier"),
            )
            .store(MemoryStore::new())
            .registry(registry(&types))
            .build()
            .expect("receiver");
        let receiver = &receiver;
        let mut seq = 0u64;
        let mut envelope = || {
            seq += 1;
            let event_type = delivered[(seq % 10) as usize];
            let body = format!(
                r#"{{"id":"evt_{seq:012}","object":"event","type":"{event_type}","livemode":false,"created_at":"2023-11-14T22:13:20.000Z","data":{{"object":{object}}}}}"#
            );
            Arc::new(Envelope::parse(Bytes::from(body), &Verified::default()).expect("envelope"))
        };
        let receipt = rt
            .block_on(receiver.dispatch(envelope()))
            .expect("dispatched");
        assert_eq!(receipt.ran().len(), 1);
        dispatch.bench_function(BenchmarkId::from_parameter(count), |b| {
            b.to_async(&rt).iter_batched(
                &mut envelope,
                |envelope| async move {
                    let receipt = receiver.dispatch(envelope).await.expect("dispatched");
                    debug_assert_eq!(receipt.ran().len(), 1);
                    black_box(receipt)
                },
                BatchSize::SmallInput,
            );
        });
    }
    dispatch.finish();
}

criterion_group!(benches, bench_dispatch);
criterion_main!(benches);
