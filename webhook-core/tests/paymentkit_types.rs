//! The typed PaymentKit objects decode realistic payloads, tolerate what a newer sender adds,
//! and reach handlers through `Event<T>`.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use time::macros::datetime;
use webhook_core::paymentkit::{
    self, Amount, CheckoutMode, CheckoutPaymentStatus, CheckoutSession, CheckoutSessionStatus,
    CreatedVia, CreditGrant, CreditGrantCategory, CreditGrantChainStatus, CreditGrantStatus,
    CreditTransaction, Customer, EventBody, Invoice, InvoiceStatus, Meter, MeterEvent,
    MeterEventStatus, NftMintStatus, PaymentIntent, PaymentIntentStatus, Refund, RefundReason,
    RefundStatus, RefundType, Subscription, SubscriptionStatus, TransferStatus,
};
use webhook_core::signature::{PaymentKit, Verified, Verifier};
use webhook_core::test_util::TestSender;
use webhook_core::{on_event, Envelope, Event, HandlerError, MemoryStore, Receiver};

const PAYMENT_INTENT: &str = include_str!("fixtures/paymentkit/payment_intent.json");
const CHECKOUT_SESSION: &str = include_str!("fixtures/paymentkit/checkout_session.json");
const SUBSCRIPTION: &str = include_str!("fixtures/paymentkit/subscription.json");
const CUSTOMER: &str = include_str!("fixtures/paymentkit/customer.json");
const INVOICE: &str = include_str!("fixtures/paymentkit/invoice.json");
const REFUND: &str = include_str!("fixtures/paymentkit/refund.json");
const CREDIT_GRANT: &str = include_str!("fixtures/paymentkit/credit_grant.json");
const CREDIT_TRANSACTION: &str = include_str!("fixtures/paymentkit/credit_transaction.json");
const METER: &str = include_str!("fixtures/paymentkit/meter.json");
const METER_EVENT: &str = include_str!("fixtures/paymentkit/meter_event.json");
const SUBSCRIPTION_UPDATED: &str =
    include_str!("fixtures/paymentkit/event_subscription_updated.json");

fn decode<T: DeserializeOwned>(json: &str) -> T {
    match serde_json::from_str(json) {
        Ok(value) => value,
        Err(error) => panic!(
            "fixture does not decode into {}: {error}",
            std::any::type_name::<T>()
        ),
    }
}

/// The fixture with `edit` applied to its JSON.
fn edited(json: &str, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut value: Value = serde_json::from_str(json).unwrap();
    edit(value.as_object_mut().unwrap());
    value.to_string()
}

/// Serializing and decoding again gives the same value: `Serialize` mirrors `Deserialize`.
fn assert_round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let json = serde_json::to_string(value).unwrap();
    let again: T = decode(&json);
    assert_eq!(&again, value);
}

#[test]
fn payment_intent_decodes() {
    let intent: PaymentIntent = decode(PAYMENT_INTENT);
    assert_eq!(intent.id, "pi_Zr3bN8mQ2xYkT5vLcW9eHd4A");
    assert!(!intent.livemode);
    assert_eq!(intent.amount.as_str(), "15000000000000000000");
    assert_eq!(
        intent.amount_received,
        Some(Amount::new("15000000000000000000"))
    );
    assert_eq!(intent.currency_id, "pc_9D2kFhVqLbX1");
    assert_eq!(intent.customer_id.as_deref(), Some("cus_Mx7Qp2VwRk4Tz9Ln"));
    assert_eq!(intent.status, PaymentIntentStatus::Succeeded);
    assert_eq!(intent.payment_method_types, ["arcblock"]);
    assert_eq!(intent.metadata["order_id"], "ord_10442");
    assert_eq!(intent.last_payment_error, None);
    assert_eq!(intent.canceled_at, None);
    let arcblock = intent
        .payment_details
        .as_ref()
        .and_then(|d| d.arcblock.as_ref())
        .unwrap();
    assert_eq!(
        arcblock.payer.as_deref(),
        Some("z1muQ3xqHQK2uiACHyChikobsiY5kLqtShA")
    );
    assert_eq!(arcblock.kind.as_deref(), Some("transfer"));
    assert_eq!(intent.beneficiaries.len(), 1);
    assert_eq!(intent.beneficiaries[0].share, "100");
    assert_eq!(intent.created_at, datetime!(2024-03-05 08:21:44.123 UTC));
    assert_eq!(intent.updated_at, datetime!(2024-03-05 08:22:10.456 UTC));
    assert_round_trip(&intent);
}

#[test]
fn checkout_session_decodes() {
    let session: CheckoutSession = decode(CHECKOUT_SESSION);
    assert_eq!(session.id, "cs_live_a1B2c3D4e5F6g7H8i9J0kLmN");
    assert!(session.livemode);
    assert_eq!(session.mode, CheckoutMode::Subscription);
    assert_eq!(session.status, CheckoutSessionStatus::Complete);
    assert_eq!(session.payment_status, CheckoutPaymentStatus::Paid);
    assert_eq!(session.amount_total.as_str(), "18000000000000000000");
    assert_eq!(
        session.subscription_id.as_deref(),
        Some("sub_Hn4Bv8Cx2Zl6Kj9P")
    );
    assert_eq!(session.payment_intent_id, None);
    assert_eq!(session.line_items.len(), 2);
    assert_eq!(session.line_items[1].price_id, "price_Xc3Vb6Nm1Qw8");
    assert_eq!(session.line_items[1].quantity, 2);
    assert_eq!(
        session.line_items[1].custom_amount,
        Some(Amount::new("2500000000000000000"))
    );
    assert_eq!(session.expires_at, 1_709_713_304);
    assert_eq!(session.nft_mint_status, Some(NftMintStatus::Minted));
    assert_eq!(session.nft_mint_details.as_ref().unwrap().chain, "arcblock");
    assert_eq!(
        session.customer_details.as_ref().unwrap().email.as_deref(),
        Some("ada@example.com")
    );
    let data = session.subscription_data.as_ref().unwrap();
    assert_eq!(data.trial_period_days, Some(7));
    assert_eq!(data.metadata["tier"], "pro");
    assert_eq!(session.discounts[0].coupon.as_deref(), Some("co_Spring10"));
    assert_eq!(session.created_via, Some(CreatedVia::Portal));
    assert_round_trip(&session);
}

#[test]
fn subscription_decodes() {
    let subscription: Subscription = decode(SUBSCRIPTION);
    assert_eq!(subscription.id, "sub_Hn4Bv8Cx2Zl6Kj9P");
    assert_eq!(subscription.status, SubscriptionStatus::PastDue);
    assert_eq!(subscription.customer_id, "cus_Mx7Qp2VwRk4Tz9Ln");
    assert_eq!(subscription.current_period_start, 1_709_625_600);
    assert_eq!(subscription.current_period_end, 1_712_304_000);
    assert!(subscription.cancel_at_period_end);
    assert_eq!(subscription.cancel_at, Some(1_712_304_000));
    let details = subscription.cancelation_details.as_ref().unwrap();
    assert_eq!(
        details
            .reason
            .as_ref()
            .map(paymentkit::CancelationReason::as_str),
        Some("cancellation_requested")
    );
    // `"other"` is a documented feedback value, not an unknown one.
    assert_eq!(
        details
            .feedback
            .as_ref()
            .map(paymentkit::CancelationFeedback::as_str),
        Some("other")
    );
    assert!(!matches!(
        details.feedback,
        Some(paymentkit::CancelationFeedback::Other(_))
    ));
    let pause = subscription.pause_collection.as_ref().unwrap();
    assert_eq!(pause.behavior, Some(paymentkit::PauseBehavior::KeepAsDraft));
    assert_eq!(
        subscription
            .pending_invoice_item_interval
            .as_ref()
            .unwrap()
            .interval
            .as_deref(),
        Some("month")
    );
    let staking = subscription
        .payment_details
        .as_ref()
        .and_then(|d| d.arcblock.as_ref())
        .and_then(|a| a.staking.as_ref())
        .unwrap();
    assert_eq!(
        staking.address.as_deref(),
        Some("zrjwTYm9ZJY3uRRUHvhP2Y7L3dSBw3UVPJVS")
    );
    assert_eq!(subscription.ended_at, None);
    assert_round_trip(&subscription);
}

#[test]
fn customer_decodes() {
    let customer: Customer = decode(CUSTOMER);
    assert_eq!(customer.id, "cus_Mx7Qp2VwRk4Tz9Ln");
    assert_eq!(customer.did, "z1muQ3xqHQK2uiACHyChikobsiY5kLqtShA");
    assert_eq!(customer.email.as_deref(), Some("ada@example.com"));
    assert_eq!(
        customer.address.as_ref().unwrap().postal_code.as_deref(),
        Some("SW1Y 4JH")
    );
    assert_eq!(customer.shipping, None);
    assert_eq!(customer.token_balance["pc_Credit7Hx2"].as_str(), "150000");
    assert!(!customer.delinquent);
    assert_eq!(customer.next_invoice_sequence, Some(4));
    assert_eq!(customer.created_at, datetime!(2024-01-10 12:00 UTC));
    assert_round_trip(&customer);
}

#[test]
fn invoice_decodes() {
    let invoice: Invoice = decode(INVOICE);
    assert_eq!(invoice.id, "in_Ty6Pw3Nc8Rb2Kq5Z");
    assert_eq!(invoice.number.as_deref(), Some("6C7D2A1F-0003"));
    assert_eq!(invoice.status, InvoiceStatus::Paid);
    assert!(invoice.paid);
    assert_eq!(
        invoice.billing_reason,
        Some(paymentkit::BillingReason::SubscriptionCreate)
    );
    assert_eq!(invoice.total.as_str(), "15000000000000000000");
    assert_eq!(invoice.amount_remaining.as_str(), "0");
    assert_eq!(
        invoice.payment_intent_id.as_deref(),
        Some("pi_Zr3bN8mQ2xYkT5vLcW9eHd4A")
    );
    assert_eq!(invoice.period_start, 1_709_625_600);
    assert_eq!(invoice.attempt_count, 1);
    assert_eq!(invoice.custom_fields[0].value, "GB123456789");
    assert_eq!(
        invoice.status_transitions.as_ref().unwrap().paid_at,
        Some(1_709_626_950)
    );
    // `null` lists, maps and metadata decode as empty.
    assert!(invoice.ending_token_balance.is_empty());
    assert!(invoice.metadata.is_empty());
    assert_round_trip(&invoice);
}

#[test]
fn refund_decodes() {
    let refund: Refund = decode(REFUND);
    assert_eq!(refund.id, "re_Kp9Lm2Nb5Vc8Xz1Q");
    assert_eq!(refund.status, RefundStatus::Succeeded);
    assert_eq!(refund.reason, Some(RefundReason::Duplicate));
    assert_eq!(refund.refund_type, Some(RefundType::Refund));
    assert_eq!(refund.amount.as_str(), "15000000000000000000");
    assert_eq!(refund.payment_intent_id, "pi_Zr3bN8mQ2xYkT5vLcW9eHd4A");
    assert_eq!(refund.subscription_id, None);
    assert_eq!(refund.metadata["ticket"], "SUP-3141");
    assert_round_trip(&refund);
}

#[test]
fn credit_objects_decode() {
    let grant: CreditGrant = decode(CREDIT_GRANT);
    assert_eq!(grant.id, "cgr_Vb3Nm6Qw9Er2Ty5U");
    assert_eq!(grant.category, CreditGrantCategory::Paid);
    assert_eq!(grant.status, CreditGrantStatus::Depleted);
    assert_eq!(grant.amount.as_str(), "1000000");
    assert_eq!(grant.remaining_amount.as_str(), "0");
    assert_eq!(
        grant.chain_status,
        Some(CreditGrantChainStatus::MintCompleted)
    );
    assert_eq!(grant.expires_at, Some(1_741_162_950));
    let scope = grant
        .applicability_config
        .as_ref()
        .and_then(|c| c.scope.as_ref())
        .unwrap();
    assert_eq!(scope.price_type.as_deref(), Some("metered"));
    assert!(scope.prices.is_empty());
    assert_round_trip(&grant);

    let transaction: CreditTransaction = decode(CREDIT_TRANSACTION);
    assert_eq!(transaction.credit_grant_id, grant.id);
    assert_eq!(transaction.credit_amount.as_str(), "1200");
    assert_eq!(transaction.remaining_balance.as_str(), "998800");
    assert_eq!(transaction.transfer_status, Some(TransferStatus::Completed));
    assert_round_trip(&transaction);

    let meter: Meter = decode(METER);
    assert_eq!(meter.event_name, "ai_tokens");
    assert_eq!(meter.aggregation_method, paymentkit::AggregationMethod::Sum);
    assert_eq!(meter.created_via, Some(CreatedVia::Dashboard));
    assert_round_trip(&meter);

    let event: MeterEvent = decode(METER_EVENT);
    assert_eq!(event.status, MeterEventStatus::Completed);
    assert_eq!(event.payload.customer_id, "cus_Mx7Qp2VwRk4Tz9Ln");
    assert_eq!(event.payload.value.as_str(), "1200");
    assert_eq!(event.timestamp, 1_709_724_598);
    assert_eq!(event.credit_consumed.as_str(), "1200");
    assert!(event.source_data.as_ref().is_some_and(Value::is_array));
    assert_round_trip(&event);
}

#[test]
fn unknown_fields_are_ignored() {
    let json = edited(PAYMENT_INTENT, |object| {
        object.insert("risk_score".into(), json!(12));
        object.insert(
            "routing".into(),
            json!({ "provider": "abt", "hops": [1, 2] }),
        );
        object["payment_details"]["arcblock"]["confirmations"] = json!(6);
    });
    let intent: PaymentIntent = decode(&json);
    assert_eq!(intent, decode::<PaymentIntent>(PAYMENT_INTENT));
}

#[test]
fn unknown_enum_values_are_kept() {
    let json = edited(PAYMENT_INTENT, |object| {
        object.insert("status".into(), json!("requires_review"));
        object.insert("capture_method".into(), json!("automatic_async"));
    });
    let intent: PaymentIntent = decode(&json);
    assert_eq!(
        intent.status,
        PaymentIntentStatus::Other("requires_review".to_owned())
    );
    assert_eq!(intent.status.as_str(), "requires_review");
    assert_eq!(intent.status.to_string(), "requires_review");
    assert_eq!(
        intent
            .capture_method
            .as_ref()
            .map(paymentkit::CaptureMethod::as_str),
        Some("automatic_async")
    );

    // Serialized back unchanged.
    let value = serde_json::to_value(&intent).unwrap();
    assert_eq!(value["status"], "requires_review");
    assert_eq!(value["capture_method"], "automatic_async");

    let json = edited(SUBSCRIPTION, |object| {
        object.insert("status".into(), json!("suspended"));
    });
    let subscription: Subscription = decode(&json);
    assert_eq!(
        subscription.status,
        SubscriptionStatus::Other("suspended".to_owned())
    );
}

#[test]
fn known_enum_values_never_become_other() {
    assert_eq!(
        PaymentIntentStatus::from("succeeded"),
        PaymentIntentStatus::Succeeded
    );
    assert_eq!(
        PaymentIntentStatus::from(String::from("canceled")),
        PaymentIntentStatus::Canceled
    );
    assert_eq!(
        RefundStatus::from("weird"),
        RefundStatus::Other("weird".to_owned())
    );
    let status: CheckoutSessionStatus = serde_json::from_str(r#""expired""#).unwrap();
    assert_eq!(status, CheckoutSessionStatus::Expired);
    // Statuses are strings: a number is an error, not `Other`.
    assert!(serde_json::from_str::<InvoiceStatus>("3").is_err());
}

#[test]
fn amounts_stay_text() {
    // A float would round this amount; the text is kept exactly.
    let amount: Amount = serde_json::from_str(r#""123456789012345678901234567890""#).unwrap();
    assert_eq!(amount.as_str(), "123456789012345678901234567890");
    assert_eq!(
        serde_json::to_string(&amount).unwrap(),
        r#""123456789012345678901234567890""#
    );
    // Integers are exact and accepted; floats are refused rather than guessed.
    let amount: Amount = serde_json::from_str("1000").unwrap();
    assert_eq!(amount.as_str(), "1000");
    assert!(serde_json::from_str::<Amount>("10.5").is_err());
}

#[test]
fn nulls_and_missing_optional_fields_decode() {
    let json = edited(REFUND, |object| {
        for key in [
            "description",
            "reason",
            "payment_details",
            "metadata",
            "type",
            "attempted",
        ] {
            object.insert(key.into(), Value::Null);
        }
        for key in [
            "starting_token_balance",
            "ending_token_balance",
            "attempt_count",
        ] {
            object.remove(key);
        }
    });
    let refund: Refund = decode(&json);
    assert_eq!(refund.description, None);
    assert_eq!(refund.reason, None);
    assert_eq!(refund.refund_type, None);
    assert!(refund.metadata.is_empty());
    assert!(!refund.attempted);
    assert_eq!(refund.attempt_count, 0);
    assert!(refund.starting_token_balance.is_empty());
}

#[test]
fn missing_required_field_is_an_error_naming_it() {
    let json = edited(PAYMENT_INTENT, |object| {
        object.remove("amount");
    });
    let error = serde_json::from_str::<PaymentIntent>(&json).unwrap_err();
    assert!(error.to_string().contains("`amount`"), "{error}");
}

#[test]
fn canceled_at_accepts_unix_seconds_and_iso_dates() {
    // The model declares a number but stores a date column.
    let json = edited(PAYMENT_INTENT, |object| {
        object.insert("canceled_at".into(), json!("2024-03-05T08:30:00.000Z"));
    });
    let intent: PaymentIntent = decode(&json);
    assert_eq!(intent.canceled_at, Some(1_709_627_400));
    assert_eq!(
        serde_json::to_value(&intent).unwrap()["canceled_at"],
        1_709_627_400
    );

    let json = edited(PAYMENT_INTENT, |object| {
        object.insert("canceled_at".into(), json!(1_709_627_400));
    });
    assert_eq!(
        decode::<PaymentIntent>(&json).canceled_at,
        Some(1_709_627_400)
    );

    let json = edited(PAYMENT_INTENT, |object| {
        object.insert("canceled_at".into(), json!("yesterday"));
    });
    assert!(serde_json::from_str::<PaymentIntent>(&json).is_err());
}

#[test]
fn event_catalogue_has_every_type_once_in_order() {
    let types = paymentkit::EVENT_TYPES;
    assert_eq!(types.len(), 214);
    assert!(
        types.windows(2).all(|pair| pair[0] < pair[1]),
        "sorted and unique"
    );
    assert!(paymentkit::event_types().eq(types.iter().copied()));
    let text = include_str!("../src/paymentkit/event-types.txt");
    assert!(
        text.lines().eq(types.iter().copied()),
        "EVENT_TYPES mirrors event-types.txt"
    );
    for known in [
        "payment_intent.succeeded",
        "checkout.session.completed",
        "checkout.session.nft_minted",
        "customer.subscription.renewed",
        "invoice.paid",
        "refund.succeeded",
        "customer.credit_grant.granted",
        "customer.credit.low_balance",
        "billing.discrepancy",
    ] {
        assert!(paymentkit::is_known_event_type(known), "{known}");
    }
    assert!(!paymentkit::is_known_event_type("payment_intent.exploded"));
    assert!(!paymentkit::is_known_event_type(""));
}

#[test]
fn envelope_object_decodes_into_an_event() {
    let body = Bytes::from_static(SUBSCRIPTION_UPDATED.as_bytes());
    let envelope = Envelope::parse(body, &Verified::default()).unwrap();
    assert_eq!(envelope.id(), "evt_T2UiJ2VHUxVo3J6BuULkrp15");
    assert_eq!(envelope.event_type(), "customer.subscription.updated");
    let object: Subscription = serde_json::from_slice(envelope.raw_object()).unwrap();
    let event = Event::new(Arc::new(envelope), object);
    assert_eq!(event.object().id, "sub_Hn4Bv8Cx2Zl6Kj9P");
    assert_eq!(event.object().status, SubscriptionStatus::PastDue);
    assert_eq!(
        event.created(),
        Some(datetime!(2024-04-05 08:30:00.512 UTC))
    );
    assert_eq!(event.livemode(), Some(false));
}

#[test]
fn whole_event_body_decodes() {
    let body: EventBody<Subscription> = decode(SUBSCRIPTION_UPDATED);
    assert_eq!(body.id, "evt_T2UiJ2VHUxVo3J6BuULkrp15");
    assert_eq!(body.event_type, "customer.subscription.updated");
    assert_eq!(body.object_type.as_deref(), Some("Subscription"));
    assert_eq!(
        body.object_id.as_deref(),
        Some(body.data.object.id.as_str())
    );
    assert_eq!(
        body.data.previous_attributes.as_ref().unwrap()["status"],
        "active"
    );
    assert_eq!(
        body.request.as_ref().unwrap().requested_by.as_deref(),
        Some("system")
    );
    assert_eq!(body.pending_webhooks, Some(2));
    assert_eq!(body.api_version.as_deref(), Some("2023-09-05"));
    assert_round_trip(&body);

    // The untyped default keeps the object as JSON.
    let body: EventBody = decode(SUBSCRIPTION_UPDATED);
    assert_eq!(body.data.object["status"], "past_due");
}

/// Intents the handler below received, in order.
static RECEIVED: Mutex<Vec<PaymentIntent>> = Mutex::new(Vec::new());

#[on_event("payment_intent.succeeded")]
async fn record_intent(event: Event<PaymentIntent>) -> Result<(), HandlerError> {
    RECEIVED.lock().unwrap().push(event.into_object());
    Ok(())
}

#[tokio::test]
async fn signed_delivery_reaches_a_typed_handler() {
    const SECRET: &str = "whsec_paymentkit_types";
    let receiver = Receiver::builder()
        .verifier(
            Verifier::builder(PaymentKit)
                .secret(SECRET)
                .build()
                .unwrap(),
        )
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let sender = TestSender::new(PaymentKit, SECRET).unwrap();

    let delivery = sender.event(
        "evt_9VbN3mQ7xLp2",
        "payment_intent.succeeded",
        PAYMENT_INTENT,
    );
    let receipt = receiver.receive(delivery.request().unwrap()).await.unwrap();
    assert_eq!(receipt.ran(), ["paymentkit_types::record_intent"]);

    let received = RECEIVED.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0], decode::<PaymentIntent>(PAYMENT_INTENT));
    assert_eq!(received[0].status, PaymentIntentStatus::Succeeded);
}
