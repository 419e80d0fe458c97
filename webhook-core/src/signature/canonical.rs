//! Canonical JSON exactly as JavaScript's `json-stable-stringify` writes it.
//!
//! The Blocklet component signature (used by PaymentKit) signs this text, not the raw body, so
//! every byte must match what Node produces from the same JSON:
//!
//! * object keys sorted by UTF-16 code units (JavaScript's default `Array.prototype.sort`), which
//!   differs from Rust's byte order for keys mixing U+E000..U+FFFF with characters above U+FFFF;
//! * no whitespace anywhere;
//! * strings escaped the way `JSON.stringify` does: only `"`, `\`, and control characters, which
//!   use `\b \f \n \r \t` or `\u00XX` with lowercase hex; everything else, non-ASCII included,
//!   is written as is;
//! * numbers written by `Number.prototype.toString`.
//!
//! # Numbers
//!
//! `JSON.parse` reads every number as an IEEE-754 double, so the number a JavaScript sender
//! signed is the double nearest to the text it sent. This module therefore converts each
//! [`serde_json::Number`] to `f64` (exact for integers up to 2^53 in magnitude, rounded to the
//! nearest double beyond, as JavaScript does: `18446744073709551615` is written
//! `18446744073709552000`) and formats it with JavaScript's rules: the shortest digits that
//! read back as the same double, plain notation from 1e-6 up to but excluding 1e21
//! (`0.000001`, `123.5`, `100000000000000000000`), exponent notation outside it (`1e-7`,
//! `1.5e+21`), and `0` for negative zero. The crate enables serde_json's `float_roundtrip`
//! feature so that parsing itself rounds correctly, as `JSON.parse` does.

use std::fmt::Write as _;

use serde_json::{Number, Value};

/// `value` as `json-stable-stringify` (without options) writes it in JavaScript.
///
/// ```
/// use webhook_core::signature::stable_stringify;
///
/// let value = serde_json::json!({"b": [1.0, 1e21, -0.0], "a": "é\n"});
/// assert_eq!(stable_stringify(&value), r#"{"a":"é\n","b":[1,1e+21,0]}"#);
/// ```
#[must_use]
pub fn stable_stringify(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// Append the canonical form of `value` to `out`.
pub(crate) fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_number(out, number),
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// Append `text` as a JSON string literal with `JSON.stringify`'s escaping.
pub(crate) fn write_string(out: &mut String, text: &str) {
    out.push('"');
    let mut start = 0;
    for (index, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0c => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x00..=0x1f => "",
            _ => continue,
        };
        // Every byte matched above is ASCII, so `index` is a char boundary.
        out.push_str(&text[start..index]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.push_str(escape);
        }
        start = index + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

/// Append `number` as JavaScript would print the double `JSON.parse` makes of it.
fn write_number(out: &mut String, number: &Number) {
    // Integers are converted directly: i64/u64 -> f64 rounds to nearest, exactly like parsing
    // their decimal text would.
    #[allow(clippy::cast_precision_loss)]
    let value = if let Some(int) = number.as_i64() {
        int as f64
    } else if let Some(int) = number.as_u64() {
        int as f64
    } else {
        number.as_f64().unwrap_or(f64::NAN)
    };
    write_js_number(out, value);
}

/// `Number.prototype.toString()` for `value` (ECMA-262 `Number::toString`, radix 10), except
/// that non-finite values are written `null`, as `JSON.stringify` does.
pub(crate) fn write_js_number(out: &mut String, value: f64) {
    if !value.is_finite() {
        out.push_str("null");
        return;
    }
    if value == 0.0 {
        // Covers -0, which JavaScript prints as "0".
        out.push('0');
        return;
    }
    if value < 0.0 {
        out.push('-');
    }
    // Rust's `{:e}` prints the shortest digit string that reads back as the same double (the
    // closest one when several are as short), which is the digit string the ECMAScript
    // algorithm specifies: "d[.ddd]e<exp>".
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .unwrap_or((scientific.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i64 = exponent.parse().unwrap_or(0);
    // ECMAScript names: value = 0.d1d2..dk * 10^n.
    let k = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    let n = exponent + 1;
    if k <= n && n <= 21 {
        out.push_str(&digits);
        for _ in k..n {
            out.push('0');
        }
    } else if 0 < n && n <= 21 {
        let split = usize::try_from(n).unwrap_or(0);
        out.push_str(&digits[..split]);
        out.push('.');
        out.push_str(&digits[split..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        for _ in n..0 {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{}", if n > 0 { '+' } else { '-' }, (n - 1).abs());
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn js(value: f64) -> String {
        let mut out = String::new();
        write_js_number(&mut out, value);
        out
    }

    #[test]
    fn numbers_follow_javascript() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (123.456, "123.456"),
            (0.1, "0.1"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.0 / 3.0, "0.3333333333333333"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123_456_789_012_345_680_000.0, "123456789012345680000"),
            (1.5e21, "1.5e+21"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (1.25e-7, "1.25e-7"),
            (0.000_001_5, "0.0000015"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (9_007_199_254_740_993.0, "9007199254740992"),
            (18_446_744_073_709_551_615.0, "18446744073709552000"),
            (-2.5e-10, "-2.5e-10"),
            (f64::NAN, "null"),
            (f64::INFINITY, "null"),
        ];
        for &(value, expected) in cases {
            assert_eq!(js(value), expected, "{value:e}");
        }
    }

    #[test]
    fn big_integers_round_like_json_parse() {
        let value: Value = serde_json::from_str(
            "[18446744073709551615, -9223372036854775808, 9007199254740993, -0, 1E2, 0.1e1]",
        )
        .unwrap();
        assert_eq!(
            stable_stringify(&value),
            "[18446744073709552000,-9223372036854776000,9007199254740992,0,100,1]"
        );
    }

    #[test]
    fn strings_escape_like_json_stringify() {
        let value = json!("\"\\/\u{8}\u{c}\n\r\t\u{0}\u{1f}\u{7f}é\u{2028}😀");
        assert_eq!(
            stable_stringify(&value),
            "\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0000\\u001f\u{7f}é\u{2028}😀\""
        );
    }

    #[test]
    fn keys_sort_by_utf16_code_units() {
        // U+FF61 is one code unit 0xFF61; U+1F600 is the pair 0xD83D 0xDE00, so it sorts first
        // in JavaScript although its UTF-8 bytes sort last.
        let value = json!({"\u{ff61}": 1, "😀": 2, "b": 3, "a": {"z": null, "Z": true}, "": []});
        assert_eq!(
            stable_stringify(&value),
            "{\"\":[],\"a\":{\"Z\":true,\"z\":null},\"b\":3,\"😀\":2,\"\u{ff61}\":1}"
        );
    }
}
