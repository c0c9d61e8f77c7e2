//! Opens the file and returns its CSV records with their line numbers, streaming.

use std::{fs::File, io::BufReader};

use csv::ByteRecord;
use pmhlink_pdk::{
    PluginError,
    lines::{Bom, LineReader},
};

use crate::{
    config::Settings,
    decode::Encoding,
    lines::{LineCounter, NewlineTap, Quotes},
};

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
    /// Opens the file, drops a UTF-8 BOM (refused with `cp932`) and the `skip_rows` lines,
    /// through the pdk's line reader. Errors name the path.
    pub fn open(settings: &Settings) -> Result<Self, PluginError> {
        let bom = match settings.encoding {
            Encoding::Utf8 => Bom::Strip,
            Encoding::Cp932 => Bom::Refuse,
        };
        // A FIFO, a device or a folder is refused before it is opened: opening a FIFO blocks.
        let mut lines = LineReader::open(&settings.path, bom)?;
        // Skipped lines are not CSV: a title line may hold an unbalanced quote.
        lines.skip(settings.skip_rows)?;
        let (input, first_line) = lines.into_rest();
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
                if let Some(line) = self.lines.bare_cr() {
                    return Err(self.bare_cr(line));
                }
                Ok(Some((self.line, &self.record)))
            }
            Ok(false) => {
                self.lines.settle_cr(self.csv.get_ref());
                match self.lines.bare_cr() {
                    Some(line) => Err(self.bare_cr(line)),
                    None => Ok(None),
                }
            }
            // Byte records in flexible mode fail only on I/O; the OS text names no content.
            Err(e) => Err(PluginError::io(format!(
                "{}: read failed after line {}: {e}",
                self.file_name, self.line
            ))
            .at(format!("{}:{}", self.file_name, self.line))),
        }
    }

    /// The csv crate ends a record at a CR alone, so a stray CR in a cell (or a classic Mac
    /// file) would turn one line into two rows, or many lines into one line number: refused,
    /// naming the line the CR is on.
    fn bare_cr(&self, line: u64) -> PluginError {
        let file = &self.file_name;
        PluginError::data(format!(
            "{file} line {line}: a carriage return (CR) outside a quoted cell is not followed by a line feed; lines must end in LF or CRLF"
        ))
        .at(format!("{file}:{line}"))
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
