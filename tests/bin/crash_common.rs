//! Shared by the crash receivers (`crash_receiver_sqlite`, `crash_receiver_postgres`): the
//! configuration they read from the environment, the pause hook that stops the process at a
//! named point, and serving on 127.0.0.1.
//!
//! Environment:
//! * `CRASH_PORT_FILE` (required): where to write the port, once the receiver listens.
//! * `CRASH_AT`: `after_claim`, `after_first_write`, `before_commit` or `after_commit`. At that
//!   point the process writes `CRASH_MARKER` and then waits forever, for the test to kill it.
//! * `CRASH_MARKER`: the marker file (required with `CRASH_AT`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use webhook_core::signature::{PaymentKit, Verifier};
use webhook_core::{IdempotencyStore, PauseHook, Receiver};

/// The secret the tests sign with.
pub(crate) const SECRET: &str = "whsec_crash_receiver_test";

/// Short, so a claim left behind by a killed process expires within the test's patience.
pub(crate) const LEASE: Duration = Duration::from_secs(2);

/// Below the lease, as the receiver requires.
pub(crate) const HANDLER_TIMEOUT: Duration = Duration::from_secs(1);

/// The points the receiver can stop at: the dispatcher's three, and the handler's own.
const POINTS: [&str; 4] = [
    "after_claim",
    "after_first_write",
    "before_commit",
    "after_commit",
];

/// Fails the process with a message on stderr: these binaries exist only for tests.
pub(crate) fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("crash receiver: {message}");
    std::process::exit(2)
}

/// A required environment variable.
pub(crate) fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| fail(format!("{name} is not set")))
}

/// The point to stop at, if any, checked against the known points so a typo in a test fails
/// loudly instead of never stopping.
fn crash_at() -> Option<&'static str> {
    let point = std::env::var("CRASH_AT").ok()?;
    match POINTS.iter().find(|p| **p == point) {
        Some(point) => Some(point),
        None => fail(format!("unknown CRASH_AT point `{point}`")),
    }
}

/// Writes the marker for `point` and never returns: the test kills the process while it waits.
async fn stop(point: &str) -> ! {
    let marker = PathBuf::from(env("CRASH_MARKER"));
    write_atomically(&marker, point);
    std::future::pending::<()>().await;
    unreachable!("a pending future never completes")
}

/// Called by the handler right after its first write through the transaction.
pub(crate) async fn after_first_write() {
    if crash_at() == Some("after_first_write") {
        stop("after_first_write").await;
    }
}

/// The dispatcher's hook: stops at `CRASH_AT` when it names one of the dispatcher's points.
fn pause_hook() -> Option<PauseHook> {
    let point = crash_at()?;
    let hook: PauseHook = Arc::new(move |reached: &'static str| {
        Box::pin(async move {
            if reached == point {
                stop(point).await;
            }
        })
    });
    Some(hook)
}

/// Writes `contents` to `path` through a temporary file and a rename, so a reader never sees
/// half of it.
fn write_atomically(path: &Path, contents: &str) {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, contents)
        .and_then(|()| std::fs::rename(&partial, path))
        .unwrap_or_else(|error| fail(format!("cannot write {}: {error}", path.display())));
}

/// Builds the receiver on `store` and serves it at `/` on 127.0.0.1 until killed.
pub(crate) async fn serve(store: impl IdempotencyStore) {
    let port_file = PathBuf::from(env("CRASH_PORT_FILE"));
    let verifier = Verifier::builder(PaymentKit)
        .secret(SECRET)
        .build()
        .unwrap_or_else(|error| fail(error));
    let mut builder = Receiver::builder()
        .verifier(verifier)
        .store(store)
        .lease(LEASE)
        .handler_timeout(HANDLER_TIMEOUT);
    if let Some(hook) = pause_hook() {
        builder = builder.pause_hook(hook);
    }
    let receiver = builder.build().unwrap_or_else(|error| fail(error));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|error| fail(format!("cannot bind 127.0.0.1: {error}")));
    let port = listener
        .local_addr()
        .unwrap_or_else(|error| fail(error))
        .port();
    write_atomically(&port_file, &port.to_string());
    if let Err(error) = axum::serve(listener, webhook_axum::router(receiver)).await {
        fail(format!("server failed: {error}"));
    }
}
