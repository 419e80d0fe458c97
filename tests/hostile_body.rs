//! Row C (body and parsing) of reliability.md section 3, for every scheme, through the real
//! server on 127.0.0.1: size limits by `Content-Length` and while streaming, content type and
//! encoding, unusable bodies, strict JSON with deep nesting, and wrong methods.

#[path = "hostile/harness.rs"]
mod harness;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use http::{HeaderValue, Method, StatusCode};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use harness::{
    assert_logs_clean, body, cases, init, now, raw, read_answer, router, runs, send, start, starts,
    store, unique, Case, Key, OBJECT, OK, TYPED,
};
use webhook_axum::test::TcpClient;

const LIMIT: usize = 1024 * 1024;

/// A valid event of exactly `size` bytes.
fn body_of_size(id: &str, size: usize) -> String {
    let empty = body(id, OK, r#"{"id":"obj_1","pad":""}"#);
    let pad = size
        .checked_sub(empty.len())
        .expect("size above the envelope");
    body(
        id,
        OK,
        &format!(r#"{{"id":"obj_1","pad":"{}"}}"#, "x".repeat(pad)),
    )
}

/// The request head of `case`'s route with authentication headers for some small delivery,
/// and `framing` (a `Content-Length` or `Transfer-Encoding` line).
fn head(case: &Case, framing: &str) -> Vec<u8> {
    let id = unique("plain", case);
    let small = Bytes::from(body(&id, OK, OBJECT));
    let headers = case.headers(Key::Current, &id, OK, &small, now());
    let mut out = format!(
        "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{framing}",
        case.path()
    )
    .into_bytes();
    for (name, value) in &headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[tokio::test]
async fn c03_content_length_over_the_limit_is_413_before_the_body_is_read() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    for case in &cases {
        for length in [LIMIT + 1, 10 * LIMIT, usize::MAX / 2] {
            // Only the head is sent: the answer cannot wait for (or hash) a body.
            let head = head(case, &format!("Content-Length: {length}\r\n"));
            let answer = raw(addr, &head).await.unwrap().expect("an answer");
            assert_eq!(
                answer.status,
                StatusCode::PAYLOAD_TOO_LARGE,
                "{} {length}",
                case.name
            );
        }
        // Not a number: the length cannot be trusted.
        let head = head(case, "Content-Length: lots\r\n");
        let answer = raw(addr, &head).await.unwrap().expect("an answer");
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", case.name);
    }
    assert_eq!(store.calls(), 0);
    assert_logs_clean();
}

#[tokio::test]
async fn c03_a_body_of_exactly_the_limit_is_accepted() {
    init();
    let cases = cases();
    let addr = start(router(&cases, &store(), |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("plain", case);
        let exact = body_of_size(&id, LIMIT);
        assert_eq!(exact.len(), LIMIT);
        let answer = send(&client, addr, case.signed(&id, OK, exact, now())).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", case.name);
        assert_eq!(runs(&id), 1);
    }
    assert_logs_clean();
}

/// Write a chunked body of `total` bytes in 64 KiB chunks, stopping at the first error (the
/// server may answer and close before the end).
async fn write_chunked(stream: &mut tokio::net::tcp::OwnedWriteHalf, body: &[u8]) {
    for chunk in body.chunks(64 * 1024) {
        let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        if stream.write_all(&frame).await.is_err() {
            return;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
}

async fn chunked(addr: SocketAddr, head: Vec<u8>, body: Vec<u8>) -> harness::RawAnswer {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        if write.write_all(&head).await.is_ok() {
            write_chunked(&mut write, &body).await;
        }
        write
    });
    let mut read = read.reunite(writer.await.unwrap()).unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(10), read_answer(&mut read))
        .await
        .expect("an answer within 10 s");
    answer.unwrap().expect("an answer")
}

#[tokio::test]
async fn c03b_a_chunked_body_growing_past_the_limit_is_413() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    for case in &cases {
        let head = head(case, "Transfer-Encoding: chunked\r\n");
        let answer = chunked(addr, head, vec![b' '; LIMIT + 256 * 1024]).await;
        assert_eq!(
            answer.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{}",
            case.name
        );
    }
    assert_eq!(store.calls(), 0);

    // The chunked path itself works: a signed chunked delivery within the limit is processed.
    for case in &cases {
        let id = unique("plain", case);
        let body = body_of_size(&id, 300 * 1024);
        let headers = case.headers(Key::Current, &id, OK, &Bytes::from(body.clone()), now());
        let mut head = format!(
            "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
            case.path()
        )
        .into_bytes();
        for (name, value) in &headers {
            head.extend_from_slice(
                &[name.as_str().as_bytes(), b": ", value.as_bytes(), b"\r\n"].concat(),
            );
        }
        head.extend_from_slice(b"\r\n");
        let answer = chunked(addr, head, body.into_bytes()).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", case.name);
        assert_eq!(runs(&id), 1, "{}", case.name);
    }
    assert_logs_clean();
}

/// C02: the connection closes after half the announced body. Nothing is processed or stored.
#[tokio::test]
async fn c02_a_truncated_body_is_never_processed() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    for case in &cases {
        let id = unique("plain", case);
        let full = case.delivery(&id, OK);
        let bytes = harness::wire(&full, false);
        let cut = bytes.len() - full.body().len() / 2;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(&bytes[..cut]).await.unwrap();
        stream.shutdown().await.unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(10), read_answer(&mut stream))
            .await
            .expect("closed or answered within 10 s");
        // Either the connection closes without an answer, or the half body is refused.
        if let Ok(Some(answer)) = answer {
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", case.name);
        }
        assert_eq!(starts(&id), 0, "{}", case.name);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(store.calls(), 0);
    assert_logs_clean();
}

/// 10,000 nested arrays, as a whole body or as the event's object.
fn deeply_nested() -> String {
    format!("{}{}", "[".repeat(10_000), "]".repeat(10_000))
}

/// C01, C04, C05, C12: authenticated bodies that are not a usable event are 400 (401 for the
/// component scheme when the body is not JSON at all, since it signs the parsed JSON).
#[tokio::test]
async fn c01_c04_c05_c12_unusable_bodies_are_400_and_touch_nothing() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("plain", case);
        let bodies: [(&str, Vec<u8>, bool); 8] = [
            ("C01 empty", Vec::new(), true),
            (
                "C04 10,000 nested arrays",
                deeply_nested().into_bytes(),
                false,
            ),
            (
                "C05 invalid UTF-8",
                [
                    br#"{"id":""#.as_slice(),
                    id.as_bytes(),
                    br#"","type":"hostile.ok","x":""#,
                    &[0xff, 0xfe],
                    br#""}"#,
                ]
                .concat(),
                false,
            ),
            ("C12 array", b"[1,2]".to_vec(), true),
            ("C12 string", br#""evt""#.to_vec(), true),
            ("C12 null", b"null".to_vec(), true),
            ("C12 number", b"42".to_vec(), true),
            (
                "trailing garbage",
                format!("{}garbage", body(&id, OK, OBJECT)).into_bytes(),
                false,
            ),
        ];
        for (label, bytes, is_json) in bodies {
            let bytes = Bytes::from(bytes);
            let headers = case.headers_or_foreign(&id, OK, &bytes, now());
            let answer = send(&client, addr, case.post(&headers, bytes)).await;
            let expected = if case.parses_body && !is_json {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::BAD_REQUEST
            };
            assert_eq!(answer.status, expected, "{}: {label}", case.name);
        }
        assert_eq!(starts(&id), 0);
    }
    assert_eq!(store.calls(), 0);
    assert_logs_clean();
}

/// C04 inside the event: the envelope is usable, but the object cannot be decoded within
/// serde_json's recursion limit. No stack overflow; the handler never runs; its claim is
/// released (a handler error: 500, per the pinned policy).
#[tokio::test]
async fn c04_deep_nesting_inside_the_object_is_refused_without_overflow() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("plain", case);
        let nested = Bytes::from(body(&id, OK, &deeply_nested()));
        let headers = case.headers_or_foreign(&id, OK, &nested, now());
        let answer = send(&client, addr, case.post(&headers, nested)).await;
        let expected = if case.parses_body {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        assert_eq!(answer.status, expected, "{}", case.name);
        assert_eq!(starts(&id), 0, "{}", case.name);
    }
    // Events that reached dispatch leave only their type record: every claim was released.
    let dispatched = cases.iter().filter(|case| !case.parses_body).count();
    assert_eq!(store.inner().len(), dispatched, "every claim was released");
    assert_logs_clean();
}

/// C11: numbers that do not fit the handler's `u64` never wrap: the handler is not called and
/// its claim is released (a handler error, 500). A value that fits is processed.
#[tokio::test]
async fn c11_out_of_range_numbers_do_not_wrap() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        for amount in [
            "18446744073709551616",
            "-1",
            "1e400",
            "1.5",
            r#""1000""#,
            "null",
        ] {
            let id = unique("plain", case);
            let object = format!(r#"{{"amount":{amount}}}"#);
            let bytes = Bytes::from(body(&id, TYPED, &object));
            let headers = case.headers_or_foreign(&id, TYPED, &bytes, now());
            let answer = send(&client, addr, case.post(&headers, bytes)).await;
            // The component scheme parses `1e400` itself before verifying and cannot.
            let expected = if case.parses_body && amount == "1e400" {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            assert_eq!(answer.status, expected, "{} amount {amount}", case.name);
            assert_eq!(runs(&id), 0, "{} amount {amount}", case.name);
        }
        let id = unique("plain", case);
        let fits = body(&id, TYPED, r#"{"amount":18446744073709551615}"#);
        let answer = send(&client, addr, case.signed(&id, TYPED, fits, now())).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", case.name);
        assert_eq!(runs(&id), 1);
    }
    // Per scheme: a type record for each delivery that reached dispatch (all six failures,
    // but `1e400` where the scheme rejects it first), and for the one that fits its type record
    // plus the handler's completion; the failed claims were all released.
    let expected: usize = cases
        .iter()
        .map(|case| if case.parses_body { 5 } else { 6 } + 2)
        .sum();
    assert_eq!(
        store.inner().len(),
        expected,
        "only type records and the completed events are recorded"
    );
    assert_logs_clean();
}

#[tokio::test]
async fn c06_c07_content_type_and_encoding() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        // C06: JSON with parameters or in capitals is accepted; so is a missing type.
        for content_type in [
            Some("application/json; charset=utf-8"),
            Some("APPLICATION/JSON"),
            Some("application/json;charset=UTF-8"),
            None,
        ] {
            let id = unique("plain", case);
            let mut request = case.delivery(&id, OK);
            match content_type {
                Some(value) => {
                    request
                        .headers_mut()
                        .insert(CONTENT_TYPE, HeaderValue::from_static(value));
                }
                None => {
                    request.headers_mut().remove(CONTENT_TYPE);
                }
            }
            let answer = send(&client, addr, request).await;
            assert_eq!(
                answer.status,
                StatusCode::OK,
                "{} {content_type:?}",
                case.name
            );
            assert_eq!(runs(&id), 1);
        }
        let calls = store.calls();
        // C06b: a present non-JSON type; C07: any content encoding.
        let id = unique("plain", case);
        for content_type in [
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded",
            "application/jsonp",
            "",
        ] {
            let mut request = case.delivery(&id, OK);
            request
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            let answer = send(&client, addr, request).await;
            assert_eq!(
                answer.status,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{} {content_type}",
                case.name
            );
        }
        for encoding in ["gzip", "deflate", "br", "identity"] {
            let mut request = case.delivery(&id, OK);
            request
                .headers_mut()
                .insert(CONTENT_ENCODING, HeaderValue::from_static(encoding));
            let answer = send(&client, addr, request).await;
            assert_eq!(
                answer.status,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{} {encoding}",
                case.name
            );
        }
        assert_eq!(store.calls(), calls, "{}: 415 touched the store", case.name);
        assert_eq!(starts(&id), 0);
    }
    assert_logs_clean();
}

/// C10: unknown fields, at the top and in the object, are ignored. H03: the exact bytes reach
/// the verifier (unusual whitespace and escapes stay as signed).
#[tokio::test]
async fn c10_unknown_fields_and_unusual_formatting_are_accepted() {
    init();
    let cases = cases();
    let addr = start(router(&cases, &store(), |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("plain", case);
        let body = format!(
            "{{ \"id\" : \"{id}\" ,\n\t\"type\":\"{OK}\", \"action\":\"ok\", \"future_field\": {{\"nested\": [1, 2.5e3, null]}},\r\n \"data\": {{\"object\": {{\"id\":\"obj_1\", \"caf\\u00e9\": \"\\ud83d\\ude00\", \"unknown\": true}}}} }}\n"
        );
        let answer = send(&client, addr, case.signed(&id, OK, body, now())).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", case.name);
        assert_eq!(runs(&id), 1);
    }
    assert_logs_clean();
}

#[tokio::test]
async fn c13_other_methods_are_405_and_touch_nothing() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    let client = TcpClient::new();
    for case in &cases {
        let id = unique("plain", case);
        for method in [
            Method::GET,
            Method::PUT,
            Method::HEAD,
            Method::OPTIONS,
            Method::DELETE,
            Method::PATCH,
        ] {
            let mut request = case.delivery(&id, OK);
            *request.method_mut() = method.clone();
            let answer = send(&client, addr, request).await;
            assert_eq!(
                answer.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{} {method}",
                case.name
            );
        }
        assert_eq!(starts(&id), 0);
    }
    assert_eq!(store.calls(), 0);
    assert_logs_clean();
}
