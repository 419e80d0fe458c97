//! Row H02 (and G07) of reliability.md section 3: with every log event of the process
//! captured (all levels, all crates), a sweep of valid, duplicate, hostile and failing
//! deliveries for every scheme leaves no secret, no full signature and no raw body in the
//! logs, in `Debug` output or in error messages; answers carry only small fixed bodies.
//!
//! Every other hostile suite captures its logs the same way and checks them at the end of
//! each test (`harness::assert_logs_clean`).

#[path = "hostile/harness.rs"]
mod harness;

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use webhook_core::test_util::TestSender;

use harness::{
    all_secrets, assert_logs_clean, body, cases, init, logs, now, router, send, start, store,
    unique, Key, BODY_MARKER, OBJECT, OK, PAIR, TYPED, UNKNOWN,
};
use webhook_axum::test::TcpClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_hold_secrets_signatures_or_bodies() {
    init();
    let cases = cases();
    let addr = start(router(&cases, &store(), |_, r| {
        r.handler_timeout(Duration::from_millis(200))
            .lease(Duration::from_secs(2))
            .body_limit(64 * 1024)
    }))
    .await;
    let client = TcpClient::new();
    for case in &cases {
        // Valid, duplicate, unknown type, conflicting type.
        let id = unique("plain", case);
        for _ in 0..2 {
            assert_eq!(
                send(&client, addr, case.delivery(&id, OK)).await.status,
                StatusCode::OK
            );
        }
        send(
            &client,
            addr,
            case.delivery(&unique("plain", case), UNKNOWN),
        )
        .await;
        // Handler failures of every kind; each reason is logged.
        for behaviour in ["fail", "perm", "panic", "hang"] {
            let answer = send(&client, addr, case.delivery(&unique(behaviour, case), OK)).await;
            assert!(answer.status.is_server_error(), "{} {behaviour}", case.name);
        }
        send(&client, addr, case.delivery(&unique("plain", case), PAIR)).await;
        // A payload the handler cannot decode: the decode error is logged, the payload not.
        // (A string in the wrong place is echoed by serde: see the ignored test below.)
        let typed = unique("plain", case);
        let bytes = body(&typed, TYPED, r#"{"amount":{"note":"BODYMARK"}}"#);
        send(&client, addr, case.signed(&typed, TYPED, bytes, now())).await;
        // Every malformed header variant, a wrong secret, a stale timestamp.
        let id = unique("plain", case);
        let bytes = Bytes::from(body(&id, OK, OBJECT));
        let valid = case.headers(Key::Current, &id, OK, &bytes, now());
        for (_, headers) in (case.corrupt)(&valid) {
            send(&client, addr, case.post(&headers, bytes.clone())).await;
        }
        let wrong = case.headers(Key::Wrong, &id, OK, &bytes, now());
        assert_eq!(
            send(&client, addr, case.post(&wrong, bytes.clone()))
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        let stale = case.headers(Key::Current, &id, OK, &bytes, now() - 3600);
        send(&client, addr, case.post(&stale, bytes.clone())).await;
        // Malformed and oversized bodies.
        for bad in [
            format!(r#"{{"type":"{OK}","note":"{BODY_MARKER}"}}"#),
            format!(r#"["{BODY_MARKER}"]"#),
            format!(r#"{{"id":"{id}","type":"{OK}","note":"{BODY_MARKER}"#),
            body(
                &id,
                OK,
                &format!(r#"{{"pad":"{}{BODY_MARKER}"}}"#, "x".repeat(70 * 1024)),
            ),
        ] {
            let bytes = Bytes::from(bad);
            let headers = case.headers_or_foreign(&id, OK, &bytes, now());
            let answer = send(&client, addr, case.post(&headers, bytes)).await;
            // (Schemes with the id in a header accept the first body.)
            assert!(!answer.status.is_server_error(), "{}", case.name);
        }
    }

    let captured = logs();
    // The capture works, and failures are explained in the logs (reasons only).
    for expected in [
        "rejected unauthenticated delivery",
        "rejected malformed event",
        "handler completed",
        "handler failed",
        "handler panicked",
        "handler timed out",
        "does not decode",
    ] {
        assert!(captured.contains(expected), "no log line says {expected:?}");
    }
    assert_logs_clean();
}

/// `Debug` output of everything that holds a secret or a body, and the text of every error a
/// delivery can produce, hold neither.
#[tokio::test]
async fn debug_output_and_errors_hold_no_secrets() {
    init();
    for case in cases() {
        let verifier = case.verifier();
        let builder = case.receiver().store(store());
        let builder_debug = format!("{builder:?}");
        let receiver = builder.build().unwrap();
        let id = unique("plain", &case);
        let bytes = Bytes::from(body(&id, OK, OBJECT));
        let valid = case.headers(Key::Current, &id, OK, &bytes, now());
        let mut texts = vec![
            format!("{verifier:?}"),
            format!("{receiver:?}"),
            builder_debug,
            format!(
                "{:?}",
                case.verifier_with(&case.verify, None, Duration::from_secs(300))
            ),
        ];
        let mut requests = vec![case.post(
            &case.headers(Key::Wrong, &id, OK, &bytes, now()),
            bytes.clone(),
        )];
        for (_, headers) in (case.corrupt)(&valid) {
            requests.push(case.post(&headers, bytes.clone()));
        }
        let malformed = Bytes::from(format!(r#"["{BODY_MARKER}"]"#));
        requests.push(case.post(
            &case.headers_or_foreign(&id, OK, &malformed, now()),
            malformed,
        ));
        for request in requests {
            let error = receiver.receive(request).await.unwrap_err();
            texts.push(format!("{error}"));
            texts.push(format!("{error:?}"));
        }
        // A padded secret's error does not echo the secret.
        let padded = format!(" {}", case.secrets[0]);
        texts.push(format!(
            "{:?}",
            case.verifier_with(&[&padded], None, Duration::from_secs(300))
        ));
        for text in &texts {
            for secret in all_secrets() {
                assert!(!text.contains(secret), "{}: {text}", case.name);
            }
            assert!(!text.contains(BODY_MARKER), "{}: {text}", case.name);
            for (_, value) in &valid {
                let value = value.to_str().unwrap_or_default();
                if value.len() >= 32 {
                    assert!(!text.contains(value), "{}: {text}", case.name);
                }
            }
        }
    }
    // The test sender used to produce signed deliveries does not print its key either.
    let sender = TestSender::new(
        webhook_core::signature::Stripe,
        "whsec_hostile_stripe_current_0123456789abcdef",
    )
    .unwrap();
    assert!(!format!("{sender:?}").contains("whsec_"));
}

/// serde's messages quote the offending value (`invalid type: string "…"`); the decode error of
/// `Event<T>` must not pass that on, or a handler failure would log a piece of the body.
#[tokio::test]
async fn decode_errors_do_not_echo_payload_values() {
    init();
    let cases = cases();
    let addr = start(router(&cases, &store(), |_, r| r)).await;
    let case = &cases[0];
    let id = unique("plain", case);
    let bytes = body(&id, TYPED, r#"{"amount":"BODYMARK"}"#);
    let answer = send(
        &TcpClient::new(),
        addr,
        case.signed(&id, TYPED, bytes, now()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_logs_clean();
}
