//! Strict cell decoding: a malformed byte is reported by offset, never replaced by U+FFFD.

/// The file's text encoding: the one every source shares. A UTF-8 file's byte order mark is
/// dropped; a CP932 file starting with one is refused.
pub use pmhlink_rules::text::SourceEncoding as Encoding;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_strictly_with_offsets() {
        assert_eq!(Encoding::Cp932.decode(b"AB").unwrap(), "AB");
        assert_eq!(Encoding::Cp932.decode(b"\x8E\x81").unwrap(), "氏");
        assert_eq!(Encoding::Cp932.decode(b"A\x8E\x81\xFF"), Err(3));
        assert_eq!(Encoding::Utf8.decode("氏".as_bytes()).unwrap(), "氏");
        assert_eq!(Encoding::Utf8.decode(b"AB\xE6\xB0"), Err(2));
    }
}
