//! The shipped profile, its layouts, the golden agency sample, and writer/reader round trips.

use pmhlink_model::{DetailItem, FieldId, Pii, Record};
use pmhlink_profile::read::{Decoded, read_payload};
use pmhlink_profile::write::{PayloadWriter, write_batches};
use pmhlink_profile::{ApiId, Format, Layout, Profile, Role};
use proptest::prelude::*;

fn layout(api: ApiId) -> Layout {
    Layout::new(&Profile::builtin(), api).unwrap()
}

fn read_all(layout: &Layout, bytes: &[u8]) -> Vec<Decoded> {
    let mut out = Vec::new();
    read_payload(layout, bytes, |_, d| out.push(d)).unwrap();
    out
}

#[test]
fn builtin_profile_is_coherent_and_marks_its_assumptions() {
    let p = Profile::builtin();
    assert_eq!(p.apis.len(), 12);
    for api in ApiId::ALL {
        let spec = p.api(api).unwrap();
        assert_eq!(
            Layout::new(&p, api).is_ok(),
            spec.role == Role::Register,
            "{api}"
        );
        assert!(
            spec.assumed,
            "{api}: paths are not public, so every API entry is an assumption"
        );
    }
    assert!(p.limits.assumed && p.csv.assumed && p.result.assumed);
    for f in &p.fields {
        assert!(
            !f.assumed || f.note.is_some(),
            "{}: an assumption says what is assumed",
            f.id
        );
    }
    // Every canonical field has a place on the wire.
    for id in FieldId::ALL {
        assert!(p.field(id).is_some(), "{id}");
    }
}

#[test]
fn history_fields_only_in_diff_and_reset_layouts() {
    for (api, has) in [
        (ApiId::E01, false),
        (ApiId::E02, false),
        (ApiId::E06, true),
        (ApiId::E11, true),
    ] {
        let l = layout(api);
        assert_eq!(l.key_of(FieldId::HistoryKey).is_some(), has, "{api}");
        assert_eq!(l.key_of(FieldId::IsDeleted).is_some(), has, "{api}");
    }
}

#[test]
fn incoherent_profiles_are_refused_with_the_entry_named() {
    let text = pmhlink_profile::spec::DEFAULT_PROFILE_TOML;
    let twice = text.replacen("id = \"name_kana\"", "id = \"name\"", 1);
    let err = Profile::from_toml_str(&twice, "x.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("x.toml") && err.contains("`name`") && err.contains("twice"),
        "{err}"
    );
    let unknown = format!("{text}\nsurprise = 1\n");
    let err = Profile::from_toml_str(&unknown, "y.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("y.toml") && err.contains("surprise"), "{err}");
}

/// The agency's published diff-history example (type id, My Number, name, kana, address, birth,
/// sex, flag, insurer, certificate name, recipient) plus our fill-ins for the fields the
/// publication leaves out (reimbursement flag, period, history key, face items).
#[test]
fn agency_sample_serialises_with_exactly_its_keys_and_values() {
    let golden = include_str!("fixtures/agency-sample-e06.json").trim();
    let l = layout(ApiId::E06);
    let decoded = read_all(&l, golden.as_bytes());
    assert_eq!(decoded.len(), 1);
    assert!(decoded[0].findings.is_empty(), "{:?}", decoded[0].findings);
    let record = decoded[0].record.clone().unwrap();
    assert_eq!(
        record.receipt.recipient_number.as_deref(),
        Some("0000002"),
        "leading zeros kept"
    );
    let batches = write_batches(&l, [&record]).unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(std::str::from_utf8(&batches[0].bytes).unwrap(), golden);
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9ア-ン愛知花子,\" ]{1,12}"
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

prop_compose! {
    fn arb_record(with_history: bool)(
        texts in proptest::collection::vec(text(), 12),
        opts in proptest::collection::vec(opt_text(), 16),
        flags in (any::<bool>(), any::<bool>()),
        items in proptest::collection::vec((text(), "[^\r]{0,8}"), 0..5),
    ) -> Record {
        let mut r = Record::default();
        let required = [FieldId::TypeId, FieldId::MyNumber, FieldId::Name, FieldId::NameKana, FieldId::Address,
            FieldId::DateOfBirth, FieldId::Sex, FieldId::CertificationName, FieldId::IsAlwaysReimbursement,
            FieldId::ValidFrom, FieldId::ValidTo];
        for (f, v) in required.into_iter().zip(texts) {
            r.set_text(f, v);
        }
        let optional = [FieldId::InsurerNumber, FieldId::RecipientNumber, FieldId::SubKey, FieldId::Segment,
            FieldId::IncomeSegment, FieldId::AdditionalConditions, FieldId::DesignatedMedicalInstitutions,
            FieldId::CopayKind, FieldId::CopayBurdenDefinition, FieldId::CopayRatePerDay, FieldId::CopayRatePerMonth,
            FieldId::CopayRatePerVisit, FieldId::CopayAmountPerDay, FieldId::CopayAmountPerMonth,
            FieldId::CopayAmountPerVisit];
        for (f, v) in optional.into_iter().zip(opts) {
            if let Some(v) = v { r.set_text(f, v) }
        }
        r.set_flag(FieldId::IsNotDisclosed, flags.0);
        if with_history {
            r.set_text(FieldId::HistoryKey, "H1".into());
            r.set_flag(FieldId::IsDeleted, flags.1);
        }
        r.face.details = items.into_iter().map(|(name, value)| DetailItem { name, value: Pii::new(value) }).collect();
        r
    }
}

fn round_trip(api: ApiId, records: &[Record]) {
    let l = layout(api);
    let batches = write_batches(&l, records).unwrap();
    let mut back = Vec::new();
    for b in &batches {
        for d in read_all(&l, &b.bytes) {
            assert!(d.findings.is_empty(), "{:?}", d.findings);
            back.push(d.record.unwrap());
        }
    }
    assert_eq!(back, records);
}

proptest! {
    #[test]
    fn diff_records_round_trip_through_json_and_csv(records in proptest::collection::vec(arb_record(true), 0..6)) {
        round_trip(ApiId::E06, &records);
        round_trip(ApiId::E05, &records);
    }

    #[test]
    fn full_records_round_trip_through_json_and_csv(records in proptest::collection::vec(arb_record(false), 0..6)) {
        round_trip(ApiId::E02, &records);
        round_trip(ApiId::E01, &records);
    }

    #[test]
    fn batches_respect_the_limits_and_keep_every_record_in_order(
        records in proptest::collection::vec(arb_record(true), 1..40),
        max_records in 1usize..7,
        max_bytes in 900usize..4000,
        csv in any::<bool>(),
    ) {
        let mut l = layout(if csv { ApiId::E05 } else { ApiId::E06 });
        l.limits.max_records = max_records;
        l.limits.max_bytes = max_bytes;
        let mut w = PayloadWriter::new(&l);
        let mut batches = Vec::new();
        let mut fitted = Vec::new();
        for r in &records {
            match w.push(r) {
                Ok(b) => { batches.extend(b); fitted.push(r.clone()); }
                Err(pmhlink_profile::write::WriteError::RecordTooLarge { .. }) => {}
                Err(e) => panic!("{e}"),
            }
        }
        batches.extend(w.finish());
        let mut back = Vec::new();
        for (i, b) in batches.iter().enumerate() {
            prop_assert_eq!(b.seq, i);
            prop_assert!(b.records <= max_records);
            prop_assert!(b.bytes.len() <= max_bytes);
            let decoded = read_all(&l, &b.bytes);
            prop_assert_eq!(decoded.len(), b.records);
            back.extend(decoded.into_iter().map(|d| d.record.unwrap()));
        }
        prop_assert_eq!(back, fitted);
    }
}

#[test]
fn format_follows_the_api() {
    assert_eq!(layout(ApiId::E01).format(), Format::Csv);
    assert_eq!(layout(ApiId::E06).format(), Format::Json);
}
