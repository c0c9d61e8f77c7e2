//! Opens the file and returns its CSV records with their line numbers, streaming.

use std::{
    fs::File,
    io::{BufRead, BufReader},
};

use csv::ByteRecord;
use pmhlink_pdk::PluginError;

use crate::{
    config::Settings,
    decode::Encoding,
    lines::{LineCounter, NewlineTap, Quotes},
};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
/// Large reads: a municipal export is tens to hundreds of MB read once, front to back.
const BUFFER: usize = 1 << 16;

pub struct Records {
    csv: csv::Reader<NewlineTap<BufReader<File>>>,
    record: ByteRecord,
    lines: LineCounter,
    file_name: String,
    /// Line of the last record returned, for I/O error locations.
    line: u64,
}

impl Records {
    /// Opens the file, drops a UTF-8 BOM and the `skip_rows` lines. Errors name the path.
    pub fn open(settings: &Settings) -> Result<Self, PluginError> {
        let path = &settings.path;
        let at = || path.display().to_string();
        // A FIFO, a device or a folder is refused before it is opened: opening a FIFO blocks.
        let file = pmhlink_pdk::fs::open_regular_file(path)?;
        let mut input = BufReader::with_capacity(BUFFER, file);
        let read_error = |e: std::io::Error| {
            PluginError::io(format!("cannot read {}: {e}", path.display())).at(at())
        };
        let head = input.fill_buf().map_err(read_error)?;
        if head.starts_with(UTF8_BOM) {
            if settings.encoding == Encoding::Cp932 {
                return Err(PluginError::data(format!(
                    "{} starts with a UTF-8 byte order mark; set encoding = \"utf-8\"",
                    settings.file_name
                ))
                .at(at()));
            }
            input.consume(UTF8_BOM.len());
        }
        // Skipped lines are not CSV: a title line may hold an unbalanced quote.
        let mut first_line = 1;
        let mut skipped = Vec::new();
        for _ in 0..settings.skip_rows {
            skipped.clear();
            if input.read_until(b'\n', &mut skipped).map_err(read_error)? == 0 {
                break;
            }
            first_line += u64::from(skipped.ends_with(b"\n"));
        }
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(settings.delimiter)
            .quote(settings.quote)
            .buffer_capacity(BUFFER)
            .from_reader(NewlineTap::new(
                input,
                Quotes::new(settings.delimiter, settings.quote),
            ));
        Ok(Self {
            csv,
            record: ByteRecord::new(),
            lines: LineCounter::new(first_line),
            file_name: settings.file_name.clone(),
            line: first_line,
        })
    }

    /// The next record and the line it starts on; `None` at the end of the file.
    pub fn next_record(&mut self) -> Result<Option<(u64, &ByteRecord)>, PluginError> {
        match self.csv.read_byte_record(&mut self.record) {
            Ok(true) => {
                let consumed = self.csv.position().byte();
                let tap = self.csv.get_mut();
                self.line = self.lines.record_start(tap, consumed, &self.record);
                if tap.ended_in_quote() {
                    return Err(self.unclosed_quote());
                }
                Ok(Some((self.line, &self.record)))
            }
            Ok(false) => Ok(None),
            // Byte records in flexible mode fail only on I/O; the OS text names no content.
            Err(e) => Err(PluginError::io(format!(
                "{}: read failed after line {}: {e}",
                self.file_name, self.line
            ))
            .at(format!("{}:{}", self.file_name, self.line))),
        }
    }

    /// The csv crate would end the cell at the end of the file, every line after the quote in
    /// it: the rows there would silently vanish (and turn into deletions), so the file is
    /// refused, naming the line the record with the open quote starts on.
    fn unclosed_quote(&self) -> PluginError {
        let (file, line) = (&self.file_name, self.line);
        PluginError::data(format!(
            "{file} line {line}: a quoted cell of the record starting on this line is not closed before the end of the file"
        ))
        .at(format!("{file}:{line}"))
    }
}
