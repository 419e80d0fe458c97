//! Outage: the store of a receiver process (bin/instance_receiver.rs) becomes unreachable or
//! slow. Every delivery meanwhile is answered 503 with `Retry-After` and runs nothing; once the
//! store is back, the next delivery runs the handler, and a completed event stays completed.
//!
//! The store is reached through a loopback proxy (harness `Proxy`) that forwards to the real
//! server, drops every connection (`Down`: a dead server), or holds all traffic (`Stalled`: a
//! server that stopped answering, so the store's time limit decides). The real server is
//! never touched. A receiver pointed at a port nothing listens on is answered the same way.
//!
//! Needs live PostgreSQL and Redis servers: feature `server-tests`.
#![cfg(feature = "server-tests")]

#[path = "instance/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use http::StatusCode;

use harness::{
    assert_retry_after, assert_unavailable, authority, closed_port, postgres_url, redirect,
    redis_url, Instance, Link, Options, PgSchema, Proxy, RedisPrefix, Scratch, Sender, Store,
};

/// The store's time limit per operation in these tests.
const STORE_TIMEOUT: Duration = Duration::from_secs(1);
/// The receivers' lease in these tests.
const LEASE: Duration = Duration::from_secs(4);

/// The server a test cuts off, with its cleanup guard.
enum Target {
    Postgres(PgSchema),
    Redis(RedisPrefix),
}

impl Target {
    async fn postgres() -> Self {
        Self::Postgres(PgSchema::create().await)
    }

    async fn redis() -> Self {
        Self::Redis(RedisPrefix::create().await)
    }

    fn url(&self) -> String {
        match self {
            Self::Postgres(_) => postgres_url(),
            Self::Redis(_) => redis_url(),
        }
    }

    /// Options for an instance reaching the store at `addr` instead of the real server.
    fn options(&self, addr: std::net::SocketAddr) -> Options {
        let url = redirect(&self.url(), addr);
        let mut options = Options::new(match self {
            Self::Postgres(schema) => schema.store(&url),
            Self::Redis(prefix) => prefix.store(&url),
        });
        options.store_timeout = STORE_TIMEOUT;
        options
    }

    /// Gets the store ready for an instance that starts without reaching it.
    async fn prepare_lazy(&self) {
        if let Self::Postgres(schema) = self {
            // A lazily connected PostgreSQL store does not create its table.
            schema.migrate().await;
        }
    }
}

/// Up, then cut off (`Down` or `Stalled`), then up again.
///
/// After a stall, the first delivery may meet a claim of its own: a claim sent during the
/// stall, whose answer the store gave up waiting for, still reaches the server when the link
/// recovers and holds the event like the lease of a crashed receiver. That delivery is answered
/// 409 with `Retry-After`, and the event runs once the lease is over. After a dead connection
/// (`Down`) nothing was in flight, so the first delivery runs.
async fn cut_off_then_back(target: Target, label: &str, cut: Link) {
    let scratch = Scratch::new(label);
    let proxy = Proxy::start(authority(&target.url())).await;
    let mut options = target.options(proxy.addr);
    // Short, so a claim that lands late ends within the test.
    options.lease = LEASE;
    options.handler_timeout = LEASE - Duration::from_secs(1);
    let instance = Instance::start(&scratch, "a", &options).await;
    let sender = Sender::new();
    let runs = scratch.runs();

    let answer = sender.deliver(instance.addr, "evt_out_1").await.answer;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(runs.starts("evt_out_1"), 1);

    proxy.set(cut);
    let answer = sender.deliver(instance.addr, "evt_out_2").await.answer;
    assert_unavailable(&answer, &format!("a new event while the store is {cut:?}"));
    let answer = sender.deliver(instance.addr, "evt_out_1").await.answer;
    assert_unavailable(
        &answer,
        &format!("a completed event while the store is {cut:?}"),
    );
    let answer = sender.deliver(instance.addr, "evt_out_2").await.answer;
    assert_unavailable(&answer, &format!("a retry while the store is {cut:?}"));
    assert_eq!(runs.starts("evt_out_2"), 0, "ran during the outage");
    assert_eq!(runs.starts("evt_out_1"), 1, "ran again during the outage");

    proxy.set(Link::Up);
    let mut answer = sender.deliver(instance.addr, "evt_out_2").await.answer;
    if cut == Link::Stalled {
        let started = Instant::now();
        while answer.status == StatusCode::CONFLICT {
            assert_retry_after(&answer, "409 for a claim that landed late");
            assert!(
                started.elapsed() < LEASE * 3,
                "a late claim outlived its lease"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
            answer = sender.deliver(instance.addr, "evt_out_2").await.answer;
        }
    }
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "the first delivery after the store came back: {answer:?}\n{}",
        instance.log()
    );
    assert_eq!(runs.starts("evt_out_2"), 1);
    assert_eq!(runs.done("evt_out_2").len(), 1);
    let answer = sender.deliver(instance.addr, "evt_out_1").await.answer;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(runs.starts("evt_out_1"), 1, "a completed event ran again");
}

/// Down from the start (the instance starts without reaching the store), then up.
async fn down_at_start_then_back(target: Target, label: &str) {
    target.prepare_lazy().await;
    let scratch = Scratch::new(label);
    let proxy = Proxy::start(authority(&target.url())).await;
    proxy.set(Link::Down);
    let mut options = target.options(proxy.addr);
    options.lazy = true;
    let instance = Instance::start(&scratch, "a", &options).await;
    let sender = Sender::new();
    let runs = scratch.runs();

    for _ in 0..2 {
        let answer = sender.deliver(instance.addr, "evt_out_1").await.answer;
        assert_unavailable(&answer, "a delivery before the store was ever reached");
    }
    assert_eq!(runs.starts("evt_out_1"), 0, "ran without the store");

    proxy.set(Link::Up);
    let answer = sender.deliver(instance.addr, "evt_out_1").await.answer;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "the first delivery after the store came up: {answer:?}\n{}",
        instance.log()
    );
    assert_eq!(runs.starts("evt_out_1"), 1);
    let answer = sender.deliver(instance.addr, "evt_out_1").await.answer;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(runs.starts("evt_out_1"), 1, "a completed event ran again");
}

/// A store URL with a port nothing listens on.
async fn wrong_port(target: Target, label: &str) {
    let scratch = Scratch::new(label);
    let mut options = target.options(closed_port());
    options.lazy = true;
    let instance = Instance::start(&scratch, "a", &options).await;
    let sender = Sender::new();
    for event in ["evt_out_1", "evt_out_1", "evt_out_2"] {
        let answer = sender.deliver(instance.addr, event).await.answer;
        assert_unavailable(&answer, "a delivery with the store on a wrong port");
    }
    assert!(scratch.runs().read().is_empty(), "ran without the store");
}

/// A store that cannot be reached at start-up, when the receiver connects eagerly, stops the
/// process with a message instead of serving deliveries it cannot protect.
async fn refuses_to_start(target: Target, label: &str) {
    let scratch = Scratch::new(label);
    let options = target.options(closed_port());
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_instance_receiver"));
    command
        .env("INSTANCE_PORT_FILE", scratch.path("a.port"))
        .env("INSTANCE_RUNS_FILE", scratch.path("runs"))
        .env("INSTANCE_SECRET", harness::SECRET)
        .env("INSTANCE_STORE_TIMEOUT_MS", "1000");
    match &options.store {
        Store::Postgres { url, table } => command
            .env("INSTANCE_STORE", format!("postgres:{url}"))
            .env("INSTANCE_TABLE", table),
        Store::Redis { url, prefix } => command
            .env("INSTANCE_STORE", format!("redis:{url}"))
            .env("INSTANCE_PREFIX", prefix),
        Store::Sqlite(_) => unreachable!("only server stores here"),
    };
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || command.output()),
    )
    .await
    .expect("the receiver gives up within 30 s")
    .expect("join")
    .expect("run instance_receiver");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unavailable"), "{stderr}");
    assert!(!scratch.path("a.port").exists(), "it listened anyway");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connection_dropped_then_back() {
    cut_off_then_back(Target::postgres().await, "outage-pg-down", Link::Down).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_connection_dropped_then_back() {
    cut_off_then_back(Target::redis().await, "outage-redis-down", Link::Down).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stalled_past_the_time_limit_then_back() {
    cut_off_then_back(Target::postgres().await, "outage-pg-stall", Link::Stalled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stalled_past_the_time_limit_then_back() {
    cut_off_then_back(Target::redis().await, "outage-redis-stall", Link::Stalled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_at_start_then_back() {
    down_at_start_then_back(Target::postgres().await, "outage-pg-start").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_at_start_then_back() {
    down_at_start_then_back(Target::redis().await, "outage-redis-start").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_wrong_port() {
    wrong_port(Target::postgres().await, "outage-pg-port").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_wrong_port() {
    wrong_port(Target::redis().await, "outage-redis-port").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_unreachable_at_start_up_stops_the_receiver() {
    refuses_to_start(Target::postgres().await, "outage-pg-refuse").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_unreachable_at_start_up_stops_the_receiver() {
    refuses_to_start(Target::redis().await, "outage-redis-refuse").await;
}
