//! Handlers in a separate crate: the application's billing handlers live in the library crate
//! `webhook-example-billing` (examples/billing-handlers), and this binary serves them.
//!
//! ```text
//! WEBHOOK_SECRET=whsec_... cargo run -p webhook-examples --example separate_crate
//! cargo test -p webhook-examples --example separate_crate   # the handlers are found and run
//! ```
//!
//! Prints the handlers it found, then answers PaymentKit deliveries at
//! `http://127.0.0.1:3000/webhooks/paymentkit` until Ctrl-C. In an application the handlers
//! crate is an ordinary `[dependencies]` entry of the binary's package; here it is a
//! dev-dependency of `webhook-examples`, so the `demo` binary does not carry its handlers.

// The one line a handlers crate needs. `#[on_event]` registers a handler through a static that
// nothing refers to, and rustc links only the crates a binary names: without this `use`, the
// crate is left out, its handlers with it, and every invoice event is acknowledged without
// running anything. Keep it even when `main` also uses an item of the crate, so removing that
// use cannot silently drop the handlers. Integration tests of the handlers crate need it too.
use webhook_example_billing as _;

use axum::Router;
use webhook_axum::{RouterExt, Server};
use webhook_core::signature::{PaymentKit, Verifier};
use webhook_core::{MemoryStore, Receiver};

/// Example only: use the secret PaymentKit shows for your endpoint.
const EXAMPLE_SECRET: &str = "whsec_separate_crate_example";

fn receiver(secret: &str) -> Result<Receiver, Box<dyn std::error::Error>> {
    Ok(Receiver::builder()
        .verifier(Verifier::builder(PaymentKit).secret(secret).build()?)
        .store(MemoryStore::new())
        .build()?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().init();
    let secret = std::env::var("WEBHOOK_SECRET").unwrap_or_else(|_| EXAMPLE_SECRET.to_owned());
    let receiver = receiver(&secret)?;
    // Shows at a glance whether a handlers crate was linked.
    for handler in receiver.registry().registered_events() {
        println!("registered: {handler}");
    }
    let app = Router::new().webhook("/webhooks/paymentkit", receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!(
        "PaymentKit webhooks at http://{}/webhooks/paymentkit",
        listener.local_addr()?
    );
    Server::new(listener, app)
        .run_until(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use webhook_core::test_util::fixtures::sample_object;
    use webhook_core::test_util::TestSender;

    use super::*;

    #[test]
    fn the_crates_handlers_are_registered() {
        let receiver = receiver(EXAMPLE_SECRET).unwrap();
        let registered: Vec<_> = receiver
            .registry()
            .registered_events()
            .iter()
            .map(|handler| (handler.pattern, handler.path))
            .collect();
        assert_eq!(
            registered,
            [
                (
                    "invoice.payment_failed",
                    "webhook_example_billing::notify_failed"
                ),
                ("invoice.paid", "webhook_example_billing::record_paid"),
            ]
        );
    }

    #[tokio::test]
    async fn the_crates_handlers_run() {
        let receiver = receiver(EXAMPLE_SECRET).unwrap();
        let sender = TestSender::new(PaymentKit, EXAMPLE_SECRET).unwrap();
        for (event_type, handler) in [
            ("invoice.paid", "webhook_example_billing::record_paid"),
            (
                "invoice.payment_failed",
                "webhook_example_billing::notify_failed",
            ),
        ] {
            let invoice = sample_object(event_type).unwrap().to_string();
            let delivery = sender.event(&format!("evt_{event_type}"), event_type, &invoice);
            let receipt = receiver.receive(delivery.request().unwrap()).await.unwrap();
            assert_eq!(receipt.ran(), [handler]);
        }
    }
}
