//! Drive an Axum app with signed test deliveries and see which handlers ran (feature
//! `test-util`).
//!
//! [`TestClient`] sends requests through a [`Router`] in process (tower's `oneshot`, no
//! socket) and returns an [`Answer`]: status, `Retry-After`, body, and the route's
//! [`DeliveryReport`] (which handlers ran, had already completed, or failed), which it asks
//! for on every request ([`ReportRequested`](crate::ReportRequested)).
//! [`serve`] runs the router on `127.0.0.1:0` with [`Server`] and sends over TCP, for tests
//! of the transport; answers read off the wire carry no report.
//!
//! ```
//! use axum::Router;
//! use http::StatusCode;
//! use webhook_axum::test::TestClient;
//! use webhook_axum::RouterExt;
//! use webhook_core::signature::PaymentKit;
//! use webhook_core::test_util::{receiver_builder, TestSender, TEST_SECRET};
//! use webhook_core::{on_event, Event, HandlerError};
//!
//! #[on_event("invoice.paid")]
//! async fn book_revenue(_event: Event) -> Result<(), HandlerError> {
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app: Router = Router::new().webhook("/webhooks", receiver_builder().build()?);
//! let client = TestClient::new(app);
//! let sender = TestSender::new(PaymentKit, TEST_SECRET)?.path("/webhooks");
//!
//! let delivery = sender.sample("invoice.paid").unwrap();
//! let answer = client.deliver(&delivery).await?;
//! assert_eq!(answer.status, StatusCode::OK);
//! assert_eq!(answer.ran(), ["rust_out::book_revenue"]);
//!
//! // The sender retries: 200 again, and nothing runs twice.
//! let retry = client.deliver(&delivery).await?;
//! assert_eq!(retry.status, StatusCode::OK);
//! assert_eq!(retry.already_done(), ["rust_out::book_revenue"]);
//! assert!(retry.ran().is_empty());
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::io;
use std::net::SocketAddr;

use axum::Router;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;
use webhook_core::signature::{Scheme, SignError};
use webhook_core::test_util::TestDelivery;

use crate::{DeliveryReport, Server};

/// A response reduced to what tests assert on.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// The body.
    pub body: Bytes,
    /// Which handlers ran: present for in-process answers of the webhook route, absent over
    /// TCP and for answers given before the receiver ran (see [`DeliveryReport`]).
    pub report: Option<DeliveryReport>,
}

impl Answer {
    /// Handlers that ran and completed in this delivery (none without a report).
    #[must_use]
    pub fn ran(&self) -> &[&'static str] {
        self.report.as_ref().map_or(&[], DeliveryReport::ran)
    }

    /// Handlers that had already completed for this event (none without a report).
    #[must_use]
    pub fn already_done(&self) -> &[&'static str] {
        self.report
            .as_ref()
            .map_or(&[], DeliveryReport::already_done)
    }

    /// Handlers that failed in this delivery (none without a report).
    #[must_use]
    pub fn failed(&self) -> &[&'static str] {
        self.report.as_ref().map_or(&[], DeliveryReport::failed)
    }

    async fn read<B>(response: http::Response<B>) -> Result<Self, Error>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (mut parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|error| Error::Transport(error.into()))?
            .to_bytes();
        Ok(Self {
            status: parts.status,
            retry_after: retry_after(&parts.headers),
            body,
            report: parts.extensions.remove::<DeliveryReport>(),
        })
    }
}

fn retry_after(headers: &HeaderMap) -> Option<String> {
    headers
        .get(http::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Why a request got no answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The delivery could not be signed.
    Sign(SignError),
    /// The connection failed, or the response body could not be read.
    Transport(Box<dyn std::error::Error + Send + Sync>),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sign(error) => write!(f, "could not sign the delivery: {error}"),
            Self::Transport(error) => write!(f, "no answer: {error}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Sign(error) => Some(error),
            Self::Transport(error) => Some(&**error),
        }
    }
}

impl From<SignError> for Error {
    fn from(error: SignError) -> Self {
        Self::Sign(error)
    }
}

/// Sends requests through a router in process, without a socket.
///
/// The router sees the request as a server would pass it (the body as one chunk); use
/// [`serve`] to test the transport itself.
#[derive(Debug, Clone)]
pub struct TestClient {
    router: Router,
}

impl TestClient {
    /// A client for `router` (give it its state first: `Router<()>`).
    #[must_use]
    pub fn new(router: Router) -> Self {
        Self { router }
    }

    /// Send `request` (its URI is the path the router sees).
    ///
    /// # Errors
    /// [`Error::Transport`] when the response body cannot be read.
    pub async fn send(&self, mut request: Request<Bytes>) -> Result<Answer, Error> {
        request.extensions_mut().insert(crate::ReportRequested);
        let response = match self
            .router
            .clone()
            .oneshot(request.map(axum::body::Body::from))
            .await
        {
            Ok(response) => response,
            // A `Router` never fails (`Infallible`).
            Err(never) => match never {},
        };
        Answer::read(response).await
    }

    /// Sign `delivery` now and send it to the path its sender was given.
    ///
    /// # Errors
    /// [`Error::Sign`] when it cannot be signed; as [`TestClient::send`].
    pub async fn deliver<S: Scheme>(&self, delivery: &TestDelivery<S>) -> Result<Answer, Error> {
        self.send(delivery.request()?).await
    }
}

/// An HTTP/1 client that sends requests over TCP to any address.
#[derive(Debug, Clone)]
pub struct TcpClient {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for TcpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl TcpClient {
    /// A client that opens a fresh connection for every request.
    ///
    /// A server closes a kept-alive connection when it answers without reading the whole body
    /// (413, 415, a shed delivery) or once it has been idle past its header-read timeout, and a
    /// pooled client may write its next request just as that happens: the request then fails
    /// with a reset or an incomplete message, for a reason no sender cares about. Tests of
    /// keep-alive itself use a raw socket.
    #[must_use]
    pub fn new() -> Self {
        Self {
            client: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build_http(),
        }
    }

    /// Send `request` (whose URI is a path, with an optional query) to `addr`.
    ///
    /// # Errors
    /// [`Error::Transport`] when the connection fails or the answer cannot be read.
    pub async fn send(&self, addr: SocketAddr, request: Request<Bytes>) -> Result<Answer, Error> {
        let (mut parts, body) = request.into_parts();
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or("/", http::uri::PathAndQuery::as_str);
        parts.uri = format!("http://{addr}{path_and_query}")
            .parse()
            .map_err(|error: http::uri::InvalidUri| Error::Transport(error.into()))?;
        let response = self
            .client
            .request(Request::from_parts(parts, Full::new(body)))
            .await
            .map_err(|error| Error::Transport(error.into()))?;
        Answer::read(response).await
    }

    /// Sign `delivery` now and send it to `addr`.
    ///
    /// # Errors
    /// [`Error::Sign`] when it cannot be signed; as [`TcpClient::send`].
    pub async fn deliver<S: Scheme>(
        &self,
        addr: SocketAddr,
        delivery: &TestDelivery<S>,
    ) -> Result<Answer, Error> {
        self.send(addr, delivery.request()?).await
    }
}

/// A router served on `127.0.0.1` by [`Server`] for a test.
///
/// Dropping it asks the server to shut down gracefully; [`TestServer::detach`] keeps it
/// running until the test process ends.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: Option<JoinHandle<io::Result<()>>>,
    client: TcpClient,
}

/// Serve `router` on a fresh port of `127.0.0.1` with [`Server`]'s default limits.
///
/// # Errors
/// When no port can be bound.
pub async fn serve(router: Router) -> io::Result<TestServer> {
    serve_with(router, |server| server).await
}

/// As [`serve`], with `configure` setting the server's limits.
///
/// # Errors
/// When no port can be bound.
pub async fn serve_with(
    router: Router,
    configure: impl FnOnce(Server) -> Server,
) -> io::Result<TestServer> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let server = configure(Server::new(listener, router));
    let done = tokio::spawn(server.run_until(async move {
        // A dropped sender stops the server too.
        let _ = stopped.await;
    }));
    Ok(TestServer {
        addr,
        stop: Some(stop),
        done: Some(done),
        client: TcpClient::new(),
    })
}

impl TestServer {
    /// Where the server listens.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Send `request` (whose URI is a path) to the server over TCP.
    ///
    /// # Errors
    /// As [`TcpClient::send`].
    pub async fn send(&self, request: Request<Bytes>) -> Result<Answer, Error> {
        self.client.send(self.addr, request).await
    }

    /// Sign `delivery` now and send it to the server over TCP.
    ///
    /// # Errors
    /// As [`TcpClient::deliver`].
    pub async fn deliver<S: Scheme>(&self, delivery: &TestDelivery<S>) -> Result<Answer, Error> {
        self.client.deliver(self.addr, delivery).await
    }

    /// Ask the server to stop accepting and finish its open requests, without waiting.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Stop the server and wait until it has shut down (open requests finished or abandoned
    /// after its grace period).
    ///
    /// # Errors
    /// The server's own error, or [`io::ErrorKind::Other`] when its task panicked.
    pub async fn shutdown(mut self) -> io::Result<()> {
        self.stop();
        match self.done.take() {
            Some(done) => done.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }

    /// Keep serving until the test process ends; returns the address.
    #[must_use]
    pub fn detach(mut self) -> SocketAddr {
        // Forgetting the sender keeps `run_until` waiting forever.
        if let Some(stop) = self.stop.take() {
            std::mem::forget(stop);
        }
        self.addr
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}
