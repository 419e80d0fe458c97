//! Byte-class checks for the short texts every delivery carries (ids, types, header values).

/// Whether every byte of `text` passes `test`. Without `Iterator::all`'s early exit the
/// compiler tests many bytes per instruction; these texts are short and nearly always pass.
pub(crate) fn every_byte(text: &[u8], test: impl Fn(u8) -> bool) -> bool {
    text.iter().fold(true, |ok, &b| ok & test(b))
}

/// Whether `text` is printable ASCII, space included.
pub(crate) fn printable(text: &str) -> bool {
    every_byte(text.as_bytes(), |b| (0x20..0x7f).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_is_space_to_tilde() {
        assert!(printable(" a~Z0"));
        assert!(printable(""));
        for refused in ["\u{7f}", "\t", "a\u{0}", "é", "\u{1f}"] {
            assert!(!printable(refused), "{refused:?}");
        }
    }
}
