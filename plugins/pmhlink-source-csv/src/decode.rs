//! Strict cell decoding: a malformed byte is reported by offset, never replaced by U+FFFD.

use std::borrow::Cow;

use pmhlink_rules::text::SourceEncoding;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Text encoding of the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Encoding {
    /// UTF-8; a leading byte order mark is dropped.
    #[default]
    #[serde(rename = "utf-8")]
    Utf8,
    /// Windows-31J (Shift_JIS with the NEC and IBM extensions); a file starting with a UTF-8
    /// byte order mark is refused.
    #[serde(rename = "cp932")]
    Cp932,
}

impl Encoding {
    fn codec(self) -> SourceEncoding {
        match self {
            Encoding::Utf8 => SourceEncoding::Utf8,
            Encoding::Cp932 => SourceEncoding::Cp932,
        }
    }

    /// For messages: `malformed CP932 byte`.
    pub fn name(self) -> &'static str {
        self.codec().name()
    }

    /// The text of `bytes`, or the offset of the first malformed byte.
    pub fn decode(self, bytes: &[u8]) -> Result<Cow<'_, str>, usize> {
        self.codec().decode(bytes)
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
