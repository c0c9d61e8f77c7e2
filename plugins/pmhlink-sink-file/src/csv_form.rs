//! The form a CSV payload is written in: a UTF-8 byte order mark or none, and its line ends.
//! The content is pmhlink's; only the BOM and the record terminators change (a line break
//! inside a quoted cell is part of the cell and stays as it is).

use std::borrow::Cow;

use crate::config::CsvLineEnding;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `bytes` (a CSV payload as pmhlink wrote it) in the configured form; borrowed when nothing
/// changes.
pub fn rewrite(bytes: &[u8], bom: bool, ending: CsvLineEnding) -> Cow<'_, [u8]> {
    let has_bom = bytes.starts_with(BOM);
    let body = if has_bom { &bytes[BOM.len()..] } else { bytes };
    let body = match ending {
        CsvLineEnding::Profile => Cow::Borrowed(body),
        CsvLineEnding::Crlf => line_ends(body, b"\r\n"),
        CsvLineEnding::Lf => line_ends(body, b"\n"),
    };
    if bom == has_bom && matches!(body, Cow::Borrowed(_)) {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(body.len() + BOM.len());
    if bom {
        out.extend_from_slice(BOM);
    }
    out.extend_from_slice(&body);
    Cow::Owned(out)
}

/// Every record terminator (CR LF or LF outside quotes) replaced by `terminator`.
fn line_ends<'a>(body: &'a [u8], terminator: &[u8]) -> Cow<'a, [u8]> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 64);
    let mut quoted = false;
    let mut changed = false;
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b == b'"' {
            // A doubled quote inside a quoted cell toggles twice: the cell goes on.
            quoted = !quoted;
        } else if !quoted && (b == b'\n' || (b == b'\r' && body.get(i + 1) == Some(&b'\n'))) {
            let found: &[u8] = if b == b'\r' { b"\r\n" } else { b"\n" };
            changed |= found != terminator;
            out.extend_from_slice(terminator);
            i += found.len();
            continue;
        }
        out.push(b);
        i += 1;
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_and_line_ends_as_configured_quoted_breaks_kept() {
        use CsvLineEnding::*;
        let crlf: &[u8] = b"a,b\r\n1,\"x\r\ny\"\r\n2,\"\"\"q\"\r\n";
        let lf: &[u8] = b"a,b\n1,\"x\r\ny\"\n2,\"\"\"q\"\n";
        let bom_crlf = [BOM, crlf].concat();
        let cases: [(&[u8], bool, CsvLineEnding, &[u8]); 7] = [
            (crlf, false, Profile, crlf),
            (crlf, false, Crlf, crlf),
            (crlf, false, Lf, lf),
            (lf, false, Crlf, crlf),
            (crlf, true, Profile, &bom_crlf),
            (&bom_crlf, false, Profile, crlf),
            (&bom_crlf, true, Crlf, &bom_crlf),
        ];
        for (input, bom, ending, expected) in cases {
            let got = rewrite(input, bom, ending);
            assert_eq!(&*got, expected, "{input:?} bom={bom} {ending:?}");
            assert_eq!(matches!(got, Cow::Borrowed(_)), input == expected);
        }
    }
}
