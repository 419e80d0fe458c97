//! `webhook_axum::test` and the `DeliveryReport` the route attaches when asked: which handlers
//! ran, in process; nothing of it on the wire.

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use http::{Request, StatusCode};
use webhook_axum::test::{serve, TcpClient, TestClient};
use webhook_axum::{DeliveryReport, ReportRequested, RouterExt};
use webhook_core::signature::PaymentKit;
use webhook_core::test_util::{receiver_builder, CountingStore, TestSender, TEST_SECRET};
use webhook_core::{on_event, Event, HandlerError, MemoryStore};

static FAILURES: AtomicUsize = AtomicUsize::new(0);

#[on_event("invoice.paid")]
async fn book_revenue(_event: Event) -> Result<(), HandlerError> {
    Ok(())
}

#[on_event("invoice.*")]
async fn audit_invoices(_event: Event) -> Result<(), HandlerError> {
    Ok(())
}

#[on_event("invoice.payment_failed")]
async fn fails_once(_event: Event) -> Result<(), HandlerError> {
    if FAILURES.fetch_add(1, Ordering::SeqCst) == 0 {
        return Err(HandlerError::msg("dunning service down"));
    }
    Ok(())
}

const BOOK: &str = "test_kit::book_revenue";
const AUDIT: &str = "test_kit::audit_invoices";
const FAILS_ONCE: &str = "test_kit::fails_once";

fn app(store: &CountingStore) -> Router {
    let receiver = receiver_builder().store(store.clone()).build().unwrap();
    Router::new().webhook("/hooks", receiver)
}

fn sender() -> TestSender<PaymentKit> {
    TestSender::new(PaymentKit, TEST_SECRET)
        .unwrap()
        .path("/hooks")
}

#[tokio::test]
async fn the_client_reports_which_handlers_ran_were_done_or_failed() {
    let store = CountingStore::new(MemoryStore::new());
    let client = TestClient::new(app(&store));
    let sender = sender();

    let paid = sender.sample("invoice.paid").unwrap();
    let answer = client.deliver(&paid).await.unwrap();
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.ran(), [AUDIT, BOOK]);
    assert!(answer.already_done().is_empty() && answer.failed().is_empty());
    // The report rides beside the body; the body is the route's usual one.
    assert_eq!(answer.body, "ok");

    let retry = client.deliver(&paid).await.unwrap();
    assert_eq!(retry.status, StatusCode::OK);
    assert!(retry.ran().is_empty());
    assert_eq!(retry.already_done(), [AUDIT, BOOK]);

    let failing = sender.sample("invoice.payment_failed").unwrap();
    let first = client.deliver(&failing).await.unwrap();
    assert_eq!(first.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(first.ran(), [AUDIT]);
    assert_eq!(first.failed(), [FAILS_ONCE]);
    assert_eq!(first.body, "handler failed");
    let second = client.deliver(&failing).await.unwrap();
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.ran(), [FAILS_ONCE]);
    assert_eq!(second.already_done(), [AUDIT]);
}

#[tokio::test]
async fn rejections_carry_an_empty_report_or_none() {
    let store = CountingStore::new(MemoryStore::new());
    let client = TestClient::new(app(&store));

    let forged = TestSender::new(PaymentKit, "whsec_forged")
        .unwrap()
        .path("/hooks")
        .sample("invoice.paid")
        .unwrap();
    let answer = client.deliver(&forged).await.unwrap();
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.report, Some(DeliveryReport::default()));
    assert_eq!(store.calls(), 0);

    // Refused by the adapter before the receiver: no report at all.
    let text = Request::post("/hooks")
        .header("content-type", "text/plain")
        .body(bytes::Bytes::from_static(b"{}"))
        .unwrap();
    let answer = client.send(text).await.unwrap();
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(answer.report.is_none());
    assert!(answer.ran().is_empty());
}

#[tokio::test]
async fn only_a_request_that_asks_gets_a_report() {
    use tower::ServiceExt;

    let store = CountingStore::new(MemoryStore::new());
    let app = app(&store);
    let sender = sender();
    let send =
        |request: Request<bytes::Bytes>| app.clone().oneshot(request.map(axum::body::Body::from));

    let paid = sender.sample("invoice.paid").unwrap();
    let plain = send(paid.request().unwrap()).await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert!(plain.extensions().get::<DeliveryReport>().is_none());

    // As a tower layer would ask, around the route: the retry reports both handlers done.
    let mut asking = paid.request().unwrap();
    asking.extensions_mut().insert(ReportRequested);
    let answer = send(asking).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let report = answer
        .extensions()
        .get::<DeliveryReport>()
        .expect("asked for");
    assert!(report.ran().is_empty());
    assert_eq!(report.already_done(), [AUDIT, BOOK]);
}

#[tokio::test]
async fn over_tcp_the_wire_answer_is_unchanged_and_carries_no_report() {
    let store = CountingStore::new(MemoryStore::new());
    let server = serve(app(&store)).await.unwrap();
    let delivery = sender().sample("invoice.paid").unwrap();

    let answer = server.deliver(&delivery).await.unwrap();
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "ok");
    assert!(answer.report.is_none());

    // Any client, any address: the same retry is a duplicate, 200 again.
    let again = TcpClient::new()
        .deliver(server.addr(), &delivery)
        .await
        .unwrap();
    assert_eq!(again.status, StatusCode::OK);

    let addr = server.addr();
    server.shutdown().await.unwrap();
    assert!(TcpClient::new().deliver(addr, &delivery).await.is_err());
}
