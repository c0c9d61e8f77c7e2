//! The resident registry as a SQLite database: the same residents as the fixed-width export,
//! row for row and cell for cell (the birth date in ISO instead of era digits), in one STRICT
//! table of TEXT columns named as the layout labels its fields; written again, it is replaced.

use pmhlink_rules::clean::{normalise_kana_separator, widen_halfwidth_kana};
use pmhlink_rules::era::{DateMode, EraTable, parse_date};
use pmhlink_rules::text::decode_cp932;
use pmhlink_synth::files::{RESIDENTS_SQLITE, write_residents_sqlite};
use pmhlink_synth::{
    Defect, FixedLayout, RESIDENTS_TABLE, ResidentsFixed, ResidentsSqlite, Synth, SynthConfig,
    resident_columns,
};
use rusqlite::{Connection, OpenFlags};

fn synth(seed: u64, certificates: u64, dirty: f64) -> Synth {
    Synth::new(SynthConfig {
        seed,
        certificates,
        dirty,
        ..SynthConfig::default()
    })
}

fn open(path: &std::path::Path) -> Connection {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

/// Every row of the registry, in the order written.
fn registry_rows(conn: &Connection) -> Vec<Vec<String>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT * FROM \"{RESIDENTS_TABLE}\" ORDER BY rowid"
        ))
        .unwrap();
    let width = stmt.column_count();
    stmt.query_map([], |row| {
        (0..width)
            .map(|i| row.get::<_, String>(i))
            .collect::<Result<Vec<_>, _>>()
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// The fixed-width export's data records, each field cut by the layout, decoded and stripped
/// of its padding, the era-digit birth date read back as ISO.
fn fixed_rows(bytes: &[u8]) -> (Vec<Vec<String>>, u64) {
    let layout = FixedLayout::residents();
    let data = layout.record("D");
    let table = EraTable::default();
    let mut rows = Vec::new();
    let mut trailer = None;
    for line in bytes.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match line.first() {
            Some(b'D') => rows.push(
                data.value_fields()
                    .map(|f| {
                        let cell = decode_cp932(&line[f.offset..f.offset + f.length]).unwrap();
                        let cell = cell.trim_end_matches([' ', '\u{3000}']).to_owned();
                        if f.name == "date_of_birth" {
                            parse_date(&cell, &table, DateMode::Strict)
                                .unwrap()
                                .date
                                .to_string()
                        } else {
                            cell
                        }
                    })
                    .collect(),
            ),
            Some(b'T') => {
                let count = layout.record("T").field("count").unwrap();
                let text = std::str::from_utf8(&line[count.offset..count.offset + count.length]);
                trailer = Some(text.unwrap().parse().unwrap());
            }
            _ => {}
        }
    }
    (rows, trailer.expect("a trailer record"))
}

#[test]
fn the_registry_holds_the_fixed_width_exports_residents_row_for_row() {
    let synth = synth(11, 600, 0.3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(RESIDENTS_SQLITE);
    let mut dat = Vec::new();
    let counts = {
        let mut fixed =
            ResidentsFixed::new(&mut dat, synth.municipality(), synth.config().as_of).unwrap();
        let mut registry = ResidentsSqlite::create(&path).unwrap();
        let counts = synth.stream(&mut [&mut fixed, &mut registry]).unwrap();
        assert_eq!(registry.count(), counts.people - missing(&synth));
        counts
    };
    let (expected, trailer) = fixed_rows(&dat);
    let rows = registry_rows(&open(&path));
    assert!(
        (rows.len() as u64) < counts.people,
        "some people have no resident record (the missing-resident defect)"
    );
    assert_eq!(rows.len() as u64, trailer, "the export's trailer count");
    assert_eq!(rows.len(), expected.len());
    for (i, (row, want)) in rows.iter().zip(&expected).enumerate() {
        assert_eq!(row, want, "resident {i}");
    }
    let damaged = synth
        .people()
        .filter(|p| matches!(p.defect, Some(Defect::UnmappedGaiji)))
        .count();
    assert!(damaged > 0, "the registry keeps the vendor's 外字 too");
    assert!(rows.iter().any(|r| r[2].contains('\u{E000}')));
}

fn missing(synth: &Synth) -> u64 {
    synth
        .people()
        .filter(|p| p.defect == Some(Defect::MissingResident))
        .count() as u64
}

#[test]
fn a_residents_row_holds_the_persons_cells_under_the_layouts_labels() {
    let synth = synth(3, 50, 0.0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(RESIDENTS_SQLITE);
    let written = write_residents_sqlite(&synth, &path).unwrap();
    let people: Vec<_> = synth.people().collect();
    assert_eq!(written, people.len() as u64, "a clean town: everyone");

    let conn = open(&path);
    let sql: String = conn
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE name = ?1",
            [RESIDENTS_TABLE],
            |r| r.get(0),
        )
        .unwrap();
    assert!(sql.trim_end().ends_with("STRICT"), "{sql}");
    let mut info = conn
        .prepare(&format!("PRAGMA table_info(\"{RESIDENTS_TABLE}\")"))
        .unwrap();
    let declared: Vec<(String, String)> = info
        .query_map([], |r| Ok((r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let names: Vec<&str> = declared.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "宛名番号",
            "個人番号",
            "氏名",
            "カナ氏名",
            "生年月日",
            "性別",
            "住所"
        ]
    );
    assert_eq!(names, resident_columns());
    assert!(declared.iter().all(|(_, t)| t == "TEXT"), "{declared:?}");

    let person = &people[people.len() / 2];
    let row: Vec<String> = conn
        .query_row(
            &format!("SELECT * FROM \"{RESIDENTS_TABLE}\" WHERE \"宛名番号\" = ?1"),
            [&person.atena_number],
            |r| (0..7).map(|i| r.get(i)).collect(),
        )
        .unwrap();
    assert_eq!(row[0], person.atena_number);
    assert_eq!(row[1], person.my_number);
    assert_eq!(row[2], person.name.kanji());
    assert_ne!(
        row[3],
        person.name.kana(),
        "half-width, as the vendor keeps it"
    );
    assert_eq!(
        normalise_kana_separator(&widen_halfwidth_kana(&row[3])),
        person.name.kana(),
        "the kana the mapping's widen_kana and kana_separator steps make of it"
    );
    assert_eq!(row[4], person.birth.to_string());
    assert!(
        row[4].len() == 10 && row[4].as_bytes()[4] == b'-' && row[4].as_bytes()[7] == b'-',
        "ISO: {}",
        row[4]
    );
    assert_eq!(row[5], person.sex);
    assert_eq!(row[6], person.address.text);
}

#[test]
fn a_registry_written_again_is_replaced_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(RESIDENTS_SQLITE);
    assert_eq!(
        write_residents_sqlite(&synth(5, 40, 0.0), &path).unwrap(),
        synth(5, 40, 0.0).people().count() as u64
    );
    let first = std::fs::read(&path).unwrap();
    let smaller = synth(6, 10, 0.0);
    let written = write_residents_sqlite(&smaller, &path).unwrap();
    assert_eq!(registry_rows(&open(&path)).len() as u64, written);
    write_residents_sqlite(&synth(5, 40, 0.0), &path).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        first,
        "the same town, the same bytes"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, [RESIDENTS_SQLITE], "no partial file left");
}
