//! Properties of every signature scheme and of the canonical JSON writer.

use std::fmt;

use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use proptest::prelude::*;
use proptest::sample::Index;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use webhook_core::signature::{
    stable_stringify, GitHub, PaymentKit, PaymentKitComponent, PaymentKitComponentV0, Scheme,
    SignedRequest, Signer, StandardWebhooks, Stripe, Unsigned, Verified, Verifier, VerifyError,
};
use webhook_core::ManualClock;

const NOW: i64 = 1_700_000_000;
const HMAC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SW_SEED: &str = "whsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const SW_PUBLIC: &str = "whpk_A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=";
const APP_SK: &str = "0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const APP_PK: &str = "0x03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";

/// One way of signing and verifying, with the headers a bit flip must break.
#[derive(Debug, Clone, Copy)]
enum Case {
    Stripe,
    PaymentKit,
    StandardV1,
    StandardV1a,
    GitHub,
    Component,
}

const CASES: [Case; 6] = [
    Case::Stripe,
    Case::PaymentKit,
    Case::StandardV1,
    Case::StandardV1a,
    Case::GitHub,
    Case::Component,
];

impl Case {
    fn sign(self, unsigned: &Unsigned<'_>) -> HeaderMap {
        fn with<S: Scheme>(scheme: S, key: &str, unsigned: &Unsigned<'_>) -> HeaderMap {
            Signer::new(scheme, key)
                .unwrap()
                .sign(unsigned)
                .unwrap()
                .into_iter()
                .collect()
        }
        match self {
            Case::Stripe => with(Stripe, HMAC_SECRET, unsigned),
            Case::PaymentKit => with(PaymentKit, HMAC_SECRET, unsigned),
            Case::StandardV1 => with(StandardWebhooks, HMAC_SECRET, unsigned),
            Case::StandardV1a => with(StandardWebhooks, SW_SEED, unsigned),
            Case::GitHub => with(GitHub, HMAC_SECRET, unsigned),
            Case::Component => with(PaymentKitComponent, APP_SK, unsigned),
        }
    }

    fn verifier(self) -> Verifier {
        fn with<S: Scheme>(scheme: S, key: &str) -> Verifier {
            Verifier::builder(scheme)
                .secret(key)
                .clock(ManualClock::new(NOW))
                .build()
                .unwrap()
        }
        match self {
            Case::Stripe => with(Stripe, HMAC_SECRET),
            Case::PaymentKit => with(PaymentKit, HMAC_SECRET),
            Case::StandardV1 => with(StandardWebhooks, HMAC_SECRET),
            Case::StandardV1a => with(StandardWebhooks, SW_PUBLIC),
            Case::GitHub => with(GitHub, HMAC_SECRET),
            Case::Component => with(PaymentKitComponent, APP_PK),
        }
    }

    /// Headers whose every byte is covered by the signature (or is the signature).
    fn bound_headers(self) -> &'static [&'static str] {
        match self {
            Case::Stripe => &["stripe-signature"],
            Case::PaymentKit => &["x-webhook-signature"],
            Case::StandardV1 | Case::StandardV1a => {
                &["webhook-id", "webhook-timestamp", "webhook-signature"]
            }
            Case::GitHub => &["x-hub-signature-256"],
            Case::Component => &[
                "x-component-sig",
                "x-component-sig-iat",
                "x-component-sig-exp",
                "x-component-sig-version",
            ],
        }
    }
}

fn request<'a>(headers: &'a HeaderMap, body: &'a [u8], path: &'a str) -> SignedRequest<'a> {
    SignedRequest {
        method: &Method::POST,
        path,
        query: None,
        headers,
        body,
    }
}

fn unsigned<'a>(id: &'a str, timestamp: i64, path: &'a str, body: &'a [u8]) -> Unsigned<'a> {
    Unsigned {
        id,
        event_type: "payment_intent.succeeded",
        timestamp,
        method: &Method::POST,
        path,
        body,
    }
}

/// Ids every scheme can sign: printable ASCII without `.`.
fn id() -> impl Strategy<Value = String> {
    "[ -\\-/-~]{1,64}"
}

fn timestamp() -> impl Strategy<Value = i64> {
    (NOW - 300)..=(NOW + 300)
}

fn path() -> impl Strategy<Value = String> {
    "/[a-z0-9/_-]{0,30}"
}

/// JSON values with every kind of string, key and number, for the component signature and the
/// canonical writer.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[\\x00-\\x1f\"\\\\a\u{e000}-\u{ffff}\u{10000}-\u{10ffff}]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z_]{0,6}",
        any::<String>(),
        "[a\u{7f}-\u{ff}\u{e000}-\u{ffff}\u{10000}-\u{10ffff}]{0,3}",
    ]
}

/// A body each case can sign: any bytes for the HMAC schemes, JSON for the component.
fn body_for(case: Case, bytes: Vec<u8>, value: &Value) -> Vec<u8> {
    match case {
        Case::Component => serde_json::to_vec(value).unwrap(),
        _ => bytes,
    }
}

fn flip(bytes: &[u8], at: Index, bit: u8) -> Vec<u8> {
    let mut flipped = bytes.to_vec();
    let index = at.index(flipped.len());
    flipped[index] ^= 1 << bit;
    flipped
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn verify_accepts_what_sign_produces(
        id in id(),
        ts in timestamp(),
        path in path(),
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        value in json(),
    ) {
        for case in CASES {
            let body = body_for(case, bytes.clone(), &value);
            let headers = case.sign(&unsigned(&id, ts, &path, &body));
            let verified = case.verifier().verify(&request(&headers, &body, &path));
            prop_assert!(verified.is_ok(), "{case:?}: {verified:?}");
            let verified = verified.unwrap();
            match case {
                Case::StandardV1 | Case::StandardV1a | Case::GitHub => {
                    prop_assert_eq!(verified.id.as_deref(), Some(id.as_str()));
                }
                _ => prop_assert_eq!(verified.id, None),
            }
            if !matches!(case, Case::GitHub) {
                prop_assert_eq!(verified.timestamp, Some(ts));
            }
        }
    }

    #[test]
    fn a_flipped_body_bit_fails(
        id in id(),
        ts in timestamp(),
        bytes in prop::collection::vec(any::<u8>(), 1..256),
        value in json(),
        at in any::<Index>(),
        bit in 0u8..8,
    ) {
        for case in CASES {
            let body = body_for(case, bytes.clone(), &value);
            let headers = case.sign(&unsigned(&id, ts, "/hook", &body));
            let flipped = flip(&body, at, bit);
            let result = case.verifier().verify(&request(&headers, &flipped, "/hook"));
            if let Case::Component = case {
                // The component signature covers the JSON's meaning: a flip may only pass if
                // it left the meaning unchanged (`\u001f` -> `\u001F`, `1e5` -> `1E5`).
                if result.is_ok() {
                    let after: Value = serde_json::from_slice(&flipped).unwrap();
                    prop_assert_eq!(stable_stringify(&after), stable_stringify(&value));
                }
            } else {
                prop_assert!(result.is_err(), "{case:?} accepted a flipped body");
            }
        }
    }

    #[test]
    fn a_flipped_header_bit_fails(
        id in id(),
        ts in timestamp(),
        bytes in prop::collection::vec(any::<u8>(), 0..128),
        value in json(),
        which in any::<Index>(),
        at in any::<Index>(),
        bit in 0u8..8,
    ) {
        for case in CASES {
            let body = body_for(case, bytes.clone(), &value);
            let mut headers = case.sign(&unsigned(&id, ts, "/hook", &body));
            let names = case.bound_headers();
            let name = names[which.index(names.len())];
            let original = headers.get(name).unwrap().as_bytes().to_vec();
            let Ok(flipped) = HeaderValue::from_bytes(&flip(&original, at, bit)) else {
                // Not a value HTTP could deliver.
                continue;
            };
            headers.insert(name, flipped);
            let result = case.verifier().verify(&request(&headers, &body, "/hook"));
            prop_assert!(result.is_err(), "{case:?}: flip in {name} accepted");
        }
    }

    #[test]
    fn github_metadata_is_not_signed(
        id in id(),
        body in prop::collection::vec(any::<u8>(), 0..64),
        at in any::<Index>(),
    ) {
        // Pins the documented replay caveat: the delivery id can be changed freely.
        let mut headers = Case::GitHub.sign(&unsigned(&id, NOW, "/", &body));
        let other = format!("{id}x");
        let other = &other[at.index(other.len())..];
        prop_assume!(!other.is_empty());
        headers.insert("x-github-delivery", HeaderValue::from_str(other).unwrap());
        let verified = Case::GitHub.verifier().verify(&request(&headers, &body, "/")).unwrap();
        prop_assert_eq!(verified.id.as_deref(), Some(other));
    }

    #[test]
    fn junk_signatures_never_make_an_invalid_request_valid(
        id in id(),
        ts in timestamp(),
        body in prop::collection::vec(any::<u8>(), 0..128),
        junk in prop::collection::vec(junk_entry(), 0..12),
        at in any::<Index>(),
    ) {
        // Signed with another secret: invalid whatever junk is added, wherever.
        let foreign = "whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB";
        let u = unsigned(&id, ts, "/", &body);
        for (scheme, header, sep) in [
            ("stripe", "stripe-signature", ","),
            ("paymentkit", "x-webhook-signature", ","),
            ("standard", "webhook-signature", " "),
        ] {
            let (signed, verifier) = match scheme {
                "stripe" => (signed_with(Stripe, foreign, &u), Case::Stripe.verifier()),
                "paymentkit" => (signed_with(PaymentKit, foreign, &u), Case::PaymentKit.verifier()),
                _ => (signed_with(StandardWebhooks, foreign, &u), Case::StandardV1.verifier()),
            };
            let value = signed.get(header).unwrap().to_str().unwrap().to_owned();
            let mut entries: Vec<String> = value.split(sep).map(str::to_owned).collect();
            for entry in &junk {
                let entry = if sep == "," { entry.stripe.clone() } else { entry.standard.clone() };
                let position = at.index(entries.len() + 1);
                entries.insert(position, entry);
            }
            let mut headers = signed.clone();
            headers.insert(header, HeaderValue::from_str(&entries.join(sep)).unwrap());
            let result = verifier.verify(&request(&headers, &body, "/"));
            prop_assert!(result.is_err(), "{scheme}: junk made a foreign signature valid");
        }
        // GitHub: junk in additional header values.
        let mut headers = signed_with(GitHub, foreign, &u);
        for entry in &junk {
            headers.append("x-hub-signature-256", HeaderValue::from_str(&format!("sha256={}", entry.hex)).unwrap());
        }
        prop_assert!(Case::GitHub.verifier().verify(&request(&headers, &body, "/")).is_err());
    }

    #[test]
    fn junk_next_to_a_valid_signature_is_harmless(
        id in id(),
        ts in timestamp(),
        body in prop::collection::vec(any::<u8>(), 0..128),
        junk in prop::collection::vec(junk_entry(), 0..8),
    ) {
        let u = unsigned(&id, ts, "/", &body);
        let signed = Case::Stripe.sign(&u);
        let mut value = signed.get("stripe-signature").unwrap().to_str().unwrap().to_owned();
        for entry in &junk {
            value.push(',');
            value.push_str(&entry.stripe);
        }
        let headers: HeaderMap = [(HeaderName::from_static("stripe-signature"), HeaderValue::from_str(&value).unwrap())].into_iter().collect();
        prop_assert!(Case::Stripe.verifier().verify(&request(&headers, &body, "/")).is_ok());

        let mut headers = Case::StandardV1.sign(&u);
        let mut value = headers.get("webhook-signature").unwrap().to_str().unwrap().to_owned();
        for entry in &junk {
            value.insert_str(0, &format!("{} ", entry.standard));
        }
        headers.insert("webhook-signature", HeaderValue::from_str(&value).unwrap());
        prop_assert!(Case::StandardV1.verifier().verify(&request(&headers, &body, "/")).is_ok());
    }
}

fn signed_with<S: Scheme>(scheme: S, key: &str, unsigned: &Unsigned<'_>) -> HeaderMap {
    Signer::new(scheme, key)
        .unwrap()
        .sign(unsigned)
        .unwrap()
        .into_iter()
        .collect()
}

/// One junk signature, written for each header syntax.
#[derive(Debug, Clone)]
struct Junk {
    stripe: String,
    standard: String,
    hex: String,
}

fn junk_entry() -> impl Strategy<Value = Junk> {
    (
        prop::collection::vec(any::<u8>(), 32),
        prop::collection::vec(any::<u8>(), 64),
        prop_oneof![Just("v1"), Just("v0"), Just("v1a"), Just("v2")],
    )
        .prop_map(|(short, long, version)| {
            let b64 = base64::engine::general_purpose::STANDARD;
            let standard = match version {
                "v1a" => format!("v1a,{}", b64.encode(&long)),
                other => format!("{other},{}", b64.encode(&short)),
            };
            Junk {
                stripe: format!("{version}={}", hex::encode(&short)),
                standard,
                hex: hex::encode(&short),
            }
        })
}

// -------------------------------------------------------------------------------------------
// Hostile header bytes: no scheme may panic, whatever arrives.
// -------------------------------------------------------------------------------------------

const HEADER_NAMES: &[&str] = &[
    "stripe-signature",
    "x-webhook-signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "x-hub-signature-256",
    "x-github-delivery",
    "x-github-event",
    "x-component-sig",
    "x-component-sig-iat",
    "x-component-sig-exp",
    "x-component-sig-version",
    "x-path-prefix",
];

/// Header values: raw bytes, or a soup of the tokens the parsers look for.
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just("t=".to_owned()),
        Just("v1=".to_owned()),
        Just("v0=".to_owned()),
        Just("v1,".to_owned()),
        Just("v1a,".to_owned()),
        Just("sha256=".to_owned()),
        Just("0x".to_owned()),
        Just(",".to_owned()),
        Just(" ".to_owned()),
        Just("=".to_owned()),
        Just("1700000000".to_owned()),
        "[0-9a-f]{0,130}",
        "[A-Za-z0-9+/=]{0,90}",
        "[0-9]{0,25}",
    ];
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        prop::collection::vec(token, 0..12).prop_map(|tokens| tokens.concat().into_bytes()),
    ]
}

fn all_verifiers() -> Vec<Verifier> {
    fn with<S: Scheme>(scheme: S, key: &str) -> Verifier {
        Verifier::builder(scheme)
            .secret(key)
            .clock(ManualClock::new(NOW))
            .build()
            .unwrap()
    }
    vec![
        with(Stripe, HMAC_SECRET),
        with(PaymentKit, HMAC_SECRET),
        with(StandardWebhooks, HMAC_SECRET),
        with(StandardWebhooks, SW_PUBLIC),
        with(GitHub, HMAC_SECRET),
        with(PaymentKitComponent, APP_PK),
        with(PaymentKitComponentV0, APP_PK),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_header_bytes_make_a_scheme_panic(
        values in prop::collection::vec((0..HEADER_NAMES.len(), header_bytes()), 0..10),
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        ],
        path in "\\PC{0,20}",
        query in proptest::option::of("\\PC{0,40}"),
    ) {
        let mut headers = HeaderMap::new();
        for (name, bytes) in &values {
            if let Ok(value) = HeaderValue::from_bytes(bytes) {
                headers.append(HEADER_NAMES[*name], value);
            }
        }
        let request = SignedRequest {
            method: &Method::POST,
            path: &path,
            query: query.as_deref(),
            headers: &headers,
            body: &body,
        };
        for verifier in all_verifiers() {
            // Random bytes are never a valid signature; the point is that this returns.
            let result: Result<Verified<'_>, VerifyError> = verifier.verify(&request);
            prop_assert!(result.is_err(), "{} accepted random headers", verifier.scheme_name());
            let _ = verifier.verify_ignoring_timestamp(&request);
        }
    }
}

// -------------------------------------------------------------------------------------------
// The canonical JSON writer
// -------------------------------------------------------------------------------------------

/// Numbers compare as the doubles JavaScript would hold; everything else structurally.
fn same_for_javascript(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_for_javascript(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_for_javascript(v, w)))
        }
        _ => a == b,
    }
}

/// Deserialises any JSON, failing unless every object's keys come in UTF-16 order.
struct SortedKeys;

impl<'de> Deserialize<'de> for SortedKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SortedKeysVisitor)
    }
}

struct SortedKeysVisitor;

impl<'de> Visitor<'de> for SortedKeysVisitor {
    type Value = SortedKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON")
    }

    fn visit_bool<E>(self, _: bool) -> Result<SortedKeys, E> {
        Ok(SortedKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<SortedKeys, E> {
        Ok(SortedKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<SortedKeys, E> {
        Ok(SortedKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<SortedKeys, E> {
        Ok(SortedKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<SortedKeys, E> {
        Ok(SortedKeys)
    }
    fn visit_unit<E>(self) -> Result<SortedKeys, E> {
        Ok(SortedKeys)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SortedKeys, A::Error> {
        while seq.next_element::<SortedKeys>()?.is_some() {}
        Ok(SortedKeys)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SortedKeys, A::Error> {
        let mut previous: Option<Vec<u16>> = None;
        while let Some(key) = map.next_key::<String>()? {
            let units: Vec<u16> = key.encode_utf16().collect();
            if previous.as_ref().is_some_and(|p| *p >= units) {
                return Err(de::Error::custom(format!("key {key:?} out of order")));
            }
            previous = Some(units);
            map.next_value::<SortedKeys>()?;
        }
        Ok(SortedKeys)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn canonical_output_parses_back_to_the_same_value(value in json()) {
        let text = stable_stringify(&value);
        let parsed: Value = serde_json::from_str(&text).unwrap();
        prop_assert!(same_for_javascript(&value, &parsed), "{text}");
    }

    #[test]
    fn canonical_output_has_sorted_keys(value in json()) {
        let text = stable_stringify(&value);
        prop_assert!(serde_json::from_str::<SortedKeys>(&text).is_ok(), "{text}");
    }

    #[test]
    fn canonicalising_is_idempotent(value in json()) {
        let once = stable_stringify(&value);
        let twice = stable_stringify(&serde_json::from_str::<Value>(&once).unwrap());
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn canonical_output_matches_serde_for_plain_values(
        value in plain_json(),
    ) {
        // With integers JavaScript holds exactly and keys whose UTF-8 and UTF-16 orders
        // agree, json-stable-stringify and serde_json's compact writer (BTreeMap order) agree
        // byte for byte, escapes included.
        prop_assert_eq!(stable_stringify(&value), serde_json::to_string(&value).unwrap());
    }

    #[test]
    fn numbers_read_back_as_the_same_double(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        let text = stable_stringify(&Value::from(f));
        let back: f64 = text.parse().unwrap();
        prop_assert_eq!(back, f, "{}", text);
        prop_assert!(!text.contains('E') && !text.ends_with(".0"), "{}", text);
    }
}

fn plain_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-(1i64 << 53)..=(1i64 << 53)).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(("[ -~\u{80}-\u{d7ff}]{0,6}", inner), 0..5)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}
