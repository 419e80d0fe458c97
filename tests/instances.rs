//! Many instances: two receiver processes (bin/instance_receiver.rs) on two ports share one
//! store, and 200 deliveries of 20 distinct events are sent to both at once. Every handler runs
//! exactly once per event, every delivery is answered 200 or 409, and no 200 arrives before
//! its event's handler finished.
//!
//! The handler works 200 ms before it stamps its `done` line, so duplicates sent with the
//! first delivery arrive while it holds the claim; a 200 for one of them would arrive before
//! that stamp and fail the test.
//!
//! SQLite (one file, two processes) runs by default; PostgreSQL (one schema) and Redis (one
//! key prefix) with the `server-tests` feature.

#[path = "instance/harness.rs"]
mod harness;

use std::net::SocketAddr;
use std::time::Duration;

use http::StatusCode;

use harness::{assert_retry_after, Instance, Options, Scratch, Sender, Store, Timed};

const EVENTS: usize = 20;
const ROUNDS: usize = 10;

/// Runs the wave against two instances on `store` and checks every promise.
async fn two_instances_one_store(label: &str, scratch: &Scratch, store: Store) -> Vec<String> {
    let mut options = Options::new(store);
    options.delay = Duration::from_millis(200);
    // Generous: this test is about duplicates, not about the store's time limit, and 200
    // deliveries at once on a small machine queue for the store.
    options.store_timeout = Duration::from_secs(10);
    let a = Instance::start(scratch, "a", &options).await;
    let b = Instance::start(scratch, "b", &options).await;
    let sender = Sender::new();
    let events: Vec<String> = (0..EVENTS).map(|n| format!("evt_{label}_{n:02}")).collect();

    // All 200 at once; each event's deliveries alternate between the instances.
    let mut wave = Vec::new();
    for round in 0..ROUNDS {
        for (n, event) in events.iter().enumerate() {
            let addr = if (round + n) % 2 == 0 { a.addr } else { b.addr };
            let sender = sender.clone();
            let event = event.clone();
            wave.push(tokio::spawn(async move {
                let timed = sender.deliver(addr, &event).await;
                (event, addr, timed)
            }));
        }
    }
    let mut answers: Vec<(String, SocketAddr, Timed)> = Vec::new();
    for delivery in wave {
        answers.push(delivery.await.expect("delivery task"));
    }

    let runs = scratch.runs();
    let starts = runs.starts_per_event();
    let done = runs.done_per_event();
    for event in &events {
        assert_eq!(
            starts.get(event),
            Some(&1),
            "the handler must begin exactly once for {event}; runs: {:?}",
            runs.read()
        );
        assert_eq!(
            done.get(event).map(Vec::len),
            Some(1),
            "the handler must finish exactly once for {event}; runs: {:?}",
            runs.read()
        );
    }
    assert_eq!(done.len(), EVENTS, "runs of unknown events: {done:?}");

    let mut in_progress = 0;
    for (event, addr, timed) in &answers {
        match timed.answer.status {
            StatusCode::OK => {
                let (_, finished) = done[event][0];
                assert!(
                    finished < timed.at,
                    "{event}: 200 from {addr} arrived before its handler finished \
                     ({} µs early)",
                    (finished - timed.at) / 1000
                );
            }
            StatusCode::CONFLICT => {
                in_progress += 1;
                assert_retry_after(&timed.answer, &format!("409 for {event} from {addr}"));
            }
            other => panic!(
                "{event} from {addr}: {other}, expected 200 or 409: {:?}\ninstance a: {}\ninstance b: {}",
                timed.answer,
                a.log(),
                b.log()
            ),
        }
    }
    for event in &events {
        assert!(
            answers
                .iter()
                .any(|(e, _, timed)| e == event && timed.answer.status == StatusCode::OK),
            "no delivery of {event} was answered 200"
        );
    }
    // Otherwise no duplicate met a run in progress, and the 2xx check above proved nothing.
    assert!(
        in_progress > 0,
        "no delivery was answered 409: the wave did not overlap"
    );

    // Afterwards every event is a completed duplicate on both instances.
    for event in &events {
        for addr in [a.addr, b.addr] {
            let timed = sender.deliver(addr, event).await;
            assert_eq!(
                timed.answer.status,
                StatusCode::OK,
                "redelivery of {event} to {addr}"
            );
        }
    }
    assert_eq!(
        runs.read().len(),
        2 * EVENTS,
        "a redelivery ran a handler again: {:?}",
        runs.read()
    );
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_processes_share_one_file() {
    let scratch = Scratch::new("instances-sqlite");
    let store = Store::Sqlite(scratch.path("idempotency.db"));
    two_instances_one_store("sqlite", &scratch, store).await;
}

#[cfg(feature = "server-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_instances_share_one_database() {
    let schema = harness::PgSchema::create().await;
    let scratch = Scratch::new("instances-postgres");
    let events =
        two_instances_one_store("postgres", &scratch, schema.store(&harness::postgres_url())).await;
    for event in &events {
        assert_eq!(
            schema.records(event).await,
            [("completed".to_owned(), 1)],
            "one completed record for {event}"
        );
    }
}

#[cfg(feature = "server-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_two_instances_share_one_server() {
    let prefix = harness::RedisPrefix::create().await;
    let scratch = Scratch::new("instances-redis");
    two_instances_one_store("redis", &scratch, prefix.store(&harness::redis_url())).await;
}
