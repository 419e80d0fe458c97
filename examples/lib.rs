//! Runnable applications built on webhook-core and webhook-axum, as a library so that tests
//! (the `webhook` CLI's among them) can serve them in process.
//!
//! ```
//! use webhook_examples::demo::{self, Config, Demo, StoreConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), demo::Error> {
//! // The demo receiver on a free port, keeping its idempotency records in memory.
//! let config = Config { store: StoreConfig::Memory, ..Config::default() };
//! let demo = Demo::new(&config).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! tokio::spawn(webhook_axum::Server::new(listener, demo.router()).run());
//!
//! // Sign and send one sample of each event, a duplicate, a forgery and a stale delivery.
//! assert!(demo::self_test(addr, &config.secret, demo.journal()).await?);
//! # Ok(())
//! # }
//! ```
//!
//! The examples (`quickstart`, `multi_provider`, `separate_crate`, `custom_store`, `outbox`)
//! do not use this library, so the demo's handlers are not linked into them (handlers are
//! collected at link time). Each starts with a comment saying what it shows and how to run it.

pub mod demo;
