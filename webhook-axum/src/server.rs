//! Serving a router with the transport limits `axum::serve` leaves out.

use std::future::{pending, Future};
use std::io;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;
use tracing::{debug, warn};

/// Serves a router over HTTP/1 and HTTP/2 with a header-read timeout and graceful shutdown.
///
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// webhook_axum::Server::new(listener, app)
///     .run_until(async { tokio::signal::ctrl_c().await.ok(); })
///     .await
/// # }
/// ```
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown_grace: Duration,
}

impl Server {
    /// Serve `router` on `listener`.
    #[must_use]
    pub fn new(listener: TcpListener, router: Router) -> Self {
        Self {
            listener,
            router,
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(25),
        }
    }

    /// How long a client may take to send a complete request head (default 10 s); the
    /// connection is closed after that.
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long shutdown waits for in-flight requests before abandoning them (default 25 s).
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Serve until the process ends.
    ///
    /// # Errors
    /// Never returns on its own; the `Result` matches [`Server::run_until`].
    pub async fn run(self) -> io::Result<()> {
        self.run_until(pending()).await
    }

    /// Serve until `signal` completes, then stop accepting, wait up to the grace period for
    /// open requests, and return.
    ///
    /// # Errors
    /// Accept errors are logged and retried, so this returns `Ok` in practice; the `Result`
    /// leaves room for fatal listener errors.
    pub async fn run_until(self, signal: impl Future<Output = ()> + Send) -> io::Result<()> {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);
        let graceful = GracefulShutdown::new();
        let mut signal = pin!(signal);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let stream = match accepted {
                        Ok((stream, _)) => stream,
                        Err(error) => {
                            // Usually the file-descriptor limit: back off instead of spinning.
                            warn!(%error, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    // hyper's header-read timer only starts once the protocol is known, and
                    // the HTTP/1-or-2 detection waits for bytes without a limit: a client that
                    // sends nothing (or one byte) would hold the connection forever. So the
                    // first request head must arrive within the timeout too.
                    let first_request = Arc::new(AtomicBool::new(false));
                    let seen = Arc::clone(&first_request);
                    let service = TowerToHyperService::new(self.router.clone().map_request(
                        move |request: Request<Incoming>| {
                            seen.store(true, Ordering::Relaxed);
                            request
                        },
                    ));
                    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    let connection = graceful.watch(connection.into_owned());
                    let header_read_timeout = self.header_read_timeout;
                    tokio::spawn(async move {
                        let mut connection = pin!(connection);
                        let result = tokio::select! {
                            result = connection.as_mut() => result,
                            () = tokio::time::sleep(header_read_timeout) => {
                                if !first_request.load(Ordering::Relaxed) {
                                    debug!("no request head within the header-read timeout; closing");
                                    return;
                                }
                                connection.await
                            }
                        };
                        if let Err(error) = result {
                            debug!(%error, "connection ended with an error");
                        }
                    });
                }
                () = &mut signal => break,
            }
        }
        drop(self.listener);
        tokio::select! {
            () = graceful.shutdown() => debug!("all connections closed"),
            () = tokio::time::sleep(self.shutdown_grace) => {
                warn!("shutdown grace period over; abandoning open connections");
            }
        }
        Ok(())
    }
}
