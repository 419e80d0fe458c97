//! The demo receiver: PaymentKit webhooks into typed handlers, exactly once.
//!
//! ```text
//! cargo run -p webhook-examples --bin demo            # self-test: send samples, print a table
//! cargo run -p webhook-examples --bin demo -- --serve # keep serving for outside deliveries
//! ```
//!
//! With no configuration it listens on 127.0.0.1, signs one sample delivery of each of the
//! seven events of the PaymentKit webhooks guide with the demo secret, then sends a duplicate,
//! a forged signature and a stale timestamp, and prints what happened to each. It exits
//! non-zero if any answer differs from the pinned policy, so CI runs it as a smoke test.
//!
//! Idempotency records are kept in a SQLite file, created on first run, so a restarted demo
//! still knows which events it handled.
//!
//! Environment ([`Config::from_env`]): `WEBHOOK_SECRET` (default: the embedded
//! [`DEMO_SECRET`]), `DEMO_ADDR` for `--serve` (default [`DEFAULT_ADDR`]), `DEMO_DB` (default
//! [`DEFAULT_DB`] in the working directory), `DEMO_STORE=memory` for an in-memory store
//! instead.
//!
//! Observability: every delivery is a `webhook.delivery` span and every handler run a
//! `webhook.handler` span (`RUST_LOG=info` prints them as they close), and the metrics of
//! `webhook_core::observability` are recorded by a Prometheus recorder: the self-test prints
//! the counters after its table, and `--serve` answers `GET /metrics`.
//!
//! This module is the application; the `demo` binary (`examples/bin/demo.rs`) only calls
//! [`run`], and tests serve [`Demo::router`] themselves.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use metrics_exporter_prometheus::PrometheusBuilder;
use webhook_axum::RouterExt;
use webhook_core::paymentkit::{CheckoutSession, PaymentIntent, Subscription};
use webhook_core::signature::{PaymentKit, Verifier};
use webhook_core::test_util::TestSender;
use webhook_core::{
    on_event, Clock, Event, HandlerError, MemoryStore, Receiver, SqliteStore, State, SystemClock,
};

/// Demo only: real deployments read the secret PaymentKit gave the endpoint from configuration.
pub const DEMO_SECRET: &str = "whsec_demo_5f0c2d7e9a8b4c1d";
/// The path the receiver answers at.
pub const PATH: &str = "/webhooks/paymentkit";
/// Where `--serve` listens unless `DEMO_ADDR` says otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";
/// Upper bounds, in seconds, of the latency histograms' buckets: from a delivery answered
/// from memory (well under a millisecond) to a handler near the default 20 s time limit.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0,
];
/// How often the metrics recorder folds histogram samples into its buckets.
const METRICS_UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);
/// The SQLite file of idempotency records unless `DEMO_DB` says otherwise.
pub const DEFAULT_DB: &str = "webhook-demo.sqlite3";

/// Any error of the demo; it only ever reports them.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Where the demo keeps its idempotency records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// In memory: forgotten when the process exits (`DEMO_STORE=memory`).
    Memory,
    /// In this SQLite file, created if absent (`DEMO_DB`).
    Sqlite(PathBuf),
}

/// The demo's configuration; [`Config::default`] holds the embedded defaults.
#[derive(Clone)]
pub struct Config {
    /// The PaymentKit signing secret deliveries are verified with.
    pub secret: String,
    /// The address `--serve` listens on.
    pub addr: String,
    /// Where idempotency records are kept.
    pub store: StoreConfig,
}

impl Config {
    /// The defaults, overridden by `WEBHOOK_SECRET`, `DEMO_ADDR`, `DEMO_DB` and
    /// `DEMO_STORE=memory`.
    #[must_use]
    pub fn from_env() -> Self {
        let defaults = Self::default();
        let db = std::env::var("DEMO_DB").map_or_else(|_| PathBuf::from(DEFAULT_DB), PathBuf::from);
        Self {
            secret: std::env::var("WEBHOOK_SECRET").unwrap_or(defaults.secret),
            addr: std::env::var("DEMO_ADDR").unwrap_or(defaults.addr),
            // `DEMO_STORE=memory` keeps nothing on disk (the HTTP benchmark uses it).
            store: match std::env::var("DEMO_STORE").as_deref() {
                Ok("memory") => StoreConfig::Memory,
                _ => StoreConfig::Sqlite(db),
            },
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            secret: DEMO_SECRET.to_owned(),
            addr: DEFAULT_ADDR.to_owned(),
            store: StoreConfig::Sqlite(PathBuf::from(DEFAULT_DB)),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret stays out of logs and panic messages.
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// What the handlers did, so the demo (and tests) can see which handler ran for each delivery.
#[derive(Debug, Clone, Default)]
pub struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    fn note(&self, line: String) {
        self.lock().push(line);
    }

    /// The handler calls noted so far, oldest first, such as `fulfil_payment(pi_1, 1000 usd)`.
    #[must_use]
    pub fn entries(&self) -> Vec<String> {
        self.lock().clone()
    }

    /// The handler calls noted so far, emptying the journal.
    #[must_use]
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        // A handler that panicked mid-push left a whole Vec behind; keep journaling.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[on_event("checkout.session.completed")]
async fn checkout_completed(
    event: Event<CheckoutSession>,
    State(journal): State<Journal>,
) -> Result<(), HandlerError> {
    let session = event.object();
    journal.note(format!(
        "checkout_completed({}, total {})",
        session.id, session.amount_total
    ));
    Ok(())
}

#[on_event("payment_intent.succeeded")]
async fn fulfil_payment(
    event: Event<PaymentIntent>,
    State(journal): State<Journal>,
) -> Result<(), HandlerError> {
    let intent = event.object();
    journal.note(format!(
        "fulfil_payment({}, {} {})",
        intent.id, intent.amount, intent.currency_id
    ));
    Ok(())
}

#[on_event("customer.subscription.created")]
async fn subscription_created(
    event: Event<Subscription>,
    State(journal): State<Journal>,
) -> Result<(), HandlerError> {
    journal.note(format!("subscription_created({})", event.object().id));
    Ok(())
}

#[on_event("customer.subscription.updated")]
async fn subscription_updated(
    event: Event<Subscription>,
    State(journal): State<Journal>,
) -> Result<(), HandlerError> {
    journal.note(format!(
        "subscription_updated({}, {})",
        event.object().id,
        event.object().status
    ));
    Ok(())
}

#[on_event("customer.subscription.deleted")]
async fn subscription_deleted(
    event: Event<Subscription>,
    State(journal): State<Journal>,
) -> Result<(), HandlerError> {
    journal.note(format!("subscription_deleted({})", event.object().id));
    Ok(())
}

#[on_event("customer.subscription.started")]
async fn subscription_started(
    event: Event<Subscription>,
    State(journal): State<Journal>,
) -> Result<(), HandlerError> {
    journal.note(format!("subscription_started({})", event.object().id));
    Ok(())
}

#[on_event("customer.subscription.renewed")]
async fn subscription_renewed(
    event: Event<Subscription>,
    State(journal): State<Journal>,
) -> Result<(), HandlerError> {
    journal.note(format!("subscription_renewed({})", event.object().id));
    Ok(())
}

/// Realistic PaymentKit objects (the fixtures of webhook-core's deserialization tests).
const PAYMENT_INTENT: &str =
    include_str!("../webhook-core/tests/fixtures/paymentkit/payment_intent.json");
const CHECKOUT_SESSION: &str =
    include_str!("../webhook-core/tests/fixtures/paymentkit/checkout_session.json");
const SUBSCRIPTION: &str =
    include_str!("../webhook-core/tests/fixtures/paymentkit/subscription.json");

/// One sample delivery per event of the PaymentKit webhooks guide.
const SAMPLES: [(&str, &str, &str); 7] = [
    (
        "evt_demo_checkout",
        "checkout.session.completed",
        CHECKOUT_SESSION,
    ),
    (
        "evt_demo_sub_created",
        "customer.subscription.created",
        SUBSCRIPTION,
    ),
    (
        "evt_demo_sub_updated",
        "customer.subscription.updated",
        SUBSCRIPTION,
    ),
    (
        "evt_demo_sub_deleted",
        "customer.subscription.deleted",
        SUBSCRIPTION,
    ),
    (
        "evt_demo_sub_started",
        "customer.subscription.started",
        SUBSCRIPTION,
    ),
    (
        "evt_demo_sub_renewed",
        "customer.subscription.renewed",
        SUBSCRIPTION,
    ),
    (
        "evt_demo_payment",
        "payment_intent.succeeded",
        PAYMENT_INTENT,
    ),
];

/// The demo's receiver and the journal its handlers write to.
#[derive(Debug, Clone)]
pub struct Demo {
    receiver: Receiver,
    journal: Journal,
}

impl Demo {
    /// Build the receiver: every handler of this module, a PaymentKit verifier with
    /// `config.secret` and the configured store.
    ///
    /// # Errors
    /// When the secret is unusable or the SQLite file cannot be opened.
    pub async fn new(config: &Config) -> Result<Self, Error> {
        let journal = Journal::default();
        let builder = Receiver::builder()
            .verifier(
                Verifier::builder(PaymentKit)
                    .secret(&config.secret)
                    .build()?,
            )
            .state(journal.clone());
        let receiver = match &config.store {
            StoreConfig::Memory => builder.store(MemoryStore::new()).build()?,
            StoreConfig::Sqlite(path) => builder.store(SqliteStore::open(path).await?).build()?,
        };
        Ok(Self { receiver, journal })
    }

    /// The receiver, for its registry and limits.
    #[must_use]
    pub fn receiver(&self) -> &Receiver {
        &self.receiver
    }

    /// What the handlers did.
    #[must_use]
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// An axum router answering deliveries at [`PATH`].
    pub fn router(&self) -> Router {
        Router::new().webhook(PATH, self.receiver.clone())
    }
}

/// What [`run`] does once the receiver is listening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Listen on a free port of 127.0.0.1, send the samples with [`self_test`], print the
    /// table and stop.
    SelfTest,
    /// Listen on [`Config::addr`] until Ctrl-C.
    Serve,
}

/// The whole demo, as the `demo` binary runs it.
///
/// # Errors
/// When the demo cannot start, or (in [`Mode::SelfTest`]) when any answer differed from the
/// pinned policy.
pub async fn run(config: Config, mode: Mode) -> Result<(), Error> {
    let metrics = prometheus()?.install_recorder()?;
    // The recorder keeps every histogram sample until upkeep folds it into the buckets: without
    // it a receiver that is never scraped grows by two samples a delivery.
    let upkeep = metrics.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(METRICS_UPKEEP);
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    let demo = Demo::new(&config).await?;

    println!("Registered handlers:");
    for handler in demo.receiver.registry().registered_events() {
        println!("  {handler}");
    }
    println!(
        "Subscribe the PaymentKit endpoint to (enabled_events): {:?}",
        demo.receiver.registry().enabled_events()
    );
    println!();

    let addr = match mode {
        Mode::Serve => config.addr.as_str(),
        Mode::SelfTest => "127.0.0.1:0",
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // `Server` cuts off clients that never finish their request head, and drains in-flight
    // deliveries on shutdown.
    let render = metrics.clone();
    let router = demo
        .router()
        .route("/metrics", get(move || std::future::ready(render.render())));
    let server = tokio::spawn(
        webhook_axum::Server::new(listener, router).run_until(async {
            let _ = stopped.await;
        }),
    );

    if mode == Mode::Serve {
        println!("Serving PaymentKit webhooks at http://{addr}{PATH}");
        println!("Signing secret: {}", config.secret);
        println!(
            "Header: X-Webhook-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, \"<t>.\" + body)>"
        );
        println!("Metrics (Prometheus text format): http://{addr}/metrics");
        println!("Press Ctrl-C to stop.");
        tokio::signal::ctrl_c().await?;
        let _ = stop.send(());
        server.await??;
        return Ok(());
    }

    let ok = self_test(addr, &config.secret, &demo.journal).await?;
    let _ = stop.send(());
    server.await??;
    println!();
    println!("Metrics recorded (also served at /metrics with --serve):");
    for line in metrics.render().lines().filter(|line| counter_line(line)) {
        println!("  {line}");
    }
    if ok {
        Ok(())
    } else {
        Err("some deliveries were not answered as the policy requires".into())
    }
}

/// The demo's Prometheus exporter. Latencies are true Prometheus histograms rather than the
/// exporter's default summaries: buckets add up across instances (a summary's quantiles do
/// not), and folding a sample into one is a search of fifteen bounds where a summary updates
/// a quantile sketch (a sixth of what the demo costs per delivery beyond a hand-written
/// receiver; see BENCHMARKS.md).
fn prometheus() -> Result<PrometheusBuilder, metrics_exporter_prometheus::BuildError> {
    PrometheusBuilder::new().set_buckets(LATENCY_BUCKETS)
}

/// A sample line of one of the crate's counters in the Prometheus text format.
fn counter_line(line: &str) -> bool {
    line.starts_with("webhook_") && line.contains("_total")
}

/// Send one signed sample of each handled event, a duplicate, a forged signature and a stale
/// timestamp to the demo listening on `addr`, and print a table of what each got and which
/// handler ran.
///
/// Returns whether every answer (status and handler run) was as the pinned policy requires.
/// It takes entries from `journal` to tell which handler ran for which delivery.
///
/// # Errors
/// When a delivery cannot be signed or sent.
pub async fn self_test(addr: SocketAddr, secret: &str, journal: &Journal) -> Result<bool, Error> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let sender = TestSender::new(PaymentKit, secret)?.path(PATH);
    let forger = TestSender::new(PaymentKit, "whsec_not_the_real_secret")?.path(PATH);
    let now = SystemClock.unix_seconds();

    // The store outlives the process (that is the point of it), so each self-test run sends
    // events of its own; nanoseconds, because two runs can start within one second.
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let run = |id: &str| format!("{id}_{started}");
    let mut deliveries = Vec::new();
    for (id, event_type, object) in SAMPLES {
        let delivery = sender.event(&run(id), event_type, object);
        deliveries.push((event_type.to_owned(), delivery, StatusCode::OK, true));
    }
    let (id, event_type, object) = SAMPLES[6];
    deliveries.push((
        format!("duplicate of {event_type}"),
        sender.event(&run(id), event_type, object).at(now + 1),
        StatusCode::OK,
        false,
    ));
    deliveries.push((
        "forged signature".to_owned(),
        forger.event(&run("evt_demo_forged"), event_type, object),
        StatusCode::UNAUTHORIZED,
        false,
    ));
    deliveries.push((
        "stale timestamp".to_owned(),
        sender
            .event(&run("evt_demo_stale"), event_type, object)
            .at(now - 3600),
        StatusCode::UNAUTHORIZED,
        false,
    ));

    println!("{:<38} {:<8} handler run", "delivery", "status");
    println!("{}", "-".repeat(100));
    let mut all_as_expected = true;
    for (label, delivery, expected, should_run) in deliveries {
        let (mut parts, body) = delivery.request()?.into_parts();
        parts.uri = format!("http://{addr}{PATH}").parse()?;
        let response = client
            .request(http::Request::from_parts(parts, Full::new(body)))
            .await?;
        let status = response.status();
        response.into_body().collect().await?;
        let ran = journal.take();
        let as_expected = status == expected && ran.is_empty() != should_run;
        all_as_expected &= as_expected;
        let mark = if as_expected { "" } else { "   <-- unexpected" };
        let ran = if ran.is_empty() {
            "(none)".to_owned()
        } else {
            ran.join(", ")
        };
        println!("{label:<38} {:<8} {ran}{mark}", status.as_u16());
    }
    Ok(all_as_expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_are_exported_as_histograms_with_buckets() {
        let recorder = prometheus().expect("buckets").build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            metrics::histogram!(webhook_core::observability::DELIVERY_DURATION).record(0.002);
        });
        let rendered = handle.render();
        let bucket = |le: &str| format!("webhook_delivery_duration_seconds_bucket{{le=\"{le}\"}}");
        assert!(
            rendered.contains(&format!("{} 0", bucket("0.001"))),
            "{rendered}"
        );
        assert!(
            rendered.contains(&format!("{} 1", bucket("0.0025"))),
            "{rendered}"
        );
        assert!(
            rendered.contains(&format!("{} 1", bucket("+Inf"))),
            "{rendered}"
        );
        assert!(!rendered.contains("quantile"), "no summary: {rendered}");
    }
}
