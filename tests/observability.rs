//! What a delivery reports: its `webhook.delivery` and `webhook.handler` spans and the
//! `metrics` it records, captured for real (a `tracing` layer and the metrics debugging
//! recorder) and checked field by field and label by label.
//!
//! Each test runs on one thread (tokio's current-thread runtime) with a thread-local subscriber
//! and recorder, so tests running in parallel never see each other's spans or counts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use http::StatusCode;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::{CompositeKey, MetricKind};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;
use webhook_core::signature::{PaymentKit, Verifier};
use webhook_core::test_util::TestSender;
use webhook_core::{on_event, Event, HandlerError, MemoryStore, Receiver};

const SECRET: &str = "whsec_observability_secret_value";
const PATH: &str = "/hooks/observed";
const HANDLED: &str = "payment_intent.succeeded";
const FLAKY: &str = "payment_intent.payment_failed";
const OBJECT: &str = r#"{"id":"pi_observed","amount":"1000","marker":"BODY_MARKER_7f3a"}"#;

/// Event ids each handler ran for (tests run in parallel, each with its own ids).
static RUNS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn runs(id: &str) -> usize {
    RUNS.lock().unwrap().iter().filter(|run| *run == id).count()
}

#[on_event("payment_intent.succeeded")]
async fn observed(event: Event<serde_json::Value>) -> Result<(), HandlerError> {
    tracing::info!(object_id = %event.object()["id"], "handler body ran");
    RUNS.lock().unwrap().push(event.id().to_owned());
    Ok(())
}

/// Fails on the first run for an event, succeeds on the next.
#[on_event("payment_intent.payment_failed")]
async fn flaky(event: Event<serde_json::Value>) -> Result<(), HandlerError> {
    let first = runs(event.id()) == 0;
    RUNS.lock().unwrap().push(event.id().to_owned());
    if first {
        return Err(HandlerError::retryable("first run fails"));
    }
    Ok(())
}

fn receiver() -> Receiver {
    Receiver::builder()
        .verifier(
            Verifier::builder(PaymentKit)
                .secret(SECRET)
                .build()
                .unwrap(),
        )
        .store(MemoryStore::new())
        .build()
        .unwrap()
}

fn sender(secret: &str) -> TestSender<PaymentKit> {
    TestSender::new(PaymentKit, secret).unwrap().path(PATH)
}

fn unique(label: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("evt_obs_{label}_{}", NEXT.fetch_add(1, Ordering::SeqCst))
}

// ---------------------------------------------------------------------------------------------
// Capture
// ---------------------------------------------------------------------------------------------

/// A closed span: its name, the name of its parent span and every field recorded on it.
#[derive(Debug, Clone)]
struct SpanRecord {
    name: &'static str,
    parent: Option<&'static str>,
    fields: BTreeMap<String, String>,
}

#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<SpanRecord>>>);

/// The fields of a span while it is open.
struct Open(SpanRecord);

struct FieldVisitor<'a>(&'a mut BTreeMap<String, String>);

impl Visit for FieldVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let span = ctx.span(id).expect("new span");
        let mut record = SpanRecord {
            name: attrs.metadata().name(),
            parent: span.parent().map(|parent| parent.name()),
            fields: BTreeMap::new(),
        };
        attrs.record(&mut FieldVisitor(&mut record.fields));
        span.extensions_mut().insert(Open(record));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let span = ctx.span(id).expect("recorded span");
        let mut extensions = span.extensions_mut();
        if let Some(open) = extensions.get_mut::<Open>() {
            values.record(&mut FieldVisitor(&mut open.0.fields));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let span = ctx.span(&id).expect("closed span");
        let open = span.extensions_mut().remove::<Open>();
        if let Some(open) = open {
            self.0.lock().unwrap().push(open.0);
        }
    }
}

impl Spans {
    fn named(&self, name: &str) -> Vec<SpanRecord> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.name == name)
            .cloned()
            .collect()
    }
}

/// Everything one test observed.
struct Observed {
    spans: Spans,
    metrics: Vec<(CompositeKey, DebugValue)>,
}

impl Observed {
    /// The value of the counter `name` whose labels are exactly `labels`.
    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.find(MetricKind::Counter, name, labels)
            .map_or(0, |value| match value {
                DebugValue::Counter(n) => *n,
                other => panic!("{name} is not a counter: {other:?}"),
            })
    }

    /// How many samples the histogram `name` with exactly `labels` holds.
    fn samples(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        self.find(MetricKind::Histogram, name, labels)
            .map_or_else(Vec::new, |value| match value {
                DebugValue::Histogram(samples) => samples.iter().map(|s| s.into_inner()).collect(),
                other => panic!("{name} is not a histogram: {other:?}"),
            })
    }

    fn find(&self, kind: MetricKind, name: &str, labels: &[(&str, &str)]) -> Option<&DebugValue> {
        let mut wanted: Vec<(&str, &str)> = labels.to_vec();
        wanted.sort_unstable();
        self.metrics
            .iter()
            .find(|(key, _)| {
                let mut got: Vec<(&str, &str)> =
                    key.key().labels().map(|l| (l.key(), l.value())).collect();
                got.sort_unstable();
                key.kind() == kind && key.key().name() == name && got == wanted
            })
            .map(|(_, value)| value)
    }

    /// Every metric series recorded, for failure messages.
    fn series(&self) -> Vec<String> {
        self.metrics
            .iter()
            .map(|(key, value)| format!("{:?} {:?}", key.key(), value))
            .collect()
    }
}

/// Runs `work` on this thread with a span-capturing subscriber and a debugging recorder.
fn observe<F: std::future::Future<Output = ()>>(work: impl FnOnce() -> F) -> Observed {
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        metrics::with_local_recorder(&recorder, || runtime.block_on(work()));
    });
    Observed {
        spans,
        metrics: snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| (key, value))
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn a_processed_then_duplicate_delivery_reports_spans_and_metrics() {
    let id = unique("processed");
    let observed = observe(|| async {
        let receiver = receiver();
        let delivery = sender(SECRET).event(&id, HANDLED, OBJECT);
        let first = receiver.receive(delivery.request().unwrap()).await.unwrap();
        assert_eq!(first.ran(), ["observability::observed"]);
        let again = receiver.receive(delivery.request().unwrap()).await.unwrap();
        assert!(again.is_duplicate());
    });
    assert_eq!(runs(&id), 1);

    let deliveries = observed.spans.named("webhook.delivery");
    assert_eq!(deliveries.len(), 2, "{deliveries:#?}");
    for (span, outcome) in deliveries.iter().zip(["processed", "duplicate"]) {
        assert_eq!(span.parent, None);
        assert_eq!(span.fields["scheme"], "paymentkit");
        assert_eq!(span.fields["event_id"], id);
        assert_eq!(span.fields["event_type"], HANDLED);
        assert_eq!(span.fields["outcome"], outcome);
        assert!(!span.fields.contains_key("reason"), "{span:?}");
        let latency: f64 = span.fields["latency_ms"].parse().unwrap();
        assert!(latency >= 0.0);
    }

    // Only the first delivery ran the handler, inside its delivery span.
    let handlers = observed.spans.named("webhook.handler");
    assert_eq!(handlers.len(), 1, "{handlers:#?}");
    let handler = &handlers[0];
    assert_eq!(handler.parent, Some("webhook.delivery"));
    assert_eq!(handler.fields["handler"], "observability::observed");
    assert_eq!(handler.fields["attempt"], "1");
    assert_eq!(handler.fields["outcome"], "completed");
    assert!(handler.fields["latency_ms"].parse::<f64>().unwrap() >= 0.0);

    let scheme = ("scheme", "paymentkit");
    assert_eq!(observed.counter("webhook_verified_total", &[scheme]), 2);
    for outcome in ["processed", "duplicate"] {
        assert_eq!(
            observed.counter("webhook_deliveries_total", &[scheme, ("outcome", outcome)]),
            1,
            "{outcome}: {:#?}",
            observed.series()
        );
        assert_eq!(
            observed
                .samples(
                    "webhook_delivery_duration_seconds",
                    &[scheme, ("outcome", outcome)]
                )
                .len(),
            1
        );
    }
    let completed = [
        ("handler", "observability::observed"),
        ("outcome", "completed"),
    ];
    assert_eq!(
        observed.counter("webhook_handler_runs_total", &completed),
        1
    );
    assert_eq!(
        observed
            .samples("webhook_handler_duration_seconds", &completed)
            .len(),
        1
    );
}

#[test]
fn a_forged_delivery_is_rejected_with_its_reason_and_no_event_fields() {
    let observed = observe(|| async {
        let receiver = receiver();
        let forged =
            sender("whsec_not_the_receivers_secret").event(&unique("forged"), HANDLED, OBJECT);
        assert!(receiver.receive(forged.request().unwrap()).await.is_err());
    });
    let deliveries = observed.spans.named("webhook.delivery");
    assert_eq!(deliveries.len(), 1);
    let span = &deliveries[0];
    assert_eq!(span.fields["outcome"], "rejected");
    assert_eq!(span.fields["reason"], "bad_signature");
    // Before verification the id and type are whatever an attacker wrote: not recorded.
    assert!(!span.fields.contains_key("event_id"), "{span:?}");
    assert!(!span.fields.contains_key("event_type"), "{span:?}");
    assert!(observed.spans.named("webhook.handler").is_empty());

    let scheme = ("scheme", "paymentkit");
    assert_eq!(
        observed.counter(
            "webhook_deliveries_total",
            &[scheme, ("outcome", "rejected"), ("reason", "bad_signature")]
        ),
        1,
        "{:#?}",
        observed.series()
    );
    assert_eq!(observed.counter("webhook_verified_total", &[scheme]), 0);
}

#[test]
fn a_failed_handler_and_its_retry_report_outcomes_and_attempts() {
    let id = unique("flaky");
    let observed = observe(|| async {
        let receiver = receiver();
        let delivery = sender(SECRET).event(&id, FLAKY, OBJECT);
        assert!(receiver.receive(delivery.request().unwrap()).await.is_err());
        let retry = receiver.receive(delivery.request().unwrap()).await.unwrap();
        assert_eq!(retry.ran(), ["observability::flaky"]);
        assert_eq!(runs(&id), 2);
        // An unknown type reaches no handler and no store.
        let other = sender(SECRET).event(&unique("unknown"), "customer.created", "{}");
        assert!(receiver
            .receive(other.request().unwrap())
            .await
            .unwrap()
            .is_ignored());
    });
    let outcomes: Vec<_> = observed
        .spans
        .named("webhook.delivery")
        .iter()
        .map(|s| s.fields["outcome"].clone())
        .collect();
    assert_eq!(outcomes, ["failed", "processed", "ignored"]);

    let handlers = observed.spans.named("webhook.handler");
    let runs: Vec<_> = handlers
        .iter()
        .map(|s| (s.fields["outcome"].as_str(), s.fields["attempt"].as_str()))
        .collect();
    assert_eq!(runs, [("failed", "1"), ("completed", "2")]);

    let flaky = ("handler", "observability::flaky");
    assert_eq!(
        observed.counter(
            "webhook_handler_runs_total",
            &[flaky, ("outcome", "failed")]
        ),
        1
    );
    assert_eq!(
        observed.counter(
            "webhook_handler_runs_total",
            &[flaky, ("outcome", "completed")]
        ),
        1
    );
    let scheme = ("scheme", "paymentkit");
    for outcome in ["failed", "processed", "ignored"] {
        assert_eq!(
            observed.counter("webhook_deliveries_total", &[scheme, ("outcome", outcome)]),
            1,
            "{outcome}: {:#?}",
            observed.series()
        );
    }
}

#[test]
fn requests_refused_by_the_http_adapter_are_counted_with_their_reason() {
    use webhook_axum::RouterExt;

    let observed = observe(|| async {
        let router = axum::Router::new().webhook(PATH, receiver());
        let mut request = sender(SECRET)
            .event(&unique("xml"), HANDLED, OBJECT)
            .request()
            .unwrap();
        request.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/xml"),
        );
        let answer = webhook_axum::test::TestClient::new(router)
            .send(request)
            .await
            .unwrap();
        assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    });
    let deliveries = observed.spans.named("webhook.delivery");
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].fields["reason"], "unsupported_media_type");
    assert_eq!(
        observed.counter(
            "webhook_deliveries_total",
            &[
                ("scheme", "paymentkit"),
                ("outcome", "rejected"),
                ("reason", "unsupported_media_type")
            ]
        ),
        1
    );
}

#[test]
fn spans_never_hold_the_secret_the_signature_or_the_body() {
    let request = sender(SECRET)
        .event(&unique("hygiene"), HANDLED, OBJECT)
        .request()
        .unwrap();
    let signatures: Vec<String> = ["x-webhook-signature", "x-webhook-timestamp"]
        .iter()
        .filter_map(|name| request.headers().get(*name))
        .map(|value| value.to_str().unwrap().to_owned())
        .collect();
    assert!(!signatures.is_empty(), "{:?}", request.headers());
    let body = request.body().clone();
    let observed = observe(|| async {
        receiver().receive(request).await.unwrap();
    });
    let spans = observed.spans.0.lock().unwrap();
    assert!(spans.len() >= 2, "{spans:#?}");
    for span in spans.iter() {
        for value in span.fields.values() {
            assert!(!value.contains(SECRET), "{span:?}");
            assert!(!value.contains("BODY_MARKER_7f3a"), "{span:?}");
            assert!(
                !value.contains(std::str::from_utf8(&body).unwrap()),
                "{span:?}"
            );
            for signature in &signatures {
                assert!(!value.contains(signature.as_str()), "{span:?}");
            }
        }
    }
}
