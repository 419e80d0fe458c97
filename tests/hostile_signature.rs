//! Rows A (signature and headers) and B (timestamp and replay) of reliability.md section 3,
//! for every scheme, through the real server on 127.0.0.1: every unauthenticated delivery is
//! 401 with a fixed body, no handler runs and the store is not contacted.

#[path = "hostile/harness.rs"]
mod harness;

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use webhook_core::ManualClock;

use harness::{
    assert_logs_clean, body, cases, init, now, raw, router, runs, send, start, store, unique, wire,
    Case, Key, OBJECT, OK, UNKNOWN,
};
use webhook_axum::test::TcpClient;

/// Send a delivery that must be refused as unauthenticated, and check that it was.
async fn refused(
    client: &TcpClient,
    addr: std::net::SocketAddr,
    case: &Case,
    label: &str,
    request: http::Request<Bytes>,
) {
    let answer = send(client, addr, request).await;
    if label.starts_with("A10b") && answer.status == StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE {
        // hyper's header limits answer first (100 header lines); the row allows it.
        return;
    }
    assert_eq!(
        answer.status,
        StatusCode::UNAUTHORIZED,
        "{}: {label}",
        case.name
    );
    assert_eq!(answer.body, "unauthorized", "{}: {label}", case.name);
}

#[tokio::test]
async fn malformed_signature_headers_are_401_and_touch_nothing() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("plain", case);
        let body = Bytes::from(body(&id, OK, OBJECT));
        let valid = case.headers(Key::Current, &id, OK, &body, now());

        // A01: no authentication headers at all.
        let mut bare = valid.clone();
        for name in case.auth_headers {
            bare.remove(*name);
        }
        refused(
            &client,
            addr,
            case,
            "A01 no headers",
            case.post(&bare, body.clone()),
        )
        .await;
        // A02–A06, A09, A10b, A12, B03, B04: the scheme's malformed variants.
        for (label, headers) in (case.corrupt)(&valid) {
            refused(
                &client,
                addr,
                case,
                label,
                case.post(&headers, body.clone()),
            )
            .await;
        }
        assert_eq!(runs(&id), 0, "{}", case.name);
        assert_eq!(store.calls(), 0, "{}: the store was contacted", case.name);
    }
    // The same deliveries, correctly signed, are processed: only the corruption was wrong.
    for case in &cases {
        let id = unique("plain", case);
        assert_eq!(
            send(&client, addr, case.delivery(&id, OK)).await.status,
            StatusCode::OK
        );
        assert_eq!(runs(&id), 1, "{}", case.name);
    }
    assert_logs_clean();
}

#[tokio::test]
async fn a07_wrong_secret_and_a19_another_schemes_signature_are_401() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    let client = TcpClient::new();
    for (index, case) in cases.iter().enumerate() {
        let id = unique("plain", case);
        let body = Bytes::from(body(&id, OK, OBJECT));
        let wrong = case.headers(Key::Wrong, &id, OK, &body, now());
        refused(
            &client,
            addr,
            case,
            "A07 wrong secret",
            case.post(&wrong, body.clone()),
        )
        .await;
        // A19: every other scheme's valid headers, sent to this scheme's route.
        for (other_index, other) in cases.iter().enumerate() {
            if other_index == index {
                continue;
            }
            let headers = other.headers(Key::Current, &id, OK, &body, now());
            refused(
                &client,
                addr,
                case,
                other.name,
                case.post(&headers, body.clone()),
            )
            .await;
        }
        assert_eq!(runs(&id), 0);
    }
    assert_eq!(store.calls(), 0);
    assert_logs_clean();
}

#[tokio::test]
async fn a08_a_body_changed_after_signing_is_401() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("plain", case);
        // Signed with a `\u00e9` escape, which a re-serialiser would write as `é`.
        let object = r#"{"id":"obj_1","amount":1000,"name":"caf\u00e9","note":"BODYMARK"}"#;
        let signed_body = body(&id, OK, object);
        let headers = case.headers(
            Key::Current,
            &id,
            OK,
            &Bytes::from(signed_body.clone()),
            now(),
        );
        let parsed: serde_json::Value = serde_json::from_str(&signed_body).unwrap();
        let variants = [
            (
                "pretty-printed",
                serde_json::to_string_pretty(&parsed).unwrap(),
            ),
            ("keys reordered", serde_json::to_string(&parsed).unwrap()),
            ("escape decoded", signed_body.replace(r"\u00e9", "é")),
            ("trailing newline", format!("{signed_body}\n")),
        ];
        for (label, changed) in variants {
            assert_ne!(changed, signed_body, "{label}");
            let answer = send(&client, addr, case.post(&headers, changed)).await;
            if case.raw_bytes {
                assert_eq!(
                    answer.status,
                    StatusCode::UNAUTHORIZED,
                    "{}: A08 {label}",
                    case.name
                );
            } else {
                // The component scheme signs the JSON's meaning, not its bytes (documented):
                // an equivalent re-serialisation is the same, authentic event.
                assert_eq!(answer.status, StatusCode::OK, "{}: A08 {label}", case.name);
            }
        }
        let expected_runs = usize::from(!case.raw_bytes);
        assert_eq!(runs(&id), expected_runs, "{}", case.name);
        // A changed value is never authentic, whatever the scheme signs.
        let tampered = signed_body.replace("1000", "9000");
        refused(
            &client,
            addr,
            case,
            "A08 value changed",
            case.post(&headers, tampered),
        )
        .await;
        assert_eq!(runs(&id), expected_runs, "{}", case.name);
    }
    assert_logs_clean();
}

#[tokio::test]
async fn a10_a_valid_signature_among_junk_is_accepted_once() {
    init();
    let cases = cases();
    let addr = start(router(&cases, &store(), |_, r| r)).await;
    let client = TcpClient::new();
    let mut checked = 0;
    for case in &cases {
        let Some(several) = case.several else {
            continue;
        };
        for position in 0..3 {
            let id = unique("plain", case);
            let body = Bytes::from(body(&id, OK, OBJECT));
            let valid = case.headers(Key::Current, &id, OK, &body, now());
            let headers = several(&valid, position);
            for _ in 0..2 {
                let answer = send(&client, addr, case.post(&headers, body.clone())).await;
                assert_eq!(answer.status, StatusCode::OK, "{} at {position}", case.name);
            }
            assert_eq!(runs(&id), 1, "{} at {position}", case.name);
            checked += 1;
        }
    }
    assert!(checked >= 9, "schemes with several signatures: {checked}");
    assert_logs_clean();
}

#[tokio::test]
async fn a11_rotation_accepts_the_old_key_only_while_it_is_configured() {
    init();
    let cases = cases();
    let both = store();
    let with_both = start(router(&cases, &both, |case, r| {
        r.verifier(
            case.verifier_with(&case.verify, None, Duration::from_secs(300))
                .unwrap(),
        )
    }))
    .await;
    let only_new = store();
    let with_new = start(router(&cases, &only_new, |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        for key in [Key::Current, Key::Old] {
            let id = unique("plain", case);
            let body = Bytes::from(body(&id, OK, OBJECT));
            let headers = case.headers(key, &id, OK, &body, now());
            let answer = send(&client, with_both, case.post(&headers, body.clone())).await;
            assert_eq!(answer.status, StatusCode::OK, "{} {key:?}", case.name);
            assert_eq!(runs(&id), 1);
            let expected = match key {
                Key::Current => StatusCode::OK,
                _ => StatusCode::UNAUTHORIZED,
            };
            let id = unique("plain", case);
            let body = Bytes::from(harness::body(&id, OK, OBJECT));
            let headers = case.headers(key, &id, OK, &body, now());
            let answer = send(&client, with_new, case.post(&headers, body)).await;
            assert_eq!(
                answer.status, expected,
                "{} {key:?} after removal",
                case.name
            );
            assert_eq!(runs(&id), usize::from(key == Key::Current));
        }
    }
    // Only the accepted deliveries reached the second store: a claim and a completion each, for
    // the event's type record and for the handler.
    assert_eq!(only_new.calls(), 4 * cases.len());
    assert_logs_clean();
}

#[tokio::test]
async fn a17_header_names_are_case_insensitive() {
    init();
    let cases = cases();
    let addr = start(router(&cases, &store(), |_, r| r)).await;
    for case in &cases {
        let id = unique("plain", case);
        let request = case.delivery(&id, OK);
        let bytes = wire(&request, true);
        assert!(bytes.windows(13).any(|w| w == b"CONTENT-TYPE:"));
        let answer = raw(addr, &bytes).await.unwrap().expect("an answer");
        assert_eq!(answer.status, StatusCode::OK, "{}", case.name);
        assert_eq!(runs(&id), 1, "{}", case.name);
    }
    assert_logs_clean();
}

/// Known-answer vectors (signing.md section 5.2) verify over the wire: the body is an event
/// of a type without a handler, so an authentic delivery is 200, and one flipped bit is 401.
#[tokio::test]
async fn a16_known_answer_vectors_verify_over_tcp() {
    use webhook_core::signature::{
        GitHub, PaymentKit, PaymentKitComponent, PaymentKitComponentV0, StandardWebhooks, Stripe,
        Verifier,
    };
    init();
    const BODY: &str = r#"{"id":"evt_test_123","type":"payment_intent.succeeded","data":{"object":{"id":"pi_123","amount":"1000"}}}"#;
    const T: i64 = 1_700_000_000;
    let clock = ManualClock::new(T);
    let receiver = |verifier: Verifier, store: &webhook_core::test_util::CountingStore| {
        webhook_core::Receiver::builder()
            .verifier(verifier)
            .store(store.clone())
            .build()
            .unwrap()
    };
    let store = store();
    // (path, verifier, headers)
    type Vector = (&'static str, Verifier, Vec<(&'static str, &'static str)>);
    let vectors: Vec<Vector> = vec![
        (
            "/kat/paymentkit",
            Verifier::builder(PaymentKit)
                .secret("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
                .clock(clock.clone())
                .build()
                .unwrap(),
            vec![("x-webhook-signature", "t=1700000000,v1=d58aed15d8fe1ceb279531b0af71825738e361674d052e503853d6a874a69f3d")],
        ),
        (
            "/kat/stripe",
            Verifier::builder(Stripe).secret("whsec_test_secret").clock(clock.clone()).build().unwrap(),
            vec![("stripe-signature", "t=1700000000,v1=26ca229d16828db17d12de291661792df473a04e3bac67803acd274033ff6725")],
        ),
        (
            "/kat/standard",
            Verifier::builder(StandardWebhooks)
                .secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
                .clock(clock.clone())
                .build()
                .unwrap(),
            vec![
                ("webhook-id", "msg_test_123"),
                ("webhook-timestamp", "1700000000"),
                ("webhook-signature", "v1,STcId6UBAyJg31hLOeRgT5s0ZWBqL9+GAlDUK1BCtq4="),
            ],
        ),
        (
            "/kat/github",
            Verifier::builder(GitHub).secret("gh_test_secret").clock(clock.clone()).build().unwrap(),
            vec![
                ("x-hub-signature-256", "sha256=85ab8a3acd167cc15e31d0f44e7355202e4df07b576bc4d11082cb188cbc26ff"),
                ("x-github-delivery", "kat-delivery-1"),
                ("x-github-event", "payment_intent"),
            ],
        ),
        (
            "/api/payment/callback",
            Verifier::builder(PaymentKitComponent)
                .secret("0x03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8")
                .clock(clock.clone())
                .build()
                .unwrap(),
            vec![
                ("x-component-sig", "0xbf12cf601b73c88ba0695021de648cab124205aa88a0c76af20f867e3065a40b73dc978045a348b93ccfe7ed1019a87646b9c43dcee02ff0cc37eef59b05890b"),
                ("x-component-sig-iat", "1700000000"),
                ("x-component-sig-exp", "1700000300"),
                ("x-component-sig-version", "1"),
            ],
        ),
        (
            // Version 0 signs the body alone, for any path.
            "/kat/component-v0",
            Verifier::builder(PaymentKitComponentV0)
                .secret("0x03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8")
                .clock(clock.clone())
                .build()
                .unwrap(),
            vec![
                ("x-component-sig", "0xe05f416915381aedbf682bf41c4f6bb6f82d05ae53c8ae48d3e45896d4eb06b351e43ab97be24f423fba680f9d6aaa019a1cb05aedff7d64b02459ab5c45ac0e"),
            ],
        ),
    ];
    let mut app = axum::Router::new();
    for (path, verifier, _) in &vectors {
        app = webhook_axum::RouterExt::webhook(app, path, receiver(verifier.clone(), &store));
    }
    let addr = start(app).await;
    let client = TcpClient::new();
    for (path, _, headers) in &vectors {
        let request = |headers: HeaderMap| {
            let mut request = http::Request::post(*path)
                .header("content-type", "application/json")
                .body(Bytes::from_static(BODY.as_bytes()))
                .unwrap();
            request.headers_mut().extend(headers);
            request
        };
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_static(value));
        }
        assert_eq!(
            send(&client, addr, request(map.clone())).await.status,
            StatusCode::OK,
            "{path}"
        );
        // Flip one bit of the signature value.
        let (name, value) = headers[0];
        let mut flipped = value.as_bytes().to_vec();
        let last = flipped.len() - 2;
        flipped[last] ^= 1;
        map.insert(name, HeaderValue::from_bytes(&flipped).unwrap());
        assert_eq!(
            send(&client, addr, request(map)).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    assert_eq!(store.calls(), 0, "no handler for the vectors' type");
}

/// B01, B02: the tolerance (300 s) is enforced exactly at both edges, in both directions.
/// Schemes without a signed timestamp accept any age (their replay barrier is B08).
#[tokio::test]
async fn b01_b02_the_tolerance_holds_at_both_edges() {
    init();
    let cases = cases();
    let base = now();
    let clock = ManualClock::new(base);
    let store = store();
    let addr = start(router(&cases, &store, |case, r| {
        r.verifier(
            case.verifier_with(
                &[case.verify[0]],
                Some(clock.clone()),
                Duration::from_secs(300),
            )
            .unwrap(),
        )
    }))
    .await;
    let client = TcpClient::new();
    for case in &cases {
        for (offset, inside) in [(-300, true), (-301, false), (300, true), (301, false)] {
            let id = unique("plain", case);
            let request = case.signed(&id, OK, body(&id, OK, OBJECT), base + offset);
            let answer = send(&client, addr, request).await;
            let expected = if inside || !case.timestamped {
                StatusCode::OK
            } else {
                StatusCode::UNAUTHORIZED
            };
            assert_eq!(answer.status, expected, "{} at now{offset:+}", case.name);
            assert_eq!(runs(&id), usize::from(expected == StatusCode::OK));
        }
    }
    assert_logs_clean();
}

/// B05 exact replay inside the tolerance: 200, not run again. B07 sender retry (new
/// timestamp, new signature): 200, not run again. B06 the exact replay after the tolerance:
/// 401 without touching the store; without a signed timestamp it stays a 200 no-op (B08).
#[tokio::test]
async fn b05_b06_b07_replays_and_retries() {
    init();
    let cases = cases();
    let base = now();
    let clock = ManualClock::new(base);
    let store = store();
    let addr = start(router(&cases, &store, |case, r| {
        r.verifier(
            case.verifier_with(
                &[case.verify[0]],
                Some(clock.clone()),
                Duration::from_secs(300),
            )
            .unwrap(),
        )
    }))
    .await;
    let client = TcpClient::new();
    let ids: Vec<String> = cases.iter().map(|case| unique("plain", case)).collect();
    let originals: Vec<_> = cases
        .iter()
        .zip(&ids)
        .map(|(case, id)| case.signed(id, OK, body(id, OK, OBJECT), base))
        .collect();
    for ((case, id), original) in cases.iter().zip(&ids).zip(&originals) {
        assert_eq!(
            send(&client, addr, original.clone()).await.status,
            StatusCode::OK
        );
        let replay = send(&client, addr, original.clone()).await;
        assert_eq!(replay.status, StatusCode::OK, "{} B05", case.name);
        let retry = case.signed(id, OK, body(id, OK, OBJECT), base + 5);
        assert_eq!(
            send(&client, addr, retry).await.status,
            StatusCode::OK,
            "{} B07",
            case.name
        );
        assert_eq!(runs(id), 1, "{}", case.name);
    }
    clock.advance(301);
    for ((case, id), original) in cases.iter().zip(&ids).zip(&originals) {
        let calls = store.calls();
        let replay = send(&client, addr, original.clone()).await;
        if case.timestamped {
            assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "{} B06", case.name);
            assert_eq!(
                store.calls(),
                calls,
                "{} B06: the store was contacted",
                case.name
            );
        } else {
            assert_eq!(replay.status, StatusCode::OK, "{} B08", case.name);
        }
        assert_eq!(runs(id), 1, "{}", case.name);
    }
    assert_logs_clean();
}

/// B08: without a signed timestamp, the idempotency record is the only replay barrier. A
/// replay inside the retention is a 200 no-op; once the record is purged, the same delivery
/// is processed again (documented in the GitHub scheme).
#[tokio::test]
async fn b08_unsigned_time_replay_is_barred_only_by_retention() {
    init();
    let cases: Vec<Case> = cases().into_iter().filter(|c| !c.timestamped).collect();
    assert!(!cases.is_empty());
    let store = store();
    let short = Duration::from_secs(1);
    let addr = start(router(&cases, &store, |case, r| {
        // Retention may not be shorter than the tolerance, which these schemes do not use.
        r.verifier(case.verifier_with(&[case.verify[0]], None, short).unwrap())
            .retention(short)
    }))
    .await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("plain", case);
        let delivery = case.delivery(&id, OK);
        assert_eq!(
            send(&client, addr, delivery.clone()).await.status,
            StatusCode::OK
        );
        assert_eq!(
            send(&client, addr, delivery.clone()).await.status,
            StatusCode::OK
        );
        assert_eq!(runs(&id), 1, "{}", case.name);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let purged = {
            use webhook_core::IdempotencyStore;
            store.inner().purge_expired().await.unwrap()
        };
        assert!(purged >= 1, "{}", case.name);
        assert_eq!(send(&client, addr, delivery).await.status, StatusCode::OK);
        assert_eq!(
            runs(&id),
            2,
            "{}: processed again after the purge",
            case.name
        );
    }
    assert_logs_clean();
}

/// An unknown type needs no store either: nothing to dedupe (D01, here for every scheme's
/// authenticated path).
#[tokio::test]
async fn authenticated_unknown_types_are_200_for_every_scheme() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("plain", case);
        assert_eq!(
            send(&client, addr, case.delivery(&id, UNKNOWN))
                .await
                .status,
            StatusCode::OK
        );
    }
    assert_eq!(store.calls(), 0);
}
