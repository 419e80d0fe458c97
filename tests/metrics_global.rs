//! The metric handles a receiver keeps (`webhook_core::observability`): registered once with
//! the global recorder, also when it is installed after the receiver was built, and never used
//! for a thread-local recorder, even one at the address of an earlier, dropped one.
//!
//! One test in its own binary: the global recorder is installed once per process.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use webhook_core::signature::{PaymentKit, Verifier};
use webhook_core::test_util::TestSender;
use webhook_core::{on_event, Event, HandlerError, MemoryStore, Receiver};

const SECRET: &str = "whsec_metrics_global_secret";
const HANDLED: &str = "payment_intent.succeeded";
const OBJECT: &str = r#"{"id":"pi_1","amount":"1000"}"#;
const HANDLER: &str = "metrics_global::counted";

#[on_event("payment_intent.succeeded")]
async fn counted(_event: Event) -> Result<(), HandlerError> {
    Ok(())
}

/// A debugging recorder that also counts how often a metric is registered with it.
struct Counting {
    inner: DebuggingRecorder,
    registrations: Arc<AtomicUsize>,
}

impl Recorder for Counting {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_counter(key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_gauge(key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_histogram(key, unit, description);
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        self.registrations.fetch_add(1, Ordering::SeqCst);
        self.inner.register_counter(key, metadata)
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        self.registrations.fetch_add(1, Ordering::SeqCst);
        self.inner.register_gauge(key, metadata)
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        self.registrations.fetch_add(1, Ordering::SeqCst);
        self.inner.register_histogram(key, metadata)
    }
}

/// Counter values and histogram sample counts recorded since the last snapshot, by metric name (every series of this binary's
/// one scheme and one handler has a name of its own per outcome, and only `processed` and
/// `completed` occur here).
fn totals(snapshotter: &Snapshotter) -> [u64; 5] {
    let mut totals = [0; 5];
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let slot = match key.key().name() {
            "webhook_verified_total" => 0,
            "webhook_deliveries_total" => 1,
            "webhook_delivery_duration_seconds" => 2,
            "webhook_handler_runs_total" => 3,
            "webhook_handler_duration_seconds" => 4,
            other => panic!("unexpected metric {other}"),
        };
        let labels: Vec<_> = key.key().labels().map(|l| (l.key(), l.value())).collect();
        assert!(
            labels.contains(&("outcome", "processed"))
                || labels.contains(&("outcome", "completed"))
                || slot == 0,
            "{labels:?}"
        );
        if slot >= 3 {
            assert!(labels.contains(&("handler", HANDLER)), "{labels:?}");
        }
        totals[slot] += match value {
            DebugValue::Counter(count) => count,
            DebugValue::Histogram(samples) => samples.len() as u64,
            DebugValue::Gauge(_) => panic!("no gauges expected"),
        };
    }
    totals
}

/// `n` deliveries of new events, each all processed: one of each metric per delivery.
fn deliver(receiver: &Receiver, runtime: &tokio::runtime::Runtime, label: &str, n: usize) {
    let sender = TestSender::new(PaymentKit, SECRET).unwrap();
    runtime.block_on(async {
        for i in 0..n {
            let delivery = sender.event(&format!("evt_{label}_{i}"), HANDLED, OBJECT);
            let receipt = receiver.receive(delivery.request().unwrap()).await.unwrap();
            assert_eq!(receipt.ran(), [HANDLER]);
        }
    });
}

/// Two thread-local recorders one after the other in the same stack slot (so most likely at
/// the same address): each sees exactly its own deliveries.
fn local_recorders_see_their_own(
    receiver: &Receiver,
    runtime: &tokio::runtime::Runtime,
    label: &str,
) {
    for round in 0..2 {
        let local = DebuggingRecorder::new();
        let snapshotter = local.snapshotter();
        metrics::with_local_recorder(&local, || {
            deliver(receiver, runtime, &format!("{label}_{round}"), 3);
        });
        assert_eq!(totals(&snapshotter), [3; 5], "{label}, round {round}");
    }
}

#[test]
fn handles_are_kept_for_the_global_recorder_only() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let receiver = Receiver::builder()
        .verifier(
            Verifier::builder(PaymentKit)
                .secret(SECRET)
                .build()
                .unwrap(),
        )
        .store(MemoryStore::new())
        .build()
        .unwrap();

    // Before any global recorder: nothing to keep; thread-local recorders work as always.
    deliver(&receiver, &runtime, "none", 2);
    local_recorders_see_their_own(&receiver, &runtime, "local_before");

    // Installed after the receiver was built: picked up at the next delivery, each metric
    // registered once, however many deliveries follow.
    let registrations = Arc::new(AtomicUsize::new(0));
    let global = Counting {
        inner: DebuggingRecorder::new(),
        registrations: Arc::clone(&registrations),
    };
    let snapshotter = global.inner.snapshotter();
    // A snapshot drains what it reports: keep the running totals.
    let mut recorded = [0; 5];
    let mut totals_so_far = || {
        for (total, new) in recorded.iter_mut().zip(totals(&snapshotter)) {
            *total += new;
        }
        recorded
    };
    metrics::set_global_recorder(global).unwrap();
    deliver(&receiver, &runtime, "global", 20);
    assert_eq!(totals_so_far(), [20; 5]);
    assert_eq!(registrations.load(Ordering::SeqCst), 5);

    // A thread-local recorder still gets its own deliveries, and the global one none of them.
    local_recorders_see_their_own(&receiver, &runtime, "local_after");
    assert_eq!(totals_so_far(), [20; 5]);

    // Back on the global recorder, with the handles kept from before.
    deliver(&receiver, &runtime, "global_again", 5);
    assert_eq!(totals_so_far(), [25; 5]);
    assert_eq!(registrations.load(Ordering::SeqCst), 5);

    // A receiver built after the recorder was installed keeps its handles too.
    let second = Receiver::builder()
        .verifier(
            Verifier::builder(PaymentKit)
                .secret(SECRET)
                .build()
                .unwrap(),
        )
        .store(MemoryStore::new())
        .build()
        .unwrap();
    deliver(&second, &runtime, "second", 4);
    assert_eq!(totals_so_far(), [29; 5]);
    assert_eq!(registrations.load(Ordering::SeqCst), 10);
}
