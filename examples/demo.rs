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
//! Environment: `WEBHOOK_SECRET` (default: the embedded demo secret), `DEMO_ADDR` for `--serve`
//! (default `127.0.0.1:3000`), `DEMO_DB` (default `webhook-demo.sqlite3` in the working
//! directory), `DEMO_STORE=memory` for an in-memory store instead.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use webhook_axum::RouterExt;
use webhook_core::paymentkit::{CheckoutSession, PaymentIntent, Subscription};
use webhook_core::signature::{PaymentKit, Verifier};
use webhook_core::test_util::TestSender;
use webhook_core::{
    on_event, Clock, Event, HandlerError, MemoryStore, Receiver, SqliteStore, State, SystemClock,
};

/// Demo only: real deployments read the secret PaymentKit gave the endpoint from configuration.
const DEMO_SECRET: &str = "whsec_demo_5f0c2d7e9a8b4c1d";
const PATH: &str = "/webhooks/paymentkit";

/// What the handlers did, so the demo can show which handler ran for each delivery.
#[derive(Clone, Default)]
struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    fn note(&self, line: String) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(line);
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let serve_mode = std::env::args().any(|arg| arg == "--serve");
    let secret = std::env::var("WEBHOOK_SECRET").unwrap_or_else(|_| DEMO_SECRET.to_owned());
    let db = std::env::var("DEMO_DB").unwrap_or_else(|_| "webhook-demo.sqlite3".to_owned());
    let journal = Journal::default();
    let builder = Receiver::builder()
        .verifier(Verifier::builder(PaymentKit).secret(&secret).build()?)
        .state(journal.clone());
    // `DEMO_STORE=memory` keeps nothing on disk (the HTTP benchmark uses it).
    let receiver = match std::env::var("DEMO_STORE").as_deref() {
        Ok("memory") => builder.store(MemoryStore::new()).build()?,
        _ => builder.store(SqliteStore::open(&db).await?).build()?,
    };

    println!("Registered handlers:");
    for handler in receiver.registry().registered_events() {
        println!("  {handler}");
    }
    println!(
        "Subscribe the PaymentKit endpoint to (enabled_events): {:?}",
        receiver.registry().enabled_events()
    );
    println!();

    let app = Router::new().webhook(PATH, receiver);
    let addr = if serve_mode {
        std::env::var("DEMO_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
    } else {
        "127.0.0.1:0".to_owned()
    };
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // `Server` cuts off clients that never finish their request head, and drains in-flight
    // deliveries on shutdown.
    let server = tokio::spawn(webhook_axum::Server::new(listener, app).run_until(async {
        let _ = stopped.await;
    }));

    if serve_mode {
        println!("Serving PaymentKit webhooks at http://{addr}{PATH}");
        println!("Signing secret: {secret}");
        println!(
            "Header: X-Webhook-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, \"<t>.\" + body)>"
        );
        println!("Press Ctrl-C to stop.");
        tokio::signal::ctrl_c().await?;
        let _ = stop.send(());
        server.await??;
        return Ok(());
    }

    let ok = self_test(addr, &secret, &journal).await?;
    let _ = stop.send(());
    server.await??;
    if ok {
        Ok(())
    } else {
        Err("some deliveries were not answered as the policy requires".into())
    }
}

async fn self_test(
    addr: SocketAddr,
    secret: &str,
    journal: &Journal,
) -> Result<bool, Box<dyn std::error::Error>> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let sender = TestSender::new(PaymentKit, secret)?.path(PATH);
    let forger = TestSender::new(PaymentKit, "whsec_not_the_real_secret")?.path(PATH);
    let now = SystemClock.unix_seconds();

    // The store outlives the process (that is the point of it), so each self-test run sends
    // events of its own.
    let run = |id: &str| format!("{id}_{now}");
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
