//! A short, bounded load run on 127.0.0.1 (reliability.md row G06): half the deliveries carry
//! invalid signatures over maximum-size bodies, the other half are valid, unique events, all
//! schemes mixed. Every valid event must be processed exactly once, every invalid one
//! answered 401, and nothing answered 5xx. Latencies are printed, not asserted.
//!
//! Ignored by default; run it with (see README.md, "Load run"):
//!
//! ```text
//! cargo test -p webhook-tests --release --test load_run -- --ignored --nocapture
//! ```
//!
//! `LOAD_RUN_EVENTS` (default 1000) sets the number of valid events; as many invalid ones are
//! sent. The run fails if it takes longer than `LOAD_RUN_DEADLINE_SECS` (default 120).

#[path = "hostile/harness.rs"]
mod harness;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};

use harness::{body, cases, init, now, router, runs, start, store, try_send, unique, Key, OK};
use webhook_axum::test::TcpClient;

const LIMIT: usize = 1024 * 1024;
const CONCURRENCY: usize = 32;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A body of exactly `LIMIT` bytes.
fn max_body(id: &str) -> Bytes {
    let empty = body(id, OK, r#"{"pad":""}"#);
    let pad = "x".repeat(LIMIT - empty.len());
    Bytes::from(body(id, OK, &format!(r#"{{"pad":"{pad}"}}"#)))
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "load run: cargo test -p webhook-tests --release --test load_run -- --ignored --nocapture"]
async fn half_invalid_max_size_half_valid_unique() {
    init();
    let events = env("LOAD_RUN_EVENTS", 1000);
    let deadline = Duration::from_secs(env("LOAD_RUN_DEADLINE_SECS", 120) as u64);
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    assert!(addr.ip().is_loopback());

    // One invalid request per scheme, reused: a wrong key over a maximum-size body.
    let invalid: Vec<Request<Bytes>> = cases
        .iter()
        .map(|case| {
            let id = unique("plain", case);
            let bytes = max_body(&id);
            let headers = case.headers(Key::Wrong, &id, OK, &bytes, now());
            case.post(&headers, bytes)
        })
        .collect();
    // Valid deliveries, interleaved with the invalid ones: even slots valid, odd invalid.
    let mut plan: Vec<(Option<String>, Request<Bytes>)> = Vec::with_capacity(2 * events);
    for i in 0..events {
        let case = &cases[i % cases.len()];
        let id = unique("plain", case);
        plan.push((Some(id.clone()), case.delivery(&id, OK)));
        plan.push((None, invalid[i % invalid.len()].clone()));
    }
    let plan = Arc::new(plan);
    let next = Arc::new(AtomicUsize::new(0));
    let results = Arc::new(Mutex::new(Vec::with_capacity(plan.len())));
    let client = TcpClient::new();
    let started = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (plan, next, results, client) = (
                Arc::clone(&plan),
                Arc::clone(&next),
                Arc::clone(&results),
                client.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some((id, request)) = plan.get(index) else {
                        return;
                    };
                    let sent = Instant::now();
                    let status = match try_send(&client, addr, request.clone()).await {
                        Ok(answer) => Some(answer.status),
                        Err(_) => None,
                    };
                    results
                        .lock()
                        .unwrap()
                        .push((id.clone(), status, sent.elapsed()));
                }
            })
        })
        .collect();
    let all = async {
        for worker in workers {
            worker.await.unwrap();
        }
    };
    tokio::time::timeout(deadline, all)
        .await
        .unwrap_or_else(|_| panic!("the load run did not finish within {deadline:?}"));
    let elapsed = started.elapsed();

    let results = results.lock().unwrap();
    assert_eq!(results.len(), 2 * events);
    let mut latencies: Vec<Duration> = results.iter().map(|(_, _, l)| *l).collect();
    latencies.sort();
    let percentile = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    println!(
        "load run: {} deliveries ({events} valid, {events} invalid of {LIMIT} bytes) in {elapsed:?} \
         with {CONCURRENCY} connections; p50 {:?}, p99 {:?}, max {:?}",
        results.len(),
        percentile(50),
        percentile(99),
        latencies.last().unwrap()
    );
    for (id, status, _) in results.iter() {
        let status = status.unwrap_or_else(|| panic!("connection failed for {id:?}"));
        assert!(!status.is_server_error(), "{status} for {id:?}");
        match id {
            Some(id) => {
                assert_eq!(status, StatusCode::OK, "{id}");
                assert_eq!(runs(id), 1, "{id}");
            }
            None => assert_eq!(status, StatusCode::UNAUTHORIZED),
        }
    }
    // Exactly the valid events were recorded, once each; the invalid ones never reached the
    // store.
    assert_eq!(store.inner().len(), events);
    harness::assert_logs_clean();
}
