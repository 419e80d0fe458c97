//! The Blocklet component signature (`x-component-sig`) with which PaymentKit calls its app.

use std::borrow::Cow;
use std::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use http::{HeaderName, HeaderValue};
use serde_json::{Map, Value};
use sha3::{Digest as _, Sha3_256};

use super::canonical::{stable_stringify, write_js_number, write_string, write_value};
use super::header::{decode_lower_hex, parse_unix_seconds, required};
use super::standard::ed25519_signing_key;
use super::{
    Freshness, Scheme, SecretError, SignError, SignedRequest, Unsigned, Verified, VerifyError,
};

const SIG: &str = "x-component-sig";
const IAT: &str = "x-component-sig-iat";
const EXP: &str = "x-component-sig-exp";
const VERSION: &str = "x-component-sig-version";
const PATH_PREFIX: &str = "x-path-prefix";
// Looked up by `HeaderName` (see `required`).
static SIG_NAME: HeaderName = HeaderName::from_static(SIG);
static IAT_NAME: HeaderName = HeaderName::from_static(IAT);
static EXP_NAME: HeaderName = HeaderName::from_static(EXP);
static VERSION_NAME: HeaderName = HeaderName::from_static(VERSION);
static PATH_PREFIX_NAME: HeaderName = HeaderName::from_static(PATH_PREFIX);

/// How long a signature is valid for, as the Blocklet SDK sets it (`exp = iat + 300`).
const LIFETIME: i64 = 300;

/// `qs`'s `parameterLimit`: parameters after the first 1000 are ignored, as `qs` does.
const MAX_QUERY_PARAMS: usize = 1000;
/// `qs`'s `arrayLimit`: a key repeated more often is refused rather than guessed at.
const MAX_REPEATS: usize = 20;

/// `Object.prototype` properties: `qs` drops query keys with these names.
const PROTOTYPE_KEYS: &[&str] = &[
    "__proto__",
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
    "constructor",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
    "toString",
    "valueOf",
];

/// The Blocklet component signature, version 1 (signing.md sections 1.3 and 5.3): how PaymentKit
/// authenticates the calls it makes to a component of the same Blocklet app, webhook
/// callbacks included.
///
/// Headers: `x-component-sig` (`0x` + lowercase hex of a 64-byte ed25519 signature),
/// `x-component-sig-iat`, `x-component-sig-exp` (Unix seconds) and `x-component-sig-version: 1`.
/// The signature is ed25519 over the SHA3-256 hash of the canonical JSON
/// (`json-stable-stringify`, see [`stable_stringify`]) of
/// `{iat, exp, body, query, method, url}`: `body` is the parsed JSON body (`{}` when empty),
/// `query` the parsed query string, `method` the lower-case method and `url` the path.
///
/// Unlike the HMAC schemes this does not authenticate the raw bytes but their meaning: a body
/// re-serialised with other whitespace or key order still verifies, while the number and string
/// formatting rules of [`stable_stringify`] must match the sender's exactly. A body that is not
/// JSON fails with [`VerifyError::MalformedBody`].
///
/// Keys: verify with the app's public key (`BLOCKLET_APP_PK`, `0x` + 64 hex digits); sign with
/// its secret key (`BLOCKLET_APP_SK`, `0x` + 128 hex digits, seed then public key, or just the
/// 64-hex-digit seed).
///
/// Freshness: `iat` must be within the tolerance of now in both directions and `exp` must not
/// be in the past (the Blocklet SDK checks only `exp`); `exp` before `iat` is malformed.
///
/// Query strings are read with the `qs` defaults for flat parameters: `+` and percent escapes
/// are decoded (an invalid escape leaves the text as is), a repeated key becomes an array of
/// strings, a parameter without `=` has the value `""`, empty keys and `Object.prototype` names
/// are dropped, and only the first 1000 parameters count. Nested keys (`a[b]=c`) and keys
/// repeated more than 20 times are refused ([`VerifyError::MalformedBody`]) rather than guessed
/// at. When verification fails and the request has an `x-path-prefix` header that the path
/// does not start with, it is tried once more with the prefix joined in front of the path, as
/// the Blocklet SDK does behind its path-rewriting proxy.
///
/// Legacy version-0 signatures (body only, no timestamp) are refused; see
/// [`PaymentKitComponentV0`] to accept them.
///
/// ```
/// use webhook_core::signature::{PaymentKitComponent, Verifier};
///
/// let verifier = Verifier::builder(PaymentKitComponent)
///     .secret("0x03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8")
///     .build()?;
/// # Ok::<(), webhook_core::signature::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PaymentKitComponent;

/// [`PaymentKitComponent`] that also accepts legacy version-0 signatures, and signs them.
///
/// Version 0 (older Blocklet SDKs, sent with `x-component-sig-version: 0` or without the
/// version and timestamp headers) signs only `json-stable-stringify(body)`. It carries no
/// timestamp, so the tolerance does not apply and a captured request can be replayed forever,
/// to any path: the idempotency record is the only barrier. Use this only while a sender that
/// cannot be upgraded still signs this way. Version-1 requests are verified exactly as by
/// [`PaymentKitComponent`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PaymentKitComponentV0;

/// A Blocklet app public key.
#[derive(Clone)]
pub struct ComponentKey(VerifyingKey);

impl fmt::Debug for ComponentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ComponentKey(..)")
    }
}

/// A Blocklet app secret key.
pub struct ComponentSigningKey(Box<SigningKey>);

impl fmt::Debug for ComponentSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ComponentSigningKey(..)")
    }
}

impl Scheme for PaymentKitComponent {
    type Key = ComponentKey;
    type SigningKey = ComponentSigningKey;

    fn name(&self) -> &'static str {
        "paymentkit-component"
    }

    fn parse_key(&self, secret: &str) -> Result<ComponentKey, SecretError> {
        parse_public_key(secret)
    }

    fn parse_signing_key(&self, secret: &str) -> Result<ComponentSigningKey, SecretError> {
        parse_secret_key(secret)
    }

    fn verify<'a>(
        &self,
        keys: &[ComponentKey],
        request: &SignedRequest<'a>,
        freshness: Freshness,
    ) -> Result<Verified<'a>, VerifyError> {
        verify(keys, request, freshness, false)
    }

    fn sign(
        &self,
        key: &ComponentSigningKey,
        unsigned: &Unsigned<'_>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, SignError> {
        sign_v1(key, unsigned)
    }
}

impl Scheme for PaymentKitComponentV0 {
    type Key = ComponentKey;
    type SigningKey = ComponentSigningKey;

    fn name(&self) -> &'static str {
        "paymentkit-component-v0"
    }

    fn parse_key(&self, secret: &str) -> Result<ComponentKey, SecretError> {
        parse_public_key(secret)
    }

    fn parse_signing_key(&self, secret: &str) -> Result<ComponentSigningKey, SecretError> {
        parse_secret_key(secret)
    }

    fn verify<'a>(
        &self,
        keys: &[ComponentKey],
        request: &SignedRequest<'a>,
        freshness: Freshness,
    ) -> Result<Verified<'a>, VerifyError> {
        verify(keys, request, freshness, true)
    }

    fn sign(
        &self,
        key: &ComponentSigningKey,
        unsigned: &Unsigned<'_>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, SignError> {
        let body = parse_body(unsigned.body).map_err(|_| SignError::Invalid("body is not JSON"))?;
        let signature = key.0.sign(&Sha3_256::digest(stable_stringify(&body)));
        Ok(vec![(
            HeaderName::from_static(SIG),
            signature_header(&signature)?,
        )])
    }
}

fn decode_hex(text: &str) -> Result<Vec<u8>, SecretError> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    hex::decode(digits).map_err(|_| SecretError::Format("key is not hex"))
}

fn parse_public_key(secret: &str) -> Result<ComponentKey, SecretError> {
    let bytes: [u8; 32] = decode_hex(secret)?
        .try_into()
        .map_err(|_| SecretError::Format("an app public key is 0x followed by 64 hex digits"))?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|_| SecretError::Format("not an ed25519 public key"))?;
    // A small-order key accepts forged signatures; no honest app has one.
    if key.is_weak() {
        return Err(SecretError::Format("weak ed25519 public key"));
    }
    Ok(ComponentKey(key))
}

fn parse_secret_key(secret: &str) -> Result<ComponentSigningKey, SecretError> {
    Ok(ComponentSigningKey(Box::new(ed25519_signing_key(
        &decode_hex(secret)?,
    )?)))
}

/// Which message the request claims to have signed.
enum Version {
    V1,
    V0,
}

fn verify(
    keys: &[ComponentKey],
    request: &SignedRequest<'_>,
    freshness: Freshness,
    legacy: bool,
) -> Result<Verified<'static>, VerifyError> {
    let signature = parse_signature(required(request.headers, &SIG_NAME)?)?;
    let version = match request
        .headers
        .get(&VERSION_NAME)
        .map(HeaderValue::as_bytes)
    {
        Some(b"1") => Version::V1,
        Some(b"0") if legacy => Version::V0,
        // The current SDK verifies version 1 whatever the header says; older ones sent no
        // version and no timestamps.
        None if legacy && !request.headers.contains_key(&IAT_NAME) => Version::V0,
        None => Version::V1,
        Some(_) => return Err(VerifyError::NoSignature),
    };
    match version {
        Version::V1 => {
            let iat = parse_unix_seconds(required(request.headers, &IAT_NAME)?)?;
            let exp = parse_unix_seconds(required(request.headers, &EXP_NAME)?)?;
            if exp < iat {
                return Err(VerifyError::MalformedTimestamp);
            }
            if freshness.tolerance.is_some() {
                freshness.check(iat)?;
                if exp < freshness.now {
                    return Err(VerifyError::TimestampTooOld);
                }
            }
            let body = parse_body(request.body).map_err(|()| VerifyError::MalformedBody)?;
            let query = parse_query(request.query).map_err(|()| VerifyError::MalformedBody)?;
            let method = request.method.as_str().to_ascii_lowercase();
            let matches = |url: &str| {
                let message = message_v1(iat, exp, &body, &query, &method, url);
                any_key_verifies(keys, &message, &signature)
            };
            let mut verified = matches(request.path);
            if !verified {
                if let Some(prefix) = path_prefix(request) {
                    if !request.path.starts_with(prefix) {
                        verified = matches(&join_url(prefix, request.path));
                    }
                }
            }
            if verified {
                Ok(Verified {
                    timestamp: Some(iat),
                    ..Verified::default()
                })
            } else {
                Err(VerifyError::Mismatch)
            }
        }
        Version::V0 => {
            let body = parse_body(request.body).map_err(|()| VerifyError::MalformedBody)?;
            if any_key_verifies(keys, &stable_stringify(&body), &signature) {
                Ok(Verified::default())
            } else {
                Err(VerifyError::Mismatch)
            }
        }
    }
}

fn sign_v1(
    key: &ComponentSigningKey,
    unsigned: &Unsigned<'_>,
) -> Result<Vec<(HeaderName, HeaderValue)>, SignError> {
    if unsigned.timestamp < 0 {
        return Err(SignError::Invalid("timestamp is negative"));
    }
    let iat = unsigned.timestamp;
    let exp = iat
        .checked_add(LIFETIME)
        .ok_or(SignError::Invalid("timestamp out of range"))?;
    // `Unsigned` has no query of its own: a `?` in the path carries it.
    let (path, query) = match unsigned.path.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (unsigned.path, None),
    };
    let body = parse_body(unsigned.body).map_err(|()| SignError::Invalid("body is not JSON"))?;
    let query = parse_query(query).map_err(|()| SignError::Invalid("unsupported query string"))?;
    let method = unsigned.method.as_str().to_ascii_lowercase();
    let message = message_v1(iat, exp, &body, &query, &method, path);
    let signature = key.0.sign(&Sha3_256::digest(message));
    let number = |n: i64| HeaderValue::from(n);
    Ok(vec![
        (HeaderName::from_static(SIG), signature_header(&signature)?),
        (HeaderName::from_static(IAT), number(iat)),
        (HeaderName::from_static(EXP), number(exp)),
        (
            HeaderName::from_static(VERSION),
            HeaderValue::from_static("1"),
        ),
    ])
}

fn signature_header(signature: &Signature) -> Result<HeaderValue, SignError> {
    HeaderValue::try_from(format!("0x{}", hex::encode(signature.to_bytes())))
        .map_err(|_| SignError::Invalid("header value"))
}

/// `0x` followed by 128 lowercase hex digits, exactly as `@ocap/wallet` writes it.
fn parse_signature(value: &[u8]) -> Result<Signature, VerifyError> {
    let mut bytes = [0u8; 64];
    match value.strip_prefix(b"0x") {
        Some(digits) if decode_lower_hex(digits, &mut bytes) => Ok(Signature::from_bytes(&bytes)),
        _ => Err(VerifyError::MalformedHeader(SIG)),
    }
}

/// `@ocap/wallet` signs the 32-byte SHA3-256 hash of the message, not the message.
fn any_key_verifies(keys: &[ComponentKey], message: &str, signature: &Signature) -> bool {
    let hash = Sha3_256::digest(message);
    keys.iter()
        .any(|key| key.0.verify_strict(&hash, signature).is_ok())
}

/// The body as the sender's JSON parser saw it: `{}` when there is none.
fn parse_body(body: &[u8]) -> Result<Value, ()> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    // serde_json's recursion limit (128) bounds the depth, so canonicalising cannot overflow
    // the stack.
    serde_json::from_slice(body).map_err(drop)
}

/// `json-stable-stringify({iat, exp, body, query, method, url})`, keys already in sorted order.
fn message_v1(iat: i64, exp: i64, body: &Value, query: &Value, method: &str, url: &str) -> String {
    // The sender's `Number` would round a timestamp beyond 2^53; so does this.
    #[allow(clippy::cast_precision_loss)]
    let (iat, exp) = (iat as f64, exp as f64);
    let mut out = String::new();
    out.push_str("{\"body\":");
    write_value(&mut out, body);
    out.push_str(",\"exp\":");
    write_js_number(&mut out, exp);
    out.push_str(",\"iat\":");
    write_js_number(&mut out, iat);
    out.push_str(",\"method\":");
    write_string(&mut out, method);
    out.push_str(",\"query\":");
    write_value(&mut out, query);
    out.push_str(",\"url\":");
    write_string(&mut out, url);
    out.push('}');
    out
}

fn path_prefix<'a>(request: &SignedRequest<'a>) -> Option<&'a str> {
    let value = request.headers.get(&PATH_PREFIX_NAME)?.to_str().ok()?;
    (!value.is_empty()).then_some(value)
}

/// `joinURL(base, path)` of the `ufo` package, which the Blocklet SDK uses for the prefix.
fn join_url(base: &str, path: &str) -> String {
    if path.is_empty() || path == "/" {
        return base.to_owned();
    }
    let path = path
        .strip_prefix("./")
        .or_else(|| path.strip_prefix('/'))
        .unwrap_or(path);
    let mut url = base.to_owned();
    if !url.ends_with('/') {
        url.push('/');
    }
    url.push_str(path);
    url
}

/// A query string read the way `qs.parse` reads flat parameters (see [`PaymentKitComponent`]).
fn parse_query(query: Option<&str>) -> Result<Value, ()> {
    let mut map = Map::new();
    let Some(query) = query else {
        return Ok(Value::Object(map));
    };
    // `qs` turns encoded brackets into brackets before anything else.
    let query = if query.contains('%') {
        Cow::Owned(replace_encoded_brackets(query))
    } else {
        Cow::Borrowed(query)
    };
    for part in query.split('&').take(MAX_QUERY_PARAMS) {
        if part.is_empty() {
            continue;
        }
        let split = part.find("]=").map(|at| at + 1).or_else(|| part.find('='));
        let (key, value) = match split {
            Some(at) => (qs_decode(&part[..at]), qs_decode(&part[at + 1..])),
            None => (qs_decode(part), Cow::Borrowed("")),
        };
        if key.contains('[') {
            return Err(());
        }
        if key.is_empty() || PROTOTYPE_KEYS.contains(&key.as_ref()) {
            continue;
        }
        let value = Value::String(value.into_owned());
        match map.get_mut(key.as_ref()) {
            None => {
                map.insert(key.into_owned(), value);
            }
            Some(Value::Array(values)) => {
                if values.len() == MAX_REPEATS {
                    return Err(());
                }
                values.push(value);
            }
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
        }
    }
    Ok(Value::Object(map))
}

fn replace_encoded_brackets(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut rest = query;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3).unwrap_or("");
        if escape.eq_ignore_ascii_case("%5B") {
            out.push('[');
            rest = &rest[at + 3..];
        } else if escape.eq_ignore_ascii_case("%5D") {
            out.push(']');
            rest = &rest[at + 3..];
        } else {
            out.push('%');
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// `qs`'s decoder: `+` is a space, then `decodeURIComponent`, whose failure (a `%` not followed
/// by two hex digits, or escapes that are not UTF-8) leaves the text as it was.
fn qs_decode(text: &str) -> Cow<'_, str> {
    let spaced = if text.contains('+') {
        Cow::Owned(text.replace('+', " "))
    } else {
        Cow::Borrowed(text)
    };
    if !spaced.contains('%') {
        return spaced;
    }
    let bytes = spaced.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = bytes.get(index + 1..index + 3).and_then(|pair| {
                let mut byte = [0u8; 1];
                hex::decode_to_slice(pair, &mut byte).ok().map(|()| byte[0])
            });
            let Some(byte) = hex else {
                return spaced;
            };
            decoded.push(byte);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    // Literal characters are whole UTF-8 sequences, so this fails exactly when an escaped
    // sequence is not valid UTF-8, as `decodeURIComponent` does.
    match String::from_utf8(decoded) {
        Ok(text) => Cow::Owned(text),
        Err(_) => spaced,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn query(text: &str) -> Result<Value, ()> {
        parse_query(Some(text))
    }

    #[test]
    fn queries_parse_like_qs() {
        assert_eq!(parse_query(None), Ok(json!({})));
        assert_eq!(query(""), Ok(json!({})));
        assert_eq!(query("a=b&c=d"), Ok(json!({"a": "b", "c": "d"})));
        assert_eq!(query("a=1&a=2&a=3"), Ok(json!({"a": ["1", "2", "3"]})));
        assert_eq!(query("flag&&=x&b="), Ok(json!({"flag": "", "b": ""})));
        assert_eq!(
            query("q=a+b%20c&%C3%A9=%E2%82%AC"),
            Ok(json!({"q": "a b c", "é": "€"}))
        );
        assert_eq!(
            query("bad=%zz&half=%C3&pct=100%"),
            Ok(json!({"bad": "%zz", "half": "%C3", "pct": "100%"}))
        );
        assert_eq!(query("a=b=c"), Ok(json!({"a": "b=c"})));
        assert_eq!(query("a=x]=y"), Ok(json!({"a=x]": "y"})));
        assert_eq!(query("toString=1&__proto__=2&ok=3"), Ok(json!({"ok": "3"})));
        assert_eq!(query("a[b]=c"), Err(()));
        assert_eq!(query("a%5Bb%5D=c"), Err(()));
        assert_eq!(query("a[]=c"), Err(()));
        let many = vec!["k=v"; MAX_REPEATS + 1].join("&");
        assert_eq!(query(&many), Err(()));
        let limit = (0..MAX_QUERY_PARAMS + 5)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join("&");
        let parsed = query(&limit).unwrap();
        assert_eq!(parsed.as_object().unwrap().len(), MAX_QUERY_PARAMS);
    }

    #[test]
    fn prefix_joins_like_ufo() {
        assert_eq!(join_url("/prefix", "/api/x"), "/prefix/api/x");
        assert_eq!(join_url("/prefix/", "/api/x"), "/prefix/api/x");
        assert_eq!(join_url("/prefix", "./api"), "/prefix/api");
        assert_eq!(join_url("/prefix", "/"), "/prefix");
    }
}
