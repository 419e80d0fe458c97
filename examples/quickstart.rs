//! The smallest real receiver: one PaymentKit handler, an in-memory idempotency store, and an
//! axum server.
//!
//! ```text
//! WEBHOOK_SECRET=whsec_... cargo run -p webhook-examples --example quickstart
//! cargo test -p webhook-examples --example quickstart   # signed deliveries, in process
//! ```
//!
//! It answers PaymentKit deliveries at `http://127.0.0.1:3000/webhooks/paymentkit` until
//! Ctrl-C. Without `WEBHOOK_SECRET` it uses an example secret. Send it a signed sample with the
//! trigger CLI, which reads the same variable:
//!
//! ```text
//! cargo run -p webhook-cli -- trigger payment_intent.succeeded --url http://127.0.0.1:3000/webhooks/paymentkit
//! ```
//!
//! `MemoryStore` forgets what it handled when the process exits; use `SqliteStore` or
//! `PostgresStore` in production.

use axum::Router;
use webhook_axum::{RouterExt, Server};
use webhook_core::paymentkit::PaymentIntent;
use webhook_core::signature::{PaymentKit, Verifier};
use webhook_core::{on_event, Event, HandlerError, MemoryStore, Receiver};

/// Example only: use the secret PaymentKit shows for your endpoint.
const EXAMPLE_SECRET: &str = "whsec_quickstart_example";

#[on_event("payment_intent.succeeded")]
async fn fulfil(event: Event<PaymentIntent>) -> Result<(), HandlerError> {
    let intent = event.object();
    println!(
        "{} succeeded: {} {}",
        intent.id, intent.amount, intent.currency_id
    );
    Ok(())
}

fn receiver(secret: &str) -> Result<Receiver, Box<dyn std::error::Error>> {
    Ok(Receiver::builder()
        .verifier(Verifier::builder(PaymentKit).secret(secret).build()?)
        .store(MemoryStore::new())
        .build()?)
}

fn app(receiver: Receiver) -> Router {
    Router::new().webhook("/webhooks/paymentkit", receiver)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("WEBHOOK_SECRET").unwrap_or_else(|_| EXAMPLE_SECRET.to_owned());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!(
        "PaymentKit webhooks at http://{}/webhooks/paymentkit",
        listener.local_addr()?
    );
    Server::new(listener, app(receiver(&secret)?))
        .run_until(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use http::StatusCode;
    use tower::ServiceExt;
    use webhook_core::test_util::fixtures::sample_object;
    use webhook_core::test_util::TestSender;

    use super::*;

    async fn post(app: &Router, request: http::Request<bytes::Bytes>) -> StatusCode {
        let response = app
            .clone()
            .oneshot(request.map(axum::body::Body::from))
            .await;
        response.expect("axum routers are infallible").status()
    }

    #[tokio::test]
    async fn runs_the_handler_once_and_rejects_forgeries() {
        let receiver = receiver(EXAMPLE_SECRET).unwrap();
        let app = app(receiver.clone());
        let intent = sample_object("payment_intent.succeeded")
            .unwrap()
            .to_string();
        let delivery = TestSender::new(PaymentKit, EXAMPLE_SECRET)
            .unwrap()
            .path("/webhooks/paymentkit")
            .event("evt_quickstart", "payment_intent.succeeded", &intent);

        assert_eq!(
            post(&app, delivery.request().unwrap()).await,
            StatusCode::OK
        );
        // The handler completed during that delivery: asked again, the receiver has nothing
        // left to run.
        let again = receiver.receive(delivery.request().unwrap()).await.unwrap();
        assert_eq!(again.already_done(), ["quickstart::fulfil"]);
        assert!(again.ran().is_empty());
        assert_eq!(
            post(&app, delivery.request().unwrap()).await,
            StatusCode::OK
        );

        let forged = TestSender::new(PaymentKit, "whsec_not_the_secret")
            .unwrap()
            .path("/webhooks/paymentkit")
            .event("evt_forged", "payment_intent.succeeded", &intent);
        assert_eq!(
            post(&app, forged.request().unwrap()).await,
            StatusCode::UNAUTHORIZED
        );
    }
}
