//! Rows D (event semantics) and E (dedupe and concurrency) of reliability.md section 3, for
//! every scheme, through the real server on 127.0.0.1.

#[path = "hostile/harness.rs"]
mod harness;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use tokio::sync::Barrier;
use webhook_core::test_util::CountingStore;
use webhook_core::{Claim, ClaimKey, IdempotencyStore, Lease, StoreError};

use harness::{
    age_seen, assert_logs_clean, body, cases, fulfilled, handler_path, init, latest_status, now,
    router, runs, send, start, starts, store, unique, Case, IdSource, Key, CHARGE, OBJECT, OK,
    UNKNOWN, VERSIONED,
};
use webhook_axum::test::TcpClient;

#[tokio::test]
async fn d01_unknown_event_types_are_200_and_touch_nothing() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("plain", case);
        for _ in 0..2 {
            let answer = send(&client, addr, case.delivery(&id, UNKNOWN)).await;
            assert_eq!(answer.status, StatusCode::OK, "{}", case.name);
        }
        assert_eq!(starts(&id), 0);
    }
    assert_eq!(store.calls(), 0);
    assert_logs_clean();
}

/// D03: an event without a usable id (or type) is never processed: nothing could dedupe it.
#[tokio::test]
async fn d03_events_without_a_usable_id_or_type_are_refused() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("plain", case);
        match case.id_source {
            IdSource::Body => {
                let long = "e".repeat(256);
                let bodies = [
                    (
                        "no id",
                        format!(r#"{{"type":"{OK}","data":{{"object":{OBJECT}}}}}"#),
                    ),
                    ("empty id", body("", OK, OBJECT)),
                    ("id of 256 bytes", body(&long, OK, OBJECT)),
                    (
                        "id with a control character",
                        body(r"evt\u0001x", OK, OBJECT),
                    ),
                    ("id not a string", format!(r#"{{"id":42,"type":"{OK}"}}"#)),
                    (
                        "no type",
                        format!(r#"{{"id":"{id}","data":{{"object":{OBJECT}}}}}"#),
                    ),
                    ("empty type", body(&id, "", OBJECT)),
                ];
                for (label, bytes) in bodies {
                    let bytes = Bytes::from(bytes);
                    let headers = case.headers(Key::Current, &id, OK, &bytes, now());
                    let answer = send(&client, addr, case.post(&headers, bytes)).await;
                    assert_eq!(
                        answer.status,
                        StatusCode::BAD_REQUEST,
                        "{}: {label}",
                        case.name
                    );
                }
            }
            IdSource::Header(name) => {
                // The id header is required to verify at all: without it the delivery is not
                // authentic (401). The body's id does not matter.
                let mut request = case.delivery(&id, OK);
                request.headers_mut().remove(name);
                let answer = send(&client, addr, request).await;
                assert_eq!(
                    answer.status,
                    StatusCode::UNAUTHORIZED,
                    "{}: no {name}",
                    case.name
                );
                let mut request = case.delivery(&id, OK);
                request
                    .headers_mut()
                    .insert(name, http::HeaderValue::from_static(""));
                let answer = send(&client, addr, request).await;
                assert_eq!(
                    answer.status,
                    StatusCode::UNAUTHORIZED,
                    "{}: empty {name}",
                    case.name
                );
            }
        }
        assert_eq!(starts(&id), 0, "{}", case.name);
    }
    assert_eq!(store.calls(), 0);
    // With the id in a header, a body without an id is fine.
    for case in cases.iter().filter(|c| c.id_source != IdSource::Body) {
        let id = unique("plain", case);
        let bytes = format!(r#"{{"type":"{OK}","action":"ok","data":{{"object":{OBJECT}}}}}"#);
        let answer = send(&client, addr, case.signed(&id, OK, bytes, now())).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", case.name);
        assert_eq!(runs(&id), 1);
    }
    assert_logs_clean();
}

/// D05: an id first recorded with one type and delivered again with another is 422, and
/// nothing runs, whether the record is completed or in progress.
#[tokio::test]
async fn d05_an_id_reused_with_another_type_is_422() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("plain", case);
        assert_eq!(
            send(&client, addr, case.delivery(&id, "conflict.first"))
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(runs(&id), 1);
        for _ in 0..2 {
            let answer = send(&client, addr, case.delivery(&id, "conflict.second")).await;
            assert_eq!(
                answer.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{}",
                case.name
            );
        }
        assert_eq!(runs(&id), 1, "{}", case.name);
        // The original type is still a plain duplicate.
        assert_eq!(
            send(&client, addr, case.delivery(&id, "conflict.first"))
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(runs(&id), 1);
    }
    assert_logs_clean();
}

/// D05 where the second type is handled by another handler: the event-level type record
/// refuses it with 422 although that handler's own claim would be fresh.
#[tokio::test]
async fn d05_an_id_reused_with_a_type_of_another_handler_is_422() {
    init();
    let cases = cases();
    let addr = start(router(&cases, &store(), |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("plain", case);
        assert_eq!(
            send(&client, addr, case.delivery(&id, OK)).await.status,
            StatusCode::OK
        );
        let charge = body(&id, CHARGE, r#"{"payment":"pay_d05"}"#);
        let answer = send(&client, addr, case.signed(&id, CHARGE, charge, now())).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            case.name
        );
        assert_eq!(runs(&id), 1, "{}", case.name);
    }
}

/// D06: the same id on two endpoints (namespaces) sharing one store is processed once each.
#[tokio::test]
async fn d06_the_same_id_in_two_namespaces_is_processed_once_in_each() {
    init();
    let cases = cases();
    let store = store();
    let first = start(router(&cases, &store, |case, r| {
        r.namespace(format!("{}-a", case.name))
    }))
    .await;
    let second = start(router(&cases, &store, |case, r| {
        r.namespace(format!("{}-b", case.name))
    }))
    .await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("plain", case);
        for addr in [first, second, first, second] {
            assert_eq!(
                send(&client, addr, case.delivery(&id, OK)).await.status,
                StatusCode::OK
            );
        }
        assert_eq!(runs(&id), 2, "{}", case.name);
    }
    assert_logs_clean();
}

fn created_at(id: &str, event_type: &str, object: &str, created: &str) -> String {
    body(id, event_type, object).replace("2023-11-14T22:13:20.000Z", created)
}

/// D08: a newer event, then an older one for the same object: both 200, the newer state
/// wins (the handler compares `created`). D10: the handler sees how late an event is.
#[tokio::test]
async fn d08_d10_out_of_order_and_late_events() {
    init();
    let cases = cases();
    let addr = start(router(&cases, &store(), |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let object_id = format!("sub_{}", case.name);
        let newer = unique("plain", case);
        let older = unique("plain", case);
        let object = |status: &str| format!(r#"{{"id":"{object_id}","status":"{status}"}}"#);
        let bytes = created_at(
            &newer,
            VERSIONED,
            &object("canceled"),
            "2024-01-02T00:00:00Z",
        );
        assert_eq!(
            send(&client, addr, case.signed(&newer, VERSIONED, bytes, now()))
                .await
                .status,
            StatusCode::OK
        );
        let bytes = created_at(&older, VERSIONED, &object("active"), "2024-01-01T00:00:00Z");
        assert_eq!(
            send(&client, addr, case.signed(&older, VERSIONED, bytes, now()))
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!((runs(&newer), runs(&older)), (1, 1));
        assert_eq!(
            latest_status(&object_id).as_deref(),
            Some("canceled"),
            "{}",
            case.name
        );
        // Created on 2024-01-01, received now: the handler sees an age of over a year.
        assert!(age_seen(&older).unwrap() > 365 * 24 * 3600, "{}", case.name);
    }
    assert_logs_clean();
}

/// D09: two different events for one business change: each is processed once, and the
/// business key keeps the effect single.
#[tokio::test]
async fn d09_two_events_for_one_payment_fulfil_once() {
    init();
    let cases = cases();
    let addr = start(router(&cases, &store(), |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let payment = format!("pay_{}", case.name);
        let object = format!(r#"{{"payment":"{payment}"}}"#);
        let ids = [unique("plain", case), unique("plain", case)];
        for id in &ids {
            let bytes = body(id, CHARGE, &object);
            assert_eq!(
                send(&client, addr, case.signed(id, CHARGE, bytes, now()))
                    .await
                    .status,
                StatusCode::OK
            );
        }
        assert_eq!((runs(&ids[0]), runs(&ids[1])), (1, 1));
        assert_eq!(fulfilled(&payment), 1, "{}", case.name);
    }
    assert_logs_clean();
}

/// Release `n` copies of a delivery at once, spread over `addrs`; return the statuses, each
/// with the run count read the instant its answer arrived.
async fn storm(
    client: &TcpClient,
    addrs: &[SocketAddr],
    case: &Case,
    id: &str,
    n: usize,
) -> Vec<(StatusCode, Option<String>, usize)> {
    let request = case.delivery(id, OK);
    let barrier = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (client, barrier, request, addr) = (
                client.clone(),
                Arc::clone(&barrier),
                request.clone(),
                addrs[i % addrs.len()],
            );
            let id = id.to_owned();
            tokio::spawn(async move {
                barrier.wait().await;
                let answer = send(&client, addr, request).await;
                (answer.status, answer.retry_after, runs(&id))
            })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

/// What breaks the invariants of E02: more or less than one run, a status other than 200 or
/// 409, a 409 without `Retry-After`, or a 2xx answered before the winner completed.
fn storm_violations(id: &str, answers: &[(StatusCode, Option<String>, usize)]) -> Vec<String> {
    let mut violations = Vec::new();
    let mut ok = 0;
    for (status, retry_after, runs_when_answered) in answers {
        match *status {
            StatusCode::OK => {
                ok += 1;
                if *runs_when_answered != 1 {
                    violations.push(format!("2xx with {runs_when_answered} runs completed"));
                }
            }
            StatusCode::CONFLICT if retry_after.is_none() => {
                violations.push("409 without Retry-After".to_owned());
            }
            StatusCode::CONFLICT => {}
            other => violations.push(format!("unexpected {other}")),
        }
    }
    if runs(id) != 1 {
        violations.push(format!("{} runs", runs(id)));
    }
    if ok == 0 {
        violations.push("no 200 at all".to_owned());
    }
    violations
}

fn assert_storm(case: &Case, id: &str, answers: &[(StatusCode, Option<String>, usize)]) {
    let violations = storm_violations(id, answers);
    assert!(violations.is_empty(), "{}: {violations:?}", case.name);
}

/// E01, E02: 50 identical deliveries released together run the handler exactly once; later
/// duplicates are 200 without running it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn e01_e02_fifty_identical_deliveries_run_once() {
    init();
    let cases = cases();
    let addr = start(router(&cases, &store(), |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("slow", case);
        let answers = storm(&client, &[addr], case, &id, 50).await;
        assert_storm(case, &id, &answers);
        assert_eq!(
            send(&client, addr, case.delivery(&id, OK)).await.status,
            StatusCode::OK
        );
        assert_eq!(runs(&id), 1);
    }
    assert_logs_clean();
}

/// E03: the same, across two server instances sharing one store.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn e03_two_instances_sharing_a_store_run_once() {
    init();
    let cases = cases();
    let store = store();
    let first = start(router(&cases, &store, |_, r| r)).await;
    let second = start(router(&cases, &store, |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("slow", case);
        let answers = storm(&client, &[first, second], case, &id, 50).await;
        assert_storm(case, &id, &answers);
    }
    assert_logs_clean();
}

/// E04: the winner fails after a duplicate arrived: the duplicate is 409, the winner 500, the
/// next retry 200, and the handler completes exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn e04_the_winner_fails_after_a_duplicate_arrived() {
    init();
    let cases = cases();
    let addr = start(router(&cases, &store(), |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("slowfail", case);
        let winner = tokio::spawn({
            let (client, request) = (client.clone(), case.delivery(&id, OK));
            async move { send(&client, addr, request).await }
        });
        let started = async {
            while starts(&id) == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), started)
            .await
            .expect("handler started");
        let loser = send(&client, addr, case.delivery(&id, OK)).await;
        assert_eq!(loser.status, StatusCode::CONFLICT, "{}", case.name);
        assert_eq!(
            winner.await.unwrap().status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{}",
            case.name
        );
        assert_eq!(runs(&id), 0);
        assert_eq!(
            send(&client, addr, case.delivery(&id, OK)).await.status,
            StatusCode::OK
        );
        assert_eq!(runs(&id), 1, "{}", case.name);
    }
    assert_logs_clean();
}

/// A store whose leases last 100 ms whatever is asked and whose renewals are lost: a
/// handler slower than that is overtaken, as with a store whose clock runs ahead.
#[derive(Debug, Clone)]
struct ShortLeases(CountingStore);

impl IdempotencyStore for ShortLeases {
    async fn claim(&self, key: &ClaimKey<'_>, _lease: Duration) -> Result<Claim, StoreError> {
        self.0.claim(key, Duration::from_millis(100)).await
    }
    async fn complete(&self, lease: &Lease, retention: Duration) -> Result<(), StoreError> {
        self.0.complete(lease, retention).await
    }
    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.0.release(lease).await
    }
    async fn extend(&self, _lease: &Lease, _by: Duration) -> Result<(), StoreError> {
        Ok(())
    }
    async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.0.purge_expired().await
    }
}

/// E05: handler A outlives its lease; B takes over and completes; A's completion is refused
/// (lease lost: 5xx). Lease mode: both ran (at most two runs, as documented), and the event
/// is completed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn e05_a_handler_that_lost_its_lease_cannot_complete() {
    init();
    let cases = cases();
    let store = ShortLeases(store());
    let addr = start(router(&cases, &store, |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("slow", case);
        let first = tokio::spawn({
            let (client, request) = (client.clone(), case.delivery(&id, OK));
            async move { send(&client, addr, request).await }
        });
        tokio::time::sleep(Duration::from_millis(150)).await;
        let second = send(&client, addr, case.delivery(&id, OK)).await;
        let first = first.await.unwrap();
        assert!(
            first.status.is_server_error(),
            "{}: {}",
            case.name,
            first.status
        );
        assert_eq!(second.status, StatusCode::OK, "{}", case.name);
        assert_eq!(runs(&id), 2, "{}", case.name);
        assert_eq!(
            send(&client, addr, case.delivery(&id, OK)).await.status,
            StatusCode::OK
        );
        assert_eq!(runs(&id), 2);
    }
    assert_logs_clean();
}

/// E06: a claim left by a crashed owner blocks deliveries (409) until its lease expires; then
/// the event is processed once.
#[tokio::test]
async fn e06_a_crashed_owners_claim_blocks_until_its_lease_expires() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("plain", case);
        let key = ClaimKey {
            namespace: case.name,
            event_id: &id,
            handler: handler_path(OK),
            event_type: OK,
        };
        let claim = store
            .inner()
            .claim(&key, Duration::from_millis(500))
            .await
            .unwrap();
        assert!(matches!(claim, Claim::Acquired(_)));
        // The owner crashes: its lease is never completed nor released.
        let answer = send(&client, addr, case.delivery(&id, OK)).await;
        assert_eq!(answer.status, StatusCode::CONFLICT, "{}", case.name);
        assert!(answer.retry_after.is_some());
        assert_eq!(starts(&id), 0);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(
            send(&client, addr, case.delivery(&id, OK)).await.status,
            StatusCode::OK
        );
        assert_eq!(runs(&id), 1, "{}", case.name);
    }
    assert_logs_clean();
}

/// A store that checks and then sets in two steps, as some real libraries did.
#[derive(Debug, Default, Clone)]
struct RacyStore {
    records: Arc<Mutex<HashMap<String, String>>>,
}

impl IdempotencyStore for RacyStore {
    async fn claim(&self, key: &ClaimKey<'_>, _lease: Duration) -> Result<Claim, StoreError> {
        let name = format!("{}/{}/{}", key.namespace, key.event_id, key.handler);
        let seen = self.records.lock().unwrap().get(&name).cloned();
        if let Some(state) = seen {
            return Ok(if state == "done" {
                Claim::Completed
            } else {
                Claim::InProgress {
                    retry_after: Duration::from_secs(1),
                }
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.records.lock().unwrap().insert(name, "running".into());
        Ok(Claim::Acquired(Lease::new(key, Lease::new_token())))
    }
    async fn complete(&self, lease: &Lease, _retention: Duration) -> Result<(), StoreError> {
        let name = format!(
            "{}/{}/{}",
            lease.namespace(),
            lease.event_id(),
            lease.handler()
        );
        self.records.lock().unwrap().insert(name, "done".into());
        Ok(())
    }
    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        let name = format!(
            "{}/{}/{}",
            lease.namespace(),
            lease.event_id(),
            lease.handler()
        );
        self.records.lock().unwrap().remove(&name);
        Ok(())
    }
    async fn extend(&self, _lease: &Lease, _by: Duration) -> Result<(), StoreError> {
        Ok(())
    }
    async fn purge_expired(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
}

/// E08: the storm test bites. With a check-then-set store, the same storm runs the handler
/// more than once, which `assert_storm` would reject.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn e08_a_check_then_set_store_fails_the_storm_test() {
    init();
    let cases = cases();
    let racy = CountingStore::new(RacyStore::default());
    let addr = start(router(&cases, &racy, |_, r| r)).await;
    let client = TcpClient::new();
    let case = &cases[0];
    let id = unique("slow", case);
    let answers = storm(&client, &[addr], case, &id, 20).await;
    assert!(runs(&id) > 1, "the racy store went unnoticed: {answers:?}");
    assert!(!storm_violations(&id, &answers).is_empty());
    // And the real store, under the same storm, passes.
    let addr = start(router(&cases, &store(), |_, r| r)).await;
    let id = unique("slow", case);
    let answers = storm(&client, &[addr], case, &id, 20).await;
    assert_storm(case, &id, &answers);
}

/// E09: a storm of 1,000 deliveries of one id, 50 at a time: only 200 and 409, one run.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn e09_a_duplicate_storm_runs_once() {
    init();
    let cases = cases();
    let addr = start(router(&cases, &store(), |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("slow", case);
        let mut answers = Vec::new();
        for _ in 0..20 {
            answers.extend(storm(&client, &[addr], case, &id, 50).await);
        }
        assert_eq!(answers.len(), 1000);
        assert_storm(case, &id, &answers);
    }
    assert_logs_clean();
}

/// H05: purging removes completed records past their retention, never a live claim: a
/// delivery in progress during the purge still completes, and is not run again afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h05_purge_removes_expired_completions_only() {
    init();
    let cases = cases();
    let client = TcpClient::new();
    let short = Duration::from_secs(1);
    for case in &cases {
        // One store per scheme, so each purge sees only this scheme's records.
        let store = store();
        let addr = start(router(std::slice::from_ref(case), &store, |case, r| {
            r.verifier(case.verifier_with(&[case.verify[0]], None, short).unwrap())
                .retention(short)
                .lease(Duration::from_secs(10))
                .handler_timeout(Duration::from_secs(5))
        }))
        .await;
        let done = unique("plain", case);
        assert_eq!(
            send(&client, addr, case.delivery(&done, OK)).await.status,
            StatusCode::OK
        );
        tokio::time::sleep(Duration::from_millis(1100)).await;
        // `nap` runs for 1 s; its claim (lease 10 s) is live during the purge.
        let running = unique("nap", case);
        let in_flight = tokio::spawn({
            let (client, request) = (client.clone(), case.delivery(&running, OK));
            async move { send(&client, addr, request).await }
        });
        tokio::time::timeout(Duration::from_secs(5), async {
            while starts(&running) == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("handler started");
        let purged = store.inner().purge_expired().await.unwrap();
        // The expired completion and its event's type record; nothing of the live delivery.
        assert_eq!(purged, 2, "{}: only the expired event's records", case.name);
        assert_eq!(
            send(&client, addr, case.delivery(&running, OK))
                .await
                .status,
            StatusCode::CONFLICT,
            "{}: the live claim survived the purge",
            case.name
        );
        assert_eq!(in_flight.await.unwrap().status, StatusCode::OK);
        assert_eq!(
            send(&client, addr, case.delivery(&running, OK))
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(runs(&running), 1, "{}", case.name);
    }
    assert_logs_clean();
}
