//! Shared code of the benchmarks: realistic event payloads and the hand-written receiver every
//! framework figure is compared with.
//!
//! The hand-written receiver lives here, not in a bench file, so the in-process benches and the
//! HTTP baseline server (`baseline_server`) measure exactly the same code. It is written the way
//! a careful engineer would write one receiver by hand: no framework, no shortcuts that change
//! what is checked, and no deliberate slowness either.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use http::HeaderMap;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::Sha256;

#[cfg(feature = "server-benches")]
pub mod postgres_direct;
#[cfg(feature = "server-benches")]
pub mod redis_direct;
#[cfg(feature = "server-benches")]
pub mod store_ops;

/// The framework side of the pipeline benches: a receiver with the PaymentKit verifier for
/// [`SECRET`] and a memory store, dispatching to the calling binary's `#[on_event]` handlers.
///
/// # Panics
/// Only if the receiver cannot be built, which with these fixed settings it always can.
#[must_use]
pub fn framework_receiver() -> webhook_core::Receiver {
    use webhook_core::signature::{PaymentKit, Verifier};
    webhook_core::Receiver::builder()
        .verifier(
            Verifier::builder(PaymentKit)
                .secret(SECRET)
                .build()
                .expect("verifier"),
        )
        .store(webhook_core::MemoryStore::new())
        .build()
        .expect("receiver")
}

/// The signing secret every benchmark uses.
pub const SECRET: &str = "whsec_bench_5f0c2d7e9a8b4c1d";
/// A Standard Webhooks secret (`whsec_` + base64 of 32 bytes).
pub const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo=";
/// The event type the benchmarks deliver; the demo receiver has a handler for it.
pub const EVENT_TYPE: &str = "payment_intent.succeeded";
/// The path the demo receiver and the baseline server answer on.
pub const PATH: &str = "/webhooks/paymentkit";
/// The PaymentKit signature header.
pub const SIGNATURE_HEADER: &str = "x-webhook-signature";
/// The accepted distance between the signed timestamp and now, in seconds (both directions).
pub const TOLERANCE: u64 = 300;

/// The small struct a handler decodes `data.object` into: the fields the demo's
/// `payment_intent.succeeded` handler reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Intent {
    /// The payment intent id.
    pub id: String,
    /// The amount, as PaymentKit sends it (a decimal string).
    pub amount: String,
    /// The currency.
    pub currency_id: String,
}

/// The body sizes measured: 1 KiB, 16 KiB and 256 KiB.
pub const SIZES: [(&str, usize); 3] =
    [("1KiB", 1024), ("16KiB", 16 * 1024), ("256KiB", 256 * 1024)];

/// The envelope [`webhook_core::test_util::TestSender::event`] wraps around an object; kept in
/// step with it so the size arithmetic below is exact.
fn envelope_len(id: &str, event_type: &str) -> usize {
    format!(
        r#"{{"id":"{id}","object":"event","type":"{event_type}","livemode":false,"created_at":"2023-11-14T22:13:20.000Z","data":{{"object":}}}}"#
    )
    .len()
}

/// The JSON of a realistic payment intent whose event body (as built by `TestSender::event`
/// with event id `event_id`) is `body_len` bytes long, or as close above it as the fixed fields
/// allow.
///
/// The bulk of a large event is where it is in real traffic: inside `data.object` (line items
/// and metadata), which the handler's small struct skips.
#[must_use]
pub fn object_json(event_id: &str, seq: u64, body_len: usize) -> String {
    let head = format!(
        r#"{{"id":"pi_{seq:012}","object":"payment_intent","amount":"2500","amount_received":"2500","currency_id":"usd","status":"succeeded","customer_id":"cus_000000000042","payment_method_types":["card"],"livemode":false,"created_at":"2023-11-14T22:13:20.000Z","updated_at":"2023-11-14T22:13:21.000Z","metadata":{{"order_id":"ord_{seq:08}","channel":"web"}},"line_items":["#
    );
    let budget = body_len.saturating_sub(envelope_len(event_id, EVENT_TYPE));
    let mut object = head;
    let mut item = 0u64;
    loop {
        let next = format!(
            r#"{}{{"id":"li_{seq:08}_{item:05}","price_id":"price_{item:06}","quantity":{q},"unit_amount":"1250","amount":"{a}","description":"Line item {item}","tax_rates":[{{"id":"txr_1","percentage":7.25,"inclusive":false}}]}}"#,
            if item == 0 { "" } else { "," },
            q = item % 7 + 1,
            a = 1250 * (item % 7 + 1),
        );
        // Leave room for the closing `],"description":"..."}`.
        if item > 0 && object.len() + next.len() + 20 > budget {
            break;
        }
        object.push_str(&next);
        item += 1;
    }
    object.push_str(r#"],"description":""#);
    let pad = budget.saturating_sub(object.len() + 2);
    object.extend(std::iter::repeat_n('x', pad));
    object.push_str("\"}");
    object
}

/// Why the hand-written receiver refused a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Missing or garbled signature header, stale timestamp, or no matching signature (401).
    Unauthenticated,
    /// Not a JSON event, or an object that does not decode (400).
    Malformed,
}

/// What the hand-written receiver did with an authentic delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The handler ran.
    Handled,
    /// The event id was seen before; nothing ran.
    Duplicate,
    /// No handler for the event type.
    Ignored,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(borrow)]
    data: Data<'a>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(borrow)]
    object: &'a RawValue,
}

/// A receiver for PaymentKit/Stripe-style `t=<unix>,v1=<hex>` deliveries, written by hand:
/// check the HMAC-SHA256 signature and the timestamp, parse the envelope, check a dedupe set,
/// decode `data.object` into [`Intent`] and call the handler.
#[derive(Debug)]
pub struct HandWritten {
    key: Hmac<Sha256>,
    seen: Mutex<HashSet<String>>,
}

impl HandWritten {
    /// A receiver for `secret` (used as UTF-8 key bytes, as PaymentKit and Stripe do).
    #[must_use]
    pub fn new(secret: &str) -> Self {
        Self {
            // The key schedule is computed once, as a careful hand-written receiver would.
            key: Hmac::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!()),
            seen: Mutex::new(HashSet::new()),
        }
    }

    /// Check the signature header of `headers` over `body`.
    ///
    /// # Errors
    /// [`Rejected::Unauthenticated`] when it does not verify.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), Rejected> {
        verify_timestamped(&self.key, SIGNATURE_HEADER, headers, body)
    }

    /// Process one delivery; `handler` runs for new `payment_intent.succeeded` events, with
    /// their object decoded into `T`.
    ///
    /// # Errors
    /// [`Rejected`] saying why the delivery was refused.
    pub fn receive<T: DeserializeOwned>(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        handler: impl FnOnce(&str, T),
    ) -> Result<Outcome, Rejected> {
        self.verify(headers, body)?;
        let envelope: Envelope<'_> =
            serde_json::from_slice(body).map_err(|_| Rejected::Malformed)?;
        if envelope.event_type != EVENT_TYPE {
            return Ok(Outcome::Ignored);
        }
        // Claim the id first, so a duplicate costs no decoding.
        let fresh = self
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(envelope.id.clone());
        if !fresh {
            return Ok(Outcome::Duplicate);
        }
        match serde_json::from_str::<T>(envelope.data.object.get()) {
            Ok(intent) => {
                handler(&envelope.id, intent);
                Ok(Outcome::Handled)
            }
            Err(_) => {
                // Forget the claim so the sender's retry is processed.
                self.seen
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&envelope.id);
                Err(Rejected::Malformed)
            }
        }
    }
}

/// Check a `t=<unix>,v1=<hex>[,v1=..]` header named `header` (PaymentKit, Stripe) over `body`
/// with plain `hmac` + `sha2`, as a hand-written receiver would.
///
/// # Errors
/// [`Rejected::Unauthenticated`] when it does not verify.
pub fn verify_timestamped(
    key: &Hmac<Sha256>,
    header: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Rejected> {
    let header = headers
        .get(header)
        .ok_or(Rejected::Unauthenticated)?
        .as_bytes();
    let mut timestamp: Option<&[u8]> = None;
    let mut signatures: Vec<[u8; 32]> = Vec::new();
    for item in header.split(|&b| b == b',') {
        if let Some(t) = item.strip_prefix(b"t=") {
            timestamp = Some(t);
        } else if let Some(hex) = item.strip_prefix(b"v1=") {
            let mut signature = [0u8; 32];
            if hex::decode_to_slice(hex, &mut signature).is_ok() {
                signatures.push(signature);
            }
        }
    }
    let timestamp_text = timestamp.ok_or(Rejected::Unauthenticated)?;
    let timestamp: u64 = std::str::from_utf8(timestamp_text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(Rejected::Unauthenticated)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Rejected::Unauthenticated)?
        .as_secs();
    if now.abs_diff(timestamp) > TOLERANCE {
        return Err(Rejected::Unauthenticated);
    }
    let mut mac = key.clone();
    mac.update(timestamp_text);
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize();
    // `CtOutput` compares in constant time.
    if signatures
        .iter()
        .any(|signature| hmac::digest::CtOutput::new((*signature).into()) == tag)
    {
        Ok(())
    } else {
        Err(Rejected::Unauthenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use webhook_core::signature::PaymentKit;
    use webhook_core::test_util::TestSender;

    #[test]
    fn payloads_have_the_requested_size_and_decode() {
        let sender = TestSender::new(PaymentKit, SECRET).unwrap();
        for (_, size) in SIZES {
            let id = "evt_000000000001";
            let object = object_json(id, 1, size);
            let delivery = sender.event(id, EVENT_TYPE, &object);
            let len = delivery.body().len();
            assert!((size..size + 8).contains(&len), "{size}: {len}");
            let intent: Intent = serde_json::from_str(&object).unwrap();
            assert_eq!(intent.id, "pi_000000000001");
            // The demo's handler decodes the full PaymentKit type.
            let full: webhook_core::paymentkit::PaymentIntent =
                serde_json::from_str(&object).unwrap();
            assert_eq!(full.id, "pi_000000000001");
        }
    }

    #[test]
    fn hand_written_receiver_verifies_dedupes_and_rejects() {
        let sender = TestSender::new(PaymentKit, SECRET).unwrap();
        let receiver = HandWritten::new(SECRET);
        let object = object_json("evt_1", 1, 1024);
        let request = sender
            .event("evt_1", EVENT_TYPE, &object)
            .request()
            .unwrap();
        let mut ran = Vec::new();
        let outcome = receiver.receive(request.headers(), request.body(), |_, i: Intent| {
            ran.push(i.id);
        });
        assert_eq!(outcome, Ok(Outcome::Handled));
        assert_eq!(ran, ["pi_000000000001"]);
        let again = receiver.receive(
            request.headers(),
            request.body(),
            |_, _: Intent| unreachable!(),
        );
        assert_eq!(again, Ok(Outcome::Duplicate));

        let forged = TestSender::new(PaymentKit, "whsec_other").unwrap();
        let request = forged
            .event("evt_2", EVENT_TYPE, &object)
            .request()
            .unwrap();
        let refused = receiver.receive(
            request.headers(),
            request.body(),
            |_, _: Intent| unreachable!(),
        );
        assert_eq!(refused, Err(Rejected::Unauthenticated));

        let stale = sender.event("evt_3", EVENT_TYPE, &object).at(1_000_000_000);
        let request = stale.request().unwrap();
        let refused = receiver.receive(
            request.headers(),
            request.body(),
            |_, _: Intent| unreachable!(),
        );
        assert_eq!(refused, Err(Rejected::Unauthenticated));

        let request = sender.event("evt_4", EVENT_TYPE, "[]").request().unwrap();
        let refused = receiver.receive(
            request.headers(),
            request.body(),
            |_, _: Intent| unreachable!(),
        );
        assert_eq!(refused, Err(Rejected::Malformed));
        // A malformed object leaves no claim behind.
        assert!(!receiver.seen.lock().unwrap().contains("evt_4"));
    }
}
