//! Splits the file into records, streaming: by line ending (through the pdk's line reader, so
//! BOM, CR LF and the DOS end-of-file mark follow the rules every line-based source follows),
//! or by `record_length` when there is none. CP932 never uses CR or LF as a trail byte, so
//! splitting the raw bytes is safe.

use std::{
    fs::File,
    io::{BufReader, Read},
};

use pmhlink_pdk::{
    PluginError,
    lines::{Bom, Ending, LineReader, handle_bom, is_eof_mark},
};

use crate::{config::LineEnding, config::Settings, decode::Encoding};

/// Large reads: an export is tens to hundreds of MB read once, front to back.
const BUFFER: usize = 1 << 16;

pub struct Record<'a> {
    /// 1-based line (or record) number.
    pub number: u64,
    pub bytes: &'a [u8],
    /// The ending found when it differs from the declared one (`"LF"` in a CRLF file…).
    pub wrong_ending: Option<&'static str>,
}

pub enum Records {
    Lines {
        lines: LineReader<File>,
        declared: LineEnding,
    },
    /// `line_ending = "none"`: records back to back.
    Length {
        input: BufReader<File>,
        file: String,
        length: usize,
        buf: Vec<u8>,
        number: u64,
    },
}

impl Records {
    /// Opens the file (only a regular file: a FIFO would block the run) and drops a UTF-8
    /// BOM (refused with `cp932`).
    pub fn open(settings: &Settings) -> Result<Self, PluginError> {
        let bom = match settings.encoding {
            Encoding::Utf8 => Bom::Strip,
            Encoding::Cp932 => Bom::Refuse,
        };
        if settings.line_ending == LineEnding::None {
            let file = pmhlink_pdk::fs::open_regular_file(&settings.path)?;
            Self::by_length(file, &settings.file_name, bom, settings.record_length)
        } else {
            Ok(Records::Lines {
                lines: LineReader::open(&settings.path, bom)?,
                declared: settings.line_ending,
            })
        }
    }

    fn by_length(
        file: File,
        name: &str,
        bom: Bom,
        length: Option<usize>,
    ) -> Result<Self, PluginError> {
        let mut input = BufReader::with_capacity(BUFFER, file);
        handle_bom(&mut input, bom, name)?;
        Ok(Records::Length {
            input,
            file: name.to_owned(),
            length: length.unwrap_or(0),
            buf: Vec::new(),
            number: 0,
        })
    }

    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, PluginError> {
        match self {
            Records::Lines { lines, declared } => {
                let declared = *declared;
                Ok(lines.next_line()?.map(|line| Record {
                    number: line.number,
                    bytes: line.bytes,
                    wrong_ending: match (declared, line.ending) {
                        (LineEnding::Crlf, Ending::Lf) => Some("LF"),
                        (LineEnding::Lf, Ending::CrLf) => Some("CRLF"),
                        _ => None,
                    },
                }))
            }
            Records::Length {
                input,
                file,
                length,
                buf,
                number,
            } => {
                buf.clear();
                let at = *number + 1;
                let failed = |e: std::io::Error| {
                    PluginError::io(format!("{file}: read failed at record {at}: {e}"))
                        .at(format!("{file}:{at}"))
                };
                (&mut *input)
                    .take(*length as u64)
                    .read_to_end(buf)
                    .map_err(failed)?;
                if buf.is_empty() || is_eof_mark(buf, input).map_err(failed)? {
                    return Ok(None);
                }
                *number = at;
                Ok(Some(Record {
                    number: at,
                    bytes: buf,
                    wrong_ending: None,
                }))
            }
        }
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
        let mut records = match ending {
            LineEnding::None => Records::by_length(file, "x.dat", Bom::Refuse, len).unwrap(),
            declared => Records::Lines {
                lines: LineReader::new("x.dat", file, Bom::Refuse).unwrap(),
                declared,
            },
        };
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
