//! A minimal hand-written axum webhook receiver: the baseline of the HTTP load benchmark.
//!
//! It does the work the demo receiver does for `payment_intent.succeeded` (verify the PaymentKit
//! signature, parse the envelope, dedupe the event id in memory, decode the object, note what
//! the handler did in a journal) with none of the framework: see `benches/http_load.sh`.
//!
//! Environment: `WEBHOOK_SECRET` (default: the benchmarks' secret), `BASELINE_ADDR` (default
//! `127.0.0.1:3001`).

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use webhook_benches::{HandWritten, Rejected, PATH, SECRET};
use webhook_core::paymentkit::PaymentIntent;

struct App {
    receiver: HandWritten,
    /// What the handler did, as the demo's journal records it.
    journal: Mutex<Vec<String>>,
}

async fn receive(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    // The demo's handler decodes the same PaymentKit type.
    let outcome = app
        .receiver
        .receive(&headers, &body, |_, intent: PaymentIntent| {
            let line = format!(
                "fulfil_payment({}, {} {})",
                intent.id, intent.amount, intent.currency_id
            );
            app.journal
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(line);
        });
    match outcome {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(Rejected::Unauthenticated) => (StatusCode::UNAUTHORIZED, "unauthorized"),
        Err(Rejected::Malformed) => (StatusCode::BAD_REQUEST, "bad request"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("WEBHOOK_SECRET").unwrap_or_else(|_| SECRET.to_owned());
    let addr = std::env::var("BASELINE_ADDR").unwrap_or_else(|_| "127.0.0.1:3001".to_owned());
    let app = Arc::new(App {
        receiver: HandWritten::new(&secret),
        journal: Mutex::new(Vec::new()),
    });
    let router = Router::new().route(PATH, post(receive)).with_state(app);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "baseline receiver at http://{}{PATH}",
        listener.local_addr()?
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await?;
    Ok(())
}
