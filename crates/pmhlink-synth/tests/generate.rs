//! The generator end to end: determinism, the validity and uniqueness of what it issues, the
//! shape of each export, and that the exports carry exactly the expected records.

use std::collections::{HashMap, HashSet};

use pmhlink_model::Record;
use pmhlink_rules::check_digit::{check_insurer_number, check_my_number, check_recipient_number};
use pmhlink_rules::clean::{clean_identifier, normalise_kana_separator, widen_halfwidth_kana};
use pmhlink_rules::era::{DateMode, EraTable, parse_date};
use pmhlink_rules::{CivilDate, Policy, RuleContext, Severity, check_record};
use pmhlink_synth::{
    Counts, Defect, ExpectedJsonl, FixedLayout, ProgrammeKind, ResidentsFixed, ShienCsv,
    SubsidyCsv, Synth, SynthConfig, expected_rows,
};

struct Files {
    subsidy: Vec<u8>,
    residents: Vec<u8>,
    shien: Vec<u8>,
    expected: Vec<u8>,
    counts: Counts,
}

fn config(seed: u64, certificates: u64, dirty: f64) -> SynthConfig {
    SynthConfig {
        seed,
        certificates,
        dirty,
        ..SynthConfig::default()
    }
}

fn generate(config: SynthConfig) -> Files {
    let synth = Synth::new(config);
    let as_of = synth.config().as_of;
    let (mut subsidy, mut residents, mut shien, mut expected) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let counts = {
        let mut s = SubsidyCsv::new(&mut subsidy, as_of).unwrap();
        let mut r = ResidentsFixed::new(&mut residents, synth.municipality(), as_of).unwrap();
        let mut h = ShienCsv::new(&mut shien).unwrap();
        let mut e = ExpectedJsonl::new(&mut expected);
        synth.stream(&mut [&mut s, &mut r, &mut h, &mut e]).unwrap()
    };
    Files {
        subsidy,
        residents,
        shien,
        expected,
        counts,
    }
}

fn decode_cp932(bytes: &[u8]) -> String {
    let (text, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(bytes);
    assert!(!had_errors, "CP932 export does not decode");
    text.into_owned()
}

fn crlf_lines(text: &str) -> Vec<&str> {
    let body = text.strip_suffix("\r\n").expect("ends with CRLF");
    let lines: Vec<&str> = body.split("\r\n").collect();
    assert!(lines.iter().all(|l| !l.contains('\n')), "a bare LF");
    lines
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = generate(config(42, 3000, 0.1));
    let b = generate(config(42, 3000, 0.1));
    assert_eq!(a.subsidy, b.subsidy);
    assert_eq!(a.residents, b.residents);
    assert_eq!(a.shien, b.shien);
    assert_eq!(a.expected, b.expected);
    let c = generate(config(43, 3000, 0.1));
    assert_ne!(a.subsidy, c.subsidy);
    assert_ne!(a.residents, c.residents);
}

#[test]
fn the_share_of_defects_does_not_change_the_people() {
    let clean = Synth::new(config(9, 2000, 0.0));
    let dirty = Synth::new(config(9, 2000, 0.3));
    for (a, b) in clean.people().zip(dirty.people()) {
        assert_eq!(a.my_number, b.my_number);
        assert_eq!(a.certificates.len(), b.certificates.len());
        assert_eq!(a.birth, b.birth);
    }
}

#[test]
fn requested_certificates_are_generated() {
    for n in [0, 1, 2, 3, 10, 997, 5000] {
        let files = generate(config(5, n, 0.05));
        assert_eq!(files.counts.certificates, n);
        let rows = decode_cp932(&files.subsidy).matches("\r\n").count() as u64 - 1;
        assert_eq!(rows, files.counts.periods, "subsidy rows for {n}");
        assert_eq!(
            files.expected.iter().filter(|&&b| b == b'\n').count() as u64,
            files.counts.periods
        );
    }
}

#[test]
fn issued_numbers_pass_their_checks_and_are_unique() {
    let synth = Synth::new(config(7, 20_000, 0.0));
    let (mut my_numbers, mut atena, mut history, mut recipients) = (
        HashSet::new(),
        HashSet::new(),
        HashSet::new(),
        HashSet::new(),
    );
    let mut certificates = 0;
    for person in synth.people() {
        assert_eq!(check_my_number(&person.my_number), Ok(()));
        assert!(
            my_numbers.insert(person.my_number.clone()),
            "duplicate My Number"
        );
        assert!(
            atena.insert(person.atena_number.clone()),
            "duplicate 宛名番号"
        );
        assert_eq!(person.atena_number.len(), 10);
        for cert in &person.certificates {
            certificates += 1;
            let programme = cert.programme;
            assert_eq!(check_insurer_number(&programme.insurer_number), Ok(()));
            let follows = check_recipient_number(&cert.recipient_number).is_ok();
            assert_eq!(
                follows, cert.recipient_follows_rule,
                "{}",
                programme.type_id
            );
            if programme.kind == ProgrammeKind::National {
                assert!(follows);
            } else {
                assert!((7..=8).contains(&cert.recipient_number.len()));
            }
            let id = (
                programme.type_id,
                cert.recipient_number.clone(),
                cert.sub_key,
            );
            assert!(recipients.insert(id), "duplicate certificate identity");
            assert!((1..=3).contains(&cert.periods.len()));
            for pair in cert.periods.windows(2) {
                assert!(pair[0].valid_to < pair[1].valid_from);
            }
            for period in &cert.periods {
                assert!(period.valid_from <= period.valid_to);
                assert!(
                    history.insert(period.history_number.clone()),
                    "duplicate history key"
                );
            }
        }
    }
    assert_eq!(certificates, 20_000);
}

#[test]
fn fixed_width_records_are_whole_and_counted() {
    let files = generate(config(11, 5000, 0.1));
    let layout = FixedLayout::residents();
    let bytes = &files.residents;
    let records: Vec<&[u8]> = bytes
        .strip_suffix(b"\r\n")
        .unwrap()
        .split(|&b| b == b'\n')
        .collect();
    for r in &records {
        let r = r.strip_suffix(b"\r").unwrap_or(r);
        assert_eq!(r.len(), layout.record_length);
        // Every field decodes on its own: no double-byte character straddles a boundary.
        for field in &layout.record(&(r[0] as char).to_string()).fields {
            decode_cp932(&r[field.offset..field.offset + field.length]);
        }
    }
    let data = records.iter().filter(|r| r[0] == b'D').count();
    assert_eq!(records.first().unwrap()[0], b'H');
    let trailer = decode_cp932(records.last().unwrap());
    assert_eq!(trailer[1..11].parse::<usize>().unwrap(), data);
    let missing = Synth::new(config(11, 5000, 0.1))
        .people()
        .filter(|p| p.defect == Some(Defect::MissingResident))
        .count();
    assert!(missing > 0);
    assert_eq!(data as u64 + missing as u64, files.counts.people);
}

#[test]
fn shien_list_is_utf8_with_bom() {
    let files = generate(config(3, 20_000, 0.0));
    let text = std::str::from_utf8(files.shien.strip_prefix(b"\xEF\xBB\xBF").unwrap()).unwrap();
    let lines = crlf_lines(text);
    assert_eq!(lines[0], "宛名番号,開始日,終了日");
    assert!(lines.len() > 5);
    for line in &lines[1..] {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 3);
        assert!(CivilDate::parse_iso(f[1]).is_ok());
        assert!(f[2].is_empty() || CivilDate::parse_iso(f[2]).is_ok());
    }
}

/// The share of people on the 支援措置 list is what is asked for, most of them withheld on
/// the reference day; a share that gives nobody an entry leaves the people as they were.
#[test]
fn the_support_measure_share_decides_who_is_withheld() {
    for (share, lo, hi) in [(0.0, 0.0, 0.0), (0.03, 0.02, 0.04), (0.5, 0.46, 0.54)] {
        let cfg = SynthConfig {
            support_measures: share,
            ..config(23, 6000, 0.0)
        };
        let files = generate(cfg.clone());
        let text = std::str::from_utf8(&files.shien[3..]).unwrap();
        let listed = crlf_lines(text).len() - 1;
        let (mut on_list, mut withheld, mut withheld_records) = (0, 0, 0);
        for person in Synth::new(cfg).people() {
            on_list += usize::from(person.shien.is_some());
            withheld += usize::from(person.is_not_disclosed);
            assert_eq!(
                person.is_not_disclosed,
                person.shien.is_some_and(|s| s.active_on(as_of())),
                "the flag is the entry in force on the reference day"
            );
            withheld_records += expected_rows(&person)
                .filter(|r| r.record.person.is_not_disclosed)
                .count();
        }
        assert_eq!(listed, on_list, "one row per person on the list");
        let got = on_list as f64 / files.counts.people as f64;
        assert!((lo..=hi).contains(&got), "{share}: {got}");
        if share > 0.0 {
            // Four in five entries run through the reference day.
            assert!(
                withheld * 10 >= on_list * 7,
                "{share}: {withheld} of {on_list}"
            );
            assert!(withheld < on_list, "{share}: some entries ended before");
            assert!(withheld_records >= withheld);
        }
    }
    let none = generate(SynthConfig {
        support_measures: 0.0,
        ..config(23, 6000, 0.0)
    });
    let some = generate(SynthConfig {
        support_measures: 1e-12,
        ..config(23, 6000, 0.0)
    });
    assert_eq!(none.subsidy, some.subsidy);
    assert_eq!(none.residents, some.residents);
}

fn as_of() -> CivilDate {
    SynthConfig::default().as_of
}

struct Resident {
    my_number: String,
    name: String,
    kana: String,
    birth: String,
    address: String,
}

fn read_residents(bytes: &[u8]) -> HashMap<String, Resident> {
    let layout = FixedLayout::residents();
    let data = layout.record("D");
    let field = |r: &[u8], name: &str| {
        let f = data.field(name).unwrap();
        decode_cp932(&r[f.offset..f.offset + f.length])
            .trim_end_matches([' ', '\u{3000}'])
            .to_owned()
    };
    let mut out = HashMap::new();
    for r in bytes
        .split(|&b| b == b'\n')
        .filter(|r| r.first() == Some(&b'D'))
    {
        let birth = parse_date(
            &field(r, "date_of_birth"),
            &EraTable::default(),
            DateMode::Strict,
        )
        .unwrap();
        let kana = normalise_kana_separator(&widen_halfwidth_kana(&field(r, "name_kana")));
        let resident = Resident {
            my_number: field(r, "my_number"),
            name: field(r, "name"),
            kana,
            birth: birth.date.to_string(),
            address: field(r, "address"),
        };
        out.insert(field(r, "atena_number"), resident);
    }
    out
}

/// A minimal join of the exports, as a pipeline would do it: every clean period's record must
/// be recoverable from the files.
#[test]
fn exports_carry_the_expected_records() {
    let cfg = config(21, 4000, 0.0);
    let files = generate(cfg.clone());
    let residents = read_residents(&files.residents);
    let subsidy = decode_cp932(&files.subsidy);
    let mut rows = csv::ReaderBuilder::new().from_reader(subsidy.as_bytes());
    let header: Vec<String> = rows.headers().unwrap().iter().map(str::to_owned).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let table = EraTable::default();
    let date = |s: &str| {
        parse_date(s, &table, DateMode::Strict)
            .unwrap()
            .date
            .to_string()
    };
    let mut rows = rows.records();
    let synth = Synth::new(cfg);
    let (mut kanji_dates, mut wide_numbers) = (0, 0);
    for person in synth.people() {
        for expected in expected_rows(&person) {
            let row = rows.next().unwrap().unwrap();
            let r: &Record = &expected.record;
            let resident = &residents[&row[col("宛名番号")]];
            assert_eq!(resident.my_number, *r.person.my_number.expose());
            assert_eq!(resident.name, *r.person.name.expose());
            assert_eq!(resident.kana, *r.person.name_kana.expose());
            assert_eq!(resident.birth, *r.person.date_of_birth.expose());
            assert_eq!(resident.address, *r.person.address.expose());
            assert_eq!(
                clean_identifier(&row[col("受給者番号")]),
                r.receipt.recipient_number.as_deref().unwrap()
            );
            assert_eq!(
                &row[col("公費負担者番号")],
                r.receipt.insurer_number.as_deref().unwrap()
            );
            assert_eq!(&row[col("履歴番号")], r.history.as_ref().unwrap().key);
            assert_eq!(date(&row[col("有効開始日")]), r.receipt.valid_from);
            assert_eq!(date(&row[col("有効終了日")]), r.receipt.valid_to);
            assert_eq!(
                &row[col("所得区分")],
                r.receipt.income_segment.as_deref().unwrap()
            );
            assert_eq!(&row[col("常時償還")], r.receipt.is_always_reimbursement);
            kanji_dates += usize::from(row[col("有効開始日")].contains('年'));
            wide_numbers += usize::from(row[col("受給者番号")].contains(|c: char| !c.is_ascii()));
        }
    }
    assert!(rows.next().is_none());
    assert!(kanji_dates > 0 && wide_numbers > 0);
}

#[test]
fn clean_records_pass_the_rules_with_the_announced_warnings() {
    let synth = Synth::new(config(13, 20_000, 0.0));
    let site = synth.municipality().site_tables();
    let ctx = RuleContext {
        today: synth.config().as_of,
        site: &site,
        municipality_code: Some(synth.municipality().code),
        policy: Policy::default(),
    };
    let (mut sex_unknown, mut disease, mut sub_keys, mut withheld, mut warned) = (0, 0, 0, 0, 0);
    for person in synth.people() {
        for row in expected_rows(&person) {
            assert_eq!(row.quarantine, None);
            let mut findings = Vec::new();
            check_record(&row.record, &ctx, &mut findings);
            assert!(
                findings.iter().all(|f| f.severity == Severity::Warning),
                "{findings:?}"
            );
            let mut codes: Vec<_> = findings.iter().map(|f| f.code).collect();
            codes.sort();
            codes.dedup();
            assert_eq!(codes, row.warnings);
            let r = &row.record;
            assert_eq!(
                pmhlink_rules::Charset::Katakana.violation(r.person.name_kana.expose()),
                None
            );
            assert_eq!(r.person.name_kana.expose().matches('\u{3000}').count(), 1);
            sex_unknown += usize::from(r.person.sex == "0");
            if r.type_id == "IKUSEI16" {
                assert_eq!(r.person.sex, "0");
            }
            disease += usize::from(r.face.details.iter().any(|d| d.name == "疾病名"));
            sub_keys += usize::from(r.receipt.sub_key.is_some());
            withheld += usize::from(r.person.is_not_disclosed);
            warned += usize::from(!row.warnings.is_empty());
        }
    }
    assert!(sex_unknown > 0 && disease > 0 && sub_keys > 0 && withheld > 0 && warned > 0);
}

#[test]
fn every_certificate_of_a_dirty_run_has_exactly_one_defect() {
    let synth = Synth::new(config(17, 5000, 1.0));
    let mut kinds = HashSet::new();
    for person in synth.people() {
        for cert in &person.certificates {
            let defects = usize::from(person.defect.is_some())
                + usize::from(cert.defect.is_some())
                + cert.periods.iter().filter(|p| p.defect.is_some()).count();
            assert_eq!(defects, 1);
        }
        for row in expected_rows(&person) {
            if let Some(d) = row.defect {
                kinds.insert(d);
                assert_eq!(row.quarantine, Some(d.code()));
            }
        }
    }
    assert_eq!(kinds.len(), Defect::ALL.len(), "{kinds:?}");
}

#[test]
fn defects_show_in_the_exports() {
    let cfg = config(19, 20_000, 0.2);
    let files = generate(cfg.clone());
    let share = files.counts.defective_certificates as f64 / files.counts.certificates as f64;
    assert!((0.17..0.23).contains(&share), "{share}");
    let residents = read_residents(&files.residents);
    let subsidy = decode_cp932(&files.subsidy);
    let by_history: HashMap<&str, Vec<&str>> = crlf_lines(&subsidy)[1..]
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[6], f)
        })
        .collect();
    for person in Synth::new(cfg).people() {
        let resident = residents.get(&person.atena_number);
        match person.defect {
            Some(Defect::MissingResident) => assert!(resident.is_none()),
            Some(Defect::BadMyNumberCheckDigit) => {
                assert!(check_my_number(&resident.unwrap().my_number).is_err())
            }
            Some(Defect::UnmappedGaiji) => assert!(resident.unwrap().name.contains('\u{E000}')),
            Some(Defect::HiraganaKana) => assert!(
                resident
                    .unwrap()
                    .kana
                    .contains(|c| ('ぁ'..='ゖ').contains(&c))
            ),
            _ => {}
        }
        for cert in &person.certificates {
            for period in &cert.periods {
                let row = &by_history[period.history_number.as_str()];
                let parse = |s: &str| parse_date(s, &EraTable::default(), DateMode::Strict);
                match person.defect_of(cert, period) {
                    Some(Defect::InvertedPeriod) => {
                        assert!(parse(row[7]).unwrap().date > parse(row[8]).unwrap().date)
                    }
                    Some(Defect::ImpossibleEndDate) => assert!(parse(row[8]).is_err()),
                    Some(Defect::BadInsurerCheckDigit) => {
                        assert!(check_insurer_number(row[3]).is_err())
                    }
                    Some(Defect::BadRecipientCheckDigit) => {
                        assert!(check_recipient_number(&clean_identifier(row[4])).is_err())
                    }
                    _ => {}
                }
            }
        }
    }
}
