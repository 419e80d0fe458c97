//! Row G (transport and resource exhaustion) of reliability.md section 3, and graceful
//! shutdown (F10), against `webhook_axum::Server` on 127.0.0.1 with raw sockets where the
//! client must misbehave.

#[path = "hostile/harness.rs"]
mod harness;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Barrier;

use harness::{
    assert_logs_clean, cases, init, read_answer, router, runs, send, slow_peak, start, start_with,
    starts, store, try_send, unique, wait_for_runs, wire, OK,
};
use webhook_axum::test::TcpClient;

/// Wait until the server closes `stream` (read returns 0 or fails), at most `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

/// G01: a client that sends part of a request head and then nothing is cut off after the
/// header-read timeout (`axum::serve` never would: it installs no timer). So is one that
/// dribbles its head a byte at a time, and one that sends nothing at all.
#[tokio::test]
async fn g01_slow_header_clients_are_cut_off() {
    init();
    let cases = cases();
    let running = start_with(router(&cases, &store(), |_, r| r), |server| {
        server.header_read_timeout(Duration::from_millis(200))
    })
    .await;
    let addr = running.addr();

    let mut partial = TcpStream::connect(addr).await.unwrap();
    partial
        .write_all(b"POST /x HTTP/1.1\r\nHost: a\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut partial, Duration::from_secs(5)).await,
        "partial head kept open"
    );

    let mut dribble = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let mut cut_off = false;
    for byte in b"POST /hooks/paymentkit HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: "
        .iter()
        .cycle()
    {
        if dribble.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        if started.elapsed() > Duration::from_secs(5) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        cut_off || closed_within(&mut dribble, Duration::from_millis(100)).await,
        "a head dribbled a byte at a time kept the connection open"
    );

    let mut silent = TcpStream::connect(addr).await.unwrap();
    assert!(
        closed_within(&mut silent, Duration::from_secs(5)).await,
        "a silent connection kept open"
    );

    // Too few bytes to tell HTTP/1 from HTTP/2: the protocol detection must not wait forever.
    for prefix in [b"P".as_slice(), b"PRI * HTTP/2.0\r\n"] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(prefix).await.unwrap();
        assert!(
            closed_within(&mut stream, Duration::from_secs(5)).await,
            "{prefix:?} kept open"
        );
    }

    // The server still serves well-behaved clients.
    let case = &cases[0];
    let id = unique("plain", case);
    assert_eq!(
        send(&TcpClient::new(), addr, case.delivery(&id, OK))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(runs(&id), 1);
    assert_logs_clean();
}

/// G02: headers complete, body at a few bytes a second: 408 after the body time limit;
/// nothing is processed or stored.
#[tokio::test]
async fn g02_a_slow_body_is_408() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| {
        r.body_timeout(Duration::from_millis(300))
    }))
    .await;
    for case in &cases {
        let id = unique("plain", case);
        let bytes = wire(&case.delivery(&id, OK), false);
        let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut read, mut write) = stream.into_split();
        let body = bytes[head_end..].to_vec();
        write.write_all(&bytes[..head_end]).await.unwrap();
        let writer = tokio::spawn(async move {
            for byte in body {
                if write.write_all(&[byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let mut buf = Vec::new();
        let answer = tokio::time::timeout(Duration::from_secs(5), async {
            let mut chunk = [0u8; 1024];
            loop {
                let n = read.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
        .await
        .expect("an answer within 5 s");
        writer.abort();
        assert!(
            answer.starts_with("HTTP/1.1 408"),
            "{}: {answer}",
            case.name
        );
        assert_eq!(starts(&id), 0);
    }
    assert_eq!(store.calls(), 0);
    assert_logs_clean();
}

/// G03: a header block above hyper's limit is refused with 431.
#[tokio::test]
async fn g03_an_oversized_header_block_is_431() {
    init();
    let cases = cases();
    let store = store();
    let addr = start(router(&cases, &store, |_, r| r)).await;
    let case = &cases[0];
    let id = unique("plain", case);
    let mut request = case.delivery(&id, OK);
    request
        .headers_mut()
        .insert("x-padding", "a".repeat(512 * 1024).parse().unwrap());
    let answer = harness::raw(addr, &wire(&request, false))
        .await
        .unwrap()
        .expect("an answer");
    assert_eq!(answer.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(store.calls(), 0);
    assert_logs_clean();
}

/// G04: beyond the in-flight limit, deliveries are shed with 503 and `Retry-After` instead of
/// queueing; the admitted ones run once, the shed ones not at all until redelivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn g04_deliveries_beyond_the_in_flight_limit_are_shed_with_503() {
    init();
    let cases = cases();
    let addr = start(router(&cases, &store(), |_, r| r.max_in_flight(2))).await;
    let client = TcpClient::new();
    for case in &cases {
        let ids: Vec<String> = (0..10).map(|_| unique("slow", case)).collect();
        let barrier = Arc::new(Barrier::new(ids.len()));
        let tasks: Vec<_> = ids
            .iter()
            .map(|id| {
                let (client, barrier, request) =
                    (client.clone(), Arc::clone(&barrier), case.delivery(id, OK));
                tokio::spawn(async move {
                    barrier.wait().await;
                    send(&client, addr, request).await
                })
            })
            .collect();
        let mut shed = Vec::new();
        let mut admitted = 0;
        for (id, task) in ids.iter().zip(tasks) {
            let answer = task.await.unwrap();
            match answer.status {
                StatusCode::OK => {
                    admitted += 1;
                    assert_eq!(runs(id), 1);
                }
                StatusCode::SERVICE_UNAVAILABLE => {
                    assert!(
                        answer.retry_after.is_some(),
                        "{}: 503 without Retry-After",
                        case.name
                    );
                    assert_eq!(starts(id), 0);
                    shed.push(id);
                }
                other => panic!("{}: unexpected {other}", case.name),
            }
        }
        assert!(admitted >= 1, "{}: nothing was admitted", case.name);
        assert!(!shed.is_empty(), "{}: nothing was shed", case.name);
        for id in shed {
            assert_eq!(
                send(&client, addr, case.delivery(id, OK)).await.status,
                StatusCode::OK
            );
            assert_eq!(runs(id), 1);
        }
    }
    assert!(slow_peak() <= 2, "{} handlers ran at once", slow_peak());
    assert_logs_clean();
}

/// F10, first half: on shutdown the server stops accepting, and an in-flight delivery still
/// gets its 200 after its handler completed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f10_graceful_shutdown_finishes_in_flight_deliveries() {
    init();
    let cases = cases();
    let mut running = start_with(router(&cases, &store(), |_, r| r), |server| {
        server.shutdown_grace(Duration::from_secs(10))
    })
    .await;
    let addr = running.addr();
    let case = &cases[0];
    let id = unique("nap", case);
    let in_flight = tokio::spawn({
        let request = case.delivery(&id, OK);
        async move { send(&TcpClient::new(), addr, request).await }
    });
    tokio::time::timeout(Duration::from_secs(5), async {
        while starts(&id) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("handler started");
    running.stop();
    let refused = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if TcpStream::connect(addr).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(refused.is_ok(), "new connections are still accepted");
    let answer = in_flight.await.unwrap();
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(runs(&id), 1);
    tokio::time::timeout(Duration::from_secs(5), running.shutdown())
        .await
        .expect("shutdown finished")
        .unwrap();
    assert_logs_clean();
}

/// F10, second half: when the grace period ends first and the process (here: its runtime)
/// goes away, the in-flight delivery is abandoned cleanly: no 2xx, nothing completed, and a
/// redelivery to a new instance on the same store processes it exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f10_abandoned_deliveries_are_redelivered_and_run_once() {
    init();
    let shared = store();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server_store = shared.clone();
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let cases = cases();
            let app = router(&cases, &server_store, |_, r| {
                r.lease(Duration::from_secs(3))
                    .handler_timeout(Duration::from_secs(2))
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            webhook_axum::Server::new(listener, app)
                .shutdown_grace(Duration::from_millis(100))
                .run_until(async move {
                    let _ = stop_rx.await;
                })
                .await
                .unwrap();
        });
        // The process ends: every task still running is dropped.
        drop(runtime);
    });
    let addr = addr_rx.recv().unwrap();
    let cases = cases();
    let case = &cases[0];
    let id = unique("nap", case);
    let in_flight = tokio::spawn({
        let request = case.delivery(&id, OK);
        async move { try_send(&TcpClient::new(), addr, request).await }
    });
    tokio::time::timeout(Duration::from_secs(5), async {
        while starts(&id) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("handler started");
    stop_tx.send(()).unwrap();
    tokio::task::spawn_blocking(move || server.join().unwrap())
        .await
        .unwrap();
    let answer = in_flight.await.unwrap();
    assert!(
        !matches!(&answer, Ok(a) if a.status.is_success()),
        "an abandoned delivery was acknowledged"
    );
    assert_eq!(runs(&id), 0, "the handler was abandoned before finishing");

    // A new instance on the same store: 409 while the abandoned claim's lease is live (unless
    // it was released), then processed exactly once.
    let addr = start(router(&cases, &shared, |_, r| r)).await;
    let client = TcpClient::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = send(&client, addr, case.delivery(&id, OK)).await;
        match answer.status {
            StatusCode::OK => break,
            StatusCode::CONFLICT => {
                assert!(Instant::now() < deadline, "claim stuck past its lease");
            }
            other => panic!("unexpected {other}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(wait_for_runs(&id, 1, Duration::from_secs(1)).await);
    assert_eq!(runs(&id), 1);
    assert_eq!(
        send(&client, addr, case.delivery(&id, OK)).await.status,
        StatusCode::OK
    );
    assert_eq!(runs(&id), 1);
    assert_logs_clean();
}

/// Reading a raw answer works on a kept-alive connection too (two deliveries, one socket).
#[tokio::test]
async fn keep_alive_connections_serve_several_deliveries() {
    init();
    let cases = cases();
    let addr = start(router(&cases, &store(), |_, r| r)).await;
    let case = &cases[0];
    let mut stream = TcpStream::connect(addr).await.unwrap();
    for _ in 0..2 {
        let id = unique("plain", case);
        stream
            .write_all(&wire(&case.delivery(&id, OK), false))
            .await
            .unwrap();
        let answer = read_answer(&mut stream).await.unwrap().expect("an answer");
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(runs(&id), 1);
    }
}
