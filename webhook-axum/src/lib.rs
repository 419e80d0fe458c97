//! Mount `webhook-core` receivers into an Axum application with one call.
//!
//! ```
//! use axum::{routing::get, Router};
//! use webhook_axum::RouterExt;
//! use webhook_core::signature::{PaymentKit, Verifier};
//! use webhook_core::{MemoryStore, Receiver};
//!
//! #[derive(Clone)]
//! struct AppState;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let receiver = Receiver::builder()
//!     .verifier(Verifier::builder(PaymentKit).secret("whsec_example").build()?)
//!     .store(MemoryStore::new())
//!     .build()?;
//!
//! let app: Router = Router::new()
//!     .route("/health", get(|| async { "ok" }))
//!     .webhook("/webhooks/paymentkit", receiver)
//!     .with_state(AppState);
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! The route answers `POST` only (405 otherwise). Before the receiver sees a request, the
//! adapter rejects a `Content-Encoding` or a non-JSON `Content-Type` (415) and a body above
//! the receiver's limit, by `Content-Length` or while streaming (413), and reads the body as raw
//! bytes: nothing parses or transforms it before the signature is verified. Processing then runs
//! in its own task, so a client that disconnects cannot cancel a handler half-way. Every outcome
//! is mapped to a status in one place, [`response`], following reliability.md "Pinned policy".

mod body;
pub mod response;

use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::{post, MethodRouter};
use axum::Router;
use webhook_core::Receiver;

pub use response::Rejection;

/// The webhook route as a [`MethodRouter`], for use with `Router::route` or `nest_service`.
pub fn method_router<S: Clone + Send + Sync + 'static>(receiver: Receiver) -> MethodRouter<S> {
    post(receive).with_state(receiver)
}

/// A router that answers webhook deliveries at `/`, to `nest` under a path of your choice or
/// `merge` into your app. It works with any application state type.
pub fn router<S: Clone + Send + Sync + 'static>(receiver: Receiver) -> Router<S> {
    Router::new().route("/", method_router(receiver))
}

/// Mount a receiver on an existing router.
pub trait RouterExt {
    /// Answer webhook deliveries at `path`.
    #[must_use]
    fn webhook(self, path: &str, receiver: Receiver) -> Self;
}

impl<S: Clone + Send + Sync + 'static> RouterExt for Router<S> {
    fn webhook(self, path: &str, receiver: Receiver) -> Self {
        self.route(path, method_router(receiver))
    }
}

async fn receive(State(receiver): State<Receiver>, request: Request) -> Response {
    let request = match body::read(request, receiver.limits().body_limit).await {
        Ok(request) => request,
        Err(rejection) => return response::rejected(&rejection),
    };
    // Detached from the connection: if the client goes away, the handlers still finish and
    // complete (or release) their claims.
    let task = tokio::spawn(async move { receiver.receive(request).await });
    match task.await {
        Ok(result) => response::respond(&result),
        Err(join_error) => {
            tracing::error!(%join_error, "receiver task failed");
            response::internal_error()
        }
    }
}
