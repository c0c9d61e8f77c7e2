//! Fixed-width layouts as data: the writer places fields by them and `residents.layout.toml`
//! publishes them, so the file and its description cannot disagree.

use std::io;

use serde::Serialize;

use super::cp932;

/// How a field is filled up to its byte length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pad {
    /// Left-aligned, ASCII spaces.
    Space,
    /// Left-aligned, U+3000 (2 bytes in CP932); an odd byte left over takes one ASCII space.
    Ideographic,
    /// Right-aligned, ASCII zeros (counts).
    ZeroLeft,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FixedField {
    pub name: &'static str,
    pub label: &'static str,
    /// Byte offset from the start of the record.
    pub offset: usize,
    /// Length in bytes (CP932: a full-width character takes two).
    pub length: usize,
    pub pad: Pad,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordLayout {
    /// The first byte of every record of this kind.
    pub record_type: &'static str,
    pub label: &'static str,
    pub fields: Vec<FixedField>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FixedLayout {
    pub encoding: &'static str,
    pub line_end: &'static str,
    /// Bytes per record, without the line end. Every record kind fills it exactly.
    pub record_length: usize,
    pub records: Vec<RecordLayout>,
}

type FieldSpec = (&'static str, &'static str, usize, Pad);

/// Blank bytes that pad a short record kind to the record length.
const FILLER: &str = "filler";

const RECORD_TYPE: FieldSpec = ("record_type", "レコード種別", 1, Pad::Space);

const HEADER: &[FieldSpec] = &[
    RECORD_TYPE,
    ("created", "作成日", 8, Pad::Space),
    ("municipality_code", "団体コード", 6, Pad::Space),
];

const DATA: &[FieldSpec] = &[
    RECORD_TYPE,
    ("atena_number", "宛名番号", 10, Pad::Space),
    ("my_number", "個人番号", 12, Pad::Space),
    ("name", "氏名", 40, Pad::Ideographic),
    ("name_kana", "カナ氏名", 40, Pad::Space),
    ("date_of_birth", "生年月日", 7, Pad::Space),
    ("sex", "性別", 1, Pad::Space),
    ("address", "住所", 100, Pad::Ideographic),
];

const TRAILER: &[FieldSpec] = &[RECORD_TYPE, ("count", "件数", 10, Pad::ZeroLeft)];

impl RecordLayout {
    /// Lays the fields end to end, then a filler up to `record_length`.
    fn new(
        record_type: &'static str,
        label: &'static str,
        specs: &[FieldSpec],
        record_length: usize,
    ) -> Self {
        let mut fields = Vec::with_capacity(specs.len() + 1);
        let mut offset = 0;
        for &(name, label, length, pad) in specs {
            fields.push(FixedField {
                name,
                label,
                offset,
                length,
                pad,
            });
            offset += length;
        }
        if offset < record_length {
            fields.push(FixedField {
                name: FILLER,
                label: "予備",
                offset,
                length: record_length - offset,
                pad: Pad::Space,
            });
        }
        RecordLayout {
            record_type,
            label,
            fields,
        }
    }

    /// The fields that hold a value: neither the record type nor the filler.
    pub fn value_fields(&self) -> impl Iterator<Item = &FixedField> {
        self.fields
            .iter()
            .filter(|f| f.name != RECORD_TYPE.0 && f.name != FILLER)
    }

    pub fn field(&self, name: &str) -> Option<&FixedField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// One record in CP932: `values` in field order, the record type first and the filler
    /// left out. A value longer than its field is an error, never cut (a cut can split a
    /// double-byte character).
    pub fn render(&self, values: &[&str]) -> io::Result<Vec<u8>> {
        let fields = self.fields.iter().filter(|f| f.name != FILLER);
        assert_eq!(
            values.len(),
            fields.clone().count(),
            "one value per field of {}",
            self.label
        );
        let mut out = Vec::with_capacity(self.fields.iter().map(|f| f.length).sum());
        for (field, value) in fields.zip(values) {
            let bytes = cp932(value)?;
            let Some(missing) = field.length.checked_sub(bytes.len()) else {
                let msg = format!(
                    "{} bytes do not fit field {} ({} bytes)",
                    bytes.len(),
                    field.name,
                    field.length
                );
                return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
            };
            match field.pad {
                Pad::Space => {
                    out.extend_from_slice(&bytes);
                    out.resize(out.len() + missing, b' ');
                }
                Pad::Ideographic => {
                    out.extend_from_slice(&bytes);
                    // Encoded once, not as a run: the encoder is the slow part of a record.
                    let space = cp932("\u{3000}")?;
                    (0..missing / 2).for_each(|_| out.extend_from_slice(&space));
                    out.resize(out.len() + missing % 2, b' ');
                }
                Pad::ZeroLeft => {
                    out.resize(out.len() + missing, b'0');
                    out.extend_from_slice(&bytes);
                }
            }
        }
        out.resize(
            out.len()
                + self
                    .fields
                    .iter()
                    .filter(|f| f.name == FILLER)
                    .map(|f| f.length)
                    .sum::<usize>(),
            b' ',
        );
        Ok(out)
    }
}

impl FixedLayout {
    /// `residents.dat`: header `H`, one `D` per resident, trailer `T` with the count of `D`.
    pub fn residents() -> Self {
        let record_length = DATA.iter().map(|s| s.2).sum();
        FixedLayout {
            encoding: "cp932",
            line_end: "crlf",
            record_length,
            records: vec![
                RecordLayout::new("H", "ヘッダ", HEADER, record_length),
                RecordLayout::new("D", "住民データ", DATA, record_length),
                RecordLayout::new("T", "トレーラ", TRAILER, record_length),
            ],
        }
    }

    pub fn record(&self, record_type: &str) -> &RecordLayout {
        self.records
            .iter()
            .find(|r| r.record_type == record_type)
            .expect("a record kind of this layout")
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a layout serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_tile_every_record() {
        let layout = FixedLayout::residents();
        assert_eq!(layout.record_length, 211);
        for record in &layout.records {
            let mut at = 0;
            for f in &record.fields {
                assert_eq!(f.offset, at, "{}.{}", record.record_type, f.name);
                at += f.length;
            }
            assert_eq!(at, layout.record_length, "{}", record.record_type);
        }
        let name = layout.record("D").field("name").unwrap();
        assert_eq!((name.offset, name.length), (23, 40));
    }

    #[test]
    fn pads() {
        let layout = RecordLayout::new(
            "X",
            "test",
            &[
                RECORD_TYPE,
                ("a", "", 6, Pad::Ideographic),
                ("n", "", 4, Pad::ZeroLeft),
            ],
            13,
        );
        assert_eq!(
            layout.render(&["X", "1髙", "7"]).unwrap(),
            b"X1\xFB\xFC\x81\x40 0007  "
        );
        assert!(layout.render(&["X", "髙髙髙髙", "7"]).is_err());
    }

    #[test]
    fn toml_names_offsets_and_lengths() {
        let toml = FixedLayout::residents().to_toml();
        assert!(toml.contains("record_length = 211"), "{toml}");
        assert!(toml.contains("name = \"address\""), "{toml}");
        let parsed: toml::Value = toml::from_str(&toml).unwrap();
        assert_eq!(
            parsed["records"][1]["fields"][3]["offset"].as_integer(),
            Some(23)
        );
    }
}
