//! PMH payload files from a synthetic municipality's expected records, split by the profile's
//! limits exactly as a sink would send them.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use pmhlink_profile::write::{Batch, PayloadWriter};
use pmhlink_profile::{ApiId, Layout};
use pmhlink_synth::{PersonSink, SynthPerson, expected_rows};

/// Writes `<dir>/<API>-<seq>.{json,csv}`, one file per registration call.
pub struct PayloadFiles<'l> {
    dir: PathBuf,
    layout: &'l Layout,
    writer: PayloadWriter<'l>,
    pub files: Vec<PathBuf>,
    pub records: u64,
}

impl<'l> PayloadFiles<'l> {
    pub fn new(dir: &Path, layout: &'l Layout) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(PayloadFiles {
            dir: dir.to_owned(),
            layout,
            writer: PayloadWriter::new(layout),
            files: Vec::new(),
            records: 0,
        })
    }

    fn save(&mut self, batch: Batch) -> io::Result<()> {
        let path = self.dir.join(self.layout.payload_file_name(batch.seq));
        fs::write(&path, &batch.bytes)?;
        self.files.push(path);
        Ok(())
    }
}

impl PersonSink for PayloadFiles<'_> {
    fn write_person(&mut self, p: &SynthPerson<'_>) -> io::Result<()> {
        for row in expected_rows(p) {
            let closed = self.writer.push(&row.record).map_err(io::Error::other)?;
            self.records += 1;
            if let Some(batch) = closed {
                self.save(batch)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        let writer = std::mem::replace(&mut self.writer, PayloadWriter::new(self.layout));
        if let Some(batch) = writer.finish() {
            self.save(batch)?;
        }
        Ok(())
    }
}

/// The layouts `gen` writes payloads for: diff-history JSON and CSV.
pub fn layouts() -> Vec<Layout> {
    let profile = pmhlink_profile::Profile::builtin();
    [ApiId::E06, ApiId::E05]
        .map(|api| Layout::new(&profile, api).expect("built-in layout"))
        .into()
}
