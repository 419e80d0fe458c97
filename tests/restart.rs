//! Restart: a receiver process (bin/instance_receiver.rs) on a durable store is killed
//! (SIGKILL) and started again on the same store.
//!
//! * Between two deliveries of an event: the redelivery is answered 200 and the handler does
//!   not run again.
//! * In the middle of a handler: the claim of the dead process holds the event (409 with
//!   `Retry-After`) until its lease expires; then the next delivery runs the handler, once.
//!
//! SQLite runs by default; PostgreSQL with the `server-tests` feature.

#[path = "instance/harness.rs"]
mod harness;

use std::time::Duration;

use http::StatusCode;

use harness::{assert_retry_after, wait_until, Instance, Options, Scratch, Sender, Store};

async fn restart_between_deliveries(scratch: &Scratch, store: Store) {
    let options = Options::new(store);
    let sender = Sender::new();
    let runs = scratch.runs();

    let first = Instance::start(scratch, "first", &options).await;
    let first_pid = first.pid();
    let answer = sender.deliver(first.addr, "evt_restart_1").await.answer;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(runs.done("evt_restart_1").len(), 1);
    first.kill();

    let second = Instance::start(scratch, "second", &options).await;
    let answer = sender.deliver(second.addr, "evt_restart_1").await.answer;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "redelivery after the restart: {answer:?}\n{}",
        second.log()
    );
    assert_eq!(
        runs.starts("evt_restart_1"),
        1,
        "the restarted receiver ran the handler again: {:?}",
        runs.read()
    );
    assert_eq!(
        runs.done("evt_restart_1").first().map(|(pid, _)| *pid),
        Some(first_pid)
    );

    // The restarted receiver does run handlers: the check above is not vacuous.
    let answer = sender.deliver(second.addr, "evt_restart_2").await.answer;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(
        runs.done("evt_restart_2")
            .iter()
            .map(|(pid, _)| *pid)
            .collect::<Vec<_>>(),
        [second.pid()]
    );
}

async fn crash_in_handler(scratch: &Scratch, store: Store) {
    let mut options = Options::new(store);
    options.lease = Duration::from_secs(5);
    options.handler_timeout = Duration::from_secs(4);
    let sender = Sender::new();
    let runs = scratch.runs();

    let mut slow = options.clone();
    slow.delay = Duration::from_secs(3);
    let first = Instance::start(scratch, "first", &slow).await;
    let delivery = {
        let sender = sender.clone();
        let addr = first.addr;
        tokio::spawn(async move { sender.try_deliver(addr, "evt_crash_1").await })
    };
    wait_until(Duration::from_secs(10), "the handler begins", || {
        runs.starts("evt_crash_1") == 1
    })
    .await;
    first.kill();
    let lost = delivery.await.expect("delivery task");
    assert!(
        lost.as_ref()
            .is_none_or(|answer| !answer.status.is_success()),
        "a delivery whose handler was killed was answered {lost:?}"
    );
    assert!(runs.done("evt_crash_1").is_empty());

    let second = Instance::start(scratch, "second", &options).await;
    // The dead process's lease still holds the claim.
    let answer = sender.deliver(second.addr, "evt_crash_1").await.answer;
    assert_eq!(
        answer.status,
        StatusCode::CONFLICT,
        "redelivery while the dead process's lease is live: {answer:?}\n{}",
        second.log()
    );
    assert_retry_after(&answer, "409 while the lease is live");
    assert_eq!(runs.starts("evt_crash_1"), 1);

    // Once it expires, the next delivery runs the handler.
    let mut answered = None;
    for _ in 0..80 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let answer = sender.deliver(second.addr, "evt_crash_1").await.answer;
        match answer.status {
            StatusCode::CONFLICT => assert_retry_after(&answer, "409 while the lease is live"),
            _ => {
                answered = Some(answer);
                break;
            }
        }
    }
    let answer = answered.expect("the lease expires within 20 s");
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(runs.starts("evt_crash_1"), 2, "{:?}", runs.read());
    assert_eq!(
        runs.done("evt_crash_1")
            .iter()
            .map(|(pid, _)| *pid)
            .collect::<Vec<_>>(),
        [second.pid()]
    );
    let answer = sender.deliver(second.addr, "evt_crash_1").await.answer;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(runs.starts("evt_crash_1"), 2, "{:?}", runs.read());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_restart_between_deliveries_does_not_run_again() {
    let scratch = Scratch::new("restart-sqlite");
    let store = Store::Sqlite(scratch.path("idempotency.db"));
    restart_between_deliveries(&scratch, store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_crash_in_handler_runs_again_after_the_lease() {
    let scratch = Scratch::new("crash-sqlite");
    let store = Store::Sqlite(scratch.path("idempotency.db"));
    crash_in_handler(&scratch, store).await;
}

#[cfg(feature = "server-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_between_deliveries_does_not_run_again() {
    let schema = harness::PgSchema::create().await;
    let scratch = Scratch::new("restart-postgres");
    restart_between_deliveries(&scratch, schema.store(&harness::postgres_url())).await;
    assert_eq!(
        schema.records("evt_restart_1").await,
        [("completed".to_owned(), 1)]
    );
}

#[cfg(feature = "server-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_crash_in_handler_runs_again_after_the_lease() {
    let schema = harness::PgSchema::create().await;
    let scratch = Scratch::new("crash-postgres");
    crash_in_handler(&scratch, schema.store(&harness::postgres_url())).await;
}
