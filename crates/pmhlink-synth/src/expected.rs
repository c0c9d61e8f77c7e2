//! The canonical output: for each period, the record exactly as PMH should receive it, and
//! what a pipeline must say about it.

use std::io::{self, Write};

use pmhlink_model::{CertificateFace, DetailItem, HistoryRow, Person, Pii, ReceiptFields, Record};
use pmhlink_rules::Code;
use serde::Serialize;

use crate::certificate::{SynthCertificate, SynthPeriod};
use crate::defect::Defect;
use crate::municipality::ProgrammeKind;
use crate::person::SynthPerson;
use crate::synth::PersonSink;

/// Certificate face item names, in display order. The face layout is an interface assumption
/// (see `pmh-interface.md` §2); these are the items this generator prints.
pub mod face_items {
    pub const CERTIFICATION_NAME: &str = "受給者証名";
    pub const INSURER_NUMBER: &str = "公費負担者番号";
    pub const RECIPIENT_NUMBER: &str = "受給者番号";
    pub const NAME: &str = "氏名";
    pub const DISEASE: &str = "疾病名";
    pub const VALIDITY: &str = "有効期間";
}

/// How the 有効期間 face item prints a period.
pub fn validity_text(from: &str, to: &str) -> String {
    format!("{from}から{to}まで")
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExpectedRow {
    pub record: Record,
    /// The defect the exports carry for this period, if any.
    pub defect: Option<Defect>,
    /// The error that must quarantine this period (`None`: it must be sent).
    pub quarantine: Option<Code>,
    /// Warnings a period that is sent must carry, sorted (empty for quarantined periods).
    pub warnings: Vec<Code>,
}

fn item(name: &str, value: &str) -> DetailItem {
    DetailItem {
        name: name.to_owned(),
        value: Pii::new(value.to_owned()),
    }
}

fn record(person: &SynthPerson<'_>, cert: &SynthCertificate<'_>, period: &SynthPeriod) -> Record {
    let programme = cert.programme;
    let name = person.name.kanji();
    let (from, to) = (period.valid_from.to_string(), period.valid_to.to_string());
    let mut details = vec![
        item(face_items::CERTIFICATION_NAME, programme.certification_name),
        item(face_items::INSURER_NUMBER, &programme.insurer_number),
        item(face_items::RECIPIENT_NUMBER, &cert.recipient_number),
        item(face_items::NAME, &name),
    ];
    details.extend(cert.disease.map(|d| item(face_items::DISEASE, d)));
    details.push(item(face_items::VALIDITY, &validity_text(&from, &to)));
    Record {
        type_id: programme.type_id.to_owned(),
        person: Person {
            my_number: Pii::new(person.my_number.clone()),
            name: Pii::new(name),
            name_kana: Pii::new(person.name.kana()),
            address: Pii::new(person.address.text.clone()),
            date_of_birth: Pii::new(person.birth.to_string()),
            sex: if programme.manages_sex {
                person.sex
            } else {
                "0"
            }
            .to_owned(),
            is_not_disclosed: person.is_not_disclosed,
        },
        receipt: ReceiptFields {
            insurer_number: Some(programme.insurer_number.clone()),
            recipient_number: Some(cert.recipient_number.clone()),
            sub_key: cert.sub_key.map(str::to_owned),
            income_segment: Some(period.income.code.to_owned()),
            is_always_reimbursement: if cert.always_reimbursement { "1" } else { "0" }.to_owned(),
            max_copayment: period.income.copay.map(|c| c.to_model()),
            valid_from: from,
            valid_to: to,
            ..ReceiptFields::default()
        },
        face: CertificateFace {
            certification_name: programme.certification_name.to_owned(),
            details,
        },
        history: Some(HistoryRow {
            key: period.history_number.clone(),
            deleted: false,
        }),
    }
}

fn warnings(person: &SynthPerson<'_>, cert: &SynthCertificate<'_>) -> Vec<Code> {
    let mut out = Vec::new();
    if cert.programme.kind == ProgrammeKind::Local && !cert.recipient_follows_rule {
        out.push(Code::RecipientLocalRule);
    }
    if person.name.has_extended_kanji() || person.address.has_circled {
        out.push(Code::OutsideJisX0208);
    }
    out.sort();
    out
}

/// The expected rows of one person, certificate by certificate, period by period.
pub fn expected_rows<'a>(person: &'a SynthPerson<'_>) -> impl Iterator<Item = ExpectedRow> + 'a {
    person.certificates.iter().flat_map(move |cert| {
        cert.periods.iter().map(move |period| {
            let defect = person.defect_of(cert, period);
            ExpectedRow {
                record: record(person, cert, period),
                defect,
                quarantine: defect.map(Defect::code),
                warnings: if defect.is_some() {
                    Vec::new()
                } else {
                    warnings(person, cert)
                },
            }
        })
    })
}

/// `expected.jsonl`: one JSON line per period.
pub struct ExpectedJsonl<W: Write> {
    out: W,
}

impl<W: Write> ExpectedJsonl<W> {
    pub fn new(out: W) -> Self {
        ExpectedJsonl { out }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> PersonSink for ExpectedJsonl<W> {
    fn write_person(&mut self, person: &SynthPerson<'_>) -> io::Result<()> {
        for row in expected_rows(person) {
            serde_json::to_writer(&mut self.out, &row)?;
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
