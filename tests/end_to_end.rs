//! The first complete path, end to end: a signed PaymentKit delivery reaches a typed handler
//! exactly once, through the Axum router in process and over a real TCP socket.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use axum::Router;
use http::StatusCode;
use serde::Deserialize;
use tokio::sync::Barrier;
use webhook_axum::test::{serve, TcpClient, TestClient};
use webhook_axum::RouterExt;
use webhook_core::signature::{PaymentKit, Verifier};
use webhook_core::test_util::{CountingStore, TestSender};
use webhook_core::{on_event, Clock, Event, HandlerError, MemoryStore, Receiver, SystemClock};

const SECRET: &str = "whsec_end_to_end_secret";
const PATH: &str = "/webhooks/paymentkit";

/// Completed handler runs per (event id, handler).
static RUNS: LazyLock<Mutex<HashMap<(String, &'static str), usize>>> =
    LazyLock::new(Mutex::default);

fn record(event_id: &str, handler: &'static str) -> usize {
    let mut runs = RUNS.lock().unwrap();
    let count = runs.entry((event_id.to_owned(), handler)).or_default();
    *count += 1;
    *count
}

fn runs(event_id: &str, handler: &'static str) -> usize {
    RUNS.lock()
        .unwrap()
        .get(&(event_id.to_owned(), handler))
        .copied()
        .unwrap_or(0)
}

/// The fields of PaymentKit's payment intent this test's handler reads; [`TestSender::event`]
/// deliveries carry only these, samples carry the whole object.
#[derive(Debug, Deserialize)]
struct PaymentIntent {
    id: String,
    amount: String,
}

const FULFIL: &str = "end_to_end::fulfil";

#[on_event("payment_intent.succeeded")]
async fn fulfil(event: Event<PaymentIntent>) -> Result<(), HandlerError> {
    let intent = event.object();
    assert!(intent.id.starts_with("pi_") && !intent.amount.is_empty());
    if event.id().starts_with("evt_slow") {
        // Long enough that concurrent duplicates arrive while this one holds the claim.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    record(event.id(), "fulfil");
    Ok(())
}

#[on_event("invoice.payment_failed")]
async fn fails_first_time(event: Event) -> Result<(), HandlerError> {
    if record(event.id(), "fails_first_time") == 1 {
        return Err(HandlerError::msg("downstream unavailable"));
    }
    Ok(())
}

fn app(store: CountingStore) -> Router {
    let receiver = Receiver::builder()
        .verifier(
            Verifier::builder(PaymentKit)
                .secret(SECRET)
                .build()
                .unwrap(),
        )
        .store(store)
        .build()
        .unwrap();
    Router::new().webhook(PATH, receiver)
}

fn sender(secret: &str) -> TestSender<PaymentKit> {
    TestSender::new(PaymentKit, secret).unwrap().path(PATH)
}

const INTENT: &str = r#"{"id":"pi_1","amount":"1000","currency_id":"usd"}"#;

#[tokio::test]
async fn delivery_runs_the_handler_once_in_process() {
    let store = CountingStore::new(MemoryStore::new());
    let app = TestClient::new(app(store.clone()));
    // PaymentKit's sample of the type, as its typed object, under a fixed id.
    let delivery = sender(SECRET)
        .sample("payment_intent.succeeded")
        .unwrap()
        .with_id("evt_e2e_inproc");

    let first = app.deliver(&delivery).await.unwrap();
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.ran(), [FULFIL]);
    assert_eq!(runs("evt_e2e_inproc", "fulfil"), 1);

    let again = app.deliver(&delivery).await.unwrap();
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.already_done(), [FULFIL]);
    assert!(again.ran().is_empty());
    assert_eq!(
        runs("evt_e2e_inproc", "fulfil"),
        1,
        "a duplicate must not run again"
    );

    // A retry is freshly signed with a later timestamp: still the same event.
    let retry = sender(SECRET)
        .event("evt_e2e_inproc", "payment_intent.succeeded", INTENT)
        .at(SystemClock.unix_seconds() + 5);
    assert_eq!(
        app.send(retry.request().unwrap()).await.unwrap().status,
        StatusCode::OK
    );
    assert_eq!(runs("evt_e2e_inproc", "fulfil"), 1);
}

#[tokio::test]
async fn delivery_runs_the_handler_once_over_tcp() {
    let server = serve(app(CountingStore::new(MemoryStore::new())))
        .await
        .unwrap();
    let (client, addr) = (TcpClient::new(), server.addr());
    let delivery = sender(SECRET).event("evt_e2e_tcp", "payment_intent.succeeded", INTENT);
    for _ in 0..3 {
        let answer = client
            .send(addr, delivery.request().unwrap())
            .await
            .unwrap();
        assert_eq!(answer.status, StatusCode::OK);
    }
    assert_eq!(runs("evt_e2e_tcp", "fulfil"), 1);
}

#[tokio::test]
async fn unauthenticated_deliveries_are_401_and_touch_nothing() {
    let store = CountingStore::new(MemoryStore::new());
    let app = TestClient::new(app(store.clone()));
    let now = SystemClock.unix_seconds();
    let id = "evt_e2e_unauth";
    let good = sender(SECRET);
    let mut missing_header = good
        .event(id, "payment_intent.succeeded", INTENT)
        .request()
        .unwrap();
    missing_header.headers_mut().remove("x-webhook-signature");
    let cases = [
        (
            "wrong secret",
            sender("whsec_someone_else")
                .event(id, "payment_intent.succeeded", INTENT)
                .request()
                .unwrap(),
        ),
        ("missing header", missing_header),
        (
            "stale timestamp",
            good.event(id, "payment_intent.succeeded", INTENT)
                .at(now - 301)
                .request()
                .unwrap(),
        ),
        (
            "future timestamp",
            good.event(id, "payment_intent.succeeded", INTENT)
                .at(now + 301)
                .request()
                .unwrap(),
        ),
    ];
    for (case, request) in cases {
        let answer = app.send(request).await.unwrap();
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{case}");
        assert_eq!(
            answer.body, "unauthorized",
            "{case}: the reason goes to logs only"
        );
    }
    assert_eq!(runs(id, "fulfil"), 0);
    assert_eq!(
        store.calls(),
        0,
        "the store must not be contacted before authentication"
    );
}

#[tokio::test]
async fn unknown_event_type_is_200_and_runs_nothing() {
    let store = CountingStore::new(MemoryStore::new());
    let app = TestClient::new(app(store.clone()));
    let delivery = sender(SECRET).event("evt_e2e_unknown", "checkout.session.expired", "{}");
    let answer = app.send(delivery.request().unwrap()).await.unwrap();
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(store.calls(), 0);
    assert!(store.inner().is_empty());
}

#[tokio::test]
async fn handler_error_is_500_and_the_next_delivery_runs_it_again() {
    let store = CountingStore::new(MemoryStore::new());
    let app = TestClient::new(app(store.clone()));
    let delivery = sender(SECRET).event("evt_e2e_flaky", "invoice.payment_failed", "{}");

    assert_eq!(
        app.send(delivery.request().unwrap()).await.unwrap().status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(runs("evt_e2e_flaky", "fails_first_time"), 1);
    assert_eq!(
        store.inner().len(),
        1,
        "only the event's type record remains: the failed claim must be released"
    );

    assert_eq!(
        app.send(delivery.request().unwrap()).await.unwrap().status,
        StatusCode::OK
    );
    assert_eq!(runs("evt_e2e_flaky", "fails_first_time"), 2);

    assert_eq!(
        app.send(delivery.request().unwrap()).await.unwrap().status,
        StatusCode::OK
    );
    assert_eq!(
        runs("evt_e2e_flaky", "fails_first_time"),
        2,
        "completed: not run a third time"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_identical_deliveries_run_the_handler_exactly_once() {
    let server = serve(app(CountingStore::new(MemoryStore::new())))
        .await
        .unwrap();
    let (client, addr) = (TcpClient::new(), server.addr());
    let id = "evt_slow_e2e_fifty";
    let delivery = sender(SECRET).event(id, "payment_intent.succeeded", INTENT);
    let barrier = Arc::new(Barrier::new(50));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (client, barrier, request) = (
                client.clone(),
                Arc::clone(&barrier),
                delivery.request().unwrap(),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                let answer = client.send(addr, request).await.unwrap();
                // Read the run count the instant the answer arrives: a 2xx is only allowed
                // once the handler has completed.
                (answer, runs(id, "fulfil"))
            })
        })
        .collect();
    let mut statuses = HashMap::<StatusCode, usize>::new();
    for task in tasks {
        let (answer, runs_when_answered) = task.await.unwrap();
        if answer.status.is_success() {
            assert_eq!(
                runs_when_answered, 1,
                "2xx sent before the handler completed"
            );
        } else {
            assert_eq!(answer.status, StatusCode::CONFLICT);
            assert!(answer.retry_after.is_some(), "409 must carry Retry-After");
        }
        *statuses.entry(answer.status).or_default() += 1;
    }
    assert_eq!(runs(id, "fulfil"), 1, "statuses: {statuses:?}");
    assert!(
        statuses.get(&StatusCode::OK).copied().unwrap_or(0) >= 1,
        "{statuses:?}"
    );
    // After the winner completed, every later delivery is a 200 duplicate.
    assert_eq!(
        client
            .send(addr, delivery.request().unwrap())
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );
    assert_eq!(runs(id, "fulfil"), 1);
}

#[tokio::test]
async fn http_level_rejections_touch_nothing() {
    let store = CountingStore::new(MemoryStore::new());
    let app = TestClient::new(app(store.clone()));
    let delivery = sender(SECRET).event("evt_e2e_http", "payment_intent.succeeded", INTENT);

    let mut get = delivery.request().unwrap();
    *get.method_mut() = http::Method::GET;
    assert_eq!(
        app.send(get).await.unwrap().status,
        StatusCode::METHOD_NOT_ALLOWED
    );

    let mut text = delivery.request().unwrap();
    text.headers_mut()
        .insert(http::header::CONTENT_TYPE, "text/plain".parse().unwrap());
    assert_eq!(
        app.send(text).await.unwrap().status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );

    let mut gzip = delivery.request().unwrap();
    gzip.headers_mut()
        .insert(http::header::CONTENT_ENCODING, "gzip".parse().unwrap());
    assert_eq!(
        app.send(gzip).await.unwrap().status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );

    let mut charset = delivery.request().unwrap();
    charset.headers_mut().insert(
        http::header::CONTENT_TYPE,
        "Application/JSON; charset=utf-8".parse().unwrap(),
    );
    assert_eq!(app.send(charset).await.unwrap().status, StatusCode::OK);
    assert_eq!(runs("evt_e2e_http", "fulfil"), 1);
    let calls_after_valid = store.calls();

    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(1024 * 1024));
    let too_large = sender(SECRET).raw("evt_e2e_big", "payment_intent.succeeded", big);
    assert_eq!(
        app.send(too_large.request().unwrap()).await.unwrap().status,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    let not_an_object = sender(SECRET).raw("evt_e2e_arr", "payment_intent.succeeded", "[1,2]");
    assert_eq!(
        app.send(not_an_object.request().unwrap())
            .await
            .unwrap()
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        store.calls(),
        calls_after_valid,
        "rejected requests must not touch the store"
    );
}
