//! Vendor-style exports, each a [`PersonSink`](crate::PersonSink) that streams to any `Write`
//! (the SQLite registry to a file of its own).

mod layout;
mod residents;
mod residents_sqlite;
mod shien;
mod subsidy;

pub use layout::{FixedField, FixedLayout, Pad, RecordLayout};
pub use residents::{ResidentCells, ResidentsFixed, resident_cells};
pub use residents_sqlite::{RESIDENTS_TABLE, ResidentsSqlite, resident_columns};
pub use shien::ShienCsv;
pub use subsidy::{SUBSIDY_HEADER, SubsidyCsv, SubsidyRows};

use std::io;

use pmhlink_rules::text::is_gaiji;

/// Strict CP932, with the user-defined area: an unmappable character is a bug in the
/// generator, reported as an error.
fn cp932(s: &str) -> io::Result<Vec<u8>> {
    let encode = |run: &str| {
        pmhlink_rules::text::encode_cp932(run)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    };
    if !s.chars().any(is_gaiji) {
        return encode(s);
    }
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(is_gaiji) {
        out.extend(encode(&rest[..at])?);
        let c = rest[at..].chars().next().expect("found a character");
        out.extend(gaiji_bytes(c)?);
        rest = &rest[at + c.len_utf8()..];
    }
    out.extend(encode(rest)?);
    Ok(out)
}

/// CP932's user-defined area F040–F9FC, as `decode_cp932` reads it back (U+E000–U+E757).
/// `encode_cp932` refuses these characters (the WHATWG encoder has no mapping for them), yet
/// writing a vendor's 外字 is the point of the generator's gaiji defect.
fn gaiji_bytes(c: char) -> io::Result<[u8; 2]> {
    let index = u32::from(c) - 0xE000;
    if index > 0x757 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "outside CP932's user-defined area",
        ));
    }
    // 188 trail bytes per lead byte (40–7E, 80–FC), lead bytes from F0.
    let (lead, trail) = (0xF0 + index / 188, index % 188);
    let trail = if trail < 0x3F {
        0x40 + trail
    } else {
        0x41 + trail
    };
    Ok([lead as u8, trail as u8])
}

const CRLF: &[u8] = b"\r\n";

/// One CSV row as Windows exports write it: RFC 4180 quoting where a field needs it, CRLF.
fn csv_row<S: AsRef<str>>(fields: &[S]) -> String {
    let mut row =
        String::with_capacity(fields.iter().map(|f| f.as_ref().len() + 1).sum::<usize>() + 2);
    for (i, field) in fields.iter().enumerate() {
        let field = field.as_ref();
        if i > 0 {
            row.push(',');
        }
        if field.contains([',', '"', '\r', '\n']) {
            row.push('"');
            row.push_str(&field.replace('"', "\"\""));
            row.push('"');
        } else {
            row.push_str(field);
        }
    }
    row.push_str("\r\n");
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaiji_take_the_user_defined_area() {
        assert_eq!(
            cp932("A\u{E000}髙\u{E757}").unwrap(),
            b"A\xF0\x40\xFB\xFC\xF9\xFC"
        );
        assert_eq!(
            cp932("\u{E03E}\u{E03F}\u{E0BC}").unwrap(),
            b"\xF0\x7E\xF0\x80\xF1\x40"
        );
        for c in ['\u{E000}', '\u{E123}', '\u{E757}'] {
            let bytes = cp932(&c.to_string()).unwrap();
            assert_eq!(
                pmhlink_rules::text::decode_cp932(&bytes).unwrap(),
                c.to_string()
            );
        }
        assert!(cp932("\u{E758}").is_err());
    }

    #[test]
    fn csv_quoting_reads_back() {
        let fields = ["a", "b,c", "say \"hi\"", "", "line\nbreak"];
        let row = csv_row(&fields);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(row.as_bytes());
        let back: Vec<String> = reader
            .records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(back, fields);
        assert!(row.ends_with("\r\n"));
        assert_eq!(csv_row(&["1", "2"]), "1,2\r\n");
    }
}
