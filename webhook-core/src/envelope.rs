//! The event envelope, parsed from verified bytes only.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use bytes::Bytes;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;

use crate::ascii;
use crate::signature::Verified;

/// The longest event id or event type accepted, in bytes. Ids are idempotency keys; a bound keeps
/// every store's key column and index well defined.
pub const MAX_ID_LEN: usize = 255;

/// Why a verified body is not a usable event. Answered 400: the sender is authentic but the
/// delivery cannot be processed as sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The body is not JSON, not a JSON object, or has fields of the wrong type.
    #[error("body is not a valid event: {0}")]
    Json(String),
    /// No event id in the body or the scheme's headers.
    #[error("event has no id")]
    MissingId,
    /// No event type in the body or the scheme's headers.
    #[error("event has no type")]
    MissingType,
    /// The id is empty, longer than [`MAX_ID_LEN`] bytes or not printable ASCII.
    #[error("event id is not 1 to {MAX_ID_LEN} printable ASCII characters")]
    InvalidId,
    /// The type is empty, longer than [`MAX_ID_LEN`] bytes or not visible ASCII.
    #[error("event type is not 1 to {MAX_ID_LEN} visible ASCII characters")]
    InvalidType,
    /// `created_at` is not an ISO-8601 (RFC 3339) timestamp, or `created` is out of range.
    #[error("event creation time is not a valid timestamp")]
    InvalidCreated,
}

/// A verified delivery's envelope: identity, type and the raw object, without decoding it.
///
/// `data.object` (Stripe and PaymentKit), else `data` (Standard Webhooks), else the whole body
/// (GitHub) is kept as raw JSON and decoded only into the type a handler asks for.
#[derive(Clone)]
pub struct Envelope {
    body: Bytes,
    head: Head,
}

/// What parsing learned from the body, which does not borrow it: read while the body (and the
/// [`Verified`] that may borrow the same request) are borrowed, then joined with the body.
#[derive(Clone)]
pub(crate) struct Head {
    /// The id followed by the type: one allocation for both.
    names: Box<str>,
    /// Where the id ends in `names`.
    id_len: usize,
    livemode: Option<bool>,
    created: Option<OffsetDateTime>,
    object: Range<usize>,
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body is never printed: it may hold personal data.
        f.debug_struct("Envelope")
            .field("id", &self.id())
            .field("event_type", &self.event_type())
            .field("livemode", &self.head.livemode)
            .field("created", &self.head.created)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// The envelope's fields, read in one pass over the body by [`WireSeed`].
#[derive(Default)]
struct Wire<'a> {
    id: Option<Cow<'a, str>>,
    event_type: Option<Cow<'a, str>>,
    livemode: Option<bool>,
    created_at: Option<Cow<'a, str>>,
    created: Option<i64>,
    data: Option<DataField<'a>>,
    /// The top-level string `action`, read only when the scheme asks for it
    /// ([`Verified::action_in_type`]); `None` when absent, not a string, or repeated.
    action: Option<Cow<'a, str>>,
}

/// Reads a [`Wire`], and `action` only when `action_in_type` says so. Written out rather than
/// derived so one pass can pick up `action` as well, without failing on bodies whose `action`
/// is not a string or appears twice (those just add nothing to the type), and so keys are
/// matched without being allocated.
struct WireSeed {
    action_in_type: bool,
}

impl<'de> DeserializeSeed<'de> for WireSeed {
    type Value = Wire<'de>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for WireSeed {
    type Value = Wire<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        fn once<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
            map: &mut A,
            slot: &mut Option<Option<T>>,
            name: &'static str,
        ) -> Result<(), A::Error> {
            if slot.is_some() {
                return Err(de::Error::duplicate_field(name));
            }
            *slot = Some(map.next_value()?);
            Ok(())
        }
        let (mut id, mut event_type, mut livemode) = (None, None, None);
        let (mut created_at, mut created, mut data) = (None, None, None);
        let mut action = None;
        let mut actions = 0u32;
        while let Some(key) = map.next_key::<WireKey>()? {
            match key {
                WireKey::Id => once(&mut map, &mut id, "id")?,
                WireKey::Type => once(&mut map, &mut event_type, "type")?,
                WireKey::Livemode => once(&mut map, &mut livemode, "livemode")?,
                WireKey::CreatedAt => once(&mut map, &mut created_at, "created_at")?,
                WireKey::Created => once(&mut map, &mut created, "created")?,
                WireKey::Data => once(&mut map, &mut data, "data")?,
                WireKey::Action if self.action_in_type => {
                    actions += 1;
                    action = map.next_value::<LenientStr<'de>>()?.0;
                }
                WireKey::Action | WireKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Wire {
            id: id.flatten().map(|s: Str<'de>| s.0),
            event_type: event_type.flatten().map(|s: Str<'de>| s.0),
            livemode: livemode.flatten(),
            created_at: created_at.flatten().map(|s: Str<'de>| s.0),
            created: created.flatten(),
            data: data.flatten(),
            // A repeated `action` is ambiguous: it adds nothing to the type.
            action: if actions == 1 { action } else { None },
        })
    }
}

/// The envelope's keys, matched without allocating (an escaped key arrives unescaped).
enum WireKey {
    Id,
    Type,
    Livemode,
    CreatedAt,
    Created,
    Data,
    Action,
    Other,
}

impl<'de> Deserialize<'de> for WireKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = WireKey;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<WireKey, E> {
                Ok(match key {
                    "id" => WireKey::Id,
                    "type" => WireKey::Type,
                    "livemode" => WireKey::Livemode,
                    "created_at" => WireKey::CreatedAt,
                    "created" => WireKey::Created,
                    "data" => WireKey::Data,
                    "action" => WireKey::Action,
                    _ => WireKey::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// A JSON string, borrowed from the body unless it had escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = Str<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(text)))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(text.to_owned())))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

/// Any JSON value; `Some` only for a string.
struct LenientStr<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for LenientStr<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LenientVisitor;
        impl<'de> Visitor<'de> for LenientVisitor {
            type Value = LenientStr<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(LenientStr(Some(Cow::Borrowed(text))))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(LenientStr(Some(Cow::Owned(text.to_owned()))))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LenientStr(None))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LenientStr(None))
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(LenientStr(None))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(LenientStr(None))
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(LenientStr(None))
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(LenientStr(None))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LenientStr(None))
            }
        }
        deserializer.deserialize_any(LenientVisitor)
    }
}

/// `data`, read in the same pass as the rest of the envelope, so the bulk of an event (its
/// object) is scanned once here rather than once as `data` and again as `data.object`.
enum DataField<'a> {
    /// `data` is a JSON object with one non-null `object` member (Stripe, PaymentKit).
    Object(&'a RawValue),
    /// Anything else (Standard Webhooks puts the object itself in `data`).
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for DataField<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DataVisitor)
    }
}

struct DataVisitor;

impl<'de> Visitor<'de> for DataVisitor {
    type Value = DataField<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = None;
        let mut seen = 0u32;
        while let Some(key) = map.next_key::<DataKey>()? {
            if key.0 {
                seen += 1;
                object = map.next_value::<Option<&'de RawValue>>()?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        // A repeated `object` is ambiguous: keep the whole of `data`, as for no `object`.
        Ok(match (seen, object) {
            (1, Some(object)) => DataField::Object(object),
            _ => DataField::Other,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(DataField::Other)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(DataField::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(DataField::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(DataField::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(DataField::Other)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(DataField::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(DataField::Other)
    }
}

/// A key of `data`: whether it is `object`, told without allocating the key.
struct DataKey(bool);

impl<'de> Deserialize<'de> for DataKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = DataKey;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<DataKey, E> {
                Ok(DataKey(key == "object"))
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// Only `data`, for the second look that bodies without `data.object` need.
#[derive(Deserialize)]
struct WireData<'a> {
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

impl Envelope {
    /// Parse a verified body. `verified` supplies the id and type for schemes that send them
    /// in headers; those win over the body's fields.
    ///
    /// # Errors
    /// [`EnvelopeError`] when the body is not UTF-8, not an object, or has no usable id or
    /// type.
    pub fn parse(body: Bytes, verified: &Verified<'_>) -> Result<Self, EnvelopeError> {
        let head = Head::read(&body, verified)?;
        Ok(Self::from_head(body, head))
    }

    /// The envelope of `body`, whose [`Head`] was read while `body` was borrowed.
    pub(crate) fn from_head(body: Bytes, head: Head) -> Self {
        Self { body, head }
    }

    /// The sender's event id: the idempotency key.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.head.names[..self.head.id_len]
    }

    /// The event type, such as `payment_intent.succeeded`.
    #[must_use]
    pub fn event_type(&self) -> &str {
        &self.head.names[self.head.id_len..]
    }

    /// Whether the event comes from live mode, when the sender says.
    #[must_use]
    pub fn livemode(&self) -> Option<bool> {
        self.head.livemode
    }

    /// When the sender created the event (`created_at` or `created`), when it says.
    #[must_use]
    pub fn created(&self) -> Option<OffsetDateTime> {
        self.head.created
    }

    /// The raw JSON of the event's object.
    #[must_use]
    pub fn raw_object(&self) -> &[u8] {
        &self.body[self.head.object.clone()]
    }

    /// The verified body, exactly as received.
    #[must_use]
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

impl Head {
    /// See [`Envelope::parse`].
    pub(crate) fn read(body: &[u8], verified: &Verified<'_>) -> Result<Self, EnvelopeError> {
        // JSON is UTF-8 (RFC 8259), but serde_json only checks the strings it decodes, not
        // those in fields it skips: without this check such a body would fail later, in the
        // handler (500, retried forever), instead of being refused here. Checked once, on the
        // whole body (simdutf8: the same check as `std::str::from_utf8`, several times
        // faster), the body is then read as `&str`, so serde_json skips its own per-string
        // check, and so does decoding the object later (see `raw_object_str`).
        let text = simdutf8::basic::from_utf8(body)
            .map_err(|_| EnvelopeError::Json("body is not UTF-8".to_owned()))?;
        // serde would also accept an array for a struct; an event is always an object.
        if text.bytes().find(|b| !b.is_ascii_whitespace()) != Some(b'{') {
            return Err(EnvelopeError::Json("expected a JSON object".to_owned()));
        }
        let seed = WireSeed {
            action_in_type: verified.action_in_type,
        };
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let wire = match seed
            .deserialize(&mut deserializer)
            .and_then(|wire| deserializer.end().map(|()| wire))
        {
            Ok(wire) => wire,
            Err(error) => return Err(EnvelopeError::Json(error.to_string())),
        };
        let id = match (&verified.id, &wire.id) {
            (Some(id), _) => id,
            (None, Some(id)) => id.as_ref(),
            (None, None) => return Err(EnvelopeError::MissingId),
        };
        if !valid_id(id) {
            return Err(EnvelopeError::InvalidId);
        }
        let event_type = match (&verified.event_type, &wire.event_type) {
            (Some(t), _) => t,
            (None, Some(t)) => t.as_ref(),
            (None, None) => return Err(EnvelopeError::MissingType),
        };
        let action = wire.action.as_deref();
        let type_len = event_type.len() + action.map_or(0, |action| 1 + action.len());
        let mut names = String::with_capacity(id.len() + type_len);
        names.push_str(id);
        names.push_str(event_type);
        if let Some(action) = action {
            names.push('.');
            names.push_str(action);
        }
        if !valid_type(&names[id.len()..]) {
            return Err(EnvelopeError::InvalidType);
        }
        let created = match (&wire.created_at, wire.created) {
            (Some(text), _) => Some(parse_rfc3339(text).ok_or(EnvelopeError::InvalidCreated)?),
            (None, Some(secs)) => Some(
                OffsetDateTime::from_unix_timestamp(secs)
                    .map_err(|_| EnvelopeError::InvalidCreated)?,
            ),
            (None, None) => None,
        };
        let object = match wire.data {
            None => 0..body.len(),
            Some(DataField::Object(object)) => span_of(body, object),
            // `data` itself is the object: find its span. Only bodies without `data.object`
            // pay for this second pass.
            Some(DataField::Other) => match serde_json::from_str::<WireData<'_>>(text) {
                Ok(WireData { data: Some(data) }) => span_of(body, data),
                _ => 0..body.len(),
            },
        };
        Ok(Self {
            id_len: id.len(),
            names: names.into_boxed_str(),
            livemode: wire.livemode,
            created,
            object,
        })
    }
}

/// The byte range of `part` inside `body`. `part` was borrowed from `body` by the parser, so
/// its address lies within it; the checked arithmetic falls back to the whole body otherwise.
fn span_of(body: &[u8], part: &RawValue) -> Range<usize> {
    let start = (part.get().as_ptr() as usize).checked_sub(body.as_ptr() as usize);
    match start {
        Some(start) if start + part.get().len() <= body.len() => start..start + part.get().len(),
        _ => 0..body.len(),
    }
}

/// Event ids are printable ASCII (space included: ids are compared byte for byte, so a trailing
/// space makes a different id), 1 to [`MAX_ID_LEN`] bytes.
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && ascii::printable(id)
}

fn valid_type(event_type: &str) -> bool {
    !event_type.is_empty()
        && event_type.len() <= MAX_ID_LEN
        && ascii::every_byte(event_type.as_bytes(), |b| b.is_ascii_graphic())
}

/// Parses an RFC 3339 timestamp. The form senders use (`2023-11-14T22:13:20Z`, optionally with
/// a fraction of up to nine digits) is read directly; anything else goes to `time`'s RFC 3339
/// parser, so both accept and produce exactly the same (the fast path builds the value with
/// `time`'s own range checks, and falls back whenever they refuse).
fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    fast_rfc3339(text.as_bytes()).or_else(|| {
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
    })
}

fn fast_rfc3339(text: &[u8]) -> Option<OffsetDateTime> {
    fn digits(bytes: &[u8]) -> Option<u32> {
        bytes.iter().try_fold(0u32, |value, &b| {
            b.is_ascii_digit().then(|| value * 10 + u32::from(b - b'0'))
        })
    }
    let (head, rest) = text.split_at_checked(19)?;
    if head[4] != b'-'
        || head[7] != b'-'
        || head[10] != b'T'
        || head[13] != b':'
        || head[16] != b':'
    {
        return None;
    }
    let nanos = match rest {
        [b'Z'] => 0,
        [b'.', fraction @ .., b'Z'] if (1..=9).contains(&fraction.len()) => {
            digits(fraction)? * 10u32.pow(9 - u32::try_from(fraction.len()).ok()?)
        }
        _ => return None,
    };
    let year = i32::try_from(digits(&head[..4])?).ok()?;
    let month = u8::try_from(digits(&head[5..7])?).ok()?;
    let day = u8::try_from(digits(&head[8..10])?).ok()?;
    let hour = u8::try_from(digits(&head[11..13])?).ok()?;
    let minute = u8::try_from(digits(&head[14..16])?).ok()?;
    let second = u8::try_from(digits(&head[17..19])?).ok()?;
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    let time = time::Time::from_hms_nano(hour, minute, second, nanos).ok()?;
    Some(time::PrimitiveDateTime::new(date, time).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The fast path accepts only what `time`'s RFC 3339 parser accepts, with the same
        /// value, and leaves the rest to it.
        #[test]
        fn rfc3339_fast_path_agrees_with_time(
            year in 0u32..10_000,
            month in 0u32..14,
            day in 0u32..33,
            hour in 0u32..26,
            minute in 0u32..62,
            second in 0u32..62,
            fraction in proptest::option::of("[0-9]{1,11}"),
            zone in proptest::sample::select(vec!["Z", "z", "+00:00", "-05:30", "", "ZZ"]),
        ) {
            let fraction = fraction.map(|digits| format!(".{digits}")).unwrap_or_default();
            let text = format!(
                "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}{zone}"
            );
            let reference = OffsetDateTime::parse(
                &text,
                &time::format_description::well_known::Rfc3339,
            )
            .ok();
            if let Some(fast) = fast_rfc3339(text.as_bytes()) {
                proptest::prop_assert_eq!(Some(fast), reference, "{}", text);
            }
            proptest::prop_assert_eq!(parse_rfc3339(&text), reference, "{}", text);
        }
    }

    #[test]
    fn usual_timestamps_take_the_fast_path() {
        for text in [
            "2023-11-14T22:13:20Z",
            "2023-11-14T22:13:20.123Z",
            "2024-02-29T00:00:00.000000001Z",
        ] {
            assert!(fast_rfc3339(text.as_bytes()).is_some(), "{text}");
        }
        assert_eq!(
            fast_rfc3339(b"2023-11-14T22:13:20.5Z").map(OffsetDateTime::unix_timestamp_nanos),
            Some(1_700_000_000_500_000_000)
        );
        for text in [
            "2023-02-29T00:00:00Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14 22:13:20Z",
            "2023-11-14T22:13:20+01:00",
        ] {
            assert!(fast_rfc3339(text.as_bytes()).is_none(), "{text}");
        }
    }

    fn parse(body: &str) -> Result<Envelope, EnvelopeError> {
        Envelope::parse(
            Bytes::copy_from_slice(body.as_bytes()),
            &Verified::default(),
        )
    }

    #[test]
    fn parses_paymentkit_envelope() {
        let env = parse(
            r#"{"id":"evt_1","type":"payment_intent.succeeded","livemode":false,
               "created_at":"2023-11-14T22:13:20.000Z","data":{"object":{"id":"pi_1","amount":"10"}}}"#,
        )
        .unwrap();
        assert_eq!(env.id(), "evt_1");
        assert_eq!(env.event_type(), "payment_intent.succeeded");
        assert_eq!(env.livemode(), Some(false));
        assert_eq!(env.created().unwrap().unix_timestamp(), 1_700_000_000);
        assert_eq!(env.raw_object(), br#"{"id":"pi_1","amount":"10"}"#);
    }

    #[test]
    fn accepts_unix_created_and_data_without_object() {
        let env = parse(r#"{"id":"e","type":"t.x","created":1700000000,"data":{"a":1}}"#).unwrap();
        assert_eq!(env.created().unwrap().unix_timestamp(), 1_700_000_000);
        assert_eq!(env.raw_object(), br#"{"a":1}"#);
        let whole = r#"{"id":"e","type":"t.x","action":"opened"}"#;
        assert_eq!(parse(whole).unwrap().raw_object(), whole.as_bytes());
    }

    #[test]
    fn finds_the_object_wherever_data_puts_it() {
        let cases = [
            (
                r#"{"id":"e","type":"t","data":{"previous_attributes":{"object":1},"object":{"a":"}"}}}"#,
                r#"{"a":"}"}"#,
            ),
            (
                r#"{"id":"e","type":"t","data":{"obj\u0065ct":[1, 2]}}"#,
                "[1, 2]",
            ),
            // No usable `object`: `data` itself is the object.
            (
                r#"{"id":"e","type":"t","data":{"object":null,"b":2}}"#,
                r#"{"object":null,"b":2}"#,
            ),
            (
                r#"{"id":"e","type":"t","data":{"object":1,"object":2}}"#,
                r#"{"object":1,"object":2}"#,
            ),
            (
                r#"{"id":"e","type":"t","data":[{"object":1}]}"#,
                r#"[{"object":1}]"#,
            ),
            (r#"{"id":"e","type":"t","data":"text"}"#, r#""text""#),
            (
                r#"{"id":"e","type":"t","data":null}"#,
                r#"{"id":"e","type":"t","data":null}"#,
            ),
        ];
        for (body, object) in cases {
            let env = parse(body).unwrap();
            assert_eq!(
                std::str::from_utf8(env.raw_object()).unwrap(),
                object,
                "{body}"
            );
        }
        assert!(matches!(
            parse(r#"{"id":"e","type":"t","data":{"object":{"a":}}}"#),
            Err(EnvelopeError::Json(_))
        ));
    }

    #[test]
    fn header_metadata_wins() {
        let verified = Verified {
            id: Some("delivery-1".into()),
            event_type: Some("issues.opened".into()),
            timestamp: None,
            action_in_type: false,
        };
        let env =
            Envelope::parse(Bytes::from_static(br#"{"action":"opened"}"#), &verified).unwrap();
        assert_eq!(env.id(), "delivery-1");
        assert_eq!(env.event_type(), "issues.opened");
    }

    #[test]
    fn action_extends_the_type_only_from_one_top_level_string() {
        let verified = Verified {
            id: Some("d-1".into()),
            event_type: Some("issues".into()),
            timestamp: None,
            action_in_type: true,
        };
        let type_of = |body: &str| {
            Envelope::parse(Bytes::copy_from_slice(body.as_bytes()), &verified)
                .map(|env| env.event_type().to_owned())
        };
        let ok = |t: &str| Ok(t.to_owned());
        assert_eq!(
            type_of(r#"{"action":"opened","issue":{"action":"x"}}"#),
            ok("issues.opened")
        );
        assert_eq!(
            type_of(r#"{"issue":{"action":"x"},"action":"closed"}"#),
            ok("issues.closed")
        );
        assert_eq!(type_of(r#"{"issue":{"action":"x"}}"#), ok("issues"));
        assert_eq!(type_of(r#"{"action":1}"#), ok("issues"));
        assert_eq!(type_of(r#"{"action":{"a":"b"}}"#), ok("issues"));
        assert_eq!(type_of(r#"{"action":["opened"]}"#), ok("issues"));
        assert_eq!(type_of(r#"{"action":null}"#), ok("issues"));
        assert_eq!(type_of(r#"{"action":"a","action":"b"}"#), ok("issues"));
        assert_eq!(
            type_of(r#"{"action":"re\u006fpened"}"#),
            ok("issues.reopened")
        );
        assert_eq!(type_of(r#"{"act\u0069on":"closed"}"#), ok("issues.closed"));
        assert_eq!(
            type_of(r#"{"action":"op ened"}"#),
            Err(EnvelopeError::InvalidType)
        );
        for not_an_object in [r#"["opened"]"#, "not json", ""] {
            assert!(
                matches!(type_of(not_an_object), Err(EnvelopeError::Json(_))),
                "{not_an_object}"
            );
        }
        // Only a scheme that asks for it gets the body's `action` in the type.
        let env = parse(r#"{"id":"e","type":"t","action":"opened"}"#).unwrap();
        assert_eq!(env.event_type(), "t");
        let env = parse(r#"{"id":"e","type":"t","action":1,"action":2}"#).unwrap();
        assert_eq!(env.event_type(), "t");
    }

    #[test]
    fn rejects_unusable_bodies() {
        let long_id = format!(r#"{{"id":"{}","type":"a"}}"#, "x".repeat(256));
        let max_id = format!(r#"{{"id":"{}","type":"a"}}"#, "x".repeat(255));
        assert!(parse(&max_id).is_ok());
        let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        type Expect = fn(&EnvelopeError) -> bool;
        let cases: Vec<(&str, Expect)> = vec![
            ("", |e| matches!(e, EnvelopeError::Json(_))),
            ("[]", |e| matches!(e, EnvelopeError::Json(_))),
            ("null", |e| matches!(e, EnvelopeError::Json(_))),
            ("\"evt\"", |e| matches!(e, EnvelopeError::Json(_))),
            ("{", |e| matches!(e, EnvelopeError::Json(_))),
            (r#"{"id":5,"type":"a"}"#, |e| {
                matches!(e, EnvelopeError::Json(_))
            }),
            (r#"{"id":"a","id":"b","type":"a"}"#, |e| {
                matches!(e, EnvelopeError::Json(_))
            }),
            (r#"{"type":"a"}"#, |e| *e == EnvelopeError::MissingId),
            (r#"{"id":"a"}"#, |e| *e == EnvelopeError::MissingType),
            (r#"{"id":"","type":"a"}"#, |e| {
                *e == EnvelopeError::InvalidId
            }),
            (r#"{"id":"a\nb","type":"a"}"#, |e| {
                *e == EnvelopeError::InvalidId
            }),
            (r#"{"id":"a","type":"a b"}"#, |e| {
                *e == EnvelopeError::InvalidType
            }),
            (&long_id, |e| *e == EnvelopeError::InvalidId),
            (r#"{"id":"a","type":"b","created_at":"yesterday"}"#, |e| {
                *e == EnvelopeError::InvalidCreated
            }),
            (r#"{"id":"a","type":"b","data":5}"#, |_| false),
            (&nested, |e| matches!(e, EnvelopeError::Json(_))),
        ];
        for (body, expected) in cases {
            match parse(body) {
                Err(error) => assert!(expected(&error), "{body:.40}: {error}"),
                // `data` that is not an object is the object itself.
                Ok(env) => assert_eq!(env.raw_object(), b"5", "{body:.40}"),
            }
        }
        let invalid_utf8 = Envelope::parse(
            Bytes::from_static(b"{\"id\":\"\xff\"}"),
            &Verified::default(),
        );
        assert!(matches!(invalid_utf8, Err(EnvelopeError::Json(_))));
    }

    #[test]
    fn debug_hides_the_body() {
        let env = parse(r#"{"id":"e","type":"t","data":{"object":{"email":"a@b.c"}}}"#).unwrap();
        assert!(!format!("{env:?}").contains("a@b.c"));
    }
}
