//! `shien.csv`: the 支援措置 list as the resident section keeps it (UTF-8 with BOM, CRLF).

use std::io::{self, Write};

use super::csv_row;
use crate::person::SynthPerson;
use crate::synth::PersonSink;

const BOM: &[u8] = b"\xEF\xBB\xBF";

pub struct ShienCsv<W: Write> {
    out: W,
}

impl<W: Write> ShienCsv<W> {
    /// Writes the BOM and the header row.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(BOM)?;
        out.write_all(csv_row(&["宛名番号", "開始日", "終了日"]).as_bytes())?;
        Ok(ShienCsv { out })
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> PersonSink for ShienCsv<W> {
    fn write_person(&mut self, person: &SynthPerson<'_>) -> io::Result<()> {
        let Some(entry) = person.shien else {
            return Ok(());
        };
        let end = entry.end.map(|d| d.to_string()).unwrap_or_default();
        self.out.write_all(
            csv_row(&[person.atena_number.as_str(), &entry.start.to_string(), &end]).as_bytes(),
        )
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
