//! A receiver process for the multi-instance, restart and outage tests (instances.rs,
//! restart.rs, outage.rs): one PaymentKit endpoint on a durable store, configured by
//! environment, with a handler whose runs can be counted across processes.
//!
//! Environment:
//!
//! | variable | meaning |
//! |---|---|
//! | `INSTANCE_PORT_FILE` | where to write the port it listens on (127.0.0.1, port chosen by the OS) |
//! | `INSTANCE_RUNS_FILE` | the file the handler appends its runs to |
//! | `INSTANCE_SECRET` | the signing secret |
//! | `INSTANCE_STORE` | `sqlite:<path>`, `postgres:<url>` or `redis:<url>` |
//! | `INSTANCE_TABLE` | PostgreSQL: the (schema-qualified) table |
//! | `INSTANCE_PREFIX` | Redis: the key prefix |
//! | `INSTANCE_LAZY` | `1`: do not reach the store at start-up (PostgreSQL, Redis) |
//! | `INSTANCE_DELAY_MS` | how long the handler works before recording its run (default 100) |
//! | `INSTANCE_STORE_TIMEOUT_MS` | the store's time limit per operation (default 2000) |
//! | `INSTANCE_LEASE_MS`, `INSTANCE_HANDLER_TIMEOUT_MS` | receiver limits (defaults 60000, 20000) |
//!
//! The handler (for `payment_intent.succeeded`) appends `start <event id> <pid>` when it
//! begins, sleeps, then appends `done <event id> <pid> <unix nanos>` and returns. Each line is
//! one `write` on a file opened with `O_APPEND`, so lines from several processes never
//! interleave. A `done` line is written before the receiver records the completion, so an
//! answer 200 received before that line's timestamp would be a 2xx for an unfinished event.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use webhook_axum::{RouterExt, Server};
use webhook_core::signature::{PaymentKit, Verifier};
use webhook_core::{on_event, Event, HandlerError, Receiver, SqliteStore, State};

/// The webhook route.
const PATH: &str = "/webhooks/paymentkit";

/// The runs file, shared by every handler run of this process.
#[derive(Clone)]
struct Runs {
    file: Arc<File>,
    delay: Duration,
}

impl Runs {
    fn append(&self, line: &str) -> Result<(), HandlerError> {
        // One write per line: with O_APPEND the kernel places it at the end atomically.
        (&*self.file)
            .write_all(format!("{line}\n").as_bytes())
            .map_err(HandlerError::retryable)
    }
}

#[on_event("payment_intent.succeeded")]
async fn record_run(event: Event, State(runs): State<Runs>) -> Result<(), HandlerError> {
    let pid = std::process::id();
    runs.append(&format!("start {} {pid}", event.id()))?;
    // Long enough that duplicates sent at the same time arrive while this run holds the claim.
    tokio::time::sleep(runs.delay).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(HandlerError::retryable)?
        .as_nanos();
    runs.append(&format!("done {} {pid} {now}", event.id()))
}

fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

fn millis(name: &str, default: u64) -> Result<Duration, String> {
    match std::env::var(name) {
        Err(_) => Ok(Duration::from_millis(default)),
        Ok(value) => value
            .parse()
            .map(Duration::from_millis)
            .map_err(|_| format!("{name} is not a number of milliseconds")),
    }
}

/// Builds the receiver on the store `INSTANCE_STORE` names.
async fn receiver(runs: Runs) -> Result<Receiver, String> {
    let store_timeout = millis("INSTANCE_STORE_TIMEOUT_MS", 2000)?;
    let builder = Receiver::builder()
        .verifier(
            Verifier::builder(PaymentKit)
                .secret(var("INSTANCE_SECRET")?)
                .build()
                .map_err(|error| error.to_string())?,
        )
        .state(runs)
        .lease(millis("INSTANCE_LEASE_MS", 60_000)?)
        .handler_timeout(millis("INSTANCE_HANDLER_TIMEOUT_MS", 20_000)?)
        // The receiver's own limit is a backstop behind the store's.
        .store_timeout(store_timeout * 2);
    let store = var("INSTANCE_STORE")?;
    let lazy = std::env::var("INSTANCE_LAZY").is_ok_and(|v| v == "1");
    let builder = match store.split_once(':') {
        Some(("sqlite", path)) => builder.store(
            SqliteStore::builder()
                .timeout(store_timeout)
                .open(path)
                .await
                .map_err(|error| format!("sqlite: {error}"))?,
        ),
        #[cfg(feature = "server-tests")]
        Some(("postgres", url)) => {
            let options = webhook_core::PostgresStore::builder()
                .table(&var("INSTANCE_TABLE")?)
                .map_err(|error| error.to_string())?
                .timeout(store_timeout);
            let store = if lazy {
                options.connect_lazy(url)
            } else {
                options.connect(url).await
            };
            builder.store(store.map_err(|error| format!("postgres: {error}"))?)
        }
        #[cfg(feature = "server-tests")]
        Some(("redis", url)) => {
            let options = webhook_core::RedisStore::builder()
                .prefix(var("INSTANCE_PREFIX")?)
                .timeout(store_timeout);
            let store = if lazy {
                options.open(url)
            } else {
                options.connect(url).await
            };
            builder.store(store.map_err(|error| format!("redis: {error}"))?)
        }
        _ => {
            let _ = lazy;
            return Err(format!(
                "INSTANCE_STORE must be sqlite:<path>{}",
                if cfg!(feature = "server-tests") {
                    ", postgres:<url> or redis:<url>"
                } else {
                    " (postgres and redis need the server-tests feature)"
                }
            ));
        }
    };
    builder.build().map_err(|error| error.to_string())
}

async fn run() -> Result<(), String> {
    let runs_path = PathBuf::from(var("INSTANCE_RUNS_FILE")?);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&runs_path)
        .map_err(|error| format!("runs file {}: {error}", runs_path.display()))?;
    let runs = Runs {
        file: Arc::new(file),
        delay: millis("INSTANCE_DELAY_MS", 100)?,
    };
    let receiver = receiver(runs).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|error| format!("bind: {error}"))?;
    let port = listener
        .local_addr()
        .map_err(|error| error.to_string())?
        .port();
    // Written aside and renamed, so the test never reads a half-written port.
    let port_file = PathBuf::from(var("INSTANCE_PORT_FILE")?);
    let partial = port_file.with_extension("partial");
    std::fs::write(&partial, port.to_string())
        .and_then(|()| std::fs::rename(&partial, &port_file))
        .map_err(|error| format!("port file: {error}"))?;
    Server::new(listener, Router::new().webhook(PATH, receiver))
        .run()
        .await
        .map_err(|error| format!("serve: {error}"))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Warnings (a store that failed, a handler that timed out) go to stderr, which the tests
    // keep in the instance's log file and show when they fail.
    tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("instance_receiver: {error}");
            std::process::ExitCode::from(2)
        }
    }
}
