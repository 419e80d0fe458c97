//! Two payment providers in one application: PaymentKit at `/webhooks/paymentkit` and Stripe
//! at `/webhooks/stripe`, each with its own secret, signature scheme, idempotency namespace and
//! handlers.
//!
//! ```text
//! PAYMENTKIT_WEBHOOK_SECRET=whsec_... STRIPE_WEBHOOK_SECRET=whsec_... \
//!     cargo run -p webhook-examples --example multi_provider
//! cargo test -p webhook-examples --example multi_provider   # signed deliveries, in process
//! ```
//!
//! Every `#[on_event]` handler in a binary is registered globally, so each receiver is given
//! only the handlers of its provider's module with `Registry::from_module`. Both providers send
//! `payment_intent.succeeded`, with different objects: without that, a Stripe delivery would
//! also run the PaymentKit handler. Both receivers share one store; the namespaces keep their
//! event ids apart. Serves on 127.0.0.1:3000 until Ctrl-C; unset secrets default to example
//! ones, and the idempotency records go to `multi_provider.sqlite3` in the working directory.

use std::sync::{Arc, Mutex};

use axum::Router;
use webhook_axum::{RouterExt, Server};
use webhook_core::SqliteStore;

/// Stands in for the application's database: what the handlers recorded.
#[derive(Debug, Clone, Default)]
pub struct Ledger(Arc<Mutex<Vec<String>>>);

impl Ledger {
    fn record(&self, entry: String) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(entry);
    }

    /// Every entry so far.
    #[must_use]
    pub fn entries(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

mod paymentkit {
    use webhook_core::paymentkit::PaymentIntent;
    use webhook_core::signature::{PaymentKit, Verifier};
    use webhook_core::{on_event, Event, HandlerError, Receiver, Registry, SqliteStore, State};

    use super::Ledger;

    #[on_event("payment_intent.succeeded")]
    async fn fulfil(
        event: Event<PaymentIntent>,
        State(ledger): State<Ledger>,
    ) -> Result<(), HandlerError> {
        let intent = event.object();
        ledger.record(format!("paymentkit {} {}", intent.id, intent.amount));
        Ok(())
    }

    /// The receiver for PaymentKit: this module's handlers only.
    pub(crate) fn receiver(
        secret: &str,
        store: SqliteStore,
        ledger: Ledger,
    ) -> Result<Receiver, Box<dyn std::error::Error>> {
        Ok(Receiver::builder()
            .verifier(Verifier::builder(PaymentKit).secret(secret).build()?)
            .registry(Registry::from_module(module_path!())?)
            .namespace("paymentkit")
            .store(store)
            .state(ledger)
            .build()?)
    }
}

mod stripe {
    use serde::Deserialize;
    use webhook_core::signature::{Stripe, Verifier};
    use webhook_core::{on_event, Event, HandlerError, Receiver, Registry, SqliteStore, State};

    use super::Ledger;

    /// The fields of Stripe's objects this application uses; serde skips the rest.
    #[derive(Debug, Deserialize)]
    struct Payment {
        id: String,
        amount: u64,
        currency: String,
    }

    // Stripe's types are not in the PaymentKit catalogue the macro checks against.
    #[on_event("payment_intent.succeeded", unchecked)]
    async fn fulfil(
        event: Event<Payment>,
        State(ledger): State<Ledger>,
    ) -> Result<(), HandlerError> {
        let intent = event.object();
        ledger.record(format!(
            "stripe {} {} {}",
            intent.id, intent.amount, intent.currency
        ));
        Ok(())
    }

    #[on_event("charge.succeeded", unchecked)]
    async fn record_charge(
        event: Event<Payment>,
        State(ledger): State<Ledger>,
    ) -> Result<(), HandlerError> {
        let charge = event.object();
        ledger.record(format!(
            "stripe {} {} {}",
            charge.id, charge.amount, charge.currency
        ));
        Ok(())
    }

    /// The receiver for Stripe: this module's handlers only.
    pub(crate) fn receiver(
        secret: &str,
        store: SqliteStore,
        ledger: Ledger,
    ) -> Result<Receiver, Box<dyn std::error::Error>> {
        Ok(Receiver::builder()
            .verifier(Verifier::builder(Stripe).secret(secret).build()?)
            .registry(Registry::from_module(module_path!())?)
            .namespace("stripe")
            .store(store)
            .state(ledger)
            .build()?)
    }
}

/// Example only: use the secrets each provider shows for your endpoints.
const PAYMENTKIT_EXAMPLE_SECRET: &str = "whsec_paymentkit_example";
const STRIPE_EXAMPLE_SECRET: &str = "whsec_stripe_example";

fn app(
    paymentkit_secret: &str,
    stripe_secret: &str,
    store: &SqliteStore,
    ledger: &Ledger,
) -> Result<Router, Box<dyn std::error::Error>> {
    Ok(Router::new()
        .webhook(
            "/webhooks/paymentkit",
            paymentkit::receiver(paymentkit_secret, store.clone(), ledger.clone())?,
        )
        .webhook(
            "/webhooks/stripe",
            stripe::receiver(stripe_secret, store.clone(), ledger.clone())?,
        ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret =
        |name: &str, example: &str| std::env::var(name).unwrap_or_else(|_| example.to_owned());
    let paymentkit_secret = secret("PAYMENTKIT_WEBHOOK_SECRET", PAYMENTKIT_EXAMPLE_SECRET);
    let stripe_secret = secret("STRIPE_WEBHOOK_SECRET", STRIPE_EXAMPLE_SECRET);
    let store = SqliteStore::open("multi_provider.sqlite3").await?;
    let app = app(
        &paymentkit_secret,
        &stripe_secret,
        &store,
        &Ledger::default(),
    )?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    let addr = listener.local_addr()?;
    println!("PaymentKit webhooks at http://{addr}/webhooks/paymentkit");
    println!("Stripe webhooks at http://{addr}/webhooks/stripe");
    Server::new(listener, app)
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
    use webhook_core::signature::{PaymentKit, Stripe};
    use webhook_core::test_util::fixtures::sample_object;
    use webhook_core::test_util::TestSender;

    use super::*;

    const STRIPE_INTENT: &str = r#"{"id":"pi_3Stripe","object":"payment_intent","amount":2000,"currency":"usd","status":"succeeded"}"#;
    const STRIPE_CHARGE: &str =
        r#"{"id":"ch_3Stripe","object":"charge","amount":2000,"currency":"usd","paid":true}"#;

    async fn post(app: &Router, request: http::Request<bytes::Bytes>) -> StatusCode {
        let response = app
            .clone()
            .oneshot(request.map(axum::body::Body::from))
            .await;
        response.expect("axum routers are infallible").status()
    }

    async fn app_and_ledger() -> (Router, Ledger) {
        let store = SqliteStore::memory().await.unwrap();
        let ledger = Ledger::default();
        let app = app(
            PAYMENTKIT_EXAMPLE_SECRET,
            STRIPE_EXAMPLE_SECRET,
            &store,
            &ledger,
        )
        .unwrap();
        (app, ledger)
    }

    fn paymentkit_sender() -> TestSender<PaymentKit> {
        TestSender::new(PaymentKit, PAYMENTKIT_EXAMPLE_SECRET)
            .unwrap()
            .path("/webhooks/paymentkit")
    }

    fn stripe_sender() -> TestSender<Stripe> {
        TestSender::new(Stripe, STRIPE_EXAMPLE_SECRET)
            .unwrap()
            .path("/webhooks/stripe")
    }

    #[tokio::test]
    async fn each_path_runs_only_its_providers_handlers() {
        let (app, ledger) = app_and_ledger().await;

        // The same event id and type from both providers: separate namespaces, separate
        // handlers.
        let intent = sample_object("payment_intent.succeeded").unwrap();
        let delivery =
            paymentkit_sender().event("evt_1", "payment_intent.succeeded", &intent.to_string());
        assert_eq!(
            post(&app, delivery.request().unwrap()).await,
            StatusCode::OK
        );
        assert_eq!(
            ledger.entries(),
            [format!(
                "paymentkit {} {}",
                intent["id"].as_str().unwrap(),
                intent["amount"].as_str().unwrap()
            )]
        );

        let delivery = stripe_sender().event("evt_1", "payment_intent.succeeded", STRIPE_INTENT);
        assert_eq!(
            post(&app, delivery.request().unwrap()).await,
            StatusCode::OK
        );
        let delivery = stripe_sender().event("evt_2", "charge.succeeded", STRIPE_CHARGE);
        assert_eq!(
            post(&app, delivery.request().unwrap()).await,
            StatusCode::OK
        );
        assert_eq!(
            ledger.entries()[1..],
            ["stripe pi_3Stripe 2000 usd", "stripe ch_3Stripe 2000 usd"]
        );

        // Retries are answered without running anything again.
        assert_eq!(
            post(&app, delivery.request().unwrap()).await,
            StatusCode::OK
        );
        assert_eq!(ledger.entries().len(), 3);
    }

    #[tokio::test]
    async fn a_delivery_signed_for_one_provider_is_rejected_on_the_other_path() {
        let (app, ledger) = app_and_ledger().await;

        let stripe_signed = stripe_sender().path("/webhooks/paymentkit").event(
            "evt_3",
            "payment_intent.succeeded",
            STRIPE_INTENT,
        );
        assert_eq!(
            post(&app, stripe_signed.request().unwrap()).await,
            StatusCode::UNAUTHORIZED
        );

        let paymentkit_signed = paymentkit_sender().path("/webhooks/stripe").event(
            "evt_4",
            "charge.succeeded",
            STRIPE_CHARGE,
        );
        assert_eq!(
            post(&app, paymentkit_signed.request().unwrap()).await,
            StatusCode::UNAUTHORIZED
        );

        assert!(ledger.entries().is_empty());
    }
}
