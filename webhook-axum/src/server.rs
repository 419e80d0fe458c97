//! Serving a router with the transport limits `axum::serve` leaves out.

use std::future::{pending, Future};
use std::io;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
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

    /// How long a connection may go without a request in flight and without sending a
    /// complete request head (default 10 s): its first one after connecting, or its next one
    /// after an answer. Checked once per timeout, so such a connection is closed between one and
    /// two timeouts after it went quiet (after one if it never sent a request).
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
        // No hyper timer: the header-read timeout is each connection's watchdog below (hyper's
        // own would box, arm and cancel a timer for every request, and poll the socket once more
        // after each one).
        let builder = auto::Builder::new(TokioExecutor::new());
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
                    let activity = Arc::new(Activity::default());
                    let tracked = Arc::clone(&activity);
                    let service = TowerToHyperService::new(
                        ServiceExt::<Request<Incoming>>::map_future(
                            self.router.clone(),
                            move |response| {
                                let in_flight = InFlight::start(&tracked);
                                async move {
                                    let response = response.await;
                                    drop(in_flight);
                                    response
                                }
                            },
                        ),
                    );
                    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    let connection = graceful.watch(connection.into_owned());
                    tokio::spawn(watch(connection, activity, self.header_read_timeout));
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

/// What a connection's watchdog reads: whether requests arrived or were answered lately.
///
/// One word, so a request's start and its end are one atomic addition each: the high half
/// counts request heads received plus responses produced (any change is progress; it wraps,
/// and only equality is asked of it), the low half the requests received and not answered.
#[derive(Debug, Default)]
struct Activity(AtomicU64);

impl Activity {
    /// One event (the high half's unit).
    const EVENT: u64 = 1 << 32;

    /// (events, requests in flight).
    fn read(&self) -> (u32, u32) {
        let word = self.0.load(Ordering::Relaxed);
        #[allow(clippy::cast_possible_truncation)]
        ((word >> 32) as u32, word as u32)
    }
}

/// One request of a connection, from its head to its response (or until dropped).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.0.fetch_add(Activity::EVENT + 1, Ordering::Relaxed);
        Self(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // One event more, one request fewer: the low half is at least 1 (this request), so
        // adding EVENT - 1 borrows nothing from the high half.
        self.0 .0.fetch_add(Activity::EVENT - 1, Ordering::Relaxed);
    }
}

/// Serves `connection`, closing it once it has had no request in flight and received no
/// complete request head for a whole `timeout`, checked every `timeout`: a connection is
/// closed between one and two timeouts after it went quiet (one, if it never sent a request).
///
/// This covers what a client can hold a connection with while sending nothing useful: the
/// bytes before the protocol is known (hyper's HTTP/1-or-2 detection waits without a limit),
/// a partial or dribbled request head, and an idle keep-alive or HTTP/2 connection. Bodies
/// have their own limit (the receiver's body timeout), handlers theirs.
async fn watch<C, E>(connection: C, activity: Arc<Activity>, timeout: Duration)
where
    C: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let mut connection = pin!(connection);
    let sleep = tokio::time::sleep(timeout);
    let mut sleep = pin!(sleep);
    let mut seen = 0;
    loop {
        tokio::select! {
            biased;
            result = connection.as_mut() => {
                if let Err(error) = result {
                    debug!(%error, "connection ended with an error");
                }
                return;
            }
            () = sleep.as_mut() => {
                let (events, in_flight) = activity.read();
                if events == seen && in_flight == 0 {
                    debug!("no request head within the header-read timeout; closing");
                    return;
                }
                seen = events;
                sleep.as_mut().reset(tokio::time::Instant::now() + timeout);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_counts_events_and_requests_in_flight_in_one_word() {
        let activity = Arc::new(Activity::default());
        let first = InFlight::start(&activity);
        let second = InFlight::start(&activity);
        assert_eq!(activity.read(), (2, 2));
        drop(first);
        assert_eq!(activity.read(), (3, 1));
        drop(second);
        assert_eq!(activity.read(), (4, 0));
    }

    #[test]
    fn the_event_count_wraps_without_touching_the_requests_in_flight() {
        let activity = Arc::new(Activity(AtomicU64::new(u64::from(u32::MAX) << 32)));
        assert_eq!(activity.read(), (u32::MAX, 0));
        let request = InFlight::start(&activity);
        assert_eq!(activity.read(), (0, 1));
        drop(request);
        assert_eq!(activity.read(), (1, 0));
    }
}
