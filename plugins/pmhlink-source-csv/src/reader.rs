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
    lines::{LineCounter, NewlineTap},
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
        let file = File::open(path).map_err(|e| {
            PluginError::io(format!("cannot open {}: {e}", path.display())).at(at())
        })?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(
                PluginError::io(format!("{} is a folder, not a file", path.display())).at(at()),
            );
        }
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
            .from_reader(NewlineTap::new(input));
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
                self.line = self
                    .lines
                    .record_start(self.csv.get_mut(), consumed, &self.record);
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
}
