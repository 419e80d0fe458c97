//! The demo receiver: PaymentKit webhooks into typed handlers, exactly once.
//!
//! ```text
//! cargo run -p webhook-examples --bin demo            # self-test: send samples, print a table
//! cargo run -p webhook-examples --bin demo -- --serve # keep serving for outside deliveries
//! ```
//!
//! The application (handlers, receiver, configuration) lives in `webhook_examples::demo`
//! (`examples/demo.rs`), so tests can serve it in process; this is only its entry point.
//! Environment: `WEBHOOK_SECRET`, `DEMO_ADDR`, `DEMO_DB`, `DEMO_STORE=memory` (see the module).

use webhook_examples::demo::{self, Config, Mode};

#[tokio::main]
async fn main() -> Result<(), demo::Error> {
    // With RUST_LOG=info, each delivery and handler span is printed as it closes, with its
    // outcome and latency.
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .init();
    let mode = if std::env::args().any(|arg| arg == "--serve") {
        Mode::Serve
    } else {
        Mode::SelfTest
    };
    demo::run(Config::from_env(), mode).await
}
