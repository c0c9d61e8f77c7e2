//! Strict cell decoding: a malformed byte is reported by offset, never replaced by U+FFFD.

use std::borrow::Cow;

use pmhlink_rules::text::decode_cp932;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Encoding {
    #[default]
    #[serde(rename = "utf-8")]
    Utf8,
    #[serde(rename = "cp932")]
    Cp932,
}

impl Encoding {
    /// For messages: `malformed CP932 byte`.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Cp932 => "CP932",
        }
    }

    /// The text of `bytes`, or the offset of the first malformed byte.
    pub fn decode(self, bytes: &[u8]) -> Result<Cow<'_, str>, usize> {
        match self {
            Encoding::Utf8 => std::str::from_utf8(bytes)
                .map(Cow::Borrowed)
                .map_err(|e| e.valid_up_to()),
            // Most cells (numbers, codes, dates) are ASCII, which CP932 maps to itself: borrow
            // them instead of allocating a decoded copy.
            Encoding::Cp932 if bytes.is_ascii() => Ok(Cow::Borrowed(
                std::str::from_utf8(bytes).map_err(|e| e.valid_up_to())?,
            )),
            Encoding::Cp932 => decode_cp932(bytes).map(Cow::Owned).map_err(|e| e.offset),
        }
    }
}

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
