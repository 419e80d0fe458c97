//! Known-answer vectors for every signature scheme (signing.md section 5) and the hostile
//! header inputs of reliability.md section 3, rows A and B.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use sha3::{Digest as _, Sha3_256};
use webhook_core::signature::{
    stable_stringify, GitHub, PaymentKit, PaymentKitComponent, PaymentKitComponentV0, Scheme,
    SignedRequest, Signer, StandardWebhooks, Stripe, Unsigned, Verified, Verifier, VerifyError,
};
use webhook_core::{Clock, Envelope, ManualClock};

/// signing.md section 5: the common timestamp and body (105 bytes, no trailing newline).
const T: i64 = 1_700_000_000;
const BODY: &[u8] = br#"{"id":"evt_test_123","type":"payment_intent.succeeded","data":{"object":{"id":"pi_123","amount":"1000"}}}"#;
const PATH: &str = "/api/payment/callback";

fn verifier<S: Scheme>(scheme: S, secrets: &[&str], now: i64) -> Verifier {
    secrets
        .iter()
        .fold(Verifier::builder(scheme), |builder, secret| {
            builder.secret(secret)
        })
        .clock(ManualClock::new(now))
        .build()
        .expect("valid verifier configuration")
}

fn unsigned<'a>(id: &'a str, event_type: &'a str, timestamp: i64, body: &'a [u8]) -> Unsigned<'a> {
    Unsigned {
        id,
        event_type,
        timestamp,
        method: &Method::POST,
        path: PATH,
        body,
    }
}

fn sign<S: Scheme>(scheme: S, secret: &str, unsigned: &Unsigned<'_>) -> HeaderMap {
    let signer = Signer::new(scheme, secret).expect("valid signing key");
    signer
        .sign(unsigned)
        .expect("signable inputs")
        .into_iter()
        .collect()
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| {
            (
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            )
        })
        .collect()
}

fn request<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> SignedRequest<'a> {
    SignedRequest {
        method: &Method::POST,
        path: PATH,
        query: None,
        headers,
        body,
    }
}

fn get<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("header {name} missing"))
        .to_str()
        .unwrap()
}

#[test]
fn common_body_is_the_documented_105_bytes() {
    assert_eq!(BODY.len(), 105);
}

// ---------------------------------------------------------------------------------------------
// Stripe (section 2; vectors 5.1 and 5.2)
// ---------------------------------------------------------------------------------------------

const STRIPE_SECRET: &str = "whsec_test_secret";
const STRIPE_ROLLED: &str = "whsec_test_secret_rolled_key";
const STRIPE_SIG: &str = "26ca229d16828db17d12de291661792df473a04e3bac67803acd274033ff6725";
const STRIPE_ROLLED_SIG: &str = "ee8209b853c208a13ffeaab0d035e81549c6f46facdadff9f0c390e576f3677d";

#[test]
fn stripe_node_raw_hmac_vectors() {
    // The key is the secret text; the MAC primitive the scheme uses, without the "t." prefix.
    let key = Stripe.parse_key("test_secret").unwrap();
    for (payload, expected) in [
        (
            "",
            "f7f9bd47fb987337b5796fdc1fdb9ba221d0d5396814bfcaf9521f43fd8927fd",
        ),
        (
            r#"{"obj1":"hello","obj2":"world"}"#,
            "bebb1a643997f419b315ddba19e6f5411e1ce7f810ba6d3617ce72823092f363",
        ),
        (
            "\u{1F600}",
            "837da296d05c4fe31f61d5d7ead035099d9585a5bcde87de952012a78f0b0c43",
        ),
    ] {
        assert_eq!(
            hex::encode(key.tag(&[payload.as_bytes()])),
            expected,
            "{payload:?}"
        );
    }
}

#[test]
fn stripe_own_vector_signs_and_verifies() {
    let signed = sign(
        Stripe,
        STRIPE_SECRET,
        &unsigned("evt_test_123", "x", T, BODY),
    );
    assert_eq!(signed.len(), 1);
    let expected = format!("t={T},v1={STRIPE_SIG}");
    assert_eq!(get(&signed, "stripe-signature"), expected);

    let verified = verifier(Stripe, &[STRIPE_SECRET], T)
        .verify(&request(&signed, BODY))
        .unwrap();
    assert_eq!(verified.timestamp, Some(T));
    assert_eq!(verified.id, None);
}

#[test]
fn stripe_rotation_vector_accepts_either_secret() {
    let rolled = sign(Stripe, STRIPE_ROLLED, &unsigned("e", "x", T, BODY));
    assert_eq!(
        get(&rolled, "stripe-signature"),
        format!("t={T},v1={STRIPE_ROLLED_SIG}")
    );

    let header = format!("t={T},v1={STRIPE_SIG},v1={STRIPE_ROLLED_SIG}");
    let both = headers(&[("Stripe-Signature", &header)]);
    for secrets in [
        &[STRIPE_SECRET][..],
        &[STRIPE_ROLLED],
        &[STRIPE_SECRET, STRIPE_ROLLED],
        &["whsec_unrelated", STRIPE_ROLLED],
    ] {
        verifier(Stripe, secrets, T)
            .verify(&request(&both, BODY))
            .unwrap_or_else(|e| panic!("{secrets:?}: {e}"));
    }
    assert_eq!(
        verifier(Stripe, &["whsec_unrelated"], T).verify(&request(&both, BODY)),
        Err(VerifyError::Mismatch)
    );
}

#[test]
fn stripe_node_style_header_cases() {
    let v = verifier(Stripe, &[STRIPE_SECRET], T);
    let junk = "0".repeat(64);
    let check = |value: &str| {
        let headers = headers(&[("stripe-signature", value)]);
        v.verify(&request(&headers, BODY)).map(Verified::into_owned)
    };
    // Only the test-mode v0 scheme: never accepted, even when its value is the valid MAC.
    assert_eq!(
        check(&format!("t={T},v0={STRIPE_SIG}")),
        Err(VerifyError::NoSignature)
    );
    assert_eq!(
        check(&format!("t={T},v9={STRIPE_SIG}")),
        Err(VerifyError::NoSignature)
    );
    // Several v1 values with one valid: first, middle, last.
    for valid_at in 0..3 {
        let mut sigs = vec![junk.clone(); 3];
        sigs[valid_at] = STRIPE_SIG.to_owned();
        let value = format!(
            "t={T},v1={},v0={junk},v1={},v1={}",
            sigs[0], sigs[1], sigs[2]
        );
        assert!(check(&value).is_ok(), "valid signature at {valid_at}");
    }
    // Several v1 values, none valid.
    assert_eq!(
        check(&format!("t={T},v1={junk},v1={junk}")),
        Err(VerifyError::Mismatch)
    );
    // Garbled headers.
    assert_eq!(
        check("I'm not even a real signature header"),
        Err(VerifyError::MalformedHeader("stripe-signature"))
    );
    assert_eq!(check("t="), Err(VerifyError::MalformedTimestamp));
    assert_eq!(
        check(&format!("v1={STRIPE_SIG}")),
        Err(VerifyError::MalformedTimestamp)
    );
    assert_eq!(check(&format!("t={T}")), Err(VerifyError::NoSignature));
    assert_eq!(
        check(&format!("t={T},v1={}", &STRIPE_SIG[..8])),
        Err(VerifyError::NoSignature)
    );
    assert_eq!(
        check(&format!("t={T},v1={STRIPE_SIG}0")),
        Err(VerifyError::NoSignature)
    );
    let upper = STRIPE_SIG.to_uppercase();
    assert_eq!(
        check(&format!("t={T},v1={upper}")),
        Err(VerifyError::NoSignature)
    );
    // An empty header and no header at all.
    let empty = headers(&[("stripe-signature", "")]);
    assert_eq!(
        v.verify(&request(&empty, BODY)),
        Err(VerifyError::MalformedHeader("stripe-signature"))
    );
    assert_eq!(
        v.verify(&request(&HeaderMap::new(), BODY)),
        Err(VerifyError::MissingHeader("stripe-signature"))
    );
    // Bytes that are not visible ASCII.
    let mut binary = HeaderMap::new();
    binary.insert(
        "stripe-signature",
        HeaderValue::from_bytes(b"t=1700000000,v1=\xfe\xff").unwrap(),
    );
    assert_eq!(
        v.verify(&request(&binary, BODY)),
        Err(VerifyError::MalformedHeader("stripe-signature"))
    );
}

#[test]
fn stripe_header_name_is_case_insensitive() {
    let value = format!("t={T},v1={STRIPE_SIG}");
    for name in ["stripe-signature", "Stripe-Signature", "STRIPE-SIGNATURE"] {
        let headers = headers(&[(name, &value)]);
        verifier(Stripe, &[STRIPE_SECRET], T)
            .verify(&request(&headers, BODY))
            .unwrap();
    }
}

#[test]
fn stripe_rejects_re_serialised_bodies() {
    let signed = sign(Stripe, STRIPE_SECRET, &unsigned("e", "x", T, BODY));
    let v = verifier(Stripe, &[STRIPE_SECRET], T);
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(BODY).unwrap())
            .unwrap();
    let mut newline = BODY.to_vec();
    newline.push(b'\n');
    for body in [pretty, newline] {
        assert_eq!(
            v.verify(&request(&signed, &body)),
            Err(VerifyError::Mismatch)
        );
    }
}

#[test]
fn a_header_for_another_scheme_is_refused() {
    let stripe = sign(Stripe, STRIPE_SECRET, &unsigned("e", "x", T, BODY));
    assert_eq!(
        verifier(PaymentKit, &[STRIPE_SECRET], T).verify(&request(&stripe, BODY)),
        Err(VerifyError::MissingHeader("x-webhook-signature"))
    );
    assert_eq!(
        verifier(GitHub, &[STRIPE_SECRET], T).verify(&request(&stripe, BODY)),
        Err(VerifyError::MissingHeader("x-hub-signature-256"))
    );
}

// ---------------------------------------------------------------------------------------------
// PaymentKit / Blocklet Server (section 1.4; vector 5.2)
// ---------------------------------------------------------------------------------------------

#[test]
fn blocklet_server_vector_signs_and_verifies() {
    let secret = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let signed = sign(PaymentKit, secret, &unsigned("e", "x", T, BODY));
    assert_eq!(
        get(&signed, "x-webhook-signature"),
        "t=1700000000,v1=d58aed15d8fe1ceb279531b0af71825738e361674d052e503853d6a874a69f3d"
    );
    verifier(PaymentKit, &[secret], T)
        .verify(&request(&signed, BODY))
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Standard Webhooks (section 3; vectors 5.1 and 5.2)
// ---------------------------------------------------------------------------------------------

const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SW_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SW_TS: i64 = 1_614_265_330;
const SW_PAYLOAD: &[u8] = br#"{"test": 2432232314}"#;
const SW_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
const SW_NEGATIVE: &str = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
const SW_SEED: &str = "whsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const SW_PUBLIC: &str = "whpk_A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=";
const SW_V1A: &str =
    "v1a,+UKkY4DRm+4efNoyYsI3YyEnIn0O/P/P8PWNOI1FY2IuUwu/NegeqLCw8r5NdZ/F1vJIX1jmUAilLtQvtKDrDQ==";

fn sw_headers(id: &str, ts: i64, signature: &str) -> HeaderMap {
    headers(&[
        ("webhook-id", id),
        ("webhook-timestamp", &ts.to_string()),
        ("webhook-signature", signature),
    ])
}

fn sw_check(signature: &str) -> Result<Verified<'static>, VerifyError> {
    let headers = sw_headers(SW_ID, SW_TS, signature);
    verifier(StandardWebhooks, &[SW_SECRET], SW_TS)
        .verify(&request(&headers, SW_PAYLOAD))
        .map(Verified::into_owned)
}

#[test]
fn standard_official_vector_signs_and_verifies() {
    let signed = sign(
        StandardWebhooks,
        SW_SECRET,
        &unsigned(SW_ID, "x", SW_TS, SW_PAYLOAD),
    );
    assert_eq!(get(&signed, "webhook-id"), SW_ID);
    assert_eq!(get(&signed, "webhook-timestamp"), "1614265330");
    assert_eq!(get(&signed, "webhook-signature"), SW_SIG);

    let verified = sw_check(SW_SIG).unwrap();
    assert_eq!(verified.id.as_deref(), Some(SW_ID));
    assert_eq!(verified.timestamp, Some(SW_TS));
    assert_eq!(verified.event_type, None);
}

#[test]
fn standard_secret_prefix_is_optional() {
    let headers = sw_headers(SW_ID, SW_TS, SW_SIG);
    let bare = SW_SECRET.trim_start_matches("whsec_");
    verifier(StandardWebhooks, &[bare], SW_TS)
        .verify(&request(&headers, SW_PAYLOAD))
        .unwrap();
}

#[test]
fn standard_negative_vector_never_verifies() {
    assert_eq!(sw_check(SW_NEGATIVE), Err(VerifyError::Mismatch));
}

#[test]
fn standard_own_v1_vector() {
    let signed = sign(
        StandardWebhooks,
        SW_SECRET,
        &unsigned("msg_test_123", "x", T, BODY),
    );
    assert_eq!(
        get(&signed, "webhook-signature"),
        "v1,STcId6UBAyJg31hLOeRgT5s0ZWBqL9+GAlDUK1BCtq4="
    );
    assert_eq!(get(&signed, "webhook-id"), "msg_test_123");
    assert_eq!(get(&signed, "webhook-timestamp"), "1700000000");
    let verified = verifier(StandardWebhooks, &[SW_SECRET], T)
        .verify(&request(&signed, BODY))
        .unwrap();
    assert_eq!(verified.id.as_deref(), Some("msg_test_123"));
}

#[test]
fn standard_own_v1a_vector() {
    let signed = sign(
        StandardWebhooks,
        SW_SEED,
        &unsigned("msg_test_123", "x", T, BODY),
    );
    assert_eq!(get(&signed, "webhook-signature"), SW_V1A);

    // The 64-byte form (seed, then public key) signs the same.
    let mut keypair = (0u8..32).collect::<Vec<u8>>();
    use base64::Engine as _;
    let public = base64::engine::general_purpose::STANDARD
        .decode(SW_PUBLIC.trim_start_matches("whpk_"))
        .unwrap();
    keypair.extend_from_slice(&public);
    let long = format!(
        "whsk_{}",
        base64::engine::general_purpose::STANDARD.encode(&keypair)
    );
    let again = sign(
        StandardWebhooks,
        &long,
        &unsigned("msg_test_123", "x", T, BODY),
    );
    assert_eq!(get(&again, "webhook-signature"), SW_V1A);

    let verified = verifier(StandardWebhooks, &[SW_PUBLIC], T)
        .verify(&request(&signed, BODY))
        .unwrap();
    assert_eq!(verified.id.as_deref(), Some("msg_test_123"));
    // A v1a signature does not satisfy a verifier that only knows the symmetric secret, and
    // a v1 signature does not satisfy one that only knows the public key.
    assert_eq!(
        verifier(StandardWebhooks, &[SW_SECRET], T).verify(&request(&signed, BODY)),
        Err(VerifyError::Mismatch)
    );
    let v1 = sign(
        StandardWebhooks,
        SW_SECRET,
        &unsigned("msg_test_123", "x", T, BODY),
    );
    assert_eq!(
        verifier(StandardWebhooks, &[SW_PUBLIC], T).verify(&request(&v1, BODY)),
        Err(VerifyError::Mismatch)
    );
    // Both configured, both signatures present, in either order.
    let both = format!("{SW_V1A} {}", get(&v1, "webhook-signature"));
    let headers = sw_headers("msg_test_123", T, &both);
    verifier(StandardWebhooks, &[SW_PUBLIC, SW_SECRET], T)
        .verify(&request(&headers, BODY))
        .unwrap();
    // A tampered body fails v1a.
    let mut body = BODY.to_vec();
    body[0] ^= 0x20;
    assert_eq!(
        verifier(StandardWebhooks, &[SW_PUBLIC], T).verify(&request(&signed, &body)),
        Err(VerifyError::Mismatch)
    );
}

#[test]
fn standard_svix_partial_signature_cases() {
    let b64 = SW_SIG.trim_start_matches("v1,");
    let mut flipped = b64.as_bytes().to_vec();
    flipped[5] ^= 0x01;
    let flipped = String::from_utf8(flipped).unwrap();
    let cases = [
        "v1,".to_owned(),
        "v1".to_owned(),
        format!("v1,{}", &b64[..8]),
        format!("v1,{}", &b64[..b64.len() - 1]),
        format!("{SW_SIG}A"),
        format!("{SW_SIG}AAAA"),
        format!("v1,{}", b64.trim_end_matches('=')),
        format!("v1,{flipped}"),
        format!("v2,{b64}"),
        format!("v1a,{b64}"),
        format!("V1,{b64}"),
        SW_NEGATIVE.to_owned(),
        "v1,not base64 at all!".to_owned(),
    ];
    for case in cases {
        assert!(sw_check(&case).is_err(), "{case:?} must fail");
    }
    assert_eq!(sw_check("v1,"), Err(VerifyError::NoSignature));
    assert_eq!(
        sw_check("v1"),
        Err(VerifyError::MalformedHeader("webhook-signature"))
    );
    // The valid signature among junk, first, middle and last: accepted.
    for list in [
        format!("{SW_SIG} {SW_NEGATIVE} v2,xyz"),
        format!("{SW_NEGATIVE} {SW_SIG} v1,"),
        format!("v9,abc {SW_NEGATIVE} {SW_SIG}"),
    ] {
        sw_check(&list).unwrap_or_else(|e| panic!("{list:?}: {e}"));
    }
}

#[test]
fn standard_binds_id_and_timestamp() {
    let v = verifier(StandardWebhooks, &[SW_SECRET], SW_TS);
    let other_id = sw_headers("msg_other", SW_TS, SW_SIG);
    assert_eq!(
        v.verify(&request(&other_id, SW_PAYLOAD)),
        Err(VerifyError::Mismatch)
    );
    let later = sw_headers(SW_ID, SW_TS + 1, SW_SIG);
    assert_eq!(
        v.verify(&request(&later, SW_PAYLOAD)),
        Err(VerifyError::Mismatch)
    );
}

#[test]
fn standard_header_failures() {
    let v = verifier(StandardWebhooks, &[SW_SECRET], SW_TS);
    let ts = SW_TS.to_string();
    let cases: Vec<(Vec<(&str, &str)>, VerifyError)> = vec![
        (
            vec![("webhook-timestamp", &ts), ("webhook-signature", SW_SIG)],
            VerifyError::MissingHeader("webhook-id"),
        ),
        (
            vec![("webhook-id", SW_ID), ("webhook-signature", SW_SIG)],
            VerifyError::MissingHeader("webhook-timestamp"),
        ),
        (
            vec![("webhook-id", SW_ID), ("webhook-timestamp", &ts)],
            VerifyError::MissingHeader("webhook-signature"),
        ),
        (
            vec![
                ("webhook-id", "msg.1"),
                ("webhook-timestamp", &ts),
                ("webhook-signature", SW_SIG),
            ],
            VerifyError::MalformedHeader("webhook-id"),
        ),
        (
            vec![
                ("webhook-id", ""),
                ("webhook-timestamp", &ts),
                ("webhook-signature", SW_SIG),
            ],
            VerifyError::MalformedHeader("webhook-id"),
        ),
        (
            vec![
                ("webhook-id", SW_ID),
                ("webhook-timestamp", "1614265330.5"),
                ("webhook-signature", SW_SIG),
            ],
            VerifyError::MalformedTimestamp,
        ),
        (
            vec![
                ("webhook-id", SW_ID),
                ("webhook-timestamp", ""),
                ("webhook-signature", SW_SIG),
            ],
            VerifyError::MalformedTimestamp,
        ),
        (
            vec![
                ("webhook-id", SW_ID),
                ("webhook-timestamp", &ts),
                ("webhook-signature", ""),
            ],
            VerifyError::MalformedHeader("webhook-signature"),
        ),
    ];
    for (pairs, expected) in cases {
        let headers = headers(&pairs);
        assert_eq!(
            v.verify(&request(&headers, SW_PAYLOAD)),
            Err(expected),
            "{pairs:?}"
        );
    }
    let long_id = "m".repeat(256);
    let headers = sw_headers(&long_id, SW_TS, SW_SIG);
    assert_eq!(
        v.verify(&request(&headers, SW_PAYLOAD)),
        Err(VerifyError::MalformedHeader("webhook-id"))
    );
}

#[test]
fn standard_refuses_unsignable_ids() {
    let signer = Signer::new(StandardWebhooks, SW_SECRET).unwrap();
    for id in ["", "a.b", "tab\there"] {
        assert!(signer.sign(&unsigned(id, "x", T, BODY)).is_err(), "{id:?}");
    }
    assert!(signer.sign(&unsigned("ok", "x", -1, BODY)).is_err());
}

#[test]
fn standard_bounds_signature_count() {
    let many = vec![SW_NEGATIVE; 17].join(" ");
    assert_eq!(sw_check(&many), Err(VerifyError::TooManySignatures));
    let thousand = vec!["v9,x"; 1000].join(" ");
    assert_eq!(
        sw_check(&format!("{SW_SIG} {thousand}")),
        Err(VerifyError::TooManySignatures)
    );
}

// ---------------------------------------------------------------------------------------------
// GitHub (section 4; vectors 5.1 and 5.2)
// ---------------------------------------------------------------------------------------------

fn gh_headers(signature: &str, event: &str) -> HeaderMap {
    headers(&[
        ("x-hub-signature-256", signature),
        ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ("x-github-event", event),
    ])
}

#[test]
fn github_docs_and_octokit_vectors() {
    for (secret, body, expected) in [
        (
            "It's a Secret to Everybody",
            &b"Hello, World!"[..],
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        ),
        (
            "mysecret",
            br#"{"foo":"bar"}"#,
            "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3",
        ),
    ] {
        let signed = sign(GitHub, secret, &unsigned("delivery-1", "push", T, body));
        assert_eq!(get(&signed, "x-hub-signature-256"), expected);
        let headers = gh_headers(expected, "push");
        let verified = verifier(GitHub, &[secret], T)
            .verify(&request(&headers, body))
            .unwrap();
        assert_eq!(verified.event_type.as_deref(), Some("push"));
        assert_eq!(
            verified.id.as_deref(),
            Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")
        );
        assert_eq!(verified.timestamp, None);
    }
}

#[test]
fn github_own_vectors_including_legacy_sha1() {
    let signed = sign(
        GitHub,
        "gh_test_secret",
        &unsigned("delivery-1", "payment_intent.succeeded", T, BODY),
    );
    assert_eq!(
        get(&signed, "x-hub-signature-256"),
        "sha256=85ab8a3acd167cc15e31d0f44e7355202e4df07b576bc4d11082cb188cbc26ff"
    );
    assert_eq!(
        get(&signed, "x-hub-signature"),
        "sha1=5a095ef7242fd4dc8f45fed2e467df72b7ec170b"
    );
    assert_eq!(get(&signed, "x-github-delivery"), "delivery-1");
    assert_eq!(get(&signed, "x-github-event"), "payment_intent");
    verifier(GitHub, &["gh_test_secret"], T)
        .verify(&request(&signed, BODY))
        .unwrap();

    // The legacy header alone is never enough.
    let mut legacy_only = signed.clone();
    legacy_only.remove("x-hub-signature-256");
    assert_eq!(
        verifier(GitHub, &["gh_test_secret"], T).verify(&request(&legacy_only, BODY)),
        Err(VerifyError::MissingHeader("x-hub-signature-256"))
    );
}

#[test]
fn github_event_type_includes_the_action() {
    let body = br#"{"action":"opened","issue":{"number":1,"action":"ignored"}}"#;
    let signed = sign(GitHub, "s3cret", &unsigned("d-1", "issues.opened", T, body));
    assert_eq!(get(&signed, "x-github-event"), "issues");
    let verified = verifier(GitHub, &["s3cret"], T)
        .verify(&request(&signed, body))
        .unwrap();
    // Verification reads headers only; the envelope's parse appends the body's `action`.
    assert_eq!(verified.event_type.as_deref(), Some("issues"));
    assert!(verified.action_in_type);
    assert_eq!(verified.id.as_deref(), Some("d-1"));
    let envelope = Envelope::parse(Bytes::from_static(body), &verified).unwrap();
    assert_eq!(envelope.event_type(), "issues.opened");
    assert_eq!(envelope.id(), "d-1");

    let ping = br#"{"zen":"Keep it logically awesome.","hook_id":1}"#;
    let signed = sign(GitHub, "s3cret", &unsigned("d-2", "ping", T, ping));
    let verified = verifier(GitHub, &["s3cret"], T)
        .verify(&request(&signed, ping))
        .unwrap();
    assert_eq!(verified.event_type.as_deref(), Some("ping"));
    let envelope = Envelope::parse(Bytes::from_static(ping), &verified).unwrap();
    assert_eq!(envelope.event_type(), "ping");
}

#[test]
fn github_has_no_freshness_window() {
    let signed = sign(GitHub, "s3cret", &unsigned("d-1", "push", T, BODY));
    // Neither a year later nor a year earlier matters: there is no signed time.
    for now in [T + 31_536_000, T - 31_536_000] {
        verifier(GitHub, &["s3cret"], now)
            .verify(&request(&signed, BODY))
            .unwrap();
    }
}

/// A clock that counts how often it is read.
#[derive(Debug, Clone, Default)]
struct CountingClock(Arc<AtomicUsize>);

impl Clock for CountingClock {
    fn unix_seconds(&self) -> i64 {
        self.0.fetch_add(1, Ordering::SeqCst);
        T
    }
}

/// How often verifying `headers` (and [`BODY`]) with `scheme` and `secret` reads the clock.
fn clock_reads<S: Scheme>(scheme: S, secret: &str, headers: &HeaderMap) -> usize {
    let clock = CountingClock::default();
    Verifier::builder(scheme)
        .secret(secret)
        .clock(clock.clone())
        .build()
        .unwrap()
        .verify(&request(headers, BODY))
        .unwrap();
    clock.0.load(Ordering::SeqCst)
}

#[test]
fn only_schemes_that_sign_a_time_read_the_clock() {
    let github = sign(GitHub, "s3cret", &unsigned("d-1", "push", T, BODY));
    assert_eq!(
        clock_reads(GitHub, "s3cret", &github),
        0,
        "GitHub signs no time"
    );
    let paymentkit = sign(PaymentKit, "s3cret", &unsigned("evt_1", "t", T, BODY));
    assert_eq!(
        clock_reads(PaymentKit, "s3cret", &paymentkit),
        1,
        "PaymentKit checks its timestamp"
    );
}

#[test]
fn github_header_failures() {
    let v = verifier(GitHub, &["It's a Secret to Everybody"], T);
    let body = b"Hello, World!";
    let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let check = |headers: &HeaderMap| v.verify(&request(headers, body)).map(Verified::into_owned);

    assert!(check(&gh_headers(good, "push")).is_ok());
    assert_eq!(
        check(&gh_headers(&format!("SHA256={}", &good[7..]), "push")),
        Err(VerifyError::MalformedHeader("x-hub-signature-256"))
    );
    let upper = format!("sha256={}", good[7..].to_uppercase());
    for bad in [
        "",
        "sha256=",
        "sha1=757107ea",
        &good[..20],
        &format!("{good}0"),
        &good[7..],
        &upper,
    ] {
        assert_eq!(
            check(&gh_headers(bad, "push")),
            Err(VerifyError::MalformedHeader("x-hub-signature-256")),
            "{bad:?}"
        );
    }
    let wrong = format!("sha256={}", "0".repeat(64));
    assert_eq!(
        check(&gh_headers(&wrong, "push")),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        verifier(GitHub, &["wrong secret"], T).verify(&request(&gh_headers(good, "push"), body)),
        Err(VerifyError::Mismatch)
    );

    let mut no_delivery = gh_headers(good, "push");
    no_delivery.remove("x-github-delivery");
    assert_eq!(
        check(&no_delivery),
        Err(VerifyError::MissingHeader("x-github-delivery"))
    );
    let mut no_event = gh_headers(good, "push");
    no_event.remove("x-github-event");
    assert_eq!(
        check(&no_event),
        Err(VerifyError::MissingHeader("x-github-event"))
    );
    assert_eq!(
        check(&gh_headers(good, "issues.opened")),
        Err(VerifyError::MalformedHeader("x-github-event"))
    );

    // Rotation: any configured secret may match.
    verifier(GitHub, &["old", "It's a Secret to Everybody"], T)
        .verify(&request(&gh_headers(good, "push"), body))
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// PaymentKit component signature (section 1.3; vector 5.3)
// ---------------------------------------------------------------------------------------------

const APP_SK: &str = "0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
const APP_PK: &str = "0x03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
const COMPONENT_MESSAGE: &str = r#"{"body":{"data":{"object":{"amount":"1000","id":"pi_123"}},"id":"evt_test_123","type":"payment_intent.succeeded"},"exp":1700000300,"iat":1700000000,"method":"post","query":{},"url":"/api/payment/callback"}"#;
const COMPONENT_HASH: &str = "4787f75f16494b68f65a78ced91ea95e8ba7772325a77add98dacbc2af2565c9";
const COMPONENT_SIG: &str = "0xbf12cf601b73c88ba0695021de648cab124205aa88a0c76af20f867e3065a40b73dc978045a348b93ccfe7ed1019a87646b9c43dcee02ff0cc37eef59b05890b";
const COMPONENT_V0_MESSAGE: &str = r#"{"data":{"object":{"amount":"1000","id":"pi_123"}},"id":"evt_test_123","type":"payment_intent.succeeded"}"#;
const COMPONENT_V0_SIG: &str = "0xe05f416915381aedbf682bf41c4f6bb6f82d05ae53c8ae48d3e45896d4eb06b351e43ab97be24f423fba680f9d6aaa019a1cb05aedff7d64b02459ab5c45ac0e";

fn component_headers(sig: &str) -> HeaderMap {
    headers(&[
        ("x-component-sig", sig),
        ("x-component-sig-iat", "1700000000"),
        ("x-component-sig-exp", "1700000300"),
        ("x-component-sig-version", "1"),
        ("x-component-did", "z2qaCNvKMv5GjouKdcDWexv6WqtHbpNPQDnAk"),
    ])
}

#[test]
fn component_canonical_message_and_hash() {
    let body: serde_json::Value = serde_json::from_slice(BODY).unwrap();
    let data = serde_json::json!({
        "iat": 1_700_000_000, "exp": 1_700_000_300, "body": body, "query": {},
        "method": "post", "url": PATH,
    });
    assert_eq!(stable_stringify(&data), COMPONENT_MESSAGE);
    assert_eq!(
        hex::encode(Sha3_256::digest(COMPONENT_MESSAGE)),
        COMPONENT_HASH
    );
    assert_eq!(stable_stringify(&body), COMPONENT_V0_MESSAGE);
}

#[test]
fn component_v1_vector_signs_and_verifies() {
    let signed = sign(
        PaymentKitComponent,
        APP_SK,
        &unsigned("evt_test_123", "x", T, BODY),
    );
    assert_eq!(get(&signed, "x-component-sig"), COMPONENT_SIG);
    assert_eq!(get(&signed, "x-component-sig-iat"), "1700000000");
    assert_eq!(get(&signed, "x-component-sig-exp"), "1700000300");
    assert_eq!(get(&signed, "x-component-sig-version"), "1");
    // The 32-byte seed alone signs the same.
    let seed = &APP_SK[..66];
    let again = sign(PaymentKitComponent, seed, &unsigned("e", "x", T, BODY));
    assert_eq!(get(&again, "x-component-sig"), COMPONENT_SIG);

    let headers = component_headers(COMPONENT_SIG);
    let verified = verifier(PaymentKitComponent, &[APP_PK], T)
        .verify(&request(&headers, BODY))
        .unwrap();
    assert_eq!(verified.timestamp, Some(T));
    assert_eq!(verified.id, None);
    // Without the version header, the current SDK's reading (version 1) applies.
    let mut unversioned = headers.clone();
    unversioned.remove("x-component-sig-version");
    verifier(PaymentKitComponent, &[APP_PK], T)
        .verify(&request(&unversioned, BODY))
        .unwrap();
    // The signature text is compared as the SDK writes it: lowercase, with `0x`.
    for variant in [
        format!("0x{}", COMPONENT_SIG[2..].to_uppercase()),
        format!("0X{}", &COMPONENT_SIG[2..]),
        COMPONENT_SIG[2..].to_owned(),
    ] {
        assert_eq!(
            verifier(PaymentKitComponent, &[APP_PK], T)
                .verify(&request(&component_headers(&variant), BODY)),
            Err(VerifyError::MalformedHeader("x-component-sig"))
        );
    }
}

#[test]
fn component_v0_vector_signs_and_verifies() {
    let signed = sign(PaymentKitComponentV0, APP_SK, &unsigned("e", "x", T, BODY));
    assert_eq!(get(&signed, "x-component-sig"), COMPONENT_V0_SIG);
    assert_eq!(signed.len(), 1);

    let v0 = verifier(PaymentKitComponentV0, &[APP_PK], T);
    let unversioned = headers(&[("x-component-sig", COMPONENT_V0_SIG)]);
    assert_eq!(
        v0.verify(&request(&unversioned, BODY)).unwrap().timestamp,
        None
    );
    let versioned = headers(&[
        ("x-component-sig", COMPONENT_V0_SIG),
        ("x-component-sig-version", "0"),
    ]);
    v0.verify(&request(&versioned, BODY)).unwrap();
    // No timestamp: valid at any time.
    verifier(PaymentKitComponentV0, &[APP_PK], T + 10_000_000)
        .verify(&request(&versioned, BODY))
        .unwrap();
    // The legacy-aware scheme still verifies version 1.
    v0.verify(&request(&component_headers(COMPONENT_SIG), BODY))
        .unwrap();

    // The default scheme refuses version 0 in both forms.
    let v1 = verifier(PaymentKitComponent, &[APP_PK], T);
    assert_eq!(
        v1.verify(&request(&versioned, BODY)),
        Err(VerifyError::NoSignature)
    );
    assert_eq!(
        v1.verify(&request(&unversioned, BODY)),
        Err(VerifyError::MissingHeader("x-component-sig-iat"))
    );
    // And a version-0 signature presented as version 1 does not verify.
    assert_eq!(
        v1.verify(&request(&component_headers(COMPONENT_V0_SIG), BODY)),
        Err(VerifyError::Mismatch)
    );
}

#[test]
fn component_verifies_meaning_not_bytes() {
    let headers = component_headers(COMPONENT_SIG);
    let v = verifier(PaymentKitComponent, &[APP_PK], T);
    let value: serde_json::Value = serde_json::from_slice(BODY).unwrap();
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    v.verify(&request(&headers, &pretty)).unwrap();
    let reordered = br#"{"type":"payment_intent.succeeded","data":{"object":{"amount":"1000","id":"pi_123"}},"id":"evt_test_123"}"#;
    v.verify(&request(&headers, reordered)).unwrap();

    let changed = br#"{"id":"evt_test_123","type":"payment_intent.succeeded","data":{"object":{"id":"pi_123","amount":"1001"}}}"#;
    assert_eq!(
        v.verify(&request(&headers, changed)),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        v.verify(&request(&headers, b"not json")),
        Err(VerifyError::MalformedBody)
    );
    assert_eq!(
        v.verify(&request(&headers, b"")),
        Err(VerifyError::Mismatch)
    );
}

#[test]
fn component_binds_method_path_and_query() {
    let v = verifier(PaymentKitComponent, &[APP_PK], T);
    let mut with_query = unsigned("e", "x", T, BODY);
    with_query.path = "/api/payment/callback?b=2&a=1&a=3";
    let signed = sign(PaymentKitComponent, APP_SK, &with_query);
    let mut req = request(&signed, BODY);
    assert_eq!(v.verify(&req), Err(VerifyError::Mismatch));
    req.query = Some("a=1&b=2&a=3");
    v.verify(&req).unwrap();
    req.query = Some("a=3&b=2&a=1");
    assert_eq!(v.verify(&req), Err(VerifyError::Mismatch));
    req.query = Some("a=1&b=2&a=3&c=");
    assert_eq!(v.verify(&req), Err(VerifyError::Mismatch));

    let headers = component_headers(COMPONENT_SIG);
    let mut req = request(&headers, BODY);
    req.method = &Method::PUT;
    assert_eq!(v.verify(&req), Err(VerifyError::Mismatch));
    let mut req = request(&headers, BODY);
    req.path = "/api/payment/other";
    assert_eq!(v.verify(&req), Err(VerifyError::Mismatch));
    let mut req = request(&headers, BODY);
    req.query = Some("x[y]=1");
    assert_eq!(v.verify(&req), Err(VerifyError::MalformedBody));
}

#[test]
fn component_retries_with_the_path_prefix() {
    let v = verifier(PaymentKitComponent, &[APP_PK], T);
    let mut behind_proxy = component_headers(COMPONENT_SIG);
    let mut req = request(&behind_proxy, BODY);
    req.path = "/payment/callback";
    assert_eq!(v.verify(&req), Err(VerifyError::Mismatch));
    behind_proxy.insert("x-path-prefix", HeaderValue::from_static("/api"));
    let mut req = request(&behind_proxy, BODY);
    req.path = "/payment/callback";
    v.verify(&req).unwrap();
    behind_proxy.insert("x-path-prefix", HeaderValue::from_static("/api/"));
    let mut req = request(&behind_proxy, BODY);
    req.path = "/payment/callback";
    v.verify(&req).unwrap();
}

#[test]
fn component_freshness_uses_iat_and_exp() {
    let headers = component_headers(COMPONENT_SIG);
    // exp is checked on its own: with a long tolerance iat would still pass at T+301.
    let lenient = Verifier::builder(PaymentKitComponent)
        .secret(APP_PK)
        .tolerance(std::time::Duration::from_secs(600))
        .clock(ManualClock::new(T + 301))
        .build()
        .unwrap();
    assert_eq!(
        lenient.verify(&request(&headers, BODY)),
        Err(VerifyError::TimestampTooOld)
    );
    lenient
        .verify_ignoring_timestamp(&request(&headers, BODY))
        .unwrap();

    let backwards = headers_with(&headers, "x-component-sig-exp", "1699999999");
    assert_eq!(
        verifier(PaymentKitComponent, &[APP_PK], T).verify(&request(&backwards, BODY)),
        Err(VerifyError::MalformedTimestamp)
    );
    for (name, value) in [
        ("x-component-sig-iat", "17e8"),
        ("x-component-sig-exp", "-1"),
    ] {
        let bad = headers_with(&headers, name, value);
        assert_eq!(
            verifier(PaymentKitComponent, &[APP_PK], T).verify(&request(&bad, BODY)),
            Err(VerifyError::MalformedTimestamp)
        );
    }
    // Changing either timestamp breaks the signature.
    let shifted = headers_with(&headers, "x-component-sig-exp", "1700000301");
    assert_eq!(
        verifier(PaymentKitComponent, &[APP_PK], T).verify(&request(&shifted, BODY)),
        Err(VerifyError::Mismatch)
    );
}

#[test]
fn component_header_failures() {
    let v = verifier(PaymentKitComponent, &[APP_PK], T);
    let base = component_headers(COMPONENT_SIG);
    let mut none = base.clone();
    none.remove("x-component-sig");
    assert_eq!(
        v.verify(&request(&none, BODY)),
        Err(VerifyError::MissingHeader("x-component-sig"))
    );
    for bad in [
        "",
        "0x",
        "0xzz",
        &COMPONENT_SIG[..100],
        &format!("{COMPONENT_SIG}00"),
    ] {
        let h = headers_with(&base, "x-component-sig", bad);
        assert_eq!(
            v.verify(&request(&h, BODY)),
            Err(VerifyError::MalformedHeader("x-component-sig")),
            "{bad:?}"
        );
    }
    let v2 = headers_with(&base, "x-component-sig-version", "2");
    assert_eq!(v.verify(&request(&v2, BODY)), Err(VerifyError::NoSignature));
    let other_key = "0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    assert_eq!(
        verifier(PaymentKitComponent, &[other_key], T).verify(&request(&base, BODY)),
        Err(VerifyError::Mismatch)
    );
    verifier(PaymentKitComponent, &[other_key, APP_PK], T)
        .verify(&request(&base, BODY))
        .unwrap();
}

#[test]
fn component_keys_are_checked() {
    assert!(Verifier::builder(PaymentKitComponent)
        .secret("0x1234")
        .build()
        .is_err());
    assert!(Verifier::builder(PaymentKitComponent)
        .secret(APP_SK)
        .build()
        .is_err());
    // A 64-byte secret key whose public half is not its own.
    let mismatched = format!("{}{}", &APP_SK[..66], "11".repeat(32));
    assert!(Signer::new(PaymentKitComponent, &mismatched).is_err());
}

fn headers_with(base: &HeaderMap, name: &'static str, value: &str) -> HeaderMap {
    let mut headers = base.clone();
    headers.insert(name, HeaderValue::from_str(value).unwrap());
    headers
}

// ---------------------------------------------------------------------------------------------
// Tolerance edges for every timestamped scheme (reliability.md B01, B02)
// ---------------------------------------------------------------------------------------------

fn assert_edges<S: Scheme + Copy>(scheme: S, verify_key: &str, headers: &HeaderMap) {
    for (offset, expected) in [
        (0, Ok(())),
        (300, Ok(())),
        (-300, Ok(())),
        (299, Ok(())),
        (-299, Ok(())),
        (301, Err(VerifyError::TimestampTooOld)),
        (-301, Err(VerifyError::TimestampInFuture)),
    ] {
        let clock = ManualClock::new(T + offset);
        let v = Verifier::builder(scheme)
            .secret(verify_key)
            .clock(clock)
            .build()
            .unwrap();
        assert_eq!(
            v.verify(&request(headers, BODY)).map(drop),
            expected,
            "{} at now = T{offset:+}",
            scheme.name()
        );
    }
}

#[test]
fn tolerance_edges_for_every_timestamped_scheme() {
    let u = unsigned("msg_test_123", "x", T, BODY);
    assert_edges(Stripe, STRIPE_SECRET, &sign(Stripe, STRIPE_SECRET, &u));
    assert_edges(PaymentKit, "pk", &sign(PaymentKit, "pk", &u));
    assert_edges(
        StandardWebhooks,
        SW_SECRET,
        &sign(StandardWebhooks, SW_SECRET, &u),
    );
    assert_edges(
        StandardWebhooks,
        SW_PUBLIC,
        &sign(StandardWebhooks, SW_SEED, &u),
    );
    assert_edges(
        PaymentKitComponent,
        APP_PK,
        &component_headers(COMPONENT_SIG),
    );
}

#[test]
fn stale_timestamps_cost_no_signature_check() {
    // A stale request with a garbage signature reports the timestamp, proving the window is
    // checked first.
    let garbage = format!("t={T},v1={}", "0".repeat(64));
    let headers = headers(&[("stripe-signature", &garbage)]);
    assert_eq!(
        verifier(Stripe, &[STRIPE_SECRET], T + 301).verify(&request(&headers, BODY)),
        Err(VerifyError::TimestampTooOld)
    );
}

#[test]
fn test_sender_deliveries_verify_for_every_scheme() {
    use webhook_core::test_util::TestSender;

    fn check<S: Scheme + Copy>(scheme: S, signing: &str, verifying: &str) {
        let sender = TestSender::new(scheme, signing)
            .unwrap()
            .path("/hooks/in?tenant=a+b&x=1");
        let request = sender
            .event("evt_1", "issues.opened", r#"{"id":"pi_1","amount":"1000"}"#)
            .at(T)
            .request()
            .unwrap();
        let signed = SignedRequest {
            method: request.method(),
            path: request.uri().path(),
            query: request.uri().query(),
            headers: request.headers(),
            body: request.body(),
        };
        verifier(scheme, &[verifying], T)
            .verify(&signed)
            .unwrap_or_else(|e| panic!("{}: {e}", scheme.name()));
    }
    check(Stripe, STRIPE_SECRET, STRIPE_SECRET);
    check(PaymentKit, STRIPE_SECRET, STRIPE_SECRET);
    check(StandardWebhooks, SW_SECRET, SW_SECRET);
    check(StandardWebhooks, SW_SEED, SW_PUBLIC);
    check(GitHub, "s3cret", "s3cret");
    check(PaymentKitComponent, APP_SK, APP_PK);
    check(PaymentKitComponentV0, APP_SK, APP_PK);
}

#[test]
fn oversized_headers_are_refused_without_verifying() {
    // reliability.md A10b: 1,000 entries or a 64 KB header end in a bounded refusal.
    let junk = "0".repeat(64);
    let stripe = format!("t={T}{}", format!(",v1={junk}").repeat(1000));
    assert!(stripe.len() > 64 * 1024);
    let h = headers(&[("stripe-signature", &stripe)]);
    assert_eq!(
        verifier(Stripe, &[STRIPE_SECRET], T).verify(&request(&h, BODY)),
        Err(VerifyError::TooManySignatures)
    );
    let standard = vec![SW_NEGATIVE; 1000].join(" ");
    let h = sw_headers(SW_ID, SW_TS, &standard);
    assert_eq!(
        verifier(StandardWebhooks, &[SW_SECRET], SW_TS).verify(&request(&h, SW_PAYLOAD)),
        Err(VerifyError::TooManySignatures)
    );
    let mut h = gh_headers(&format!("sha256={junk}"), "push");
    for _ in 0..1000 {
        h.append(
            "x-hub-signature-256",
            HeaderValue::from_str(&format!("sha256={junk}")).unwrap(),
        );
    }
    assert_eq!(
        verifier(GitHub, &["s"], T).verify(&request(&h, BODY)),
        Err(VerifyError::TooManySignatures)
    );
    let long = format!("0x{}", "ab".repeat(32 * 1024));
    let h = headers_with(&component_headers(COMPONENT_SIG), "x-component-sig", &long);
    assert_eq!(
        verifier(PaymentKitComponent, &[APP_PK], T).verify(&request(&h, BODY)),
        Err(VerifyError::MalformedHeader("x-component-sig"))
    );
}
