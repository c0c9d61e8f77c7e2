//! The resident registry: what a resident's cells are ([`resident_cells`]), and the
//! fixed-width export `residents.dat` (CP932, CRLF, by [`FixedLayout::residents`]) that writes
//! them. The SQLite registry (`super::residents_sqlite`) writes the same cells.

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

/// A resident's record as the resident system holds it, damaged as the person's defect says:
/// one function for every writer of the registry, so the fixed-width export and the database
/// hold the same residents, row for row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResidentCells {
    pub atena_number: String,
    pub my_number: String,
    /// Kanji, 外字 where the vendor had to use one.
    pub name: String,
    /// Half-width katakana (hiragana for the [`Defect::HiraganaKana`] defect).
    pub name_kana: String,
    /// Each writer spells it its own way: era digits in the export, ISO in the database.
    pub birth: CivilDate,
    pub sex: &'static str,
    pub address: String,
}

impl ResidentCells {
    /// The cells in the order of the layout's data fields (after the record type), with the
    /// birth date spelt as `birth`.
    pub fn values<'a>(&'a self, birth: &'a str) -> [&'a str; 7] {
        [
            &self.atena_number,
            &self.my_number,
            &self.name,
            &self.name_kana,
            birth,
            self.sex,
            &self.address,
        ]
    }
}

/// The person's resident record, or `None` when the registry has none
/// ([`Defect::MissingResident`]).
pub fn resident_cells(person: &SynthPerson<'_>) -> io::Result<Option<ResidentCells>> {
    let defect = person.defect;
    if defect == Some(Defect::MissingResident) {
        return Ok(None);
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
    let name_kana = if defect == Some(Defect::HiraganaKana) {
        to_hiragana(&kana)
    } else {
        to_halfwidth_kana(&kana).expect("name tables hold only kana half-width can write")
    };
    Ok(Some(ResidentCells {
        atena_number: person.atena_number.clone(),
        my_number,
        name,
        name_kana,
        birth: person.birth,
        sex: person.sex,
        address: person.address.text.clone(),
    }))
}

impl<W: Write> PersonSink for ResidentsFixed<W> {
    fn write_person(&mut self, person: &SynthPerson<'_>) -> io::Result<()> {
        let Some(cells) = resident_cells(person)? else {
            return Ok(());
        };
        let birth = era_forms::digits(cells.birth);
        let mut values = vec!["D"];
        values.extend(cells.values(&birth));
        self.emit("D", &values)?;
        self.count += 1;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        let count = self.count.to_string();
        self.emit("T", &["T", &count])?;
        self.out.flush()
    }
}
