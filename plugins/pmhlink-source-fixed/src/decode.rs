//! Strict field decoding and character boundaries, by byte offset.

use std::borrow::Cow;

use pmhlink_rules::text::SourceEncoding;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Text encoding of the fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Encoding {
    /// Windows-31J (Shift_JIS with the NEC and IBM extensions); a file starting with a UTF-8
    /// byte order mark is refused.
    #[default]
    #[serde(rename = "cp932")]
    Cp932,
    /// UTF-8; a leading byte order mark is dropped.
    #[serde(rename = "utf-8")]
    Utf8,
}

/// CP932 lead bytes: the byte after one is its trail, whatever its value (a trail can be ASCII).
fn is_cp932_lead(b: u8) -> bool {
    matches!(b, 0x81..=0x9F | 0xE0..=0xFC)
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

    pub fn wide(self) -> &'static str {
        match self {
            Encoding::Utf8 => "multi-byte",
            Encoding::Cp932 => "double-byte",
        }
    }

    /// The text of `bytes`, or the offset of the first malformed byte.
    pub fn decode(self, bytes: &[u8]) -> Result<Cow<'_, str>, usize> {
        self.codec().decode(bytes)
    }

    /// `starts[i]`: a character starts at byte `i` of `line` (`starts[line.len()]`: the last
    /// character ends with the line). CP932 is walked from the line start, because a trail
    /// byte can look like anything, ASCII included.
    pub fn char_starts(self, line: &[u8], starts: &mut Vec<bool>) {
        starts.clear();
        starts.resize(line.len() + 1, false);
        match self {
            Encoding::Cp932 => {
                let mut i = 0;
                while i < line.len() {
                    starts[i] = true;
                    i += if is_cp932_lead(line[i]) { 2 } else { 1 };
                }
                starts[line.len()] = i == line.len();
            }
            Encoding::Utf8 => {
                for (start, &b) in starts.iter_mut().zip(line) {
                    *start = !matches!(b, 0x80..=0xBF);
                }
                starts[line.len()] = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(encoding: Encoding, line: &[u8]) -> Vec<usize> {
        let mut s = Vec::new();
        encoding.char_starts(line, &mut s);
        s.iter()
            .enumerate()
            .filter(|(_, b)| **b)
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn cp932_boundaries_follow_lead_bytes_even_over_ascii_trails() {
        // ポ = 83 7C: its trail byte is `|`.
        assert_eq!(starts(Encoding::Cp932, b"A\x83\x7CB"), [0, 1, 3, 4]);
        assert_eq!(starts(Encoding::Cp932, b"\x81\x40\x81\x40"), [0, 2, 4]);
        // A lead byte last: the line ends inside a character.
        assert_eq!(starts(Encoding::Cp932, b"A\x83"), [0, 1]);
        // Half-width kana (A1-DF) are single bytes.
        assert_eq!(starts(Encoding::Cp932, b"\xB1\xB2"), [0, 1, 2]);
    }

    #[test]
    fn utf8_boundaries_skip_continuation_bytes() {
        assert_eq!(starts(Encoding::Utf8, "a氏b".as_bytes()), [0, 1, 4, 5]);
    }

    #[test]
    fn decodes_strictly() {
        assert_eq!(Encoding::Cp932.decode(b"\x81\x40A").unwrap(), "\u{3000}A");
        assert_eq!(Encoding::Cp932.decode(b"AB\xFF"), Err(2));
    }
}
