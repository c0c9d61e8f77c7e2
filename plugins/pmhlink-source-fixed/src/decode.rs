//! Strict field decoding and character boundaries, by byte offset.

/// The fields' text encoding: the one every source shares.
pub use pmhlink_rules::text::SourceEncoding as Encoding;

/// CP932 lead bytes: the byte after one is its trail, whatever its value (a trail can be ASCII).
fn is_cp932_lead(b: u8) -> bool {
    matches!(b, 0x81..=0x9F | 0xE0..=0xFC)
}

/// For messages: what a character of more than one byte is called.
pub fn wide(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Utf8 => "multi-byte",
        Encoding::Cp932 => "double-byte",
    }
}

/// `starts[i]`: a character starts at byte `i` of `line` (`starts[line.len()]`: the last
/// character ends with the line). CP932 is walked from the line start, because a trail
/// byte can look like anything, ASCII included.
pub fn char_starts(encoding: Encoding, line: &[u8], starts: &mut Vec<bool>) {
    starts.clear();
    starts.resize(line.len() + 1, false);
    match encoding {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(encoding: Encoding, line: &[u8]) -> Vec<usize> {
        let mut s = Vec::new();
        char_starts(encoding, line, &mut s);
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
