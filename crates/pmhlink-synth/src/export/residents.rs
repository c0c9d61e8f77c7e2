//! `residents.dat`: the resident system's fixed-width export (CP932, CRLF), by
//! [`FixedLayout::residents`].

use std::io::{self, Write};

use pmhlink_rules::CivilDate;

use super::layout::FixedLayout;
use super::{CRLF, cp932};
use crate::defect::{Defect, off_by_one_check_digit};
use crate::era_forms;
use crate::kana::{to_halfwidth_kana, to_hiragana};
use crate::municipality::Municipality;
use crate::person::SynthPerson;
use crate::synth::PersonSink;

/// The vendor's first 外字 (CP932 F040): where the system put a character CP932 lacks.
const FIRST_GAIJI: char = '\u{E000}';

pub struct ResidentsFixed<W: Write> {
    out: W,
    layout: FixedLayout,
    count: u64,
}

/// The name as the vendor system stores it: characters CP932 lacks became its 外字.
fn with_gaiji(name: &str) -> io::Result<String> {
    let mut buf = [0u8; 4];
    Ok(name
        .chars()
        .map(|c| {
            if cp932(c.encode_utf8(&mut buf)).is_ok() {
                c
            } else {
                FIRST_GAIJI
            }
        })
        .collect())
}

impl<W: Write> ResidentsFixed<W> {
    /// Writes the header record.
    pub fn new(out: W, municipality: &Municipality, created: CivilDate) -> io::Result<Self> {
        let mut w = ResidentsFixed {
            out,
            layout: FixedLayout::residents(),
            count: 0,
        };
        let created = created.to_string().replace('-', "");
        w.emit("H", &["H", &created, municipality.code])?;
        Ok(w)
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn emit(&mut self, record_type: &str, values: &[&str]) -> io::Result<()> {
        let bytes = self.layout.record(record_type).render(values)?;
        self.out.write_all(&bytes)?;
        self.out.write_all(CRLF)
    }
}

impl<W: Write> PersonSink for ResidentsFixed<W> {
    fn write_person(&mut self, person: &SynthPerson<'_>) -> io::Result<()> {
        let defect = person.defect;
        if defect == Some(Defect::MissingResident) {
            return Ok(());
        }
        let my_number = if defect == Some(Defect::BadMyNumberCheckDigit) {
            off_by_one_check_digit(&person.my_number)
        } else {
            person.my_number.clone()
        };
        let name = person.name.kanji();
        let name = if defect == Some(Defect::UnmappedGaiji) {
            with_gaiji(&name)?
        } else {
            name
        };
        let kana = person.name.kana();
        let kana = if defect == Some(Defect::HiraganaKana) {
            to_hiragana(&kana)
        } else {
            to_halfwidth_kana(&kana).expect("name tables hold only kana half-width can write")
        };
        let birth = era_forms::digits(person.birth);
        self.emit(
            "D",
            &[
                "D",
                &person.atena_number,
                &my_number,
                &name,
                &kana,
                &birth,
                person.sex,
                &person.address.text,
            ],
        )?;
        self.count += 1;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        let count = self.count.to_string();
        self.emit("T", &["T", &count])?;
        self.out.flush()
    }
}
