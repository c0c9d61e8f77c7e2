//! Splits the file into records, streaming: by line ending, or by `record_length` when there
//! is none. CP932 never uses CR or LF as a trail byte, so splitting the raw bytes is safe.

use std::{
    fs::File,
    io::{self, BufRead, BufReader, Read},
};

use crate::config::LineEnding;

/// DOS end-of-file mark some legacy exporters still append after the last record.
const CTRL_Z: &[u8] = b"\x1A";
/// Large reads: an export is tens to hundreds of MB read once, front to back.
const BUFFER: usize = 1 << 16;

pub struct Record<'a> {
    /// 1-based line (or record) number.
    pub number: u64,
    pub bytes: &'a [u8],
    /// The ending found when it differs from the declared one (`"LF"` in a CRLF file…).
    pub wrong_ending: Option<&'static str>,
}

pub struct Records {
    input: BufReader<File>,
    ending: LineEnding,
    record_length: usize,
    buf: Vec<u8>,
    number: u64,
}

impl Records {
    pub fn new(file: File, ending: LineEnding, record_length: Option<usize>) -> Self {
        Self {
            input: BufReader::with_capacity(BUFFER, file),
            ending,
            record_length: record_length.unwrap_or(0),
            buf: Vec::new(),
            number: 0,
        }
    }

    pub fn next_record(&mut self) -> io::Result<Option<Record<'_>>> {
        self.buf.clear();
        let terminated = match self.ending {
            LineEnding::None => {
                let want = self.record_length as u64;
                (&mut self.input).take(want).read_to_end(&mut self.buf)?;
                true
            }
            LineEnding::Crlf | LineEnding::Lf => {
                self.input.read_until(b'\n', &mut self.buf)?;
                self.buf.ends_with(b"\n")
            }
        };
        if self.buf.is_empty() || (self.buf == CTRL_Z && self.input.fill_buf()?.is_empty()) {
            return Ok(None);
        }
        self.number += 1;
        let mut wrong_ending = None;
        if self.ending != LineEnding::None && terminated {
            self.buf.pop();
            let cr = self.buf.ends_with(b"\r");
            match (self.ending, cr) {
                (LineEnding::Crlf, true) => {
                    self.buf.pop();
                }
                (LineEnding::Crlf, false) => wrong_ending = Some("LF"),
                (_, true) => {
                    self.buf.pop();
                    wrong_ending = Some("CRLF");
                }
                _ => {}
            }
        }
        Ok(Some(Record {
            number: self.number,
            bytes: &self.buf,
            wrong_ending,
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Seek, Write};

    use super::*;

    fn split(
        data: &[u8],
        ending: LineEnding,
        len: Option<usize>,
    ) -> Vec<(u64, Vec<u8>, Option<&'static str>)> {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(data).unwrap();
        file.rewind().unwrap();
        let mut records = Records::new(file, ending, len);
        let mut out = Vec::new();
        while let Some(r) = records.next_record().unwrap() {
            out.push((r.number, r.bytes.to_vec(), r.wrong_ending));
        }
        out
    }

    #[test]
    fn splits_by_ending() {
        let r = split(b"ab\r\ncd\r\nef", LineEnding::Crlf, None);
        assert_eq!(
            r,
            [
                (1, b"ab".to_vec(), None),
                (2, b"cd".to_vec(), None),
                (3, b"ef".to_vec(), None)
            ]
        );
        let r = split(b"ab\ncd\r\n", LineEnding::Crlf, None);
        assert_eq!(r[0].2, Some("LF"));
        assert_eq!(r[1], (2, b"cd".to_vec(), None));
        let r = split(b"ab\ncd\r\n", LineEnding::Lf, None);
        assert_eq!((r[0].2, r[1].2), (None, Some("CRLF")));
        assert_eq!(split(b"ab\r\n\x1A", LineEnding::Crlf, None).len(), 1);
        assert!(split(b"", LineEnding::Crlf, None).is_empty());
    }

    #[test]
    fn splits_by_length() {
        let r = split(b"abcdefg", LineEnding::None, Some(3));
        let bytes: Vec<_> = r.iter().map(|r| r.1.clone()).collect();
        assert_eq!(bytes, [b"abc".to_vec(), b"def".to_vec(), b"g".to_vec()]);
        assert_eq!(split(b"abc\x1A", LineEnding::None, Some(3)).len(), 1);
    }
}
