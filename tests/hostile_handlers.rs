//! Row F (failures) of reliability.md section 3, for every scheme, through the real server on
//! 127.0.0.1: store outages, handler errors, panics and time-outs, and clients that disconnect
//! mid-handler. Crashes of the whole process (F09) are in `hostile_crash.rs`.

#[path = "hostile/harness.rs"]
mod harness;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use webhook_core::test_util::CountingStore;
use webhook_core::{Claim, ClaimKey, IdempotencyStore, Lease, StoreError};

use harness::{
    assert_logs_clean, cases, init, router, runs, send, start, starts, store, unique,
    wait_for_runs, wire, OK, PAIR,
};
use webhook_axum::test::TcpClient;

const NORMAL: u8 = 0;
/// Every operation fails at once, as with a refused connection.
const DOWN: u8 = 1;
/// Claims never finish, as with a store slower than any budget or an exhausted pool.
const STUCK: u8 = 2;
/// Only completions fail.
const COMPLETE_DOWN: u8 = 3;

/// A store whose failures a test switches on and off.
#[derive(Debug, Clone)]
struct Faulty {
    inner: CountingStore,
    mode: Arc<AtomicU8>,
}

impl Faulty {
    fn new() -> Self {
        Self {
            inner: store(),
            mode: Arc::new(AtomicU8::new(NORMAL)),
        }
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    fn mode(&self) -> u8 {
        self.mode.load(Ordering::SeqCst)
    }
}

fn refused() -> StoreError {
    StoreError::unavailable(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
}

impl IdempotencyStore for Faulty {
    async fn claim(&self, key: &ClaimKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
        match self.mode() {
            DOWN => Err(refused()),
            STUCK => std::future::pending().await,
            _ => self.inner.claim(key, lease).await,
        }
    }
    async fn complete(&self, lease: &Lease, retention: Duration) -> Result<(), StoreError> {
        // COMPLETE_DOWN fails handlers' completions; the event's type record (written before
        // any handler runs) still goes through, so the handler gets to run.
        let type_record = lease.handler() == webhook_core::EVENT_TYPE_RECORD;
        match self.mode() {
            DOWN => Err(refused()),
            COMPLETE_DOWN if !type_record => Err(refused()),
            _ => self.inner.complete(lease, retention).await,
        }
    }
    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        match self.mode() {
            DOWN | COMPLETE_DOWN => Err(refused()),
            _ => self.inner.release(lease).await,
        }
    }
    async fn extend(&self, lease: &Lease, by: Duration) -> Result<(), StoreError> {
        match self.mode() {
            DOWN => Err(refused()),
            _ => self.inner.extend(lease, by).await,
        }
    }
    async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.inner.purge_expired().await
    }
}

/// F01: the store refuses connections at claim: 503 with `Retry-After`, the handler is not
/// called. F03, F11: the store does not answer (slow, or no pooled connection): 503 within
/// the store time limit, not after the store's own delay.
#[tokio::test]
async fn f01_f03_f11_an_unavailable_store_is_503_and_no_handler_runs() {
    init();
    let cases = cases();
    let store = Faulty::new();
    let addr = start(router(&cases, &store, |_, r| {
        r.store_timeout(Duration::from_millis(200))
    }))
    .await;
    let client = TcpClient::new();
    for mode in [DOWN, STUCK] {
        store.set(mode);
        for case in &cases {
            let id = unique("plain", case);
            let started = Instant::now();
            let answer = send(&client, addr, case.delivery(&id, OK)).await;
            assert_eq!(
                answer.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{} mode {mode}",
                case.name
            );
            assert_eq!(answer.retry_after.as_deref(), Some("5"), "{}", case.name);
            // Functional bound: a stuck claim never answers, so only the time limit can.
            assert!(started.elapsed() < Duration::from_secs(5));
            assert_eq!(starts(&id), 0, "{}", case.name);
        }
    }
    store.set(NORMAL);
    for case in &cases {
        let id = unique("plain", case);
        assert_eq!(
            send(&client, addr, case.delivery(&id, OK)).await.status,
            StatusCode::OK
        );
        assert_eq!(runs(&id), 1);
    }
    assert_logs_clean();
}

/// F02: the store fails when the completion is recorded. The handler ran, but the delivery is
/// not acknowledged (503); the claim stays until its lease expires and the retry runs the
/// handler again: at least once, as the memory and lease-based stores document.
#[tokio::test]
async fn f02_a_failed_completion_is_never_acknowledged() {
    init();
    let cases = cases();
    let store = Faulty::new();
    let addr = start(router(&cases, &store, |_, r| {
        r.lease(Duration::from_millis(500))
            .handler_timeout(Duration::from_millis(400))
    }))
    .await;
    let client = TcpClient::new();
    for case in &cases {
        store.set(COMPLETE_DOWN);
        let id = unique("plain", case);
        let answer = send(&client, addr, case.delivery(&id, OK)).await;
        assert_eq!(
            answer.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            case.name
        );
        assert!(answer.retry_after.is_some());
        assert_eq!(runs(&id), 1);
        store.set(NORMAL);
        // Not recorded as done: a retry inside the lease is told to come back.
        assert_eq!(
            send(&client, addr, case.delivery(&id, OK)).await.status,
            StatusCode::CONFLICT
        );
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(
            send(&client, addr, case.delivery(&id, OK)).await.status,
            StatusCode::OK
        );
        assert_eq!(runs(&id), 2, "{}", case.name);
        assert_eq!(
            send(&client, addr, case.delivery(&id, OK)).await.status,
            StatusCode::OK
        );
        assert_eq!(runs(&id), 2);
    }
    assert_logs_clean();
}

/// F04, F05, F06: a handler that returns a retryable or permanent error, or panics, is 500;
/// its claim is released, the next delivery runs it, and the server keeps serving.
#[tokio::test]
async fn f04_f05_f06_handler_errors_and_panics_are_500_and_released() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        for behaviour in ["fail", "perm", "panic"] {
            let id = unique(behaviour, case);
            let answer = send(&client, addr, case.delivery(&id, OK)).await;
            assert_eq!(
                answer.status,
                StatusCode::INTERNAL_SERVER_ERROR,
                "{} {behaviour}",
                case.name
            );
            assert_eq!(answer.body, "handler failed");
            assert_eq!((starts(&id), runs(&id)), (1, 0));
            // The server still serves, other events and this one.
            let other = unique("plain", case);
            assert_eq!(
                send(&client, addr, case.delivery(&other, OK)).await.status,
                StatusCode::OK
            );
            assert_eq!(
                send(&client, addr, case.delivery(&id, OK)).await.status,
                StatusCode::OK
            );
            assert_eq!(
                (starts(&id), runs(&id)),
                (2, 1),
                "{} {behaviour}",
                case.name
            );
            assert_eq!(
                send(&client, addr, case.delivery(&id, OK)).await.status,
                StatusCode::OK
            );
            assert_eq!(starts(&id), 2);
        }
    }
    // Six completed events per scheme, each with its type record and its handler's
    // completion: no claim was left behind by a failure.
    assert_eq!(store.inner().len(), cases.len() * 6 * 2);
    assert_logs_clean();
}

/// Handlers that already completed are not run again when a sibling failed.
#[tokio::test]
async fn only_the_failed_handler_runs_again() {
    init();
    let cases = cases();
    let addr = start(router(&cases, &store(), |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("plain", case);
        let answer = send(&client, addr, case.delivery(&id, PAIR)).await;
        assert_eq!(
            answer.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{}",
            case.name
        );
        assert_eq!(
            (runs(&format!("{id}/steady")), runs(&format!("{id}/flaky"))),
            (1, 0)
        );
        assert_eq!(
            send(&client, addr, case.delivery(&id, PAIR)).await.status,
            StatusCode::OK
        );
        assert_eq!(
            (runs(&format!("{id}/steady")), runs(&format!("{id}/flaky"))),
            (1, 1)
        );
    }
    assert_logs_clean();
}

/// F07: a handler past its time limit is 503 (not 408), its future is dropped and its claim
/// released; the retry processes the event once.
#[tokio::test]
async fn f07_a_handler_past_its_time_limit_is_503_and_released() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| {
        r.handler_timeout(Duration::from_millis(200))
            .lease(Duration::from_secs(2))
    }))
    .await;
    let client = TcpClient::new();
    let mut ids = Vec::new();
    for case in &cases {
        let id = unique("hang", case);
        ids.push(id.clone());
        let answer = send(&client, addr, case.delivery(&id, OK)).await;
        assert_eq!(
            answer.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            case.name
        );
        assert_eq!(answer.body, "handler timed out");
        assert_eq!((starts(&id), runs(&id)), (1, 0));
        // Released, not left to its 2 s lease: the retry runs at once.
        assert_eq!(
            send(&client, addr, case.delivery(&id, OK)).await.status,
            StatusCode::OK
        );
        assert_eq!((starts(&id), runs(&id)), (2, 1), "{}", case.name);
    }
    // The dropped first attempt never completes later on.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for id in &ids {
        assert_eq!(runs(id), 1, "{id}");
    }
    // One event per scheme: its type record and its handler's completion, no stuck claim.
    assert_eq!(store.inner().len(), cases.len() * 2);
    assert_logs_clean();
}

/// F08: the client disconnects while its handler runs. The handler still finishes and
/// completes exactly once; until it has, a retry is 409 (never a 2xx without the handler
/// finishing); afterwards a retry is 200 without running it again.
#[tokio::test]
async fn f08_a_client_disconnecting_mid_handler_leaves_nothing_stuck() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("nap", case);
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(&wire(&case.delivery(&id, OK), false))
            .await
            .unwrap();
        let started = async {
            while starts(&id) == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), started)
            .await
            .expect("handler started");
        drop(stream);
        let retry = send(&client, addr, case.delivery(&id, OK)).await;
        assert_eq!(retry.status, StatusCode::CONFLICT, "{}", case.name);
        assert_eq!(runs(&id), 0);
        assert!(
            wait_for_runs(&id, 1, Duration::from_secs(5)).await,
            "{}",
            case.name
        );
        // Completion is recorded right after the handler returns.
        let mut answer = send(&client, addr, case.delivery(&id, OK)).await;
        for _ in 0..50 {
            if answer.status == StatusCode::OK {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            answer = send(&client, addr, case.delivery(&id, OK)).await;
        }
        assert_eq!(answer.status, StatusCode::OK, "{}", case.name);
        assert_eq!((starts(&id), runs(&id)), (1, 1), "{}", case.name);
    }
    // One event per scheme: its type record and its handler's completion, no stuck claim.
    assert_eq!(store.inner().len(), cases.len() * 2);
    assert_logs_clean();
}

/// F13 (the memory store's documented guarantee): a restart forgets every record, so a
/// redelivery after it runs the handler again.
#[tokio::test]
async fn f13_a_restarted_memory_store_runs_a_redelivery_again() {
    init();
    let cases = cases();
    let client = TcpClient::new();
    let before = start(router(&cases, &store(), |_, r| r)).await;
    let after = start(router(&cases, &store(), |_, r| r)).await;
    for case in &cases {
        let id = unique("plain", case);
        assert_eq!(
            send(&client, before, case.delivery(&id, OK)).await.status,
            StatusCode::OK
        );
        assert_eq!(
            send(&client, after, case.delivery(&id, OK)).await.status,
            StatusCode::OK
        );
        assert_eq!(runs(&id), 2, "{}", case.name);
    }
    assert_logs_clean();
}
