//! The canonical bytes of a record's content, as the ledger stores and digests it.
//!
//! A deleted history row is re-sent later with its last content, possibly in another layout
//! (CSV or JSON), so what is kept is the model's form, not the wire form. The keyed hash of
//! these bytes is the row's digest, so the encoding is deterministic: one record, one byte
//! string, and decoding accepts only that string (anything else is an error, never a second
//! spelling of the same record).
//!
//! # Format, version 1
//!
//! ```text
//! version        u8 = 1
//! text fields    for every FieldId::ALL entry of kind Text, in that order:
//!                  presence u8 (0 = absent, 1 = present)
//!                  if present: length (LEB128 varint, minimal) and that many UTF-8 bytes
//! flags          u8: bit0 is_not_disclosed, bit1 history row present; other bits zero
//! face details   count (varint), then per item: name and value, each a varint length + UTF-8
//! ```
//!
//! `is_deleted` is not part of the content: a row's content is the same whether it is being
//! sent or withdrawn, and [`decode_content`] always yields `deleted: false`.
//!
//! Text fields go through [`Record::text`] and [`Record::set_text`], so a text field added to
//! [`FieldId`] is covered without touching this file; such an addition changes the layout,
//! which is why [`CONTENT_VERSION`] exists (and the golden test pins the bytes).
//!
//! # Canonical records
//!
//! The copayment cap has two spellings of "no cap": `None` and `Some` with every part absent.
//! Both encode to the same bytes (only the text of each part is written) and decode to `None`,
//! so [`encode_content`] expects [`Record::normalise_empty_parts`] to have been applied;
//! `decode_content(encode_content(r)) == r` holds for normalised records with
//! `history.deleted == false`.

use std::fmt;

use crate::{DetailItem, FieldId, FieldKind, Pii, Record};

/// The format version written as the first byte.
pub const CONTENT_VERSION: u8 = 1;

const FLAG_NOT_DISCLOSED: u8 = 1 << 0;
const FLAG_HISTORY: u8 = 1 << 1;

fn text_fields() -> impl Iterator<Item = FieldId> {
    FieldId::ALL
        .into_iter()
        .filter(|f| f.kind() == FieldKind::Text)
}

/// Appends the canonical bytes of `record` (everything except the isDeleted flag) to `out`.
///
/// `record` should be normalised ([`Record::normalise_empty_parts`]); see the module doc.
pub fn encode_content(record: &Record, out: &mut Vec<u8>) {
    out.push(CONTENT_VERSION);
    for field in text_fields() {
        match record.text(field) {
            None => out.push(0),
            Some(value) => {
                out.push(1);
                put_str(out, value);
            }
        }
    }
    let mut flags = 0;
    if record.person.is_not_disclosed {
        flags |= FLAG_NOT_DISCLOSED;
    }
    if record.history.is_some() {
        flags |= FLAG_HISTORY;
    }
    out.push(flags);
    put_varint(out, record.face.details.len());
    for item in &record.face.details {
        put_str(out, &item.name);
        put_str(out, item.value.expose());
    }
}

/// The record back; `history.deleted` is false. Errors never show content.
pub fn decode_content(bytes: &[u8]) -> Result<Record, ContentError> {
    let mut r = Reader { bytes, pos: 0 };
    let version = r.byte()?;
    if version != CONTENT_VERSION {
        return Err(r.error_at(0, ContentProblem::UnsupportedVersion(version)));
    }

    // A field the blank record already reports as present is a plain `String`: it has no
    // "absent" state, so an absent marker for it could not round-trip.
    let blank = Record::default();
    let mut record = Record::default();
    for field in text_fields() {
        let at = r.pos;
        match r.byte()? {
            0 if blank.text(field).is_some() => {
                return Err(r.error_at(at, ContentProblem::MissingRequired(field)));
            }
            0 => {}
            1 => {
                let value = r.string(ContentPart::Field(field))?;
                record.set_text(field, value);
            }
            _ => return Err(r.error_at(at, ContentProblem::BadPresence(field))),
        }
    }

    let at = r.pos;
    let flags = r.byte()?;
    if flags & !(FLAG_NOT_DISCLOSED | FLAG_HISTORY) != 0 {
        return Err(r.error_at(at, ContentProblem::BadFlags));
    }
    // The history row's presence is written twice (its key's presence byte and this bit);
    // a disagreement means the bytes were not written by `encode_content`.
    if (flags & FLAG_HISTORY != 0) != record.history.is_some() {
        return Err(r.error_at(at, ContentProblem::InconsistentHistory));
    }
    record.person.is_not_disclosed = flags & FLAG_NOT_DISCLOSED != 0;

    let count = r.varint()?;
    // The count is untrusted: every item takes at least two bytes, which bounds the allocation.
    let mut details = Vec::with_capacity(count.min(r.remaining() / 2));
    for index in 0..count {
        let name = r.string(ContentPart::DetailName(index))?;
        let value = r.string(ContentPart::DetailValue(index))?;
        details.push(DetailItem {
            name,
            value: Pii::new(value),
        });
    }
    record.face.details = details;

    if r.remaining() != 0 {
        return Err(r.error_at(r.pos, ContentProblem::TrailingBytes));
    }
    Ok(record)
}

fn put_varint(out: &mut Vec<u8>, value: usize) {
    let mut v = value as u64;
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, value: &str) {
    put_varint(out, value.len());
    out.extend_from_slice(value.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn error_at(&self, offset: usize, problem: ContentProblem) -> ContentError {
        ContentError { offset, problem }
    }

    fn byte(&mut self) -> Result<u8, ContentError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| self.error_at(self.pos, ContentProblem::Truncated))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<usize, ContentError> {
        let start = self.pos;
        let mut value: u64 = 0;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            // The tenth byte may carry only the top bit of a u64 and must be the last; and a
            // final zero byte after the first would be a second spelling of a shorter varint.
            if (shift == 63 && (bits > 1 || b & 0x80 != 0)) || (b == 0 && shift > 0) {
                return Err(self.error_at(start, ContentProblem::BadLength));
            }
            value |= bits << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        usize::try_from(value).map_err(|_| self.error_at(start, ContentProblem::BadLength))
    }

    fn string(&mut self, part: ContentPart) -> Result<String, ContentError> {
        let len = self.varint()?;
        let start = self.pos;
        if len > self.remaining() {
            return Err(self.error_at(start, ContentProblem::Truncated));
        }
        let raw = &self.bytes[start..start + len];
        let text = std::str::from_utf8(raw)
            .map_err(|_| self.error_at(start, ContentProblem::BadUtf8(part)))?;
        self.pos += len;
        Ok(text.to_owned())
    }
}

/// Which string a [`ContentProblem::BadUtf8`] was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentPart {
    Field(FieldId),
    /// The n-th (from 0) certificate-face item's name.
    DetailName(usize),
    DetailValue(usize),
}

impl fmt::Display for ContentPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContentPart::Field(field) => write!(f, "field {field}"),
            ContentPart::DetailName(i) => write!(f, "certificate face item {i} name"),
            ContentPart::DetailValue(i) => write!(f, "certificate face item {i} value"),
        }
    }
}

/// What was wrong with stored content. Carries positions and field names, never values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContentProblem {
    /// A version this build cannot read (written by a newer one, or not content at all).
    UnsupportedVersion(u8),
    Truncated,
    BadPresence(FieldId),
    /// A field that always has a value was marked absent.
    MissingRequired(FieldId),
    /// A length or count that overflows or is not minimally encoded.
    BadLength,
    BadUtf8(ContentPart),
    BadFlags,
    InconsistentHistory,
    TrailingBytes,
}

impl fmt::Display for ContentProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContentProblem::UnsupportedVersion(v) => write!(f, "unsupported format version {v}"),
            ContentProblem::Truncated => f.write_str("ends too early"),
            ContentProblem::BadPresence(field) => {
                write!(f, "field {field}: presence marker is neither 0 nor 1")
            }
            ContentProblem::MissingRequired(field) => {
                write!(f, "field {field}: marked absent but always has a value")
            }
            ContentProblem::BadLength => f.write_str("malformed length"),
            ContentProblem::BadUtf8(part) => write!(f, "{part}: not valid UTF-8"),
            ContentProblem::BadFlags => f.write_str("unknown flag bits"),
            ContentProblem::InconsistentHistory => {
                f.write_str("history flag disagrees with the history key")
            }
            ContentProblem::TrailingBytes => f.write_str("unexpected bytes after the end"),
        }
    }
}

/// Stored content that does not decode. The message names the problem and the byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentError {
    offset: usize,
    problem: ContentProblem,
}

impl ContentError {
    /// Offset in the input where the problem starts.
    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn problem(&self) -> ContentProblem {
        self.problem
    }
}

impl fmt::Display for ContentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stored record content at byte {}: {}",
            self.offset, self.problem
        )
    }
}

impl std::error::Error for ContentError {}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{CertificateFace, HistoryRow, MaxCopayment, Person, ReceiptFields};

    fn encode(r: &Record) -> Vec<u8> {
        let mut out = Vec::new();
        encode_content(r, &mut out);
        out
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            1 => Just(String::new()),
            4 => "(?s).{0,12}",
        ]
    }

    fn opt_text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(text())
    }

    fn pii() -> impl Strategy<Value = Pii<String>> {
        text().prop_map(Pii::new)
    }

    // Struct literals without `..Default::default()`: a field added to the model stops this
    // from compiling until it is generated here, and then the round trip checks it is encoded.
    fn person() -> impl Strategy<Value = Person> {
        (pii(), pii(), pii(), pii(), pii(), text(), any::<bool>()).prop_map(
            |(my_number, name, name_kana, address, date_of_birth, sex, is_not_disclosed)| Person {
                my_number,
                name,
                name_kana,
                address,
                date_of_birth,
                sex,
                is_not_disclosed,
            },
        )
    }

    fn max_copayment() -> impl Strategy<Value = MaxCopayment> {
        (
            opt_text(),
            opt_text(),
            opt_text(),
            opt_text(),
            opt_text(),
            opt_text(),
            opt_text(),
            opt_text(),
        )
            .prop_map(|(a, b, c, d, e, f, g, h)| MaxCopayment {
                kind: a,
                burden_definition: b,
                rate_per_day: c,
                rate_per_month: d,
                rate_per_visit: e,
                amount_per_day: f,
                amount_per_month: g,
                amount_per_visit: h,
            })
    }

    fn receipt() -> impl Strategy<Value = ReceiptFields> {
        (
            (opt_text(), opt_text(), opt_text(), opt_text(), opt_text()),
            (opt_text(), opt_text(), text()),
            proptest::option::of(max_copayment()),
            (text(), text()),
        )
            .prop_map(
                |(
                    (insurer_number, recipient_number, sub_key, segment, income_segment),
                    (additional_conditions, designated_medical_institutions, always),
                    max_copayment,
                    (valid_from, valid_to),
                )| ReceiptFields {
                    insurer_number,
                    recipient_number,
                    sub_key,
                    segment,
                    income_segment,
                    additional_conditions,
                    designated_medical_institutions,
                    is_always_reimbursement: always,
                    max_copayment,
                    valid_from,
                    valid_to,
                },
            )
    }

    fn face() -> impl Strategy<Value = CertificateFace> {
        let item = (text(), pii()).prop_map(|(name, value)| DetailItem { name, value });
        (text(), proptest::collection::vec(item, 0..5)).prop_map(|(certification_name, details)| {
            CertificateFace {
                certification_name,
                details,
            }
        })
    }

    fn history() -> impl Strategy<Value = HistoryRow> {
        (text(), any::<bool>()).prop_map(|(key, deleted)| HistoryRow { key, deleted })
    }

    fn record() -> impl Strategy<Value = Record> {
        (
            text(),
            person(),
            receipt(),
            face(),
            proptest::option::of(history()),
        )
            .prop_map(|(type_id, person, receipt, face, history)| {
                let mut r = Record {
                    type_id,
                    person,
                    receipt,
                    face,
                    history,
                };
                r.normalise_empty_parts();
                r
            })
    }

    fn without_deleted(mut r: Record) -> Record {
        if let Some(h) = &mut r.history {
            h.deleted = false;
        }
        r
    }

    proptest! {
        #[test]
        fn round_trip_is_exact(r in record()) {
            let bytes = encode(&r);
            prop_assert_eq!(decode_content(&bytes).unwrap(), without_deleted(r.clone()));
            prop_assert_eq!(encode(&r), bytes, "deterministic");
        }

        #[test]
        fn every_proper_prefix_is_an_error(r in record()) {
            let bytes = encode(&r);
            for len in 0..bytes.len() {
                prop_assert!(decode_content(&bytes[..len]).is_err());
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_content(&bytes);
        }

        // Corruptions of real encodings reach deep into the decoder, where random bytes rarely
        // get past the version byte; whatever decodes must be the one spelling of its record.
        #[test]
        fn whatever_decodes_is_canonical(
            r in record(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let mut bytes = encode(&r);
            for (at, value) in edits {
                let i = at.index(bytes.len());
                bytes[i] = value;
            }
            if let Ok(decoded) = decode_content(&bytes) {
                prop_assert_eq!(encode(&decoded), bytes);
            }
        }
    }

    #[test]
    fn deleted_flag_is_not_content() {
        let mut r = Record::default();
        r.set_text(FieldId::HistoryKey, "k1".into());
        let live = encode(&r);
        r.set_flag(FieldId::IsDeleted, true);
        assert_eq!(encode(&r), live);
        assert!(!decode_content(&live).unwrap().history.unwrap().deleted);
    }

    #[test]
    fn absent_and_empty_are_different() {
        let mut r = Record::default();
        let none = encode(&r);
        r.receipt.sub_key = Some(String::new());
        assert_ne!(encode(&r), none);
        assert_eq!(decode_content(&encode(&r)).unwrap(), r);

        let h = Record {
            history: Some(HistoryRow::default()),
            ..Record::default()
        };
        assert_ne!(encode(&h), none);
        assert_eq!(decode_content(&encode(&h)).unwrap(), h);
    }

    #[test]
    fn empty_copayment_encodes_as_none() {
        let mut r = Record::default();
        let none = encode(&r);
        r.receipt.max_copayment = Some(MaxCopayment::default());
        assert_eq!(encode(&r), none);
        assert_eq!(decode_content(&none).unwrap().receipt.max_copayment, None);
    }

    #[test]
    fn every_text_field_changes_the_bytes() {
        let base = encode(&Record::default());
        for field in text_fields() {
            let mut r = Record::default();
            r.set_text(field, "x".into());
            assert_ne!(encode(&r), base, "{field}");
            assert_eq!(decode_content(&encode(&r)).unwrap().text(field), Some("x"));
        }
    }

    fn small() -> Record {
        let mut r = Record {
            type_id: "01".into(),
            ..Record::default()
        };
        r.person.my_number = Pii::new("012345678901".into());
        r.person.sex = "2".into();
        r.person.is_not_disclosed = true;
        r.receipt.recipient_number = Some("1234567".into());
        r.receipt.max_copayment = Some(MaxCopayment {
            amount_per_month: Some("500".into()),
            ..Default::default()
        });
        r.receipt.valid_from = "2025-04-01".into();
        r.history = Some(HistoryRow {
            key: "h1".into(),
            deleted: false,
        });
        r.face.details.push(DetailItem {
            name: "区分".into(),
            value: Pii::new("A".into()),
        });
        r
    }

    #[test]
    fn golden_bytes() {
        let expected: &[u8] = &[
            0x01, // version
            0x01, 0x02, b'0', b'1', // type_id
            0x01, 0x0c, b'0', b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'8', b'9', b'0',
            b'1', // my_number
            0x01, 0x00, // name
            0x01, 0x00, // name_kana
            0x01, 0x00, // address
            0x01, 0x00, // date_of_birth
            0x01, 0x01, b'2', // sex
            0x00, // insurer_number
            0x01, 0x00, // certification_name
            0x01, 0x07, b'1', b'2', b'3', b'4', b'5', b'6', b'7', // recipient_number
            0x00, 0x00, 0x00, 0x00, 0x00, // sub_key .. designated_medical_institutions
            0x01, 0x00, // is_always_reimbursement
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // copay kind .. amount_per_day
            0x01, 0x03, b'5', b'0', b'0', // copay amount_per_month
            0x00, // copay amount_per_visit
            0x01, 0x0a, b'2', b'0', b'2', b'5', b'-', b'0', b'4', b'-', b'0',
            b'1', // valid_from
            0x01, 0x00, // valid_to
            0x01, 0x02, b'h', b'1', // history_key
            0x03, // flags: not disclosed, history
            0x01, // one face item
            0x06, 0xe5, 0x8c, 0xba, 0xe5, 0x88, 0x86, // 区分
            0x01, b'A',
        ];
        assert_eq!(encode(&small()), expected);
        assert_eq!(decode_content(expected).unwrap(), small());
    }

    fn typical() -> Record {
        let mut r = Record::default();
        let texts = [
            (FieldId::TypeId, "13101A0001"),
            (FieldId::MyNumber, "987654321098"),
            (FieldId::Name, "試験花子"),
            (FieldId::NameKana, "シケンヤマハナコ"),
            (
                FieldId::Address,
                "東京都千代田区試験町一丁目二番三号サンプル荘四〇五",
            ),
            (FieldId::DateOfBirth, "2015-04-01"),
            (FieldId::Sex, "2"),
            (FieldId::InsurerNumber, "88131016"),
            (FieldId::CertificationName, "子ども医療費受給者証"),
            (FieldId::RecipientNumber, "1234567"),
            (FieldId::SubKey, "01"),
            (FieldId::Segment, "1"),
            (FieldId::IncomeSegment, "A"),
            (FieldId::IsAlwaysReimbursement, "0"),
            (FieldId::CopayKind, "1"),
            (FieldId::CopayAmountPerVisit, "200"),
            (FieldId::CopayAmountPerMonth, "1000"),
            (FieldId::ValidFrom, "2025-04-01"),
            (FieldId::ValidTo, "2026-03-31"),
            (FieldId::HistoryKey, "20250401-01"),
        ];
        for (field, value) in texts {
            r.set_text(field, value.into());
        }
        for (name, value) in [
            ("氏名", "試験花子"),
            ("住所", "東京都千代田区試験町一丁目二番三号サンプル荘四〇五"),
            ("有効期間", "令和7年4月1日から令和8年3月31日まで"),
        ] {
            r.face.details.push(DetailItem {
                name: name.into(),
                value: Pii::new(value.into()),
            });
        }
        r
    }

    #[test]
    fn typical_record_size() {
        let bytes = encode(&typical());
        assert_eq!(decode_content(&bytes).unwrap(), typical());
        // Pinned so that growth of the typical row, which sizes the ledger, is a noticed change.
        assert_eq!(bytes.len(), 449);
    }

    #[test]
    fn version_and_structure_errors() {
        let good = encode(&small());
        assert_eq!(
            decode_content(&[]).unwrap_err().problem(),
            ContentProblem::Truncated
        );
        let mut v2 = good.clone();
        v2[0] = 2;
        assert_eq!(
            decode_content(&v2).unwrap_err().problem(),
            ContentProblem::UnsupportedVersion(2)
        );
        let mut trailing = good.clone();
        trailing.push(0);
        let err = decode_content(&trailing).unwrap_err();
        assert_eq!(err.problem(), ContentProblem::TrailingBytes);
        assert_eq!(err.offset(), good.len());
        // type_id marked absent
        let mut missing = good.clone();
        missing.splice(1..5, [0]);
        assert_eq!(
            decode_content(&missing).unwrap_err().problem(),
            ContentProblem::MissingRequired(FieldId::TypeId)
        );
        // an overlong length: 0x82 0x00 spells 2 in two bytes
        let mut overlong = good.clone();
        overlong.splice(2..3, [0x82, 0x00]);
        assert_eq!(
            decode_content(&overlong).unwrap_err().problem(),
            ContentProblem::BadLength
        );
        let huge = [
            1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ];
        assert_eq!(
            decode_content(&huge).unwrap_err().problem(),
            ContentProblem::BadLength
        );
        // A tenth byte that says more follows (found by the `content` fuzz target: the shift
        // overflowed; without overflow checks an eleven-byte length was a second spelling).
        let endless = [
            1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x81, 0x01,
        ];
        assert_eq!(
            decode_content(&endless).unwrap_err().problem(),
            ContentProblem::BadLength
        );
    }

    #[test]
    fn errors_never_show_content() {
        let r = typical();
        let good = encode(&r);
        let secrets: Vec<&str> = [
            FieldId::MyNumber,
            FieldId::Name,
            FieldId::NameKana,
            FieldId::Address,
            FieldId::DateOfBirth,
        ]
        .into_iter()
        .map(|f| r.text(f).unwrap())
        .chain(["令和7年"])
        .collect();
        let mut shown = String::new();
        for len in 0..good.len() {
            let err = decode_content(&good[..len]).unwrap_err();
            shown.push_str(&format!("{err} {err:?}\n"));
        }
        // Break the UTF-8 of every string in turn by overwriting each byte with 0xff.
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] = 0xff;
            if let Err(err) = decode_content(&bad) {
                shown.push_str(&format!("{err} {err:?}\n"));
            }
        }
        assert!(shown.contains("not valid UTF-8"));
        assert!(shown.contains("field address"));
        for secret in secrets {
            assert!(!shown.contains(secret), "leaked a value");
        }
        // A My Number can also leak as a run of digits; offsets stay far shorter than that.
        assert!(!shown.contains("98765"));
    }
}
