//! The subsidy system's rows, one per period (history row): what their cells are
//! ([`SubsidyRows`]), and the export `subsidy.csv` (CP932, CRLF) that writes them. A database
//! loader (`crate::postgres`) writes the same rows.

use std::io::{self, Write};

use pmhlink_rules::CivilDate;
use pmhlink_rules::date::days_in_month;

use super::{cp932, csv_row};
use crate::certificate::{SynthCertificate, SynthPeriod};
use crate::defect::{Defect, off_by_one_check_digit};
use crate::era_forms;
use crate::kana::to_fullwidth_digits;
use crate::person::SynthPerson;
use crate::synth::PersonSink;

pub const SUBSIDY_HEADER: [&str; 22] = [
    "宛名番号",
    "制度コード",
    "制度名",
    "公費負担者番号",
    "受給者番号",
    "サブキー",
    "履歴番号",
    "有効開始日",
    "有効終了日",
    "所得区分",
    "上限額種別",
    "負担定義",
    "日額負担率",
    "月額負担率",
    "回額負担率",
    "日額上限額",
    "月額上限額",
    "回額上限額",
    "常時償還",
    "疾病名",
    "削除区分",
    "更新日",
];

pub struct SubsidyCsv<W: Write> {
    out: W,
    rows: SubsidyRows,
}

/// The cells of a person's subsidy rows, in [`SUBSIDY_HEADER`] order, damaged as the person's
/// defects say: one function for every writer of the subsidy system's data.
#[derive(Clone, Debug)]
pub struct SubsidyRows {
    updated: String,
}

fn era_date(date: CivilDate, kanji: bool) -> String {
    if kanji {
        era_forms::kanji(date)
    } else {
        era_forms::compact(date)
    }
}

/// A day the month of `date` does not have, in the compact form (`R080931`).
fn impossible_day_of(date: CivilDate) -> String {
    let compact = era_forms::compact(date);
    format!(
        "{}{:02}",
        &compact[..5],
        days_in_month(date.year(), date.month()) + 1
    )
}

impl<W: Write> SubsidyCsv<W> {
    /// Writes the header row. `updated` is the export day, printed as 更新日 on every row.
    pub fn new(out: W, updated: CivilDate) -> io::Result<Self> {
        let mut w = SubsidyCsv {
            out,
            rows: SubsidyRows::new(updated),
        };
        w.emit(&SUBSIDY_HEADER)?;
        Ok(w)
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn emit<S: AsRef<str>>(&mut self, fields: &[S]) -> io::Result<()> {
        self.out.write_all(&cp932(&csv_row(fields))?)
    }
}

impl SubsidyRows {
    /// `updated` is the export day, printed as 更新日 on every row.
    pub fn new(updated: CivilDate) -> Self {
        SubsidyRows {
            updated: era_forms::compact(updated),
        }
    }

    /// The person's rows: each certificate's periods in order.
    pub fn of(&self, person: &SynthPerson<'_>) -> Vec<Vec<String>> {
        person
            .certificates
            .iter()
            .flat_map(|cert| {
                cert.periods
                    .iter()
                    .map(move |period| self.period_row(person, cert, period))
            })
            .collect()
    }

    fn period_row(
        &self,
        person: &SynthPerson<'_>,
        cert: &SynthCertificate<'_>,
        period: &SynthPeriod,
    ) -> Vec<String> {
        let programme = cert.programme;
        let defect = person.defect_of(cert, period);
        let insurer = if defect == Some(Defect::BadInsurerCheckDigit) {
            off_by_one_check_digit(&programme.insurer_number)
        } else {
            programme.insurer_number.clone()
        };
        let recipient = if defect == Some(Defect::BadRecipientCheckDigit) {
            off_by_one_check_digit(&cert.recipient_number)
        } else {
            cert.recipient_number.clone()
        };
        let recipient = if period.style.fullwidth_recipient {
            to_fullwidth_digits(&recipient)
        } else {
            recipient
        };
        let kanji = period.style.kanji_dates;
        let (mut from, mut to) = (
            era_date(period.valid_from, kanji),
            era_date(period.valid_to, kanji),
        );
        match defect {
            Some(Defect::InvertedPeriod) => std::mem::swap(&mut from, &mut to),
            Some(Defect::ImpossibleEndDate) => to = impossible_day_of(period.valid_to),
            _ => {}
        }
        let copay = period
            .income
            .copay
            .map(|c| c.to_model())
            .unwrap_or_default();
        let opt = |v: Option<String>| v.unwrap_or_default();
        vec![
            person.atena_number.clone(),
            programme.vendor_code.to_owned(),
            programme.certification_name.to_owned(),
            insurer,
            recipient,
            cert.sub_key.unwrap_or_default().to_owned(),
            period.history_number.clone(),
            from,
            to,
            period.income.code.to_owned(),
            opt(copay.kind),
            opt(copay.burden_definition),
            opt(copay.rate_per_day),
            opt(copay.rate_per_month),
            opt(copay.rate_per_visit),
            opt(copay.amount_per_day),
            opt(copay.amount_per_month),
            opt(copay.amount_per_visit),
            if cert.always_reimbursement { "1" } else { "0" }.to_owned(),
            cert.disease.unwrap_or_default().to_owned(),
            "0".to_owned(),
            self.updated.clone(),
        ]
    }
}

impl<W: Write> PersonSink for SubsidyCsv<W> {
    fn write_person(&mut self, person: &SynthPerson<'_>) -> io::Result<()> {
        for row in self.rows.of(person) {
            self.emit(&row)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
