//! Shared by the hostile-delivery suites (reliability.md section 3): the table of signature
//! schemes, observable handlers, a server on 127.0.0.1 and HTTP clients (the test kit's,
//! `webhook_axum::test`, with the answer checks of row G07), a raw HTTP client, and log
//! capture with the hygiene checks of row H02.
//!
//! Each test binary includes this file as a module, so each has its own copy of the handlers
//! and of the `inventory` registry.

// Each binary uses a subset of the harness.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex, Once};
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use webhook_axum::test::{serve_with, Answer, TcpClient, TestServer};
use webhook_axum::{RouterExt, Server};
use webhook_core::signature::{
    ConfigError, GitHub, PaymentKit, PaymentKitComponent, PaymentKitComponentV0, Scheme, SignError,
    StandardWebhooks, Stripe, Verifier,
};
use webhook_core::test_util::CountingStore;
use webhook_core::test_util::TestSender;
use webhook_core::{
    on_event, Clock, Delivery, Event, HandlerError, IdempotencyStore, ManualClock, MemoryStore,
    Receiver, ReceiverBuilder, SystemClock,
};

/// The event type every observed handler listens to.
pub(crate) const OK: &str = "hostile.ok";
/// An event type with a typed payload (`amount: u64`).
pub(crate) const TYPED: &str = "hostile.typed";
/// An event type whose handler keeps the newest `created` per object (row D08, D10).
pub(crate) const VERSIONED: &str = "hostile.versioned";
/// An event type whose handler fulfils once per business key (row D09).
pub(crate) const CHARGE: &str = "hostile.charge";
/// An event type no handler listens to.
pub(crate) const UNKNOWN: &str = "hostile.unknown";

/// Marks the bodies the harness builds, so a log line holding body content is easy to spot.
pub(crate) const BODY_MARKER: &str = "BODYMARK";

/// The object of an ordinary delivery.
pub(crate) const OBJECT: &str = r#"{"id":"obj_1","amount":1000,"note":"BODYMARK"}"#;

// ---------------------------------------------------------------------------------------------
// Logs (H02)
// ---------------------------------------------------------------------------------------------

static LOGS: LazyLock<Mutex<Vec<u8>>> = LazyLock::new(Mutex::default);
/// Every full signature the harness produced, normalised (see [`normalise`]).
static SIGNATURES: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Mutex::default);

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        lock(&LOGS).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Capture every log event of the process, at every level, from now on. Call first in every
/// test.
pub(crate) fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| Capture)
            .init();
    });
}

/// Everything logged so far.
pub(crate) fn logs() -> String {
    String::from_utf8_lossy(&lock(&LOGS)).into_owned()
}

/// Row H02: no secret, no full signature and no raw body in anything logged so far.
///
/// # Panics
/// When the logs hold one.
pub(crate) fn assert_logs_clean() {
    let logs = logs();
    for secret in all_secrets() {
        assert!(!logs.contains(secret), "a secret was logged");
    }
    assert!(
        !logs.contains(BODY_MARKER),
        "body content was logged: {}",
        logs.lines()
            .find(|l| l.contains(BODY_MARKER))
            .unwrap_or_default()
    );
    let signatures = lock(&SIGNATURES);
    for line in logs.lines() {
        // A raw body would make a long line; ours are short.
        assert!(
            line.len() < 2048,
            "overlong log line: {}...",
            line.chars().take(200).collect::<String>()
        );
        for token in line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/')) {
            if token.len() >= 16 {
                assert!(
                    !signatures.contains(&normalise(token)),
                    "a full signature was logged: {line}"
                );
            }
        }
    }
}

/// Signatures are compared without a `0x` prefix or base64 padding.
fn normalise(text: &str) -> String {
    let text = text
        .strip_prefix("0x")
        .unwrap_or(text)
        .trim_end_matches('=');
    text.to_owned()
}

fn remember_signatures(headers: &[(HeaderName, HeaderValue)]) {
    let mut signatures = lock(&SIGNATURES);
    for (_, value) in headers {
        let Ok(text) = value.to_str() else { continue };
        for part in text.split([',', '=', ' ']) {
            if part.len() >= 32 {
                signatures.insert(normalise(part));
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

static STARTS: LazyLock<Mutex<HashMap<String, usize>>> = LazyLock::new(Mutex::default);
static RUNS: LazyLock<Mutex<HashMap<String, usize>>> = LazyLock::new(Mutex::default);
static LATEST: LazyLock<Mutex<HashMap<String, (i64, String)>>> = LazyLock::new(Mutex::default);
static AGES: LazyLock<Mutex<HashMap<String, i64>>> = LazyLock::new(Mutex::default);
static FULFILLED: LazyLock<Mutex<HashMap<String, usize>>> = LazyLock::new(Mutex::default);

fn bump(map: &Mutex<HashMap<String, usize>>, id: &str) -> usize {
    let mut map = lock(map);
    let count = map.entry(id.to_owned()).or_default();
    *count += 1;
    *count
}

fn read(map: &Mutex<HashMap<String, usize>>, id: &str) -> usize {
    lock(map).get(id).copied().unwrap_or(0)
}

/// How often a handler ran to completion for event `id` (any handler, any namespace).
pub(crate) fn runs(id: &str) -> usize {
    read(&RUNS, id)
}

/// How often a handler was started for event `id`.
pub(crate) fn starts(id: &str) -> usize {
    read(&STARTS, id)
}

/// Wait (bounded) until event `id` has completed `count` runs.
pub(crate) async fn wait_for_runs(id: &str, count: usize, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if runs(id) >= count {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    runs(id) >= count
}

static SLOW_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static SLOW_PEAK: AtomicUsize = AtomicUsize::new(0);

/// The most `slow` handlers that ever ran at once in this process.
pub(crate) fn slow_peak() -> usize {
    SLOW_PEAK.load(Ordering::SeqCst)
}

/// The handler behaves according to the first `_`-separated word of the event id:
/// `slow` sleeps 300 ms, `nap` 1 s, `hang` 30 s on its first attempt; `panic`, `fail`
/// (retryable) and `perm` (permanent) fail their first attempt, `slowfail` after 300 ms;
/// anything else succeeds at once.
/// A run is counted only when the handler reaches its end.
async fn behave(id: &str) -> Result<(), HandlerError> {
    let attempt = bump(&STARTS, id);
    match id.split('_').next().unwrap_or_default() {
        "slow" => {
            let now = SLOW_IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
            SLOW_PEAK.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(300)).await;
            SLOW_IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        }
        "slowfail" => {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if attempt == 1 {
                return Err(HandlerError::msg("downstream unavailable"));
            }
        }
        "nap" => tokio::time::sleep(Duration::from_secs(1)).await,
        "hang" if attempt == 1 => tokio::time::sleep(Duration::from_secs(30)).await,
        "panic" if attempt == 1 => panic!("handler panicked on purpose"),
        "fail" if attempt == 1 => return Err(HandlerError::msg("downstream unavailable")),
        "perm" if attempt == 1 => return Err(HandlerError::permanent("cannot ever work")),
        _ => {}
    }
    bump(&RUNS, id);
    Ok(())
}

#[on_event("hostile.ok", unchecked)]
async fn observed(event: Event) -> Result<(), HandlerError> {
    behave(event.id()).await
}

/// The event type with two handlers: `pair_steady` always succeeds, `pair_flaky` fails its
/// first attempt. Runs are counted under `<id>/steady` and `<id>/flaky`.
pub(crate) const PAIR: &str = "hostile.pair";

#[on_event("hostile.pair", unchecked)]
async fn pair_steady(event: Event) -> Result<(), HandlerError> {
    bump(&RUNS, &format!("{}/steady", event.id()));
    Ok(())
}

#[on_event("hostile.pair", unchecked)]
async fn pair_flaky(event: Event) -> Result<(), HandlerError> {
    let key = format!("{}/flaky", event.id());
    if bump(&STARTS, &key) == 1 {
        return Err(HandlerError::msg("flaky dependency"));
    }
    bump(&RUNS, &key);
    Ok(())
}

/// Every `conflict.*` type goes to one handler, so one claim key sees several types (D05).
#[on_event("conflict.*", unchecked)]
async fn conflicted(event: Event) -> Result<(), HandlerError> {
    bump(&RUNS, event.id());
    Ok(())
}

/// The path of the first handler for `event_type`, as claims record it.
pub(crate) fn handler_path(event_type: &str) -> &'static str {
    let registry = webhook_core::Registry::from_inventory().expect("valid registry");
    let path = registry
        .handlers_for(event_type)
        .next()
        .expect("a handler")
        .path();
    path
}

#[derive(Debug, Deserialize)]
struct Typed {
    amount: u64,
}

#[on_event("hostile.typed", unchecked)]
async fn typed(event: Event<Typed>) -> Result<(), HandlerError> {
    // Only reached when the amount decoded as a u64.
    let _ = event.object().amount;
    bump(&RUNS, event.id());
    Ok(())
}

#[derive(Debug, Deserialize)]
struct Versioned {
    id: String,
    status: String,
}

/// Keeps the newest state per object: an older event arriving later changes nothing.
#[on_event("hostile.versioned", unchecked)]
async fn versioned(event: Event<Versioned>, delivery: Delivery) -> Result<(), HandlerError> {
    let created = event
        .created()
        .ok_or_else(|| HandlerError::permanent("no creation time"))?;
    lock(&AGES).insert(
        event.id().to_owned(),
        (delivery.received_at() - created).whole_seconds(),
    );
    let object = event.object();
    let mut latest = lock(&LATEST);
    let newer = latest
        .get(&object.id)
        .is_none_or(|(seen, _)| created.unix_timestamp() > *seen);
    if newer {
        latest.insert(
            object.id.clone(),
            (created.unix_timestamp(), object.status.clone()),
        );
    }
    drop(latest);
    bump(&RUNS, event.id());
    Ok(())
}

/// The newest status recorded for object `id`.
pub(crate) fn latest_status(object: &str) -> Option<String> {
    lock(&LATEST).get(object).map(|(_, status)| status.clone())
}

/// How old event `id` was (received minus created, in seconds) when its handler saw it.
pub(crate) fn age_seen(id: &str) -> Option<i64> {
    lock(&AGES).get(id).copied()
}

#[derive(Debug, Deserialize)]
struct Charge {
    payment: String,
}

/// Fulfils once per payment, whichever event announces it (row D09).
#[on_event("hostile.charge", unchecked)]
async fn charge(event: Event<Charge>) -> Result<(), HandlerError> {
    let payment = &event.object().payment;
    let mut fulfilled = lock(&FULFILLED);
    let first = !fulfilled.contains_key(payment);
    *fulfilled.entry(payment.clone()).or_default() += usize::from(first);
    drop(fulfilled);
    bump(&RUNS, event.id());
    Ok(())
}

/// How often payment `id` was fulfilled.
pub(crate) fn fulfilled(payment: &str) -> usize {
    read(&FULFILLED, payment)
}

/// A fresh event id: `<behaviour>_<scheme>_<n>` (no `.`, which Standard Webhooks refuses).
pub(crate) fn unique(behaviour: &str, case: &Case) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{behaviour}_{}_{}",
        case.name,
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// A PaymentKit/Stripe-shaped event body. The part of the type after its first `.` is also
/// sent as `action`, which GitHub appends to `X-GitHub-Event` to form the event type.
pub(crate) fn body(id: &str, event_type: &str, object: &str) -> String {
    let action = event_type
        .split_once('.')
        .map(|(_, action)| format!(r#""action":"{action}","#))
        .unwrap_or_default();
    format!(
        r#"{{"id":"{id}","object":"event","type":"{event_type}",{action}"livemode":false,"created_at":"2023-11-14T22:13:20.000Z","data":{{"object":{object}}}}}"#
    )
}

/// Now, in Unix seconds.
pub(crate) fn now() -> i64 {
    SystemClock.unix_seconds()
}

// ---------------------------------------------------------------------------------------------
// The scheme table
// ---------------------------------------------------------------------------------------------

/// Where a scheme takes the event id from, for row D03.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdSource {
    /// The body's `id`.
    Body,
    /// A header, which must be present to verify at all.
    Header(&'static str),
}

/// Signs deliveries for one scheme with one key.
pub(crate) trait Sign: Send + Sync {
    /// The authentication headers for this delivery.
    fn sign(
        &self,
        id: &str,
        event_type: &str,
        body: &Bytes,
        at: i64,
        path: &str,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, SignError>;
}

impl<S: Scheme> Sign for TestSender<S> {
    fn sign(
        &self,
        id: &str,
        event_type: &str,
        body: &Bytes,
        at: i64,
        path: &str,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, SignError> {
        self.clone()
            .path(path)
            .raw(id, event_type, body.clone())
            .at(at)
            .headers()
    }
}

type MakeVerifier = Box<
    dyn Fn(&[&str], Option<ManualClock>, Duration) -> Result<Verifier, ConfigError> + Send + Sync,
>;

/// Which key signs a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    /// The key the receiver verifies with.
    Current,
    /// The previous key, accepted only while both are configured (row A11).
    Old,
    /// A key the receiver never knew (row A07).
    Wrong,
}

/// One signature scheme and the rows of section 3 that apply to it.
pub(crate) struct Case {
    /// The scheme's name, also its route (`/hooks/<name>`) and idempotency namespace.
    pub(crate) name: &'static str,
    /// The verification secret (or public key) and the previous one.
    pub(crate) verify: [&'static str; 2],
    /// Every secret (signing and verifying) of the case, for the log checks.
    pub(crate) secrets: &'static [&'static str],
    make_verifier: MakeVerifier,
    current: Box<dyn Sign>,
    old: Box<dyn Sign>,
    wrong: Box<dyn Sign>,
    /// The scheme signs a timestamp: rows B01, B02, B06 apply (otherwise B08).
    pub(crate) timestamped: bool,
    /// The signature covers the raw bytes (row A08). The component scheme signs the parsed
    /// JSON instead, so re-serialisation keeps it valid.
    pub(crate) raw_bytes: bool,
    /// The scheme parses the body as JSON to verify it, so a non-JSON body is 401, not 400.
    pub(crate) parses_body: bool,
    /// Row D03.
    pub(crate) id_source: IdSource,
    /// Every header the scheme authenticates with (row A01 removes them).
    pub(crate) auth_headers: &'static [&'static str],
    /// Rows A02–A06, A09, A10b, B03, B04: malformed variants of valid headers.
    pub(crate) corrupt: fn(&HeaderMap) -> Vec<(&'static str, HeaderMap)>,
    /// Row A10: the valid signature at position 0, 1 or 2 among junk, when the scheme takes
    /// several signatures.
    pub(crate) several: Option<fn(&HeaderMap, usize) -> HeaderMap>,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

fn signer<S: Scheme + Copy>(scheme: S, secret: &str) -> Box<dyn Sign> {
    Box::new(TestSender::new(scheme, secret).expect("usable signing secret"))
}

fn make_verifier<S: Scheme + Copy>(scheme: S) -> MakeVerifier {
    Box::new(move |secrets, clock, tolerance| {
        let mut builder = Verifier::builder(scheme).tolerance(tolerance);
        for secret in secrets {
            builder = builder.secret(secret);
        }
        if let Some(clock) = clock {
            builder = builder.clock(clock);
        }
        builder.build()
    })
}

impl Case {
    /// The route and signed path.
    pub(crate) fn path(&self) -> String {
        format!("/hooks/{}", self.name)
    }

    /// A verifier with `secrets`, `clock` (system clock when `None`) and `tolerance`.
    pub(crate) fn verifier_with(
        &self,
        secrets: &[&str],
        clock: Option<ManualClock>,
        tolerance: Duration,
    ) -> Result<Verifier, ConfigError> {
        (self.make_verifier)(secrets, clock, tolerance)
    }

    /// A verifier with the current key, the system clock and the default tolerance.
    pub(crate) fn verifier(&self) -> Verifier {
        self.verifier_with(&[self.verify[0]], None, Duration::from_secs(300))
            .expect("valid verifier")
    }

    /// A receiver builder with this case's verifier and namespace.
    pub(crate) fn receiver(&self) -> ReceiverBuilder {
        Receiver::builder()
            .verifier(self.verifier())
            .namespace(self.name)
    }

    /// The authentication headers for a delivery signed with `key`.
    pub(crate) fn try_headers(
        &self,
        key: Key,
        id: &str,
        event_type: &str,
        body: &Bytes,
        at: i64,
    ) -> Result<HeaderMap, SignError> {
        let signer = match key {
            Key::Current => &self.current,
            Key::Old => &self.old,
            Key::Wrong => &self.wrong,
        };
        let pairs = signer.sign(id, event_type, body, at, &self.path())?;
        remember_signatures(&pairs);
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(name, value);
        }
        Ok(headers)
    }

    /// As [`Case::try_headers`], for inputs every scheme can sign.
    pub(crate) fn headers(
        &self,
        key: Key,
        id: &str,
        event_type: &str,
        body: &Bytes,
        at: i64,
    ) -> HeaderMap {
        self.try_headers(key, id, event_type, body, at)
            .expect("signable delivery")
    }

    /// As [`Case::headers`]; when the scheme cannot sign `body` (the component scheme signs
    /// parsed JSON), the headers of another, valid body: just as unauthentic for `body`.
    pub(crate) fn headers_or_foreign(
        &self,
        id: &str,
        event_type: &str,
        body: &Bytes,
        at: i64,
    ) -> HeaderMap {
        self.try_headers(Key::Current, id, event_type, body, at)
            .unwrap_or_else(|_| self.headers(Key::Current, id, event_type, &Bytes::from("{}"), at))
    }

    /// A `POST` to this case's route with a JSON content type and `headers`.
    pub(crate) fn post(&self, headers: &HeaderMap, body: impl Into<Bytes>) -> Request<Bytes> {
        let mut request = Request::post(self.path())
            .header(CONTENT_TYPE, "application/json")
            .body(body.into())
            .expect("request");
        for (name, value) in headers {
            request.headers_mut().append(name, value.clone());
        }
        request
    }

    /// A delivery of `body` signed with the current key at `at`.
    pub(crate) fn signed(
        &self,
        id: &str,
        event_type: &str,
        body: impl Into<Bytes>,
        at: i64,
    ) -> Request<Bytes> {
        let body = body.into();
        let headers = self.headers(Key::Current, id, event_type, &body, at);
        self.post(&headers, body)
    }

    /// An ordinary valid delivery of event `id` with type `event_type`, signed now.
    pub(crate) fn delivery(&self, id: &str, event_type: &str) -> Request<Bytes> {
        self.signed(id, event_type, body(id, event_type, OBJECT), now())
    }
}

fn set(headers: &HeaderMap, name: &'static str, value: impl AsRef<[u8]>) -> HeaderMap {
    let mut headers = headers.clone();
    headers.insert(
        name,
        HeaderValue::from_bytes(value.as_ref()).expect("header value"),
    );
    headers
}

fn without(headers: &HeaderMap, name: &'static str) -> HeaderMap {
    let mut headers = headers.clone();
    headers.remove(name);
    headers
}

fn text(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .expect("signed header")
        .to_owned()
}

/// The signature with one bit of its value flipped: the last hex digit, or the first base64
/// character (the last one of a padded value also holds padding bits).
fn flip_bit(signature: &str) -> String {
    const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bytes = signature.as_bytes().to_vec();
    if bytes.iter().all(u8::is_ascii_hexdigit) {
        let last = bytes.len() - 1;
        let digit = char::from(bytes[last]).to_digit(16).expect("hex") ^ 1;
        bytes[last] = u8::try_from(char::from_digit(digit, 16).expect("hex")).expect("ascii");
    } else {
        let index = BASE64.iter().position(|&c| c == bytes[0]).expect("base64");
        bytes[0] = BASE64[index ^ 1];
    }
    String::from_utf8(bytes).expect("ascii")
}

/// A 64-hex-digit value that is a well-formed but wrong HMAC-SHA256 signature.
const JUNK_HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const JUNK_B64: &str = "ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8=";

// --- PaymentKit and Stripe: `t=<unix>,v1=<hex>` ---------------------------------------------

fn timestamped_parts(headers: &HeaderMap, name: &str) -> (String, String) {
    let value = text(headers, name);
    let (t, v1) = value.split_once(",v1=").expect("t=..,v1=..");
    (t.strip_prefix("t=").expect("t=").to_owned(), v1.to_owned())
}

fn corrupt_timestamped(headers: &HeaderMap, name: &'static str) -> Vec<(&'static str, HeaderMap)> {
    let (t, sig) = timestamped_parts(headers, name);
    let h = |value: String| set(headers, name, value);
    let later = t.parse::<i64>().expect("digits") + 1;
    let junk_many = format!("t={t}{}", format!(",v1={JUNK_HEX}").repeat(1000));
    let junk_big = format!("t={t},v1={}", "a".repeat(64 * 1024));
    vec![
        ("A02 empty header", h(String::new())),
        (
            "A03 prose",
            h("I'm not even a real signature header".into()),
        ),
        ("A03 t= without a value", h(format!("t=,v1={sig}"))),
        ("A03 tab inside", h(format!("t={t},\tv1={sig}"))),
        ("A03 space after comma", h(format!("t={t}, v1={sig}"))),
        ("A03 empty item", h(format!("t={t},,v1={sig}"))),
        (
            "A03 bytes that are not visible ASCII",
            set(
                headers,
                name,
                [b"t=1,v1=".as_slice(), &[0x80, 0xff, 0xfe]].concat(),
            ),
        ),
        ("A04 no t=", h(format!("v1={sig}"))),
        ("A04 no v1=", h(format!("t={t}"))),
        ("A04 only v0=", h(format!("t={t},v0={sig}"))),
        ("A04 only unknown v9=", h(format!("t={t},v9={sig}"))),
        (
            "A06 signature truncated to 8 digits",
            h(format!("t={t},v1={}", &sig[..8])),
        ),
        (
            "A06 signature with an extra digit",
            h(format!("t={t},v1={sig}0")),
        ),
        (
            "A06 one bit flipped",
            h(format!("t={t},v1={}", flip_bit(&sig))),
        ),
        ("A09 timestamp + 1", h(format!("t={later},v1={sig}"))),
        ("A10b 1,000 junk signatures", h(junk_many)),
        ("A10b 64 KiB header", h(junk_big)),
        ("A12 duplicate t=", h(format!("t={t},t={t},v1={sig}"))),
        (
            "B03 timestamp with a suffix",
            h(format!("t={t}abc,v1={sig}")),
        ),
        ("B03 timestamp with a sign", h(format!("t=+{t},v1={sig}"))),
        ("B04 negative timestamp", h(format!("t=-{t},v1={sig}"))),
        (
            "B04 overflowing timestamp",
            h(format!("t=99999999999999999999999,v1={sig}")),
        ),
    ]
}

fn several_timestamped(headers: &HeaderMap, name: &'static str, at: usize) -> HeaderMap {
    let (t, sig) = timestamped_parts(headers, name);
    let mut list = vec![JUNK_HEX.to_owned(), flip_bit(&sig)];
    list.insert(at, sig);
    let value = list.iter().map(|s| format!(",v1={s}")).collect::<String>();
    set(headers, name, format!("t={t}{value},v0={JUNK_HEX}"))
}

const PAYMENTKIT_HEADER: &str = "x-webhook-signature";
const STRIPE_HEADER: &str = "stripe-signature";

// --- Standard Webhooks -----------------------------------------------------------------------

const STD_ID: &str = "webhook-id";
const STD_TS: &str = "webhook-timestamp";
const STD_SIG: &str = "webhook-signature";

fn corrupt_standard(headers: &HeaderMap) -> Vec<(&'static str, HeaderMap)> {
    let value = text(headers, STD_SIG);
    let sig = value.strip_prefix("v1,").expect("v1,").to_owned();
    let t = text(headers, STD_TS);
    let id = text(headers, STD_ID);
    let h = |value: String| set(headers, STD_SIG, value);
    let junk_many = format!("v1,{JUNK_B64} ").repeat(1000);
    let junk_big = format!("v1,{}", "A".repeat(64 * 1024));
    vec![
        ("A01 no webhook-id", without(headers, STD_ID)),
        ("A01 no webhook-timestamp", without(headers, STD_TS)),
        ("A02 empty header", h(String::new())),
        (
            "A03 prose",
            h("I'm not even a real signature header".into()),
        ),
        (
            "A03 bytes that are not visible ASCII",
            set(
                headers,
                STD_SIG,
                [b"v1,".as_slice(), &[0x80, 0xff]].concat(),
            ),
        ),
        ("A03 empty webhook-timestamp", set(headers, STD_TS, "")),
        ("A05 v1, with an empty signature", h("v1,".into())),
        ("A05 v1 without a comma", h("v1".into())),
        ("A05 unknown version only", h(format!("v2,{sig}"))),
        (
            "A05 v1a (ed25519) with an HMAC value",
            h(format!("v1a,{sig}")),
        ),
        (
            "A06 signature truncated to 8 characters",
            h(format!("v1,{}", &sig[..8])),
        ),
        (
            "A06 signature with an extra character",
            h(format!("v1,{sig}A")),
        ),
        (
            "A06 base64 without padding",
            h(format!("v1,{}", sig.trim_end_matches('='))),
        ),
        ("A06 one bit flipped", h(format!("v1,{}", flip_bit(&sig)))),
        (
            "A09 another webhook-id",
            set(headers, STD_ID, format!("{id}x")),
        ),
        ("A09 id with a dot", set(headers, STD_ID, format!("{id}.x"))),
        (
            "A09 timestamp + 1",
            set(
                headers,
                STD_TS,
                (t.parse::<i64>().expect("digits") + 1).to_string(),
            ),
        ),
        ("A10b 1,000 junk signatures", h(junk_many)),
        ("A10b 64 KiB header", h(junk_big)),
        (
            "B03 timestamp with a suffix",
            set(headers, STD_TS, format!("{t}abc")),
        ),
        (
            "B04 negative timestamp",
            set(headers, STD_TS, format!("-{t}")),
        ),
        (
            "B04 overflowing timestamp",
            set(headers, STD_TS, "99999999999999999999999"),
        ),
    ]
}

fn several_standard(headers: &HeaderMap, at: usize) -> HeaderMap {
    let value = text(headers, STD_SIG);
    let sig = value.strip_prefix("v1,").expect("v1,").to_owned();
    let mut list = vec![format!("v1,{JUNK_B64}"), format!("v1,{}", flip_bit(&sig))];
    list.insert(at, value);
    list.push(format!("v2,{JUNK_B64}"));
    set(headers, STD_SIG, list.join(" "))
}

// --- GitHub ----------------------------------------------------------------------------------

const GH_SIG: &str = "x-hub-signature-256";
const GH_SHA1: &str = "x-hub-signature";
const GH_DELIVERY: &str = "x-github-delivery";
const GH_EVENT: &str = "x-github-event";

fn corrupt_github(headers: &HeaderMap) -> Vec<(&'static str, HeaderMap)> {
    let value = text(headers, GH_SIG);
    let sig = value.strip_prefix("sha256=").expect("sha256=").to_owned();
    let h = |value: String| set(headers, GH_SIG, value);
    let mut many = headers.clone();
    for _ in 0..1000 {
        many.append(
            GH_SIG,
            HeaderValue::from_str(&format!("sha256={JUNK_HEX}")).expect("value"),
        );
    }
    vec![
        ("A01 only the legacy SHA-1 header", without(headers, GH_SIG)),
        ("A01 no X-GitHub-Event", without(headers, GH_EVENT)),
        ("A02 empty header", h(String::new())),
        (
            "A03 prose",
            h("I'm not even a real signature header".into()),
        ),
        (
            "A03 bytes that are not visible ASCII",
            set(
                headers,
                GH_SIG,
                [b"sha256=".as_slice(), &[0x80, 0xff]].concat(),
            ),
        ),
        ("A03 sha256= without a value", h("sha256=".into())),
        ("A03 no sha256= prefix", h(sig.clone())),
        (
            "A04 SHA-1 value in the SHA-256 header",
            h(text(headers, GH_SHA1)),
        ),
        (
            "A06 signature truncated to 8 digits",
            h(format!("sha256={}", &sig[..8])),
        ),
        (
            "A06 signature with an extra digit",
            h(format!("sha256={sig}0")),
        ),
        (
            "A06 one bit flipped",
            h(format!("sha256={}", flip_bit(&sig))),
        ),
        ("A10b 1,000 junk signature headers", many),
        (
            "A10b 64 KiB header",
            h(format!("sha256={}", "a".repeat(64 * 1024))),
        ),
        (
            "event name with a dot",
            set(headers, GH_EVENT, "hostile.ok"),
        ),
    ]
}

fn several_github(headers: &HeaderMap, at: usize) -> HeaderMap {
    let value = text(headers, GH_SIG);
    let sig = value.strip_prefix("sha256=").expect("sha256=").to_owned();
    let mut list = vec![
        format!("sha256={JUNK_HEX}"),
        format!("sha256={}", flip_bit(&sig)),
    ];
    list.insert(at, value);
    let mut headers = without(headers, GH_SIG);
    for value in list {
        headers.append(GH_SIG, HeaderValue::from_str(&value).expect("value"));
    }
    headers
}

// --- PaymentKit component signature ----------------------------------------------------------

const C_SIG: &str = "x-component-sig";
const C_IAT: &str = "x-component-sig-iat";
const C_EXP: &str = "x-component-sig-exp";
const C_VERSION: &str = "x-component-sig-version";

fn corrupt_component(headers: &HeaderMap) -> Vec<(&'static str, HeaderMap)> {
    let value = text(headers, C_SIG);
    let sig = value.strip_prefix("0x").expect("0x").to_owned();
    let iat = text(headers, C_IAT).parse::<i64>().expect("digits");
    let exp = text(headers, C_EXP).parse::<i64>().expect("digits");
    let h = |value: String| set(headers, C_SIG, value);
    vec![
        ("A01 no iat", without(headers, C_IAT)),
        ("A01 no exp", without(headers, C_EXP)),
        ("A02 empty header", h(String::new())),
        (
            "A03 prose",
            h("I'm not even a real signature header".into()),
        ),
        (
            "A03 bytes that are not visible ASCII",
            set(headers, C_SIG, [b"0x".as_slice(), &[0x80, 0xff]].concat()),
        ),
        ("A03 0x without digits", h("0x".into())),
        ("A04 unknown version", set(headers, C_VERSION, "2")),
        ("A04 legacy version 0", set(headers, C_VERSION, "0")),
        (
            "A06 signature truncated to 8 digits",
            h(format!("0x{}", &sig[..8])),
        ),
        ("A06 signature with an extra digit", h(format!("0x{sig}0"))),
        ("A06 one bit flipped", h(format!("0x{}", flip_bit(&sig)))),
        ("A09 iat + 1", set(headers, C_IAT, (iat + 1).to_string())),
        ("A09 exp + 1", set(headers, C_EXP, (exp + 1).to_string())),
        (
            "A09 exp before iat",
            set(headers, C_EXP, (iat - 1).to_string()),
        ),
        (
            "A10b 64 KiB header",
            h(format!("0x{}", "a".repeat(64 * 1024))),
        ),
        (
            "B03 iat with a suffix",
            set(headers, C_IAT, format!("{iat}abc")),
        ),
        ("B04 negative iat", set(headers, C_IAT, format!("-{iat}"))),
    ]
}

/// The legacy component signature (body only, no timestamp headers).
fn corrupt_component_v0(headers: &HeaderMap) -> Vec<(&'static str, HeaderMap)> {
    let value = text(headers, C_SIG);
    let sig = value.strip_prefix("0x").expect("0x").to_owned();
    let h = |value: String| set(headers, C_SIG, value);
    vec![
        ("A02 empty header", h(String::new())),
        (
            "A03 prose",
            h("I'm not even a real signature header".into()),
        ),
        (
            "A03 bytes that are not visible ASCII",
            set(headers, C_SIG, [b"0x".as_slice(), &[0x80, 0xff]].concat()),
        ),
        ("A03 0x without digits", h("0x".into())),
        ("A04 unknown version", set(headers, C_VERSION, "2")),
        // Claiming version 1 makes it a version-1 signature, which this one is not.
        ("A04 claims version 1", set(headers, C_VERSION, "1")),
        (
            "A06 signature truncated to 8 digits",
            h(format!("0x{}", &sig[..8])),
        ),
        ("A06 signature with an extra digit", h(format!("0x{sig}0"))),
        ("A06 one bit flipped", h(format!("0x{}", flip_bit(&sig)))),
        (
            "A10b 64 KiB header",
            h(format!("0x{}", "a".repeat(64 * 1024))),
        ),
    ]
}

// Secrets. Standard Webhooks secrets are base64 of 32 bytes; component keys are ed25519 seeds
// (signing) and the matching public keys (verifying).
const PK_SECRETS: &[&str] = &[
    "whsec_hostile_paymentkit_current_0123456789",
    "whsec_hostile_paymentkit_previous_0123456789",
    "whsec_hostile_paymentkit_unknown_0123456789",
];
const STRIPE_SECRETS: &[&str] = &[
    "whsec_hostile_stripe_current_0123456789abcdef",
    "whsec_hostile_stripe_previous_0123456789abcdef",
    "whsec_hostile_stripe_unknown_0123456789abcdef",
];
const STD_SECRETS: &[&str] = &[
    "whsec_BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
    "whsec_CAgICAgICAgICAgICAgICAgICAgICAgICAgICAg=",
    "whsec_CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=",
];
const GH_SECRETS: &[&str] = &[
    "hostile github current secret 0123456789",
    "hostile github previous secret 0123456789",
    "hostile github unknown secret 0123456789",
];
/// Signing seeds; the verifying keys are in [`COMPONENT_PUBLIC`].
const COMPONENT_SEEDS: &[&str] = &[
    "0x0101010101010101010101010101010101010101010101010101010101010101",
    "0x0202020202020202020202020202020202020202020202020202020202020202",
    "0x0303030303030303030303030303030303030303030303030303030303030303",
];
const COMPONENT_V0_SEEDS: &[&str] = &[
    "0x0404040404040404040404040404040404040404040404040404040404040404",
    "0x0505050505050505050505050505050505050505050505050505050505050505",
    "0x0606060606060606060606060606060606060606060606060606060606060606",
];
const COMPONENT_V0_PUBLIC: [&str; 2] = [
    "0xca93ac1705187071d67b83c7ff0efe8108e8ec4530575d7726879333dbdabe7c",
    "0x6e7a1cdd29b0b78fd13af4c5598feff4ef2a97166e3ca6f2e4fbfccd80505bf1",
];
const COMPONENT_PUBLIC: [&str; 2] = [
    "0x8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
    "0x8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394",
];

/// The secrets of the known-answer vectors (signing.md section 5).
const KAT_SECRETS: &[&str] = &[
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    "whsec_test_secret",
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "gh_test_secret",
];

/// Every secret in the table and the vectors (public keys are not secret).
pub(crate) fn all_secrets() -> impl Iterator<Item = &'static str> {
    [
        PK_SECRETS,
        STRIPE_SECRETS,
        STD_SECRETS,
        GH_SECRETS,
        COMPONENT_SEEDS,
        COMPONENT_V0_SEEDS,
        KAT_SECRETS,
    ]
    .into_iter()
    .flatten()
    .copied()
    // The seeds are also checked without their `0x`.
    .chain(
        COMPONENT_SEEDS
            .iter()
            .chain(COMPONENT_V0_SEEDS)
            .map(|s| &s[2..]),
    )
}

/// The rows that differ between schemes.
struct Rows {
    timestamped: bool,
    raw_bytes: bool,
    parses_body: bool,
    id_source: IdSource,
    auth_headers: &'static [&'static str],
    corrupt: fn(&HeaderMap) -> Vec<(&'static str, HeaderMap)>,
    several: Option<fn(&HeaderMap, usize) -> HeaderMap>,
}

fn case<S: Scheme + Copy>(
    scheme: S,
    name: &'static str,
    verify: [&'static str; 2],
    secrets: &'static [&'static str],
    rows: &Rows,
) -> Case {
    Case {
        name,
        verify,
        secrets,
        make_verifier: make_verifier(scheme),
        current: signer(scheme, secrets[0]),
        old: signer(scheme, secrets[1]),
        wrong: signer(scheme, secrets[2]),
        timestamped: rows.timestamped,
        raw_bytes: rows.raw_bytes,
        parses_body: rows.parses_body,
        id_source: rows.id_source,
        auth_headers: rows.auth_headers,
        corrupt: rows.corrupt,
        several: rows.several,
    }
}

/// Every scheme of `webhook_core::signature`, one entry each.
pub(crate) fn cases() -> Vec<Case> {
    vec![
        case(
            PaymentKit,
            "paymentkit",
            [PK_SECRETS[0], PK_SECRETS[1]],
            PK_SECRETS,
            &Rows {
                timestamped: true,
                raw_bytes: true,
                parses_body: false,
                id_source: IdSource::Body,
                auth_headers: &[PAYMENTKIT_HEADER],
                corrupt: |h| corrupt_timestamped(h, PAYMENTKIT_HEADER),
                several: Some(|h, at| several_timestamped(h, PAYMENTKIT_HEADER, at)),
            },
        ),
        case(
            Stripe,
            "stripe",
            [STRIPE_SECRETS[0], STRIPE_SECRETS[1]],
            STRIPE_SECRETS,
            &Rows {
                timestamped: true,
                raw_bytes: true,
                parses_body: false,
                id_source: IdSource::Body,
                auth_headers: &[STRIPE_HEADER],
                corrupt: |h| corrupt_timestamped(h, STRIPE_HEADER),
                several: Some(|h, at| several_timestamped(h, STRIPE_HEADER, at)),
            },
        ),
        case(
            StandardWebhooks,
            "standard-webhooks",
            [STD_SECRETS[0], STD_SECRETS[1]],
            STD_SECRETS,
            &Rows {
                timestamped: true,
                raw_bytes: true,
                parses_body: false,
                id_source: IdSource::Header(STD_ID),
                auth_headers: &[STD_ID, STD_TS, STD_SIG],
                corrupt: corrupt_standard,
                several: Some(several_standard),
            },
        ),
        case(
            GitHub,
            "github",
            [GH_SECRETS[0], GH_SECRETS[1]],
            GH_SECRETS,
            &Rows {
                timestamped: false,
                raw_bytes: true,
                parses_body: false,
                id_source: IdSource::Header(GH_DELIVERY),
                auth_headers: &[GH_SIG, GH_SHA1, GH_DELIVERY, GH_EVENT],
                corrupt: corrupt_github,
                several: Some(several_github),
            },
        ),
        case(
            PaymentKitComponent,
            "paymentkit-component",
            COMPONENT_PUBLIC,
            COMPONENT_SEEDS,
            &Rows {
                timestamped: true,
                raw_bytes: false,
                parses_body: true,
                id_source: IdSource::Body,
                auth_headers: &[C_SIG, C_IAT, C_EXP, C_VERSION],
                corrupt: corrupt_component,
                several: None,
            },
        ),
        case(
            PaymentKitComponentV0,
            "paymentkit-component-v0",
            COMPONENT_V0_PUBLIC,
            COMPONENT_V0_SEEDS,
            &Rows {
                timestamped: false,
                raw_bytes: false,
                parses_body: true,
                id_source: IdSource::Body,
                auth_headers: &[C_SIG],
                corrupt: corrupt_component_v0,
                several: None,
            },
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------------------------

/// A router with one receiver per case at its path, all on `store` (namespaced per case).
/// `configure` adjusts each case's receiver.
pub(crate) fn router<S: IdempotencyStore + Clone>(
    cases: &[Case],
    store: &S,
    configure: impl Fn(&Case, ReceiverBuilder) -> ReceiverBuilder,
) -> Router {
    let mut router = Router::new();
    for case in cases {
        let receiver = configure(case, case.receiver().store(store.clone()))
            .build()
            .expect("valid receiver");
        router = router.webhook(&case.path(), receiver);
    }
    router
}

/// Serve `router` with [`webhook_axum::Server`] on a fresh port of 127.0.0.1; `configure`
/// sets its limits.
pub(crate) async fn start_with(
    router: Router,
    configure: impl FnOnce(Server) -> Server,
) -> TestServer {
    serve_with(router, configure).await.expect("bind 127.0.0.1")
}

/// Serve `router` with the default server limits until the test ends.
pub(crate) async fn start(router: Router) -> SocketAddr {
    start_with(router, |server| server).await.detach()
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

/// The small fixed bodies the adapter answers with (row G07); empty for Axum's 405 and
/// hyper's own answers.
const FIXED_BODIES: &[&str] = &[
    "",
    "ok",
    "unauthorized",
    "bad request",
    "event in progress",
    "event id conflict",
    "handler timed out",
    "handler failed",
    "temporarily unavailable",
    "payload too large",
    "unsupported media type",
    "request timeout",
];

/// Row G07 for every answer: never 3xx or 410, a fixed small body, and `Retry-After` is
/// at least 1 when present.
pub(crate) fn check_answer(status: StatusCode, body: &[u8], retry_after: Option<&str>) {
    assert!(
        !status.is_redirection() && status != StatusCode::GONE,
        "forbidden status {status}"
    );
    let text = std::str::from_utf8(body).expect("utf-8 body");
    assert!(
        FIXED_BODIES.contains(&text),
        "unexpected body for {status}: {text:.100}"
    );
    if let Some(retry_after) = retry_after {
        let seconds: u64 = retry_after.parse().expect("Retry-After in seconds");
        assert!(seconds >= 1, "Retry-After: {retry_after}");
    }
}

/// Send `request` (whose URI is a path) to `addr` and check the answer (row G07); `Err`
/// when the connection failed.
pub(crate) async fn try_send(
    client: &TcpClient,
    addr: SocketAddr,
    request: Request<Bytes>,
) -> Result<Answer, webhook_axum::test::Error> {
    let answer = client.send(addr, request).await?;
    check_answer(answer.status, &answer.body, answer.retry_after.as_deref());
    Ok(answer)
}

/// Send `request` to `addr` over TCP and check the answer (row G07).
///
/// # Panics
/// When the connection fails.
pub(crate) async fn send(client: &TcpClient, addr: SocketAddr, request: Request<Bytes>) -> Answer {
    try_send(client, addr, request)
        .await
        .expect("request over TCP")
}

/// A response read off a raw socket.
#[derive(Debug)]
pub(crate) struct RawAnswer {
    /// The status.
    pub(crate) status: StatusCode,
    /// The headers, names lower-cased.
    pub(crate) headers: Vec<(String, String)>,
    /// The body (by `Content-Length`).
    pub(crate) body: Vec<u8>,
}

impl RawAnswer {
    /// The value of header `name` (lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `request` as HTTP/1.1 bytes, with a `Content-Length`; header names upper-cased when
/// `shout` (row A17).
pub(crate) fn wire(request: &Request<Bytes>, shout: bool) -> Vec<u8> {
    let mut out = format!(
        "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n",
        request.method(),
        request.uri(),
        request.body().len()
    )
    .into_bytes();
    for (name, value) in request.headers() {
        let name = if shout {
            name.as_str().to_ascii_uppercase()
        } else {
            name.as_str().to_owned()
        };
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(request.body());
    out
}

/// Read one response from `stream`; `Ok(None)` when the server closed the connection
/// without answering.
pub(crate) async fn read_answer(stream: &mut TcpStream) -> io::Result<Option<RawAnswer>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let code: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {status_line:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    let status = StatusCode::from_u16(code).map_err(io::Error::other)?;
    let answer = RawAnswer {
        status,
        headers,
        body,
    };
    check_answer(answer.status, &answer.body, answer.header("retry-after"));
    Ok(Some(answer))
}

/// Write `bytes` to a fresh connection to `addr` and read one answer, within 10 s.
pub(crate) async fn raw(addr: SocketAddr, bytes: &[u8]) -> io::Result<Option<RawAnswer>> {
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(bytes).await?;
        read_answer(&mut stream).await
    })
    .await
    .map_err(|_| io::Error::other("no answer within 10 s"))?
}

/// A fresh in-memory store that counts its calls.
pub(crate) fn store() -> CountingStore {
    CountingStore::new(MemoryStore::new())
}
