//! Mapping one joined row into a record: each way a row can fail, and what the cleaning steps,
//! code maps, templates and programme settings make of the values.

use std::collections::{BTreeMap, HashMap, HashSet};

use pmhlink_model::FieldId;
use pmhlink_rules::era::{DateMode, EraTable};
use pmhlink_rules::{Code, FieldRef};
use pmhlink_runner::clean::{CleanContext, Normalisations, Step};
use pmhlink_runner::join::JoinIndex;
use pmhlink_runner::map::map_row;
use pmhlink_runner::mapping::*;
use pmhlink_runner::table::Table;

const PRIMARY: [&str; 6] = ["宛名番号", "制度", "受給者番号", "開始", "終了", "区分"];

fn col(source: usize, column: usize) -> MappedValue {
    MappedValue {
        source: ValueSource::Column(ColumnRef { source, column }),
        steps: vec![],
        map: None,
        default: None,
    }
}

fn with_steps(mut v: MappedValue, steps: &[Step]) -> MappedValue {
    v.steps = steps.to_vec();
    v
}

fn plan() -> Mapping {
    let program = |code: &str, manages_sex| Program {
        code: code.into(),
        type_id: format!("T{code}"),
        certification_name: "試験受給者証".into(),
        insurer_number: Some("54016027".into()),
        manages_sex,
    };
    let constant = |s: &str| MappedValue {
        source: ValueSource::Constant(s.into()),
        steps: vec![],
        map: None,
        default: None,
    };
    let mut segment = col(0, 5);
    segment.map = Some(CodeMap {
        map: HashMap::from([("A".into(), "01".into())]),
        fallback: None,
    });
    Mapping {
        primary: "subsidy".into(),
        joins: vec![
            MappedJoin {
                name: "residents".into(),
                left: ColumnRef {
                    source: 0,
                    column: 0,
                },
                right_column: 0,
                required: true,
                valid_from: None,
                valid_to: None,
                columns_read: true,
                on_unreadable_key: Default::default(),
            },
            MappedJoin {
                name: "shien".into(),
                left: ColumnRef {
                    source: 0,
                    column: 0,
                },
                right_column: 0,
                required: false,
                valid_from: None,
                valid_to: None,
                columns_read: false,
                on_unreadable_key: Default::default(),
            },
        ],
        program_column: ColumnRef {
            source: 0,
            column: 1,
        },
        programs: HashMap::from([
            ("10".into(), program("10", true)),
            ("16".into(), program("16", false)),
        ]),
        ignored: HashSet::from(["90".to_owned()]),
        open_end: Some(OpenEnd {
            sent_as: "9999-12-31".into(),
            empty: false,
        }),
        quarantine_key: None,
        fields: vec![
            MappedField {
                field: FieldId::TypeId,
                value: MappedValue {
                    source: ValueSource::Program(ProgramAttr::TypeId),
                    steps: vec![],
                    map: None,
                    default: None,
                },
            },
            MappedField {
                field: FieldId::MyNumber,
                value: with_steps(col(1, 1), &[Step::Trim, Step::Identifier]),
            },
            MappedField {
                field: FieldId::NameKana,
                value: with_steps(
                    col(1, 2),
                    &[Step::Trim, Step::WidenKana, Step::KanaSeparator],
                ),
            },
            MappedField {
                field: FieldId::Sex,
                value: col(1, 3),
            },
            MappedField {
                field: FieldId::IsNotDisclosed,
                value: MappedValue {
                    source: ValueSource::Exists(1),
                    steps: vec![],
                    map: None,
                    default: None,
                },
            },
            MappedField {
                field: FieldId::RecipientNumber,
                value: with_steps(col(0, 2), &[Step::Identifier]),
            },
            MappedField {
                field: FieldId::ValidFrom,
                value: with_steps(col(0, 3), &[Step::EraDate]),
            },
            MappedField {
                field: FieldId::ValidTo,
                value: with_steps(col(0, 4), &[Step::EraDate]),
            },
            MappedField {
                field: FieldId::IncomeSegment,
                value: segment,
            },
            MappedField {
                field: FieldId::HistoryKey,
                value: constant("H1"),
            },
        ],
        details: vec![
            MappedDetail {
                name: "受給者証名".into(),
                value: MappedValue {
                    source: ValueSource::Program(ProgramAttr::CertificationName),
                    steps: vec![],
                    map: None,
                    default: None,
                },
                skip_empty: false,
            },
            MappedDetail {
                name: "有効期間".into(),
                value: MappedValue {
                    source: ValueSource::Template(vec![
                        TemplatePart::Field(FieldId::ValidFrom),
                        TemplatePart::Text("から".into()),
                        TemplatePart::Field(FieldId::ValidTo),
                        TemplatePart::Text("まで".into()),
                    ]),
                    steps: vec![],
                    map: None,
                    default: None,
                },
                skip_empty: false,
            },
            MappedDetail {
                name: "区分".into(),
                value: col(0, 5),
                skip_empty: true,
            },
        ],
        history: true,
    }
}

fn joins() -> Vec<JoinIndex> {
    let mut residents = Table::new(vec![
        "宛名番号".into(),
        "個人番号".into(),
        "カナ".into(),
        "性別".into(),
    ]);
    residents.push_row(["0001", "１２３４５６７８９０１８", "ｼｹﾝ ﾊﾅｺ  ", "2"], 2);
    residents.push_row(["0002", "123456789018", "シケン", "1"], 3);
    residents.push_row(["0002", "123456789018", "シケン", "1"], 4);
    let mut shien = Table::new(vec!["宛名番号".into()]);
    shien.push_row(["0001"], 2);
    shien.push_row(["0001"], 3);
    vec![
        JoinIndex::build("residents", residents, 0),
        JoinIndex::build("shien", shien, 0),
    ]
}

fn map(cells: [&str; 6]) -> pmhlink_runner::map::Mapped {
    let mut primary = Table::new(PRIMARY.iter().map(|s| s.to_string()).collect());
    primary.push_row(cells, 7);
    let era = EraTable::default();
    let gaiji = BTreeMap::new();
    let ctx = CleanContext {
        era: &era,
        date_mode: DateMode::Lenient,
        gaiji: &gaiji,
    };
    map_row(
        &plan(),
        &primary,
        0,
        &joins(),
        &ctx,
        &mut Normalisations::default(),
    )
}

fn codes(m: &pmhlink_runner::map::Mapped) -> Vec<(Code, FieldRef)> {
    m.findings
        .iter()
        .map(|f| (f.code, f.field.clone()))
        .collect()
}

#[test]
fn a_clean_row_becomes_the_record() {
    let m = map([
        "0001",
        "10",
        "１２３４５６７",
        "R070401",
        "令和8年3月31日",
        "A",
    ]);
    assert_eq!(codes(&m), vec![]);
    let r = m.record.unwrap();
    assert_eq!(r.type_id, "T10");
    assert_eq!(r.person.my_number.expose(), "123456789018");
    assert_eq!(r.person.name_kana.expose(), "シケン\u{3000}ハナコ");
    assert_eq!(r.person.sex, "2");
    assert!(
        r.person.is_not_disclosed,
        "on the 支援措置 list (twice: presence is enough)"
    );
    assert_eq!(r.receipt.recipient_number.as_deref(), Some("1234567"));
    assert_eq!(
        (r.receipt.valid_from.as_str(), r.receipt.valid_to.as_str()),
        ("2025-04-01", "2026-03-31")
    );
    assert_eq!(r.receipt.income_segment.as_deref(), Some("01"));
    let face: Vec<(&str, &str)> = r
        .face
        .details
        .iter()
        .map(|d| (d.name.as_str(), d.value.expose().as_str()))
        .collect();
    assert_eq!(
        face,
        [
            ("受給者証名", "試験受給者証"),
            ("有効期間", "2025-04-01から2026-03-31まで"),
            ("区分", "A")
        ]
    );
    let history = r.history.clone().unwrap();
    assert_eq!((history.key.as_str(), history.deleted), ("H1", false));
}

#[test]
fn a_programme_without_sex_sends_zero() {
    let r = map(["0001", "16", "1234566", "R070401", "R080331", ""])
        .record
        .unwrap();
    assert_eq!(r.person.sex, "0");
    assert_eq!(
        r.receipt.income_segment, None,
        "an empty optional field stays absent"
    );
    assert_eq!(
        r.face.details.len(),
        2,
        "an empty item with skip_empty is left out"
    );
}

#[test]
fn rows_that_cannot_become_records() {
    let unknown = map(["0001", "99", "1", "R070401", "R080331", ""]);
    assert!(unknown.record.is_none());
    assert_eq!(
        codes(&unknown),
        vec![(Code::UnknownProgram, FieldRef::Key("program".into()))]
    );
    let missing = map(["0009", "10", "1", "R070401", "R080331", ""]);
    assert!(missing.record.is_none());
    assert_eq!(
        codes(&missing),
        vec![(Code::JoinMissing, FieldRef::Key("residents".into()))]
    );
    let ambiguous = map(["0002", "10", "1", "R070401", "R080331", ""]);
    assert_eq!(
        codes(&ambiguous),
        vec![(Code::JoinAmbiguous, FieldRef::Key("residents".into()))]
    );
}

#[test]
fn value_problems_are_findings_on_their_fields() {
    let m = map(["0001", "10", "1234566", "R010430", "H320331", "Z"]);
    assert_eq!(
        codes(&m),
        vec![
            (Code::DateBeforeEra, FieldRef::Field(FieldId::ValidFrom)),
            (Code::EraOverflow, FieldRef::Field(FieldId::ValidTo)),
            (Code::CodeNotMapped, FieldRef::Field(FieldId::IncomeSegment)),
        ]
    );
    assert!(
        m.record.is_some(),
        "the record is kept for the remaining checks; the caller quarantines it"
    );
}

#[test]
fn an_unreadable_source_row() {
    let mut primary = Table::new(PRIMARY.iter().map(|s| s.to_string()).collect());
    primary.push_row(["0001"], 3);
    primary.mark_error("line 3: malformed CP932 byte".into());
    let era = EraTable::default();
    let gaiji = BTreeMap::new();
    let ctx = CleanContext {
        era: &era,
        date_mode: DateMode::Lenient,
        gaiji: &gaiji,
    };
    let m = map_row(
        &plan(),
        &primary,
        0,
        &joins(),
        &ctx,
        &mut Normalisations::default(),
    );
    assert!(m.record.is_none());
    assert_eq!(
        codes(&m),
        vec![(Code::SourceRowUnreadable, FieldRef::Record)]
    );
}

#[test]
fn open_ended_validity_is_sent_in_one_form() {
    for (written, sent) in [
        ("H991231", "9999-12-31"),
        ("R99.12.31", "9999-12-31"),
        ("平成99年12月31日", "9999-12-31"),
        ("99991231", "9999-12-31"),
        ("9999/12/31", "9999-12-31"),
        (" 9999-12-31 ", "9999-12-31"),
        ("R080331", "2026-03-31"),
        // Empty is "no end" only where the pipeline says so (`rules.open_end.empty`).
        ("", ""),
    ] {
        let m = map(["0001", "10", "1234566", "R070401", written, ""]);
        assert_eq!(codes(&m), vec![], "{written:?}: no era-overflow warning");
        assert_eq!(m.record.unwrap().receipt.valid_to, sent, "{written:?}");
    }
}

#[test]
fn an_ignored_programme_is_neither_a_record_nor_a_finding() {
    let m = map(["0001", "90", "１２３４５６６", "R070401", "R080331", ""]);
    assert!(m.ignored);
    assert!(m.record.is_none());
    assert_eq!(codes(&m), vec![]);
    let partial = m
        .partial
        .expect("the certificate, to keep what PMH holds for it");
    assert_eq!(partial.receipt.recipient_number.as_deref(), Some("1234566"));
}
