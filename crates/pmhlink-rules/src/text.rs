//! Text rules: what a character set allows, and the strict codecs that turn source bytes into
//! text. String-level cleaning (kana widening, folding, 外字) lives in [`crate::clean`].

use std::fmt;

use encoding_rs::{DecoderResult, EncoderResult, SHIFT_JIS};

/// A character from the private-use area: CP932's user-defined area (F040–F9FC) decodes to
/// U+E000–U+E757, and other systems put their 外字 elsewhere in the BMP's private-use area.
pub fn is_gaiji(c: char) -> bool {
    ('\u{E000}'..='\u{F8FF}').contains(&c)
}

/// Whether a character lies outside JIS X 0208 (and ASCII), the repertoire receipt computers
/// can be trusted to display. CP932's extensions (NEC row 13 at lead byte 0x87, NEC-selected
/// IBM extensions at 0xED–0xEE, IBM extensions at 0xFA–0xFC) and JIS X 0201 half-width kana
/// count as outside, as does anything CP932 cannot encode at all.
pub fn is_outside_jis_x0208(c: char) -> bool {
    if c.is_ascii() {
        return false;
    }
    let Ok(bmp) = u16::try_from(u32::from(c)) else {
        return true;
    };
    let word = jis_x0208_bitmap()[usize::from(bmp >> 6)];
    word & (1 << (bmp & 63)) == 0
}

/// Asks the CP932 encoder, once per character; [`is_outside_jis_x0208`] reads its answers from
/// a table because it runs over every text field of every record.
fn encodes_inside_jis_x0208(c: char) -> bool {
    let mut encoder = SHIFT_JIS.new_encoder();
    let mut buf = [0u8; 8];
    let mut utf8 = [0u8; 4];
    let (result, _, written) =
        encoder.encode_from_utf8_without_replacement(c.encode_utf8(&mut utf8), &mut buf, true);
    matches!(result, EncoderResult::InputEmpty)
        && written == 2
        && !matches!(buf[0], 0x85..=0x87 | 0xEB..=0xFF)
}

/// One bit per BMP code point: set when the character is inside JIS X 0208.
fn jis_x0208_bitmap() -> &'static [u64; 1024] {
    static BITMAP: std::sync::OnceLock<Box<[u64; 1024]>> = std::sync::OnceLock::new();
    BITMAP.get_or_init(|| {
        let mut bits = Box::new([0u64; 1024]);
        for cp in 0x80..=0xFFFFu32 {
            if char::from_u32(cp).is_some_and(encodes_inside_jis_x0208) {
                bits[(cp >> 6) as usize] |= 1 << (cp & 63);
            }
        }
        bits
    })
}

pub fn has_outside_jis_x0208(s: &str) -> bool {
    outside_jis_x0208(s).next().is_some()
}

/// The characters of `s` outside JIS X 0208, with the table looked up once for the string.
pub fn outside_jis_x0208(s: &str) -> impl Iterator<Item = char> + '_ {
    let bitmap = (!s.is_ascii()).then(jis_x0208_bitmap);
    s.chars().filter(move |&c| {
        let Some(bitmap) = bitmap else { return false };
        if c.is_ascii() {
            return false;
        }
        let Ok(bmp) = u16::try_from(u32::from(c)) else {
            return true;
        };
        bitmap[usize::from(bmp >> 6)] & (1 << (bmp & 63)) == 0
    })
}

/// The text encodings vendor exports and databases come in, decoded strictly: a malformed
/// byte is an error at its offset, never U+FFFD. Every source plugin's `encoding` setting is
/// this type, so the names (`utf-8`, `cp932`) and their meaning are one.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
pub enum SourceEncoding {
    /// UTF-8.
    #[default]
    #[serde(rename = "utf-8")]
    Utf8,
    /// Windows-31J (Shift_JIS with the NEC and IBM extensions).
    #[serde(rename = "cp932")]
    Cp932,
}

impl SourceEncoding {
    /// For messages: `malformed CP932 byte`.
    pub fn name(self) -> &'static str {
        match self {
            SourceEncoding::Utf8 => "UTF-8",
            SourceEncoding::Cp932 => "CP932",
        }
    }

    /// The text of `bytes`, or the offset of the first malformed byte.
    pub fn decode(self, bytes: &[u8]) -> Result<std::borrow::Cow<'_, str>, usize> {
        use std::borrow::Cow;
        match self {
            SourceEncoding::Utf8 => std::str::from_utf8(bytes)
                .map(Cow::Borrowed)
                .map_err(|e| e.valid_up_to()),
            // Most cells (numbers, codes, dates) are ASCII, which CP932 maps to itself: borrow
            // them instead of allocating a decoded copy.
            SourceEncoding::Cp932 if bytes.is_ascii() => Ok(Cow::Borrowed(
                std::str::from_utf8(bytes).map_err(|e| e.valid_up_to())?,
            )),
            SourceEncoding::Cp932 => decode_cp932(bytes).map(Cow::Owned).map_err(|e| e.offset),
        }
    }
}

/// Bytes that do not decode. Carries the offset of the first malformed byte, never content, so
/// it can go into a report as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Offset into the input, counting a stripped BOM.
    pub offset: usize,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed byte at offset {}", self.offset)
    }
}

impl std::error::Error for DecodeError {}

/// Text with a character CP932 cannot represent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeError {
    /// Index, in characters, of the first unmappable character.
    pub char_index: usize,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "character {} has no CP932 encoding", self.char_index)
    }
}

impl std::error::Error for EncodeError {}

/// Decodes CP932 (Windows-31J) strictly. A malformed byte, including a double-byte character
/// cut in half at the end (a fixed-width field boundary), is an error and never U+FFFD. The
/// user-defined area decodes to U+E000–U+E757: see [`crate::clean::map_gaiji`].
pub fn decode_cp932(bytes: &[u8]) -> Result<String, DecodeError> {
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .expect("input length fits in memory");
    let mut out = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        DecoderResult::InputEmpty => Ok(out),
        // `read` counts the malformed bytes and any bytes the decoder read past them.
        DecoderResult::Malformed(bad, past) => Err(DecodeError {
            offset: read - usize::from(bad) - usize::from(past),
        }),
        DecoderResult::OutputFull => unreachable!("the buffer has the worst-case length"),
    }
}

/// Decodes UTF-8 strictly, dropping one leading BOM.
pub fn decode_utf8(bytes: &[u8]) -> Result<String, DecodeError> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let skip = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
    match std::str::from_utf8(&bytes[skip..]) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => Err(DecodeError {
            offset: skip + e.valid_up_to(),
        }),
    }
}

/// Encodes to CP932 without replacement. `Encoding::encode` would silently write `&#…;` for an
/// unmappable character, which a receiving system then takes for part of the name.
pub fn encode_cp932(s: &str) -> Result<Vec<u8>, EncodeError> {
    let mut encoder = SHIFT_JIS.new_encoder();
    let capacity = encoder
        .max_buffer_length_from_utf8_without_replacement(s.len())
        .expect("input length fits in memory");
    let mut out = Vec::with_capacity(capacity);
    let (result, read) = encoder.encode_from_utf8_to_vec_without_replacement(s, &mut out, true);
    match result {
        EncoderResult::InputEmpty => Ok(out),
        // `read` ends just after the unmappable character.
        EncoderResult::Unmappable(_) => Err(EncodeError {
            char_index: s[..read].chars().count() - 1,
        }),
        EncoderResult::OutputFull => unreachable!("the buffer has the worst-case length"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp932_decodes_strictly() {
        // ヤマダ in CP932, then NEC row 13 ① and IBM extension 髙.
        assert_eq!(decode_cp932(b"\x83\x84\x83\x7D\x83\x5F").unwrap(), "ヤマダ");
        assert_eq!(decode_cp932(b"\x87\x40\xFB\xFC").unwrap(), "①髙");
        assert_eq!(
            decode_cp932(b"\xF0\x40\xF9\xFC").unwrap(),
            "\u{E000}\u{E757}"
        );
        assert_eq!(decode_cp932(b"").unwrap(), "");
        // A lead byte cut off by a field boundary, after ASCII and after a whole character.
        assert_eq!(decode_cp932(b"AB\x83"), Err(DecodeError { offset: 2 }));
        assert_eq!(
            decode_cp932(b"\x83\x84\x83"),
            Err(DecodeError { offset: 2 })
        );
        // An invalid trail byte that is ASCII: the decoder reads past it; the offset does not.
        assert_eq!(decode_cp932(b"A\x83\x20B"), Err(DecodeError { offset: 1 }));
        assert_eq!(decode_cp932(b"AB\xFF"), Err(DecodeError { offset: 2 }));
        assert_eq!(decode_cp932(b"\xA0"), Err(DecodeError { offset: 0 }));
    }

    #[test]
    fn cp932_decodes_the_windows_forms_of_the_seven() {
        // 〜 ‖ − ¢ £ ¬ ―: CP932 gives the Windows code points, not the JIS ones.
        let s = decode_cp932(b"\x81\x60\x81\x61\x81\x7C\x81\x91\x81\x92\x81\xCA\x81\x5C").unwrap();
        assert_eq!(s, "～∥－￠￡￢―");
    }

    #[test]
    fn utf8_decodes_strictly() {
        assert_eq!(decode_utf8("愛知".as_bytes()).unwrap(), "愛知");
        assert_eq!(decode_utf8(b"\xEF\xBB\xBFA").unwrap(), "A");
        // Only one BOM goes; a second is content.
        assert_eq!(
            decode_utf8(b"\xEF\xBB\xBF\xEF\xBB\xBFA").unwrap(),
            "\u{FEFF}A"
        );
        assert_eq!(decode_utf8(b"A\xE6\x84"), Err(DecodeError { offset: 1 }));
        assert_eq!(
            decode_utf8(b"\xEF\xBB\xBFA\xFF"),
            Err(DecodeError { offset: 4 })
        );
        // CP932 bytes are not UTF-8.
        assert_eq!(decode_utf8(b"\x83\x84"), Err(DecodeError { offset: 0 }));
    }

    #[test]
    fn cp932_encodes_without_replacement() {
        assert_eq!(encode_cp932("ヤマダ").unwrap(), b"\x83\x84\x83\x7D\x83\x5F");
        assert_eq!(encode_cp932("①髙").unwrap(), b"\x87\x40\xFB\xFC");
        assert_eq!(encode_cp932("").unwrap(), b"");
        assert_eq!(encode_cp932("愛知𠮷"), Err(EncodeError { char_index: 2 }));
        assert_eq!(encode_cp932("éA"), Err(EncodeError { char_index: 0 }));
        // 外字 do not round-trip: they must be mapped before anything is written.
        assert_eq!(
            encode_cp932("A\u{E000}"),
            Err(EncodeError { char_index: 1 })
        );
    }

    #[test]
    fn cp932_round_trips_its_own_text() {
        let bytes = b"\x88\xA4\x92\x6D\x81\x40\x89\xD4\x8E\x71\xB1\xB2";
        assert_eq!(encode_cp932(&decode_cp932(bytes).unwrap()).unwrap(), bytes);
    }

    #[test]
    fn jis_x0208_repertoire() {
        for inside in [
            '愛', '知', 'ア', 'ー', '－', '～', '≒', '∵', '￢', '\u{3000}', 'A',
        ] {
            assert!(!is_outside_jis_x0208(inside), "{inside}");
        }
        // ① ㈱ ∟: NEC row 13; 髙 﨑: IBM extensions; ｱ: JIS X 0201; 𠮷 and é: not in CP932.
        for outside in ['①', '㈱', '∟', '髙', '﨑', 'ｱ', '𠮷', 'é', '\u{E000}'] {
            assert!(is_outside_jis_x0208(outside), "{outside}");
        }
    }

    #[test]
    fn gaiji_is_private_use() {
        assert!(is_gaiji('\u{E000}'));
        assert!(is_gaiji('\u{E757}'));
        assert!(!is_gaiji('愛'));
    }
}
