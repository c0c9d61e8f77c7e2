//! Physical line numbers for the records the csv reader returns, and whether the file ends
//! inside a quoted cell.
//!
//! The csv crate's `Position::line` is off with CRLF line ends (a record's LF is consumed with
//! the next record, so every line after the first lags by one) and after blank lines (the
//! position is taken before they are skipped). Only the byte count consumed *after* a record
//! is exact, so lines are counted here from that: [`NewlineTap`] notes where every LF is as the
//! csv reader pulls bytes, and [`LineCounter`] works back from the record's end to its first
//! line. Lines end at LF or CRLF. The csv crate also ends a record at a CR alone, which would
//! cut one line into two records on the same line number (a stray CR in a cell, or a classic
//! Mac file): [`LineCounter`] notices a record the csv reader ended at a CR that no LF follows
//! ([`LineCounter::bare_cr`]), so the reader can refuse the file naming that line.
//!
//! The csv crate ends a quoted cell still open at the end of the file silently, taking every
//! later line into it; [`Quotes`] follows the quoting as the bytes pass so the reader can
//! refuse such a file, naming the line the unclosed record starts on.

use std::{
    collections::VecDeque,
    io::{self, Read},
};

use csv::ByteRecord;

/// Where the bytes so far leave the csv parser, as far as quoting goes (the csv crate's rules
/// with its defaults: a quote opens a quoted cell only at the start of a field, a doubled quote
/// inside one stands for itself, bytes after the closing quote continue the field unquoted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted cell: it closes the cell unless another quote follows.
    QuoteInQuoted,
}

pub struct Quotes {
    delimiter: u8,
    quote: u8,
    state: State,
}

impl Quotes {
    pub fn new(delimiter: u8, quote: u8) -> Self {
        Self {
            delimiter,
            quote,
            state: State::FieldStart,
        }
    }

    /// The state after `byte` at a field start or after a quote inside a quoted cell.
    fn after(&self, byte: u8) -> State {
        // At a field start a quote opens a quoted cell; after a quote inside one, it is the
        // doubled quote, and the cell goes on.
        if byte == self.quote {
            State::Quoted
        } else if matches!(byte, b'\r' | b'\n') || byte == self.delimiter {
            State::FieldStart
        } else {
            State::Unquoted
        }
    }

    /// Follows `bytes`, skipping through unquoted and quoted runs with memchr.
    fn scan(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            let rest = &bytes[i..];
            match self.state {
                State::FieldStart | State::QuoteInQuoted => {
                    self.state = self.after(rest[0]);
                    i += 1;
                }
                State::Unquoted => match memchr::memchr3(self.delimiter, b'\n', b'\r', rest) {
                    Some(k) => {
                        self.state = State::FieldStart;
                        i += k + 1;
                    }
                    None => break,
                },
                State::Quoted => match memchr::memchr(self.quote, rest) {
                    Some(k) => {
                        self.state = State::QuoteInQuoted;
                        i += k + 1;
                    }
                    None => break,
                },
            }
        }
    }
}

/// Passes bytes through to the csv reader and notes the offset of every LF on the way. The
/// queue holds only LFs the csv reader has buffered but not yet consumed, so it stays small.
pub struct NewlineTap<R> {
    inner: R,
    offset: u64,
    newlines: VecDeque<u64>,
    /// Offsets of the CRs buffered but not yet consumed, like `newlines`.
    returns: VecDeque<u64>,
    quotes: Quotes,
    /// The inner reader has reported its end.
    ended: bool,
}

impl<R> NewlineTap<R> {
    pub fn new(inner: R, quotes: Quotes) -> Self {
        Self {
            inner,
            offset: 0,
            newlines: VecDeque::new(),
            returns: VecDeque::new(),
            quotes,
            ended: false,
        }
    }

    /// Whether a record the csv reader consumed `consumed` bytes through ran to the end of the
    /// file (it has no terminator of its own).
    fn ends_file(&self, consumed: u64) -> bool {
        self.ended && consumed == self.offset
    }

    /// Whether the file has ended inside a quoted cell (only known once the end was read).
    pub fn ended_in_quote(&self) -> bool {
        self.ended && self.quotes.state == State::Quoted
    }
}

impl<R: Read> Read for NewlineTap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let start = self.offset;
        self.newlines
            .extend(memchr::memchr_iter(b'\n', &buf[..n]).map(|i| start + i as u64));
        self.returns
            .extend(memchr::memchr_iter(b'\r', &buf[..n]).map(|i| start + i as u64));
        self.quotes.scan(&buf[..n]);
        self.offset += n as u64;
        self.ended |= n == 0 && !buf.is_empty();
        Ok(n)
    }
}

pub struct LineCounter {
    /// Line number of the tap's first byte (after skipped lines).
    first_line: u64,
    /// LFs consumed so far.
    passed: u64,
    last_passed: Option<u64>,
    /// A record ended at a CR whose next byte the tap had not read yet: that byte's offset and
    /// the CR's line.
    unsettled_cr: Option<(u64, u64)>,
    /// The line of a CR that ended a record with no LF after it.
    bare_cr: Option<u64>,
}

impl LineCounter {
    pub fn new(first_line: u64) -> Self {
        Self {
            first_line,
            passed: 0,
            last_passed: None,
            unsettled_cr: None,
            bare_cr: None,
        }
    }

    /// The line of the first CR the csv reader ended a record at with no LF after it: such a
    /// CR is not a line end here, so the records around it are not what the file's lines say.
    pub fn bare_cr(&self) -> Option<u64> {
        self.bare_cr
    }

    /// Whether the byte at `at` is an LF, once the tap has read it (`None` before).
    fn lf_at<R>(tap: &NewlineTap<R>, at: u64) -> Option<bool> {
        if tap.newlines.front() == Some(&at) {
            Some(true)
        } else if tap.offset > at || tap.ended {
            Some(false)
        } else {
            None
        }
    }

    /// Settles a CR left open by the last record, now that more of the file has been read;
    /// at the end of the file a CR as the last byte is a line end.
    pub fn settle_cr<R>(&mut self, tap: &NewlineTap<R>) {
        if let Some((at, line)) = self.unsettled_cr
            && let Some(lf) = Self::lf_at(tap, at)
        {
            self.unsettled_cr = None;
            if !lf && !tap.ends_file(at) {
                self.bare_cr.get_or_insert(line);
            }
        }
    }

    /// Notes whether the csv reader ended the record consumed through `consumed` at a CR (on
    /// `line`) that no LF follows.
    fn note_terminator<R>(&mut self, tap: &mut NewlineTap<R>, consumed: u64, line: u64) {
        let mut ended_at_cr = false;
        while let Some(&at) = tap.returns.front() {
            if at >= consumed {
                break;
            }
            tap.returns.pop_front();
            ended_at_cr = at + 1 == consumed;
        }
        if ended_at_cr && !tap.ends_file(consumed) {
            self.unsettled_cr = Some((consumed, line));
            self.settle_cr(tap);
        }
    }

    /// The line `record` starts on, given the bytes the csv reader has consumed through it.
    pub fn record_start<R>(
        &mut self,
        tap: &mut NewlineTap<R>,
        consumed: u64,
        record: &ByteRecord,
    ) -> u64 {
        self.settle_cr(tap);
        while let Some(&at) = tap.newlines.front() {
            if at >= consumed {
                break;
            }
            tap.newlines.pop_front();
            self.passed += 1;
            self.last_passed = Some(at);
        }
        // The record's own terminator, if it was an LF (a CRLF's LF may be consumed with the
        // next record instead; either way it does not belong to this record's lines). A record
        // that runs to the end of the file has none: an LF last is inside its quoted cell.
        let terminator = u64::from(
            consumed > 0 && self.last_passed == Some(consumed - 1) && !tap.ends_file(consumed),
        );
        let end_line = self.first_line + self.passed - terminator;
        self.note_terminator(tap, consumed, end_line);
        // LFs kept inside quoted cells.
        let inside = memchr::memchr_iter(b'\n', record.as_slice()).count() as u64;
        end_line.saturating_sub(inside).max(self.first_line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(data: &[u8], first_line: u64) -> Vec<(u64, Vec<String>)> {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(4)
            .from_reader(NewlineTap::new(data, Quotes::new(b',', b'"')));
        let mut counter = LineCounter::new(first_line);
        let mut record = ByteRecord::new();
        let mut out = Vec::new();
        while csv.read_byte_record(&mut record).unwrap() {
            let consumed = csv.position().byte();
            let line = counter.record_start(csv.get_mut(), consumed, &record);
            let cells = record
                .iter()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            out.push((line, cells));
        }
        out
    }

    fn starts(data: &[u8]) -> Vec<u64> {
        lines(data, 1).into_iter().map(|(l, _)| l).collect()
    }

    #[test]
    fn counts_physical_lines() {
        assert_eq!(starts(b"a\nb\nc\n"), [1, 2, 3]);
        assert_eq!(starts(b"a\r\nb\r\nc"), [1, 2, 3]);
        assert_eq!(starts(b"a\n\n\nb\n"), [1, 4]);
        assert_eq!(starts(b"a\r\n\r\nb\r\n\r\n"), [1, 3]);
        assert_eq!(starts(b"\n\na\n"), [3]);
        assert_eq!(starts(b"\"x\ny\nz\",1\nb\n\"p\r\nq\"\r\nc"), [1, 4, 5, 7]);
        assert_eq!(
            lines(b"a\nb", 3).iter().map(|r| r.0).collect::<Vec<_>>(),
            [3, 4]
        );
        assert!(starts(b"").is_empty());
    }

    /// The line of the first CR that ended a record alone, reading with a csv buffer of
    /// `buffer` bytes (so the CR and the byte after it fall into different reads).
    fn bare_cr(data: &[u8], buffer: usize) -> Option<u64> {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(buffer)
            .from_reader(NewlineTap::new(data, Quotes::new(b',', b'"')));
        let mut counter = LineCounter::new(1);
        let mut record = ByteRecord::new();
        while csv.read_byte_record(&mut record).unwrap() {
            let consumed = csv.position().byte();
            counter.record_start(csv.get_mut(), consumed, &record);
        }
        counter.settle_cr(csv.get_ref());
        counter.bare_cr()
    }

    #[test]
    fn a_cr_alone_is_noticed_with_its_line() {
        let cases: [(&[u8], Option<u64>); 9] = [
            (b"a\r\nb\r\n", None),
            (b"a\r\n\r\nb\r\nc", None),
            (b"a\nb\rc\n", Some(2)),
            (b"a\r\r\nb", Some(1)),
            (b"a\rb\rc", Some(1)),
            (b"a\nb\r", None),
            (b"\"x\ry\",1\n2\n", None),
            (b"\"x\ny\"\rz\n", Some(2)),
            (b"a,b\n1,2\r\n3\r4\r\n", Some(3)),
        ];
        for buffer in [4, 5, 6, 7, 64] {
            for (data, expected) in cases {
                assert_eq!(
                    bare_cr(data, buffer),
                    expected,
                    "{:?} (buffer {buffer})",
                    String::from_utf8_lossy(data)
                );
            }
        }
    }

    #[test]
    fn quoted_newlines_stay_in_the_cell() {
        let rows = lines(b"1,\"two\nlines\"\n2,x\n", 1);
        assert_eq!(rows[0], (1, vec!["1".into(), "two\nlines".into()]));
        assert_eq!(rows[1].0, 3);
    }
}
