//! Reading an export line by line: the one place for the rules every line-based source
//! follows — a UTF-8 byte order mark, LF and CR LF line ends, line numbers counted from 1, the
//! DOS end-of-file mark, and strict UTF-8 decoding that names the line and byte, never the
//! content.
//!
//! Lines come as bytes, so a source decodes each row on its own (one bad byte costs one row,
//! not the file) with whatever encoding it reads; [`Line::utf8`] is the strict UTF-8 case.

use std::{
    fmt,
    fs::File,
    io::{BufRead, BufReader, Read},
    path::Path,
};

use crate::PluginError;

/// The UTF-8 byte order mark, which Windows tools often put before the first line.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// DOS end-of-file mark some legacy exporters append after the last line.
const CTRL_Z: &[u8] = b"\x1A";

/// Large reads: an export is tens to hundreds of MB read once, front to back.
const BUFFER: usize = 1 << 16;

/// What a byte order mark at the start of the file means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bom {
    /// The file is UTF-8: a leading BOM is dropped.
    Strip,
    /// The file is declared in another encoding (CP932): a leading UTF-8 BOM says it is not,
    /// and the file is refused (a data error naming it) rather than misread.
    Refuse,
}

/// How a line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Lf,
    CrLf,
    /// The last line of a file that does not end with a line end.
    Eof,
}

impl Ending {
    /// For messages: `LF`, `CRLF`, `end of file`.
    pub fn name(self) -> &'static str {
        match self {
            Ending::Lf => "LF",
            Ending::CrLf => "CRLF",
            Ending::Eof => "end of file",
        }
    }
}

/// One line, without its line end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based physical line number.
    pub number: u64,
    pub bytes: &'a [u8],
    pub ending: Ending,
}

impl<'a> Line<'a> {
    /// The line as UTF-8 text, strictly: a malformed byte is an error naming the line and the
    /// byte (1-based), never replaced by `�`.
    pub fn utf8(&self) -> Result<&'a str, NotUtf8> {
        std::str::from_utf8(self.bytes).map_err(|e| NotUtf8 {
            line: self.number,
            byte: e.valid_up_to() + 1,
        })
    }
}

/// A line that is not valid UTF-8. Displays as `line 4, byte 5: not valid UTF-8`: the text for
/// [`BatchBuilder::row_error`](crate::api::BatchBuilder::row_error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotUtf8 {
    pub line: u64,
    /// 1-based offset of the first malformed byte in the line.
    pub byte: usize,
}

impl fmt::Display for NotUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, byte {}: not valid UTF-8", self.line, self.byte)
    }
}

impl std::error::Error for NotUtf8 {}

/// Drops or refuses a UTF-8 BOM at the start of `input` (see [`Bom`]); `file` names the file
/// in the error. For readers that split records some other way (by length, by a CSV parser)
/// but follow the same rule.
pub fn handle_bom(input: &mut impl BufRead, bom: Bom, file: &str) -> Result<(), PluginError> {
    let head = input.fill_buf().map_err(|e| read_error(file, 1, &e))?;
    if !head.starts_with(UTF8_BOM) {
        return Ok(());
    }
    match bom {
        Bom::Strip => {
            input.consume(UTF8_BOM.len());
            Ok(())
        }
        Bom::Refuse => Err(PluginError::data(format!(
            "{file} starts with a UTF-8 byte order mark: it is UTF-8, not the encoding configured for it"
        ))
        .at(format!("{file}:1"))),
    }
}

/// Whether `record` (just read from `input`) is the DOS end-of-file mark: a lone `^Z` (0x1A)
/// with nothing after it. For readers that cut records some other way (by length) but follow
/// the same rule as [`LineReader`].
pub fn is_eof_mark(record: &[u8], input: &mut impl BufRead) -> std::io::Result<bool> {
    Ok(record == CTRL_Z && input.fill_buf()?.is_empty())
}

fn read_error(file: &str, line: u64, err: &std::io::Error) -> PluginError {
    PluginError::io(format!("{file}: read failed at line {line}: {err}"))
        .at(format!("{file}:{line}"))
}

/// Lines of an export, streamed, with their numbers. See the [module docs](self).
pub struct LineReader<R> {
    input: BufReader<R>,
    file: String,
    buf: Vec<u8>,
    number: u64,
}

impl LineReader<File> {
    /// Opens `path` through [`crate::fs::open_regular_file`] (a FIFO or a folder is refused
    /// without blocking) and handles a leading BOM. Positions in errors use the file's name
    /// ([`crate::fs::file_name`]); a file that cannot be opened is named by its whole path.
    pub fn open(path: &Path, bom: Bom) -> Result<Self, PluginError> {
        let file = crate::fs::open_regular_file(path)?;
        Self::new(crate::fs::file_name(path), file, bom)
    }
}

impl<R: Read> LineReader<R> {
    /// Reads lines from `input`; `file` names it in positions (`export.tsv:12`).
    pub fn new(file: impl Into<String>, input: R, bom: Bom) -> Result<Self, PluginError> {
        let file = file.into();
        let mut input = BufReader::with_capacity(BUFFER, input);
        handle_bom(&mut input, bom, &file)?;
        Ok(Self {
            input,
            file,
            buf: Vec::new(),
            number: 0,
        })
    }

    /// The file's name, as positions give it.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The number of the last line returned (0 before the first).
    pub fn line_number(&self) -> u64 {
        self.number
    }

    /// The next line; `None` at the end of the file. A lone `^Z` (0x1A) as the very last line
    /// is the DOS end-of-file mark, not a line. An I/O error is located at `file:line`.
    pub fn next_line(&mut self) -> Result<Option<Line<'_>>, PluginError> {
        self.buf.clear();
        let at = self.number + 1;
        self.input
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| read_error(&self.file, at, &e))?;
        let eof_mark =
            is_eof_mark(&self.buf, &mut self.input).map_err(|e| read_error(&self.file, at, &e))?;
        if self.buf.is_empty() || eof_mark {
            return Ok(None);
        }
        self.number = at;
        let (bytes, ending) = match self.buf.strip_suffix(b"\n") {
            Some(line) => match line.strip_suffix(b"\r") {
                Some(line) => (line, Ending::CrLf),
                None => (line, Ending::Lf),
            },
            None => (&self.buf[..], Ending::Eof),
        };
        Ok(Some(Line {
            number: at,
            bytes,
            ending,
        }))
    }

    /// Skips up to `lines` lines (a title above the header, say) without looking at them.
    pub fn skip(&mut self, lines: u64) -> Result<(), PluginError> {
        for _ in 0..lines {
            if self.next_line()?.is_none() {
                break;
            }
        }
        Ok(())
    }

    /// The buffered input, positioned after the last line returned, and the number the next
    /// line has: for handing the rest of the file to another parser (a CSV reader).
    pub fn into_rest(self) -> (BufReader<R>, u64) {
        (self.input, self.number + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(data: &[u8], bom: Bom) -> Result<Vec<(u64, Vec<u8>, Ending)>, PluginError> {
        let mut reader = LineReader::new("export.tsv", data, bom)?;
        let mut out = Vec::new();
        while let Some(line) = reader.next_line()? {
            out.push((line.number, line.bytes.to_vec(), line.ending));
        }
        Ok(out)
    }

    /// (line number, bytes, ending) of each line.
    type Expected = Vec<(u64, &'static [u8], Ending)>;

    #[test]
    fn lines_end_at_lf_or_crlf_and_are_numbered_from_1() {
        use Ending::*;
        let cases: [(&[u8], Expected); 6] = [
            (b"a\nb\n", vec![(1, b"a", Lf), (2, b"b", Lf)]),
            (b"a\r\nb", vec![(1, b"a", CrLf), (2, b"b", Eof)]),
            (
                b"a\n\nb\r\n",
                vec![(1, b"a", Lf), (2, b"", Lf), (3, b"b", CrLf)],
            ),
            (b"\xEF\xBB\xBFa\r\n\x1A", vec![(1, b"a", CrLf)]),
            (
                b"a\r\n\x1Ab\r\n",
                vec![(1, b"a", CrLf), (2, b"\x1Ab", CrLf)],
            ),
            (b"", vec![]),
        ];
        for (data, expected) in cases {
            let expected: Vec<_> = expected
                .into_iter()
                .map(|(n, b, e)| (n, b.to_vec(), e))
                .collect();
            assert_eq!(lines(data, Bom::Strip).unwrap(), expected, "{data:?}");
        }
    }

    #[test]
    fn a_bom_is_dropped_or_refused_naming_the_file() {
        assert_eq!(lines(b"\xEF\xBB\xBFa", Bom::Strip).unwrap()[0].1, b"a");
        let err = lines(b"\xEF\xBB\xBFa", Bom::Refuse).unwrap_err();
        assert_eq!(err.kind, crate::api::RErrorKind::Data);
        assert!(
            err.message
                .starts_with("export.tsv starts with a UTF-8 byte order mark")
        );
        assert_eq!(err.location.as_deref(), Some("export.tsv:1"));
        // Not at the start, it is content.
        assert_eq!(lines(b"a\n\xEF\xBB\xBFb", Bom::Refuse).unwrap().len(), 2);
    }

    #[test]
    fn utf8_is_strict_and_names_line_and_byte_only() {
        let line = Line {
            number: 4,
            bytes: b"9990\xFF1\tx",
            ending: Ending::Lf,
        };
        let err = line.utf8().unwrap_err();
        assert_eq!(err.to_string(), "line 4, byte 5: not valid UTF-8");
        let ok = Line {
            bytes: "ﾃｽﾄ".as_bytes(),
            ..line
        };
        assert_eq!(ok.utf8().unwrap(), "ﾃｽﾄ");
    }

    #[test]
    fn skipped_lines_count_and_the_rest_goes_on_after_them() {
        let mut reader =
            LineReader::new("x.csv", &b"title\r\nh1,h2\r\n1,2\r\n"[..], Bom::Strip).unwrap();
        reader.skip(1).unwrap();
        let (mut rest, next) = reader.into_rest();
        let mut tail = String::new();
        rest.read_to_string(&mut tail).unwrap();
        assert_eq!((next, tail.as_str()), (2, "h1,h2\r\n1,2\r\n"));
    }
}
