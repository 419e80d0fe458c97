//! Shared helpers for the cross-crate tests: a store that counts what it is asked, and HTTP
//! plumbing for driving a router in process (`oneshot`) or over a real TCP socket.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::ServiceExt;
use webhook_core::{Claim, ClaimKey, IdempotencyStore, Lease, MemoryStore, StoreError};

/// Wraps a store and counts every call, so tests can assert that it was not contacted.
#[derive(Debug)]
pub struct CountingStore<S = MemoryStore> {
    inner: Arc<S>,
    calls: Arc<AtomicUsize>,
}

impl<S> Clone for CountingStore<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            calls: Arc::clone(&self.calls),
        }
    }
}

impl<S> CountingStore<S> {
    /// Count calls made to `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner: Arc::new(inner),
            calls: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// How many operations the store has been asked to do.
    #[must_use]
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The wrapped store.
    #[must_use]
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

impl<S: IdempotencyStore> IdempotencyStore for CountingStore<S> {
    async fn claim(&self, key: &ClaimKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
        self.count();
        self.inner.claim(key, lease).await
    }

    async fn complete(&self, lease: &Lease, retention: Duration) -> Result<(), StoreError> {
        self.count();
        self.inner.complete(lease, retention).await
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.count();
        self.inner.release(lease).await
    }

    async fn extend(&self, lease: &Lease, by: Duration) -> Result<(), StoreError> {
        self.count();
        self.inner.extend(lease, by).await
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.count();
        self.inner.purge_expired().await
    }
}

/// A response reduced to what tests assert on.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// The body.
    pub body: Bytes,
}

/// Send `request` through `router` in process.
///
/// # Panics
/// When the router fails, which axum routers never do.
pub async fn oneshot(router: &Router, request: Request<Bytes>) -> Answer {
    let response = router
        .clone()
        .oneshot(request.map(axum::body::Body::from))
        .await
        .expect("axum routers are infallible");
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        retry_after: header(&parts.headers),
        body: body.collect().await.expect("body").to_bytes(),
    }
}

/// Serve `router` on a fresh port of 127.0.0.1 until the test process ends.
///
/// # Panics
/// When no port can be bound.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    addr
}

/// An HTTP/1 client for [`send`].
#[must_use]
pub fn client() -> Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Send `request` (whose URI is a path) to `addr` over TCP.
///
/// # Panics
/// When the connection fails.
pub async fn send(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    addr: SocketAddr,
    request: Request<Bytes>,
) -> Answer {
    let (mut parts, body) = request.into_parts();
    parts.uri = format!("http://{addr}{}", parts.uri.path())
        .parse()
        .expect("uri");
    let response = client
        .request(Request::from_parts(parts, Full::new(body)))
        .await
        .expect("request over TCP");
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        retry_after: header(&parts.headers),
        body: body.collect().await.expect("body").to_bytes(),
    }
}

fn header(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
