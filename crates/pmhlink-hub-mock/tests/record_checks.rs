//! The emulator's record checks, as a table of broken records sent in one batch with good ones.

mod common;

use common::{Hub, diff_record, full_record, held, my_number};
use pmhlink_hub_mock::ErrorCode;
use pmhlink_profile::ApiId;
use pmhlink_profile::result::{Outcome, PmhError, TaskStatus};
use serde_json::{Value, json};

type Break = fn(&mut Value);
/// Expected errors as (code, item).
type Expected = Vec<(&'static str, &'static str)>;

/// (what is wrong, how to break a valid E06 record, the errors expected).
fn cases() -> Vec<(&'static str, Break, Expected)> {
    vec![
        (
            "missing myNumber",
            |r| {
                r.as_object_mut().unwrap().remove("myNumber");
            },
            vec![("E0001", "myNumber")],
        ),
        (
            "null type id",
            |r| r["orgSpecificCertificateTypeId"] = Value::Null,
            vec![("E0001", "orgSpecificCertificateTypeId")],
        ),
        (
            "empty certificationName",
            |r| r["certificationName"] = "".into(),
            vec![("E0001", "certificationName")],
        ),
        (
            "missing nameKana",
            |r| {
                r["basicFiveInfo"]
                    .as_object_mut()
                    .unwrap()
                    .remove("nameKana");
            },
            vec![("E0001", "basicFiveInfo.nameKana")],
        ),
        (
            "missing historyKey on E06",
            |r| {
                r.as_object_mut().unwrap().remove("historyKey");
            },
            vec![("E0001", "historyKey")],
        ),
        (
            "missing isDeleted on E06",
            |r| {
                r.as_object_mut().unwrap().remove("isDeleted");
            },
            vec![("E0001", "isDeleted")],
        ),
        (
            "myNumber of 11 digits",
            |r| r["myNumber"] = "12345678901".into(),
            vec![("E0002", "myNumber")],
        ),
        (
            "myNumber in full-width digits",
            |r| r["myNumber"] = "１２３４５６７８９０１８".into(),
            vec![("E0002", "myNumber")],
        ),
        (
            "myNumber check digit",
            |r| {
                let mut n = my_number(7);
                let last = n.pop().unwrap();
                n.push(if last == '9' { '0' } else { '9' });
                r["myNumber"] = n.into();
            },
            vec![("E0003", "myNumber")],
        ),
        (
            "all-zero myNumber",
            |r| r["myNumber"] = "000000000000".into(),
            vec![("E0003", "myNumber")],
        ),
        (
            "slashed date",
            |r| r["validFrom"] = "2026/04/01".into(),
            vec![("E0002", "validFrom")],
        ),
        (
            "no such day",
            |r| r["validTo"] = "2027-02-29".into(),
            vec![("E0002", "validTo")],
        ),
        (
            "birth date not a date",
            |r| r["basicFiveInfo"]["dateOfBirth"] = "平成25年1月1日".into(),
            vec![("E0002", "basicFiveInfo.dateOfBirth")],
        ),
        (
            "inverted period",
            |r| {
                r["validFrom"] = "2027-04-01".into();
                r["validTo"] = "2027-03-31".into();
            },
            vec![("E0004", "validTo")],
        ),
        (
            "isDeleted as a string",
            |r| r["isDeleted"] = "false".into(),
            vec![("E0002", "isDeleted")],
        ),
        (
            "reimbursement code outside the list",
            |r| r["isAlwaysReimbursement"] = "2".into(),
            vec![("E0002", "isAlwaysReimbursement")],
        ),
        (
            "unknown key",
            |r| r["nickname"] = "ハナ".into(),
            vec![("E0002", "nickname")],
        ),
        (
            "several errors at once",
            |r| {
                r.as_object_mut().unwrap().remove("certificationName");
                r["validFrom"] = "2026-13-01".into();
            },
            vec![("E0001", "certificationName"), ("E0002", "validFrom")],
        ),
    ]
}

fn codes(errors: &[PmhError]) -> Vec<(&str, &str)> {
    errors
        .iter()
        .map(|e| (e.code.as_str(), e.item.as_deref().unwrap_or("")))
        .collect()
}

#[test]
fn bad_records_are_rejected_with_their_codes_and_good_ones_still_apply() {
    let hub = Hub::new();
    let cases = cases();
    let first_good = diff_record(1000, "OK1");
    let last_good = diff_record(1001, "OK2");
    let mut batch = vec![first_good.clone()];
    for (i, (_, break_it, _)) in cases.iter().enumerate() {
        let mut r = diff_record(i as u32 + 1, &format!("B{i}"));
        break_it(&mut r);
        batch.push(r);
    }
    batch.push(Value::from("not an object"));
    batch.push(last_good.clone());

    let t = hub.register(ApiId::E06, &batch);
    let result = hub.settled(ApiId::E08, &t);
    assert_eq!(result.status, TaskStatus::Completed);
    assert_eq!(result.records.len(), batch.len());
    assert_eq!(result.records[0].outcome, Outcome::Accepted);
    assert_eq!(result.records.last().unwrap().outcome, Outcome::Accepted);
    for (i, (what, _, want)) in cases.iter().enumerate() {
        let r = &result.records[i + 1];
        assert_eq!(r.record_number as usize, i + 2, "{what}");
        let Outcome::Rejected(errors) = &r.outcome else {
            panic!("{what}: accepted");
        };
        assert_eq!(codes(errors), *want, "{what}");
    }
    let not_object = &result.records[cases.len() + 1].outcome;
    assert_eq!(
        *not_object,
        Outcome::Rejected(vec![PmhError {
            code: "E0002".into(),
            item: None,
            message: "format error".into()
        }])
    );
    assert_eq!(hub.records(), vec![held(&first_good), held(&last_good)]);
}

#[test]
fn messages_are_the_fixed_texts_and_never_a_value() {
    let hub = Hub::new();
    let mut r = diff_record(1, "H1");
    r["myNumber"] = "123456789012".into();
    r["validTo"] = "2020-01-01".into();
    r["basicFiveInfo"]["name"] = "".into();
    let t = hub.register(ApiId::E06, &[r]);
    let result = hub.settled(ApiId::E08, &t);
    let Outcome::Rejected(errors) = &result.records[0].outcome else {
        panic!("rejected");
    };
    assert_eq!(errors.len(), 3);
    for e in errors {
        let known = ErrorCode::ALL
            .iter()
            .find(|c| c.code() == e.code)
            .expect("a documented code");
        assert_eq!(e.message, known.message());
        for value in ["123456789012", "2020-01-01", "2026-04-01"] {
            assert!(!e.message.contains(value));
        }
    }
}

#[test]
fn full_sync_records_need_no_history_key() {
    let hub = Hub::new();
    let mut with_history = full_record(2, "2026-04-01");
    with_history["historyKey"] = "H1".into();
    let t = hub.register(ApiId::E02, &[full_record(1, "2026-04-01"), with_history]);
    let result = hub.settled(ApiId::E04, &t);
    assert_eq!(result.records[0].outcome, Outcome::Accepted);
    let Outcome::Rejected(errors) = &result.records[1].outcome else {
        panic!("a history key is not part of a full-sync record");
    };
    assert_eq!(codes(errors), vec![("E0002", "historyKey")]);
    assert_eq!(
        hub.records()[0]["isDeleted"],
        json!(false),
        "held rows read like E06 records"
    );
}
