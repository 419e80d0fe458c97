//! Sample PaymentKit events of realistic shape, one for every type in the catalogue.
//!
//! ```
//! use webhook_core::paymentkit::PaymentIntent;
//! use webhook_core::test_util::fixtures::{sample_event, sample_object};
//!
//! let object = sample_object("payment_intent.succeeded").unwrap();
//! let intent: PaymentIntent = serde_json::from_value(object)?;
//! assert_eq!(intent.status.as_str(), "succeeded");
//!
//! let body = sample_event("evt_1", "payment_intent.succeeded").unwrap();
//! assert!(body.contains(r#""type":"payment_intent.succeeded""#));
//! assert_eq!(sample_object("not.a.paymentkit.type"), None);
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! The samples describe one consistent world: one customer (`cus_…`, with a DID) pays in one
//! token currency (`pc_…`, 18 decimals, amounts as decimal strings), subscribes to one price,
//! is invoiced, pays, and is refunded; every event of a family shows the same object (the
//! same `pi_…` through `payment_intent.created` to `.succeeded`) in the state its type
//! implies, and objects refer to each other by these ids. Every sample is the same on every
//! call, so tests can assert on its values; the envelope is stamped
//! `2023-11-14T22:13:20.000Z` (Unix 1 700 000 000), like [`TestSender::event`](super::TestSender::event).
//!
//! Where the event type carries a typed object ([`object_kind`]), the sample decodes into
//! that type. The other types (Stripe's, copied into PaymentKit's catalogue, and PaymentKit's
//! undocumented `customer.credit.*`, `billing.discrepancy`, `usage.report.empty` and
//! `exchange_rate.*`) get an object in PaymentKit's conventions (`id`, `object`, `livemode`,
//! `metadata`, `currency_id`, decimal-string amounts, RFC 3339 `created_at`): plausible, but
//! not a promise of what the sender emits.

use serde_json::{json, Map, Value};
use time::macros::format_description;
use time::OffsetDateTime;

use crate::paymentkit::{is_known_event_type, object_kind, ObjectKind};

/// When every sample event was created (Unix seconds): `2023-11-14T22:13:20Z`.
pub const EVENT_TIME: i64 = 1_700_000_000;
/// When the sample objects were first created: 30 days before the event.
const CREATED: i64 = EVENT_TIME - 30 * DAY;
const DAY: i64 = 86_400;
/// The current billing period of the sample subscription.
const PERIOD_START: i64 = 1_699_315_200; // 2023-11-07T00:00:00Z
const PERIOD_END: i64 = PERIOD_START + 30 * DAY;

// One world of ids, shared by every family, so objects refer to each other consistently.
const CUSTOMER: &str = "cus_Q8fR3tXkLm2Vb9Wc";
const CUSTOMER_DID: &str = "z1muQ3xqHQK2uiACHyChikobsiY5kLqtShA";
const MERCHANT_DID: &str = "zNKtCNqYWLYWYW3gWRA1vnRykfCBZYHZvzKr";
const CURRENCY: &str = "pc_9Rk2Lw7sXbT4HaQe";
const CREDIT_CURRENCY: &str = "pc_Cr3d1tUn1tM8bXz4";
const PAYMENT_METHOD: &str = "pm_4Jd8Zq1YcWn6PsEo";
const PRODUCT: &str = "prod_7Gh2Kt9LxQ3VmRf";
const PRICE: &str = "price_Hs6Dw2Pq8Zk1NbTy";
const PAYMENT_LINK: &str = "plink_Vb3Xq8Lm1Rt6WzKa";
const PAYMENT_INTENT: &str = "pi_3NvT8kQ2bL6xZaYd";
const INVOICE: &str = "in_6Yp1Rm4WcH8sKdJu";
const SUBSCRIPTION: &str = "sub_2Lk9Wf5TqB7nXeGh";
const CHECKOUT_SESSION: &str = "cs_5Tb8Nq2Xw4Lm9RcVp";
const REFUND: &str = "re_1Qx7Vd3Mk9Hp2SfLa";
const CREDIT_GRANT: &str = "cgr_8Wm3Zt6Qx1Lb4NdKe";
const CHARGE: &str = "ch_9Kp2Xm7Rt4Wq1VbZs";
const TX_HASH: &str = "8F1C0E6A5B2D4C9E7A3F6B1D8C2E5A9F0B4D7C1E6A3F8B2D5C9E0A7F4B1D6C3E";
const REFUND_TX_HASH: &str = "2B7E4A9C1F6D3B8E5A0C7F2D9B4E6A1C8F3D0B5E7A2C9F4D1B6E3A8C5F0D7B2E";
/// One token of the sample currency (18 decimals).
const PRICE_AMOUNT: &str = "9900000000000000000";

/// The `data.object` of a `event_type` event, or `None` when the type is not in PaymentKit's
/// catalogue ([`EVENT_TYPES`](crate::paymentkit::EVENT_TYPES)).
///
/// For a type that carries a typed object ([`object_kind`]) the sample decodes into it; the
/// [module documentation](self) describes the others.
#[must_use]
pub fn sample_object(event_type: &str) -> Option<Value> {
    if !is_known_event_type(event_type) {
        return None;
    }
    let action = event_type.rsplit('.').next().unwrap_or(event_type);
    Some(match object_kind(event_type) {
        Some(ObjectKind::PaymentIntent) => payment_intent(action),
        Some(ObjectKind::Subscription) => subscription(action),
        Some(ObjectKind::CheckoutSession) => checkout_session(action),
        Some(ObjectKind::Invoice) => invoice(action),
        Some(ObjectKind::Refund) => refund(action),
        Some(ObjectKind::Customer) => customer(action),
        Some(ObjectKind::CreditGrant) => credit_grant(action),
        None => untyped(event_type, action),
    })
}

/// The whole body PaymentKit would send for a `event_type` event with id `id`, or `None`
/// when the type is not in the catalogue.
///
/// The envelope has the fields of [`TestSender::event`](super::TestSender::event) (`id`,
/// `object`, `type`, `livemode`, `created_at`, `data.object`) plus the rest of PaymentKit's
/// event model ([`EventBody`](crate::paymentkit::EventBody)): `api_version`, `object_type`,
/// `object_id`, `pending_webhooks`, `request`, `metadata`, `updated_at`, and for `*.updated`
/// events `data.previous_attributes`.
#[must_use]
pub fn sample_event(id: &str, event_type: &str) -> Option<String> {
    let object = sample_object(event_type)?;
    Some(envelope(id, event_type, &object).to_string())
}

/// The envelope around `object`, as [`sample_event`] builds it.
pub(crate) fn envelope(id: &str, event_type: &str, object: &Value) -> Value {
    let object_id = object.get("id").cloned().unwrap_or(Value::Null);
    let object_type = object_kind(event_type).map(ObjectKind::model_name);
    let previous_attributes = if event_type.ends_with(".updated") {
        json!({ "metadata": {}, "updated_at": timestamp(CREATED) })
    } else {
        Value::Null
    };
    json!({
        "id": id,
        "object": "event",
        "type": event_type,
        "livemode": false,
        "api_version": "2023-09-05",
        "object_type": object_type,
        "object_id": object_id,
        "data": { "object": object, "previous_attributes": previous_attributes },
        "pending_webhooks": 1,
        "request": { "id": "req_Zt4Nw8Qb2Lx6Km1R", "idempotency_key": null, "requested_by": MERCHANT_DID },
        "metadata": {},
        "created_at": timestamp(EVENT_TIME),
        "updated_at": timestamp(EVENT_TIME),
    })
}

/// `unix` as PaymentKit writes times: RFC 3339 in UTC with milliseconds.
fn timestamp(unix: i64) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|time| time.format(&format).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_owned())
}

/// The fields every PaymentKit object has; `fields` adds the object's own.
fn object(id: Option<&str>, fields: Value) -> Value {
    let mut out = Map::new();
    if let Some(id) = id {
        out.insert("id".to_owned(), json!(id));
    }
    out.insert("livemode".to_owned(), json!(false));
    out.insert("metadata".to_owned(), json!({ "order_id": "ord_1042" }));
    out.insert("created_at".to_owned(), json!(timestamp(CREATED)));
    out.insert("updated_at".to_owned(), json!(timestamp(EVENT_TIME)));
    merge(Value::Object(out), fields)
}

/// `a` with the fields of `b` (json! nests too deeply for an invoice in one call).
fn merge(mut a: Value, b: Value) -> Value {
    if let (Value::Object(a), Value::Object(b)) = (&mut a, b) {
        a.extend(b);
    }
    a
}

fn arcblock_payment(kind: &str, tx_hash: &str) -> Value {
    json!({ "arcblock": { "tx_hash": tx_hash, "payer": CUSTOMER_DID, "type": kind } })
}

fn address() -> Value {
    json!({
        "line1": "88 Colin P Kelly Jr St", "line2": null, "city": "San Francisco",
        "state": "CA", "postal_code": "94107", "country": "US",
    })
}

fn payment_error(code: &str, message: &str) -> Value {
    json!({
        "type": "card_error", "code": code, "message": message,
        "payment_method_id": PAYMENT_METHOD, "payment_method_type": "arcblock",
    })
}

fn payment_intent(action: &str) -> Value {
    let status = match action {
        "succeeded" => "succeeded",
        "canceled" => "canceled",
        "processing" => "processing",
        "requires_action" => "requires_action",
        "amount_capturable_updated" => "requires_capture",
        // created, payment_failed, partially_funded: still waiting for (enough) payment.
        _ => "requires_payment_method",
    };
    let received = match action {
        "succeeded" => PRICE_AMOUNT,
        "partially_funded" => "4950000000000000000",
        _ => "0",
    };
    let capturable = if action == "amount_capturable_updated" {
        PRICE_AMOUNT
    } else {
        "0"
    };
    object(
        Some(PAYMENT_INTENT),
        json!({
            "description": "Subscription creation",
            "amount": PRICE_AMOUNT,
            "amount_received": received,
            "amount_capturable": capturable,
            "amount_details": {},
            "currency_id": CURRENCY,
            "customer_id": CUSTOMER,
            "payment_method_id": PAYMENT_METHOD,
            "invoice_id": INVOICE,
            "last_charge": if action == "succeeded" { json!(CHARGE) } else { Value::Null },
            "last_payment_error": if action == "payment_failed" {
                payment_error("insufficient_funds", "The payer's balance is too low")
            } else {
                Value::Null
            },
            "receipt_email": "ada@example.com",
            "statement_descriptor": "ACME BLOCKLET",
            "status": status,
            "canceled_at": if action == "canceled" { json!(EVENT_TIME) } else { Value::Null },
            "cancellation_reason": if action == "canceled" { json!("abandoned") } else { Value::Null },
            "capture_method": if action == "amount_capturable_updated" { "manual" } else { "automatic" },
            "confirmation_method": "automatic",
            "payment_method_types": ["arcblock"],
            "payment_details": if action == "succeeded" {
                arcblock_payment("transfer", TX_HASH)
            } else {
                Value::Null
            },
            "setup_future_usage": "off_session",
            "beneficiaries": [{ "address": MERCHANT_DID, "share": "100", "name": "Acme Blocklet Store" }],
        }),
    )
}

fn subscription(action: &str) -> Value {
    let status = match action {
        "deleted" => "canceled",
        "past_due" | "renew_failed" => "past_due",
        "paused" => "paused",
        "trial_start" | "trial_will_end" => "trialing",
        "created" => "incomplete",
        _ => "active",
    };
    let trialing = matches!(action, "trial_start" | "trial_will_end" | "trial_end");
    let canceled = action == "deleted";
    object(
        Some(SUBSCRIPTION),
        json!({
            "currency_id": CURRENCY,
            "customer_id": CUSTOMER,
            "current_period_start": PERIOD_START,
            "current_period_end": PERIOD_END,
            "default_payment_method_id": PAYMENT_METHOD,
            "description": "Pro plan (monthly)",
            "latest_invoice_id": INVOICE,
            "pending_setup_intent": null,
            "pending_update": if action == "pending_update_expired" {
                json!({ "expires_at": EVENT_TIME, "subscription_items": [{ "price_id": PRICE, "quantity": 2 }] })
            } else {
                Value::Null
            },
            "status": status,
            "cancel_at_period_end": false,
            "cancel_at": null,
            "canceled_at": if canceled { json!(EVENT_TIME) } else { Value::Null },
            "cancelation_details": if canceled {
                json!({ "reason": "cancellation_requested", "feedback": "too_expensive", "comment": null, "return_stake": true, "refund": "none", "requested_by": CUSTOMER_DID })
            } else {
                Value::Null
            },
            "billing_cycle_anchor": PERIOD_START,
            "collection_method": "charge_automatically",
            "days_until_due": null,
            "days_until_cancel": 7,
            "discount_id": null,
            "pause_collection": if action == "paused" {
                json!({ "behavior": "keep_as_draft", "resumes_at": PERIOD_END })
            } else {
                Value::Null
            },
            "payment_settings": { "payment_method_types": ["arcblock"], "payment_method_options": {} },
            "pending_invoice_item_interval": { "interval": "month", "interval_count": 1 },
            "ended_at": if canceled { json!(EVENT_TIME) } else { Value::Null },
            "start_date": CREATED,
            "trial_start": if trialing { json!(PERIOD_START) } else { Value::Null },
            "trial_end": if trialing { json!(PERIOD_START + 7 * DAY) } else { Value::Null },
            "trial_settings": { "end_behavior": { "missing_payment_method": "create_invoice" } },
            "payment_details": {
                "arcblock": { "type": "delegate", "payer": CUSTOMER_DID, "tx_hash": TX_HASH, "staking": { "tx_hash": TX_HASH, "address": "zrjx2mSeULmmCcf5zsnQ4kSUU5AWC9sHuQCM" } }
            },
            "proration_behavior": "none",
            "payment_behavior": "allow_incomplete",
            "service_actions": [],
            "recovered_from": if action == "recovered" { json!("sub_0Hx4Ty7Wq2Lm9KbVn") } else { Value::Null },
        }),
    )
}

fn checkout_session(action: &str) -> Value {
    let (status, payment_status) = match action {
        "created" => ("open", "unpaid"),
        "expired" => ("expired", "unpaid"),
        "async_payment_failed" => ("complete", "unpaid"),
        // completed, async_payment_succeeded, nft_minted
        _ => ("complete", "paid"),
    };
    let paid = payment_status == "paid";
    let minted = action == "nft_minted";
    object(
        Some(CHECKOUT_SESSION),
        json!({
            "client_reference_id": "user_7715",
            "currency_id": CURRENCY,
            "invoice_id": if status == "complete" { json!(INVOICE) } else { Value::Null },
            "customer_id": CUSTOMER,
            "customer_did": CUSTOMER_DID,
            "payment_link_id": PAYMENT_LINK,
            "subscription_id": if status == "complete" { json!(SUBSCRIPTION) } else { Value::Null },
            "payment_intent_id": if status == "complete" { json!(PAYMENT_INTENT) } else { Value::Null },
            "mode": "subscription",
            "status": status,
            "payment_status": payment_status,
            "line_items": [{ "price_id": PRICE, "quantity": 1 }],
            "amount_subtotal": PRICE_AMOUNT,
            "amount_total": PRICE_AMOUNT,
            "total_details": { "amount_discount": "0", "amount_shipping": "0", "amount_tax": "0" },
            "url": format!("https://store.example.com/checkout/pay/{CHECKOUT_SESSION}"),
            "success_url": "https://store.example.com/welcome",
            "cancel_url": "https://store.example.com/pricing",
            "customer_details": { "name": "Ada Lovelace", "email": "ada@example.com", "phone": null, "address": address() },
            "customer_creation": "always",
            "expires_at": CREATED + DAY,
            "payment_method_types": ["arcblock"],
            "submit_type": "pay",
            "billing_address_collection": "auto",
            "subscription_data": { "description": "Pro plan (monthly)", "trial_period_days": 0, "service_actions": [], "metadata": {} },
            "payment_details": if paid { arcblock_payment("transfer", TX_HASH) } else { Value::Null },
            "nft_mint_status": if minted { "minted" } else { "disabled" },
            "nft_mint_settings": { "enabled": minted, "behavior": "per_checkout_session", "factory": if minted { json!("z2qaCNvKMv5GjouKdcDWexv6WqtHbpNPQDnAk") } else { Value::Null }, "inputs": {} },
            "nft_mint_details": if minted {
                json!({ "type": "arcblock", "arcblock": { "tx_hash": TX_HASH, "address": "zjdmxnFyd7a5FUwiWmNhBu6gqNqGMsUD5vTS", "owner": CUSTOMER_DID } })
            } else {
                Value::Null
            },
            "discounts": [],
            "created_via": "portal",
        }),
    )
}

fn invoice(action: &str) -> Value {
    let status = match action {
        "created" | "deleted" | "finalization_failed" | "upcoming" => "draft",
        "marked_uncollectible" => "uncollectible",
        "paid" | "payment_succeeded" => "paid",
        "voided" => "void",
        // finalized, payment_action_required, payment_failed, sent, updated
        _ => "open",
    };
    let paid = status == "paid";
    let attempted = matches!(action, "paid" | "payment_succeeded" | "payment_failed");
    let paid_amount = if paid { PRICE_AMOUNT } else { "0" };
    let remaining = if paid { "0" } else { PRICE_AMOUNT };
    let finalized = !matches!(status, "draft");
    object(
        Some(INVOICE),
        merge(
            json!({
                "number": "Q8FR3TXK-0003",
                "description": "Pro plan (monthly)",
                "statement_descriptor": "ACME BLOCKLET",
                "period_start": PERIOD_START,
                "period_end": PERIOD_END,
                "auto_advance": true,
                "paid": paid,
                "paid_out_of_band": false,
                "status": status,
                "collection_method": "charge_automatically",
                "billing_reason": if action == "upcoming" { "upcoming" } else { "subscription_cycle" },
                "currency_id": CURRENCY,
                "customer_id": CUSTOMER,
                "payment_intent_id": PAYMENT_INTENT,
                "subscription_id": SUBSCRIPTION,
                "checkout_session_id": null,
                "subtotal": PRICE_AMOUNT,
                "subtotal_excluding_tax": PRICE_AMOUNT,
                "tax": "0",
                "total": PRICE_AMOUNT,
                "amount_due": PRICE_AMOUNT,
                "amount_paid": paid_amount,
                "amount_remaining": remaining,
                "amount_shipping": "0",
                "starting_balance": "0",
                "ending_balance": "0",
                "starting_token_balance": { CURRENCY: "0" },
                "ending_token_balance": { CURRENCY: "0" },
            }),
            json!({
                "attempt_count": u32::from(attempted),
                "attempted": attempted,
                "next_payment_attempt": if action == "payment_failed" { json!(EVENT_TIME + DAY) } else { Value::Null },
                "custom_fields": [{ "name": "Tax ID", "value": "US123456789" }],
                "customer_address": address(),
                "customer_email": "ada@example.com",
                "customer_name": "Ada Lovelace",
                "customer_phone": null,
                "discounts": [],
                "total_discount_amounts": [],
                "effective_at": if finalized { json!(PERIOD_START) } else { Value::Null },
                "footer": "Thank you for your business.",
                "account_country": "US",
                "account_name": "Acme Blocklet Store",
                "hosted_invoice_url": format!("https://store.example.com/invoices/{INVOICE}"),
                "invoice_pdf": format!("https://store.example.com/invoices/{INVOICE}.pdf"),
                "last_finalization_error": if action == "finalization_failed" {
                    json!({ "type": "invalid_request_error", "code": "customer_tax_location_invalid", "message": "The customer's address is not a valid tax location" })
                } else {
                    Value::Null
                },
                "default_payment_method_id": PAYMENT_METHOD,
                "status_transitions": {
                    "finalized_at": if finalized { json!(PERIOD_START) } else { Value::Null },
                    "paid_at": if paid { json!(EVENT_TIME) } else { Value::Null },
                    "voided_at": if status == "void" { json!(EVENT_TIME) } else { Value::Null },
                    "marked_uncollectible_at": if status == "uncollectible" { json!(EVENT_TIME) } else { Value::Null },
                },
            }),
        ),
    )
}

fn refund(action: &str) -> Value {
    let status = match action {
        "created" => "pending",
        "updated" => "processing",
        "canceled" => "canceled",
        _ => "succeeded",
    };
    let done = status == "succeeded";
    object(
        Some(REFUND),
        json!({
            "description": "Refund for the unused part of the period",
            "amount": "4950000000000000000",
            "payment_details": if done { arcblock_payment("transfer", REFUND_TX_HASH) } else { Value::Null },
            "currency_id": CURRENCY,
            "customer_id": CUSTOMER,
            "payment_intent_id": PAYMENT_INTENT,
            "payment_method_id": PAYMENT_METHOD,
            "invoice_id": INVOICE,
            "subscription_id": SUBSCRIPTION,
            "status": status,
            "reason": "requested_by_customer",
            "failure_reason": null,
            "attempt_count": u32::from(done),
            "attempted": done,
            "next_attempt": if status == "pending" { json!(EVENT_TIME + 60) } else { Value::Null },
            "type": "refund",
        }),
    )
}

fn customer(action: &str) -> Value {
    object(
        Some(CUSTOMER),
        json!({
            "did": CUSTOMER_DID,
            "description": "Customer since November 2023",
            "name": "Ada Lovelace",
            "email": if action == "deleted" { Value::Null } else { json!("ada@example.com") },
            "phone": "+1 415 555 0142",
            "address": address(),
            "shipping": { "name": "Ada Lovelace", "phone": "+1 415 555 0142", "address": address() },
            "balance": "0",
            "token_balance": { CURRENCY: "0" },
            "currency_id": CURRENCY,
            "delinquent": false,
            "discount_id": null,
            "invoice_prefix": "Q8FR3TXK",
            "next_invoice_sequence": 4,
            "last_sync_at": CREATED,
            "preference": { "reminder": { "enabled": true } },
        }),
    )
}

fn credit_grant(action: &str) -> Value {
    let depleted = action == "depleted";
    object(
        Some(CREDIT_GRANT),
        json!({
            "object": "credit_grant",
            "amount": "1000000",
            "currency_id": CREDIT_CURRENCY,
            "applicability_config": { "scope": { "price_type": "metered" } },
            "category": "paid",
            "customer_id": CUSTOMER,
            "effective_at": CREATED,
            "expires_at": CREATED + 365 * DAY,
            "name": "API credits (1M)",
            "priority": 50,
            "status": if depleted { "depleted" } else { "granted" },
            "remaining_amount": if depleted { "0" } else { "1000000" },
            "chain_status": "mint_completed",
            "created_by": MERCHANT_DID,
            "created_via": "api",
        }),
    )
}

/// Objects of the types this crate does not model: PaymentKit's conventions, an id prefix
/// and object name per family, and the few fields that family is about.
fn untyped(event_type: &str, action: &str) -> Value {
    // Longest prefix first.
    const FAMILIES: &[(&str, &str, &str)] = &[
        ("account.application.", "application", "ca_Lx4Qw8Nz2Tb6Rm1K"),
        (
            "account.external_account.",
            "bank_account",
            "ba_Vn2Kq7Xw4Rt9Lb3M",
        ),
        ("account.", "account", "acct_Fz8Lq3Wn6Tk1Xb9R"),
        (
            "application_fee.refund.",
            "fee_refund",
            "fr_Ty5Mw1Qz8Lk3Nb6X",
        ),
        (
            "application_fee.",
            "application_fee",
            "fee_Qk7Lz2Wx9Nb4Tm1R",
        ),
        ("balance.", "balance", ""),
        ("billing.", "billing_discrepancy", "bd_Wd9Kx3Lq6Tz1Nm8B"),
        (
            "billing_portal.configuration.",
            "billing_portal.configuration",
            "bpc_Rk4Wz8Lx1Qn6Tb3M",
        ),
        (
            "billing_portal.session.",
            "billing_portal.session",
            "bps_Nx2Lq9Wk5Tz7Rb1M",
        ),
        ("capability.", "capability", "card_payments"),
        ("cash_balance.", "cash_balance", ""),
        ("charge.dispute.", "dispute", "dp_Lm8Qx2Wz5Tk9Nb4R"),
        ("charge.refund.", "refund", REFUND),
        ("charge.", "charge", CHARGE),
        ("coupon.", "coupon", "co_Spring2023Pro"),
        ("credit_note.", "credit_note", "cn_Xb6Lq1Wz8Tk3Nm5R"),
        ("customer.credit.", "customer_credit", ""),
        ("customer.discount.", "discount", "di_Tq3Lx8Wz1Nk6Rb9M"),
        ("customer.source.", "card", "card_Wz5Lq2Xk9Tn4Rb7M"),
        ("customer.tax_id.", "tax_id", "txi_Kq8Lz3Wx6Tn1Rb4M"),
        (
            "customer_cash_balance_transaction.",
            "customer_cash_balance_transaction",
            "ccsbtxn_Lz7Qx2Wk9Tn4Rb1M",
        ),
        ("exchange_rate.", "exchange_rate_alert", ""),
        ("file.", "file", "file_Qx4Lz9Wk2Tn7Rb5M"),
        (
            "financial_connections.account.",
            "financial_connections.account",
            "fca_Lq1Wz6Xk3Tn8Rb2M",
        ),
        (
            "identity.verification_session.",
            "identity.verification_session",
            "vs_Wk8Lz3Qx6Tn1Rb9M",
        ),
        ("invoiceitem.", "invoiceitem", "ii_Zk2Lq7Wx4Tn9Rb6M"),
        (
            "issuing_authorization.",
            "issuing.authorization",
            "iauth_Lx5Wq1Zk8Tn3Rb7M",
        ),
        ("issuing_card.", "issuing.card", "ic_Qz9Lx4Wk2Tn6Rb1M"),
        (
            "issuing_cardholder.",
            "issuing.cardholder",
            "ich_Wq3Lz8Xk5Tn2Rb9M",
        ),
        (
            "issuing_dispute.",
            "issuing.dispute",
            "idp_Lk6Qz1Wx9Tn4Rb3M",
        ),
        (
            "issuing_transaction.",
            "issuing.transaction",
            "ipi_Zx2Lq7Wk4Tn8Rb5M",
        ),
        ("mandate.", "mandate", "mandate_Lq9Wz4Xk1Tn6Rb2M"),
        ("order.", "order", "or_Wx7Lq2Zk9Tn3Rb8M"),
        ("payment_link.", "payment_link", PAYMENT_LINK),
        ("payment_method.", "payment_method", PAYMENT_METHOD),
        ("payout.", "payout", "po_Kz4Lq8Wx1Tn5Rb6M"),
        ("person.", "person", "person_Lx3Wq9Zk6Tn2Rb4M"),
        ("plan.", "plan", PRICE),
        ("price.", "price", PRICE),
        ("product.", "product", PRODUCT),
        (
            "promotion_code.",
            "promotion_code",
            "promo_Qz6Lx1Wk8Tn4Rb2M",
        ),
        ("quote.", "quote", "qt_Wz1Lq5Xk9Tn3Rb7M"),
        (
            "radar.early_fraud_warning.",
            "radar.early_fraud_warning",
            "issfr_Lk8Wz2Qx6Tn1Rb5M",
        ),
        ("recipient.", "recipient", "rp_Zq4Lx9Wk3Tn7Rb1M"),
        (
            "reporting.report_run.",
            "reporting.report_run",
            "frr_Wx6Lz1Qk8Tn2Rb4M",
        ),
        (
            "reporting.report_type.",
            "reporting.report_type",
            "balance.summary.1",
        ),
        ("review.", "review", "prv_Lq2Wz7Xk4Tn9Rb3M"),
        ("setup_intent.", "setup_intent", "seti_Qx8Lz3Wk1Tn6Rb5M"),
        (
            "sigma.scheduled_query_run.",
            "scheduled_query_run",
            "sqr_Wk5Lq9Zx2Tn4Rb8M",
        ),
        ("sku.", "sku", "sku_Lz1Wq6Xk3Tn8Rb2M"),
        (
            "source.transaction.",
            "source_transaction",
            "srctxn_Zk7Lx2Wq9Tn4Rb6M",
        ),
        ("source.", "source", "src_Wq4Lz8Xk1Tn5Rb9M"),
        (
            "subscription_schedule.",
            "subscription_schedule",
            "sub_sched_Lx9Wz3Qk6Tn1Rb4M",
        ),
        ("tax.settings.", "tax.settings", ""),
        ("tax_rate.", "tax_rate", "txr_Qk2Lz7Wx4Tn9Rb1M"),
        (
            "terminal.reader.",
            "terminal.reader",
            "tmr_Wz8Lq3Xk5Tn2Rb6M",
        ),
        (
            "test_helpers.test_clock.",
            "test_helpers.test_clock",
            "clock_Lq6Wx1Zk9Tn4Rb3M",
        ),
        ("topup.", "topup", "tu_Zx3Lq8Wk2Tn7Rb5M"),
        ("transfer.", "transfer", "tr_Wk9Lz4Qx1Tn6Rb8M"),
        ("usage.report.", "usage_report", ""),
    ];
    let (name, id) = FAMILIES
        .iter()
        .find(|(prefix, _, _)| event_type.starts_with(prefix))
        .map_or(("event_object", ""), |(_, name, id)| (*name, *id));
    let fields = merge(json!({ "object": name }), untyped_fields(name, action));
    object((!id.is_empty()).then_some(id), fields)
}

/// The fields an untyped object is about, in the state `action` implies.
fn untyped_fields(name: &str, action: &str) -> Value {
    let amount = PRICE_AMOUNT;
    match name {
        "charge" => json!({
            "amount": amount, "currency_id": CURRENCY, "customer_id": CUSTOMER,
            "payment_intent_id": PAYMENT_INTENT, "invoice_id": INVOICE,
            "amount_captured": if action == "captured" || action == "succeeded" { amount } else { "0" },
            "amount_refunded": if action == "refunded" { amount } else { "0" },
            "captured": matches!(action, "captured" | "succeeded" | "refunded"),
            "paid": matches!(action, "captured" | "succeeded" | "refunded"),
            "refunded": action == "refunded",
            "status": match action { "failed" | "expired" => "failed", "pending" => "pending", _ => "succeeded" },
            "failure_code": if action == "failed" { json!("insufficient_funds") } else { Value::Null },
        }),
        "dispute" => json!({
            "amount": amount, "currency_id": CURRENCY, "charge_id": CHARGE,
            "payment_intent_id": PAYMENT_INTENT, "reason": "product_not_received",
            "status": match action { "closed" => "lost", "funds_reinstated" => "won", "created" | "funds_withdrawn" => "needs_response", _ => "under_review" },
            "evidence_due_by": EVENT_TIME + 7 * DAY,
        }),
        "refund" | "fee_refund" => json!({
            "amount": "4950000000000000000", "currency_id": CURRENCY, "charge_id": CHARGE,
            "payment_intent_id": PAYMENT_INTENT, "status": "succeeded",
        }),
        "application_fee" => json!({
            "amount": "990000000000000000", "amount_refunded": if action == "refunded" { "990000000000000000" } else { "0" },
            "currency_id": CURRENCY, "account_id": "acct_Fz8Lq3Wn6Tk1Xb9R", "charge_id": CHARGE,
            "refunded": action == "refunded",
        }),
        "balance" => json!({
            "available": [{ "amount": "125400000000000000000", "currency_id": CURRENCY }],
            "pending": [{ "amount": amount, "currency_id": CURRENCY }],
        }),
        "cash_balance" => json!({
            "customer_id": CUSTOMER, "available": { CURRENCY: amount },
            "settings": { "reconciliation_mode": "automatic" },
        }),
        "payout" => json!({
            "amount": "125400000000000000000", "currency_id": CURRENCY,
            "destination": MERCHANT_DID, "arrival_date": EVENT_TIME + DAY, "method": "standard",
            "status": match action { "canceled" => "canceled", "failed" => "failed", "paid" | "reconciliation_completed" => "paid", "updated" => "in_transit", _ => "pending" },
            "reconciliation_status": if action == "reconciliation_completed" { "completed" } else { "in_progress" },
        }),
        "transfer" => json!({
            "amount": amount, "amount_reversed": if action == "reversed" { amount } else { "0" },
            "currency_id": CURRENCY, "destination": "acct_Fz8Lq3Wn6Tk1Xb9R",
            "reversed": action == "reversed", "source_transaction": CHARGE,
        }),
        "topup" => json!({
            "amount": amount, "currency_id": CURRENCY, "description": "Top up the platform balance",
            "status": match action { "canceled" => "canceled", "failed" => "failed", "reversed" => "reversed", "succeeded" => "succeeded", _ => "pending" },
            "expected_availability_date": EVENT_TIME + DAY,
        }),
        "credit_note" => json!({
            "amount": "4950000000000000000", "currency_id": CURRENCY, "customer_id": CUSTOMER,
            "invoice_id": INVOICE, "number": "Q8FR3TXK-0003-CN-01", "reason": "order_change",
            "status": if action == "voided" { "void" } else { "issued" },
        }),
        "invoiceitem" => json!({
            "amount": amount, "currency_id": CURRENCY, "customer_id": CUSTOMER,
            "invoice_id": INVOICE, "price_id": PRICE, "quantity": 1,
            "period": { "start": PERIOD_START, "end": PERIOD_END },
        }),
        "price" | "plan" => json!({
            "product_id": PRODUCT, "currency_id": CURRENCY, "unit_amount": amount,
            "active": action != "deleted", "type": "recurring", "nickname": "Pro (monthly)",
            "recurring": { "interval": "month", "interval_count": 1, "usage_type": "licensed" },
        }),
        "product" => json!({
            "name": "Pro plan", "description": "Everything in Basic, plus priority support",
            "active": action != "deleted", "type": "service", "images": [], "unit_label": "seat",
        }),
        "coupon" => json!({
            "name": "Spring 2023", "percent_off": 20, "amount_off": null, "currency_id": null,
            "duration": "repeating", "duration_in_months": 3, "valid": action != "deleted",
            "times_redeemed": 12,
        }),
        "promotion_code" => json!({
            "code": "SPRING20", "coupon_id": "co_Spring2023Pro", "active": true,
            "max_redemptions": 100, "times_redeemed": 12,
        }),
        "discount" => json!({
            "coupon_id": "co_Spring2023Pro", "promotion_code_id": "promo_Qz6Lx1Wk8Tn4Rb2M",
            "customer_id": CUSTOMER, "subscription_id": SUBSCRIPTION,
            "start": PERIOD_START, "end": PERIOD_START + 90 * DAY,
        }),
        "payment_link" => json!({
            "active": true, "name": "Pro plan", "currency_id": CURRENCY,
            "line_items": [{ "price_id": PRICE, "quantity": 1 }],
            "url": format!("https://store.example.com/checkout/pay/{PAYMENT_LINK}"),
        }),
        "payment_method" => json!({
            "type": "arcblock", "name": "ArcBlock", "customer_id": if action == "detached" { Value::Null } else { json!(CUSTOMER) },
            "active": true, "settings": { "arcblock": { "chain_id": "main", "api_host": "https://main.abtnetwork.io/api/" } },
        }),
        "setup_intent" => json!({
            "customer_id": CUSTOMER, "payment_method_id": PAYMENT_METHOD, "usage": "off_session",
            "status": match action { "canceled" => "canceled", "succeeded" => "succeeded", "requires_action" => "requires_action", _ => "requires_payment_method" },
            "last_setup_error": if action == "setup_failed" { payment_error("setup_intent_authentication_failure", "The payer declined the delegation") } else { Value::Null },
        }),
        "subscription_schedule" => json!({
            "customer_id": CUSTOMER, "subscription_id": SUBSCRIPTION, "end_behavior": "release",
            "status": match action { "aborted" | "canceled" => "canceled", "completed" => "completed", "released" => "released", "created" => "not_started", _ => "active" },
            "phases": [{ "start_date": PERIOD_START, "end_date": PERIOD_END, "items": [{ "price_id": PRICE, "quantity": 1 }] }],
        }),
        "quote" => json!({
            "customer_id": CUSTOMER, "currency_id": CURRENCY, "amount_subtotal": amount, "amount_total": amount,
            "status": match action { "accepted" => "accepted", "canceled" => "canceled", "finalized" => "open", _ => "draft" },
            "expires_at": EVENT_TIME + 30 * DAY,
        }),
        "customer_credit" => json!({
            "customer_id": CUSTOMER, "currency_id": CREDIT_CURRENCY, "subscription_id": SUBSCRIPTION,
            "balance": if action == "insufficient" { "0" } else { "50000" },
            "threshold": "100000", "required_amount": if action == "insufficient" { json!("1200") } else { Value::Null },
            "meter_event_name": "api_calls",
        }),
        "billing_discrepancy" => json!({
            "subscription_id": SUBSCRIPTION, "customer_id": CUSTOMER, "invoice_id": INVOICE,
            "currency_id": CURRENCY, "expected_amount": amount, "actual_amount": "9800000000000000000",
            "period_start": PERIOD_START, "period_end": PERIOD_END,
        }),
        "usage_report" => json!({
            "subscription_id": SUBSCRIPTION, "customer_id": CUSTOMER, "price_id": PRICE,
            "meter_event_name": "api_calls", "period_start": PERIOD_START, "period_end": PERIOD_END,
            "quantity": "0",
        }),
        "exchange_rate_alert" => json!({
            "base_currency": "ABT", "quote_currency": "USD",
            "providers": ["coingecko", "coinmarketcap"],
            "rates": if action == "spread_exceeded" {
                json!([{ "provider": "coingecko", "rate": "0.8412" }, { "provider": "coinmarketcap", "rate": "0.8967" }])
            } else {
                json!([])
            },
            "spread_percent": if action == "spread_exceeded" { json!("6.6") } else { Value::Null },
            "threshold_percent": "5",
        }),
        "card" => json!({
            "customer_id": CUSTOMER, "brand": "Visa", "last4": "4242", "exp_month": 12,
            "exp_year": if action == "expiring" { 2023 } else { 2026 },
        }),
        "tax_id" => json!({
            "customer_id": CUSTOMER, "type": "us_ein", "value": "12-3456789",
            "verification": { "status": "verified" },
        }),
        "customer_cash_balance_transaction" => json!({
            "customer_id": CUSTOMER, "currency_id": CURRENCY, "net_amount": amount,
            "ending_balance": amount, "type": "funded",
        }),
        "account" => json!({
            "business_profile": { "name": "Acme Blocklet Store", "url": "https://store.example.com" },
            "country": "US", "charges_enabled": true, "payouts_enabled": true,
        }),
        "capability" => json!({
            "account_id": "acct_Fz8Lq3Wn6Tk1Xb9R", "requested": true, "status": "active",
        }),
        "source" | "source_transaction" => json!({
            "amount": amount, "currency_id": CURRENCY, "customer_id": CUSTOMER,
            "status": match action { "canceled" => "canceled", "failed" => "failed", "chargeable" => "chargeable", _ => "pending" },
        }),
        "identity.verification_session" => json!({
            "type": "document",
            "status": match action { "canceled" => "canceled", "processing" => "processing", "requires_input" => "requires_input", "verified" => "verified", _ => "requires_input" },
            "redaction": if action == "redacted" { json!({ "status": "redacted" }) } else { Value::Null },
        }),
        "issuing.authorization" | "issuing.transaction" => json!({
            "amount": amount, "currency_id": CURRENCY, "card_id": "ic_Qz9Lx4Wk2Tn6Rb1M",
            "merchant_data": { "name": "Coffee Shop", "category": "eating_places_restaurants" },
            "approved": true,
        }),
        "issuing.dispute" => json!({
            "amount": amount, "currency_id": CURRENCY, "transaction_id": "ipi_Zx2Lq7Wk4Tn8Rb5M",
            "status": match action { "closed" => "lost", "submitted" => "submitted", "funds_reinstated" => "won", _ => "unsubmitted" },
        }),
        _ => json!({ "status": action }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use bytes::Bytes;
    use serde::de::DeserializeOwned;
    use serde_json::Value;

    use super::{sample_event, sample_object, CUSTOMER};
    use crate::paymentkit::{
        event_types, object_kind, CheckoutSession, CreditGrant, Customer, EventBody, Invoice,
        ObjectKind, PaymentIntent, Refund, Subscription,
    };
    use crate::signature::Verified;
    use crate::Envelope;

    fn decodes<T: DeserializeOwned>(event_type: &str, object: &Value, body: &str) {
        if let Err(error) = serde_json::from_value::<T>(object.clone()) {
            panic!("{event_type}: object does not decode: {error}");
        }
        if let Err(error) = serde_json::from_str::<EventBody<T>>(body) {
            panic!("{event_type}: event body does not decode: {error}");
        }
    }

    #[test]
    fn every_catalogue_type_has_a_sample_of_its_object() {
        let catalogue: Vec<&str> = event_types().collect();
        assert_eq!(catalogue.len(), 214);
        let shared: HashSet<&str> = include_str!("../paymentkit/event-types.txt")
            .lines()
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(shared, catalogue.iter().copied().collect::<HashSet<_>>());
        let mut typed = 0;
        for event_type in catalogue {
            let object =
                sample_object(event_type).unwrap_or_else(|| panic!("{event_type}: no sample"));
            let body = sample_event("evt_sample", event_type).expect("sample event");
            match object_kind(event_type) {
                Some(kind) => {
                    typed += 1;
                    let check: fn(&str, &Value, &str) = match kind {
                        ObjectKind::PaymentIntent => decodes::<PaymentIntent>,
                        ObjectKind::Subscription => decodes::<Subscription>,
                        ObjectKind::CheckoutSession => decodes::<CheckoutSession>,
                        ObjectKind::Invoice => decodes::<Invoice>,
                        ObjectKind::Refund => decodes::<Refund>,
                        ObjectKind::Customer => decodes::<Customer>,
                        ObjectKind::CreditGrant => decodes::<CreditGrant>,
                    };
                    check(event_type, &object, &body);
                }
                None => {
                    let name = object.get("object").and_then(Value::as_str);
                    assert!(
                        name.is_some_and(|n| n != "event_object"),
                        "{event_type}: untyped sample names no object family"
                    );
                    assert_eq!(object.get("livemode"), Some(&Value::Bool(false)));
                }
            }
            // The envelope is what the receiver parses.
            let envelope = Envelope::parse(Bytes::from(body.clone()), &Verified::default())
                .unwrap_or_else(|error| panic!("{event_type}: envelope: {error}"));
            assert_eq!(envelope.id(), "evt_sample");
            assert_eq!(envelope.event_type(), event_type);
            assert_eq!(envelope.livemode(), Some(false));
            assert_eq!(
                envelope.created().map(time::OffsetDateTime::unix_timestamp),
                Some(super::EVENT_TIME)
            );
            let raw: Value = serde_json::from_slice(envelope.raw_object()).expect("raw object");
            assert_eq!(raw, object, "{event_type}");
        }
        assert_eq!(typed, 52);
    }

    #[test]
    fn families_are_consistent_and_states_follow_the_type() {
        let status = |event_type: &str| {
            sample_object(event_type).expect("sample")["status"]
                .as_str()
                .map(str::to_owned)
        };
        assert_eq!(
            status("payment_intent.succeeded").as_deref(),
            Some("succeeded")
        );
        assert_eq!(
            status("payment_intent.canceled").as_deref(),
            Some("canceled")
        );
        assert_eq!(
            status("customer.subscription.deleted").as_deref(),
            Some("canceled")
        );
        assert_eq!(
            status("customer.subscription.trial_start").as_deref(),
            Some("trialing")
        );
        assert_eq!(status("invoice.paid").as_deref(), Some("paid"));
        assert_eq!(status("invoice.voided").as_deref(), Some("void"));
        assert_eq!(status("refund.succeeded").as_deref(), Some("succeeded"));
        assert_eq!(
            status("checkout.session.expired").as_deref(),
            Some("expired")
        );
        assert_eq!(status("payout.failed").as_deref(), Some("failed"));

        // The same objects through a family, and referring to each other.
        let intent = sample_object("payment_intent.created").expect("sample");
        let paid = sample_object("payment_intent.succeeded").expect("sample");
        assert_eq!(intent["id"], paid["id"]);
        let invoice = sample_object("invoice.paid").expect("sample");
        assert_eq!(invoice["payment_intent_id"], paid["id"]);
        let subscription = sample_object("customer.subscription.renewed").expect("sample");
        assert_eq!(subscription["latest_invoice_id"], invoice["id"]);
        let refund = sample_object("refund.created").expect("sample");
        assert_eq!(refund["payment_intent_id"], paid["id"]);
        for object in [&intent, &invoice, &subscription, &refund] {
            assert_eq!(object["customer_id"], CUSTOMER);
        }
        assert_eq!(
            sample_object("customer.updated").expect("sample")["id"],
            CUSTOMER
        );

        let typed: PaymentIntent = serde_json::from_value(paid).expect("decodes");
        assert!(typed.id.starts_with("pi_"));
        assert_eq!(typed.amount_received.as_ref(), Some(&typed.amount));
        assert!(typed.payment_details.and_then(|d| d.arcblock).is_some());

        // Deterministic: the same sample on every call.
        assert_eq!(
            sample_event("evt_1", "invoice.updated"),
            sample_event("evt_1", "invoice.updated")
        );
        let updated: EventBody =
            serde_json::from_str(&sample_event("evt_1", "invoice.updated").expect("sample"))
                .expect("body");
        assert!(updated.data.previous_attributes.is_some());
        assert_eq!(updated.object_type.as_deref(), Some("Invoice"));
    }

    #[test]
    fn types_outside_the_catalogue_have_no_sample() {
        for unknown in [
            "",
            "payment_intent",
            "payment_intent.exploded",
            "PAYMENT_INTENT.SUCCEEDED",
            "hostile.ok",
        ] {
            assert_eq!(sample_object(unknown), None, "{unknown}");
            assert_eq!(sample_event("evt_1", unknown), None, "{unknown}");
        }
    }

    #[test]
    fn ids_and_types_are_escaped_in_the_envelope() {
        let body = sample_event(r#"evt_"quoted"\"#, "charge.succeeded").expect("sample");
        let parsed: Value = serde_json::from_str(&body).expect("valid JSON");
        assert_eq!(parsed["id"], r#"evt_"quoted"\"#);
    }
}
